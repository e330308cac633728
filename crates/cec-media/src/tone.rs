//! Call-progress tones: one or two sine components switched by an on/off cadence.

use std::f64::consts::TAU;
use std::time::Duration;

use crate::frame::{FRAME_SAMPLES, Frame, SAMPLE_RATE, samples_in};

/// Peak amplitude of each component: about -10 dBm0 for a two-tone sum, well clear of
/// clipping.
const DEFAULT_AMPLITUDE: i16 = 6_000;

/// A tone: up to two frequencies and a repeating on/off cadence.
#[derive(Debug, Clone, PartialEq)]
pub struct Tone {
    /// Component frequencies in Hz (one or two; empty is silence).
    pub frequencies: Vec<f64>,
    /// Peak amplitude of each component.
    pub amplitude: i16,
    /// Alternating on/off durations, starting with "on"; empty means continuous.
    pub cadence: Vec<Duration>,
}

impl Tone {
    /// A continuous tone at `frequency` Hz.
    pub fn continuous(frequency: f64) -> Self {
        Self {
            frequencies: vec![frequency],
            amplitude: DEFAULT_AMPLITUDE,
            cadence: Vec::new(),
        }
    }

    /// European ringback: 425 Hz, 1 s on, 4 s off.
    pub fn ringback_europe() -> Self {
        Self::cadenced(&[425.0], &[1000, 4000])
    }

    /// North American ringback: 440 + 480 Hz, 2 s on, 4 s off.
    pub fn ringback_north_america() -> Self {
        Self::cadenced(&[440.0, 480.0], &[2000, 4000])
    }

    /// European busy: 425 Hz, 0.5 s on, 0.5 s off.
    pub fn busy_europe() -> Self {
        Self::cadenced(&[425.0], &[500, 500])
    }

    /// North American busy: 480 + 620 Hz, 0.5 s on, 0.5 s off.
    pub fn busy_north_america() -> Self {
        Self::cadenced(&[480.0, 620.0], &[500, 500])
    }

    /// A recording/announcement beep: 1 kHz (play it for e.g. 200 ms).
    pub fn beep() -> Self {
        Self::continuous(1000.0)
    }

    /// The DTMF tone pair for `digit` (`0`-`9`, `*`, `#`, `A`-`D`), continuous.
    pub fn dtmf(digit: char) -> Option<Self> {
        const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
        const COLUMNS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
        const KEYS: [&str; 4] = ["123A", "456B", "789C", "*0#D"];
        let upper = digit.to_ascii_uppercase();
        let (row, column) = KEYS
            .iter()
            .enumerate()
            .find_map(|(r, keys)| keys.chars().position(|k| k == upper).map(|c| (r, c)))?;
        Some(Self {
            frequencies: vec![*ROWS.get(row)?, *COLUMNS.get(column)?],
            amplitude: DEFAULT_AMPLITUDE,
            cadence: Vec::new(),
        })
    }

    fn cadenced(frequencies: &[f64], cadence_ms: &[u64]) -> Self {
        Self {
            frequencies: frequencies.to_vec(),
            amplitude: DEFAULT_AMPLITUDE,
            cadence: cadence_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
        }
    }
}

/// Generates a [`Tone`] sample by sample, continuing phase across frames.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    tone: Tone,
    /// Cadence in samples, and its total length.
    cadence: Vec<u64>,
    period: u64,
    /// Samples generated so far.
    position: u64,
}

impl ToneGenerator {
    /// A generator positioned at the start of the tone's first "on" period.
    pub fn new(tone: Tone) -> Self {
        let cadence: Vec<u64> = tone.cadence.iter().map(|d| samples_in(*d)).collect();
        let period = cadence.iter().sum();
        Self {
            tone,
            cadence,
            period,
            position: 0,
        }
    }

    /// The tone being generated.
    pub fn tone(&self) -> &Tone {
        &self.tone
    }

    /// Samples generated so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The next 20 ms.
    pub fn next_frame(&mut self) -> Frame {
        let mut frame = [0; FRAME_SAMPLES];
        self.fill(&mut frame);
        frame
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        for sample in out {
            *sample = self.sample_at(self.position);
            self.position += 1;
        }
    }

    fn is_on(&self, position: u64) -> bool {
        if self.period == 0 {
            return true;
        }
        let mut offset = position % self.period;
        for (index, length) in self.cadence.iter().enumerate() {
            if offset < *length {
                return index % 2 == 0;
            }
            offset -= length;
        }
        false
    }

    fn sample_at(&self, position: u64) -> i16 {
        if !self.is_on(position) {
            return 0;
        }
        // Phase from the absolute position keeps the waveform exact over long tones.
        let t = position as f64 / f64::from(SAMPLE_RATE);
        let amplitude = f64::from(self.tone.amplitude);
        let sum: f64 = self
            .tone
            .frequencies
            .iter()
            .map(|f| amplitude * (TAU * f * t).sin())
            .sum();
        sum.clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(frame: &[i16]) -> f64 {
        frame.iter().map(|s| f64::from(*s).powi(2)).sum()
    }

    #[test]
    fn europe_ringback_cadence_is_one_second_on_four_off() {
        let mut tone = ToneGenerator::new(Tone::ringback_europe());
        let frames: Vec<f64> = (0..500).map(|_| energy(&tone.next_frame())).collect();
        // 50 frames on, 200 frames off, then on again.
        assert!(frames[..50].iter().all(|e| *e > 1e6));
        assert!(frames[50..250].iter().all(|e| *e == 0.0));
        assert!(frames[250..300].iter().all(|e| *e > 1e6));
        assert!(frames[300..].iter().all(|e| *e == 0.0));
    }

    #[test]
    fn continuous_tone_never_stops() {
        let mut tone = ToneGenerator::new(Tone::beep());
        assert!((0..300).all(|_| energy(&tone.next_frame()) > 1e6));
        assert_eq!(tone.position(), 300 * 160);
    }
}
