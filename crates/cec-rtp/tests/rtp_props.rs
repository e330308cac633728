//! Property tests of the RTP packet code: any header the builder accepts parses back to
//! the same header and payload; arbitrary bytes never make the parser, the RFC 8285
//! element iterator or the in-place rewrite panic; a rewrite changes only the rewritten
//! fields; the RFC 4733 payload round-trips.

use cec_rtp::dtmf::TelephoneEvent;
use cec_rtp::packet::{RtpHeader, RtpPacket, is_rtcp, rewrite_header};
use proptest::prelude::*;

fn header() -> impl Strategy<Value = RtpHeader> {
    (
        any::<bool>(),
        0u8..=127,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(any::<u32>(), 0..=15),
        prop::option::of((any::<u16>(), prop::collection::vec(any::<u8>(), 0..40))),
        any::<u8>(),
    )
        .prop_map(
            |(marker, payload_type, sequence, timestamp, ssrc, csrcs, ext, padding)| RtpHeader {
                marker,
                payload_type,
                sequence,
                timestamp,
                ssrc,
                csrcs,
                extension: ext.map(|(profile, mut data)| {
                    data.truncate(data.len() / 4 * 4);
                    (profile, data)
                }),
                padding,
            },
        )
}

proptest! {
    #[test]
    fn build_then_parse_round_trips(h in header(), payload in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut buf = vec![0u8; h.packet_len(payload.len())];
        let n = h.write(&payload, &mut buf).unwrap();
        prop_assert_eq!(n, buf.len());
        let p = RtpPacket::parse(&buf).unwrap();
        prop_assert_eq!(&RtpHeader::from_packet(&p), &h);
        prop_assert_eq!(p.payload(), &payload[..]);
        prop_assert_eq!(p.header_len(), h.len());
        // An RTP packet is never taken for RTCP unless its payload type is in 64..=95.
        prop_assert_eq!(is_rtcp(&buf), (64..=95).contains(&h.payload_type));
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = RtpPacket::parse(&bytes) {
            prop_assert!(p.header_len() + p.payload().len() + p.padding_len() == bytes.len());
            let _ = (p.csrcs().count(), p.marker(), p.sequence(), p.timestamp(), p.ssrc());
            if let Some(ext) = p.extension() {
                prop_assert!(ext.elements().count() <= ext.data().len());
            }
            let copy = RtpHeader::from_packet(&p);
            let rebuilt = copy.to_vec(p.payload()).unwrap();
            // Padding content is not kept, so compare everything but the padding bytes.
            prop_assert_eq!(&rebuilt[..rebuilt.len() - p.padding_len()], &bytes[..bytes.len() - p.padding_len()]);
        }
    }

    #[test]
    fn rewrite_never_panics_and_touches_only_its_fields(
        mut bytes in prop::collection::vec(any::<u8>(), 0..100),
        seq in any::<u16>(), ts in any::<u32>(), ssrc in any::<u32>(),
        pt in prop::option::of(0u8..=127), marker in prop::option::of(any::<bool>()),
    ) {
        let before = bytes.clone();
        match rewrite_header(&mut bytes, seq, ts, ssrc, pt, marker) {
            Ok(()) => {
                let p = RtpPacket::parse(&bytes).unwrap();
                let old = RtpPacket::parse(&before).unwrap();
                prop_assert_eq!((p.sequence(), p.timestamp(), p.ssrc()), (seq, ts, ssrc));
                prop_assert_eq!(p.payload_type(), pt.unwrap_or(old.payload_type()));
                prop_assert_eq!(p.marker(), marker.unwrap_or(old.marker()));
                prop_assert_eq!(bytes[0], before[0]);
                prop_assert_eq!(&bytes[12..], &before[12..]);
            }
            Err(_) => prop_assert_eq!(bytes, before),
        }
    }

    #[test]
    fn telephone_event_round_trips(event in any::<u8>(), end in any::<bool>(), volume in 0u8..=63, duration in any::<u16>()) {
        let te = TelephoneEvent { event, end, volume, duration };
        let mut buf = [0u8; 4];
        prop_assert_eq!(te.write(&mut buf), Ok(4));
        prop_assert_eq!(TelephoneEvent::parse(&buf), Ok(te));
    }

    #[test]
    fn telephone_event_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..8)) {
        match TelephoneEvent::parse(&bytes) {
            Ok(te) => prop_assert_eq!(&te.to_bytes()[..], &[bytes[0], bytes[1] & 0xBF, bytes[2], bytes[3]][..]),
            Err(_) => prop_assert!(bytes.len() < 4),
        }
    }
}
