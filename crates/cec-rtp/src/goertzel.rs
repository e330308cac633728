//! In-band DTMF detection (Goertzel) for peers that send tones instead of RFC 4733 events.
//!
//! The signal is cut into blocks of 12.75 ms (102 samples at 8 kHz). For each block the
//! Goertzel algorithm measures the power at the four row and four column frequencies, and
//! the block is a "hit" for a digit when all of these hold:
//!
//! - energy: the strongest row and column each reach the minimum level (-30 dBm0 by
//!   default);
//! - twist: the column is at most 8 dB weaker (normal twist) or 4 dB stronger (reverse
//!   twist) than the row;
//! - relative peak: every other row (column) is at least 6 dB below the strongest one;
//! - purity: the two tones carry at least half of the block's energy. This is the talk-off
//!   guard: speech, music, noise and harmonics (including second harmonics of the tones)
//!   put energy elsewhere;
//!
//! A digit starts with two consecutive hits and ends after two consecutive blocks without
//! it, so a single spoiled block (e.g. a 10 ms interruption) does not split a digit and a
//! 40 ms gap always separates two. The tone's length is estimated from how much of each hit
//! block the tones filled; digits shorter than about 24 ms are dropped, and any tone of
//! 40 ms or more is reported, once, when it ends.

use std::collections::VecDeque;
use std::f64::consts::PI;

const ROW_FREQS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const COL_FREQS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Block length in seconds (102 samples at 8 kHz).
const BLOCK_SECONDS: f64 = 0.01275;
/// Mean square of a 0 dBm0 sine in 16-bit PCM (G.711: +3.14 dBm0 at full scale).
const ZERO_DBM0_POWER: f64 = 2.594e8;
/// Default minimum level of each tone.
const DEFAULT_MIN_LEVEL_DBM0: f64 = -30.0;
/// Column may be this much weaker than the row (power ratio of 8 dB).
const NORMAL_TWIST: f64 = 6.31;
/// Column may be this much stronger than the row (power ratio of 4 dB).
const REVERSE_TWIST: f64 = 2.51;
/// Other rows/columns must be this much weaker than the strongest (6 dB).
const RELATIVE_PEAK: f64 = 3.98;
/// Share of the block energy the two tones must carry.
const MIN_PURITY: f64 = 0.5;
/// Consecutive hits that start a digit.
const HITS_TO_START: u32 = 2;
/// Consecutive non-hits that end a digit.
const MISSES_TO_END: u32 = 2;
/// Shortest reported tone in seconds (between the 20 ms that must be rejected and the
/// 40 ms that must be accepted).
const MIN_TONE_SECONDS: f64 = 0.024;

/// A detected key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectedDigit {
    /// The digit (`0`-`9`, `*`, `#`, `A`-`D`).
    pub digit: char,
    /// Index of the first sample of the tone in the stream fed so far (block accuracy).
    pub start_sample: u64,
    /// Estimated tone length in samples.
    pub duration_samples: u64,
}

#[derive(Debug, Clone, Copy)]
struct Tone {
    digit: char,
    start: f64,
    hits: u32,
    misses: u32,
    // Sum over hit blocks of the fraction of the block the tone filled, in samples.
    filled: f64,
}

/// Streaming DTMF detector; feed 16-bit PCM, poll digits.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    block_len: usize,
    row_coeffs: [f64; 4],
    col_coeffs: [f64; 4],
    min_tone_power: f64,
    min_tone_samples: f64,
    block: Vec<f64>,
    block_start: u64,
    tone: Option<Tone>,
    ready: VecDeque<DetectedDigit>,
}

impl DtmfDetector {
    /// A detector for PCM at `sample_rate` Hz (8000 for G.711).
    pub fn new(sample_rate: u32) -> Self {
        let rate = f64::from(sample_rate.max(4000));
        let coeff = |f: f64| 2.0 * (2.0 * PI * f / rate).cos();
        // At least 8 samples even at absurd rates.
        let block_len = ((rate * BLOCK_SECONDS).round() as usize).max(8);
        Self {
            block_len,
            row_coeffs: ROW_FREQS.map(coeff),
            col_coeffs: COL_FREQS.map(coeff),
            min_tone_power: level_to_power(DEFAULT_MIN_LEVEL_DBM0),
            min_tone_samples: rate * MIN_TONE_SECONDS,
            block: Vec::with_capacity(block_len),
            block_start: 0,
            tone: None,
            ready: VecDeque::new(),
        }
    }

    /// Sets the minimum level of each of the two tones, in dBm0 (default -30).
    pub fn with_min_level_dbm0(mut self, dbm0: f64) -> Self {
        self.min_tone_power = level_to_power(dbm0);
        self
    }

    /// Feeds samples (any chunking).
    pub fn feed(&mut self, samples: &[i16]) {
        for &s in samples {
            self.block.push(f64::from(s));
            if self.block.len() == self.block_len {
                self.process_block();
                self.block.clear();
                self.block_start += self.block_len as u64;
            }
        }
    }

    /// Ends the stream: a tone still sounding is reported now if long enough.
    pub fn finish(&mut self) {
        self.end_tone();
    }

    /// The next detected digit.
    pub fn poll_digit(&mut self) -> Option<DetectedDigit> {
        self.ready.pop_front()
    }

    fn process_block(&mut self) {
        let hit = self.classify();
        let block_start = self.block_start as f64;
        let n = self.block_len as f64;
        match (&mut self.tone, hit) {
            (Some(tone), Some((digit, fill))) if tone.digit == digit => {
                if tone.hits < HITS_TO_START {
                    tone.hits += 1;
                }
                tone.misses = 0;
                tone.filled += fill * n;
            }
            (Some(tone), other) if tone.hits >= HITS_TO_START => {
                tone.misses += 1;
                if tone.misses >= MISSES_TO_END {
                    self.end_tone();
                    self.begin(other, block_start, n);
                }
            }
            (_, other) => {
                // An unconfirmed candidate that was not repeated is dropped.
                self.tone = None;
                self.begin(other, block_start, n);
            }
        }
    }

    fn begin(&mut self, hit: Option<(char, f64)>, block_start: f64, n: f64) {
        if let Some((digit, fill)) = hit {
            // The tone filled the end of its first block.
            let start = block_start + (1.0 - fill) * n;
            self.tone = Some(Tone {
                digit,
                start,
                hits: 1,
                misses: 0,
                filled: fill * n,
            });
        }
    }

    fn end_tone(&mut self) {
        let Some(tone) = self.tone.take() else {
            return;
        };
        if tone.hits >= HITS_TO_START && tone.filled >= self.min_tone_samples {
            self.ready.push_back(DetectedDigit {
                digit: tone.digit,
                start_sample: tone.start.max(0.0).round() as u64,
                duration_samples: tone.filled.round() as u64,
            });
        }
    }

    /// The digit this block is a hit for, and the share of the block's energy its tones
    /// carry (about the fraction of the block the tone filled).
    fn classify(&self) -> Option<(char, f64)> {
        let n = self.block.len() as f64;
        let energy = self.block.iter().map(|x| x * x).sum::<f64>() / n;
        if energy <= 0.0 {
            return None;
        }
        let rows = self.row_coeffs.map(|c| goertzel_power(&self.block, c));
        let cols = self.col_coeffs.map(|c| goertzel_power(&self.block, c));
        let (row, row_power) = strongest(&rows);
        let (col, col_power) = strongest(&cols);
        let loud_enough = row_power >= self.min_tone_power && col_power >= self.min_tone_power;
        let twist_ok =
            col_power * NORMAL_TWIST >= row_power && row_power * REVERSE_TWIST >= col_power;
        let peaks_ok = dominates(&rows, row) && dominates(&cols, col);
        let purity = (row_power + col_power) / energy;
        if loud_enough && twist_ok && peaks_ok && purity >= MIN_PURITY {
            Some((KEYPAD[row][col], purity.min(1.0)))
        } else {
            None
        }
    }
}

/// Power of one frequency in the block, scaled so a sine of amplitude A gives A²/2.
fn goertzel_power(block: &[f64], coeff: f64) -> f64 {
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in block {
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let n = block.len() as f64;
    2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
}

fn strongest(powers: &[f64; 4]) -> (usize, f64) {
    let mut best = (0, powers[0]);
    for (i, &p) in powers.iter().enumerate().skip(1) {
        if p > best.1 {
            best = (i, p);
        }
    }
    best
}

fn dominates(powers: &[f64; 4], winner: usize) -> bool {
    let peak = powers[winner];
    powers
        .iter()
        .enumerate()
        .all(|(i, &p)| i == winner || p * RELATIVE_PEAK <= peak)
}

fn level_to_power(dbm0: f64) -> f64 {
    ZERO_DBM0_POWER * 10f64.powf(dbm0 / 10.0)
}

#[cfg(test)]
mod tests;
