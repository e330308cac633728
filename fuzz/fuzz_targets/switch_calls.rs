//! Drives the call core (the `Switch` on a SIP endpoint) with fuzzer-chosen datagrams from a
//! carrier trunk and an agent's phone, clock advances and agent commands, against a fake
//! media engine. Nothing may panic; every transmission must parse; and once every timer has
//! run out and the agent signed out, no call, media leg or timer may be left (every path
//! cleans up).
//!
//! Input: chunks separated by 0xFF; a chunk's first byte picks the action (bit 0: from the
//! trunk or the phone; bits 1-2: an agent command first (none, sign in, busy, idle);
//! bits 3-7: how many 100 ms to advance first) and the rest is one datagram.
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cec_acd::Skill;
use cec_core::config::{AgentAccount, Queue, Rel100, RenegotiationMethod, Target, Trunk};
use cec_core::{
    AllocatedLeg, Command, Contact, Env, LegNo, Locations, MediaControl, Playback, RequestedState,
    Settings, Switch, SwitchConfig, WallClock,
};
use cec_media::quality::NtpClock;
use cec_media::{LegConfig, Renegotiation};
use cec_sip::{Endpoint, EndpointConfig, Event, Peer, TransportKind};
use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{Method, parse_datagram};
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct Media {
    next: LegNo,
    live: HashMap<LegNo, ()>,
}

impl MediaControl for Media {
    fn allocate(&mut self, _config: LegConfig) -> Option<AllocatedLeg> {
        self.next += 1;
        self.live.insert(self.next, ());
        Some(AllocatedLeg { leg: self.next, port: 20000 + (self.next as u16 % 1000) * 2 })
    }
    fn sdp_address(&mut self, _toward: SocketAddr) -> IpAddr {
        IpAddr::from([127, 0, 0, 1])
    }
    fn renegotiate(&mut self, leg: LegNo, _update: Renegotiation) {
        assert!(self.live.contains_key(&leg), "renegotiate of unknown leg {leg}");
    }
    fn bridge(&mut self, a: LegNo, b: LegNo) {
        assert!(self.live.contains_key(&a) && self.live.contains_key(&b), "bridge of unknown leg");
    }
    fn unbridge(&mut self, _leg: LegNo) {}
    fn play(&mut self, leg: LegNo, _playback: Playback) {
        assert!(self.live.contains_key(&leg), "play on unknown leg {leg}");
    }
    fn release(&mut self, leg: LegNo) {
        assert!(self.live.remove(&leg).is_some(), "release of unknown leg {leg}");
    }
}

struct Phone(Peer);

impl Locations for Phone {
    fn contacts(&self, _now: Instant, sip_user: &str) -> Vec<Contact> {
        if sip_user != "1001" {
            return Vec::new();
        }
        let uri = cec_sip_msg::Uri::parse(&Bytes::from_static(b"sip:1001@127.0.0.1:5080")).unwrap();
        vec![Contact { uri, peer: self.0 }]
    }
}

fn config() -> SwitchConfig {
    let mut config = SwitchConfig::default();
    config.trunks.push(Trunk {
        tenant: "t".into(),
        name: "carrier".into(),
        networks: vec![(IpAddr::from([127, 0, 0, 2]), 32)],
        digest: None,
        max_calls: 5,
        max_cps: 5,
        rel100: Rel100::Supported,
        renegotiation: RenegotiationMethod::Update,
        called_number_from: Vec::new(),
        codecs: vec!["PCMA".into(), "PCMU".into()],
    });
    config.access_codes.insert(("t".into(), "carrier".into()), vec!["4001".into()]);
    config.routes.insert(("t".into(), "4001".into(), String::new()), Target::Queue("q".into()));
    config.queues.insert(
        ("t".into(), "q".into()),
        Queue {
            tenant: "t".into(),
            name: "q".into(),
            max_waiting: 3,
            max_wait: Duration::from_secs(30),
            wrap_up: Duration::from_secs(1),
            ring_timeout: Duration::from_secs(5),
            on_no_agents: Target::Release { prompt: None, status: 480 },
            on_full: Target::Release { prompt: Some("full".into()), status: 486 },
            on_wait_timeout: Target::Release { prompt: None, status: 480 },
            hold_music: None,
            strategy: cec_acd::Strategy::LongestIdle,
        announcement: None,
        },
    );
    config.agents.insert(
        ("t".into(), "1001".into()),
        AgentAccount {
            tenant: "t".into(),
            work_no: "1001".into(),
            sip_user: "1001".into(),
            skills: vec![Skill { queue: "q".into(), weight: 1 }],
            auto_answer: false,
        },
    );
    config
}

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let mut counter = 0u64;
    let mut endpoint = Endpoint::new(EndpointConfig::default(), move || {
        counter = counter.wrapping_add(0x9E37_79B9_7F4A_7C15);
        counter
    });
    endpoint.set_local_address(TransportKind::Udp, "127.0.0.1:5060".parse().unwrap());
    let trunk = Peer::new(TransportKind::Udp, "127.0.0.2:5070".parse().unwrap());
    let phone = Peer::new(TransportKind::Udp, "127.0.0.1:5080".parse().unwrap());
    let settings = Settings {
        sip_host: "127.0.0.1".into(),
        realm: "fuzz".into(),
        digest_secret: [7; 32],
        wall: WallClock { origin: start, origin_ms: 0 },
        ntp: NtpClock { origin: start, ntp_at_origin: 0 },
        rtp_timeout: Duration::from_secs(30),
    };
    let mut seed = 1u64;
    let mut switch = Switch::new(settings, Arc::new(config()), start, move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        seed
    });
    let mut media = Media::default();
    let locations = Phone(phone);
    let mut now = start;
    let command = |switch: &mut Switch, env: &mut Env<'_>, now: Instant, which: u8| {
        let (tenant, work_no) = ("t".to_string(), "1001".to_string());
        let command = match which {
            1 => Command::SignIn { tenant, work_no, phone: None, state: None, auto_answer: None },
            2 => Command::SetState { tenant, work_no, state: RequestedState::Busy { reason: None } },
            3 => Command::SetState { tenant, work_no, state: RequestedState::Idle },
            _ => Command::SignOut { tenant, work_no },
        };
        let _ = switch.handle_command(now, env, command);
    };
    let pump = |endpoint: &mut Endpoint, switch: &mut Switch, media: &mut Media, now: Instant| {
        for _ in 0..64 {
            let mut progressed = false;
            while let Some(event) = endpoint.poll_event() {
                progressed = true;
                let mut env = Env { endpoint, media, locations: &locations };
                match event {
                    Event::Request { tx, request, source, .. } if request.method() == Some(&Method::Invite) => {
                        switch.on_invite(now, &mut env, tx, &request, source);
                    }
                    Event::Request { tx, .. } => {
                        let _ = env.endpoint.respond_status(now, tx, 501, "Not Implemented");
                    }
                    other => {
                        let _ = switch.handle_sip_event(now, &mut env, other);
                    }
                }
            }
            while let Some(transmit) = endpoint.poll_transmit() {
                progressed = true;
                assert!(parse_datagram(transmit.bytes).is_ok(), "we sent something unparsable");
            }
            while switch.poll_output().is_some() {}
            if !progressed {
                break;
            }
        }
    };
    for chunk in data.split(|&b| b == 0xFF) {
        let Some((&control, datagram)) = chunk.split_first() else {
            continue;
        };
        now += Duration::from_millis(100 * u64::from(control >> 3));
        endpoint.handle_timeout(now);
        {
            let mut env = Env { endpoint: &mut endpoint, media: &mut media, locations: &locations };
            switch.handle_timeout(now, &mut env);
            if (control >> 1) & 3 != 0 {
                command(&mut switch, &mut env, now, (control >> 1) & 3);
            }
        }
        pump(&mut endpoint, &mut switch, &mut media, now);
        let source = if control & 1 == 0 { trunk } else { phone };
        let bytes = Bytes::copy_from_slice(datagram);
        match parse_datagram(bytes.clone()) {
            Ok(message) => endpoint.handle_message(now, message, source),
            Err(error) => endpoint.handle_malformed(&bytes, &error, source),
        }
        pump(&mut endpoint, &mut switch, &mut media, now);
    }
    // Everything times out: RTP silence ends answered calls, timers end the rest.
    {
        let mut env = Env { endpoint: &mut endpoint, media: &mut media, locations: &locations };
        command(&mut switch, &mut env, now, 0);
    }
    for _ in 0..2000 {
        let at = [endpoint.poll_timeout(), switch.poll_timeout()].into_iter().flatten().min();
        let Some(at) = at else { break };
        now = now.max(at);
        endpoint.handle_timeout(now);
        let mut env = Env { endpoint: &mut endpoint, media: &mut media, locations: &locations };
        switch.handle_timeout(now, &mut env);
        pump(&mut endpoint, &mut switch, &mut media, now);
    }
    // Answered calls end on RTP timeout; the media engine would report it, so do that.
    let legs: Vec<LegNo> = media.live.keys().copied().collect();
    for leg in legs {
        let mut env = Env { endpoint: &mut endpoint, media: &mut media, locations: &locations };
        switch.handle_media_event(now, &mut env, leg, &cec_media::LegEvent::RtpTimeout { silent_for: Duration::from_secs(30) });
        pump(&mut endpoint, &mut switch, &mut media, now);
    }
    for _ in 0..2000 {
        let at = [endpoint.poll_timeout(), switch.poll_timeout()].into_iter().flatten().min();
        let Some(at) = at else { break };
        now = now.max(at);
        endpoint.handle_timeout(now);
        let mut env = Env { endpoint: &mut endpoint, media: &mut media, locations: &locations };
        switch.handle_timeout(now, &mut env);
        pump(&mut endpoint, &mut switch, &mut media, now);
    }
    assert_eq!(switch.call_count(), 0, "calls left");
    assert_eq!(switch.leg_count(), 0, "legs left in the switch");
    assert!(media.live.is_empty(), "legs left in the media engine");
    assert_eq!(switch.timer_count(), 0, "timers left");
});
