//! The registrar binding table (RFC 3261 §10.3), pure: the caller authenticates the
//! REGISTER, maps its To URI to an address-of-record key, and sends the response we build.

mod binding;
mod request;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cec_sip_msg::{HeaderName, Message};

pub use binding::{Binding, BindingSource};
use request::{Refusal, RegisterRequest, Requested, RequestedContact};

use crate::wire::build_response;

/// Retry-After for a REGISTER refused as out of order: the refusal is transient (a delayed
/// copy of an older request), a new REGISTER with a higher CSeq succeeds.
const OUT_OF_ORDER_RETRY_AFTER: u32 = 5;

/// Registrar limits (seconds, contacts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shortest accepted non-zero expiry; shorter gets 423 with Min-Expires.
    pub min_expires: u32,
    /// Longest granted expiry; longer is clamped.
    pub max_expires: u32,
    /// Expiry when neither the Contact nor the request gives one.
    pub default_expires: u32,
    /// Most bindings one address-of-record may hold.
    pub max_contacts_per_aor: usize,
}

impl Default for RegistrarConfig {
    /// 60 s minimum, 3600 s maximum and default, 10 contacts.
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts_per_aor: 10,
        }
    }
}

/// Bindings per address-of-record.
#[derive(Debug, Clone)]
pub struct Registrar {
    config: RegistrarConfig,
    aors: HashMap<String, Vec<Binding>>,
    /// The earliest `expires_at` over every binding, kept up to date on each change: the
    /// driver asks for it on every turn, so it must not cost a scan.
    next_expiry: Option<Instant>,
}

/// A binding being rewritten by the current request; `touched` skips the CSeq check when a
/// second Contact of the same request designates a binding the first one just wrote.
struct Draft {
    binding: Binding,
    touched: bool,
}

impl Registrar {
    /// An empty table.
    pub fn new(config: RegistrarConfig) -> Self {
        Registrar {
            config,
            aors: HashMap::new(),
            next_expiry: None,
        }
    }

    /// Applies a REGISTER to `aor` (called after authentication succeeded; `aor` is the
    /// canonical key, e.g. `1001@tenant-domain`) and returns the complete response:
    ///
    /// * 200 listing every current binding with its `expires` (also for a query, i.e. no
    ///   Contact);
    /// * 400 for an invalid Call-ID, CSeq, Contact, Expires, `q`, `expires`, `reg-id`, or a
    ///   `*` that is not alone or not sent with `Expires: 0`;
    /// * 423 with Min-Expires when an expiry is below the minimum;
    /// * 500 with Retry-After when a binding was last written by the same Call-ID with an
    ///   equal or higher CSeq: §10.3 steps 6–7 say the update "MUST be aborted and the
    ///   request fails" without naming a code; the request is a delayed or reordered copy,
    ///   and a 5xx with Retry-After tells a live phone to simply try again;
    /// * 403 "Too Many Contacts" when the AOR would exceed `max_contacts_per_aor`: a policy
    ///   refusal, not 503, which RFC 3263 clients take as "this server is down, fail over".
    ///
    /// Nothing changes unless the response is 200.
    pub fn register(
        &mut self,
        now: Instant,
        aor: &str,
        request: &Message,
        source: &BindingSource,
    ) -> Message {
        let parsed = match RegisterRequest::read(request, &self.config) {
            Ok(parsed) => parsed,
            Err(Refusal::BadRequest(reason)) => return build_response(request, 400, reason),
            Err(Refusal::IntervalTooBrief) => {
                let mut response = build_response(request, 423, "Interval Too Brief");
                let min = self.config.min_expires.to_string();
                response.push(HeaderName::MinExpires, min.as_bytes());
                return response;
            }
        };
        let mut drafts: Vec<Draft> = self
            .aors
            .get(aor)
            .into_iter()
            .flatten()
            .filter(|b| b.expires_at > now)
            .map(|b| Draft {
                binding: b.clone(),
                touched: false,
            })
            .collect();
        let applied = match &parsed.requested {
            Requested::Query => Ok(()),
            Requested::RemoveAll => remove_all(&mut drafts, &parsed),
            Requested::Update(contacts) => update(&mut drafts, &parsed, contacts, now, source),
        };
        if applied.is_err() {
            let mut response = build_response(request, 500, "Out of Order CSeq");
            let retry = OUT_OF_ORDER_RETRY_AFTER.to_string();
            response.push(HeaderName::RetryAfter, retry.as_bytes());
            return response;
        }
        if drafts.len() > self.config.max_contacts_per_aor {
            return build_response(request, 403, "Too Many Contacts");
        }
        let bindings: Vec<Binding> = drafts.into_iter().map(|d| d.binding).collect();
        let mut response = build_response(request, 200, "OK");
        for binding in &bindings {
            response.push(HeaderName::Contact, binding.contact_value(now).as_bytes());
        }
        if bindings.is_empty() {
            self.aors.remove(aor);
        } else {
            self.aors.insert(aor.to_owned(), bindings);
        }
        self.recompute_next_expiry();
        response
    }

    /// Unexpired bindings of `aor`, highest `q` first (absent `q` ranks as 1.0; ties keep
    /// registration order).
    pub fn lookup(&self, now: Instant, aor: &str) -> Vec<Binding> {
        let mut found: Vec<Binding> = self
            .aors
            .get(aor)
            .into_iter()
            .flatten()
            .filter(|b| b.expires_at > now)
            .cloned()
            .collect();
        found.sort_by(|a, b| b.rank().total_cmp(&a.rank()));
        found
    }

    /// Removes and returns every binding expired at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<(String, Binding)> {
        if self.next_expiry.is_none_or(|at| at > now) {
            return Vec::new();
        }
        let mut gone = Vec::new();
        self.aors.retain(|aor, bindings| {
            bindings.retain(|b| {
                let keep = b.expires_at > now;
                if !keep {
                    gone.push((aor.clone(), b.clone()));
                }
                keep
            });
            !bindings.is_empty()
        });
        self.recompute_next_expiry();
        gone
    }

    /// When the next binding lapses (for the driver's timer).
    pub fn next_expiry(&self) -> Option<Instant> {
        self.next_expiry
    }

    fn recompute_next_expiry(&mut self) {
        self.next_expiry = self.aors.values().flatten().map(|b| b.expires_at).min();
    }

    /// Number of addresses-of-record with at least one binding (expired ones included
    /// until [`Registrar::expire`] runs).
    pub fn aor_count(&self) -> usize {
        self.aors.len()
    }
}

/// The §10.3 step 6/7 CSeq rule: a binding written by the same Call-ID may only be changed
/// by a higher CSeq.
fn out_of_order(binding: &Binding, parsed: &RegisterRequest) -> bool {
    binding.call_id == parsed.call_id && parsed.cseq <= binding.cseq
}

fn remove_all(drafts: &mut Vec<Draft>, parsed: &RegisterRequest) -> Result<(), ()> {
    if drafts.iter().any(|d| out_of_order(&d.binding, parsed)) {
        return Err(());
    }
    drafts.clear();
    Ok(())
}

fn update(
    drafts: &mut Vec<Draft>,
    parsed: &RegisterRequest,
    contacts: &[RequestedContact],
    now: Instant,
    source: &BindingSource,
) -> Result<(), ()> {
    for contact in contacts {
        let index = drafts.iter().position(|d| {
            d.binding
                .matches(&contact.uri, contact.instance_id.as_deref(), contact.reg_id)
        });
        if let Some(draft) = index.and_then(|i| drafts.get(i))
            && !draft.touched
            && out_of_order(&draft.binding, parsed)
        {
            return Err(());
        }
        if contact.expires == 0 {
            if let Some(i) = index {
                drafts.remove(i);
            }
            continue;
        }
        let binding = Binding {
            contact: contact.text.clone(),
            uri: contact.uri.clone(),
            q: contact.q,
            expires_at: now + Duration::from_secs(u64::from(contact.expires)),
            call_id: parsed.call_id.clone(),
            cseq: parsed.cseq,
            source: source.clone(),
            instance_id: contact.instance_id.clone(),
            reg_id: contact.reg_id,
        };
        let draft = Draft {
            binding,
            touched: true,
        };
        match index.and_then(|i| drafts.get_mut(i)) {
            Some(slot) => *slot = draft,
            None => drafts.push(draft),
        }
    }
    Ok(())
}
