//! Media I/O: RTP/RTCP sockets for the sans-IO legs and bridges of `cec-media`.
//!
//! A [`MediaEngine`] owns a [`PortAllocator`] over `media.rtp_ports` and a fixed number of
//! shards (one per core by default), each alone on its own OS thread. Each leg lives in
//! one shard: new legs fill the first shard up to [`MediaConfig::pack_legs`], then go to
//! the least loaded (light load on one thread batches more datagrams per wake-up); a
//! bridge moves the second leg into the first one's shard so both sides of a call are
//! relayed by one thread with no locks. A shard runs the packets through [`cec_media::Bridge`] (header rewrite in
//! place) and writes what the far leg queued. With [`IoMode::Uring`] a shard thread runs
//! an io_uring loop: a multishot receive per socket into kernel-picked buffers, the sends
//! of a pass and the wait for the next batch in one `io_uring_enter`. With
//! [`IoMode::Mmsg`] it waits in epoll, reads the sockets reported readable with
//! `recvmmsg` and sends with `sendmmsg` per socket (on a current-thread tokio runtime of
//! its own). The relay path does not allocate:
//! receive and send buffers are allocated once per shard.
//!
//! The call core drives it through the handle: [`MediaEngine::allocate_leg`] (a port pair
//! and the SDP-negotiated [`LegConfig`]), [`MediaEngine::bridge`] (or [`MediaEngine::echo`]
//! for a lone leg that sends everything back, the echo-test number),
//! [`MediaEngine::renegotiate`] for the answer and re-INVITEs ([`MediaEngine::set_remote`]
//! / [`MediaEngine::set_direction`] for one field), [`MediaEngine::unbridge`],
//! [`MediaEngine::play`] / [`MediaEngine::stop_play`] for hold music, queue tones and
//! prompts (a [`cec_media::Playlist`], e.g. [`cec_media::Playlist::hold_pattern`]), and
//! [`MediaEngine::release`]. Leg events (latching, RTP timeout, DTMF, quality, playback
//! finished) arrive on the [`MediaEvent`] channel returned by [`MediaEngine::start`].
//!
//! Hold and resume are `play` and `bridge`: playing on a bridged leg ends the bridge
//! first, and bridging a playing leg ends its playback; the leg's outgoing stream (SSRC,
//! sequence, timestamp) continues across every switch. Shards wake every 50 ms for leg
//! timers, and every 20 ms only while one of their legs plays.
//!
//! ```no_run
//! # async fn demo(a_config: cec_media::LegConfig, b_config: cec_media::LegConfig)
//! # -> Result<(), cec_runtime::media::MediaError> {
//! use cec_runtime::media::{MediaConfig, MediaEngine};
//!
//! let config = MediaConfig { rtp_ports: "20000-29999".parse()?, ..MediaConfig::default() };
//! let (engine, mut events) = MediaEngine::start(config)?;
//! let caller = engine.allocate_leg(a_config)?; // put caller.local_rtp in our SDP
//! let agent = engine.allocate_leg(b_config)?;
//! engine.bridge(caller.id, agent.id).await?;
//! while let Some(event) = events.recv().await {
//!     println!("{}: {:?}", event.leg, event.event);
//! }
//! engine.release(caller.id);
//! engine.release(agent.id);
//! # Ok(()) }
//! ```

mod error;
mod io;
mod playback;
mod ports;
mod ready;
mod relay;
mod shard;
mod uring;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use cec_media::{LegConfig, LegEvent, MediaLeg, Playlist, Renegotiation};
use cec_sdp::Direction;
use std::time::Duration;

use nix::sys::eventfd::{EfdFlags, EventFd};
use tokio::sync::{mpsc, oneshot};

pub use error::MediaError;
pub use ports::{PortAllocator, PortPair, PortRange, PortReservation};

use shard::{Command, ShardCounters, ShardParts, ShardSender, Transfer};

/// Identifies a leg for the engine's lifetime (never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(u64);

impl LegId {
    /// The number behind the id.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The id whose number is `raw` (from [`LegId::get`]), for callers that keep leg ids
    /// as plain numbers (the call core). A number the engine never issued names an
    /// unknown leg: commands for it fail or are ignored, as for a released leg.
    pub fn from_raw(raw: u64) -> Self {
        Self(raw)
    }
}

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "leg-{}", self.0)
    }
}

/// A leg allocated by [`MediaEngine::allocate_leg`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegHandle {
    /// The leg's id, for the other engine calls and in its events.
    pub id: LegId,
    /// Where the peer must send RTP (the even port): goes into our SDP.
    pub local_rtp: SocketAddr,
    /// Where the peer must send RTCP (RTP port + 1).
    pub local_rtcp: SocketAddr,
}

/// Something a leg reports.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaEvent {
    /// Which leg.
    pub leg: LegId,
    /// What happened (latched, RTP timeout, DTMF digit, quality, ...).
    pub event: LegEvent,
}

/// How shards move datagrams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IoMode {
    /// epoll readiness, `recvmmsg` and `sendmmsg` per socket (safe code only).
    Mmsg,
    /// An io_uring loop per shard: multishot receives, sends and the wait in one
    /// syscall per pass. Falls back to [`IoMode::Mmsg`] (logged) where the kernel
    /// refuses io_uring or lacks what the loop uses (Linux 6.1).
    Uring,
    /// [`IoMode::Uring`] where io_uring works, else [`IoMode::Mmsg`].
    #[default]
    Auto,
}

/// Engine settings.
#[derive(Debug, Clone, Copy)]
pub struct MediaConfig {
    /// Address the RTP sockets bind to (and that goes into our SDP).
    pub bind_ip: IpAddr,
    /// Ports for RTP (even) and RTCP (odd), `media.rtp_ports`.
    pub rtp_ports: PortRange,
    /// Shard threads; 0 means one per available core.
    pub shards: usize,
    /// Capacity of the event channel; events beyond it are dropped and counted.
    pub event_capacity: usize,
    /// SO_RCVBUF / SO_SNDBUF per socket (best effort), `None` for the system default.
    pub socket_buffer: Option<usize>,
    /// How shards move datagrams ([`IoMode::Auto`] by default).
    pub io: IoMode,
    /// io_uring loop only: once a datagram is waiting, how long a shard may wait for
    /// more before relaying (fewer wake-ups under load). Bounds the delay variation the
    /// engine adds; needs Linux 6.12, older kernels relay each datagram at once.
    pub batch_wait: Duration,
    /// New legs go to the first shard with fewer legs than this, or else to the least
    /// loaded one; 0 spreads every leg by its id. Packing keeps light load on one thread,
    /// where datagrams batch per wake-up (about 25 % less CPU at 200 calls on 2 cores).
    pub pack_legs: usize,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rtp_ports: PortRange::DEFAULT,
            shards: 0,
            event_capacity: 4096,
            socket_buffer: Some(256 * 1024),
            io: IoMode::default(),
            batch_wait: Duration::from_micros(300),
            pack_legs: 1000,
        }
    }
}

/// `Auto` and `Uring` become `Uring` if this kernel lets us set up a ring, else `Mmsg`.
fn resolve_io(asked: IoMode) -> IoMode {
    match asked {
        IoMode::Mmsg => IoMode::Mmsg,
        IoMode::Uring | IoMode::Auto if uring_works() => IoMode::Uring,
        IoMode::Uring | IoMode::Auto => {
            tracing::info!(
                ?asked,
                "io_uring unavailable, media shards use epoll and sendmmsg"
            );
            IoMode::Mmsg
        }
    }
}

/// Probes io_uring on a thread of its own: a thread that used a ring keeps io_uring state
/// in the kernel, and task work aimed at it can interrupt the caller's blocking calls
/// (`EINTR` from a socket read with a timeout).
fn uring_works() -> bool {
    std::thread::Builder::new()
        .name("cec-uring-probe".into())
        .spawn(uring::available)
        .is_ok_and(|probe| probe.join().unwrap_or(false))
}

/// Counters over all shards since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// Datagrams read from leg sockets.
    pub datagrams_received: u64,
    /// Datagrams written (relayed RTP and our RTCP).
    pub datagrams_sent: u64,
    /// Datagrams the kernel refused (full buffer, unreachable).
    pub send_failures: u64,
    /// Events dropped because the event channel was full.
    pub events_dropped: u64,
    /// Port pairs (legs) currently allocated.
    pub legs: usize,
    /// Passes of the shards' loops (each a wake-up of a shard thread): about 20 per
    /// second per idle shard, 50 while one of its legs plays, more under traffic.
    pub wakeups: u64,
}

struct Inner {
    shards: Arc<[ShardSender]>,
    counters: Arc<[ShardCounters]>,
    ports: Arc<PortAllocator>,
    next_id: AtomicU64,
    placed: shard::Placed,
    pack_legs: usize,
    io: IoMode,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Shards hold senders to each other (to move legs), so closing ours is not enough.
        for shard in self.shards.iter() {
            let _ = shard.send(Command::Stop);
        }
    }
}

/// Handle to the media engine; cheap to clone. The engine stops (and closes every socket)
/// when the last clone drops.
#[derive(Clone)]
pub struct MediaEngine {
    inner: Arc<Inner>,
}

impl fmt::Debug for MediaEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaEngine")
            .field("shards", &self.inner.shards.len())
            .field("ports", &self.inner.ports.range())
            .finish_non_exhaustive()
    }
}

impl MediaEngine {
    /// Starts the shard threads (each with its own single-threaded tokio runtime and
    /// reactor); returns the handle and the event stream. The handle and the stream work
    /// from any runtime or thread.
    pub fn start(config: MediaConfig) -> Result<(Self, mpsc::Receiver<MediaEvent>), MediaError> {
        let count = match config.shards {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let io = resolve_io(config.io);
        let (event_tx, event_rx) = mpsc::channel(config.event_capacity.max(1));
        let mut senders = Vec::with_capacity(count);
        let mut receivers = Vec::with_capacity(count);
        for _ in 0..count {
            let wake = match io {
                IoMode::Uring => Some(Arc::new(
                    EventFd::from_value_and_flags(
                        0,
                        EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK,
                    )
                    .map_err(std::io::Error::from)?,
                )),
                IoMode::Mmsg | IoMode::Auto => None,
            };
            let (sender, receiver) = ShardSender::new(wake.clone());
            senders.push(sender);
            receivers.push((receiver, wake));
        }
        let shards: Arc<[_]> = senders.into();
        let counters: Arc<[ShardCounters]> = (0..count).map(|_| ShardCounters::default()).collect();
        let placed: shard::Placed = (0..count).map(|_| AtomicUsize::new(0)).collect();
        for (index, (commands, wake)) in receivers.into_iter().enumerate() {
            let parts = ShardParts {
                index,
                commands,
                peers: Arc::clone(&shards),
                events: event_tx.clone(),
                counters: Arc::clone(&counters),
                placed: Arc::clone(&placed),
                wake,
                batch_wait: config.batch_wait,
            };
            let spawned = match io {
                IoMode::Uring => shard::spawn_ring(parts),
                IoMode::Mmsg | IoMode::Auto => shard::spawn_epoll(parts),
            };
            if let Err(e) = spawned {
                // Threads already started stop when their command channels close.
                for shard in shards.iter() {
                    let _ = shard.send(Command::Stop);
                }
                return Err(e);
            }
        }
        let ports = PortAllocator::new(config.bind_ip, config.rtp_ports, config.socket_buffer);
        let inner = Inner {
            shards,
            counters,
            ports,
            next_id: AtomicU64::new(1),
            placed,
            pack_legs: config.pack_legs,
            io,
        };
        Ok((
            Self {
                inner: Arc::new(inner),
            },
            event_rx,
        ))
    }

    fn send(&self, leg: LegId, command: Command) -> Result<(), MediaError> {
        let shards = &self.inner.shards;
        let home = shard::home(leg, shards.len());
        let shard = shards.get(home).ok_or(MediaError::Stopped)?;
        shard.send(command)
    }

    /// Binds a port pair and starts a leg on it; the leg latches, times out and reports
    /// as `config` says. Fails only when the port range is exhausted or the engine stopped.
    pub fn allocate_leg(&self, config: LegConfig) -> Result<LegHandle, MediaError> {
        let pair = self.inner.ports.allocate()?;
        let id = self.next_leg_id();
        let handle = LegHandle {
            id,
            local_rtp: pair.rtp_addr(),
            local_rtcp: pair.rtcp_addr(),
        };
        let transfer = Transfer {
            id,
            leg: MediaLeg::new(Instant::now(), config),
            rtp: pair.rtp,
            rtcp: pair.rtcp,
            ports: pair.reservation,
        };
        // On failure the transfer drops here and its ports return to the pool.
        if let Err(e) = self.send(id, Command::Add(Box::new(transfer))) {
            shard::unplace(&self.inner.placed, id);
            return Err(e);
        }
        Ok(handle)
    }

    /// A fresh id whose home is the shard a new leg should go to (see
    /// [`MediaConfig::pack_legs`]), counted there.
    fn next_leg_id(&self) -> LegId {
        let inner = &self.inner;
        let shards = inner.shards.len();
        let load = |index: usize| {
            inner
                .placed
                .get(index)
                .map_or(0, |n| n.load(Ordering::Relaxed))
        };
        let target = if inner.pack_legs == 0 {
            None
        } else {
            (0..shards)
                .find(|&index| load(index) < inner.pack_legs)
                .or_else(|| (0..shards).min_by_key(|&index| load(index)))
        };
        // Ids are never reused, so skipping some to land on the target shard costs nothing;
        // the home of an id is a hash, so a few tries find one.
        let mut id = LegId(inner.next_id.fetch_add(1, Ordering::Relaxed));
        if let Some(target) = target {
            for _ in 0..shards * 16 {
                if shard::home(id, shards) == target {
                    break;
                }
                id = LegId(inner.next_id.fetch_add(1, Ordering::Relaxed));
            }
        }
        if let Some(count) = inner.placed.get(shard::home(id, shards)) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        id
    }

    /// Relays `a` and `b` to each other (transcoding A-law/µ-law if their codecs differ,
    /// DTMF events remapped). Both must be allocated and not already bridged; what either
    /// played (hold music) or echoed stops.
    ///
    /// The command is queued when this is called, after earlier commands for `b`: `b`'s
    /// shard moves `b` to `a`'s shard, where the bridge is made. So it follows earlier
    /// commands for either leg (`stop_play(a)` then `bridge(a, b)` is safe without
    /// waiting), but a later command for `a` can overtake it: await the bridge before
    /// e.g. a `play(a)` that must come after it.
    pub fn bridge(
        &self,
        a: LegId,
        b: LegId,
    ) -> impl Future<Output = Result<(), MediaError>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let queued = if a == b {
            Err(MediaError::SelfBridge(a))
        } else {
            self.send(b, Command::Bridge { a, b, reply })
        };
        async move {
            queued?;
            answer.await.map_err(|_| MediaError::Stopped)?
        }
    }

    /// Makes a lone leg an echo (the echo-test number): every RTP packet it accepts, audio
    /// and RFC 4733 events alike, goes back to its remote through the leg's own stream
    /// (our SSRC, continuous sequence and timestamp), rewritten in place without
    /// allocating. RTCP is not echoed; the leg keeps sending its own reports. Bridging the
    /// leg later ends the echo, and so does [`MediaEngine::play`]; echo ends what the leg
    /// played. Release works as for any leg.
    ///
    /// The command is queued when this is called (before any other command for the leg
    /// issued after it); awaiting the future only reports the outcome, so a caller that
    /// cannot wait may drop it. Fails for unknown and bridged legs.
    pub fn echo(
        &self,
        leg: LegId,
    ) -> impl Future<Output = Result<(), MediaError>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let queued = self.send(leg, Command::Echo { leg, reply });
        async move {
            queued?;
            answer.await.map_err(|_| MediaError::Stopped)?
        }
    }

    /// New remote addresses from a re-INVITE (the leg latches again).
    pub fn set_remote(&self, leg: LegId, rtp: Option<SocketAddr>, rtcp: Option<SocketAddr>) {
        let _ = self.send(leg, Command::SetRemote { leg, rtp, rtcp });
    }

    /// Applies a new offer/answer outcome to a live leg: the codec and payload types of
    /// the answer (a leg is allocated with the offer's), or of a re-INVITE/UPDATE, and its
    /// direction and remote addresses. Our SSRC, sequence and timestamp continue; a bridge
    /// transcodes from then on if the two legs now differ.
    ///
    /// The command is queued when this is called; the future resolves once the leg's shard
    /// has applied it (datagrams it relays after that use the new terms), so a caller that
    /// must not relay old-format media past a point awaits it. Fails for unknown legs.
    pub fn renegotiate(
        &self,
        leg: LegId,
        update: Renegotiation,
    ) -> impl Future<Output = Result<(), MediaError>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let queued = self.send(
            leg,
            Command::Renegotiate {
                leg,
                update: Box::new(update),
                reply,
            },
        );
        async move {
            queued?;
            answer.await.map_err(|_| MediaError::Stopped)?
        }
    }

    /// Ends the bridge `leg` is in (either of its two legs may be named): both legs stay
    /// allocated, alone, each keeping its stream, ready for a prompt, hold, echo or
    /// another bridge. Fails for unknown legs and legs that are not bridged.
    ///
    /// The command is queued when this is called (before any later command for `leg`),
    /// so `unbridge(a)` then `play(a)` keeps its order without waiting in between.
    pub fn unbridge(
        &self,
        leg: LegId,
    ) -> impl Future<Output = Result<(), MediaError>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let queued = self.send(leg, Command::Unbridge { leg, reply });
        async move {
            queued?;
            answer.await.map_err(|_| MediaError::Stopped)?
        }
    }

    /// Plays `playlist` to the leg's peer as RTP in the leg's negotiated codec: 20 ms
    /// packets paced against real time, through the leg's own stream (our SSRC, the next
    /// sequence number, the timestamp advanced by the time that passed), replacing
    /// anything the leg played or echoed. A renegotiation during playback switches it to
    /// the new codec. What the peer sends is still received (latching, statistics, DTMF
    /// events) and goes nowhere.
    ///
    /// A bridged leg leaves its bridge first: its partner stays allocated, alone and
    /// silent (hold is this one call; [`MediaEngine::bridge`] resumes and ends the
    /// playback). A playlist that ends reports [`LegEvent::PlaybackFinished`]; one with
    /// `barge_in` stops at the caller's first DTMF digit and reports
    /// [`LegEvent::PlaybackInterrupted`] after the [`LegEvent::Dtmf`].
    ///
    /// The command is queued when this is called (before any later command for the leg);
    /// the future resolves once the leg's shard started the playback, so awaiting it
    /// orders it against datagrams and other legs. Fails for unknown legs.
    pub fn play(
        &self,
        leg: LegId,
        playlist: Playlist,
    ) -> impl Future<Output = Result<(), MediaError>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let queued = self.send(
            leg,
            Command::Play {
                leg,
                playlist: Box::new(playlist),
                reply,
            },
        );
        async move {
            queued?;
            answer.await.map_err(|_| MediaError::Stopped)?
        }
    }

    /// Stops what the leg plays: it sends nothing until told otherwise (a leg that plays
    /// nothing is fine). No event is reported. Queued when called, like
    /// [`MediaEngine::play`]; fails for unknown legs.
    pub fn stop_play(
        &self,
        leg: LegId,
    ) -> impl Future<Output = Result<(), MediaError>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let queued = self.send(leg, Command::StopPlay { leg, reply });
        async move {
            queued?;
            answer.await.map_err(|_| MediaError::Stopped)?
        }
    }

    /// New direction from a re-INVITE (hold / resume).
    pub fn set_direction(&self, leg: LegId, direction: Direction) {
        let _ = self.send(leg, Command::SetDirection { leg, direction });
    }

    /// Stops a leg and frees its ports; its bridge partner stays allocated, unbridged.
    /// Unknown or already released legs are ignored.
    pub fn release(&self, leg: LegId) {
        let _ = self.send(leg, Command::Release(leg));
    }

    /// The I/O mode in use: [`IoMode::Mmsg`] or [`IoMode::Uring`], never `Auto`.
    pub fn io_mode(&self) -> IoMode {
        self.inner.io
    }

    /// Legs per shard thread by where they were placed (a bridged leg runs on its
    /// partner's shard), for diagnostics and the placement tests.
    pub fn placement(&self) -> Vec<usize> {
        self.inner
            .placed
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect()
    }

    /// Counters since start.
    pub fn stats(&self) -> MediaStats {
        let mut stats = MediaStats {
            legs: self.inner.ports.in_use(),
            ..MediaStats::default()
        };
        for shard in self.inner.counters.iter() {
            let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
            stats.datagrams_received += read(&shard.received);
            stats.datagrams_sent += read(&shard.sent);
            stats.send_failures += read(&shard.send_failed);
            stats.events_dropped += read(&shard.events_dropped);
            stats.wakeups += read(&shard.wakeups);
        }
        stats
    }
}
