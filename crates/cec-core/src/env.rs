//! What the Switch needs from the world, as traits the runtime implements (and tests fake):
//! media legs and the registrar's contacts. Both answer synchronously: allocating a leg
//! only reserves ports, and the other media operations are commands the engine applies in
//! the order given.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use cec_media::{LegConfig, Renegotiation};
use cec_sip::Peer;
use cec_sip_msg::Uri;

/// A media leg, as numbered by the engine.
pub type LegNo = u64;

/// A leg the engine allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocatedLeg {
    /// Its number.
    pub leg: LegNo,
    /// The RTP port for our SDP.
    pub port: u16,
}

/// What a leg plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playback {
    /// A queue's hold music (tenant, prompt name), or the default tone pattern.
    Hold {
        /// Tenant.
        tenant: String,
        /// Prompt name; `None` for the default pattern.
        music: Option<String>,
        /// A prompt played about every so often between the music (waiting callers).
        announcement: Option<(String, std::time::Duration)>,
    },
    /// A prompt played once (release announcements).
    Prompt {
        /// Tenant.
        tenant: String,
        /// Prompt name.
        prompt: String,
    },
}

/// The media engine, as the Switch drives it.
pub trait MediaControl {
    /// Reserves a port pair and starts a leg with `config`; `None` when no ports are free.
    fn allocate(&mut self, config: LegConfig) -> Option<AllocatedLeg>;
    /// The address to put in SDP for a peer at `toward`.
    fn sdp_address(&mut self, toward: SocketAddr) -> IpAddr;
    /// Applies a new offer/answer to a leg.
    fn renegotiate(&mut self, leg: LegNo, update: Renegotiation);
    /// Relays between two legs (ends playback on both).
    fn bridge(&mut self, a: LegNo, b: LegNo);
    /// Ends the bridge `leg` is in.
    fn unbridge(&mut self, leg: LegNo);
    /// Plays to a leg (ends any bridge it is in).
    fn play(&mut self, leg: LegNo, playback: Playback);
    /// Frees a leg and its ports.
    fn release(&mut self, leg: LegNo);
}

/// A registered contact of an agent's phone.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// The Contact URI (Request-URI of our INVITE).
    pub uri: Uri,
    /// Where to send (the flow the REGISTER came on).
    pub peer: Peer,
}

/// Registered phones, by SIP user.
pub trait Locations {
    /// The live contacts of `sip_user` at `now`.
    fn contacts(&self, now: Instant, sip_user: &str) -> Vec<Contact>;
}
