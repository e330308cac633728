//! The simulated world: the platform, the carrier's trunk and agents' phones on one
//! simulated network, with the operations and observations the scenarios use.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_acd::{AgentRef, Phase};
use cec_core::{
    CallRecord, Command, CommandError, CommandReply, Output, RequestedState, Settings, Switch,
    SwitchConfig, SwitchEvent, Value, WallClock,
};
use cec_media::quality::NtpClock;
use cec_sim::{LinkConfig, Simulation, TraceEvent};

use super::{
    Behavior, CallSpec, FakeMedia, MediaOp, ORIGIN_MS, PLATFORM, Phone, Platform, TENANT, TRUNK,
    TrunkUa, config, label,
};

/// The simulated world.
pub struct World {
    /// The simulation.
    pub sim: Simulation<SocketAddr, Bytes>,
    next_caller: u32,
}

impl World {
    /// The default configuration, 64 port pairs, 10 ms links.
    pub fn new(seed: u64) -> World {
        World::with_config(seed, config(), 64)
    }

    /// The default world with agent 1001 signed in Idle on a phone that answers after
    /// `answer_ms`.
    pub fn staffed(seed: u64, answer_ms: u64) -> World {
        let mut w = World::new(seed);
        w.add_phone(
            "1001",
            super::phone_addr(1),
            Behavior::AnswerAfter(Duration::from_millis(answer_ms)),
        );
        w.sign_in("1001");
        w
    }

    /// A world over `config` with `port_pairs` media port pairs.
    pub fn with_config(seed: u64, config: SwitchConfig, port_pairs: u16) -> World {
        let mut sim = Simulation::new(seed);
        sim.net.set_labeler(label);
        sim.net
            .set_default_link(LinkConfig::perfect().with_delay(Duration::from_millis(10)));
        let base = sim.clock.base();
        let settings = Settings {
            sip_host: "127.0.0.1".into(),
            realm: "opencec".into(),
            digest_secret: [7; 32],
            wall: WallClock {
                origin: base,
                origin_ms: ORIGIN_MS,
            },
            ntp: NtpClock {
                origin: base,
                ntp_at_origin: 0,
            },
            rtp_timeout: Duration::from_secs(30),
        };
        let mut rng = cec_sim::Rng::new(seed ^ 0x5717C4);
        let switch = Switch::new(settings, Arc::new(config), base, move || rng.next_u64());
        sim.add_node(
            PLATFORM,
            Platform::new(PLATFORM, switch, FakeMedia::new(port_pairs), seed ^ 0x9),
        );
        sim.add_node(TRUNK, TrunkUa::new(TRUNK, PLATFORM, seed ^ 0x7));
        World {
            sim,
            next_caller: 0,
        }
    }

    /// Virtual now.
    pub fn now(&self) -> Instant {
        self.sim.now()
    }

    /// Milliseconds since the start (as `x - ORIGIN_MS` in records).
    pub fn elapsed_ms(&self) -> i64 {
        self.sim.clock.elapsed().as_millis() as i64
    }

    /// The platform.
    pub fn platform(&mut self) -> &mut Platform {
        self.sim.node_mut(PLATFORM).expect("platform")
    }

    /// The platform, read-only.
    pub fn platform_ref(&self) -> &Platform {
        self.sim.node(PLATFORM).expect("platform")
    }

    /// The trunk.
    pub fn trunk(&mut self) -> &mut TrunkUa {
        self.sim.node_mut(TRUNK).expect("trunk")
    }

    /// The trunk, read-only.
    pub fn trunk_ref(&self) -> &TrunkUa {
        self.sim.node(TRUNK).expect("trunk")
    }

    /// Phone at `addr`.
    pub fn phone(&mut self, addr: SocketAddr) -> &mut Phone {
        self.sim.node_mut(addr).expect("phone")
    }

    /// Phone at `addr`, read-only.
    pub fn phone_ref(&self, addr: SocketAddr) -> &Phone {
        self.sim.node(addr).expect("phone")
    }

    /// Adds a phone at `addr` registered as SIP user `user`.
    pub fn add_phone(&mut self, user: &str, addr: SocketAddr, behavior: Behavior) {
        self.sim
            .add_node(addr, Phone::new(addr, behavior, u64::from(addr.port())));
        self.platform().locations.register(user, addr);
    }

    /// An API command.
    pub fn command(&mut self, command: Command) -> Result<CommandReply, CommandError> {
        let now = self.now();
        self.platform().command(now, command)
    }

    /// Signs `work_no` in, Idle.
    pub fn sign_in(&mut self, work_no: &str) {
        self.sign_in_as(work_no, RequestedState::Idle);
    }

    /// Signs `work_no` in with `state`.
    pub fn sign_in_as(&mut self, work_no: &str, state: RequestedState) {
        self.command(Command::SignIn {
            tenant: TENANT.into(),
            work_no: work_no.into(),
            phone: None,
            state: Some(state),
            auto_answer: None,
        })
        .expect("sign-in");
    }

    /// Sets `work_no`'s state.
    pub fn set_state(
        &mut self,
        work_no: &str,
        state: RequestedState,
    ) -> Result<CommandReply, CommandError> {
        self.command(Command::SetState {
            tenant: TENANT.into(),
            work_no: work_no.into(),
            state,
        })
    }

    /// The carrier calls `called`; returns the trunk's call index.
    pub fn call(&mut self, called: &str) -> usize {
        self.call_with(called, false)
    }

    /// The carrier calls `called`, offering 100rel or not.
    pub fn call_with(&mut self, called: &str, rel100: bool) -> usize {
        self.next_caller += 1;
        let spec = CallSpec {
            called: called.into(),
            caller: format!("0215550{:04}", self.next_caller),
            rel100,
            session_expires: None,
            credentials: None,
        };
        let now = self.now();
        self.trunk().call(now, &spec)
    }

    /// Runs the simulation for `duration`.
    pub fn run(&mut self, duration: Duration) {
        if let Err(error) = self.sim.run_for(duration) {
            panic!("{error}\n{}", self.sim.trace_text());
        }
    }

    /// Runs for `ms` milliseconds.
    pub fn run_ms(&mut self, ms: u64) {
        self.run(Duration::from_millis(ms));
    }

    /// Every record written, in order.
    pub fn records(&self) -> Vec<CallRecord> {
        self.platform_ref()
            .outputs
            .iter()
            .filter_map(|(_, o)| match o {
                Output::Record(r) => Some((**r).clone()),
                Output::Event(_) => None,
            })
            .collect()
    }

    /// Final records, in order.
    pub fn final_records(&self) -> Vec<CallRecord> {
        self.records()
            .into_iter()
            .filter(|r| r.ended_ms.is_some())
            .collect()
    }

    /// Every event, in order.
    pub fn events(&self) -> Vec<SwitchEvent> {
        self.platform_ref()
            .outputs
            .iter()
            .filter_map(|(_, o)| match o {
                Output::Event(e) => Some(e.clone()),
                Output::Record(_) => None,
            })
            .collect()
    }

    /// Kinds of the events about `work_no`, in order.
    pub fn agent_events(&self, work_no: &str) -> Vec<&'static str> {
        self.events()
            .into_iter()
            .filter(|e| e.agent.as_deref() == Some(work_no) && e.kind.starts_with("Agent"))
            .map(|e| e.kind)
            .collect()
    }

    /// The agent's phase (`SignedOut` if never signed in).
    pub fn phase(&self, work_no: &str) -> Phase {
        self.platform_ref()
            .switch
            .acd()
            .agent(&AgentRef::new(TENANT, work_no))
            .map_or(Phase::SignedOut, |a| a.phase)
    }

    /// Labels of the packets `from` sent to `to`, in order.
    pub fn sent(&self, from: SocketAddr, to: SocketAddr) -> Vec<String> {
        self.sim
            .net
            .trace()
            .iter()
            .filter(|e| matches!(e.event, TraceEvent::Sent { from: f, to: t, .. } if f == from && t == to))
            .filter_map(|e| e.label.clone())
            .collect()
    }

    /// How many packets labelled `label` `from` sent to `to`.
    pub fn count_sent(&self, from: SocketAddr, to: SocketAddr, label: &str) -> usize {
        self.sent(from, to).iter().filter(|l| *l == label).count()
    }

    /// When `from` first sent `label` to `to`, in ms since the start.
    pub fn first_sent_ms(&self, from: SocketAddr, to: SocketAddr, label: &str) -> Option<i64> {
        let base = self.sim.clock.base();
        self.sim
            .net
            .trace()
            .iter()
            .find(|e| {
                e.label.as_deref() == Some(label)
                    && matches!(e.event, TraceEvent::Sent { from: f, to: t, .. } if f == from && t == to)
            })
            .map(|e| (e.at - base).as_millis() as i64)
    }

    /// The media calls so far.
    pub fn media_ops(&self) -> Vec<MediaOp> {
        self.platform_ref().media.ops.clone()
    }

    /// The trace, for failure messages.
    pub fn trace(&self) -> String {
        self.sim.trace_text()
    }

    /// The ids of calls in arrival order, by caller number.
    pub fn call_ids_by_caller(&self) -> BTreeMap<String, String> {
        self.records()
            .into_iter()
            .map(|r| (r.caller, r.id))
            .collect()
    }

    /// The one final record (asserts there is exactly one).
    pub fn final_record(&self) -> CallRecord {
        let finals = self.final_records();
        assert_eq!(finals.len(), 1, "{finals:#?}");
        finals[0].clone()
    }

    /// The data field `name` of the last event of `kind` about `work_no`.
    pub fn agent_event_field(&self, work_no: &str, kind: &str, name: &str) -> Option<Value> {
        self.events()
            .into_iter()
            .rfind(|e| e.kind == kind && e.agent.as_deref() == Some(work_no))
            .and_then(|e| e.data.into_iter().find(|(k, _)| *k == name).map(|(_, v)| v))
    }

    /// The final status the trunk's call `i` got.
    pub fn final_status(&self, i: usize) -> Option<u16> {
        self.trunk_ref().calls[i]
            .statuses
            .iter()
            .copied()
            .find(|s| *s >= 200)
    }
}
