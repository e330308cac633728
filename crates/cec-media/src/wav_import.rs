//! Voice-prompt import: any common WAV file (PCM 8/16/24/32-bit, float, A-law, µ-law, plain
//! or `WAVE_FORMAT_EXTENSIBLE`, 4 to 192 kHz, 1 to 8 channels) becomes 8 kHz mono 16-bit
//! samples ready for the [`Player`](crate::player::Player).
//!
//! The RIFF reader is our own: `hound` reads only PCM and float, while telephony prompts
//! are often A-law or µ-law, and a small reader lets us tolerate what real uploads contain
//! (chunks in any order, streaming writers' `0xFFFFFFFF` data sizes) and bound every
//! allocation by [`ImportLimits`] before making it. Channels are averaged to mono, then
//! a Kaiser-windowed sinc polyphase filter (pass band to 3.4 kHz, designed for 80 dB of
//! attenuation from 4 kHz) converts the rate; 8 kHz input is copied, not filtered, so
//! 8 kHz mono 16-bit PCM comes through bit for bit. Errors are worded for the
//! administrator who uploaded the file.

mod decode;
mod format;
mod resample;
mod riff;
#[cfg(test)]
mod tests;

use crate::prompt::Prompt;

use self::decode::FrameDecoder;
use self::resample::Resampler;

/// The rate every imported prompt is converted to.
pub const PROMPT_SAMPLE_RATE: u32 = 8_000;
/// Lowest input sample rate accepted.
pub const MIN_SAMPLE_RATE: u32 = 4_000;
/// Highest input sample rate accepted.
pub const MAX_SAMPLE_RATE: u32 = 192_000;
/// Most input channels accepted (7.1 surround).
pub const MAX_CHANNELS: u16 = 8;

/// Size of the canonical header written by [`encode_wav`].
const CANONICAL_HEADER_LEN: usize = 44;

/// Bounds on what an upload may cost; checked before anything is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest accepted file, in bytes.
    pub max_input_bytes: usize,
    /// Longest accepted audio, in milliseconds.
    pub max_duration_ms: u64,
}

impl Default for ImportLimits {
    /// 64 MiB and one hour (a long hold-music loop).
    fn default() -> Self {
        Self {
            max_input_bytes: 64 * 1024 * 1024,
            max_duration_ms: 60 * 60 * 1000,
        }
    }
}

/// How the samples were stored in the uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceEncoding {
    /// Unsigned 8-bit PCM (offset 128).
    PcmUnsigned8,
    /// Signed 16-bit little-endian PCM (also 9..=16 significant bits in a 2-byte container).
    PcmSigned16,
    /// Signed 24-bit little-endian PCM in 3 bytes.
    PcmSigned24,
    /// Signed 32-bit little-endian PCM (also 24 significant bits in a 4-byte container).
    PcmSigned32,
    /// IEEE 754 32-bit float, full scale ±1.0.
    Float32,
    /// IEEE 754 64-bit float, full scale ±1.0.
    Float64,
    /// G.711 A-law, 8 bits.
    ALaw,
    /// G.711 µ-law, 8 bits.
    MuLaw,
}

/// The uploaded file's format, kept for display and auditing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceFormat {
    /// Sample storage.
    pub encoding: SourceEncoding,
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Significant bits per sample (the extensible header's valid bits when present).
    pub bits_per_sample: u16,
}

/// An imported prompt: 8 kHz mono 16-bit samples and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedPrompt {
    /// Samples at [`PROMPT_SAMPLE_RATE`], one channel.
    pub samples: Vec<i16>,
    /// The uploaded file's format.
    pub source: SourceFormat,
}

impl ImportedPrompt {
    /// Length in milliseconds, rounded to the nearest millisecond.
    pub fn duration_ms(&self) -> u64 {
        let samples = u64::try_from(self.samples.len()).unwrap_or(u64::MAX);
        let per_ms = u64::from(PROMPT_SAMPLE_RATE / 1000);
        samples.saturating_add(per_ms / 2) / per_ms
    }

    /// The samples as a playable [`Prompt`].
    pub fn into_prompt(self) -> Prompt {
        Prompt::from_samples(self.samples)
    }
}

/// Why an uploaded file cannot be used as a prompt. The messages are shown to the
/// administrator who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WavImportError {
    /// No `RIFF....WAVE` header: some other kind of file.
    #[error("the file is not a WAV file (no RIFF/WAVE header)")]
    NotRiffWave,
    /// A required chunk (`"fmt "` or `"data"`) is absent.
    #[error("the WAV file has no \"{0}\" chunk")]
    MissingChunk(&'static str),
    /// The file ends inside its header or before the audio starts.
    #[error("the WAV file is truncated (it ends inside its header)")]
    Truncated,
    /// A compressed or otherwise unsupported encoding (the WAV format tag).
    #[error(
        "WAV encoding {format_tag}{} is not supported; use PCM, A-law or µ-law",
        format::encoding_label(*.format_tag)
    )]
    UnsupportedEncoding {
        /// The format tag (for extensible files, the sub-format's tag, or 0xFFFE when
        /// the sub-format is not a standard one).
        format_tag: u16,
    },
    /// A supported encoding with a sample size we cannot read (e.g. 12-bit A-law).
    #[error(
        "{bits_per_sample}-bit samples are not supported for WAV encoding {format_tag}{}",
        format::encoding_label(*.format_tag)
    )]
    UnsupportedBitDepth {
        /// The format tag.
        format_tag: u16,
        /// The declared bits per sample.
        bits_per_sample: u16,
    },
    /// Outside 4 000..=192 000 Hz.
    #[error("a sample rate of {0} Hz is not supported; use 4000 to 192000 Hz")]
    UnsupportedSampleRate(u32),
    /// Outside 1..=8 channels.
    #[error("{0} channels are not supported; use 1 to 8 channels")]
    UnsupportedChannels(u16),
    /// The frame size does not match channels × bytes per sample.
    #[error("the WAV header is inconsistent (block align does not match channels × sample size)")]
    BadBlockAlign,
    /// Larger than [`ImportLimits::max_input_bytes`].
    #[error("the file is larger than the {limit_bytes}-byte upload limit")]
    TooLarge {
        /// The limit that was exceeded.
        limit_bytes: usize,
    },
    /// Longer than [`ImportLimits::max_duration_ms`].
    #[error("the recording is longer than the {limit_ms} ms limit")]
    TooLong {
        /// The limit that was exceeded.
        limit_ms: u64,
    },
    /// Well-formed, but without a single complete sample frame.
    #[error("the WAV file contains no audio")]
    Empty,
}

/// Reads a WAV file of any supported format and converts it to 8 kHz mono 16-bit.
///
/// Sizes are checked against `limits` before any buffer proportional to the input is
/// allocated; the output never holds more than `limits.max_duration_ms` of audio (plus
/// one sample of rounding).
pub fn import_wav(bytes: &[u8], limits: &ImportLimits) -> Result<ImportedPrompt, WavImportError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(WavImportError::TooLarge {
            limit_bytes: limits.max_input_bytes,
        });
    }
    let chunks = riff::find_chunks(bytes)?;
    let layout = format::parse_fmt(chunks.fmt)?;
    let decoder = FrameDecoder::new(chunks.data, layout);
    let frames = decoder.frames();
    if frames == 0 {
        return Err(WavImportError::Empty);
    }
    let rate = u128::from(layout.sample_rate);
    let frames_wide = frames as u128;
    // frames / rate seconds > max ms / 1000, without rounding.
    if frames_wide * 1000 > u128::from(limits.max_duration_ms) * rate {
        return Err(WavImportError::TooLong {
            limit_ms: limits.max_duration_ms,
        });
    }
    // Round up so the tail of the file is not dropped.
    let output_len = (frames_wide * u128::from(PROMPT_SAMPLE_RATE)).div_ceil(rate);
    let Ok(output_len) = usize::try_from(output_len) else {
        return Err(WavImportError::TooLong {
            limit_ms: limits.max_duration_ms,
        });
    };
    let mut samples = Vec::with_capacity(output_len);
    if layout.sample_rate == PROMPT_SAMPLE_RATE {
        samples.extend((0..frames).map(|frame| to_i16(decoder.mono(frame))));
    } else {
        Resampler::new(layout.sample_rate).run(&decoder, output_len, &mut samples);
    }
    Ok(ImportedPrompt {
        samples,
        source: layout.source_format(),
    })
}

/// Writes `samples` as a canonical WAV file: 44-byte header, 8 kHz, mono, 16-bit PCM.
///
/// Past 4 GiB the RIFF and data sizes saturate at `0xFFFFFFFF`, as streaming writers do
/// (and as [`import_wav`] accepts).
pub fn encode_wav(samples: &[i16]) -> Vec<u8> {
    let data_len = samples.len().saturating_mul(2);
    let data_size = u32::try_from(data_len).unwrap_or(u32::MAX);
    let riff_size =
        u32::try_from(data_len.saturating_add(CANONICAL_HEADER_LEN - 8)).unwrap_or(u32::MAX);
    let channels: u16 = 1;
    let bits_per_sample: u16 = 16;
    let block_align: u16 = channels * bits_per_sample / 8;
    let byte_rate = PROMPT_SAMPLE_RATE * u32::from(block_align);

    let mut out = Vec::with_capacity(CANONICAL_HEADER_LEN.saturating_add(data_len));
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_size.to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&format::TAG_PCM.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&PROMPT_SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits_per_sample.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_size.to_le_bytes());
    for sample in samples {
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

/// Rounds to the nearest integer (halves away from zero) and saturates to `i16`.
fn to_i16(value: f64) -> i16 {
    // `as` saturates, and maps NaN to 0.
    value.round() as i16
}
