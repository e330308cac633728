//! Realistic SDP bodies as sent by carrier and PBX equipment.

/// Joins lines with CRLF (canonical form) and a final CRLF.
pub(crate) fn crlf(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

/// Cisco CUBE style offer: PCMU first, G729, telephone-event 101, media-level c=.
pub(crate) const CISCO: &[&str] = &[
    "v=0",
    "o=CiscoSystemsSIP-GW-UserAgent 4803 7525 IN IP4 10.10.1.20",
    "s=SIP Call",
    "c=IN IP4 10.10.1.20",
    "t=0 0",
    "m=audio 17092 RTP/AVP 0 8 18 101",
    "c=IN IP4 10.10.1.21",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:18 G729/8000",
    "a=fmtp:18 annexb=no",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:20",
];

/// Sonus/Ribbon style offer: 23-digit session id and version, telephone-event on PT 100.
pub(crate) const SONUS: &[&str] = &[
    "v=0",
    "o=Sonus_UAC 12345678901234567890123 12345678901234567890123 IN IP4 192.0.2.10",
    "s=SIP Media Capabilities",
    "c=IN IP4 192.0.2.10",
    "t=0 0",
    "m=audio 20000 RTP/AVP 18 8 0 100",
    "a=rtpmap:18 G729/8000",
    "a=fmtp:18 annexb=no",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:100 telephone-event/8000",
    "a=fmtp:100 0-15",
    "a=sendrecv",
    "a=maxptime:20",
];

/// FreeSWITCH style offer: PCMA first, CN, a=rtcp with address.
pub(crate) const FREESWITCH: &[&str] = &[
    "v=0",
    "o=FreeSWITCH 1700000000 1700000001 IN IP4 203.0.113.5",
    "s=FreeSWITCH",
    "c=IN IP4 203.0.113.5",
    "t=0 0",
    "m=audio 16384 RTP/AVP 8 0 101 13",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=rtpmap:13 CN/8000",
    "a=ptime:30",
    "a=rtcp:16400 IN IP4 203.0.113.6",
    "a=sendrecv",
];

/// Asterisk style offer: PCMU, PCMA, GSM, no telephone-event, maxptime.
pub(crate) const ASTERISK: &[&str] = &[
    "v=0",
    "o=- 1234 1234 IN IP4 198.51.100.7",
    "s=Asterisk",
    "c=IN IP4 198.51.100.7",
    "b=CT:384",
    "t=0 0",
    "m=audio 10000 RTP/AVP 0 8 3",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:3 GSM/8000",
    "a=maxptime:150",
    "a=sendrecv",
];

/// Every optional RFC 8866 line, in canonical order, with unknown attributes.
pub(crate) const ALL_LINES: &[&str] = &[
    "v=0",
    "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5",
    "s=SDP Seminar",
    "i=A Seminar on the session description protocol",
    "u=http://www.example.com/seminars/sdp.pdf",
    "e=j.doe@example.com (Jane Doe)",
    "p=+1 617 555-6011",
    "c=IN IP4 224.2.17.12/127",
    "b=AS:128",
    "t=2873397496 2873404696",
    "r=7d 1h 0 25h",
    "z=2882844526 -1h 2898848070 0",
    "k=clear:secret",
    "a=recvonly",
    "a=X-carrier-trace:abc def",
    "m=audio 49170 RTP/AVP 0",
    "i=voice",
    "c=IN IP4 224.2.17.12/127",
    "b=AS:64",
    "k=prompt",
    "a=X-unknown",
    "a=rtcp:49300",
    "m=video 51372 RTP/AVP 99",
    "a=rtpmap:99 h263-1998/90000",
    "m=application 9 TCP/MSRP *",
    "a=accept-types:text/plain",
];

/// A carrier sending quirks: bare LF, trailing spaces, lower case, IPv6 without
/// brackets, no s= and no t=, two session-level c=.
pub(crate) const QUIRKY: &str = "v=0\n\
o=- 987654321098765432109876543210987654321098765 1 in ip6 2001:db8::20 \n\
c=in ip6 2001:db8::20\n\
c=IN IP4 192.0.2.99\n\
m=audio 6000 rtp/avp 8 101  \n\
a=rtpmap:8 PCMA/8000\n\
a=rtpmap:101 telephone-event/8000\n\
a=sendonly \n";

/// Audio + video + SRTP audio.
pub(crate) const MULTI: &[&str] = &[
    "v=0",
    "o=- 1 1 IN IP4 192.0.2.1",
    "s=-",
    "c=IN IP4 192.0.2.1",
    "t=0 0",
    "m=audio 4000 RTP/SAVP 8",
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
    "m=video 4002 RTP/AVP 96",
    "a=rtpmap:96 H264/90000",
    "m=audio 4004 RTP/AVP 0 8 101",
    "a=rtpmap:101 telephone-event/8000",
];

/// SRTP-only offer.
pub(crate) const SRTP_ONLY: &[&str] = &[
    "v=0",
    "o=- 1 1 IN IP4 192.0.2.1",
    "s=-",
    "c=IN IP4 192.0.2.1",
    "t=0 0",
    "m=audio 4000 RTP/SAVP 8 0",
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
];

pub(crate) fn parse(lines: &[&str]) -> crate::SessionDescription {
    match crate::SessionDescription::parse(&crlf(lines)) {
        Ok(sdp) => sdp,
        Err(e) => panic!("fixture does not parse: {e}"),
    }
}

/// A peer's SDP (offer or answer) from 198.51.100.1 with the given media section lines.
pub(crate) fn peer_sdp(media: &[&str]) -> crate::SessionDescription {
    let mut all = vec![
        "v=0",
        "o=peer 5 5 IN IP4 198.51.100.1",
        "s=-",
        "c=IN IP4 198.51.100.1",
        "t=0 0",
    ];
    all.extend_from_slice(media);
    parse(&all)
}
