use super::*;

/// A hand-assembled packet: V=2 P=1 X=1 CC=2, M=1 PT=8, seq 0x1234, ts 0xDEADBEEF,
/// SSRC 0x01020304, two CSRCs, a one-byte-form extension with one element, 3 payload
/// bytes and 4 padding bytes.
const SAMPLE: [u8; 39] = [
    0xB2, 0x88, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, // fixed
    0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x0B, // CSRCs
    0xBE, 0xDE, 0x00, 0x01, 0x21, 0xAA, 0xBB, 0x00, // extension: id 2, 2 bytes, pad
    0x01, 0x02, 0x03, // payload
    0x00, 0x00, 0x00, 0x04, // padding
    0x00, 0x00, 0x00, 0x00,
];

#[test]
fn parses_every_field_of_a_hand_made_packet() {
    // The last 4 zero bytes are not part of the packet.
    let buf = &SAMPLE[..35];
    let p = RtpPacket::parse(buf).unwrap();
    assert_eq!(p.version(), 2);
    assert!(p.padding() && p.marker() && p.has_extension());
    assert_eq!(p.payload_type(), 8);
    assert_eq!(p.sequence(), 0x1234);
    assert_eq!(p.timestamp(), 0xDEAD_BEEF);
    assert_eq!(p.ssrc(), 0x0102_0304);
    assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![10, 11]);
    let ext = p.extension().unwrap();
    assert!(ext.is_one_byte() && !ext.is_two_byte());
    assert_eq!(ext.data(), &[0x21, 0xAA, 0xBB, 0x00]);
    let elements: Vec<_> = ext.elements().collect();
    assert_eq!(
        elements,
        vec![ExtensionElement {
            id: 2,
            data: &[0xAA, 0xBB]
        }]
    );
    assert_eq!(p.payload(), &[1, 2, 3]);
    assert_eq!(p.padding_len(), 4);
    assert_eq!(p.header_len(), 28);
}

#[test]
fn rejects_malformed_packets() {
    assert!(matches!(
        RtpPacket::parse(&[0x80; 11]),
        Err(RtpError::TooShort { .. })
    ));
    let mut v1 = [0u8; 12];
    v1[0] = 0x40;
    assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));
    // CC=3 but no CSRCs.
    let mut cc = [0u8; 12];
    cc[0] = 0x83;
    assert!(matches!(
        RtpPacket::parse(&cc),
        Err(RtpError::TooShort { needed: 24, .. })
    ));
    // Extension length runs past the end.
    let mut ext = [0u8; 16];
    ext[0] = 0x90;
    ext[15] = 2;
    assert!(matches!(
        RtpPacket::parse(&ext),
        Err(RtpError::TooShort { .. })
    ));
    // Padding count zero, and padding longer than the body.
    let mut pad = [0u8; 14];
    pad[0] = 0xA0;
    assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding(0)));
    pad[13] = 3;
    assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding(3)));
    pad[13] = 2;
    assert_eq!(RtpPacket::parse(&pad).unwrap().payload(), &[] as &[u8]);
}

#[test]
fn header_write_matches_the_hand_made_packet() {
    let header = RtpHeader {
        marker: true,
        payload_type: 8,
        sequence: 0x1234,
        timestamp: 0xDEAD_BEEF,
        ssrc: 0x0102_0304,
        csrcs: vec![10, 11],
        extension: Some((0xBEDE, vec![0x21, 0xAA, 0xBB, 0x00])),
        padding: 4,
    };
    assert_eq!(header.len(), 28);
    let mut out = [0xFFu8; 64];
    let n = header.write(&[1, 2, 3], &mut out).unwrap();
    assert_eq!(&out[..n], &SAMPLE[..35]);
    let parsed = RtpPacket::parse(&out[..n]).unwrap();
    assert_eq!(RtpHeader::from_packet(&parsed), header);
}

#[test]
fn header_write_refuses_what_the_wire_cannot_carry() {
    let mut out = [0u8; 128];
    let too_many = RtpHeader {
        csrcs: vec![0; 16],
        ..RtpHeader::default()
    };
    assert_eq!(
        too_many.write(&[], &mut out),
        Err(RtpError::TooManyCsrcs(16))
    );
    let bad_pt = RtpHeader {
        payload_type: 128,
        ..RtpHeader::default()
    };
    assert_eq!(
        bad_pt.write(&[], &mut out),
        Err(RtpError::BadPayloadType(128))
    );
    let unaligned = RtpHeader {
        extension: Some((1, vec![0; 3])),
        ..RtpHeader::default()
    };
    assert_eq!(
        unaligned.write(&[], &mut out),
        Err(RtpError::BadExtensionLength(3))
    );
    let small = RtpHeader::default();
    assert_eq!(
        small.write(&[0; 5], &mut out[..16]),
        Err(RtpError::BufferTooSmall {
            needed: 17,
            actual: 16
        })
    );
}

#[test]
fn rewrite_changes_only_the_requested_fields() {
    let mut buf = SAMPLE[..35].to_vec();
    rewrite_header(&mut buf, 7, 8, 9, Some(101), Some(false)).unwrap();
    let p = RtpPacket::parse(&buf).unwrap();
    assert_eq!((p.sequence(), p.timestamp(), p.ssrc()), (7, 8, 9));
    assert_eq!((p.payload_type(), p.marker()), (101, false));
    assert_eq!(&buf[12..], &SAMPLE[12..35]);

    rewrite_header(&mut buf, 1, 2, 3, None, None).unwrap();
    let p = RtpPacket::parse(&buf).unwrap();
    assert_eq!((p.payload_type(), p.marker()), (101, false));
    rewrite_header(&mut buf, 1, 2, 3, None, Some(true)).unwrap();
    assert_eq!(RtpPacket::parse(&buf).unwrap().payload_type(), 101);
    assert!(RtpPacket::parse(&buf).unwrap().marker());

    assert_eq!(
        rewrite_header(&mut buf, 0, 0, 0, Some(200), None),
        Err(RtpError::BadPayloadType(200))
    );
    let mut short = [0x80u8; 5];
    assert!(rewrite_header(&mut short, 0, 0, 0, None, None).is_err());
    assert_eq!(short, [0x80; 5]);
}

#[test]
fn rtcp_demultiplexing_follows_rfc_5761() {
    // SR (200), RR (201), and the edges of 192..=223.
    for pt in [192u8, 200, 201, 207, 223] {
        assert!(is_rtcp(&[0x80, pt, 0, 0]), "{pt}");
    }
    // RTP PCMA with and without marker, telephone-event, the values just outside.
    for second in [8u8, 0x88, 101, 0x80 | 101, 191, 224] {
        assert!(!is_rtcp(&[0x80, second, 0, 0]), "{second}");
    }
    assert!(!is_rtcp(&[0x80]));
    assert!(!is_rtcp(&[0x40, 200]));
}

#[test]
fn rfc8285_elements_round_trip_in_both_forms() {
    let elements = [
        ExtensionElement {
            id: 1,
            data: &[0x10],
        },
        ExtensionElement {
            id: 14,
            data: &[7; 16],
        },
    ];
    let data = build_one_byte_extension(&elements).unwrap();
    assert_eq!(data.len() % 4, 0);
    let ext = Extension::new(ONE_BYTE_PROFILE, &data);
    assert_eq!(ext.elements().collect::<Vec<_>>(), elements);

    let two = [
        ExtensionElement { id: 200, data: &[] },
        ExtensionElement {
            id: 3,
            data: &[1; 40],
        },
    ];
    let data = build_two_byte_extension(&two).unwrap();
    let ext = Extension::new(0x1005, &data);
    assert!(ext.is_two_byte());
    assert_eq!(ext.elements().collect::<Vec<_>>(), two);

    assert!(build_one_byte_extension(&[ExtensionElement { id: 15, data: &[1] }]).is_err());
    assert!(build_one_byte_extension(&[ExtensionElement { id: 1, data: &[] }]).is_err());
    assert!(build_two_byte_extension(&[ExtensionElement { id: 0, data: &[] }]).is_err());
}

#[test]
fn one_byte_form_stops_at_id_15_and_at_truncation() {
    // id 1 len 1, then id 15 (stop), then bytes that must not be read as elements.
    let data = [0x10, 0xAA, 0xF0, 0x10, 0xBB, 0, 0, 0];
    let ext = Extension::new(ONE_BYTE_PROFILE, &data);
    assert_eq!(ext.elements().count(), 1);
    // id 2 claims 4 bytes but only 3 follow.
    let data = [0x23, 1, 2, 3];
    assert_eq!(
        Extension::new(ONE_BYTE_PROFILE, &data).elements().count(),
        0
    );
    // An extension with another profile has no RFC 8285 elements.
    assert_eq!(
        Extension::new(0x1234, &[0x10, 1, 0, 0]).elements().count(),
        0
    );
}
