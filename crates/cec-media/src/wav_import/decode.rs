//! Sample decoding and downmix: one frame of any encoding to one mono value on the
//! 16-bit scale (full scale ±32768), read straight from the upload without copying it.

use cec_rtp::g711;

use super::SourceEncoding;
use super::format::Layout;

/// Full scale of the 16-bit output, the common scale every encoding is mapped to.
const FULL_SCALE: f64 = 32_768.0;

/// Reads mono frames from a data chunk.
#[derive(Debug, Clone, Copy)]
pub(super) struct FrameDecoder<'a> {
    data: &'a [u8],
    layout: Layout,
    frames: usize,
}

impl<'a> FrameDecoder<'a> {
    /// A decoder over the whole frames in `data` (a trailing partial frame is ignored).
    pub fn new(data: &'a [u8], layout: Layout) -> Self {
        let frames = data.len().checked_div(layout.block_align).unwrap_or(0);
        Self {
            data,
            layout,
            frames,
        }
    }

    /// Number of whole frames.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The channels of frame `index` averaged, on the 16-bit scale; 0 past the end.
    pub fn mono(&self, index: usize) -> f64 {
        let start = index.saturating_mul(self.layout.block_align);
        let end = start.saturating_add(self.layout.block_align);
        let Some(frame) = self.data.get(start..end) else {
            return 0.0;
        };
        // Summing in f64 cannot overflow; dividing afterwards keeps full precision.
        let sum: f64 = frame
            .chunks_exact(self.layout.sample_bytes)
            .map(|sample| decode_sample(self.layout.encoding, sample))
            .sum();
        sum / f64::from(self.layout.channels)
    }

    /// `mono` for a signed index: silence before the start, as around the end.
    pub fn mono_signed(&self, index: i64) -> f64 {
        usize::try_from(index).map_or(0.0, |index| self.mono(index))
    }
}

/// One sample, little-endian, on the 16-bit scale. `bytes` has the container size.
fn decode_sample(encoding: SourceEncoding, bytes: &[u8]) -> f64 {
    match (encoding, bytes) {
        (SourceEncoding::PcmUnsigned8, &[b]) => (f64::from(b) - 128.0) * 256.0,
        (SourceEncoding::PcmSigned16, &[b0, b1]) => f64::from(i16::from_le_bytes([b0, b1])),
        // Place the 24 bits at the top of an i32 so the sign extends.
        (SourceEncoding::PcmSigned24, &[b0, b1, b2]) => {
            f64::from(i32::from_le_bytes([0, b0, b1, b2])) / 65_536.0
        }
        (SourceEncoding::PcmSigned32, &[b0, b1, b2, b3]) => {
            f64::from(i32::from_le_bytes([b0, b1, b2, b3])) / 65_536.0
        }
        (SourceEncoding::Float32, &[b0, b1, b2, b3]) => {
            from_float(f64::from(f32::from_le_bytes([b0, b1, b2, b3])))
        }
        (SourceEncoding::Float64, &[b0, b1, b2, b3, b4, b5, b6, b7]) => {
            from_float(f64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]))
        }
        (SourceEncoding::ALaw, &[code]) => f64::from(g711::alaw_decode(code)),
        (SourceEncoding::MuLaw, &[code]) => f64::from(g711::ulaw_decode(code)),
        // The layout guarantees the container size; anything else reads as silence.
        _ => 0.0,
    }
}

/// A float sample clipped to full scale first, so NaN and infinities cannot reach the
/// filter (NaN becomes silence).
fn from_float(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(-1.0, 1.0) * FULL_SCALE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(encoding: SourceEncoding, channels: u16, sample_bytes: usize) -> Layout {
        Layout {
            encoding,
            sample_rate: 8_000,
            channels,
            valid_bits: 16,
            sample_bytes,
            block_align: usize::from(channels) * sample_bytes,
        }
    }

    #[test]
    fn every_encoding_maps_full_scale_to_16_bits() {
        use SourceEncoding as E;
        let cases: [(E, &[u8], f64); 14] = [
            (E::PcmUnsigned8, &[0x00], -32_768.0),
            (E::PcmUnsigned8, &[0x80], 0.0),
            (E::PcmUnsigned8, &[0xFF], 32_512.0),
            (E::PcmSigned16, &[0x00, 0x80], -32_768.0),
            (E::PcmSigned16, &[0x34, 0x12], 4_660.0),
            (E::PcmSigned24, &[0x00, 0x00, 0x80], -32_768.0),
            (E::PcmSigned24, &[0x80, 0x34, 0x12], 4_660.5),
            (E::PcmSigned32, &[0x00, 0x00, 0x00, 0x80], -32_768.0),
            (E::PcmSigned32, &[0x00, 0x80, 0x34, 0x12], 4_660.5),
            (E::Float32, &0.5f32.to_le_bytes(), 16_384.0),
            (E::Float32, &f32::NAN.to_le_bytes(), 0.0),
            (E::Float64, &f64::NEG_INFINITY.to_le_bytes(), -32_768.0),
            (E::ALaw, &[0xD5], f64::from(g711::alaw_decode(0xD5))),
            (E::MuLaw, &[0x00], f64::from(g711::ulaw_decode(0x00))),
        ];
        for (encoding, bytes, expected) in cases {
            assert_eq!(
                decode_sample(encoding, bytes),
                expected,
                "{encoding:?} {bytes:?}"
            );
        }
        assert_eq!(g711::ulaw_decode(0x00), -32_124);
    }

    #[test]
    fn downmix_averages_channels_without_overflow() {
        let data = [0xFF, 0x7F, 0xFF, 0x7F, 0x00, 0x80, 0x01, 0x00];
        let decoder = FrameDecoder::new(&data, layout(SourceEncoding::PcmSigned16, 2, 2));
        assert_eq!(decoder.frames(), 2);
        assert_eq!(decoder.mono(0), 32_767.0);
        assert_eq!(decoder.mono(1), -16_383.5);
        assert_eq!(decoder.mono(2), 0.0);
        assert_eq!(decoder.mono_signed(-1), 0.0);
        assert_eq!(decoder.mono(usize::MAX), 0.0);
    }

    #[test]
    fn partial_trailing_frame_is_ignored() {
        let data = [1, 0, 2, 0, 3, 0, 4];
        let decoder = FrameDecoder::new(&data, layout(SourceEncoding::PcmSigned16, 3, 2));
        assert_eq!(decoder.frames(), 1);
        assert_eq!(decoder.mono(0), 2.0);
    }
}
