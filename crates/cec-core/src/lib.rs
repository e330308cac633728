//! The call core of OpenCEC, sans-IO: the [`Switch`] that takes a customer's call from a
//! SIP trunk through a called route into a skill queue, rings an agent's registered phone,
//! bridges the media and tears everything down on any ending, leaving one record per call
//! and an event per state change.
//!
//! It composes the SIP endpoint (`cec-sip`), media legs (driven through the
//! [`MediaControl`] trait the runtime implements over its engine) and the ACD
//! (`cec-acd`). Time, randomness, sockets and storage come from outside: the runtime feeds
//! endpoint events, media events, API commands and `now`, and drains [`Output`]s (records
//! and events) to persist in batches, so nothing on the signalling path waits for a disk.
//!
//! # Why our own
//!
//! The call model is the product: how a trunk call is admitted, answered, queued, offered
//! to agents and recorded follows the CEC access-code call flow, which no B2BUA crate
//! implements; the B2BUAs we measured own their sockets and clocks and cannot be run in the
//! deterministic simulator.

pub mod call;
pub mod called;
pub mod config;
pub mod env;
pub mod limits;
pub mod output;
mod switch;

pub use config::SwitchConfig;
pub use env::{AllocatedLeg, Contact, LegNo, Locations, MediaControl, Playback};
pub use output::{CallRecord, LegQuality, Output, ReleasedBy, SwitchEvent, Value, WallClock};
pub use switch::RequestedState;
pub use switch::{
    AgentStatus, CallTimer, Command, CommandError, CommandReply, Env, LiveCall, Settings, Switch,
    SwitchStats,
};
