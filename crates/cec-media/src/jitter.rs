//! Fixed-delay jitter and reorder buffer keyed by RTP sequence number.
//!
//! The consumer pops once per 20 ms tick. Playout starts `depth` ticks after the first
//! packet, so packets delayed by up to roughly `(depth - 1) * 20 ms` more than the first
//! one still play in order; later ones are dropped as late and their slot plays as lost.

/// Jitter buffer sizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Ticks (frames) between the first packet and its playout: the added delay.
    pub depth: usize,
    /// Frames that can be held; packets further ahead than this push the oldest out.
    pub capacity: usize,
}

impl Default for JitterConfig {
    /// 100 ms of delay (covers 60 ms of network jitter plus tick phase), 640 ms of room.
    fn default() -> Self {
        Self {
            depth: 5,
            capacity: 32,
        }
    }
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Stored for playout.
    Queued,
    /// Its slot was already played: dropped.
    Late,
    /// A packet with this sequence number is already buffered: dropped.
    Duplicate,
    /// The sequence number jumped (new source); the buffer restarted from this packet.
    Resynced,
}

/// What one tick of playout yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<T> {
    /// Still filling up (or idle): nothing to play yet.
    Buffering,
    /// The packet for this slot.
    Item {
        /// Its sequence number.
        seq: u16,
        /// The buffered payload.
        item: T,
    },
    /// The packet for this slot never arrived (or arrived too late).
    Lost {
        /// The missing sequence number.
        seq: u16,
    },
}

/// Counters kept by a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JitterStats {
    /// Packets dropped because their slot had been played.
    pub late: u64,
    /// Duplicates dropped.
    pub duplicate: u64,
    /// Slots played as lost.
    pub lost: u64,
    /// Packets pushed out because the buffer overflowed.
    pub overflow: u64,
    /// Restarts after a sequence jump or an underrun.
    pub restarts: u64,
}

/// A reorder buffer that plays packets in sequence order at a fixed delay.
#[derive(Debug, Clone)]
pub struct JitterBuffer<T> {
    config: JitterConfig,
    slots: Vec<Option<T>>,
    /// Ring index of `next_seq`.
    head: usize,
    next_seq: u16,
    /// One past the furthest occupied offset from `head`.
    span: usize,
    buffered: usize,
    started: bool,
    playing: bool,
    ticks_waited: usize,
    stats: JitterStats,
}

impl<T> JitterBuffer<T> {
    /// An empty buffer; `depth` and `capacity` are raised to at least 1 and `depth + 1`.
    pub fn new(config: JitterConfig) -> Self {
        let depth = config.depth.max(1);
        let capacity = config.capacity.max(depth + 1);
        let mut slots = Vec::with_capacity(capacity);
        slots.resize_with(capacity, || None);
        Self {
            config: JitterConfig { depth, capacity },
            slots,
            head: 0,
            next_seq: 0,
            span: 0,
            buffered: 0,
            started: false,
            playing: false,
            ticks_waited: 0,
            stats: JitterStats::default(),
        }
    }

    /// The effective configuration.
    pub fn config(&self) -> JitterConfig {
        self.config
    }

    /// Packets currently held.
    pub fn len(&self) -> usize {
        self.buffered
    }

    /// Whether no packet is held.
    pub fn is_empty(&self) -> bool {
        self.buffered == 0
    }

    /// Counters since creation.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Drops everything and waits for a new first packet.
    pub fn reset(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
        self.head = 0;
        self.span = 0;
        self.buffered = 0;
        self.started = false;
        self.playing = false;
        self.ticks_waited = 0;
    }

    /// Offers a packet.
    pub fn push(&mut self, seq: u16, item: T) -> Push {
        let capacity = self.config.capacity;
        if !self.started {
            self.start_at(seq, item);
            return Push::Queued;
        }
        // Signed distance from the next slot to play, modulo 2^16.
        let delta = i32::from(seq.wrapping_sub(self.next_seq) as i16);
        if delta < 0 {
            let behind = delta.unsigned_abs() as usize;
            if !self.playing && self.span + behind <= capacity {
                // Reordered packets before playout starts: move the start back.
                self.head = (self.head + capacity - behind) % capacity;
                self.next_seq = seq;
                self.span += behind;
                self.store(0, item);
                return Push::Queued;
            }
            if behind <= 2 * capacity {
                self.stats.late += 1;
                return Push::Late;
            }
            self.resync(seq, item);
            return Push::Resynced;
        }
        let ahead = delta.unsigned_abs() as usize;
        if ahead >= 2 * capacity {
            self.resync(seq, item);
            return Push::Resynced;
        }
        if ahead >= capacity {
            // The consumer is behind: give up the oldest slots to make room.
            let drop = ahead + 1 - capacity;
            for _ in 0..drop {
                if self.advance().is_some() {
                    self.stats.overflow += 1;
                }
            }
            let ahead = ahead - drop;
            return self.store(ahead, item);
        }
        self.store(ahead, item)
    }

    /// Plays the next slot; call once per frame tick.
    pub fn pop(&mut self) -> Playout<T> {
        if !self.started {
            return Playout::Buffering;
        }
        if !self.playing {
            self.ticks_waited += 1;
            if self.ticks_waited < self.config.depth {
                return Playout::Buffering;
            }
            self.playing = true;
        }
        let seq = self.next_seq;
        if self.buffered == 0 {
            // Underrun (the stream stopped or stalled): start over with the next packet
            // so a resumed stream is not dropped as late.
            self.stats.lost += 1;
            self.stats.restarts += 1;
            self.reset();
            return Playout::Lost { seq };
        }
        match self.advance() {
            Some(item) => Playout::Item { seq, item },
            None => {
                self.stats.lost += 1;
                Playout::Lost { seq }
            }
        }
    }

    fn start_at(&mut self, seq: u16, item: T) {
        self.reset();
        self.started = true;
        self.next_seq = seq;
        self.store(0, item);
    }

    fn resync(&mut self, seq: u16, item: T) {
        self.stats.restarts += 1;
        self.start_at(seq, item);
    }

    fn store(&mut self, offset: usize, item: T) -> Push {
        let capacity = self.config.capacity;
        let Some(slot) = self.slots.get_mut((self.head + offset) % capacity) else {
            return Push::Late;
        };
        if slot.is_some() {
            self.stats.duplicate += 1;
            return Push::Duplicate;
        }
        *slot = Some(item);
        self.buffered += 1;
        self.span = self.span.max(offset + 1);
        Push::Queued
    }

    /// Takes the head slot and moves on by one sequence number.
    fn advance(&mut self) -> Option<T> {
        let taken = self.slots.get_mut(self.head).and_then(Option::take);
        if taken.is_some() {
            self.buffered -= 1;
        }
        self.head = (self.head + 1) % self.config.capacity;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.span = self.span.saturating_sub(1);
        taken
    }
}
