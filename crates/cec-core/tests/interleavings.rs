//! Property test: random interleavings of everything that can happen to calls — arrivals
//! (with and without 100rel), cancels, caller and agent hang-ups, phones that reject, never
//! answer or answer late, holds and resumes, RTP timeouts, API releases, agents signing in
//! and out or changing state, phones (un)registering, time passing, optionally over lossy
//! links — and, once everything has settled, the invariants: no call, leg, timer, dialog or
//! queued call left, the fake media engine never saw a double release or an unknown leg,
//! every agent in a valid state, exactly one final record per admitted call.
//!
//! 64 cases by default (about a second); `PROPTEST_CASES=5000 cargo test --release -p
//! cec-core --test interleavings` searches longer.

mod common;

use std::time::Duration;

use cec_core::{Command, CommandReply, RequestedState};
use cec_media::LegEvent;
use cec_sim::LinkConfig;
use common::*;
use proptest::prelude::*;

const AGENTS: [&str; 3] = ["1001", "1002", "1003"];
/// The phones: (agent index, phone number); 1003 has two contacts, so its calls fork.
const PHONES: [(usize, u16); 4] = [(0, 1), (1, 2), (2, 3), (2, 4)];

#[derive(Debug, Clone)]
enum Action {
    Arrive { rel100: bool },
    CallerCancel(usize),
    CallerBye(usize),
    AgentBye(usize),
    PhoneMode(usize, Behavior),
    Hold(usize),
    Resume(usize),
    CallerHold(usize, bool),
    RtpTimeout(usize),
    ApiRelease(usize),
    SignIn(usize, bool),
    SignOut(usize),
    SetState(usize, bool),
    Reachable(usize, bool),
    Advance(u64),
}

fn behavior() -> impl Strategy<Value = Behavior> {
    prop_oneof![
        (0u64..7000).prop_map(|ms| Behavior::AnswerAfter(Duration::from_millis(ms))),
        (prop_oneof![Just(486u16), Just(603)], 0u64..3000)
            .prop_map(|(s, ms)| Behavior::Reject(s, Duration::from_millis(ms))),
        Just(Behavior::Never),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let agent = 0usize..AGENTS.len();
    let phone = 0usize..PHONES.len();
    prop_oneof![
        4 => any::<bool>().prop_map(|rel100| Action::Arrive { rel100 }),
        1 => any::<usize>().prop_map(Action::CallerCancel),
        2 => any::<usize>().prop_map(Action::CallerBye),
        2 => phone.clone().prop_map(Action::AgentBye),
        2 => (phone.clone(), behavior()).prop_map(|(p, b)| Action::PhoneMode(p, b)),
        1 => phone.clone().prop_map(Action::Hold),
        1 => phone.prop_map(Action::Resume),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, hold)| Action::CallerHold(i, hold)),
        1 => any::<usize>().prop_map(Action::RtpTimeout),
        1 => any::<usize>().prop_map(Action::ApiRelease),
        2 => (agent.clone(), any::<bool>()).prop_map(|(a, idle)| Action::SignIn(a, idle)),
        1 => agent.clone().prop_map(Action::SignOut),
        2 => (agent.clone(), any::<bool>()).prop_map(|(a, idle)| Action::SetState(a, idle)),
        1 => (agent, any::<bool>()).prop_map(|(a, on)| Action::Reachable(a, on)),
        5 => (0u64..8000).prop_map(Action::Advance),
    ]
}

/// Where phone `p` is.
fn phone_at(p: usize) -> std::net::SocketAddr {
    phone_addr(PHONES[p].1)
}

/// The latest call of phone `p` that is answered and not over.
fn live_phone_call(w: &World, p: usize) -> Option<usize> {
    w.phone_ref(phone_at(p))
        .calls
        .iter()
        .rposition(|c| c.answered && c.ended.is_none())
}

fn apply(w: &mut World, action: &Action) {
    let now = w.now();
    match *action {
        Action::Arrive { rel100 } => {
            w.call_with("4001", rel100);
        }
        Action::CallerCancel(i) => {
            let n = w.trunk_ref().calls.len();
            if n > 0 {
                w.trunk().cancel(now, i % n);
            }
        }
        Action::CallerBye(i) => {
            let n = w.trunk_ref().calls.len();
            if n > 0 {
                w.trunk().bye(now, i % n);
            }
        }
        Action::AgentBye(a) => {
            if let Some(call) = live_phone_call(w, a) {
                w.phone(phone_at(a)).bye(now, call);
            }
        }
        Action::PhoneMode(p, behavior) => w.phone(phone_at(p)).behavior = behavior,
        Action::Hold(a) | Action::Resume(a) => {
            if let Some(call) = live_phone_call(w, a) {
                let phone = w.phone(phone_at(a));
                if matches!(action, Action::Hold(_)) {
                    phone.hold(now, call);
                } else {
                    phone.resume(now, call);
                }
            }
        }
        Action::CallerHold(i, hold) => {
            let n = w.trunk_ref().calls.len();
            if n > 0 {
                w.trunk().reinvite(now, i % n, hold);
            }
        }
        Action::RtpTimeout(k) => {
            let legs: Vec<u64> = w.platform_ref().media.live.keys().copied().collect();
            if !legs.is_empty() {
                let leg = legs[k % legs.len()];
                w.platform().media_event(
                    now,
                    leg,
                    &LegEvent::RtpTimeout {
                        silent_for: Duration::from_secs(30),
                    },
                );
            }
        }
        Action::ApiRelease(k) => {
            if let Ok(CommandReply::Calls(calls)) = w.command(Command::LiveCalls {
                tenant: TENANT.into(),
            }) && !calls.is_empty()
            {
                let id = calls[k % calls.len()].call_id.clone();
                w.command(Command::Release {
                    tenant: TENANT.into(),
                    call_id: id,
                })
                .expect("a live call can be released");
            }
        }
        Action::SignIn(a, idle) => {
            let state = if idle {
                RequestedState::Idle
            } else {
                RequestedState::Busy { reason: None }
            };
            // Refused when already signed in: that is part of the test too.
            let _ = w.command(Command::SignIn {
                tenant: TENANT.into(),
                work_no: AGENTS[a].into(),
                phone: None,
                state: Some(state),
                auto_answer: None,
            });
        }
        Action::SignOut(a) => {
            let _ = w.command(Command::SignOut {
                tenant: TENANT.into(),
                work_no: AGENTS[a].into(),
            });
        }
        Action::SetState(a, idle) => {
            let state = if idle {
                RequestedState::Idle
            } else {
                RequestedState::Rest {
                    reason: Some(1),
                    duration: Some(Duration::from_secs(3)),
                }
            };
            let _ = w.set_state(AGENTS[a], state);
        }
        Action::Reachable(a, on) => {
            let user = AGENTS[a];
            let platform = w.platform();
            platform.locations.unregister(user);
            if on {
                for (_, n) in PHONES.iter().filter(|(agent, _)| *agent == a) {
                    platform.locations.register(user, phone_addr(*n));
                }
            }
            platform.registrations_changed(now);
        }
        Action::Advance(ms) => w.run(Duration::from_millis(ms)),
    }
}

/// Runs `actions`, hangs every caller up, lets 120 s pass and checks the invariants.
fn run_case(seed: u64, loss: bool, actions: &[Action]) -> Result<(), String> {
    let w = run_world(seed, loss, actions);
    check(&w, true)
}

/// Runs `actions`, hangs every caller up and lets 120 s pass.
fn run_world(seed: u64, loss: bool, actions: &[Action]) -> World {
    let mut w = World::new(seed);
    if loss {
        w.sim.net.set_default_link(LinkConfig {
            jitter: Duration::from_millis(5),
            loss: 0.05,
            ..LinkConfig::perfect().with_delay(Duration::from_millis(10))
        });
    }
    for (a, n) in PHONES {
        w.add_phone(
            AGENTS[a],
            phone_addr(n),
            Behavior::AnswerAfter(Duration::from_millis(300 + 20 * u64::from(n))),
        );
    }
    for agent in AGENTS {
        // Most runs start staffed; the script signs agents out and in again.
        if !seed.is_multiple_of(4) {
            w.sign_in(agent);
        }
    }
    for action in actions {
        apply(&mut w, action);
        // A little time passes between any two actions.
        w.run(Duration::from_millis(1));
    }
    // Everyone who is still in a call hangs up (again, for calls answered meanwhile).
    for _ in 0..10 {
        w.run(Duration::from_secs(2));
        let now = w.now();
        let mut pending = false;
        for i in 0..w.trunk_ref().calls.len() {
            let call = &w.trunk_ref().calls[i];
            if call.answered && call.ended.is_none() {
                pending |= w.trunk().bye(now, i);
            } else if !call.cancelled && !call.statuses.iter().any(|s| *s >= 200) {
                pending |= w.trunk().cancel(now, i);
            }
        }
        if !pending {
            break;
        }
    }
    w.run(Duration::from_secs(120));
    w
}

/// The invariants of [`World::check_invariants`]; with `peers`, also no dialog left on the
/// platform, the trunk or the phones.
///
/// Dialogs are counted on every run, lossy ones too: that pins two faults this test found
/// in the SIP endpoint (`cec-sip`, fixed there):
/// - the platform's BYE overtook its own 200 OK to the carrier (RFC 3261 §15.1.1: no BYE
///   before the ACK): the carrier ended the early dialog, then the late 200 created a
///   confirmed one nobody ended (now the BYE waits for the ACK or its timeout);
/// - a phone's 200 retransmitted after our BYE (its ACK lost) made the platform's endpoint
///   create a new confirmed dialog from the stale 2xx (now it gets the same ACK again).
fn check(w: &World, peers: bool) -> Result<(), String> {
    w.check_invariants_with(peers)?;
    let admitted = w.platform_ref().switch.stats().calls_admitted;
    let ended = w.platform_ref().switch.stats().calls_ended;
    if admitted != ended {
        return Err(format!("{admitted} calls admitted, {ended} ended"));
    }
    if !peers {
        return Ok(());
    }
    let trunk_dialogs = w.trunk_ref().ep.dialog_count();
    if trunk_dialogs != 0 {
        return Err(format!("{trunk_dialogs} dialogs left on the trunk"));
    }
    for i in 0..PHONES.len() {
        let phone = w.phone_ref(phone_at(i));
        if phone.ep.dialog_count() != 0 {
            return Err(format!(
                "{} dialogs left on phone {i}",
                phone.ep.dialog_count()
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_interleavings_leave_nothing_behind(
        seed in any::<u64>(),
        loss in any::<bool>(),
        actions in proptest::collection::vec(action(), 1..60),
    ) {
        if let Err(problems) = run_case(seed, loss, &actions) {
            return Err(TestCaseError::fail(problems));
        }
    }
}

/// A busy afternoon without randomness in the script: many callers, agents coming and
/// going, every kind of ending, over a lossy network for several seeds.
#[test]
fn a_scripted_busy_hour_over_a_lossy_network_leaves_nothing_behind() {
    let script = vec![
        Action::SignIn(0, true),
        Action::SignIn(1, true),
        Action::Arrive { rel100: true },
        Action::Arrive { rel100: false },
        Action::Arrive { rel100: false },
        Action::Advance(1500),
        Action::Hold(0),
        Action::Advance(500),
        Action::Resume(0),
        Action::CallerHold(1, true),
        Action::Advance(300),
        Action::CallerHold(1, false),
        Action::PhoneMode(1, Behavior::Reject(486, Duration::from_millis(100))),
        Action::AgentBye(1),
        Action::Arrive { rel100: true },
        Action::SignIn(2, true),
        Action::PhoneMode(2, Behavior::Never),
        Action::Advance(6000),
        Action::RtpTimeout(1),
        Action::CallerBye(0),
        Action::Arrive { rel100: false },
        Action::SetState(1, true),
        Action::Advance(3000),
        Action::ApiRelease(0),
        Action::Reachable(2, false),
        Action::Arrive { rel100: true },
        Action::CallerCancel(5),
        Action::Advance(8000),
    ];
    for seed in 0..8 {
        let loss = seed % 2 == 1;
        run_case(seed, loss, &script).unwrap_or_else(|p| panic!("seed {seed}: {p}"));
    }
}
