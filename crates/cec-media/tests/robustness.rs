//! Parsers never panic on arbitrary input: datagrams into a leg (RTP and RTCP ports) and
//! through a bridge, and bytes offered as a WAV prompt. Also pins that a valid RTP header
//! with an arbitrary payload is relayed byte for byte apart from the rewritten header.

mod common;

use std::io::Cursor;

use cec_media::Prompt;
use cec_media::bridge::{Bridge, End};
use cec_media::leg::Received;
use cec_sdp::Codec;
use common::{at, leg, origin, parse, rtp};
use proptest::prelude::*;

proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(datagrams in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..300), 1..20)
    ) {
        let t0 = origin();
        let from = "198.51.100.7:5004".parse().unwrap();
        let mut bridge = Bridge::new(
            leg(t0, from, Codec::pcma(), Some(101), 1),
            leg(t0, "192.0.2.20:7078".parse().unwrap(), Codec::pcmu(), None, 2),
        );
        for (i, data) in datagrams.iter().enumerate() {
            let now = at(t0, i as u64 * 20);
            let _ = bridge.handle_packet(now, End::A, from, data);
            let _ = bridge.leg_mut(End::B).handle_rtcp(now, from, data);
            bridge.leg_mut(End::A).handle_timeout(at(t0, 5000 + i as u64));
            while bridge.leg_mut(End::B).poll_transmit(now).is_some() {}
        }
    }

    #[test]
    fn arbitrary_wav_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut wav = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
        wav.extend_from_slice(&bytes);
        let _ = Prompt::from_wav(Cursor::new(&wav));
        let _ = Prompt::from_wav(Cursor::new(&bytes));
    }

    #[test]
    fn relayed_payload_is_untouched_between_same_codecs(
        payload in proptest::collection::vec(any::<u8>(), 0..400),
        seq in any::<u16>(),
        ts in any::<u32>(),
    ) {
        let t0 = origin();
        let from = "198.51.100.7:5004".parse().unwrap();
        let mut a = leg(t0, from, Codec::pcma(), None, 1);
        let mut b = leg(t0, "192.0.2.20:7078".parse().unwrap(), Codec::pcma(), None, 2);
        let bytes = rtp(8, seq, ts, 9, false, &payload);
        let received = a.handle_packet(t0, from, &bytes);
        let is_audio = matches!(received, Received::Audio { .. });
        prop_assert!(is_audio);
        prop_assert!(b.relay(t0, &received));
        let out = b.poll_transmit(t0).unwrap().bytes.to_vec();
        prop_assert_eq!(parse(&out).payload(), &payload[..]);
        prop_assert_eq!(out.len(), bytes.len());
    }
}
