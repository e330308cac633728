//! A fake media engine: hands out legs and ports from a finite pool, applies the Switch's
//! commands to a model of each leg (bridged with, playing what) and records every call, so
//! tests can assert what the caller heard and that no leg leaked or was touched after its
//! release.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use cec_core::{AllocatedLeg, LegNo, MediaControl, Playback};
use cec_media::{LegConfig, Renegotiation};
use cec_sdp::Direction;

/// One call the Switch made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaOp {
    /// A leg was allocated.
    Allocate { leg: LegNo, port: u16 },
    /// New terms for a leg.
    Renegotiate {
        leg: LegNo,
        direction: Direction,
        remote: Option<SocketAddr>,
    },
    /// Two legs bridged.
    Bridge(LegNo, LegNo),
    /// A bridge ended.
    Unbridge(LegNo),
    /// Something played to a leg.
    Play(LegNo, Playback),
    /// A leg released.
    Release(LegNo),
}

/// The model of a live leg.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveLeg {
    /// Its RTP port.
    pub port: u16,
    /// The configuration it was started with.
    pub config: LegConfig,
    /// The leg it is bridged with.
    pub bridged: Option<LegNo>,
    /// What it plays.
    pub playing: Option<Playback>,
}

/// The fake engine.
#[derive(Debug)]
pub struct FakeMedia {
    free_ports: Vec<u16>,
    next_leg: LegNo,
    /// Live legs.
    pub live: BTreeMap<LegNo, LiveLeg>,
    /// Released legs.
    pub released: BTreeSet<LegNo>,
    /// Every call, in order.
    pub ops: Vec<MediaOp>,
    /// Misuse: a leg released twice, an unknown leg touched.
    pub errors: Vec<String>,
}

impl FakeMedia {
    /// An engine with `pairs` port pairs from 20000.
    pub fn new(pairs: u16) -> FakeMedia {
        FakeMedia {
            free_ports: (0..pairs).rev().map(|i| 20000 + 2 * i).collect(),
            next_leg: 1,
            live: BTreeMap::new(),
            released: BTreeSet::new(),
            ops: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Port pairs still free.
    pub fn free_ports(&self) -> usize {
        self.free_ports.len()
    }

    /// The leg's model, if live.
    pub fn leg(&self, leg: LegNo) -> Option<&LiveLeg> {
        self.live.get(&leg)
    }

    fn check(&mut self, leg: LegNo, what: &str) -> bool {
        if self.live.contains_key(&leg) {
            return true;
        }
        let state = if self.released.contains(&leg) {
            "released"
        } else {
            "unknown"
        };
        self.errors.push(format!("{what} on {state} leg {leg}"));
        false
    }

    fn unbridge_leg(&mut self, leg: LegNo) {
        if let Some(other) = self.live.get_mut(&leg).and_then(|l| l.bridged.take())
            && let Some(other) = self.live.get_mut(&other)
        {
            other.bridged = None;
        }
    }
}

impl MediaControl for FakeMedia {
    fn allocate(&mut self, config: LegConfig) -> Option<AllocatedLeg> {
        let port = self.free_ports.pop()?;
        let leg = self.next_leg;
        self.next_leg += 1;
        self.live.insert(
            leg,
            LiveLeg {
                port,
                config,
                bridged: None,
                playing: None,
            },
        );
        self.ops.push(MediaOp::Allocate { leg, port });
        Some(AllocatedLeg { leg, port })
    }

    fn sdp_address(&mut self, _toward: SocketAddr) -> IpAddr {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }

    fn renegotiate(&mut self, leg: LegNo, update: Renegotiation) {
        self.ops.push(MediaOp::Renegotiate {
            leg,
            direction: update.direction,
            remote: update.remote_rtp,
        });
        self.check(leg, "renegotiate");
    }

    fn bridge(&mut self, a: LegNo, b: LegNo) {
        self.ops.push(MediaOp::Bridge(a, b));
        if a == b {
            self.errors.push(format!("leg {a} bridged with itself"));
            return;
        }
        if !(self.check(a, "bridge") & self.check(b, "bridge")) {
            return;
        }
        self.unbridge_leg(a);
        self.unbridge_leg(b);
        for (leg, other) in [(a, b), (b, a)] {
            if let Some(live) = self.live.get_mut(&leg) {
                live.bridged = Some(other);
                live.playing = None;
            }
        }
    }

    fn unbridge(&mut self, leg: LegNo) {
        self.ops.push(MediaOp::Unbridge(leg));
        if self.check(leg, "unbridge") {
            self.unbridge_leg(leg);
        }
    }

    fn play(&mut self, leg: LegNo, playback: Playback) {
        self.ops.push(MediaOp::Play(leg, playback.clone()));
        if self.check(leg, "play") {
            self.unbridge_leg(leg);
            if let Some(live) = self.live.get_mut(&leg) {
                live.playing = Some(playback);
            }
        }
    }

    fn release(&mut self, leg: LegNo) {
        self.ops.push(MediaOp::Release(leg));
        if !self.check(leg, "release") {
            return;
        }
        self.unbridge_leg(leg);
        if let Some(live) = self.live.remove(&leg) {
            self.free_ports.push(live.port);
        }
        self.released.insert(leg);
    }
}
