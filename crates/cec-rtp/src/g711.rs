//! G.711 A-law and µ-law (ITU-T G.711), with 16-bit linear PCM on the linear side.
//!
//! G.711 is defined on 13-bit (A-law) and 14-bit (µ-law) uniform PCM. A 16-bit sample is
//! first rounded to that resolution (half up, clipped at the positive end), the
//! requantisation `sox` also performs, so our output matches sox byte for byte. A-law then
//! takes the one's complement of negative values (decision intervals symmetric around
//! -½); µ-law takes the magnitude and clips it at 8159. Decoding gives the G.711 decoder
//! output values scaled to 16 bits (A-law ×8, µ-law ×4). The A-law <-> µ-law
//! tables are G.711's own conversion tables (Tables 3 and 4, as commonly transcribed),
//! which map on signal level rather than through 16-bit PCM. No function allocates.

/// A-law decoder output for every code.
static ALAW_DECODE: [i16; 256] = build_alaw_decode();
/// µ-law decoder output for every code.
static ULAW_DECODE: [i16; 256] = build_ulaw_decode();

/// G.711 Table 3 (µ-law -> A-law), indexed by µ-law magnitude code (sign and inversion
/// removed), giving the A-law magnitude code plus one (the table's own numbering).
const ULAW_TO_ALAW_ONE_BASED: [u8; 128] = [
    1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    21, 22, 23, 24, 25, 27, 29, 31, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 48, 49, 50,
    51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75,
    76, 77, 78, 79, 80, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99,
    100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118,
    119, 120, 121, 122, 123, 124, 125, 126, 127, 128,
];

/// G.711 Table 4 (A-law -> µ-law), indexed by A-law magnitude code, giving the µ-law
/// magnitude code.
const ALAW_TO_ULAW: [u8; 128] = [
    1, 3, 5, 7, 9, 11, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
    32, 33, 33, 34, 34, 35, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 48, 49, 49, 50,
    51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73,
    74, 75, 76, 77, 78, 79, 80, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96,
    97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115,
    116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
];

/// A-law code bits inverted on the line (even bits) for a positive value.
const ALAW_POSITIVE_MASK: u8 = 0xD5;
/// A-law mask for a negative value.
const ALAW_NEGATIVE_MASK: u8 = 0x55;
/// µ-law codes are sent fully inverted; positive values keep bit 7 set.
const ULAW_POSITIVE_MASK: u8 = 0xFF;
/// µ-law mask for a negative value.
const ULAW_NEGATIVE_MASK: u8 = 0x7F;
/// µ-law bias (33 on the 14-bit scale) that makes the segment the position of the top bit.
const ULAW_BIAS: i32 = 33;
/// Largest µ-law magnitude on the 14-bit scale.
const ULAW_CLIP: i32 = 8159;

/// Encodes one 16-bit sample as A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    // Round to 13 bits; +32767 would round to 4096, one past the top.
    let x = ((i32::from(sample) + 4) >> 3).min(4095);
    let (mask, magnitude) = if x >= 0 {
        (ALAW_POSITIVE_MASK, x)
    } else {
        (ALAW_NEGATIVE_MASK, -x - 1)
    };
    // magnitude is 0..=4095: segment 0 and 1 share a step of 2, then each doubles.
    let code = if magnitude < 32 {
        magnitude >> 1
    } else {
        let segment = bit_length(magnitude) - 5;
        (segment << 4) | ((magnitude >> segment) & 0x0F)
    };
    // code < 128.
    (code as u8) ^ mask
}

/// Decodes one A-law code to a 16-bit sample.
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

/// Encodes one 16-bit sample as µ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    // Round to 14 bits, clipped like the A-law case.
    let x = ((i32::from(sample) + 2) >> 2).min(8191);
    let (mask, magnitude) = if x < 0 {
        (ULAW_NEGATIVE_MASK, -x)
    } else {
        (ULAW_POSITIVE_MASK, x)
    };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    // biased is 33..=8192; 8192 is the one value past segment 7.
    let segment = bit_length(biased) - 6;
    let code = if segment > 7 {
        0x7F
    } else {
        (segment << 4) | ((biased >> (segment + 1)) & 0x0F)
    };
    // code < 128.
    (code as u8) ^ mask
}

/// Decodes one µ-law code to a 16-bit sample.
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// Converts an A-law code to µ-law with the G.711 conversion table.
pub fn alaw_to_ulaw(code: u8) -> u8 {
    if code & 0x80 != 0 {
        ULAW_POSITIVE_MASK ^ ALAW_TO_ULAW[usize::from((code ^ ALAW_POSITIVE_MASK) & 0x7F)]
    } else {
        ULAW_NEGATIVE_MASK ^ ALAW_TO_ULAW[usize::from((code ^ ALAW_NEGATIVE_MASK) & 0x7F)]
    }
}

/// Converts a µ-law code to A-law with the G.711 conversion table.
pub fn ulaw_to_alaw(code: u8) -> u8 {
    let (mask, magnitude) = if code & 0x80 != 0 {
        (ALAW_POSITIVE_MASK, (code ^ ULAW_POSITIVE_MASK) & 0x7F)
    } else {
        (ALAW_NEGATIVE_MASK, (code ^ ULAW_NEGATIVE_MASK) & 0x7F)
    };
    mask ^ (ULAW_TO_ALAW_ONE_BASED[usize::from(magnitude)] - 1)
}

/// Encodes `pcm` into `out` as A-law; returns the number of samples converted
/// (the shorter of the two lengths).
pub fn encode_alaw(pcm: &[i16], out: &mut [u8]) -> usize {
    convert(pcm, out, alaw_encode)
}

/// Decodes A-law `codes` into `out`; returns the number of samples converted.
pub fn decode_alaw(codes: &[u8], out: &mut [i16]) -> usize {
    convert(codes, out, alaw_decode)
}

/// Encodes `pcm` into `out` as µ-law; returns the number of samples converted.
pub fn encode_ulaw(pcm: &[i16], out: &mut [u8]) -> usize {
    convert(pcm, out, ulaw_encode)
}

/// Decodes µ-law `codes` into `out`; returns the number of samples converted.
pub fn decode_ulaw(codes: &[u8], out: &mut [i16]) -> usize {
    convert(codes, out, ulaw_decode)
}

/// Transcodes an A-law buffer to µ-law in place (for relaying between the two laws).
pub fn transcode_alaw_to_ulaw(buf: &mut [u8]) {
    for c in buf {
        *c = alaw_to_ulaw(*c);
    }
}

/// Transcodes a µ-law buffer to A-law in place.
pub fn transcode_ulaw_to_alaw(buf: &mut [u8]) {
    for c in buf {
        *c = ulaw_to_alaw(*c);
    }
}

/// The two G.711 laws, with their static RTP payload types (RFC 3551).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711 {
    /// A-law, "PCMA", payload type 8.
    Alaw,
    /// µ-law, "PCMU", payload type 0.
    Ulaw,
}

impl G711 {
    /// Static RTP payload type: 8 for A-law, 0 for µ-law.
    pub fn payload_type(self) -> u8 {
        match self {
            Self::Alaw => 8,
            Self::Ulaw => 0,
        }
    }

    /// The law for a static payload type, if it is one.
    pub fn from_payload_type(pt: u8) -> Option<Self> {
        match pt {
            8 => Some(Self::Alaw),
            0 => Some(Self::Ulaw),
            _ => None,
        }
    }

    /// SDP encoding name ("PCMA" or "PCMU").
    pub fn encoding_name(self) -> &'static str {
        match self {
            Self::Alaw => "PCMA",
            Self::Ulaw => "PCMU",
        }
    }

    /// Encodes one sample.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Self::Alaw => alaw_encode(sample),
            Self::Ulaw => ulaw_encode(sample),
        }
    }

    /// Decodes one code.
    pub fn decode(self, code: u8) -> i16 {
        match self {
            Self::Alaw => alaw_decode(code),
            Self::Ulaw => ulaw_decode(code),
        }
    }

    /// Encodes a slice; returns the number of samples converted.
    pub fn encode_slice(self, pcm: &[i16], out: &mut [u8]) -> usize {
        match self {
            Self::Alaw => encode_alaw(pcm, out),
            Self::Ulaw => encode_ulaw(pcm, out),
        }
    }

    /// Decodes a slice; returns the number of samples converted.
    pub fn decode_slice(self, codes: &[u8], out: &mut [i16]) -> usize {
        match self {
            Self::Alaw => decode_alaw(codes, out),
            Self::Ulaw => decode_ulaw(codes, out),
        }
    }

    /// Converts one code of this law to the other law.
    pub fn to_other(self, code: u8) -> u8 {
        match self {
            Self::Alaw => alaw_to_ulaw(code),
            Self::Ulaw => ulaw_to_alaw(code),
        }
    }

    /// Code of silence (the code that decodes closest to 0).
    pub fn silence(self) -> u8 {
        match self {
            Self::Alaw => 0xD5,
            Self::Ulaw => 0xFF,
        }
    }
}

fn convert<A: Copy, B>(input: &[A], out: &mut [B], f: impl Fn(A) -> B) -> usize {
    let n = input.len().min(out.len());
    for (o, i) in out.iter_mut().zip(input) {
        *o = f(*i);
    }
    n
}

fn bit_length(v: i32) -> i32 {
    // v > 0 at every call site, so this is 1..=32.
    32 - v.leading_zeros() as i32
}

const fn build_alaw_decode() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        let bits = (code as u8) ^ ALAW_NEGATIVE_MASK;
        let segment = ((bits >> 4) & 0x07) as i32;
        let quant = (bits & 0x0F) as i32;
        // G.711 A-law output on the 4096 scale: 2q+1 in segment 0, (33+2q)·2^(s-1) above.
        let value = if segment == 0 {
            2 * quant + 1
        } else {
            (33 + 2 * quant) << (segment - 1)
        };
        let value = value * 8;
        table[code] = if bits & 0x80 != 0 {
            value as i16
        } else {
            -value as i16
        };
        code += 1;
    }
    table
}

const fn build_ulaw_decode() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        let bits = !(code as u8);
        let segment = ((bits >> 4) & 0x07) as i32;
        let quant = (bits & 0x0F) as i32;
        // G.711 µ-law output on the 8159 scale: (33+2q)·2^s - 33.
        let value = (((33 + 2 * quant) << segment) - 33) * 4;
        table[code] = if bits & 0x80 != 0 {
            -value as i16
        } else {
            value as i16
        };
        code += 1;
    }
    table
}

#[cfg(test)]
mod tests;
