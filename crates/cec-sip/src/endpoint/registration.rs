//! Registering to someone else's registrar (a carrier that wants our trunk to register, or a
//! PBX): REGISTER with digest authentication (RFC 3261 §10.2, §22.2), 423 handling, refresh
//! before expiry, retry after failure, and unregistering.

use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sip_auth::{Credentials, DigestClient};
use cec_sip_msg::{CSeq, Header, HeaderName, Message, Method, NameAddr, Uri};

use super::{Endpoint, Event};
use crate::peer::Peer;
use crate::transaction::TransactionId;

/// What to register.
#[derive(Debug, Clone)]
pub struct RegistrationSpec {
    /// The registrar's URI (Request-URI), e.g. `sip:carrier.example`.
    pub registrar: Uri,
    /// Where to send (resolved).
    pub destination: Peer,
    /// Our address-of-record (From and To).
    pub aor: NameAddr,
    /// Interval to ask for, seconds.
    pub expires: u32,
    /// Credentials for the registrar's challenges.
    pub credentials: Option<Credentials>,
}

/// Handle of one outbound registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationId(pub u64);

/// What became of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrationState {
    /// The registrar accepted us for this many seconds; a refresh is scheduled.
    Registered {
        /// Granted interval.
        expires: u32,
    },
    /// The registrar refused (status) or did not answer (408); a retry is scheduled.
    Failed {
        /// Final status, or 408 for a timeout.
        status: u16,
    },
    /// Our unregistration finished.
    Unregistered,
}

/// Timers of outbound registrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegistrationTimer {
    /// Refresh before the granted interval runs out.
    Refresh,
    /// Try again after a failure.
    Retry,
}

/// How long to wait before retrying a failed registration.
const RETRY_AFTER: Duration = Duration::from_secs(60);

pub(crate) struct Registration {
    spec: RegistrationSpec,
    client: Option<DigestClient>,
    call_id: String,
    from_tag: String,
    cseq: u32,
    expires: u32,
    tx: Option<TransactionId>,
    last_request: Option<Message>,
    unregistering: bool,
}

/// When to refresh a registration granted for `granted` seconds: a minute before it lapses,
/// but never later than half-way.
fn refresh_after(granted: u32) -> Duration {
    let granted = u64::from(granted);
    Duration::from_secs((granted / 2).max(granted.saturating_sub(60)).max(1))
}

impl Endpoint {
    /// Starts registering as `spec.aor` at `spec.registrar`.
    pub fn register_to(&mut self, now: Instant, spec: RegistrationSpec) -> RegistrationId {
        self.next_registration += 1;
        let id = RegistrationId(self.next_registration);
        let client = spec.credentials.clone().map(|credentials| {
            // cnonces from a stream seeded by the endpoint's generator.
            DigestClient::new(credentials, crate::random::splitmix64((self.random)()))
        });
        let registration = Registration {
            expires: spec.expires,
            spec,
            client,
            call_id: format!("{}@opencec", self.new_tag()),
            from_tag: self.new_tag(),
            cseq: 0,
            tx: None,
            last_request: None,
            unregistering: false,
        };
        self.registrations.insert(id, registration);
        self.send_register(now, id, None);
        id
    }

    /// Removes our binding (REGISTER with Expires: 0); [`RegistrationState::Unregistered`]
    /// follows.
    pub fn unregister(&mut self, now: Instant, id: RegistrationId) {
        if let Some(registration) = self.registrations.get_mut(&id) {
            registration.unregistering = true;
            self.registration_timers
                .cancel((id, RegistrationTimer::Refresh));
            self.registration_timers
                .cancel((id, RegistrationTimer::Retry));
            self.send_register(now, id, None);
        }
    }

    fn send_register(
        &mut self,
        now: Instant,
        id: RegistrationId,
        authorization: Option<(HeaderName, String)>,
    ) {
        let Some(destination) = self.registrations.get(&id).map(|r| r.spec.destination) else {
            return;
        };
        let via = self.new_via(destination.transport);
        let contact = self.contact(destination.transport);
        let product = self.product_header();
        let Some(registration) = self.registrations.get_mut(&id) else {
            return;
        };
        registration.cseq += 1;
        let expires = if registration.unregistering {
            0
        } else {
            registration.expires
        };
        let mut from = registration.spec.aor.clone();
        from.set_tag(Bytes::from(registration.from_tag.clone()));
        let mut request = Message::request(Method::Register, registration.spec.registrar.clone());
        request.push_typed(HeaderName::Via, &via);
        request.push(HeaderName::MaxForwards, b"70");
        request.push_typed(HeaderName::From, &from);
        request.push_typed(HeaderName::To, &registration.spec.aor);
        request.push(HeaderName::CallId, registration.call_id.as_bytes());
        request.push_typed(
            HeaderName::CSeq,
            &CSeq {
                seq: registration.cseq,
                method: Method::Register,
            },
        );
        request.push_typed(HeaderName::Contact, &contact);
        request.push(HeaderName::Expires, expires.to_string().as_bytes());
        request.push_header(product);
        let authorization = authorization.or_else(|| {
            let client = registration.client.as_mut()?;
            client.preauthorize(&Method::Register, &registration.spec.registrar, b"")
        });
        if let Some((name, value)) = authorization {
            request.push_header(Header::new(name, value.as_bytes()));
        }
        registration.last_request = Some(request.clone());
        match self.transactions.send_request(now, request, destination) {
            Ok(tx) => {
                if let Some(registration) = self.registrations.get_mut(&id) {
                    registration.tx = Some(tx);
                }
                self.registration_txs.insert(tx, id);
            }
            Err(_) => self.registration_failed(now, id, 500),
        }
    }

    /// Handles the final response of a registration's transaction; returns whether `tx` was one.
    pub(crate) fn on_registration_response(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: &Message,
    ) -> bool {
        let Some(&id) = self.registration_txs.get(&tx) else {
            return false;
        };
        let Some(status) = response.status().filter(|s| *s >= 200) else {
            return true;
        };
        self.registration_txs.remove(&tx);
        let Some(registration) = self.registrations.get_mut(&id) else {
            return true;
        };
        match status {
            200..=299 if registration.unregistering => {
                self.registrations.remove(&id);
                self.events.push_back(Event::Registration {
                    id,
                    state: RegistrationState::Unregistered,
                });
            }
            200..=299 => {
                let granted = granted_expiry(response, registration.expires);
                self.registration_timers.set(
                    (id, RegistrationTimer::Refresh),
                    now + refresh_after(granted),
                );
                self.events.push_back(Event::Registration {
                    id,
                    state: RegistrationState::Registered { expires: granted },
                });
            }
            401 | 407 => {
                let answer = match (
                    registration.client.as_mut(),
                    registration.last_request.as_ref(),
                ) {
                    (Some(client), Some(request)) => client.authorize(request, response).ok(),
                    _ => None,
                };
                match answer {
                    Some(authorization) => self.send_register(now, id, Some(authorization)),
                    None => self.registration_failed(now, id, status),
                }
            }
            423 => {
                let minimum = response.header(&HeaderName::MinExpires).and_then(|h| {
                    std::str::from_utf8(h.value())
                        .ok()?
                        .trim()
                        .parse::<u32>()
                        .ok()
                });
                match minimum.filter(|m| *m > registration.expires) {
                    Some(minimum) => {
                        registration.expires = minimum;
                        self.send_register(now, id, None);
                    }
                    None => self.registration_failed(now, id, status),
                }
            }
            _ => self.registration_failed(now, id, status),
        }
        true
    }

    /// A registration transaction timed out; returns whether `tx` was one.
    pub(crate) fn on_registration_timeout(&mut self, now: Instant, tx: TransactionId) -> bool {
        match self.registration_txs.remove(&tx) {
            Some(id) => {
                self.registration_failed(now, id, 408);
                true
            }
            None => false,
        }
    }

    fn registration_failed(&mut self, now: Instant, id: RegistrationId, status: u16) {
        let Some(registration) = self.registrations.get_mut(&id) else {
            return;
        };
        if registration.unregistering {
            self.registrations.remove(&id);
            self.events.push_back(Event::Registration {
                id,
                state: RegistrationState::Unregistered,
            });
            return;
        }
        if let Some(client) = registration.client.as_mut() {
            client.reset();
        }
        self.registration_timers
            .set((id, RegistrationTimer::Retry), now + RETRY_AFTER);
        self.events.push_back(Event::Registration {
            id,
            state: RegistrationState::Failed { status },
        });
    }

    pub(crate) fn registration_timer(
        &mut self,
        now: Instant,
        id: RegistrationId,
        _timer: RegistrationTimer,
    ) {
        if self.registrations.contains_key(&id) {
            self.send_register(now, id, None);
        }
    }
}

/// The interval the registrar granted: our Contact's `expires` in the 200 (it lists every
/// binding; ours is the one with our user `opencec`), else its Expires header, else what we
/// asked for.
fn granted_expiry(response: &Message, asked: u32) -> u32 {
    let from_contact = response.contacts().ok().and_then(|contacts| {
        contacts
            .iter()
            .filter_map(|c| c.address())
            .find(|a| a.uri.user().is_some_and(|u| u.as_ref() == b"opencec"))
            .and_then(NameAddr::expires)
    });
    from_contact
        .or_else(|| response.expires().ok().flatten())
        .unwrap_or(asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_a_minute_early_but_never_after_half_the_interval() {
        assert_eq!(refresh_after(3600), Duration::from_secs(3540));
        assert_eq!(refresh_after(120), Duration::from_secs(60));
        assert_eq!(refresh_after(60), Duration::from_secs(30));
        assert_eq!(refresh_after(1), Duration::from_secs(1));
        assert_eq!(refresh_after(0), Duration::from_secs(1));
    }
}
