//! RFC 4733 telephone events: the 4-byte event payload, a sender and a receiver state
//! machine for DTMF digits.
//!
//! ```text
//! |     event     |E|R| volume    |          duration             |
//! ```

mod receiver;
mod sender;

pub use receiver::{DEFAULT_END_TIMEOUT, DigitEvent, DtmfReceiver};
pub use sender::{DEFAULT_PACKET_INTERVAL, DEFAULT_VOLUME, DtmfSender, EventPacket};

use crate::error::DtmfError;

/// The payload type the carrier interface uses for telephone-event.
pub const DEFAULT_PAYLOAD_TYPE: u8 = 101;
/// Length of one event payload.
pub const EVENT_LEN: usize = 4;
/// Largest volume value (-63 dBm0).
pub const MAX_VOLUME: u8 = 63;

/// One RFC 4733 event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelephoneEvent {
    /// Event code (0-9, 10 = `*`, 11 = `#`, 12-15 = A-D for DTMF).
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Power level as a positive dBm0 attenuation, 0..=63.
    pub volume: u8,
    /// Duration so far in RTP timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first 4 bytes of `payload` (the R bit is ignored, as RFC 4733 requires).
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        let [event, flags, hi, lo, ..] = *payload else {
            return Err(DtmfError::TooShort(payload.len()));
        };
        Ok(Self {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([hi, lo]),
        })
    }

    /// The 4 wire bytes (volume is masked to 6 bits, R is 0).
    pub fn to_bytes(&self) -> [u8; EVENT_LEN] {
        let [hi, lo] = self.duration.to_be_bytes();
        let flags = (if self.end { 0x80 } else { 0 }) | (self.volume & 0x3F);
        [self.event, flags, hi, lo]
    }

    /// Writes the payload into `out`; returns 4.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, DtmfError> {
        let dst = out.get_mut(..EVENT_LEN).ok_or(DtmfError::BufferTooSmall)?;
        dst.copy_from_slice(&self.to_bytes());
        Ok(EVENT_LEN)
    }

    /// The DTMF character of this event, if it is a DTMF event.
    pub fn digit(&self) -> Option<char> {
        event_to_char(self.event)
    }
}

/// DTMF character for an event code 0..=15.
pub fn event_to_char(event: u8) -> Option<char> {
    const DIGITS: &[u8; 16] = b"0123456789*#ABCD";
    DIGITS.get(usize::from(event)).map(|&b| char::from(b))
}

/// Event code for a DTMF character (`0`-`9`, `*`, `#`, `A`-`D`, lower case accepted).
pub fn char_to_event(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        // The match arm bounds the subtraction.
        c @ '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        c @ 'A'..='D' => Some(c as u8 - b'A' + 12),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
