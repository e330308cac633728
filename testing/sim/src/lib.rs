//! Deterministic network simulation for OpenCEC's tests: a virtual clock, seeded
//! randomness, lossy/jittery/reordering/duplicating links, scripted faults, and a driver
//! that runs sans-IO nodes against each other in virtual time.
//!
//! "INVITE over UDP with 30 % loss completes", "CANCEL crosses 200 OK" or "bridged media
//! legs under 1 % loss and 60 ms jitter" then run in milliseconds, with no sockets and no
//! sleeps, and the same seed replays the same run event for event.
//!
//! # Model
//!
//! - [`Rng`]: SplitMix64-seeded xoshiro256**; the only randomness in a simulation.
//! - [`VirtualClock`]: the only "now"; it moves when the simulation moves it.
//! - [`Network`]: one-way [`LinkConfig`]s between addresses, scripted [`Rule`]s
//!   ("drop the first two PRACKs"), [`Network::partition`], [`Stats`] and a trace of
//!   every event ([`TraceEntry`]). Usable on its own with [`Network::send`] and
//!   [`Network::pop_due`].
//! - [`Simulation`]: [`Node`]s (anything with `handle_packet`, `poll_transmit`,
//!   `poll_timeout`, `handle_timeout`) on a network, stepped event by event, with
//!   [`Limits`] so a node that never settles fails the test instead of hanging it.
//!
//! # Example
//!
//! A client sends "ping" every 100 ms until the server answers "pong"; the path loses
//! half of the packets.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use cec_sim::{LinkConfig, Node, Simulation};
//!
//! const CLIENT: u8 = 1;
//! const SERVER: u8 = 2;
//!
//! #[derive(Default)]
//! struct Client { ponged: bool, retry_at: Option<Instant>, due: bool }
//!
//! impl Node<u8, &'static str> for Client {
//!     fn handle_packet(&mut self, _now: Instant, _from: u8, packet: &'static str) {
//!         if packet == "pong" {
//!             self.ponged = true;
//!             self.retry_at = None;
//!         }
//!     }
//!     fn poll_transmit(&mut self, now: Instant) -> Option<(u8, &'static str)> {
//!         if self.ponged || !(self.due || self.retry_at.is_none()) {
//!             return None;
//!         }
//!         self.due = false;
//!         self.retry_at = Some(now + Duration::from_millis(100));
//!         Some((SERVER, "ping"))
//!     }
//!     fn poll_timeout(&self) -> Option<Instant> { self.retry_at }
//!     fn handle_timeout(&mut self, now: Instant) {
//!         if self.retry_at.is_some_and(|at| at <= now) {
//!             self.due = true;
//!         }
//!     }
//! }
//!
//! #[derive(Default)]
//! struct Server { replies: Vec<u8> }
//!
//! impl Node<u8, &'static str> for Server {
//!     fn handle_packet(&mut self, _now: Instant, from: u8, _packet: &'static str) {
//!         self.replies.push(from);
//!     }
//!     fn poll_transmit(&mut self, _now: Instant) -> Option<(u8, &'static str)> {
//!         Some((self.replies.pop()?, "pong"))
//!     }
//!     fn poll_timeout(&self) -> Option<Instant> { None }
//!     fn handle_timeout(&mut self, _now: Instant) {}
//! }
//!
//! let mut sim = Simulation::new(7); // the seed decides which packets are lost
//! sim.net.set_default_link(LinkConfig::lossy(0.5));
//! sim.net.set_labeler(|packet: &&str| packet.to_string());
//! sim.add_node(CLIENT, Client::default());
//! sim.add_node(SERVER, Server::default());
//!
//! let quiet = sim.run_until_quiet(Duration::from_secs(10))?;
//! assert!(quiet, "{}", sim.trace_text()); // the trace says what happened if not
//! assert!(sim.node::<Client>(CLIENT).unwrap().ponged);
//! assert!(sim.net.stats().sent >= 2); // at least one ping and one pong
//! # Ok::<(), cec_sim::SimError<u8>>(())
//! ```
//!
//! # Why we wrote it
//!
//! Existing simulators (turmoil, madsim) fake tokio's sockets, timers and tasks, i.e.
//! they run async code under a simulated runtime. Our protocol cores are sans-IO state
//! machines that take `now` as an argument, so all they need is a clock, a queue of
//! packets and a seeded coin: a few hundred lines we can read in full, with scripted
//! per-packet faults in the vocabulary of our tests and no runtime dependency.

mod clock;
mod link;
mod network;
mod rng;
mod rule;
mod sim;
mod trace;

use std::fmt::Debug;
use std::hash::Hash;

pub use clock::VirtualClock;
pub use link::{Bandwidth, LinkConfig};
pub use network::{Delivery, Network};
pub use rng::Rng;
pub use rule::{Rule, RuleAction, RuleId};
pub use sim::{Limits, Node, SimError, Simulation};
pub use trace::{DropReason, Stats, TraceEntry, TraceEvent, format_trace};

/// What can name an endpoint on a simulated network: small, copyable, ordered (for
/// deterministic iteration) and printable in traces. `u8`, `&'static str`, `SocketAddr`
/// and test enums all qualify.
pub trait Address: Copy + Eq + Hash + Ord + Debug {}

impl<T: Copy + Eq + Hash + Ord + Debug> Address for T {}
