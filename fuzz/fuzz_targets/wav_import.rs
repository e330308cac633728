//! WAV prompt import fuzz target: arbitrary bytes under small limits must import or fail
//! cleanly; anything imported is 8 kHz mono within the limits, and re-encoding it as a
//! canonical WAV imports back bit for bit.
#![no_main]

use cec_media::wav_import::{
    ImportLimits, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, encode_wav, import_wav,
};
use libfuzzer_sys::fuzz_target;

/// Small limits keep each run fast: at most a quarter second of audio.
const LIMITS: ImportLimits = ImportLimits {
    max_input_bytes: 256 * 1024,
    max_duration_ms: 250,
};

fuzz_target!(|data: &[u8]| {
    let Ok(prompt) = import_wav(data, &LIMITS) else {
        return;
    };
    assert!(!prompt.samples.is_empty());
    // 250 ms is 2000 samples; rounding the tail up adds at most one.
    assert!(prompt.samples.len() <= 2_001, "{}", prompt.samples.len());
    let source = prompt.source;
    assert!((MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&source.sample_rate));
    assert!((1..=MAX_CHANNELS).contains(&source.channels));

    let again = import_wav(&encode_wav(&prompt.samples), &LIMITS)
        .expect("a canonical WAV of an imported prompt imports");
    assert_eq!(again.samples, prompt.samples);
});
