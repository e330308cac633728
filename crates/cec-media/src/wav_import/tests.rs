//! Whole-path tests: the canonical writer, limits, pass-through, the filter's measured
//! response, and property tests (round trip, no panic on any input).

use std::f64::consts::PI;

use proptest::prelude::*;

use super::*;

/// A RIFF/WAVE file with the given `fmt ` body and data.
fn wav(fmt: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(
        &u32::try_from(20 + fmt.len() + data.len())
            .unwrap()
            .to_le_bytes(),
    );
    out.extend_from_slice(b"WAVE");
    for (id, body) in [(b"fmt ", fmt), (b"data", data)] {
        out.extend_from_slice(id);
        out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
        out.extend_from_slice(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
    }
    out
}

/// A basic `fmt ` body.
fn fmt(tag: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
    let align = channels * bits.div_ceil(8);
    let mut out = Vec::new();
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
    out.extend_from_slice(&align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out
}

/// A mono 32-bit float WAV of a sine at `freq` Hz, `seconds` long, peak `amplitude`.
fn float_tone(rate: u32, freq: f64, seconds: f64, amplitude: f64) -> Vec<u8> {
    let frames = (f64::from(rate) * seconds) as usize;
    let data: Vec<u8> = (0..frames)
        .flat_map(|n| {
            let t = n as f64 / f64::from(rate);
            ((amplitude * (2.0 * PI * freq * t).sin()) as f32).to_le_bytes()
        })
        .collect();
    wav(&fmt(3, 1, rate, 32), &data)
}

/// The middle of an imported prompt, away from the zero padding at both ends.
fn middle(samples: &[i16]) -> &[i16] {
    &samples[200..samples.len() - 200]
}

/// Peak amplitude of the `freq` Hz component, by least-squares fit of a sine and cosine.
fn amplitude_at(samples: &[i16], freq: f64) -> f64 {
    let (mut xc, mut xs, mut cc, mut ss, mut cs) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (n, &x) in samples.iter().enumerate() {
        let phase = 2.0 * PI * freq * n as f64 / f64::from(PROMPT_SAMPLE_RATE);
        let (s, c) = phase.sin_cos();
        let x = f64::from(x);
        (xc, xs, cc, ss, cs) = (xc + x * c, xs + x * s, cc + c * c, ss + s * s, cs + c * s);
    }
    let det = cc * ss - cs * cs;
    let a = (xc * ss - xs * cs) / det;
    let b = (xs * cc - xc * cs) / det;
    a.hypot(b)
}

fn rms(samples: &[i16]) -> f64 {
    let power: f64 = samples.iter().map(|&x| f64::from(x).powi(2)).sum();
    (power / samples.len() as f64).sqrt()
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

#[test]
fn encode_wav_writes_the_canonical_header() {
    let bytes = encode_wav(&[1, -2, 0x1234]);
    let expected_header: [u8; 44] = [
        b'R', b'I', b'F', b'F', 42, 0, 0, 0, b'W', b'A', b'V', b'E', // RIFF, 36 + 6
        b'f', b'm', b't', b' ', 16, 0, 0, 0, // fmt, 16 bytes
        1, 0, 1, 0, // PCM, mono
        0x40, 0x1F, 0, 0, // 8000 Hz
        0x80, 0x3E, 0, 0, // 16000 bytes/s
        2, 0, 16, 0, // block align 2, 16 bits
        b'd', b'a', b't', b'a', 6, 0, 0, 0,
    ];
    assert_eq!(bytes[..44], expected_header);
    assert_eq!(bytes[44..], [1, 0, 0xFE, 0xFF, 0x34, 0x12]);
    // hound, an independent reader, agrees.
    let reader = hound::WavReader::new(bytes.as_slice()).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (8_000, 1, 16)
    );
}

#[test]
fn empty_and_sub_frame_data_is_empty() {
    let limits = ImportLimits::default();
    assert_eq!(
        import_wav(&encode_wav(&[]), &limits),
        Err(WavImportError::Empty)
    );
    let one_byte = wav(&fmt(1, 1, 8_000, 16), &[7]);
    assert_eq!(import_wav(&one_byte, &limits), Err(WavImportError::Empty));
}

#[test]
fn limits_are_enforced_at_their_edges() {
    let one_second = encode_wav(&vec![0; 8_000]);
    let exact = ImportLimits {
        max_input_bytes: one_second.len(),
        max_duration_ms: 1_000,
    };
    assert_eq!(
        import_wav(&one_second, &exact).unwrap().duration_ms(),
        1_000
    );
    let small = ImportLimits {
        max_input_bytes: one_second.len() - 1,
        ..exact
    };
    assert_eq!(
        import_wav(&one_second, &small),
        Err(WavImportError::TooLarge {
            limit_bytes: one_second.len() - 1
        })
    );
    let short = ImportLimits {
        max_duration_ms: 999,
        ..exact
    };
    assert_eq!(
        import_wav(&one_second, &short),
        Err(WavImportError::TooLong { limit_ms: 999 })
    );
}

#[test]
fn eight_khz_stereo_is_averaged_and_rounded() {
    let samples: [i16; 6] = [32_767, 32_767, -32_768, -32_767, 3, -2];
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let prompt = import_wav(&wav(&fmt(1, 2, 8_000, 16), &data), &ImportLimits::default()).unwrap();
    // -32767.5 and 0.5 round away from zero.
    assert_eq!(prompt.samples, [32_767, -32_768, 1]);
    assert_eq!(prompt.source.channels, 2);
}

#[test]
fn streaming_data_size_uses_whole_frames_present() {
    let mut file = encode_wav(&[10, 20, 30]);
    file[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    file[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    file.push(0x55); // half a frame
    let prompt = import_wav(&file, &ImportLimits::default()).unwrap();
    assert_eq!(prompt.samples, [10, 20, 30]);
}

#[test]
fn duration_is_rounded_to_the_millisecond() {
    let prompt = |len| ImportedPrompt {
        samples: vec![0; len],
        source: import_wav(&encode_wav(&[0]), &ImportLimits::default())
            .unwrap()
            .source,
    };
    assert_eq!(prompt(0).duration_ms(), 0);
    assert_eq!(prompt(3).duration_ms(), 0);
    assert_eq!(prompt(4).duration_ms(), 1);
    assert_eq!(prompt(8_000).duration_ms(), 1_000);
    assert_eq!(prompt(8_003).into_prompt().samples().len(), 8_003);
}

#[test]
fn constant_input_stays_constant_at_every_rate() {
    for rate in [4_000, 6_000, 11_025, 44_100, 48_000, 96_001] {
        let frames = rate as usize / 10;
        let data: Vec<u8> = (0..frames).flat_map(|_| 10_000i16.to_le_bytes()).collect();
        let prompt =
            import_wav(&wav(&fmt(1, 1, rate, 16), &data), &ImportLimits::default()).unwrap();
        assert_eq!(prompt.samples.len(), 800, "{rate}");
        assert!(
            middle(&prompt.samples).iter().all(|&s| s == 10_000),
            "{rate}"
        );
    }
}

#[test]
fn pass_band_is_flat_to_3400_hz() {
    for rate in [11_025, 22_050, 44_100, 48_000, 96_001, 192_000] {
        for freq in [300.0, 1_000.0, 3_000.0, 3_400.0] {
            let file = float_tone(rate, freq, 0.2, 0.5);
            let prompt = import_wav(&file, &ImportLimits::default()).unwrap();
            let gain = db(amplitude_at(middle(&prompt.samples), freq) / 16_384.0);
            assert!(gain.abs() < 0.05, "{rate} Hz, {freq} Hz tone: {gain:.3} dB");
        }
    }
}

#[test]
fn stop_band_is_at_least_75_db_down_from_4_khz() {
    for (rate, freqs) in [
        (48_000, [4_050.0, 4_500.0, 6_000.0, 12_000.0, 23_900.0]),
        (44_100, [4_050.0, 5_000.0, 7_900.0, 16_000.0, 22_000.0]),
        (12_000, [4_050.0, 4_400.0, 5_000.0, 5_500.0, 5_950.0]),
        (96_001, [4_050.0, 4_100.0, 9_000.0, 40_000.0, 47_000.0]),
    ] {
        for freq in freqs {
            let file = float_tone(rate, freq, 0.2, 0.9);
            let prompt = import_wav(&file, &ImportLimits::default()).unwrap();
            let level = db(rms(middle(&prompt.samples)) / (0.9 * 32_768.0 / 2f64.sqrt()));
            assert!(level < -75.0, "{rate} Hz, {freq} Hz tone: {level:.1} dB");
        }
    }
}

#[test]
fn upsampling_keeps_the_tone_and_removes_images() {
    // At 6 kHz a 2.5 kHz tone's first image would land at 3.5 kHz.
    let file = float_tone(6_000, 2_500.0, 0.3, 0.5);
    let prompt = import_wav(&file, &ImportLimits::default()).unwrap();
    let samples = middle(&prompt.samples);
    let tone = amplitude_at(samples, 2_500.0);
    assert!(db(tone / 16_384.0).abs() < 0.05, "{tone}");
    let image = amplitude_at(samples, 3_500.0);
    assert!(db(image / tone) < -75.0, "{image}");
    assert_eq!(prompt.samples.len(), 2_400);
}

/// The 24 bytes an extensible `fmt ` adds: cbSize, valid bits, channel mask and a
/// standard sub-format GUID.
fn extensible_tail(valid_bits: u16, sub_tag: u16) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&22u16.to_le_bytes());
    out.extend_from_slice(&valid_bits.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&sub_tag.to_le_bytes());
    out.extend_from_slice(&[
        0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
    ]);
    out
}

/// `fmt ` field values, mostly plausible, and arbitrary data in a valid RIFF skeleton.
fn arbitrary_wav() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![
        4 => prop_oneof![Just(1u16), Just(3), Just(6), Just(7), Just(0xFFFE)],
        1 => any::<u16>(),
    ];
    let channels = prop_oneof![4 => 1u16..=8, 1 => any::<u16>()];
    let rate = prop_oneof![
        Just(8_000u32),
        Just(44_100),
        3_990u32..4_100,
        7_990u32..8_010,
        190_000u32..192_010,
        any::<u32>(),
    ];
    let bits = prop_oneof![
        4 => prop_oneof![Just(8u16), Just(12), Just(16), Just(24), Just(32), Just(64)],
        1 => any::<u16>(),
    ];
    let extra = prop_oneof![
        2 => Just(Vec::new()),
        2 => (any::<u16>(), prop_oneof![Just(1u16), Just(3), Just(6), Just(7)])
            .prop_map(|(valid, sub)| extensible_tail(valid % 40, sub)),
        1 => proptest::collection::vec(any::<u8>(), 0..48),
    ];
    (
        (tag, channels, rate, bits),
        prop_oneof![4 => Just(None), 1 => any::<u16>().prop_map(Some)],
        extra,
        proptest::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(|((tag, channels, rate, bits), align, extra, data)| {
            let mut body = fmt(1, 1, 8_000, 16);
            body[0..2].copy_from_slice(&tag.to_le_bytes());
            body[2..4].copy_from_slice(&channels.to_le_bytes());
            body[4..8].copy_from_slice(&rate.to_le_bytes());
            let align = align.unwrap_or_else(|| channels.wrapping_mul(bits.div_ceil(8)));
            body[12..14].copy_from_slice(&align.to_le_bytes());
            body[14..16].copy_from_slice(&bits.to_le_bytes());
            body.extend_from_slice(&extra);
            wav(&body, &data)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn encode_then_import_is_bit_exact(
        samples in proptest::collection::vec(any::<i16>(), 1..2_000),
    ) {
        let prompt = import_wav(&encode_wav(&samples), &ImportLimits::default()).unwrap();
        prop_assert_eq!(&prompt.samples, &samples);
        prop_assert_eq!(prompt.source, SourceFormat {
            encoding: SourceEncoding::PcmSigned16,
            sample_rate: 8_000,
            channels: 1,
            bits_per_sample: 16,
        });
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = import_wav(&bytes, &ImportLimits::default());
        let mut riff = b"RIFF\0\0\0\0WAVE".to_vec();
        riff.extend_from_slice(&bytes);
        let _ = import_wav(&riff, &ImportLimits::default());
    }

    #[test]
    fn arbitrary_headers_never_panic_and_respect_limits(file in arbitrary_wav()) {
        let limits = ImportLimits { max_input_bytes: 4_096, max_duration_ms: 50 };
        if let Ok(prompt) = import_wav(&file, &limits) {
            prop_assert!(!prompt.samples.is_empty());
            prop_assert!(prompt.samples.len() <= 8 * 50 + 1);
            let rate = prompt.source.sample_rate;
            prop_assert!((MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate));
        }
    }
}
