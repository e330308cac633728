//! Reports each RFC 4733 event once, however many of its packets (start, updates, three
//! end packets) arrive, lost or reordered.

use cec_rtp::dtmf::TelephoneEvent;

/// Events remembered; more than enough for reordering within a jitter window.
const REMEMBERED: usize = 8;

/// All packets of one event share its RTP timestamp (RFC 4733 §2.5.1.2): a timestamp and
/// event code seen before is the same event.
#[derive(Debug, Clone, Default)]
pub(crate) struct DigitDedup {
    seen: [Option<(u32, u8)>; REMEMBERED],
    next: usize,
}

impl DigitDedup {
    /// Whether this is the first packet seen of its event.
    pub(crate) fn is_new(&mut self, timestamp: u32, event: &TelephoneEvent) -> bool {
        let key = (timestamp, event.event);
        if self.seen.contains(&Some(key)) {
            return false;
        }
        if let Some(slot) = self.seen.get_mut(self.next) {
            *slot = Some(key);
        }
        self.next = (self.next + 1) % REMEMBERED;
        true
    }
}
