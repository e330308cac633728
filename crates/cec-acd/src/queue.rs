//! Skill queues: the calls waiting for an agent, in order.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::agent::CallRef;

/// A call waiting in a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// The call.
    pub call: CallRef,
    /// When it first entered the queue (kept when it returns to the head).
    pub since: Instant,
}

/// Counts for one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Calls waiting.
    pub waiting: usize,
}

/// Every queue's waiting calls, keyed by (tenant, queue name).
#[derive(Debug, Default)]
pub struct Queues {
    waiting: HashMap<(String, String), VecDeque<Waiting>>,
}

impl Queues {
    /// Adds `call` at the tail; returns its position (1 = head).
    pub fn enqueue(&mut self, tenant: &str, queue: &str, call: CallRef, since: Instant) -> usize {
        let list = self.list(tenant, queue);
        list.push_back(Waiting { call, since });
        list.len()
    }

    /// Puts `call` back at the head (its agent did not answer), keeping its original
    /// `since` so waiting-time limits still count from the first entry.
    pub fn requeue_front(&mut self, tenant: &str, queue: &str, call: CallRef, since: Instant) {
        self.list(tenant, queue).push_front(Waiting { call, since });
    }

    /// Takes `call` out of whatever queue it waits in; whether it was there.
    pub fn remove(&mut self, tenant: &str, queue: &str, call: CallRef) -> bool {
        let key = (tenant.to_owned(), queue.to_owned());
        let Some(list) = self.waiting.get_mut(&key) else {
            return false;
        };
        let before = list.len();
        list.retain(|w| w.call != call);
        let removed = list.len() != before;
        if list.is_empty() {
            self.waiting.remove(&key);
        }
        removed
    }

    /// Calls waiting in a queue.
    pub fn stats(&self, tenant: &str, queue: &str) -> QueueStats {
        QueueStats {
            waiting: self
                .waiting
                .get(&(tenant.to_owned(), queue.to_owned()))
                .map_or(0, VecDeque::len),
        }
    }

    /// The queues with waiting calls, each with its head call, oldest head first (so the
    /// longest-waiting call across queues is served first when one agent serves several).
    pub fn heads(&self) -> Vec<(String, String, Waiting)> {
        let mut heads: Vec<(String, String, Waiting)> = self
            .waiting
            .iter()
            .filter_map(|((t, q), list)| list.front().map(|w| (t.clone(), q.clone(), *w)))
            .collect();
        heads.sort_by_key(|(_, _, w)| (w.since, w.call));
        heads
    }

    /// Every waiting call of a queue, head first.
    pub fn waiting(&self, tenant: &str, queue: &str) -> Vec<Waiting> {
        self.waiting
            .get(&(tenant.to_owned(), queue.to_owned()))
            .map(|l| l.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Total calls waiting anywhere.
    pub fn total(&self) -> usize {
        self.waiting.values().map(VecDeque::len).sum()
    }

    fn list(&mut self, tenant: &str, queue: &str) -> &mut VecDeque<Waiting> {
        self.waiting
            .entry((tenant.to_owned(), queue.to_owned()))
            .or_default()
    }
}
