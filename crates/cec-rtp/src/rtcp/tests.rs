use std::time::Duration;

use super::*;

/// SR with one report block followed by SDES with one CNAME chunk, assembled by hand.
fn sr_and_sdes() -> Vec<u8> {
    let mut b = vec![
        0x81, 200, 0x00, 0x0C, // V=2 RC=1 SR, length 12 words
        0x00, 0x00, 0x00, 0x2A, // SSRC 42
        0xE0, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, // NTP 0xE0000000.5
        0x00, 0x00, 0x03, 0x20, // RTP ts 800
        0x00, 0x00, 0x00, 0x05, // packets 5
        0x00, 0x00, 0x03, 0x20, // octets 800
        0x00, 0x00, 0x00, 0x07, // block: SSRC 7
        0x40, 0xFF, 0xFF, 0xFE, // fraction 64, cumulative -2
        0x00, 0x01, 0x00, 0x10, // ext highest seq: 1 cycle, seq 16
        0x00, 0x00, 0x00, 0x09, // jitter 9
        0x12, 0x34, 0x56, 0x78, // LSR
        0x00, 0x01, 0x80, 0x00, // DLSR 1.5 s
    ];
    b.extend_from_slice(&[0x81, 202, 0x00, 0x03, 0x00, 0x00, 0x00, 0x2A]);
    b.extend_from_slice(&[1, 3, b'a', b'b', b'c', 0, 0, 0]);
    b
}

#[test]
fn parses_a_hand_made_sr_and_sdes() {
    let packets = parse_compound(&sr_and_sdes()).unwrap();
    assert_eq!(packets.len(), 2);
    let RtcpPacket::SenderReport(sr) = &packets[0] else {
        panic!("{packets:?}")
    };
    assert_eq!(sr.ssrc, 42);
    assert_eq!(sr.ntp_timestamp, 0xE000_0000_8000_0000);
    assert_eq!(
        (sr.rtp_timestamp, sr.packet_count, sr.octet_count),
        (800, 5, 800)
    );
    assert_eq!(
        sr.reports,
        vec![ReportBlock {
            ssrc: 7,
            fraction_lost: 64,
            cumulative_lost: -2,
            highest_seq: 0x1_0010,
            jitter: 9,
            lsr: 0x1234_5678,
            dlsr: 0x1_8000,
        }]
    );
    assert_eq!(
        packets[1],
        RtcpPacket::SourceDescription(SourceDescription::cname(42, "abc"))
    );
    let mut out = Vec::new();
    write_compound(&packets, &mut out);
    assert_eq!(out, sr_and_sdes());
}

#[test]
fn parses_bye_app_xr_and_unknown_and_writes_them_back() {
    let metrics = VoipMetrics {
        ssrc: 9,
        loss_rate: 1,
        discard_rate: 2,
        burst_density: 3,
        gap_density: 4,
        burst_duration: 500,
        gap_duration: 600,
        round_trip_delay: 70,
        end_system_delay: 80,
        signal_level: -20,
        noise_level: -60,
        rerl: 127,
        gmin: 16,
        r_factor: 90,
        ext_r_factor: 127,
        mos_lq: 42,
        mos_cq: 41,
        rx_config: 0x80,
        jb_nominal: 40,
        jb_maximum: 80,
        jb_abs_max: 200,
    };
    let packets = vec![
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            ..Default::default()
        }),
        RtcpPacket::Bye(Bye {
            sources: vec![1, 2],
            reason: Some(b"bye now".to_vec()),
        }),
        RtcpPacket::App(App {
            subtype: 3,
            ssrc: 1,
            name: *b"OCEC",
            data: vec![1, 2, 3, 4],
        }),
        RtcpPacket::ExtendedReport(ExtendedReport {
            ssrc: 1,
            blocks: vec![
                XrBlock::VoipMetrics(metrics),
                XrBlock::Unknown {
                    block_type: 4,
                    type_specific: 0,
                    data: vec![0, 0, 1, 2],
                },
            ],
        }),
        RtcpPacket::Unknown {
            packet_type: 205,
            count: 1,
            payload: vec![0; 8],
        },
    ];
    let mut out = Vec::new();
    try_write_compound(&packets, &mut out).unwrap();
    // RR 8, BYE 4+8+8, APP 16, XR 8+36+8, RTPFB 12.
    assert_eq!(out.len(), 8 + 20 + 16 + 52 + 12);
    // The VoIP metrics block header: BT=7, reserved, length 8.
    assert_eq!(&out[44 + 8..44 + 12], &[7, 0, 0, 8]);
    assert_eq!(parse_compound(&out).unwrap(), packets);
}

#[test]
fn padding_is_stripped_and_checked() {
    // RR with P set: 4 padding bytes (count 4) after the SSRC.
    let padded = [0xA0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4];
    let packets = parse_compound(&padded).unwrap();
    assert_eq!(
        packets,
        vec![RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            ..Default::default()
        })]
    );
    let mut bad = padded;
    bad[11] = 9;
    assert_eq!(
        parse_compound(&bad),
        Err(RtcpError::BadPadding { packet_type: 201 })
    );
    bad[11] = 0;
    assert_eq!(
        parse_compound(&bad),
        Err(RtcpError::BadPadding { packet_type: 201 })
    );
    // Not a whole number of words.
    bad[11] = 2;
    assert_eq!(
        parse_compound(&bad),
        Err(RtcpError::BadPadding { packet_type: 201 })
    );
}

#[test]
fn malformed_compounds_are_rejected() {
    assert_eq!(parse_compound(&[]), Err(RtcpError::Empty));
    assert_eq!(
        parse_compound(&[0x40, 201, 0, 0]),
        Err(RtcpError::BadVersion(1))
    );
    // Length says 2 words but only 1 follows.
    assert_eq!(
        parse_compound(&[0x80, 201, 0, 2, 0, 0, 0, 1]),
        Err(RtcpError::BadLength { packet_type: 201 })
    );
    // Trailing bytes that are not a whole header.
    assert_eq!(
        parse_compound(&[0x80, 201, 0, 1, 0, 0, 0, 1, 0x80]),
        Err(RtcpError::BadLength { packet_type: 0 })
    );
    // RC=1 but no report block.
    assert_eq!(
        parse_compound(&[0x81, 201, 0, 1, 0, 0, 0, 1]),
        Err(RtcpError::Truncated { packet_type: 201 })
    );
    // SDES chunk whose item runs past the end.
    assert_eq!(
        parse_compound(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, b'x', 0]),
        Err(RtcpError::Truncated { packet_type: 202 })
    );
    // BYE reason longer than the packet.
    assert_eq!(
        parse_compound(&[0x81, 203, 0, 2, 0, 0, 0, 1, 5, b'x', 0, 0]),
        Err(RtcpError::Truncated { packet_type: 203 })
    );
    // XR block longer than the packet.
    assert_eq!(
        parse_compound(&[0x80, 207, 0, 2, 0, 0, 0, 1, 7, 0, 0, 8]),
        Err(RtcpError::Truncated { packet_type: 207 })
    );
}

#[test]
fn write_clamps_and_try_write_refuses() {
    let blocks = vec![
        ReportBlock {
            cumulative_lost: -10_000_000,
            ..Default::default()
        };
        40
    ];
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 5,
        reports: blocks,
        extension: vec![],
    });
    let mut out = Vec::new();
    assert_eq!(
        try_write_compound(std::slice::from_ref(&rr), &mut out),
        Err(RtcpError::TooLong {
            packet_type: 201,
            what: "report blocks"
        })
    );
    assert!(out.is_empty());
    write_compound(&[rr], &mut out);
    let RtcpPacket::ReceiverReport(back) = &parse_compound(&out).unwrap()[0] else {
        panic!()
    };
    assert_eq!(back.reports.len(), 31);
    assert_eq!(back.reports[0].cumulative_lost, -0x80_0000);

    let long = RtcpPacket::Bye(Bye {
        sources: vec![],
        reason: Some(vec![b'x'; 300]),
    });
    assert!(try_write_compound(std::slice::from_ref(&long), &mut Vec::new()).is_err());
    let mut out = Vec::new();
    write_compound(&[long], &mut out);
    let RtcpPacket::Bye(bye) = &parse_compound(&out).unwrap()[0] else {
        panic!()
    };
    assert_eq!(bye.reason.as_ref().map(Vec::len), Some(255));

    let app = RtcpPacket::App(App {
        data: vec![1, 2, 3],
        ..Default::default()
    });
    assert_eq!(
        try_write_compound(std::slice::from_ref(&app), &mut Vec::new()),
        Err(RtcpError::Unaligned {
            packet_type: 204,
            len: 3
        })
    );
    let mut out = Vec::new();
    write_compound(&[app], &mut out);
    let RtcpPacket::App(back) = &parse_compound(&out).unwrap()[0] else {
        panic!()
    };
    assert_eq!(back.data, vec![1, 2, 3, 0]);
}

#[test]
fn ntp_helpers() {
    // 2024-01-01T00:00:00Z is 1704067200 s after the Unix epoch.
    let ntp = ntp_from_unix(Duration::new(1_704_067_200, 500_000_000));
    assert_eq!(ntp >> 32, 1_704_067_200 + NTP_UNIX_OFFSET_SECS);
    assert_eq!(ntp & 0xFFFF_FFFF, 0x8000_0000);
    assert_eq!(ntp_compact(0x1122_3344_5566_7788), 0x3344_5566);
    let d = Duration::new(3_000_000_000, 123_456_789);
    let back = ntp_to_duration(ntp_from_duration(d));
    assert!(d - back < Duration::from_nanos(2), "{d:?} {back:?}");
    assert_eq!(
        compact_to_duration(0x0001_8000),
        Duration::from_millis(1500)
    );
    assert_eq!(
        duration_to_compact(Duration::from_millis(1500)),
        0x0001_8000
    );
    assert_eq!(duration_to_compact(Duration::from_secs(70_000)), u32::MAX);
    // RFC 3550 §6.4.1 example: A=0xb710_8000 (46864.500 s), LSR=0xb705_2000, DLSR=0x0005_4000.
    let rtt = round_trip_time(0xB710_8000, 0xB705_2000, 0x0005_4000).unwrap();
    assert_eq!(rtt, Duration::from_millis(6125));
    assert_eq!(round_trip_time(0xB710_8000, 0, 5), None);
    assert_eq!(round_trip_time(0x10, 0x08, 0x09), None);
}
