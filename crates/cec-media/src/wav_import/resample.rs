//! Rate conversion to 8 kHz: a Kaiser-windowed sinc low-pass evaluated as a polyphase
//! filter bank.
//!
//! Output sample `n` sits at input position `n × R / 8000`. Its value is the input
//! convolved with the low-pass kernel centred there, so the filter has no delay. The
//! kernel is tabulated at `phases` fractional positions between two input samples: exact
//! when the rate ratio needs few phases (every common rate), otherwise finely enough
//! that linear interpolation between neighbouring phases costs nothing audible. Each
//! phase is normalised to unit DC gain so a constant input stays constant.

use super::decode::FrameDecoder;
use super::{PROMPT_SAMPLE_RATE, to_i16};

/// Stop-band attenuation the Kaiser design aims for, in dB (the brief asks for 50).
const ATTENUATION_DB: f64 = 80.0;
/// Upper edge of the pass band when downsampling (the telephone band).
const PASS_EDGE_HZ: f64 = 3_400.0;
/// Start of the stop band when downsampling: the output's Nyquist frequency.
const STOP_EDGE_HZ: f64 = 4_000.0;
/// When upsampling, the pass band ends at this fraction of the input's Nyquist frequency.
const UPSAMPLING_PASS_FRACTION: f64 = 0.85;
/// Most coefficients tabulated for exact phases; beyond this the bank interpolates.
const EXACT_BANK_BUDGET: usize = 40_960;
/// Interpolated banks hold `INTERPOLATION_RESOLUTION / input rate` phases (one every
/// 0.39 µs), clamped to this range.
const INTERPOLATION_RESOLUTION: u64 = 2_560_000;
/// Fewest phases of an interpolated bank.
const MIN_INTERPOLATED_PHASES: u64 = 16;
/// Most phases of an interpolated bank.
const MAX_INTERPOLATED_PHASES: u64 = 320;
/// Output samples computed per decoded input window.
const BLOCK_OUTPUTS: usize = 1_024;

/// A fixed-ratio converter from one input rate to [`PROMPT_SAMPLE_RATE`].
#[derive(Debug, Clone)]
pub(super) struct Resampler {
    /// Output samples per `input_step` input samples (the reduced ratio 8000 : R).
    output_step: u64,
    /// Input samples per `output_step` output samples.
    input_step: u64,
    /// Phases in the bank (plus one more row for the next input sample's phase 0).
    phases: u64,
    /// Taps per phase: `2 × half_taps`.
    taps: usize,
    /// Taps on each side of the output position.
    half_taps: usize,
    /// `(phases + 1) × taps` coefficients, row `p` for fractional position `p / phases`.
    bank: Vec<f32>,
}

/// Where an output sample falls: the input sample at or before it and the fraction.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Position {
    /// Index of the input sample at or just before the output position.
    center: i64,
    /// Bank row at or just before the fractional part.
    row: usize,
    /// How far towards the next row, 0.0..1.0 (always 0.0 for exact banks).
    weight: f64,
}

impl Resampler {
    /// Designs the filter for `input_rate` (4 000..=192 000 Hz, not 8 000).
    pub fn new(input_rate: u32) -> Self {
        let rate = u64::from(input_rate.max(1));
        let common = gcd(rate, u64::from(PROMPT_SAMPLE_RATE));
        let output_step = u64::from(PROMPT_SAMPLE_RATE) / common;
        let input_step = rate / common;

        let rate_hz = rate as f64;
        let stop_hz = STOP_EDGE_HZ.min(rate_hz / 2.0);
        let pass_hz = PASS_EDGE_HZ.min(UPSAMPLING_PASS_FRACTION * stop_hz);
        let cutoff_hz = (pass_hz + stop_hz) / 2.0;
        // Kaiser's estimate of the length for this attenuation and transition width.
        let transition = 2.0 * std::f64::consts::PI * (stop_hz - pass_hz) / rate_hz;
        let half_width = (ATTENUATION_DB - 7.95) / (2.285 * transition) / 2.0;
        let half_taps = half_width.ceil() as usize + 1;
        let taps = 2 * half_taps;

        let exact_rows = usize::try_from(output_step + 1).unwrap_or(usize::MAX);
        let phases = if exact_rows.saturating_mul(taps) <= EXACT_BANK_BUDGET {
            output_step
        } else {
            INTERPOLATION_RESOLUTION
                .div_ceil(rate)
                .clamp(MIN_INTERPOLATED_PHASES, MAX_INTERPOLATED_PHASES)
        };

        let kernel = Kernel {
            bandwidth: 2.0 * cutoff_hz / rate_hz,
            half_width,
            beta: kaiser_beta(ATTENUATION_DB),
        };
        let mut bank = Vec::new();
        for row in 0..=phases {
            let fraction = row as f64 / phases as f64;
            let start = bank.len();
            // Tap j multiplies input sample center - (half_taps - 1) + j.
            bank.extend((0..taps).map(|tap| {
                let distance = fraction + half_taps as f64 - 1.0 - tap as f64;
                kernel.at(distance)
            }));
            let row_coefficients = bank.get_mut(start..).unwrap_or_default();
            let sum: f64 = row_coefficients.iter().copied().map(f64::from).sum();
            for coefficient in row_coefficients {
                *coefficient = (f64::from(*coefficient) / sum) as f32;
            }
        }
        Self {
            output_step,
            input_step,
            phases,
            taps,
            half_taps,
            bank,
        }
    }

    /// Appends `output_len` converted samples to `out`.
    pub fn run(&self, source: &FrameDecoder<'_>, output_len: usize, out: &mut Vec<i16>) {
        let lead = i64::try_from(self.half_taps).unwrap_or(i64::MAX) - 1;
        let mut window = Vec::new();
        let mut first = 0;
        while first < output_len {
            let end = first.saturating_add(BLOCK_OUTPUTS).min(output_len);
            // Decode each block's inputs once: taps reach lead before the first centre
            // and lead + 1 past the last.
            let window_start = self.position(first).center.saturating_sub(lead);
            let window_end = self
                .position(end.saturating_sub(1))
                .center
                .saturating_add(lead)
                .saturating_add(2);
            window.clear();
            window.extend((window_start..window_end).map(|index| source.mono_signed(index)));
            for n in first..end {
                let position = self.position(n);
                let offset = position
                    .center
                    .saturating_sub(lead)
                    .saturating_sub(window_start);
                let inputs = usize::try_from(offset)
                    .ok()
                    .and_then(|offset| window.get(offset..offset.saturating_add(self.taps)));
                let value = inputs.map_or(0.0, |inputs| self.filter(inputs, position));
                out.push(to_i16(value));
            }
            first = end;
        }
    }

    /// The input position of output sample `n`.
    fn position(&self, n: usize) -> Position {
        let scaled = n as u128 * u128::from(self.input_step);
        let output_step = u128::from(self.output_step);
        let center = i64::try_from(scaled / output_step).unwrap_or(i64::MAX);
        let remainder = scaled % output_step;
        let (row, weight) = if self.phases == self.output_step {
            (remainder, 0.0)
        } else {
            let spread = remainder * u128::from(self.phases);
            let weight = (spread % output_step) as f64 / output_step as f64;
            (spread / output_step, weight)
        };
        Position {
            center,
            row: usize::try_from(row).unwrap_or(usize::MAX),
            weight,
        }
    }

    /// One output value from `taps` inputs.
    fn filter(&self, inputs: &[f64], position: Position) -> f64 {
        let value = self.dot(inputs, position.row);
        if position.weight == 0.0 {
            value
        } else {
            let next = self.dot(inputs, position.row.saturating_add(1));
            value + position.weight * (next - value)
        }
    }

    /// Inputs times one bank row.
    fn dot(&self, inputs: &[f64], row: usize) -> f64 {
        let start = row.saturating_mul(self.taps);
        let coefficients = self
            .bank
            .get(start..start.saturating_add(self.taps))
            .unwrap_or_default();
        inputs
            .iter()
            .zip(coefficients)
            .map(|(input, coefficient)| input * f64::from(*coefficient))
            .sum()
    }
}

/// The windowed-sinc low-pass, as a function of distance in input samples.
#[derive(Debug, Clone, Copy)]
struct Kernel {
    /// Twice the cutoff over the input rate (1.0 would be the input's Nyquist frequency).
    bandwidth: f64,
    /// Distance at which the window reaches zero.
    half_width: f64,
    /// Kaiser window shape.
    beta: f64,
}

impl Kernel {
    fn at(&self, distance: f64) -> f32 {
        let ratio = distance / self.half_width;
        if ratio.abs() >= 1.0 {
            return 0.0;
        }
        let window = bessel_i0(self.beta * (1.0 - ratio * ratio).sqrt()) / bessel_i0(self.beta);
        let x = std::f64::consts::PI * self.bandwidth * distance;
        let sinc = if x == 0.0 { 1.0 } else { x.sin() / x };
        (self.bandwidth * sinc * window) as f32
    }
}

/// Kaiser's β for a stop-band attenuation in dB (valid above 50 dB).
fn kaiser_beta(attenuation_db: f64) -> f64 {
    0.1102 * (attenuation_db - 8.7)
}

/// Modified Bessel function of the first kind, order 0, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let half = x / 2.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..100 {
        let factor = half / f64::from(k);
        term *= factor * factor;
        sum += term;
        if term < sum * 1e-16 {
            break;
        }
    }
    sum
}

/// Greatest common divisor.
fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_rates_get_exact_small_banks() {
        for (rate, phases) in [(48_000, 1), (44_100, 80), (11_025, 320), (16_000, 1)] {
            let resampler = Resampler::new(rate);
            assert_eq!(resampler.phases, phases, "{rate}");
            assert_eq!(resampler.bank.len(), (phases as usize + 1) * resampler.taps);
        }
        // An awkward rate interpolates within the budget.
        let odd = Resampler::new(191_999);
        assert_eq!(odd.phases, 16);
        assert!(odd.bank.len() <= EXACT_BANK_BUDGET);
    }

    #[test]
    fn positions_follow_the_rate_ratio() {
        let resampler = Resampler::new(44_100);
        // 44100 / 8000 = 441 / 80: output 80 lands exactly on input 441.
        let at = resampler.position(80);
        assert_eq!((at.center, at.row, at.weight), (441, 0, 0.0));
        let at = resampler.position(1);
        assert_eq!((at.center, at.row), (5, 41));
        let odd = Resampler::new(8_001);
        let at = odd.position(4_000);
        // 4000 × 8001 / 8000 = 4000.5: halfway, between rows 160 and 161 of 320.
        assert_eq!((at.center, at.row, at.weight), (4_000, 160, 0.0));
    }

    #[test]
    fn rows_have_unit_gain_and_are_symmetric() {
        let resampler = Resampler::new(22_050);
        let taps = resampler.taps;
        for row in resampler.bank.chunks_exact(taps) {
            let sum: f64 = row.iter().copied().map(f64::from).sum();
            assert!((sum - 1.0).abs() < 1e-5, "{sum}");
        }
        // Phase 0 is centred on tap half_taps - 1, so it mirrors around it.
        let row0 = &resampler.bank[..taps];
        let center = resampler.half_taps - 1;
        for offset in 1..center {
            assert!((row0[center - offset] - row0[center + offset]).abs() < 1e-7);
        }
    }

    #[test]
    fn bessel_and_gcd_match_known_values() {
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_4).abs() < 1e-12);
        assert!((bessel_i0(5.0) - 27.239_871_823_604_44).abs() < 1e-9);
        assert_eq!(gcd(44_100, 8_000), 100);
        assert_eq!(gcd(8_001, 8_000), 1);
    }
}
