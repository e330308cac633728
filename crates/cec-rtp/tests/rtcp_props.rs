//! Property tests of the RTCP code: any compound packet the strict writer accepts parses
//! back equal; the lenient writer's output always parses; arbitrary bytes never make the
//! parser panic, and whatever parses writes back to bytes that parse to the same packets.

use cec_rtp::rtcp::{
    App, Bye, ExtendedReport, ReceiverReport, ReportBlock, RtcpPacket, SdesChunk, SdesItem,
    SdesType, SenderReport, SourceDescription, VoipMetrics, XrBlock, parse_compound,
    try_write_compound, write_compound,
};
use proptest::prelude::*;

fn words(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(|mut v| {
        v.truncate(v.len() / 4 * 4);
        v
    })
}

fn block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -0x80_0000i32..=0x7F_FFFF,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(ssrc, fraction_lost, cumulative_lost, highest_seq, jitter, lsr, dlsr)| ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost,
                highest_seq,
                jitter,
                lsr,
                dlsr,
            },
        )
}

fn metrics() -> impl Strategy<Value = VoipMetrics> {
    (any::<[u8; 16]>(), any::<[u16; 7]>(), any::<u32>()).prop_map(|(b, w, ssrc)| VoipMetrics {
        ssrc,
        loss_rate: b[0],
        discard_rate: b[1],
        burst_density: b[2],
        gap_density: b[3],
        burst_duration: w[0],
        gap_duration: w[1],
        round_trip_delay: w[2],
        end_system_delay: w[3],
        signal_level: b[4] as i8,
        noise_level: b[5] as i8,
        rerl: b[6],
        gmin: b[7],
        r_factor: b[8],
        ext_r_factor: b[9],
        mos_lq: b[10],
        mos_cq: b[11],
        rx_config: b[12],
        jb_nominal: w[4],
        jb_maximum: w[5],
        jb_abs_max: w[6],
    })
}

fn blocks() -> impl Strategy<Value = Vec<ReportBlock>> {
    prop::collection::vec(block(), 0..=31)
}

fn packet() -> impl Strategy<Value = RtcpPacket> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            blocks(),
            words(12)
        )
            .prop_map(
                |(
                    ssrc,
                    ntp_timestamp,
                    rtp_timestamp,
                    packet_count,
                    octet_count,
                    reports,
                    extension,
                )| {
                    RtcpPacket::SenderReport(SenderReport {
                        ssrc,
                        ntp_timestamp,
                        rtp_timestamp,
                        packet_count,
                        octet_count,
                        reports,
                        extension,
                    })
                }
            ),
        (any::<u32>(), blocks(), words(12)).prop_map(|(ssrc, reports, extension)| {
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                reports,
                extension,
            })
        }),
        prop::collection::vec(
            (
                any::<u32>(),
                prop::collection::vec(
                    (1u8..=255, prop::collection::vec(any::<u8>(), 0..=255)),
                    0..4
                )
            ),
            0..=31,
        )
        .prop_map(|chunks| RtcpPacket::SourceDescription(SourceDescription {
            chunks: chunks
                .into_iter()
                .map(|(ssrc, items)| SdesChunk {
                    ssrc,
                    items: items
                        .into_iter()
                        .map(|(k, value)| SdesItem {
                            kind: SdesType::from_u8(k),
                            value
                        })
                        .collect(),
                })
                .collect(),
        })),
        (
            prop::collection::vec(any::<u32>(), 0..=31),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..=255))
        )
            .prop_map(|(sources, reason)| RtcpPacket::Bye(Bye { sources, reason })),
        (0u8..=31, any::<u32>(), any::<[u8; 4]>(), words(40)).prop_map(
            |(subtype, ssrc, name, data)| RtcpPacket::App(App {
                subtype,
                ssrc,
                name,
                data
            })
        ),
        (
            any::<u32>(),
            prop::collection::vec(
                prop_oneof![
                    metrics().prop_map(XrBlock::VoipMetrics),
                    (
                        (0u8..=255).prop_filter("type 7 decodes", |t| *t != 7),
                        any::<u8>(),
                        words(40)
                    )
                        .prop_map(|(block_type, type_specific, data)| {
                            XrBlock::Unknown {
                                block_type,
                                type_specific,
                                data,
                            }
                        }),
                ],
                0..4
            )
        )
            .prop_map(|(ssrc, blocks)| RtcpPacket::ExtendedReport(ExtendedReport { ssrc, blocks })),
        ((205u8..=206), 0u8..=31, words(40)).prop_map(|(packet_type, count, payload)| {
            RtcpPacket::Unknown {
                packet_type,
                count,
                payload,
            }
        }),
    ]
}

proptest! {
    #[test]
    fn write_then_parse_round_trips(packets in prop::collection::vec(packet(), 1..5)) {
        let mut out = Vec::new();
        try_write_compound(&packets, &mut out).unwrap();
        prop_assert_eq!(out.len() % 4, 0);
        prop_assert_eq!(parse_compound(&out).unwrap(), packets);
    }

    #[test]
    fn parse_never_panics_and_reparses(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(packets) = parse_compound(&bytes) {
            let mut out = Vec::new();
            write_compound(&packets, &mut out);
            prop_assert_eq!(parse_compound(&out).unwrap(), packets);
        }
    }

    #[test]
    fn structured_garbage_never_panics(
        first in any::<u8>(), pt in 192u8..=223, body in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        // A valid-looking header with the right length over a random body reaches the
        // per-type parsers far more often than fully random bytes.
        let mut bytes = vec![0x80 | (first & 0x3F), pt];
        let len = body.len() / 4 * 4;
        bytes.extend_from_slice(&((len / 4) as u16).to_be_bytes());
        bytes.extend_from_slice(&body[..len]);
        if let Ok(packets) = parse_compound(&bytes) {
            let mut out = Vec::new();
            write_compound(&packets, &mut out);
            prop_assert_eq!(parse_compound(&out).unwrap(), packets);
        }
    }
}
