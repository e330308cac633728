//! Trunk link supervision over a simulated network: OPTIONS every interval, Up on 200, Down
//! after three failures in a row (timer F timeouts while the link is cut), Up again once the
//! link heals; each change reported exactly once.

mod sim;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sim::{LinkConfig, Node, Simulation};
use cec_sip::{
    Endpoint, EndpointConfig, Event, LinkStatus, Peer, ProbePolicy, StatusChange, TransportKind,
    TrunkMonitor,
};
use cec_sip_msg::{Uri, parse_datagram};
use sim::{ALICE, Agent, BOB, Script, addr};

/// The platform side: an endpoint plus the monitor probing Bob (the "carrier").
struct Platform {
    ep: Endpoint,
    monitor: TrunkMonitor,
    changes: Vec<StatusChange>,
}

impl Platform {
    fn pump(&mut self, now: Instant) {
        while let Some((name, target, uri)) = self.monitor.poll_probe(now) {
            match self
                .ep
                .request_out_of_dialog(now, cec_sip_msg::Method::Options, uri, target)
            {
                Ok(tx) => self.monitor.probe_sent(&name, tx),
                Err(_) => self.monitor.probe_failed_to_send(now, &name),
            }
        }
        while let Some(event) = self.ep.poll_event() {
            match event {
                Event::Response { tx, response, .. } => {
                    self.monitor.handle_response(now, tx, &response);
                }
                Event::Timeout { tx } => {
                    self.monitor.handle_timeout(now, tx);
                }
                _ => {}
            }
        }
        self.changes
            .extend(std::iter::from_fn(|| self.monitor.poll_change()));
    }
}

impl Node<SocketAddr, Bytes> for Platform {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, packet: Bytes) {
        if let Ok(message) = parse_datagram(packet) {
            self.ep
                .handle_message(now, message, Peer::new(TransportKind::Udp, from));
        }
        self.pump(now);
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.ep.poll_transmit().map(|t| (t.to.addr, t.bytes))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        [self.ep.poll_timeout(), self.monitor.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.pump(now);
    }
}

#[test]
fn link_goes_up_down_after_three_timeouts_and_up_again() {
    let mut sim: Simulation<SocketAddr, Bytes> = Simulation::new(21);
    sim.net
        .set_default_link(LinkConfig::perfect().with_delay(Duration::from_millis(5)));
    let start = sim.now();
    let mut ep = Endpoint::new(EndpointConfig::default(), cec_sim::Rng::new(1).into_fn());
    ep.set_local_address(TransportKind::Udp, addr(ALICE));
    let mut monitor = TrunkMonitor::new();
    monitor.add_trunk(
        start,
        "carrier-a",
        Peer::new(TransportKind::Udp, addr(BOB)),
        Uri::parse(&Bytes::from_static(b"sip:127.0.0.1:5062")).unwrap(),
        ProbePolicy::default(),
    );
    sim.add_node(
        addr(ALICE),
        Platform {
            ep,
            monitor,
            changes: Vec::new(),
        },
    );
    sim.add_node(addr(BOB), Agent::new(BOB, Script::default(), 2));

    sim.run_for(Duration::from_secs(1)).unwrap();
    let platform = sim.node::<Platform>(addr(ALICE)).unwrap();
    assert_eq!(platform.monitor.status("carrier-a"), Some(LinkStatus::Up));
    assert_eq!(platform.changes.len(), 1);
    assert_eq!(platform.changes[0].cause, "200 OK");

    // Cut the link from 1 s to 241 s: probes at 60, 120 and 180 s each time out after 32 s
    // (timer F), so the third failure lands at 212 s.
    sim.partition(addr(ALICE), addr(BOB), Duration::from_secs(240));
    sim.run_for(Duration::from_secs(210)).unwrap();
    let platform = sim.node::<Platform>(addr(ALICE)).unwrap();
    assert_eq!(
        platform.monitor.status("carrier-a"),
        Some(LinkStatus::Up),
        "two failures are not enough"
    );
    sim.run_for(Duration::from_secs(5)).unwrap();
    let platform = sim.node::<Platform>(addr(ALICE)).unwrap();
    assert_eq!(
        platform.monitor.status("carrier-a"),
        Some(LinkStatus::Down),
        "{}",
        sim.trace_text()
    );
    let down = &platform.changes[1];
    assert_eq!((down.from, down.to), (LinkStatus::Up, LinkStatus::Down));
    assert_eq!(down.cause, "timeout");
    assert_eq!((down.at - start).as_secs(), 180 + 32);

    // The probe at 240 s is still cut off; the link heals at 241 s and the probe at 300 s
    // brings it back.
    sim.run_for(Duration::from_secs(100)).unwrap();
    let platform = sim.node::<Platform>(addr(ALICE)).unwrap();
    assert_eq!(platform.monitor.status("carrier-a"), Some(LinkStatus::Up));
    assert_eq!(platform.changes.len(), 3, "{:?}", platform.changes);
}

#[test]
fn error_responses_count_as_failures_unless_any_response_is_accepted() {
    for (accept_any, expected) in [(false, LinkStatus::Down), (true, LinkStatus::Up)] {
        let mut sim: Simulation<SocketAddr, Bytes> = Simulation::new(22);
        sim.net.set_default_link(LinkConfig::perfect());
        let start = sim.now();
        let mut ep = Endpoint::new(EndpointConfig::default(), cec_sim::Rng::new(1).into_fn());
        ep.set_local_address(TransportKind::Udp, addr(ALICE));
        let mut monitor = TrunkMonitor::new();
        let policy = ProbePolicy {
            interval: Duration::from_secs(10),
            failure_threshold: 2,
            accept_any_response: accept_any,
        };
        // Probing a method Bob's endpoint does not implement would be 501; OPTIONS to a
        // peer that rejects is modelled by Bob answering 403 via a script-free endpoint.
        monitor.add_trunk(
            start,
            "gw",
            Peer::new(TransportKind::Udp, addr(BOB)),
            Uri::parse(&Bytes::from_static(b"sip:127.0.0.1:5062")).unwrap(),
            policy,
        );
        sim.add_node(
            addr(ALICE),
            Platform {
                ep,
                monitor,
                changes: Vec::new(),
            },
        );
        sim.add_node(addr(BOB), Rejecter::new());
        sim.run_for(Duration::from_secs(25)).unwrap();
        let platform = sim.node::<Platform>(addr(ALICE)).unwrap();
        assert_eq!(
            platform.monitor.status("gw"),
            Some(expected),
            "accept_any={accept_any}"
        );
    }
}

/// A peer that answers every request 403.
struct Rejecter {
    ep: Endpoint,
}

impl Rejecter {
    fn new() -> Self {
        let mut ep = Endpoint::new(EndpointConfig::default(), cec_sim::Rng::new(9).into_fn());
        ep.set_local_address(TransportKind::Udp, addr(BOB));
        Rejecter { ep }
    }
}

impl Node<SocketAddr, Bytes> for Rejecter {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, packet: Bytes) {
        if let Ok(message) = parse_datagram(packet) {
            self.ep
                .handle_message(now, message, Peer::new(TransportKind::Udp, from));
        }
        while let Some(event) = self.ep.poll_event() {
            if let Event::Request { tx, .. } = event {
                let _ = self.ep.respond_status(now, tx, 403, "Forbidden");
            }
        }
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.ep.poll_transmit().map(|t| (t.to.addr, t.bytes))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.ep.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
    }
}
