//! Cross-checks the G.711 codec against `sox`, an independent implementation: every 16-bit
//! sample value is encoded by sox to A-law and µ-law `.raw` and compared byte for byte
//! with our encoder, and all 256 codes of each law are decoded by sox and compared sample
//! for sample with our decoder. Dithering is off (`-D`) so sox quantises deterministically.
//! sox is a test requirement (installed by the test script), so a missing sox fails.

use std::path::PathBuf;
use std::process::Command;

use cec_rtp::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cec-rtp-sox-{}-{name}", std::process::id()))
}

fn sox(args: &[&str]) {
    let status = Command::new("sox")
        .args(args)
        .status()
        .expect("sox must be installed (apt-get install sox)");
    assert!(status.success(), "sox {args:?} failed: {status}");
}

/// Encodes all 65536 samples with sox as `encoding` and returns the codes.
fn sox_encode(encoding: &str) -> Vec<u8> {
    let input = scratch(&format!("all-{encoding}.s16"));
    let output = scratch(&format!("all-{encoding}.raw"));
    let bytes: Vec<u8> = (i16::MIN..=i16::MAX).flat_map(i16::to_le_bytes).collect();
    std::fs::write(&input, bytes).unwrap();
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    sox(&[
        "-D", "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", "-L", i,
    ]
    .into_iter()
    .chain(["-t", "raw", "-e", encoding, "-b", "8", o])
    .collect::<Vec<_>>());
    let codes = std::fs::read(&output).unwrap();
    let _ = std::fs::remove_file(input);
    let _ = std::fs::remove_file(output);
    codes
}

/// Decodes all 256 codes with sox from `encoding` and returns the samples.
fn sox_decode(encoding: &str) -> Vec<i16> {
    let input = scratch(&format!("codes-{encoding}.raw"));
    let output = scratch(&format!("codes-{encoding}.s16"));
    std::fs::write(&input, (0..=255u8).collect::<Vec<_>>()).unwrap();
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    sox(&[
        "-D", "-t", "raw", "-r", "8000", "-e", encoding, "-b", "8", "-c", "1", i,
    ]
    .into_iter()
    .chain(["-t", "raw", "-e", "signed", "-b", "16", "-L", o])
    .collect::<Vec<_>>());
    let bytes = std::fs::read(&output).unwrap();
    let _ = std::fs::remove_file(input);
    let _ = std::fs::remove_file(output);
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

#[test]
fn alaw_encoder_matches_sox_for_every_sample() {
    let expected = sox_encode("a-law");
    assert_eq!(expected.len(), 65536);
    for (sample, want) in (i16::MIN..=i16::MAX).zip(expected) {
        assert_eq!(alaw_encode(sample), want, "sample {sample}");
    }
}

#[test]
fn ulaw_encoder_matches_sox_for_every_sample() {
    let expected = sox_encode("u-law");
    assert_eq!(expected.len(), 65536);
    for (sample, want) in (i16::MIN..=i16::MAX).zip(expected) {
        assert_eq!(ulaw_encode(sample), want, "sample {sample}");
    }
}

#[test]
fn decoders_match_sox_for_every_code() {
    let alaw = sox_decode("a-law");
    let ulaw = sox_decode("u-law");
    assert_eq!((alaw.len(), ulaw.len()), (256, 256));
    for code in 0..=255u8 {
        assert_eq!(
            alaw_decode(code),
            alaw[usize::from(code)],
            "A-law {code:#04x}"
        );
        assert_eq!(
            ulaw_decode(code),
            ulaw[usize::from(code)],
            "µ-law {code:#04x}"
        );
    }
}
