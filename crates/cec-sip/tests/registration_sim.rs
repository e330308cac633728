//! Outbound registration and authenticated calls against a digest-protected carrier on a
//! simulated network: 401 then 200, refresh with the remembered nonce, 423 raising the
//! interval, a wrong password failing and retrying, unregistering, and an INVITE re-sent
//! with credentials after its 401.

mod sim;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sim::{LinkConfig, Node, Simulation};
use cec_sip::{
    Endpoint, EndpointConfig, Event, Peer, RegistrationSpec, RegistrationState, TransportKind,
};
use cec_sip_auth::{
    Algorithm, AuthOutcome, BindingSource, Credentials, DigestConfig, DigestServer, Ha1, Registrar,
    RegistrarConfig, Secret, compute_ha1,
};
use cec_sip_msg::{Method, NameAddr, Uri, parse_datagram};
use sim::{ALICE, Agent, BOB, Script, addr, call, is_answered};

const PASSWORD: &str = "trunk-secret";

/// A carrier: registrar and call answering behind digest authentication.
struct Carrier {
    ep: Endpoint,
    digest: DigestServer,
    registrar: Registrar,
    challenges: usize,
    registered: usize,
}

impl Carrier {
    fn new(base: Instant, min_expires: u32) -> Carrier {
        let mut ep = Endpoint::new(EndpointConfig::default(), cec_sim::Rng::new(5).into_fn());
        ep.set_local_address(TransportKind::Udp, addr(BOB));
        Carrier {
            ep,
            digest: DigestServer::new(DigestConfig::new("carrier"), [7; 32], base),
            registrar: Registrar::new(RegistrarConfig {
                min_expires,
                ..RegistrarConfig::default()
            }),
            challenges: 0,
            registered: 0,
        }
    }

    fn serve(&mut self, now: Instant) {
        let store = |user: &str, realm: &str, algorithm: Algorithm| -> Option<Ha1> {
            (user == "trunk1").then(|| compute_ha1(algorithm.base(), user, realm, PASSWORD))
        };
        while let Some(event) = self.ep.poll_event() {
            let Event::Request {
                tx,
                request,
                source,
                ..
            } = event
            else {
                continue;
            };
            let response = match self.digest.verify(&request, now, false, b"", &store) {
                AuthOutcome::Authenticated { username, .. } => match request.method() {
                    Some(Method::Register) => {
                        let source = BindingSource {
                            transport: "UDP".into(),
                            addr: source.addr,
                            connection: None,
                        };
                        let response = self.registrar.register(now, &username, &request, &source);
                        self.registered += usize::from(response.status() == Some(200));
                        response
                    }
                    _ => {
                        let _ = self
                            .ep
                            .answer(now, tx, Some(Bytes::from_static(sim::SDP_ANSWER)));
                        continue;
                    }
                },
                AuthOutcome::NoCredentials | AuthOutcome::Stale => {
                    self.challenges += 1;
                    self.digest
                        .challenge_response(&request, now, false, false, b"")
                }
                AuthOutcome::Rejected(error) => self.digest.rejection_response(&request, &error),
            };
            let _ = self.ep.respond(now, tx, &response);
        }
    }
}

impl Node<SocketAddr, Bytes> for Carrier {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, packet: Bytes) {
        if let Ok(message) = parse_datagram(packet) {
            self.ep
                .handle_message(now, message, Peer::new(TransportKind::Udp, from));
        }
        self.serve(now);
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.ep.poll_transmit().map(|t| (t.to.addr, t.bytes))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.ep.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.serve(now);
    }
}

fn setup(min_expires: u32) -> Simulation<SocketAddr, Bytes> {
    let mut sim = Simulation::new(31);
    sim.net
        .set_default_link(LinkConfig::perfect().with_delay(Duration::from_millis(10)));
    let base = sim.now();
    sim.add_node(addr(ALICE), Agent::new(ALICE, Script::default(), 1));
    sim.add_node(addr(BOB), Carrier::new(base, min_expires));
    sim
}

fn spec(password: &str, expires: u32) -> RegistrationSpec {
    RegistrationSpec {
        registrar: Uri::parse(&Bytes::from_static(b"sip:127.0.0.1:5062")).unwrap(),
        destination: Peer::new(TransportKind::Udp, addr(BOB)),
        aor: NameAddr::new(Uri::parse(&Bytes::from_static(b"sip:trunk1@127.0.0.1")).unwrap()),
        expires,
        credentials: Some(Credentials {
            username: "trunk1".into(),
            secret: Secret::Password(password.into()),
        }),
    }
}

fn states(sim: &mut Simulation<SocketAddr, Bytes>) -> Vec<(u64, RegistrationState)> {
    let start = sim.clock.base();
    sim.node::<Agent>(addr(ALICE))
        .unwrap()
        .events
        .iter()
        .filter_map(|(at, e)| match e {
            Event::Registration { state, .. } => Some(((*at - start).as_secs(), *state)),
            _ => None,
        })
        .collect()
}

#[test]
fn registers_after_a_challenge_refreshes_early_and_unregisters() {
    let mut sim = setup(60);
    let now = sim.now();
    let id = sim
        .node_mut::<Agent>(addr(ALICE))
        .unwrap()
        .ep
        .register_to(now, spec(PASSWORD, 120));
    sim.run_for(Duration::from_secs(70)).unwrap();
    // Registered at once (after one 401), refreshed at 60 s (a minute before 120 s runs out).
    assert_eq!(
        states(&mut sim),
        vec![
            (0, RegistrationState::Registered { expires: 120 }),
            (60, RegistrationState::Registered { expires: 120 })
        ]
    );
    let carrier = sim.node::<Carrier>(addr(BOB)).unwrap();
    assert_eq!(
        carrier.challenges, 1,
        "the refresh reused the nonce (nc=2), no new challenge"
    );
    assert_eq!(carrier.registered, 2);
    let now = sim.now();
    sim.node_mut::<Agent>(addr(ALICE))
        .unwrap()
        .ep
        .unregister(now, id);
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(
        states(&mut sim).last(),
        Some(&(70, RegistrationState::Unregistered))
    );
    let carrier = sim.node::<Carrier>(addr(BOB)).unwrap();
    assert!(carrier.registrar.lookup(sim.now(), "trunk1").is_empty());
}

#[test]
fn interval_too_brief_is_raised_to_min_expires() {
    let mut sim = setup(300);
    let now = sim.now();
    sim.node_mut::<Agent>(addr(ALICE))
        .unwrap()
        .ep
        .register_to(now, spec(PASSWORD, 60));
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(
        states(&mut sim),
        vec![(0, RegistrationState::Registered { expires: 300 })]
    );
}

#[test]
fn wrong_password_fails_and_retries_later_without_looping() {
    let mut sim = setup(60);
    let now = sim.now();
    sim.node_mut::<Agent>(addr(ALICE))
        .unwrap()
        .ep
        .register_to(now, spec("wrong", 120));
    sim.run_for(Duration::from_secs(130)).unwrap();
    assert_eq!(
        states(&mut sim),
        vec![
            (0, RegistrationState::Failed { status: 403 }),
            (60, RegistrationState::Failed { status: 403 }),
            (120, RegistrationState::Failed { status: 403 })
        ]
    );
    assert_eq!(
        sim.node::<Carrier>(addr(BOB)).unwrap().challenges,
        3,
        "one challenge per attempt"
    );
}

#[test]
fn invite_is_resent_with_credentials_after_401() {
    let mut sim = setup(60);
    let first = call(&mut sim, |invite| {
        invite.credentials = Some(Credentials {
            username: "trunk1".into(),
            secret: Secret::Password(PASSWORD.into()),
        });
    });
    sim.run_for(Duration::from_secs(2)).unwrap();
    let alice = sim.node::<Agent>(addr(ALICE)).unwrap();
    assert_eq!(alice.count(is_answered), 1, "{}", sim.trace_text());
    assert_eq!(
        alice.count(|e| matches!(e, Event::Retargeted { from, .. } if *from == first)),
        1
    );
    assert_eq!(
        alice.count(
            |e| matches!(e, Event::Response { response, .. } if response.status() == Some(401))
        ),
        0
    );
    assert_eq!(sim.node::<Carrier>(addr(BOB)).unwrap().challenges, 1);
}
