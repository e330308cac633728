//! Stateless, self-validating nonces.
//!
//! A nonce is 64 lowercase hex digits: the creation time (milliseconds since the server's
//! epoch, 8 bytes), a per-server sequence number (8 bytes, so two challenges in the same
//! millisecond still differ and each nonce has its own nonce-count history) and the first
//! 16 bytes of HMAC-SHA-256 over those, the realm and the caller's binding (e.g. the source
//! IP), keyed with the server secret. No state is kept per challenge; a new secret (restart)
//! invalidates every older nonce, and changing any byte breaks the tag.

use std::time::Instant;

use crate::hash::{constant_time_eq, hex, hmac_sha256};

/// Domain separation: the secret may be shared with other uses.
const LABEL: &[u8] = b"opencec sip digest nonce v1";
const TAG_LEN: usize = 16;
/// Hex length of a nonce: time, sequence, tag.
pub(crate) const NONCE_HEX_LEN: usize = (8 + 8 + TAG_LEN) * 2;

/// What a valid nonce tells us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonceInfo {
    /// Creation time, milliseconds since the epoch.
    pub(crate) created_ms: u64,
    /// Sequence number (unique per server secret).
    pub(crate) seq: u64,
}

/// Mints and checks nonces with one secret.
pub(crate) struct NonceCodec {
    key: [u8; 32],
    epoch: Instant,
}

impl NonceCodec {
    pub(crate) fn new(key: [u8; 32], epoch: Instant) -> Self {
        NonceCodec { key, epoch }
    }

    /// Milliseconds since the epoch (0 before it, saturating far after).
    pub(crate) fn millis(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn tag(&self, created_ms: u64, seq: u64, realm: &[u8], binding: &[u8]) -> [u8; 32] {
        // Length prefix: realm "ab" + binding "c" must not collide with "a" + "bc".
        let realm_len = u64::try_from(realm.len()).unwrap_or(u64::MAX);
        hmac_sha256(
            &self.key,
            &[
                LABEL,
                &created_ms.to_be_bytes(),
                &seq.to_be_bytes(),
                &realm_len.to_be_bytes(),
                realm,
                binding,
            ],
        )
    }

    pub(crate) fn mint(&self, now: Instant, seq: u64, realm: &[u8], binding: &[u8]) -> String {
        let created_ms = self.millis(now);
        let tag = self.tag(created_ms, seq, realm, binding);
        let mut raw = Vec::with_capacity(NONCE_HEX_LEN / 2);
        raw.extend_from_slice(&created_ms.to_be_bytes());
        raw.extend_from_slice(&seq.to_be_bytes());
        raw.extend_from_slice(tag.get(..TAG_LEN).unwrap_or_default());
        hex(&raw)
    }

    /// The nonce's contents if we minted it for this realm and binding with our secret.
    pub(crate) fn open(&self, nonce: &[u8], realm: &[u8], binding: &[u8]) -> Option<NonceInfo> {
        if nonce.len() != NONCE_HEX_LEN {
            return None;
        }
        let raw = decode_lower_hex(nonce)?;
        let created_ms = u64::from_be_bytes(raw.get(..8)?.try_into().ok()?);
        let seq = u64::from_be_bytes(raw.get(8..16)?.try_into().ok()?);
        let expected = self.tag(created_ms, seq, realm, binding);
        constant_time_eq(raw.get(16..)?, expected.get(..TAG_LEN)?)
            .then_some(NonceInfo { created_ms, seq })
    }
}

/// Decodes lowercase hex only: an upper-case copy of a nonce is a different, unknown nonce.
fn decode_lower_hex(text: &[u8]) -> Option<Vec<u8>> {
    fn digit(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        }
    }
    text.chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some((digit(*hi)? << 4) | digit(*lo)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn base() -> Instant {
        cec_sim::VirtualClock::start().now()
    }

    #[test]
    fn mint_then_open() {
        let epoch = base();
        let codec = NonceCodec::new([7; 32], epoch);
        let now = epoch + Duration::from_millis(1234);
        let nonce = codec.mint(now, 42, b"realm", b"192.0.2.1");
        assert_eq!(nonce.len(), NONCE_HEX_LEN);
        let info = codec.open(nonce.as_bytes(), b"realm", b"192.0.2.1");
        assert_eq!(
            info,
            Some(NonceInfo {
                created_ms: 1234,
                seq: 42
            })
        );
    }

    #[test]
    fn any_change_breaks_the_nonce() {
        let epoch = base();
        let codec = NonceCodec::new([7; 32], epoch);
        let nonce = codec.mint(epoch, 1, b"realm", b"bind");
        assert!(codec.open(nonce.as_bytes(), b"other", b"bind").is_none());
        assert!(codec.open(nonce.as_bytes(), b"realm", b"other").is_none());
        // Realm/binding boundary is part of the tag.
        assert!(codec.open(nonce.as_bytes(), b"realmb", b"ind").is_none());
        assert!(
            NonceCodec::new([8; 32], epoch)
                .open(nonce.as_bytes(), b"realm", b"bind")
                .is_none()
        );
        for i in 0..nonce.len() {
            let mut bytes = nonce.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            assert!(codec.open(&bytes, b"realm", b"bind").is_none(), "byte {i}");
        }
        if nonce.bytes().any(|b| b.is_ascii_alphabetic()) {
            let upper = nonce.to_ascii_uppercase();
            assert!(codec.open(upper.as_bytes(), b"realm", b"bind").is_none());
        }
        assert!(
            codec
                .open(&nonce.as_bytes()[1..], b"realm", b"bind")
                .is_none()
        );
    }

    #[test]
    fn sequence_numbers_make_nonces_unique() {
        let epoch = base();
        let codec = NonceCodec::new([1; 32], epoch);
        assert_ne!(
            codec.mint(epoch, 1, b"r", b""),
            codec.mint(epoch, 2, b"r", b"")
        );
    }

    proptest::proptest! {
        #[test]
        fn round_trip_and_garbage(
            ms in 0u64..10_000_000_000,
            seq in proptest::prelude::any::<u64>(),
            realm in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            binding in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
            garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        ) {
            let epoch = base();
            let codec = NonceCodec::new([5; 32], epoch);
            let nonce = codec.mint(epoch + Duration::from_millis(ms), seq, &realm, &binding);
            proptest::prop_assert_eq!(
                codec.open(nonce.as_bytes(), &realm, &binding),
                Some(NonceInfo { created_ms: ms, seq })
            );
            proptest::prop_assert_eq!(codec.open(&garbage, &realm, &binding), None);
        }
    }
}
