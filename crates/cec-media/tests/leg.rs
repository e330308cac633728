//! One media leg on its own: symmetric-RTP latching, source and payload-type filtering,
//! RTP timeout and resume, hold directions, RTCP SR/RR every 5 s with RTT measured from
//! the peer's LSR/DLSR, quality alerts naming the crossed limit; and, by property, that
//! prompt -> bridge -> hold music switches give one continuous outgoing stream.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use cec_media::leg::{Channel, DropReason, LegEvent, MediaLeg, Received};
use cec_media::quality::QualityLimit;
use cec_media::{PlayItem, Player, Playlist, Repeat, Tone};
use cec_rtp::rtcp::{ReceiverReport, ReportBlock, RtcpPacket, parse_compound, write_compound};
use cec_sdp::{Codec, Direction};
use common::{at, drain_rtp, leg, origin, parse, rtp};
use proptest::prelude::*;

fn sdp_addr() -> SocketAddr {
    "10.0.0.5:4000".parse().unwrap()
}
fn nat_addr() -> SocketAddr {
    "203.0.113.9:61000".parse().unwrap()
}

fn events(leg: &mut MediaLeg) -> Vec<LegEvent> {
    std::iter::from_fn(|| leg.poll_event()).collect()
}

#[test]
fn latches_to_the_first_valid_source_and_rejects_others() {
    let t0 = origin();
    let mut leg = leg(t0, sdp_addr(), Codec::pcma(), Some(101), 1);
    assert_eq!(leg.remote_rtp(), Some(sdp_addr()));
    // Wrong payload type: neither used nor latched.
    let bad = rtp(0, 1, 0, 77, false, &[0xFF; 160]);
    assert_eq!(
        leg.handle_packet(t0, "198.51.100.1:9".parse().unwrap(), &bad),
        Received::Dropped(DropReason::UnexpectedPayloadType(0))
    );
    assert!(matches!(
        leg.handle_packet(t0, nat_addr(), b"garbage"),
        Received::Dropped(DropReason::Malformed)
    ));
    let good = rtp(8, 1, 0, 77, false, &[0xD5; 160]);
    assert!(matches!(
        leg.handle_packet(t0, nat_addr(), &good),
        Received::Audio { .. }
    ));
    assert_eq!(leg.remote_rtp(), Some(nat_addr()));
    assert_eq!(leg.remote_ssrc(), Some(77));
    assert_eq!(events(&mut leg), [LegEvent::Latched { remote: nat_addr() }]);
    // Someone else now: dropped.
    let other = rtp(8, 2, 160, 77, false, &[0xD5; 160]);
    assert_eq!(
        leg.handle_packet(t0, sdp_addr(), &other),
        Received::Dropped(DropReason::WrongSource)
    );
    // Our audio goes to the latched address.
    assert!(leg.send_frame(t0, &[0; 160]));
    let sent = drain_rtp(&mut leg, t0);
    assert_eq!(sent[0].0, nat_addr());
    let p = parse(&sent[0].1);
    assert_eq!(
        (p.payload_type(), p.ssrc(), p.marker()),
        (8, leg.ssrc(), true)
    );
    assert_eq!(p.payload(), &[0xD5; 160][..], "silence encoded as A-law");
}

#[test]
fn rtp_timeout_fires_once_and_resumes() {
    let t0 = origin();
    let mut leg = leg(t0, sdp_addr(), Codec::pcma(), None, 1);
    let packet = rtp(8, 1, 0, 5, false, &[0xD5; 160]);
    leg.handle_packet(at(t0, 1000), sdp_addr(), &packet);
    // 30 s by default, counted from the last packet.
    leg.handle_timeout(at(t0, 30_999));
    assert!(
        !events(&mut leg)
            .iter()
            .any(|e| matches!(e, LegEvent::RtpTimeout { .. }))
    );
    assert!(leg.poll_timeout().unwrap() <= at(t0, 31_000));
    leg.handle_timeout(at(t0, 31_000));
    let timeouts: Vec<LegEvent> = events(&mut leg)
        .into_iter()
        .filter(|e| matches!(e, LegEvent::RtpTimeout { .. }))
        .collect();
    assert_eq!(
        timeouts,
        [LegEvent::RtpTimeout {
            silent_for: Duration::from_secs(30)
        }]
    );
    leg.handle_timeout(at(t0, 70_000));
    assert!(
        !events(&mut leg)
            .iter()
            .any(|e| matches!(e, LegEvent::RtpTimeout { .. }))
    );
    leg.handle_packet(
        at(t0, 71_000),
        sdp_addr(),
        &rtp(8, 2, 160, 5, false, &[0xD5; 160]),
    );
    assert_eq!(events(&mut leg), [LegEvent::RtpResumed]);
}

#[test]
fn rtp_timeout_is_configurable_and_silent_on_hold() {
    let t0 = origin();
    let mut leg = leg(t0, sdp_addr(), Codec::pcma(), None, 1);
    let mut config = leg.config().clone();
    config.rtp_timeout = Duration::from_secs(2);
    let mut short = MediaLeg::new(t0, config);
    short.handle_timeout(at(t0, 2000));
    assert!(
        events(&mut short)
            .iter()
            .any(|e| matches!(e, LegEvent::RtpTimeout { .. }))
    );
    // We put the peer on hold (sendonly): it is not expected to send, no timeout.
    leg.set_direction(Direction::SendOnly);
    leg.handle_timeout(at(t0, 60_000));
    assert!(
        !events(&mut leg)
            .iter()
            .any(|e| matches!(e, LegEvent::RtpTimeout { .. }))
    );
}

#[test]
fn direction_is_respected() {
    let t0 = origin();
    let mut leg = leg(t0, sdp_addr(), Codec::pcma(), None, 1);
    leg.set_direction(Direction::RecvOnly);
    assert!(!leg.send_frame(t0, &[0; 160]), "recvonly never sends");
    leg.set_direction(Direction::Inactive);
    assert!(!leg.send_frame(t0, &[0; 160]));
    let packet = rtp(8, 1, 0, 5, false, &[0xD5; 160]);
    assert_eq!(
        leg.handle_packet(t0, sdp_addr(), &packet),
        Received::Dropped(DropReason::NotReceiving)
    );
    leg.set_direction(Direction::SendOnly);
    assert!(leg.send_frame(t0, &[0; 160]));
    assert_eq!(drain_rtp(&mut leg, t0).len(), 1);
}

fn rtcp_out(leg: &mut MediaLeg, now: std::time::Instant) -> Vec<(SocketAddr, Vec<RtcpPacket>)> {
    let mut out = Vec::new();
    while let Some(t) = leg.poll_transmit(now) {
        if t.channel == Channel::Rtcp {
            out.push((t.to, parse_compound(t.bytes).unwrap()));
        }
    }
    out
}

#[test]
fn rtcp_reports_every_five_seconds_and_measures_rtt() {
    let t0 = origin();
    let mut leg = leg(t0, sdp_addr(), Codec::pcma(), None, 1);
    for n in 0..250u16 {
        let now = at(t0, u64::from(n) * 20);
        leg.handle_packet(
            now,
            sdp_addr(),
            &rtp(8, n, u32::from(n) * 160, 5, false, &[0xD5; 160]),
        );
        leg.send_frame(now, &[0; 160]);
    }
    assert_eq!(leg.poll_timeout(), Some(at(t0, 5000)));
    leg.handle_timeout(at(t0, 5000));
    let reports = rtcp_out(&mut leg, at(t0, 5000));
    assert_eq!(reports.len(), 1);
    let (to, packets) = &reports[0];
    assert_eq!(to.port(), 4001, "RTCP goes to the RTP port + 1");
    let RtcpPacket::SenderReport(sr) = &packets[0] else {
        panic!("{packets:?}")
    };
    assert_eq!(
        (sr.ssrc, sr.packet_count, sr.octet_count),
        (leg.ssrc(), 250, 250 * 160)
    );
    assert_eq!(sr.reports.len(), 1);
    assert_eq!(
        (
            sr.reports[0].ssrc,
            sr.reports[0].highest_seq,
            sr.reports[0].fraction_lost
        ),
        (5, 249, 0)
    );
    assert!(matches!(packets[1], RtcpPacket::SourceDescription(_)));
    assert!(
        events(&mut leg)
            .iter()
            .any(|e| matches!(e, LegEvent::Quality(q) if q.mos > 4.0))
    );

    // The peer echoes our SR 300 ms later after holding it 100 ms: RTT = 200 ms.
    let lsr = (sr.ntp_timestamp >> 16) as u32;
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 5,
        reports: vec![ReportBlock {
            ssrc: leg.ssrc(),
            lsr,
            dlsr: 6554,
            ..ReportBlock::default()
        }],
        extension: vec![],
    });
    let mut bytes = Vec::new();
    write_compound(&[rr], &mut bytes);
    let rtcp_from: SocketAddr = "10.0.0.5:4001".parse().unwrap();
    assert_eq!(
        leg.handle_rtcp(at(t0, 5300), rtcp_from, &bytes),
        Received::Rtcp
    );
    let rtt = leg.rtt().unwrap().as_secs_f64();
    assert!((rtt - 0.2).abs() < 0.001, "{rtt}");
    // Nothing sent since: the next report is an RR.
    leg.handle_timeout(at(t0, 10_000));
    let reports = rtcp_out(&mut leg, at(t0, 10_000));
    assert!(matches!(reports[0].1[0], RtcpPacket::ReceiverReport(_)));
}

#[test]
fn an_interval_with_too_much_loss_raises_a_loss_alert() {
    let t0 = origin();
    let mut leg = leg(t0, sdp_addr(), Codec::pcma(), None, 1);
    for n in (0..250u16).filter(|n| n % 25 != 7) {
        let now = at(t0, u64::from(n) * 20);
        leg.handle_packet(
            now,
            sdp_addr(),
            &rtp(8, n, u32::from(n) * 160, 5, false, &[0xD5; 160]),
        );
    }
    leg.handle_timeout(at(t0, 5000));
    let alerts: Vec<QualityLimit> = events(&mut leg)
        .iter()
        .filter_map(|e| match e {
            LegEvent::QualityAlert(a) => Some(a.limit),
            _ => None,
        })
        .collect();
    assert_eq!(alerts, [QualityLimit::Loss], "4 % loss, no jitter");
}

#[derive(Debug, Clone)]
enum Source {
    Prompt(u16),
    Bridge {
        frames: u16,
        ssrc: u32,
        seq: u16,
        ts: u32,
    },
    HoldMusic(u16),
}

fn source() -> impl Strategy<Value = (Source, u64)> {
    let kind = prop_oneof![
        (1u16..40).prop_map(Source::Prompt),
        (1u16..40, any::<u32>(), any::<u16>(), any::<u32>()).prop_map(|(frames, ssrc, seq, ts)| {
            Source::Bridge {
                frames,
                ssrc,
                seq,
                ts,
            }
        }),
        (1u16..40).prop_map(Source::HoldMusic),
    ];
    // Each switch may come after a pause of up to 2 s.
    (kind, 0u64..2000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the schedule of prompt / bridge / hold-music switches, the far end sees
    /// one SSRC, sequence numbers each one more than the last, and timestamps that grow
    /// at least one frame per packet (more across pauses), never backwards.
    #[test]
    fn switching_sources_keeps_the_stream_continuous(
        schedule in proptest::collection::vec(source(), 1..8),
        seed in any::<u64>(),
    ) {
        let t0 = origin();
        let mut leg = leg(t0, sdp_addr(), Codec::pcma(), None, seed);
        let mut other = leg_peer(t0, seed);
        let mut player = Player::new();
        let mut now_ms = 0u64;
        let mut sent = Vec::new();
        for (source, pause) in schedule {
            now_ms += pause;
            match source {
                Source::Prompt(frames) | Source::HoldMusic(frames) => {
                    player.play(at(t0, now_ms), Playlist {
                        items: vec![PlayItem::Tone { tone: Tone::beep(), duration: Duration::from_millis(100) }],
                        repeat: Repeat::Forever,
                        barge_in: false,
                    });
                    for _ in 0..frames {
                        let frame = player.poll_frame(at(t0, now_ms)).unwrap();
                        leg.send_frame(at(t0, now_ms), &frame);
                        sent.extend(drain_rtp(&mut leg, at(t0, now_ms)).into_iter().map(|(_, b)| b));
                        now_ms += 20;
                    }
                }
                Source::Bridge { frames, ssrc, seq, ts } => {
                    for k in 0..frames {
                        let bytes = rtp(8, seq.wrapping_add(k), ts.wrapping_add(u32::from(k) * 160), ssrc, k == 0, &[0xD5; 160]);
                        let received = other.handle_packet(at(t0, now_ms), "192.0.2.99:5000".parse().unwrap(), &bytes);
                        prop_assert!(leg.relay(at(t0, now_ms), &received));
                        sent.extend(drain_rtp(&mut leg, at(t0, now_ms)).into_iter().map(|(_, b)| b));
                        now_ms += 20;
                    }
                }
            }
        }
        prop_assert_eq!(leg.dropped_transmits(), 0);
        for pair in sent.windows(2) {
            let (a, b) = (parse(&pair[0]), parse(&pair[1]));
            prop_assert_eq!(a.ssrc(), b.ssrc());
            prop_assert_eq!(b.sequence(), a.sequence().wrapping_add(1));
            let step = b.timestamp().wrapping_sub(a.timestamp());
            prop_assert!((160..160 * 200).contains(&step), "timestamp step {}", step);
        }
    }
}

/// A second leg that accepts anything (its packets are the bridge source).
fn leg_peer(t0: std::time::Instant, seed: u64) -> MediaLeg {
    leg(
        t0,
        "192.0.2.99:5000".parse().unwrap(),
        Codec::pcma(),
        None,
        seed ^ 1,
    )
}
