//! The unit of audio everywhere in this crate: 20 ms of 8 kHz mono linear PCM.

use std::time::Duration;

/// Sample rate of every PCM frame (G.711 narrowband).
pub const SAMPLE_RATE: u32 = 8000;

/// Samples in one frame: 20 ms at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// RTP timestamp units covered by one frame (the 8 kHz clock advances one unit per sample).
pub const FRAME_TIMESTAMP_STEP: u32 = 160;

/// Duration of one frame.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// 20 ms of 8 kHz mono 16-bit PCM.
pub type Frame = [i16; FRAME_SAMPLES];

/// A frame of digital silence.
pub const SILENCE: Frame = [0; FRAME_SAMPLES];

/// Whole frames that fit in `duration` (rounded down).
pub fn frames_in(duration: Duration) -> u64 {
    let frame_nanos = FRAME_DURATION.as_nanos();
    u64::try_from(duration.as_nanos() / frame_nanos).unwrap_or(u64::MAX)
}

/// Samples at [`SAMPLE_RATE`] that fit in `duration` (rounded down).
pub fn samples_in(duration: Duration) -> u64 {
    let samples = duration.as_nanos() * u128::from(SAMPLE_RATE) / 1_000_000_000;
    u64::try_from(samples).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_and_sample_counts() {
        assert_eq!(frames_in(Duration::from_millis(59)), 2);
        assert_eq!(frames_in(Duration::from_secs(1)), 50);
        assert_eq!(samples_in(Duration::from_millis(20)), 160);
        assert_eq!(samples_in(Duration::from_micros(1_125)), 9);
    }
}
