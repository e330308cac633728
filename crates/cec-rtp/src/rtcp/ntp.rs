//! NTP timestamps as used by RTCP (RFC 3550 §4): the 64-bit form (seconds since 1900 and a
//! 32-bit fraction) and the "compact" middle 32 bits (16.16) used by LSR and DLSR.

use std::time::Duration;

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// 64-bit NTP timestamp for a time given as a duration since 1900. The seconds wrap modulo
/// 2^32 (NTP era), as on the wire.
pub fn ntp_from_duration(since_1900: Duration) -> u64 {
    let secs = since_1900.as_secs() & 0xFFFF_FFFF;
    let frac = (u64::from(since_1900.subsec_nanos()) << 32) / NANOS_PER_SEC;
    (secs << 32) | frac
}

/// 64-bit NTP timestamp for a time given as a duration since the Unix epoch (what
/// `SystemTime::duration_since(UNIX_EPOCH)` gives the caller).
pub fn ntp_from_unix(since_unix: Duration) -> u64 {
    ntp_from_duration(since_unix + Duration::from_secs(NTP_UNIX_OFFSET_SECS))
}

/// Duration since 1900 of a 64-bit NTP timestamp (within its era), to the nanosecond
/// below.
pub fn ntp_to_duration(ntp: u64) -> Duration {
    let nanos = ((ntp & 0xFFFF_FFFF) * NANOS_PER_SEC) >> 32;
    // nanos < 1e9, so the cast is lossless.
    Duration::new(ntp >> 32, nanos as u32)
}

/// The middle 32 bits of a 64-bit NTP timestamp (the LSR field of a report block).
pub fn ntp_compact(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A compact 16.16 value (such as DLSR) as a duration.
pub fn compact_to_duration(compact: u32) -> Duration {
    let nanos = (u64::from(compact & 0xFFFF) * NANOS_PER_SEC) >> 16;
    // nanos < 1e9.
    Duration::new(u64::from(compact >> 16), nanos as u32)
}

/// A duration in compact 16.16 form (for DLSR), saturating at `u32::MAX` (about 18 hours).
pub fn duration_to_compact(d: Duration) -> u32 {
    if d.as_secs() > 0xFFFF {
        return u32::MAX;
    }
    let frac = (u64::from(d.subsec_nanos()) << 16) / NANOS_PER_SEC;
    // secs <= 0xFFFF and frac < 0x10000.
    ((d.as_secs() << 16) | frac) as u32
}

/// Round-trip time from a report block (RFC 3550 §6.4.1): `arrival - LSR - DLSR`, where
/// `arrival` is the compact NTP time the report arrived. `None` when no SR was reported
/// (LSR 0) or the result would be negative.
pub fn round_trip_time(arrival: u32, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let since_sr = arrival.wrapping_sub(lsr);
    since_sr.checked_sub(dlsr).map(compact_to_duration)
}
