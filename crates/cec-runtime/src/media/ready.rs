//! Which of a shard's sockets became readable. Each socket registers its own waker with
//! tokio's reactor; waking it records the socket's slot and wakes the shard task, so a
//! shard owning thousands of sockets only looks at the ones that have data (the pattern of
//! `FuturesUnordered`, without a future per socket).

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Wake, Waker};

#[derive(Debug, Default)]
struct Inner {
    slots: Vec<usize>,
    task: Option<Waker>,
}

/// The ready list of one shard.
#[derive(Debug, Default)]
pub(crate) struct ReadySet {
    inner: Mutex<Inner>,
}

impl ReadySet {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers the shard task's waker (called at the start of every poll).
    pub(crate) fn register(&self, task: &Waker) {
        let mut inner = self.lock();
        match &inner.task {
            Some(current) if current.will_wake(task) => {}
            _ => inner.task = Some(task.clone()),
        }
    }

    /// Marks `slot` ready and wakes the shard.
    pub(crate) fn mark(&self, slot: usize) {
        let task = {
            let mut inner = self.lock();
            inner.slots.push(slot);
            inner.task.clone()
        };
        if let Some(task) = task {
            task.wake();
        }
    }

    /// Moves the ready slots into `into` (which should be empty; its capacity is reused).
    pub(crate) fn take(&self, into: &mut Vec<usize>) {
        std::mem::swap(&mut self.lock().slots, into);
    }

    /// The waker to register for the socket in `slot`.
    pub(crate) fn waker(self: &Arc<Self>, slot: usize) -> Waker {
        Waker::from(Arc::new(SocketWake {
            slot,
            set: Arc::clone(self),
        }))
    }
}

struct SocketWake {
    slot: usize,
    set: Arc<ReadySet>,
}

impl Wake for SocketWake {
    fn wake(self: Arc<Self>) {
        self.set.mark(self.slot);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.set.mark(self.slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_slots_and_wakes_the_task_once_registered() {
        struct Count(std::sync::atomic::AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let set = Arc::new(ReadySet::default());
        set.waker(3).wake_by_ref(); // before any registration: recorded, nobody to wake
        let count = Arc::new(Count(0.into()));
        set.register(&Waker::from(Arc::clone(&count)));
        set.waker(7).wake();
        let mut slots = Vec::new();
        set.take(&mut slots);
        assert_eq!(slots, [3, 7]);
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        slots.clear();
        set.take(&mut slots);
        assert!(slots.is_empty());
    }
}
