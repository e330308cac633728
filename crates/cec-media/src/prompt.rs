//! Audio prompts: 8 kHz mono 16-bit PCM loaded from WAV.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use crate::frame::SAMPLE_RATE;

/// Longest prompt accepted (one hour of hold music), so a bad upload cannot exhaust memory.
pub const MAX_PROMPT_SAMPLES: usize = SAMPLE_RATE as usize * 3600;

/// Why a WAV file cannot be used as a prompt.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    /// Not a readable WAV file.
    #[error("cannot read WAV prompt: {0}")]
    Wav(#[from] hound::Error),
    /// A WAV file in a format we do not play; the storage layer converts on upload.
    #[error(
        "prompt must be 8000 Hz mono 16-bit PCM WAV, got {sample_rate} Hz, {channels} \
         channel(s), {bits_per_sample}-bit {sample_format}"
    )]
    UnsupportedFormat {
        /// The file's sample rate.
        sample_rate: u32,
        /// The file's channel count.
        channels: u16,
        /// The file's bits per sample.
        bits_per_sample: u16,
        /// `PCM` or `float`.
        sample_format: &'static str,
    },
    /// Longer than [`MAX_PROMPT_SAMPLES`].
    #[error("prompt longer than {max_seconds} s", max_seconds = MAX_PROMPT_SAMPLES / 8000)]
    TooLong,
}

/// A decoded prompt, cheap to clone and share between calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    samples: Arc<[i16]>,
}

impl Prompt {
    /// Reads an 8 kHz mono 16-bit PCM WAV file; any other format is an error.
    pub fn from_wav<R: Read>(reader: R) -> Result<Self, PromptError> {
        let wav = hound::WavReader::new(reader)?;
        let spec = wav.spec();
        let is_pcm = spec.sample_format == hound::SampleFormat::Int;
        if spec.sample_rate != SAMPLE_RATE
            || spec.channels != 1
            || spec.bits_per_sample != 16
            || !is_pcm
        {
            return Err(PromptError::UnsupportedFormat {
                sample_rate: spec.sample_rate,
                channels: spec.channels,
                bits_per_sample: spec.bits_per_sample,
                sample_format: if is_pcm { "PCM" } else { "float" },
            });
        }
        if wav.len() as usize > MAX_PROMPT_SAMPLES {
            return Err(PromptError::TooLong);
        }
        let samples = wav
            .into_samples::<i16>()
            .take(MAX_PROMPT_SAMPLES)
            .collect::<Result<Vec<i16>, _>>()?;
        Ok(Self::from_samples(samples))
    }

    /// A prompt from 8 kHz mono samples (e.g. synthesised in tests).
    pub fn from_samples(samples: Vec<i16>) -> Self {
        Self {
            samples: samples.into(),
        }
    }

    /// The samples.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// Playing time.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.samples.len() as u64 * 1_000_000_000 / u64::from(SAMPLE_RATE))
    }
}
