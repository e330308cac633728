//! The platform node: a SIP [`Endpoint`] with the [`Switch`] next to it, driven the way the
//! runtime's SIP driver drives them (new INVITEs to `on_invite`, every other endpoint
//! event to `handle_sip_event`), over the fake media engine and a fake registrar.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use cec_core::{
    Command, CommandError, CommandReply, Contact, Env, LegNo, Locations, Output, Switch,
};
use cec_media::LegEvent;
use cec_sim::Node;
use cec_sip::{Endpoint, EndpointConfig, Event, Peer, TransportKind};
use cec_sip_msg::{Method, Uri, parse_datagram};

use super::media::FakeMedia;

/// Registered phones: SIP user → contacts.
#[derive(Debug, Default)]
pub struct FakeLocations {
    /// The bindings.
    pub bindings: BTreeMap<String, Vec<Contact>>,
}

impl FakeLocations {
    /// Registers `user` at `addr` (one more contact).
    pub fn register(&mut self, user: &str, addr: SocketAddr) {
        let uri = Uri::parse(&Bytes::from(format!("sip:{user}@{addr}"))).expect("contact URI");
        self.bindings
            .entry(user.to_owned())
            .or_default()
            .push(Contact {
                uri,
                peer: Peer::new(TransportKind::Udp, addr),
            });
    }

    /// Removes every contact of `user`.
    pub fn unregister(&mut self, user: &str) {
        self.bindings.remove(user);
    }
}

impl Locations for FakeLocations {
    fn contacts(&self, _now: Instant, sip_user: &str) -> Vec<Contact> {
        self.bindings.get(sip_user).cloned().unwrap_or_default()
    }
}

/// The platform.
pub struct Platform {
    /// The SIP endpoint.
    pub ep: Endpoint,
    /// The call core.
    pub switch: Switch,
    /// The fake media engine.
    pub media: FakeMedia,
    /// The fake registrar.
    pub locations: FakeLocations,
    /// Every Switch output, with when it came out.
    pub outputs: Vec<(Instant, Output)>,
    /// Endpoint events the Switch gave back (not its own).
    pub unclaimed: Vec<Event>,
}

/// Splits the platform's fields into the Switch's environment.
macro_rules! env {
    ($p:expr) => {
        Env {
            endpoint: &mut $p.ep,
            media: &mut $p.media,
            locations: &$p.locations,
        }
    };
}

impl Platform {
    /// A platform at `local` with `media`.
    pub fn new(local: SocketAddr, switch: Switch, media: FakeMedia, seed: u64) -> Platform {
        let mut rng = cec_sim::Rng::new(seed);
        let mut ep = Endpoint::new(EndpointConfig::default(), move || rng.next_u64());
        ep.set_local_address(TransportKind::Udp, local);
        Platform {
            ep,
            switch,
            media,
            locations: FakeLocations::default(),
            outputs: Vec::new(),
            unclaimed: Vec::new(),
        }
    }

    /// Runs an API command.
    pub fn command(
        &mut self,
        now: Instant,
        command: Command,
    ) -> Result<CommandReply, CommandError> {
        let reply = self.switch.handle_command(now, &mut env!(self), command);
        self.pump(now);
        reply
    }

    /// A media engine event on `leg`.
    pub fn media_event(&mut self, now: Instant, leg: LegNo, event: &LegEvent) {
        self.switch
            .handle_media_event(now, &mut env!(self), leg, event);
        self.pump(now);
    }

    /// The registrar changed: lets the Switch offer waiting calls to newly reachable
    /// agents.
    pub fn registrations_changed(&mut self, now: Instant) {
        self.switch.handle_registration_change(now, &mut env!(self));
        self.pump(now);
    }

    /// Hands every endpoint event to the Switch (as the SIP driver does) and collects its
    /// outputs.
    fn pump(&mut self, now: Instant) {
        while let Some(event) = self.ep.poll_event() {
            match event {
                Event::Request {
                    tx,
                    request,
                    source,
                    ..
                } => {
                    if request.method() == Some(&Method::Invite) {
                        self.switch
                            .on_invite(now, &mut env!(self), tx, &request, source);
                    } else {
                        let _ = self.ep.respond_status(now, tx, 200, "OK");
                    }
                }
                other => {
                    if let Some(back) = self.switch.handle_sip_event(now, &mut env!(self), other) {
                        self.unclaimed.push(back);
                    }
                }
            }
        }
        while let Some(output) = self.switch.poll_output() {
            self.outputs.push((now, output));
        }
    }
}

impl Node<SocketAddr, Bytes> for Platform {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, packet: Bytes) {
        let peer = Peer::new(TransportKind::Udp, from);
        match parse_datagram(packet.clone()) {
            Ok(message) => self.ep.handle_message(now, message, peer),
            Err(error) => self.ep.handle_malformed(&packet, &error, peer),
        }
        self.pump(now);
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.ep.poll_transmit().map(|t| (t.to.addr, t.bytes))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.ep.poll_timeout(), self.switch.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.pump(now);
        if self.switch.poll_timeout().is_some_and(|at| at <= now) {
            self.switch.handle_timeout(now, &mut env!(self));
            self.pump(now);
        }
    }
}
