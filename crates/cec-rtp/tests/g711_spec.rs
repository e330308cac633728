//! Pins the G.711 codec to the ITU-T G.711 definition, exhaustively: all 256 codes of each
//! law decode to the table's decoder output values, and every one of the 65536 16-bit
//! samples encodes to the segment and quantisation interval the table assigns. The
//! reference here is written from the tables' segment layout (interval starts and step
//! sizes), not from the crate's bit tricks. G.711 takes 13-bit (A-law) and 14-bit (µ-law)
//! input; a 16-bit sample is first rounded to that resolution (half up, clipped at the top). Also pins the A-law <-> µ-law conversion
//! tables: sign kept, monotone, and each result is the code whose interval holds the
//! source level mapped between the laws' scales.

use cec_rtp::g711::{
    alaw_decode, alaw_encode, alaw_to_ulaw, ulaw_decode, ulaw_encode, ulaw_to_alaw,
};

/// One G.711 segment: first decision value and step size of its 16 intervals.
struct Segment {
    start: i32,
    step: i32,
}

/// G.711 Table 1 (A-law), on the 4096 scale: segments 0 and 1 have steps of 2, then the
/// step doubles per segment.
const ALAW_SEGMENTS: [Segment; 8] = [
    Segment { start: 0, step: 2 },
    Segment { start: 32, step: 2 },
    Segment { start: 64, step: 4 },
    Segment {
        start: 128,
        step: 8,
    },
    Segment {
        start: 256,
        step: 16,
    },
    Segment {
        start: 512,
        step: 32,
    },
    Segment {
        start: 1024,
        step: 64,
    },
    Segment {
        start: 2048,
        step: 128,
    },
];

/// G.711 Table 2 (µ-law), on the 8159 scale. Segment 0's first interval is 0..1 (half a
/// step), so its intervals are laid out from -1.
const ULAW_SEGMENTS: [Segment; 8] = [
    Segment { start: -1, step: 2 },
    Segment { start: 31, step: 4 },
    Segment { start: 95, step: 8 },
    Segment {
        start: 223,
        step: 16,
    },
    Segment {
        start: 479,
        step: 32,
    },
    Segment {
        start: 991,
        step: 64,
    },
    Segment {
        start: 2015,
        step: 128,
    },
    Segment {
        start: 4063,
        step: 256,
    },
];

/// Interval index (segment·16 + step) of a magnitude, by scanning the table.
fn interval_of(segments: &[Segment; 8], magnitude: i32) -> u8 {
    for (s, seg) in segments.iter().enumerate().rev() {
        if magnitude >= seg.start.max(0) {
            let q = ((magnitude - seg.start) / seg.step).min(15);
            return (s * 16) as u8 + q as u8;
        }
    }
    unreachable!("magnitudes are non-negative")
}

/// Decoder output of an interval: its midpoint.
fn midpoint(segments: &[Segment; 8], interval: u8) -> i32 {
    let seg = &segments[usize::from(interval >> 4)];
    let q = i32::from(interval & 0x0F);
    (seg.start + q * seg.step + seg.step / 2).max(0)
}

/// A-law code on the line: polarity bit 1 for positive, even bits inverted (XOR 0x55).
fn alaw_reference_encode(sample: i16) -> u8 {
    let v = (f64::from(sample) / 8.0 + 0.5).floor().min(4095.0) as i32;
    let (positive, magnitude) = if v >= 0 { (true, v) } else { (false, -v - 1) };
    let code = interval_of(&ALAW_SEGMENTS, magnitude) | if positive { 0x80 } else { 0 };
    code ^ 0x55
}

fn alaw_reference_decode(code: u8) -> i16 {
    let bits = code ^ 0x55;
    let value = midpoint(&ALAW_SEGMENTS, bits & 0x7F) * 8;
    (if bits & 0x80 != 0 { value } else { -value }) as i16
}

/// µ-law code on the line: polarity bit 0 for positive before all bits are inverted.
fn ulaw_reference_encode(sample: i16) -> u8 {
    let v = (f64::from(sample) / 4.0 + 0.5).floor().min(8191.0) as i32;
    let magnitude = v.abs().min(8159);
    let code = interval_of(&ULAW_SEGMENTS, magnitude) | if v < 0 { 0x80 } else { 0 };
    !code
}

fn ulaw_reference_decode(code: u8) -> i16 {
    let bits = !code;
    let value = midpoint(&ULAW_SEGMENTS, bits & 0x7F) * 4;
    (if bits & 0x80 != 0 { -value } else { value }) as i16
}

#[test]
fn every_alaw_code_decodes_to_the_table_value() {
    for code in 0..=255u8 {
        assert_eq!(
            alaw_decode(code),
            alaw_reference_decode(code),
            "code {code:#04x}"
        );
    }
    // Spot values straight from Table 1: segment 2, step 5 decodes to 86 (×8), the top
    // of segment 7 to 4032.
    assert_eq!(alaw_decode(0x25 ^ 0x55 ^ 0x80) / 8, 86);
    assert_eq!(alaw_decode(0xFF ^ 0x55) / 8, 4032);
}

#[test]
fn every_ulaw_code_decodes_to_the_table_value() {
    for code in 0..=255u8 {
        assert_eq!(
            ulaw_decode(code),
            ulaw_reference_decode(code),
            "code {code:#04x}"
        );
    }
    // Table 2: segment 1 step 0 decodes to 33, the top of segment 7 to 8031.
    assert_eq!(ulaw_decode(!0x10) / 4, 33);
    assert_eq!(ulaw_decode(!0x7F) / 4, 8031);
}

#[test]
fn every_sample_encodes_to_the_table_interval() {
    for sample in i16::MIN..=i16::MAX {
        assert_eq!(
            alaw_encode(sample),
            alaw_reference_encode(sample),
            "A-law {sample}"
        );
        assert_eq!(
            ulaw_encode(sample),
            ulaw_reference_encode(sample),
            "µ-law {sample}"
        );
    }
}

/// Magnitude index (0..=127) and sign of a code of either law.
fn alaw_index(code: u8) -> (bool, u8) {
    let bits = code ^ 0x55;
    (bits & 0x80 != 0, bits & 0x7F)
}

fn ulaw_index(code: u8) -> (bool, u8) {
    let bits = !code;
    (bits & 0x80 == 0, bits & 0x7F)
}

/// The G.711 conversion maps levels: 8159 on the µ-law scale corresponds to about
/// 4096 on the A-law scale (both are the +3.14/+3.17 dBm0 overload points).
const SCALE_LOW: f64 = 0.5;
const SCALE_HIGH: f64 = 0.503;

fn interval_bounds(segments: &[Segment; 8], index: u8) -> (f64, f64) {
    let seg = &segments[usize::from(index >> 4)];
    let q = i32::from(index & 0x0F);
    let low = (seg.start + q * seg.step).max(0);
    (f64::from(low), f64::from(seg.start + (q + 1) * seg.step))
}

#[test]
fn alaw_to_ulaw_keeps_sign_order_and_level() {
    let mut previous = 0;
    for index in 0..128u8 {
        for positive in [true, false] {
            let a = (index | if positive { 0x80 } else { 0 }) ^ 0x55;
            let (sign, u) = ulaw_index(alaw_to_ulaw(a));
            assert_eq!(sign, positive, "A-law {a:#04x}");
            if positive {
                assert!(u >= previous, "not monotone at A-law index {index}");
                previous = u;
                let level = f64::from(midpoint(&ALAW_SEGMENTS, index));
                let (low, high) = interval_bounds(&ULAW_SEGMENTS, u);
                // Some scale in the allowed range puts the level inside the chosen interval.
                assert!(
                    level / SCALE_HIGH <= high && level / SCALE_LOW >= low,
                    "A-law index {index} (level {level}) -> µ-law index {u} [{low}, {high})"
                );
            }
        }
    }
}

#[test]
fn ulaw_to_alaw_keeps_sign_order_and_level() {
    let mut previous = 0;
    for index in 0..128u8 {
        for positive in [true, false] {
            let u = !(index | if positive { 0 } else { 0x80 });
            let (sign, a) = alaw_index(ulaw_to_alaw(u));
            assert_eq!(sign, positive, "µ-law {u:#04x}");
            if positive {
                assert!(a >= previous, "not monotone at µ-law index {index}");
                previous = a;
                let level = f64::from(midpoint(&ULAW_SEGMENTS, index));
                let (low, high) = interval_bounds(&ALAW_SEGMENTS, a);
                assert!(
                    level * SCALE_LOW <= high && level * SCALE_HIGH >= low,
                    "µ-law index {index} (level {level}) -> A-law index {a} [{low}, {high})"
                );
            }
        }
    }
}

#[test]
fn conversion_tables_spot_values() {
    // Table 4: A-law index 0 (level 1) -> µ-law index 1; Table 3: µ-law index 0 and 1 ->
    // A-law index 0; the extremes map to the extremes.
    assert_eq!(alaw_to_ulaw(0xD5), !0x01);
    assert_eq!(ulaw_to_alaw(0xFF), 0xD5);
    assert_eq!(ulaw_to_alaw(0xFE), 0xD5);
    assert_eq!(alaw_to_ulaw(0xAA), 0x80);
    assert_eq!(ulaw_to_alaw(0x80), 0xAA);
    assert_eq!(ulaw_to_alaw(0x00), 0x2A);
    assert_eq!(alaw_to_ulaw(0x2A), 0x00);
}
