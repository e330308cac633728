//! Pins the in-band DTMF detector: every digit is found once from generated tones, clean
//! and at 20 dB SNR, with start and duration close to the truth; 40 ms tones with 40 ms
//! gaps are all found; a 20 ms blip is not; a 10 ms interruption does not split a digit;
//! and 440 Hz, dial tone (350+440 Hz), white noise, a chirp and a single DTMF frequency
//! are never reported (talk-off).

use std::f64::consts::PI;

use cec_rtp::goertzel::{DetectedDigit, DtmfDetector};

const RATE: f64 = 8000.0;
/// Per-tone amplitude of about -10 dBm0 (16-bit, A-law scale).
const AMPLITUDE: f64 = 7200.0;

fn freqs(digit: char) -> (f64, f64) {
    let keys = ["123A", "456B", "789C", "*0#D"];
    let rows = [697.0, 770.0, 852.0, 941.0];
    let cols = [1209.0, 1336.0, 1477.0, 1633.0];
    for (r, line) in keys.iter().enumerate() {
        if let Some(c) = line.find(digit) {
            return (rows[r], cols[c]);
        }
    }
    panic!("not a digit: {digit}")
}

/// Deterministic white noise (xorshift), uniform in [-1, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// Signal builder in f64, converted to i16 at the end.
#[derive(Default)]
struct Signal(Vec<f64>);

impl Signal {
    fn silence(&mut self, ms: f64) -> &mut Self {
        let n = (ms * RATE / 1000.0) as usize;
        self.0.extend(std::iter::repeat_n(0.0, n));
        self
    }

    fn tones(&mut self, fs: &[f64], ms: f64, amplitude: f64) -> &mut Self {
        let n = (ms * RATE / 1000.0) as usize;
        let start = self.0.len();
        self.0.extend((0..n).map(|i| {
            let t = (start + i) as f64 / RATE;
            fs.iter()
                .map(|f| amplitude * (2.0 * PI * f * t).sin())
                .sum::<f64>()
        }));
        self
    }

    fn digit(&mut self, d: char, ms: f64) -> &mut Self {
        let (r, c) = freqs(d);
        self.tones(&[r, c], ms, AMPLITUDE)
    }

    /// Adds white noise with the given SNR relative to the signal's mean power over the
    /// non-silent samples.
    fn noise_snr(&mut self, snr_db: f64, seed: u64) -> &mut Self {
        let loud: Vec<f64> = self.0.iter().copied().filter(|x| x.abs() > 0.0).collect();
        let power = loud.iter().map(|x| x * x).sum::<f64>() / loud.len().max(1) as f64;
        // Uniform noise in [-a, a) has power a²/3.
        let a = (3.0 * power / 10f64.powf(snr_db / 10.0)).sqrt();
        let mut noise = Noise(seed);
        for x in &mut self.0 {
            *x += a * noise.next();
        }
        self
    }

    fn pcm(&self) -> Vec<i16> {
        self.0
            .iter()
            .map(|x| x.round().clamp(-32768.0, 32767.0) as i16)
            .collect()
    }
}

/// Runs the detector over the signal in 160-sample chunks, plus 100 ms of silence.
fn detect(signal: &Signal) -> Vec<DetectedDigit> {
    let mut pcm = signal.pcm();
    pcm.extend(std::iter::repeat_n(0, 800));
    let mut detector = DtmfDetector::new(8000);
    let mut found = Vec::new();
    for chunk in pcm.chunks(160) {
        detector.feed(chunk);
        while let Some(d) = detector.poll_digit() {
            found.push(d);
        }
    }
    found
}

fn digits(found: &[DetectedDigit]) -> String {
    found.iter().map(|d| d.digit).collect()
}

const ALL: &str = "0123456789*#ABCD";

#[test]
fn every_digit_is_detected_once_with_its_timing() {
    let mut s = Signal::default();
    s.silence(50.0);
    for d in ALL.chars() {
        s.digit(d, 100.0).silence(100.0);
    }
    let found = detect(&s);
    assert_eq!(digits(&found), ALL);
    for (i, d) in found.iter().enumerate() {
        let true_start = 400 + i as u64 * 1600;
        assert!(
            d.start_sample.abs_diff(true_start) <= 110,
            "{d:?} vs start {true_start}"
        );
        assert!(d.duration_samples.abs_diff(800) <= 210, "{d:?}");
    }
}

#[test]
fn every_digit_is_detected_with_20_db_snr_noise() {
    let mut s = Signal::default();
    s.silence(50.0);
    for d in ALL.chars() {
        s.digit(d, 80.0).silence(80.0);
    }
    s.noise_snr(20.0, 0x5EED);
    assert_eq!(digits(&detect(&s)), ALL);
}

#[test]
fn forty_ms_tones_with_forty_ms_gaps_are_all_found_at_any_alignment() {
    for offset_ms in [0.0, 3.0, 6.5, 9.0, 11.0] {
        let mut s = Signal::default();
        s.silence(20.0 + offset_ms);
        for d in "1590#".chars() {
            s.digit(d, 40.0).silence(40.0);
        }
        assert_eq!(digits(&detect(&s)), "1590#", "offset {offset_ms} ms");
    }
}

#[test]
fn the_same_digit_pressed_twice_is_two_digits() {
    let mut s = Signal::default();
    s.silence(20.0)
        .digit('3', 60.0)
        .silence(45.0)
        .digit('3', 60.0);
    assert_eq!(digits(&detect(&s)), "33");
}

#[test]
fn a_short_blip_is_rejected_and_a_short_break_does_not_split() {
    for offset_ms in [0.0, 5.0, 10.0] {
        let mut blip = Signal::default();
        blip.silence(20.0 + offset_ms).digit('5', 20.0);
        assert_eq!(
            digits(&detect(&blip)),
            "",
            "20 ms blip at offset {offset_ms}"
        );

        let mut broken = Signal::default();
        broken
            .silence(20.0 + offset_ms)
            .digit('8', 60.0)
            .silence(10.0)
            .digit('8', 60.0);
        assert_eq!(
            digits(&detect(&broken)),
            "8",
            "10 ms break at offset {offset_ms}"
        );
    }
}

#[test]
fn a_digit_buried_under_louder_other_sound_is_not_a_digit() {
    // Music-like: the pair '5' carries under 40 % of the energy, 500 and 2200 Hz the rest.
    // Level, twist and peaks all pass; only the purity (energy share) check rejects it.
    let (r, c) = freqs('5');
    let mut s = Signal::default();
    s.tones(&[r, c], 300.0, 2000.0);
    let other = Signal({
        let mut o = Signal::default();
        o.tones(&[500.0, 2200.0], 300.0, 2600.0);
        o.0
    });
    for (x, y) in s.0.iter_mut().zip(&other.0) {
        *x += y;
    }
    assert_eq!(digits(&detect(&s)), "");
    // The same pair alone is a digit.
    let mut alone = Signal::default();
    alone.tones(&[r, c], 300.0, 2000.0);
    assert_eq!(digits(&detect(&alone)), "5");
}

#[test]
fn weak_tones_below_the_threshold_are_ignored() {
    let (r, c) = freqs('2');
    let mut s = Signal::default();
    // About -45 dBm0 per tone.
    s.silence(20.0).tones(&[r, c], 200.0, 130.0);
    assert_eq!(digits(&detect(&s)), "");
}

#[test]
fn non_dtmf_signals_do_not_talk_off() {
    let mut a440 = Signal::default();
    a440.tones(&[440.0], 2000.0, 10000.0);
    assert_eq!(digits(&detect(&a440)), "", "440 Hz");

    let mut dial = Signal::default();
    dial.tones(&[350.0, 440.0], 2000.0, 8000.0);
    assert_eq!(digits(&detect(&dial)), "", "dial tone");

    let mut noise = Signal::default();
    noise.silence(2000.0);
    let mut white = Noise(42);
    noise.0.iter_mut().for_each(|x| *x = 12000.0 * white.next());
    assert_eq!(digits(&detect(&noise)), "", "white noise");

    // Linear chirp 300 -> 3400 Hz over 2 s: it crosses every DTMF frequency, one at a time.
    let n = 16000;
    let chirp = Signal(
        (0..n)
            .map(|i| {
                let t = i as f64 / RATE;
                let phase = 2.0 * PI * (300.0 * t + (3400.0 - 300.0) / (2.0 * 2.0) * t * t);
                12000.0 * phase.sin()
            })
            .collect(),
    );
    assert_eq!(digits(&detect(&chirp)), "", "chirp");

    // A single DTMF row frequency, and a row with its second harmonic, are not digits.
    let mut single = Signal::default();
    single.tones(&[770.0], 500.0, 10000.0);
    assert_eq!(digits(&detect(&single)), "", "single tone");
    let mut harmonic = Signal::default();
    harmonic.tones(&[697.0, 1394.0], 500.0, 8000.0);
    assert_eq!(digits(&detect(&harmonic)), "", "697 Hz with harmonic");
}
