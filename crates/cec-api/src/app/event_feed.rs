//! The last committed event `seq`: the batch writer reports each commit, readers waiting
//! for new events (long polls, WebSockets) wake on it and read the store again. A watch
//! channel holds only the latest value, so a slow reader never makes the writer wait and
//! never misses that something changed.

use std::sync::Arc;

use cec_store::EventRecord;
use tokio::sync::watch;
use tokio::time::Instant;

use super::ApiState;
use crate::Problem;

/// Shared by every clone of the state.
#[derive(Clone)]
pub(crate) struct EventFeed {
    last: Arc<watch::Sender<i64>>,
}

impl EventFeed {
    /// A feed whose last committed seq is `last` (the store's at start-up).
    pub(crate) fn new(last: i64) -> EventFeed {
        EventFeed {
            last: Arc::new(watch::Sender::new(last)),
        }
    }

    /// Records a commit up to `last`; never goes backwards.
    pub(crate) fn committed(&self, last: i64) {
        self.last.send_if_modified(|current| {
            let newer = last > *current;
            if newer {
                *current = last;
            }
            newer
        });
    }

    /// A receiver of commits. Subscribe before reading the store, so a commit between the
    /// read and the wait still wakes the reader.
    pub(crate) fn subscribe(&self) -> watch::Receiver<i64> {
        self.last.subscribe()
    }
}

/// Waits until a commit beyond `seen` or until `deadline`; the new last seq, or `None` on
/// timeout.
pub(crate) async fn wait_beyond(
    commits: &mut watch::Receiver<i64>,
    seen: i64,
    deadline: Instant,
) -> Option<i64> {
    match tokio::time::timeout_at(deadline, commits.wait_for(|last| *last > seen)).await {
        Ok(Ok(last)) => Some(*last),
        // Timed out, or the sender is gone (it lives as long as the state).
        _ => None,
    }
}

/// Who reads events: the whole tenant, or one agent's own events.
#[derive(Debug, Clone)]
pub(crate) struct EventReader {
    pub(crate) tenant_id: String,
    /// `Some(work_no)` for an agent's session: only events naming that agent.
    pub(crate) agent: Option<String>,
}

impl EventReader {
    /// The reader's events with `seq > after`, at most `limit`.
    pub(crate) async fn read(
        &self,
        state: &ApiState,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, Problem> {
        let events = match &self.agent {
            None => {
                state
                    .store
                    .events_after(&self.tenant_id, after, limit)
                    .await?
            }
            Some(agent) => {
                state
                    .store
                    .agent_events_after(&self.tenant_id, agent, after, limit)
                    .await?
            }
        };
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn commits_wake_waiters_and_never_go_back() {
        let feed = EventFeed::new(5);
        let mut commits = feed.subscribe();
        let soon = Instant::now() + Duration::from_millis(50);
        assert_eq!(wait_beyond(&mut commits, 5, soon).await, None);
        feed.committed(3);
        assert_eq!(*feed.subscribe().borrow(), 5, "older commits are ignored");
        let waiter = tokio::spawn(async move {
            let later = Instant::now() + Duration::from_secs(10);
            wait_beyond(&mut commits, 5, later).await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        feed.committed(9);
        assert_eq!(waiter.await.unwrap(), Some(9));
    }
}
