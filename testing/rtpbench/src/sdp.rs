//! The slice of SDP the benchmark needs: read the connection address, the audio port
//! and the first payload type; write a one-stream G.711 offer or answer. (The real
//! negotiation lives in `cec-sdp`; this keeps the tools independent of its API.)

use std::net::{IpAddr, SocketAddr};

/// The audio stream an SDP body describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioStream {
    /// Connection address and audio port.
    pub addr: SocketAddr,
    /// First payload type of the `m=audio` line.
    pub payload_type: u8,
}

/// Reads the session or media `c=` address and the first `m=audio` line; `None` when
/// either is missing or malformed.
pub fn parse_audio(sdp: &str) -> Option<AudioStream> {
    let mut ip: Option<IpAddr> = None;
    let mut audio: Option<(u16, u8)> = None;
    for line in sdp.lines().map(str::trim) {
        if let Some(conn) = line.strip_prefix("c=") {
            // "IN IP4 127.0.0.1"; the first c= after m=audio wins, else the session one.
            let addr = conn.split_whitespace().nth(2)?;
            let parsed = addr.split('/').next()?.parse().ok()?;
            if ip.is_none() || audio.is_some() {
                ip = Some(parsed);
            }
        } else if let Some(media) = line.strip_prefix("m=audio ") {
            if audio.is_some() {
                break;
            }
            let mut fields = media.split_whitespace();
            let port = fields.next()?.split('/').next()?.parse().ok()?;
            let payload_type = fields.nth(1)?.parse().ok()?;
            audio = Some((port, payload_type));
        } else if line.starts_with("m=") && audio.is_some() {
            break;
        }
    }
    let (port, payload_type) = audio?;
    Some(AudioStream {
        addr: SocketAddr::new(ip?, port),
        payload_type,
    })
}

/// A one-stream G.711 body for `addr` with payload type 8 (PCMA) or 0 (PCMU).
pub fn write_audio(addr: SocketAddr, payload_type: u8) -> String {
    let (family, ip) = match addr.ip() {
        IpAddr::V4(ip) => ("IP4", ip.to_string()),
        IpAddr::V6(ip) => ("IP6", ip.to_string()),
    };
    let codec = if payload_type == 0 { "PCMU" } else { "PCMA" };
    format!(
        "v=0\r\no=- 1 1 IN {family} {ip}\r\ns=-\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {payload_type}\r\na=rtpmap:{payload_type} {codec}/8000\r\n\
         a=ptime:20\r\na=sendrecv\r\n",
        port = addr.port()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_what_it_writes_and_rtpengine_style_bodies() {
        let addr: SocketAddr = "127.0.0.1:30000".parse().unwrap();
        let body = write_audio(addr, 8);
        assert_eq!(
            parse_audio(&body),
            Some(AudioStream {
                addr,
                payload_type: 8
            })
        );
        let rtpengine = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio 35002 RTP/AVP 0 101\r\nc=IN IP4 127.0.0.2\r\na=rtcp:35003\r\n";
        let stream = parse_audio(rtpengine).unwrap();
        assert_eq!(stream.addr, "127.0.0.2:35002".parse().unwrap());
        assert_eq!(stream.payload_type, 0);
        assert_eq!(parse_audio("v=0\r\nm=audio 1 RTP/AVP 8\r\n"), None);
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse_audio(&text);
        }

        #[test]
        fn round_trips(port: u16, ip: [u8; 4], ulaw: bool) {
            let addr = SocketAddr::from((ip, port));
            let pt = if ulaw { 0 } else { 8 };
            prop_assert_eq!(parse_audio(&write_audio(addr, pt)), Some(AudioStream { addr, payload_type: pt }));
        }
    }
}
