//! One registered contact and where its REGISTER came from.

use std::net::SocketAddr;
use std::time::Instant;

use cec_sip_msg::Uri;

/// Where a REGISTER came from: the flow to reuse to reach a phone behind NAT.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BindingSource {
    /// `UDP`, `TCP`, `TLS`, ...
    pub transport: String,
    /// The peer address the request arrived from.
    pub addr: SocketAddr,
    /// The connection it arrived on (stream transports), as the runtime numbers them.
    pub connection: Option<u64>,
}

/// A binding of an address-of-record to a contact (RFC 3261 §10.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The contact URI as printed from the Contact header.
    pub contact: String,
    /// The contact URI, parsed (what bindings are compared by).
    pub uri: Uri,
    /// `q` preference, 0.0 to 1.0 (`None` ranks as 1.0).
    pub q: Option<f32>,
    /// When the binding lapses unless refreshed.
    pub expires_at: Instant,
    /// Call-ID of the REGISTER that last wrote it.
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
    /// Where that REGISTER came from.
    pub source: BindingSource,
    /// `+sip.instance` (RFC 5626), without the surrounding quotes.
    pub instance_id: Option<String>,
    /// `reg-id` (RFC 5626).
    pub reg_id: Option<u32>,
}

impl Binding {
    /// Seconds left at `now`, rounded up (0 once expired).
    pub fn remaining_secs(&self, now: Instant) -> u64 {
        let left = self.expires_at.saturating_duration_since(now);
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }

    /// The preference used for ordering.
    pub(crate) fn rank(&self) -> f32 {
        self.q.unwrap_or(1.0)
    }

    /// The Contact header value for a 200 to REGISTER: URI, `expires`, and the parameters
    /// the phone needs to recognise its binding.
    pub(crate) fn contact_value(&self, now: Instant) -> String {
        let mut v = format!("<{}>;expires={}", self.contact, self.remaining_secs(now));
        if let Some(q) = self.q {
            v.push_str(&format!(";q={q}"));
        }
        if let Some(instance) = &self.instance_id {
            v.push_str(&format!(";+sip.instance=\"{instance}\""));
        }
        if let Some(reg_id) = self.reg_id {
            v.push_str(&format!(";reg-id={reg_id}"));
        }
        v
    }

    /// Whether a Contact from a REGISTER designates this binding: the same URI by RFC 3261
    /// §19.1.4, or the same instance and reg-id (RFC 5626 §6: a phone whose address changed
    /// replaces its binding instead of adding one).
    pub(crate) fn matches(
        &self,
        uri: &Uri,
        instance_id: Option<&str>,
        reg_id: Option<u32>,
    ) -> bool {
        let same_uri = match (&self.uri, uri) {
            (Uri::Sip(a), Uri::Sip(b)) => a.equivalent(b),
            (a, b) => a == b,
        };
        let same_instance = matches!(
            (self.instance_id.as_deref(), instance_id),
            (Some(a), Some(b)) if a == b
        ) && self.reg_id == reg_id;
        same_uri || same_instance
    }
}
