//! Property tests: print/parse round trip, no panics on hostile input, answer invariants.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::answer_tests::params;
use super::fixtures::{ALL_LINES, CISCO, FREESWITCH, MULTI, QUIRKY, SONUS, crlf};
use crate::{
    AddressType, Attribute, Bandwidth, Codec, Connection, Direction, Fmtp, LocalCapabilities,
    MediaDescription, Origin, ParseLimits, Protocol, RawLine, Rtcp, RtpMap, SessionDescription,
    Timing, answer, process_answer,
};

const KNOWN_ATTRS: [&str; 9] = [
    "rtpmap", "fmtp", "ptime", "maxptime", "rtcp", "sendrecv", "sendonly", "recvonly", "inactive",
];

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.*+-]{1,8}"
}

/// Free text that survives trailing-whitespace trimming.
fn text() -> impl Strategy<Value = String> {
    "([!-~]|[!-~][ -~]{0,10}[!-~])?"
}

fn connection() -> impl Strategy<Value = Connection> {
    let addr_type = prop_oneof![
        Just(AddressType::Ip4),
        Just(AddressType::Ip6),
        token()
            .prop_filter("not IP4/IP6", |t| !t.eq_ignore_ascii_case("ip4")
                && !t.eq_ignore_ascii_case("ip6"))
            .prop_map(AddressType::Other),
    ];
    let net = prop_oneof![
        Just("IN".to_owned()),
        token().prop_filter("not IN", |t| !t.eq_ignore_ascii_case("in"))
    ];
    (net, addr_type, token()).prop_map(|(net_type, addr_type, address)| Connection {
        net_type,
        addr_type,
        address,
    })
}

fn attribute() -> impl Strategy<Value = Attribute> {
    let direction = prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ];
    prop_oneof![
        (
            0u8..=127,
            "[A-Za-z0-9-]{1,8}",
            any::<u32>(),
            option::of("[0-9]{1,2}")
        )
            .prop_map(|(payload_type, encoding, clock_rate, params)| {
                Attribute::RtpMap(RtpMap {
                    payload_type,
                    encoding,
                    clock_rate,
                    params,
                })
            }),
        (token(), text()).prop_map(|(format, params)| Attribute::Fmtp(Fmtp { format, params })),
        any::<u32>().prop_map(Attribute::Ptime),
        any::<u32>().prop_map(Attribute::MaxPtime),
        direction.prop_map(Attribute::Direction),
        (any::<u16>(), option::of(connection()))
            .prop_map(|(port, connection)| Attribute::Rtcp(Rtcp { port, connection })),
        ("[A-Za-z0-9_-]{0,8}", option::of(text()))
            .prop_filter("known name", |(n, _)| !KNOWN_ATTRS.contains(&n.as_str()))
            .prop_map(|(name, value)| Attribute::Other { name, value }),
    ]
}

fn raw_lines(kinds: &'static str) -> impl Strategy<Value = Vec<RawLine>> {
    let chars: Vec<char> = kinds.chars().collect();
    vec((proptest::sample::select(chars), text()), 0..3).prop_map(|v| {
        let mut lines: Vec<RawLine> = v
            .into_iter()
            .map(|(kind, value)| RawLine { kind, value })
            .collect();
        lines.sort_by_key(RawLine::rank);
        lines
    })
}

fn bandwidth() -> impl Strategy<Value = Bandwidth> {
    ("[A-Za-z0-9-]{1,6}", any::<u64>())
        .prop_map(|(bw_type, bandwidth)| Bandwidth { bw_type, bandwidth })
}

fn media() -> impl Strategy<Value = MediaDescription> {
    let protocol = prop_oneof![
        Just(Protocol::RtpAvp),
        Just(Protocol::RtpSavp),
        Just(Protocol::RtpAvpf),
        Just(Protocol::RtpSavpf),
        Just(Protocol::UdpTlsRtpSavpf),
        Just(Protocol::Other("udptl".to_owned())),
        Just(Protocol::Other("TCP/MSRP".to_owned())),
    ];
    let head = (
        "[a-z]{1,8}",
        any::<u16>(),
        option::of(any::<u16>()),
        protocol,
    );
    let body = (
        vec(connection(), 0..2),
        vec(bandwidth(), 0..2),
        vec(attribute(), 0..5),
        raw_lines("ikx"),
    );
    (head, vec(0u8..=127, 0..5), vec(token(), 0..3), body).prop_map(
        |(
            (media, port, port_count, protocol),
            pts,
            tokens,
            (connections, bandwidths, attributes, other_lines),
        )| {
            let formats = if protocol.is_rtp() {
                pts.iter().map(u8::to_string).collect()
            } else {
                tokens
            };
            MediaDescription {
                port_count,
                connections,
                bandwidths,
                attributes,
                other_lines,
                ..MediaDescription::new(&media, port, protocol, formats)
            }
        },
    )
}

fn session() -> impl Strategy<Value = SessionDescription> {
    let origin = (token(), "[0-9]{1,30}", "[0-9]{1,30}", connection()).prop_map(
        |(username, id, version, c)| Origin {
            username,
            session_id: id,
            session_version: version,
            net_type: c.net_type,
            addr_type: c.addr_type,
            address: c.address,
        },
    );
    let timing =
        (any::<u64>(), any::<u64>(), vec("[!-~]{1,8}", 0..2)).prop_map(|(start, stop, repeats)| {
            Timing {
                start,
                stop,
                repeats,
            }
        });
    (
        (
            origin,
            option::of(text()),
            vec(connection(), 0..3),
            vec(bandwidth(), 0..2),
        ),
        (
            vec(timing, 0..3),
            vec(attribute(), 0..5),
            vec(media(), 0..4),
            raw_lines("iuepzkxX"),
        ),
    )
        .prop_map(
            |(
                (origin, session_name, connections, bandwidths),
                (timing, attributes, media, other_lines),
            )| {
                SessionDescription {
                    origin,
                    session_name,
                    connections,
                    bandwidths,
                    timing,
                    attributes,
                    media,
                    other_lines,
                }
            },
        )
}

/// The fuzz property: whatever parses prints to something that parses to the same value.
/// (Printing may add a CR per line, so the re-parse has no byte limit.)
fn assert_reparses(input: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(sdp) = SessionDescription::parse_bytes(input) {
        let printed = sdp.to_string();
        let unlimited = ParseLimits {
            max_bytes: usize::MAX,
            ..ParseLimits::default()
        };
        let again = SessionDescription::parse_with(&printed, &unlimited).map(|p| p.sdp);
        prop_assert_eq!(again, Ok(sdp), "printed: {:?}", printed);
    }
    Ok(())
}

fn seeds() -> Vec<String> {
    vec![
        crlf(CISCO),
        crlf(SONUS),
        crlf(FREESWITCH),
        crlf(ALL_LINES),
        crlf(MULTI),
        QUIRKY.to_owned(),
    ]
}

fn offer() -> impl Strategy<Value = SessionDescription> {
    let pt = proptest::sample::select(vec![0u8, 3, 8, 9, 13, 18, 96, 97, 100, 101, 127]);
    let rtpmap = proptest::sample::select(vec![
        "PCMA/8000",
        "pcmu/8000",
        "telephone-event/8000",
        "telephone-event/16000",
        "G729/8000",
        "opus/48000/2",
        "CN/8000",
    ]);
    let proto = prop_oneof![
        8 => Just(Protocol::RtpAvp),
        1 => Just(Protocol::RtpSavp),
        1 => Just(Protocol::RtpAvpf),
        1 => Just(Protocol::Other("udptl".to_owned()))
    ];
    let kind = proptest::sample::select(vec!["audio", "audio", "audio", "audio", "video", "image"]);
    let dir = option::of(proptest::sample::select(vec![
        Direction::SendRecv,
        Direction::SendOnly,
        Direction::RecvOnly,
        Direction::Inactive,
    ]));
    let m = (
        kind,
        0u16..8,
        proto,
        vec(pt.clone(), 0..5),
        vec((pt, rtpmap), 0..4),
        dir,
        option::of(connection()),
        option::of(0u32..200),
    );
    let c = option::of(prop_oneof![
        Just("0.0.0.0"),
        Just("192.0.2.1"),
        Just("2001:db8::1")
    ]);
    (vec(m, 1..4), c).prop_map(|(ms, c)| {
        let mut sdp = SessionDescription::new(Origin::new(1, 1, super::answer_tests::LOCAL));
        if let Some(ip) = c.and_then(|a| a.parse().ok()) {
            sdp.connections.push(Connection::new(ip));
        }
        for (kind, port, protocol, pts, maps, dir, conn, ptime) in ms {
            let formats = if protocol.is_rtp() {
                pts.iter().map(u8::to_string).collect()
            } else {
                vec!["t38".to_owned()]
            };
            let mut m = MediaDescription::new(kind, port * 1000, protocol, formats);
            m.connections.extend(conn);
            for (pt, map) in maps {
                m.attributes
                    .push(Attribute::parse(&format!("rtpmap:{pt} {map}")));
            }
            if let Some(d) = dir {
                m.set_direction(d);
            }
            m.attributes.extend(ptime.map(Attribute::Ptime));
            sdp.media.push(m);
        }
        sdp
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_sessions_round_trip(sdp in session()) {
        let printed = sdp.to_string();
        prop_assert_eq!(SessionDescription::parse(&printed), Ok(sdp), "printed: {:?}", printed);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        assert_reparses(&bytes)?;
    }

    #[test]
    fn line_soup_never_panics(lines in vec("([a-zA-Z]=[ -~\t]{0,24}|[ -~]{0,6})", 0..24), first in any::<bool>()) {
        let mut body = if first { "v=0\r\no=- 1 1 IN IP4 a\r\n".to_owned() } else { String::new() };
        for l in lines {
            body.push_str(&l);
            body.push_str("\r\n");
        }
        assert_reparses(body.as_bytes())?;
    }

    #[test]
    fn mutated_valid_sdps_never_panic(
        seed in 0usize..6,
        edits in vec((any::<proptest::sample::Index>(), 0u8..3, any::<u8>()), 1..8),
    ) {
        let mut bytes = seeds().swap_remove(seed).into_bytes();
        for (at, op, byte) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 => bytes.insert(i, byte),
                1 if i < bytes.len() => { bytes.remove(i); }
                _ if i < bytes.len() => bytes[i] = byte,
                _ => bytes.push(byte),
            }
        }
        assert_reparses(&bytes)?;
    }

    #[test]
    fn answer_invariants(offer in offer(), pcmu_first in any::<bool>()) {
        let caps = if pcmu_first { LocalCapabilities::pcmu_first() } else { LocalCapabilities::default() };
        let Ok(a) = answer(&offer, &caps, &params()) else { return Ok(()) };
        prop_assert_eq!(a.sdp.media.len(), offer.media.len());
        prop_assert_eq!(a.media.streams.len(), offer.media.len());
        for s in a.media.accepted() {
            let m = &offer.media[s.index];
            prop_assert!(m.formats.contains(&s.codec.payload_type.to_string()));
            let offered = Codec::from_media(m, s.codec.payload_type);
            prop_assert!(offered.is_some_and(|o| o.same_codec(&s.codec)));
            if let Some(te) = s.telephone_event {
                prop_assert!(m.formats.contains(&te.to_string()));
            }
            prop_assert_eq!(a.sdp.media[s.index].formats.first(), Some(&s.codec.payload_type.to_string()));
        }
        let printed = a.sdp.to_string();
        let reparsed = SessionDescription::parse(&printed);
        prop_assert_eq!(reparsed.as_ref(), Ok(&a.sdp));
        let back = process_answer(&offer, &a.sdp);
        prop_assert!(back.is_ok(), "offerer rejects our answer: {:?}", back);
        let codecs: Vec<_> = back.iter().flat_map(|n| n.accepted()).map(|s| s.codec.payload_type).collect();
        let ours: Vec<_> = a.media.accepted().map(|s| s.codec.payload_type).collect();
        prop_assert_eq!(codecs, ours);
    }
}
