use super::*;

fn tones(fs: &[(f64, f64)], n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            fs.iter()
                .map(|(f, a)| a * (2.0 * PI * f * t).sin())
                .sum::<f64>()
                .round() as i16
        })
        .collect()
}

#[test]
fn goertzel_power_measures_a_sine_as_half_its_amplitude_squared() {
    let block: Vec<f64> = tones(&[(941.0, 1000.0)], 102)
        .into_iter()
        .map(f64::from)
        .collect();
    let on = goertzel_power(&block, 2.0 * (2.0 * PI * 941.0 / 8000.0).cos());
    assert!((on / 500_000.0 - 1.0).abs() < 0.05, "{on}");
    let off = goertzel_power(&block, 2.0 * (2.0 * PI * 1633.0 / 8000.0).cos());
    assert!(off < on / 100.0, "{off}");
}

#[test]
fn every_keypad_pair_classifies_as_its_digit() {
    let mut d = DtmfDetector::new(8000);
    for (r, row) in KEYPAD.iter().enumerate() {
        for (c, &digit) in row.iter().enumerate() {
            let pcm = tones(
                &[(ROW_FREQS[r], 5000.0), (COL_FREQS[c], 5000.0)],
                d.block_len,
            );
            d.block = pcm.into_iter().map(f64::from).collect();
            let (got, purity) = d.classify().unwrap();
            assert_eq!(got, digit);
            assert!(purity > 0.9, "{digit}: {purity}");
        }
    }
}

#[test]
fn twist_limits_are_enforced() {
    let mut d = DtmfDetector::new(8000);
    // Column 6 dB weaker than the row: within the 8 dB normal twist.
    d.block = tones(&[(697.0, 8000.0), (1209.0, 4000.0)], 102)
        .into_iter()
        .map(f64::from)
        .collect();
    assert_eq!(d.classify().map(|h| h.0), Some('1'));
    // Column 10 dB weaker: too much.
    d.block = tones(&[(697.0, 8000.0), (1209.0, 2530.0)], 102)
        .into_iter()
        .map(f64::from)
        .collect();
    assert_eq!(d.classify(), None);
    // Column 6 dB stronger: beyond the 4 dB reverse twist.
    d.block = tones(&[(697.0, 4000.0), (1209.0, 8000.0)], 102)
        .into_iter()
        .map(f64::from)
        .collect();
    assert_eq!(d.classify(), None);
}

#[test]
fn chunking_does_not_change_the_result_and_finish_flushes() {
    let mut pcm = vec![0i16; 300];
    pcm.extend(tones(&[(852.0, 6000.0), (1477.0, 6000.0)], 800));
    let mut whole = DtmfDetector::new(8000);
    whole.feed(&pcm);
    assert_eq!(whole.poll_digit(), None, "still sounding");
    whole.finish();
    let a = whole.poll_digit().unwrap();
    assert_eq!(a.digit, '9');
    let mut bits = DtmfDetector::new(8000);
    for chunk in pcm.chunks(7) {
        bits.feed(chunk);
    }
    bits.finish();
    assert_eq!(bits.poll_digit(), Some(a));
    assert_eq!(bits.poll_digit(), None);
}

#[test]
fn other_sample_rates_scale_the_block() {
    let d = DtmfDetector::new(16000);
    assert_eq!(d.block_len, 204);
    let mut d = d;
    let pcm: Vec<i16> = (0..3200)
        .map(|i| {
            let t = f64::from(i) / 16000.0;
            (6000.0 * ((2.0 * PI * 941.0 * t).sin() + (2.0 * PI * 1336.0 * t).sin())) as i16
        })
        .collect();
    d.feed(&pcm);
    d.finish();
    assert_eq!(d.poll_digit().map(|x| x.digit), Some('0'));
}
