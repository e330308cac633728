//! Trunk link supervision: every configured SIP peer is probed with OPTIONS at a fixed
//! interval (60 s by default); a link is Up while probes get a 200 (or, if configured, any
//! final response) before timer F, and Down after `failure_threshold` failures in a row.
//! Status changes are reported once each, so the call path can stop routing to a dead trunk.
//!
//! Sans-IO: the monitor says which trunk is due ([`TrunkMonitor::poll_probe`]); the caller
//! sends the OPTIONS through the [`crate::Endpoint`] and feeds back the transaction's outcome.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use cec_sip_msg::{Message, Uri};

use crate::peer::Peer;
use crate::timer::TimerTable;
use crate::transaction::TransactionId;

/// Probing policy of one trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbePolicy {
    /// Time between probes.
    pub interval: Duration,
    /// Consecutive failures that take a link Down.
    pub failure_threshold: u32,
    /// Count any final response (e.g. 404, 405 from a gateway that dislikes OPTIONS) as alive;
    /// by default only 200 does.
    pub accept_any_response: bool,
}

impl Default for ProbePolicy {
    fn default() -> Self {
        ProbePolicy {
            interval: Duration::from_secs(60),
            failure_threshold: 3,
            accept_any_response: false,
        }
    }
}

/// A link's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// Not probed yet.
    Unknown,
    /// Answering.
    Up,
    /// Not answering (or answering with errors).
    Down,
}

/// A status change, reported once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The trunk.
    pub trunk: String,
    /// Previous status.
    pub from: LinkStatus,
    /// New status.
    pub to: LinkStatus,
    /// When it changed.
    pub at: Instant,
    /// What decided it: `"200 OK"`, `"timeout"`, `"503"`...
    pub cause: String,
}

#[derive(Debug)]
struct Trunk {
    target: Peer,
    uri: Uri,
    policy: ProbePolicy,
    status: LinkStatus,
    failures: u32,
    in_flight: Option<TransactionId>,
}

/// Supervises the links to every configured trunk.
#[derive(Debug, Default)]
pub struct TrunkMonitor {
    trunks: BTreeMap<String, Trunk>,
    by_tx: HashMap<TransactionId, String>,
    due: TimerTable<usize>,
    slots: Vec<String>,
    changes: VecDeque<StatusChange>,
}

impl TrunkMonitor {
    /// An empty monitor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts supervising `name` at `target`, probing `uri`; the first probe is due at once.
    /// Re-adding a trunk replaces its target and policy and keeps its status.
    pub fn add_trunk(
        &mut self,
        now: Instant,
        name: &str,
        target: Peer,
        uri: Uri,
        policy: ProbePolicy,
    ) {
        let status = self
            .trunks
            .get(name)
            .map_or(LinkStatus::Unknown, |t| t.status);
        self.trunks.insert(
            name.to_string(),
            Trunk {
                target,
                uri,
                policy,
                status,
                failures: 0,
                in_flight: None,
            },
        );
        let slot = self.slot(name);
        self.due.set(slot, now);
    }

    /// Stops supervising `name`.
    pub fn remove_trunk(&mut self, name: &str) {
        if let Some(tx) = self.trunks.remove(name).and_then(|t| t.in_flight) {
            self.by_tx.remove(&tx);
        }
        if let Some(slot) = self.slots.iter().position(|s| s == name) {
            self.due.cancel(slot);
        }
    }

    fn slot(&mut self, name: &str) -> usize {
        match self.slots.iter().position(|s| s == name) {
            Some(i) => i,
            None => {
                self.slots.push(name.to_string());
                self.slots.len() - 1
            }
        }
    }

    /// The status of `name`.
    pub fn status(&self, name: &str) -> Option<LinkStatus> {
        self.trunks.get(name).map(|t| t.status)
    }

    /// A trunk due for a probe: its name, where to send and the Request-URI. Call
    /// [`TrunkMonitor::probe_sent`] with the transaction that carries it.
    pub fn poll_probe(&mut self, now: Instant) -> Option<(String, Peer, Uri)> {
        while let Some(slot) = self.due.pop_expired(now) {
            let Some(name) = self.slots.get(slot).cloned() else {
                continue;
            };
            let Some(trunk) = self.trunks.get(&name) else {
                continue;
            };
            let interval = trunk.policy.interval;
            self.due.set(slot, now + interval);
            if trunk.in_flight.is_some() {
                continue; // the previous probe is still running (timer F is 32 s)
            }
            return Some((name, trunk.target, trunk.uri.clone()));
        }
        None
    }

    /// Records the transaction that carries the probe of `name`.
    pub fn probe_sent(&mut self, name: &str, tx: TransactionId) {
        if let Some(trunk) = self.trunks.get_mut(name) {
            trunk.in_flight = Some(tx);
            self.by_tx.insert(tx, name.to_string());
        }
    }

    /// A probe could not even be sent (no route, transport refused): a failure.
    pub fn probe_failed_to_send(&mut self, now: Instant, name: &str) {
        self.record(now, name, false, "not sent".to_string());
    }

    /// Feeds a final response of a transaction; returns whether it was a probe.
    pub fn handle_response(&mut self, now: Instant, tx: TransactionId, response: &Message) -> bool {
        let Some(status) = response.status().filter(|s| *s >= 200) else {
            return self.by_tx.contains_key(&tx);
        };
        let Some(name) = self.by_tx.remove(&tx) else {
            return false;
        };
        let Some(trunk) = self.trunks.get_mut(&name) else {
            return true;
        };
        trunk.in_flight = None;
        let alive = status == 200 || trunk.policy.accept_any_response;
        let reason = response
            .reason()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .unwrap_or_default();
        self.record(
            now,
            &name,
            alive,
            format!("{status} {reason}").trim_end().to_string(),
        );
        true
    }

    /// Feeds a transaction timeout (timer F) or transport failure; returns whether it was a
    /// probe.
    pub fn handle_timeout(&mut self, now: Instant, tx: TransactionId) -> bool {
        let Some(name) = self.by_tx.remove(&tx) else {
            return false;
        };
        if let Some(trunk) = self.trunks.get_mut(&name) {
            trunk.in_flight = None;
        }
        self.record(now, &name, false, "timeout".to_string());
        true
    }

    fn record(&mut self, now: Instant, name: &str, alive: bool, cause: String) {
        let Some(trunk) = self.trunks.get_mut(name) else {
            return;
        };
        let before = trunk.status;
        if alive {
            trunk.failures = 0;
            trunk.status = LinkStatus::Up;
        } else {
            trunk.failures = trunk.failures.saturating_add(1);
            if trunk.failures >= trunk.policy.failure_threshold.max(1) {
                trunk.status = LinkStatus::Down;
            }
        }
        if trunk.status != before {
            self.changes.push_back(StatusChange {
                trunk: name.to_string(),
                from: before,
                to: trunk.status,
                at: now,
                cause,
            });
        }
    }

    /// The next status change.
    #[must_use]
    pub fn poll_change(&mut self) -> Option<StatusChange> {
        self.changes.pop_front()
    }

    /// When the next probe is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.due.next_deadline()
    }
}
