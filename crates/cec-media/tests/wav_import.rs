//! Prompt import against files written by `sox`, an independent WAV writer: a 1 kHz sine
//! in every format administrators upload (8 to 48 kHz, 8/16/24-bit PCM, float, A-law,
//! µ-law, extensible multichannel, a streaming header) imports to 8 kHz mono with the
//! right duration, the tone dominant and its level kept; a 6 kHz tone at 48 kHz does
//! not alias into the telephone band; other files get the error the administrator needs.
//!
//! `sox` is installed by `scripts/install-deps`; without it these tests fail, they do not
//! skip.

use std::f64::consts::PI;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cec_media::wav_import::{
    ImportLimits, ImportedPrompt, PROMPT_SAMPLE_RATE, SourceEncoding, SourceFormat, WavImportError,
    encode_wav, import_wav,
};

/// Peak level of every generated tone, as a fraction of full scale (`sox vol`).
const TONE_LEVEL: f64 = 0.5;

/// A scratch directory for this test binary's files.
fn scratch_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wav_import");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs sox, panicking with the install hint when it is missing or fails.
fn run_sox(args: &[&str]) {
    let output = Command::new("sox")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("sox is required (run scripts/install-deps): {e}"));
    assert!(
        output.status.success(),
        "sox {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A one-second sine at `freq` Hz written by sox with `format` options, as file bytes.
fn sox_tone(name: &str, freq: u32, format: &[&str]) -> Vec<u8> {
    let path = scratch_dir().join(format!("{name}.wav"));
    let path_arg = path.to_str().unwrap();
    let freq_arg = freq.to_string();
    let mut args = vec!["-D", "-n"];
    args.extend_from_slice(format);
    args.extend_from_slice(&[path_arg, "synth", "1", "sine", &freq_arg, "vol", "0.5"]);
    run_sox(&args);
    std::fs::read(&path).unwrap()
}

fn import(bytes: &[u8]) -> ImportedPrompt {
    import_wav(bytes, &ImportLimits::default()).unwrap()
}

/// The prompt without 25 ms at each end (filter edges), cut to whole 1 kHz periods.
fn steady(samples: &[i16]) -> &[i16] {
    let inner = &samples[200..samples.len() - 200];
    &inner[..inner.len() / 8 * 8]
}

/// Goertzel: the peak amplitude of the `freq` Hz component of 8 kHz `samples`.
fn goertzel_amplitude(samples: &[i16], freq: f64) -> f64 {
    let coefficient = 2.0 * (2.0 * PI * freq / f64::from(PROMPT_SAMPLE_RATE)).cos();
    let (mut previous, mut before) = (0.0, 0.0);
    for &sample in samples {
        let current = f64::from(sample) + coefficient * previous - before;
        before = previous;
        previous = current;
    }
    let power = previous * previous + before * before - coefficient * previous * before;
    2.0 * power.sqrt() / samples.len() as f64
}

fn rms(samples: &[i16]) -> f64 {
    let energy: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (energy / samples.len() as f64).sqrt()
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

/// Duration, tone dominance and level of an imported one-second 1 kHz sine.
fn assert_clean_1khz(name: &str, prompt: &ImportedPrompt) {
    let duration = prompt.samples.len() as f64 * 1000.0 / f64::from(PROMPT_SAMPLE_RATE);
    assert!((duration - 1000.0).abs() <= 1.0, "{name}: {duration} ms");
    assert!(prompt.duration_ms().abs_diff(1000) <= 1, "{name}");

    let samples = steady(&prompt.samples);
    let amplitude = goertzel_amplitude(samples, 1_000.0);
    // A pure sine's RMS is its amplitude over √2; everything else is noise or distortion.
    let tone_share = (amplitude / 2f64.sqrt() / rms(samples)).powi(2);
    assert!(
        tone_share > 0.99,
        "{name}: 1 kHz holds only {tone_share:.4} of the power"
    );
    let level = db(amplitude / (TONE_LEVEL * 32_768.0));
    assert!(level.abs() < 0.5, "{name}: level off by {level:.2} dB");
}

/// One sox output format and what the import must report for it.
struct Case {
    name: &'static str,
    sox_format: &'static [&'static str],
    expected: SourceFormat,
}

const fn case(
    name: &'static str,
    sox_format: &'static [&'static str],
    encoding: SourceEncoding,
    sample_rate: u32,
    channels: u16,
    bits_per_sample: u16,
) -> Case {
    Case {
        name,
        sox_format,
        expected: SourceFormat {
            encoding,
            sample_rate,
            channels,
            bits_per_sample,
        },
    }
}

#[test]
fn every_common_format_imports_as_a_clean_1khz_tone() {
    use SourceEncoding as E;
    let cases = [
        case(
            "pcm16_8k",
            &["-r", "8000", "-c", "1", "-b", "16"],
            E::PcmSigned16,
            8_000,
            1,
            16,
        ),
        case(
            "pcm16_16k_stereo",
            &["-r", "16000", "-c", "2", "-b", "16"],
            E::PcmSigned16,
            16_000,
            2,
            16,
        ),
        case(
            "pcm24_44k1",
            &["-r", "44100", "-c", "1", "-b", "24"],
            E::PcmSigned24,
            44_100,
            1,
            24,
        ),
        case(
            "float32_48k",
            &["-r", "48000", "-c", "1", "-b", "32", "-e", "floating-point"],
            E::Float32,
            48_000,
            1,
            32,
        ),
        case(
            "u8_22k05",
            &[
                "-r",
                "22050",
                "-c",
                "1",
                "-b",
                "8",
                "-e",
                "unsigned-integer",
            ],
            E::PcmUnsigned8,
            22_050,
            1,
            8,
        ),
        case(
            "alaw_8k",
            &["-r", "8000", "-c", "1", "-e", "a-law"],
            E::ALaw,
            8_000,
            1,
            8,
        ),
        case(
            "ulaw_8k",
            &["-r", "8000", "-c", "1", "-e", "u-law"],
            E::MuLaw,
            8_000,
            1,
            8,
        ),
        case(
            "extensible_11k025_quad",
            &["-r", "11025", "-c", "4", "-b", "16"],
            E::PcmSigned16,
            11_025,
            4,
            16,
        ),
    ];
    for Case {
        name,
        sox_format,
        expected,
    } in cases
    {
        let prompt = import(&sox_tone(name, 1_000, sox_format));
        assert_eq!(prompt.source, expected, "{name}");
        assert_clean_1khz(name, &prompt);
    }
}

#[test]
fn sox_writes_the_header_variants_we_claim_to_cover() {
    let format_tag = |bytes: &[u8]| u16::from_le_bytes([bytes[20], bytes[21]]);
    let extensible = sox_tone("probe_ext", 1_000, &["-r", "11025", "-c", "4", "-b", "16"]);
    assert_eq!(format_tag(&extensible), 0xFFFE);
    let deep = sox_tone("probe_24", 1_000, &["-r", "44100", "-c", "1", "-b", "24"]);
    assert_eq!(format_tag(&deep), 0xFFFE);
    // A-law comes with an 18-byte fmt and a `fact` chunk before `data`.
    let alaw = sox_tone(
        "probe_alaw",
        1_000,
        &["-r", "8000", "-c", "1", "-e", "a-law"],
    );
    assert_eq!((format_tag(&alaw), &alaw[38..42]), (6, b"fact".as_slice()));
}

#[test]
fn eight_khz_16_bit_mono_passes_through_bit_exact() {
    let bytes = sox_tone("passthrough", 1_000, &["-r", "8000", "-c", "1", "-b", "16"]);
    let prompt = import(&bytes);
    // sox writes the canonical 44-byte header for this format.
    let expected: Vec<i16> = bytes[44..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(prompt.samples, expected);
    assert_eq!(encode_wav(&prompt.samples), bytes);
}

#[test]
fn streaming_header_with_oversized_data_length_is_read_to_the_end() {
    let raw_path = scratch_dir().join("stream.raw");
    let raw_arg = raw_path.to_str().unwrap();
    run_sox(
        &[
            "-D",
            "-n",
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            raw_arg,
        ]
        .into_iter()
        .chain(["synth", "1", "sine", "1000", "vol", "0.5"])
        .collect::<Vec<_>>(),
    );
    let raw = std::fs::read(&raw_path).unwrap();
    // Through a pipe sox cannot know the length, so it writes a huge placeholder.
    let mut child = Command::new("sox")
        .args([
            "-V1",
            "-t",
            "raw",
            "-r",
            "8000",
            "-e",
            "signed-integer",
            "-b",
            "16",
            "-c",
            "1",
        ])
        .args(["-", "-t", "wav", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("sox is required (run scripts/install-deps): {e}"));
    child.stdin.take().unwrap().write_all(&raw).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let bytes = output.stdout;
    let declared = u32::from_le_bytes([bytes[40], bytes[41], bytes[42], bytes[43]]);
    assert!(declared as usize > bytes.len(), "declared {declared}");

    let prompt = import(&bytes);
    assert_eq!(prompt.samples.len(), raw.len() / 2);
    assert_clean_1khz("stream", &prompt);
}

#[test]
fn a_6khz_tone_at_48khz_does_not_alias_into_the_band() {
    let float_48k = ["-r", "48000", "-c", "1", "-b", "32", "-e", "floating-point"];
    let wanted = import(&sox_tone("alias_1k", 1_000, &float_48k));
    let unwanted = import(&sox_tone("alias_6k", 6_000, &float_48k));
    let reference = rms(steady(&wanted.samples));
    let leaked = rms(steady(&unwanted.samples));
    // 6 kHz would fold to 2 kHz; without a filter it would come out at full level.
    assert!(
        db(leaked / reference) <= -50.0,
        "6 kHz leaks at {:.1} dB",
        db(leaked / reference)
    );
}

#[test]
fn other_files_get_the_error_an_administrator_can_act_on() {
    let limits = ImportLimits::default();
    // An MP3 file: ID3 tag, then a frame sync.
    let mut mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    mp3.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64, 0x00, 0x00, 0x00, 0x00]);
    assert_eq!(import_wav(&mp3, &limits), Err(WavImportError::NotRiffWave));
    let text = b"Welcome to OpenCEC. Please hold.\n".repeat(4);
    let error = import_wav(&text, &limits).unwrap_err();
    assert_eq!(error, WavImportError::NotRiffWave);
    assert_eq!(
        error.to_string(),
        "the file is not a WAV file (no RIFF/WAVE header)"
    );

    // Another container sox writes: AIFF.
    let aiff_path = scratch_dir().join("tone.aiff");
    run_sox(
        &[
            "-D",
            "-n",
            "-r",
            "8000",
            "-c",
            "1",
            aiff_path.to_str().unwrap(),
        ]
        .into_iter()
        .chain(["synth", "0.1", "sine", "1000"])
        .collect::<Vec<_>>(),
    );
    let aiff = std::fs::read(&aiff_path).unwrap();
    assert_eq!(import_wav(&aiff, &limits), Err(WavImportError::NotRiffWave));

    // A real WAV cut inside its header.
    let whole = sox_tone("cut", 1_000, &["-r", "44100", "-c", "1", "-b", "24"]);
    for cut in [8, 20, 30, 50, 64] {
        assert_eq!(
            import_wav(&whole[..cut], &limits),
            Err(WavImportError::Truncated),
            "cut at {cut}"
        );
    }

    // MP3 inside a RIFF/WAVE wrapper (format tag 0x55).
    let mut wrapped = whole[..80].to_vec();
    wrapped[20..22].copy_from_slice(&0x55u16.to_le_bytes());
    let error = import_wav(&wrapped, &limits).unwrap_err();
    assert_eq!(
        error,
        WavImportError::UnsupportedEncoding { format_tag: 85 }
    );
    assert_eq!(
        error.to_string(),
        "WAV encoding 85 (MP3) is not supported; use PCM, A-law or µ-law"
    );
}
