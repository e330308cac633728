use super::*;

#[test]
fn known_codes_from_the_g711_tables() {
    // A-law: 0xD5/0x55 are the smallest positive/negative values (±1 on the 4096 scale),
    // 0xAA/0x2A the largest (±4032).
    assert_eq!(alaw_decode(0xD5), 8);
    assert_eq!(alaw_decode(0x55), -8);
    assert_eq!(alaw_decode(0xAA), 32256);
    assert_eq!(alaw_decode(0x2A), -32256);
    // µ-law: 0xFF and 0x7F are ±0, 0x80/0x00 the largest (±8031 on the 8159 scale).
    assert_eq!(ulaw_decode(0xFF), 0);
    assert_eq!(ulaw_decode(0x7F), 0);
    assert_eq!(ulaw_decode(0x80), 32124);
    assert_eq!(ulaw_decode(0x00), -32124);
    assert_eq!(alaw_encode(0), 0xD5);
    assert_eq!(alaw_encode(-5), 0x55);
    // -4 rounds to 0 on the 13-bit scale.
    assert_eq!(alaw_encode(-4), 0xD5);
    assert_eq!(alaw_encode(i16::MAX), 0xAA);
    assert_eq!(alaw_encode(i16::MIN), 0x2A);
    assert_eq!(ulaw_encode(0), 0xFF);
    assert_eq!(ulaw_encode(i16::MAX), 0x80);
    assert_eq!(ulaw_encode(i16::MIN), 0x00);
}

#[test]
fn decode_then_encode_is_the_identity_on_codes() {
    for code in 0..=255u8 {
        assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
        // µ-law has two zeros; -0 (0x7F) decodes to 0, which encodes as +0 (0xFF).
        let expected = if code == 0x7F { 0xFF } else { code };
        assert_eq!(
            ulaw_encode(ulaw_decode(code)),
            expected,
            "µ-law {code:#04x}"
        );
    }
}

#[test]
fn slice_helpers_convert_the_common_prefix() {
    let pcm = [0i16, 1000, -1000, 32767];
    let mut codes = [0u8; 3];
    assert_eq!(encode_alaw(&pcm, &mut codes), 3);
    assert_eq!(
        codes,
        [alaw_encode(0), alaw_encode(1000), alaw_encode(-1000)]
    );
    let mut back = [0i16; 8];
    assert_eq!(decode_alaw(&codes, &mut back), 3);
    assert_eq!(&back[..3], &[8, 1008, -1008]);
    let mut u = [0u8; 4];
    assert_eq!(G711::Ulaw.encode_slice(&pcm, &mut u), 4);
    assert_eq!(u[3], 0x80);
    let mut d = [0i16; 4];
    assert_eq!(G711::Ulaw.decode_slice(&u, &mut d), 4);
    assert_eq!(d[1], ulaw_decode(ulaw_encode(1000)));
    let mut buf = codes;
    transcode_alaw_to_ulaw(&mut buf);
    assert_eq!(buf, codes.map(alaw_to_ulaw));
    transcode_ulaw_to_alaw(&mut buf);
    assert_eq!(buf, codes.map(alaw_to_ulaw).map(ulaw_to_alaw));
}

#[test]
fn law_enum_names_payload_types_and_silence() {
    assert_eq!(G711::Alaw.payload_type(), 8);
    assert_eq!(G711::Ulaw.payload_type(), 0);
    assert_eq!(G711::from_payload_type(8), Some(G711::Alaw));
    assert_eq!(G711::from_payload_type(0), Some(G711::Ulaw));
    assert_eq!(G711::from_payload_type(101), None);
    assert_eq!(G711::Alaw.encoding_name(), "PCMA");
    assert_eq!(G711::Ulaw.encoding_name(), "PCMU");
    assert_eq!(G711::Alaw.decode(G711::Alaw.silence()), 8);
    assert_eq!(G711::Ulaw.decode(G711::Ulaw.silence()), 0);
    assert_eq!(G711::Alaw.to_other(0xD5), alaw_to_ulaw(0xD5));
    assert_eq!(G711::Ulaw.to_other(0xFF), ulaw_to_alaw(0xFF));
}
