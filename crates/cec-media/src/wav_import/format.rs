//! The `fmt ` chunk: encoding, rate, channels and frame layout, validated.

use super::{
    MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, SourceEncoding, SourceFormat, WavImportError,
};

/// Integer PCM.
pub(super) const TAG_PCM: u16 = 0x0001;
/// IEEE float.
const TAG_FLOAT: u16 = 0x0003;
/// G.711 A-law.
const TAG_ALAW: u16 = 0x0006;
/// G.711 µ-law.
const TAG_MULAW: u16 = 0x0007;
/// `WAVE_FORMAT_EXTENSIBLE`: the real format is in the sub-format GUID.
const TAG_EXTENSIBLE: u16 = 0xFFFE;

/// Size of the basic `WAVEFORMAT` + bits per sample.
const BASIC_FMT_LEN: usize = 16;
/// Size of `WAVEFORMATEXTENSIBLE`: basic fields, cbSize, valid bits, channel mask, GUID.
const EXTENSIBLE_FMT_LEN: usize = 40;
/// The smallest cbSize an extensible header may declare.
const EXTENSIBLE_EXTRA_LEN: u16 = 22;
/// Bytes 2..16 of every standard sub-format GUID (`xxxxxxxx-0000-0010-8000-00AA00389B71`);
/// bytes 0..2 hold the format tag.
const BASE_GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// How the data chunk is laid out, everything the decoder needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Layout {
    /// Sample storage.
    pub encoding: SourceEncoding,
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels, 1..=8.
    pub channels: u16,
    /// Significant bits per sample, for reporting.
    pub valid_bits: u16,
    /// Bytes per sample container, 1..=8.
    pub sample_bytes: usize,
    /// Bytes per frame: channels × sample bytes.
    pub block_align: usize,
}

impl Layout {
    /// The format as reported to the caller.
    pub fn source_format(&self) -> SourceFormat {
        SourceFormat {
            encoding: self.encoding,
            sample_rate: self.sample_rate,
            channels: self.channels,
            bits_per_sample: self.valid_bits,
        }
    }
}

/// Parses and validates a `fmt ` chunk body. Checks run in the order an administrator
/// can act on: encoding first (an MP3 should be reported as MP3), then channels, rate,
/// sample size and frame size.
pub(super) fn parse_fmt(fmt: &[u8]) -> Result<Layout, WavImportError> {
    if fmt.len() < BASIC_FMT_LEN {
        return Err(WavImportError::Truncated);
    }
    let mut format_tag = read_u16(fmt, 0);
    let channels = read_u16(fmt, 2);
    let sample_rate = read_u32(fmt, 4);
    // Bytes 8..12 (byte rate) are redundant and often wrong in the wild; not checked.
    let block_align = read_u16(fmt, 12);
    let bits_per_sample = read_u16(fmt, 14);
    let mut valid_bits = bits_per_sample;

    if format_tag == TAG_EXTENSIBLE {
        if fmt.len() < EXTENSIBLE_FMT_LEN || read_u16(fmt, 16) < EXTENSIBLE_EXTRA_LEN {
            return Err(WavImportError::Truncated);
        }
        if fmt.get(26..40) != Some(BASE_GUID_TAIL.as_slice()) {
            return Err(WavImportError::UnsupportedEncoding {
                format_tag: TAG_EXTENSIBLE,
            });
        }
        format_tag = read_u16(fmt, 24);
        // Valid bits sit in the top of the container; 0 means "all of them".
        match read_u16(fmt, 18) {
            0 => {}
            declared if declared <= bits_per_sample => valid_bits = declared,
            _ => return Err(WavImportError::BadBlockAlign),
        }
    }

    let bit_depth_error = WavImportError::UnsupportedBitDepth {
        format_tag,
        bits_per_sample,
    };
    let encoding = match format_tag {
        TAG_PCM => match bits_per_sample.div_ceil(8) {
            1 => Ok(SourceEncoding::PcmUnsigned8),
            2 => Ok(SourceEncoding::PcmSigned16),
            3 => Ok(SourceEncoding::PcmSigned24),
            4 => Ok(SourceEncoding::PcmSigned32),
            _ => Err(bit_depth_error),
        },
        TAG_FLOAT => match bits_per_sample {
            32 => Ok(SourceEncoding::Float32),
            64 => Ok(SourceEncoding::Float64),
            _ => Err(bit_depth_error),
        },
        TAG_ALAW | TAG_MULAW if bits_per_sample != 8 => Err(bit_depth_error),
        TAG_ALAW => Ok(SourceEncoding::ALaw),
        TAG_MULAW => Ok(SourceEncoding::MuLaw),
        _ => Err(WavImportError::UnsupportedEncoding { format_tag }),
    };
    // Report an unsupported encoding before anything else.
    if let Err(error @ WavImportError::UnsupportedEncoding { .. }) = encoding {
        return Err(error);
    }
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(WavImportError::UnsupportedChannels(channels));
    }
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(WavImportError::UnsupportedSampleRate(sample_rate));
    }
    let encoding = encoding?;
    let sample_bytes = usize::from(bits_per_sample.div_ceil(8));
    let expected_align = usize::from(channels) * sample_bytes;
    if usize::from(block_align) != expected_align {
        return Err(WavImportError::BadBlockAlign);
    }
    Ok(Layout {
        encoding,
        sample_rate,
        channels,
        valid_bits,
        sample_bytes,
        block_align: expected_align,
    })
}

/// A short name for a format tag in error messages, with a leading space, or "".
pub(super) fn encoding_label(format_tag: u16) -> &'static str {
    match format_tag {
        TAG_PCM => " (PCM)",
        0x0002 => " (Microsoft ADPCM)",
        TAG_FLOAT => " (IEEE float)",
        TAG_ALAW => " (A-law)",
        TAG_MULAW => " (µ-law)",
        0x0011 => " (IMA ADPCM)",
        0x0031 => " (GSM 6.10)",
        0x0040 => " (G.721 ADPCM)",
        0x0050 => " (MPEG audio)",
        0x0055 => " (MP3)",
        0x0064 => " (G.726 ADPCM)",
        0x00FF => " (AAC)",
        0x0161 => " (Windows Media Audio)",
        TAG_EXTENSIBLE => " (extensible, unknown sub-format)",
        _ => "",
    }
}

/// Little-endian `u16` at `at`; 0 past the end (callers check the length first).
fn read_u16(bytes: &[u8], at: usize) -> u16 {
    bytes
        .get(at..at.saturating_add(2))
        .and_then(|b| b.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

/// Little-endian `u32` at `at`; 0 past the end (callers check the length first).
fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at.saturating_add(4))
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A basic 16-byte fmt body.
    fn basic(tag: u16, channels: u16, rate: u32, align: u16, bits: u16) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        out.extend_from_slice(&align.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out
    }

    /// A 40-byte extensible fmt body with the given sub-format tag.
    fn extensible(sub_tag: u16, channels: u16, bits: u16, valid: u16) -> Vec<u8> {
        let mut out = basic(TAG_EXTENSIBLE, channels, 11_025, channels * bits / 8, bits);
        out.extend_from_slice(&22u16.to_le_bytes());
        out.extend_from_slice(&valid.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&sub_tag.to_le_bytes());
        out.extend_from_slice(&BASE_GUID_TAIL);
        out
    }

    #[test]
    fn reads_each_plain_encoding() {
        let cases = [
            (TAG_PCM, 8u16, SourceEncoding::PcmUnsigned8),
            (TAG_PCM, 12, SourceEncoding::PcmSigned16),
            (TAG_PCM, 16, SourceEncoding::PcmSigned16),
            (TAG_PCM, 24, SourceEncoding::PcmSigned24),
            (TAG_PCM, 32, SourceEncoding::PcmSigned32),
            (TAG_FLOAT, 32, SourceEncoding::Float32),
            (TAG_FLOAT, 64, SourceEncoding::Float64),
            (TAG_ALAW, 8, SourceEncoding::ALaw),
            (TAG_MULAW, 8, SourceEncoding::MuLaw),
        ];
        for (tag, bits, encoding) in cases {
            let bytes = bits.div_ceil(8);
            let layout = parse_fmt(&basic(tag, 2, 22_050, 2 * bytes, bits)).unwrap();
            assert_eq!(layout.encoding, encoding, "{tag} {bits}");
            assert_eq!(layout.block_align, usize::from(2 * bytes));
            assert_eq!(layout.sample_bytes, usize::from(bytes));
            assert_eq!(layout.valid_bits, bits);
            assert_eq!((layout.sample_rate, layout.channels), (22_050, 2));
        }
    }

    #[test]
    fn reads_extensible_sub_formats_and_valid_bits() {
        let layout = parse_fmt(&extensible(TAG_PCM, 4, 32, 24)).unwrap();
        assert_eq!(layout.encoding, SourceEncoding::PcmSigned32);
        assert_eq!((layout.valid_bits, layout.block_align), (24, 16));
        let layout = parse_fmt(&extensible(TAG_FLOAT, 1, 32, 0)).unwrap();
        assert_eq!(
            (layout.encoding, layout.valid_bits),
            (SourceEncoding::Float32, 32)
        );
        let layout = parse_fmt(&extensible(TAG_MULAW, 3, 8, 8)).unwrap();
        assert_eq!(layout.encoding, SourceEncoding::MuLaw);
        assert_eq!(
            parse_fmt(&extensible(TAG_PCM, 1, 16, 17)),
            Err(WavImportError::BadBlockAlign)
        );
    }

    #[test]
    fn unknown_extensible_guid_is_unsupported() {
        let mut fmt = extensible(TAG_PCM, 1, 16, 16);
        fmt[39] ^= 1;
        assert_eq!(
            parse_fmt(&fmt),
            Err(WavImportError::UnsupportedEncoding {
                format_tag: TAG_EXTENSIBLE
            })
        );
        assert_eq!(parse_fmt(&fmt[..30]), Err(WavImportError::Truncated));
    }

    #[test]
    fn rejects_bad_fields_with_the_right_error() {
        use WavImportError as E;
        let cases = [
            (
                basic(0x55, 2, 44_100, 1, 0),
                E::UnsupportedEncoding { format_tag: 0x55 },
            ),
            (basic(TAG_PCM, 0, 8_000, 2, 16), E::UnsupportedChannels(0)),
            (basic(TAG_PCM, 9, 8_000, 18, 16), E::UnsupportedChannels(9)),
            (
                basic(TAG_PCM, 1, 3_999, 2, 16),
                E::UnsupportedSampleRate(3_999),
            ),
            (
                basic(TAG_PCM, 1, 192_001, 2, 16),
                E::UnsupportedSampleRate(192_001),
            ),
            (basic(TAG_PCM, 1, 8_000, 3, 16), E::BadBlockAlign),
            (basic(TAG_PCM, 2, 8_000, 2, 16), E::BadBlockAlign),
            (
                basic(TAG_PCM, 1, 8_000, 5, 40),
                E::UnsupportedBitDepth {
                    format_tag: TAG_PCM,
                    bits_per_sample: 40,
                },
            ),
            (
                basic(TAG_ALAW, 1, 8_000, 2, 16),
                E::UnsupportedBitDepth {
                    format_tag: TAG_ALAW,
                    bits_per_sample: 16,
                },
            ),
            (
                basic(TAG_FLOAT, 1, 8_000, 2, 16),
                E::UnsupportedBitDepth {
                    format_tag: TAG_FLOAT,
                    bits_per_sample: 16,
                },
            ),
        ];
        for (fmt, expected) in cases {
            assert_eq!(parse_fmt(&fmt), Err(expected));
        }
        assert_eq!(parse_fmt(&[1, 0, 1, 0]), Err(E::Truncated));
    }

    #[test]
    fn accepts_the_rate_and_channel_bounds() {
        for (channels, rate) in [(1, 4_000), (8, 192_000)] {
            let fmt = basic(TAG_PCM, channels, rate, channels * 2, 16);
            assert!(parse_fmt(&fmt).is_ok(), "{channels} {rate}");
        }
    }

    #[test]
    fn messages_name_the_encoding() {
        let mp3 = WavImportError::UnsupportedEncoding { format_tag: 85 };
        assert_eq!(
            mp3.to_string(),
            "WAV encoding 85 (MP3) is not supported; use PCM, A-law or µ-law"
        );
        let odd = WavImportError::UnsupportedEncoding { format_tag: 4660 };
        assert_eq!(
            odd.to_string(),
            "WAV encoding 4660 is not supported; use PCM, A-law or µ-law"
        );
    }
}
