//! Agent state rules, longest-idle picking and queue order; a property test drives random
//! operations and checks that every reported change continues from the previous state.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::Strategy;

use super::*;

/// The start of a test's virtual timeline (the simulator's clock: the one place tests
/// read the real clock).
fn base() -> Instant {
    cec_sim::VirtualClock::start().now()
}

fn sign_in(acd: &mut Acd, now: Instant, work_no: &str, queues: &[(&str, u32)]) -> AgentRef {
    let agent = AgentRef::new("t", work_no);
    acd.sign_in(
        now,
        &agent,
        SignIn {
            skills: queues
                .iter()
                .map(|(q, w)| Skill {
                    queue: (*q).to_owned(),
                    weight: *w,
                })
                .collect(),
            state: WorkState::Idle,
            phone: work_no.to_owned(),
            auto_answer: false,
        },
    )
    .unwrap();
    agent
}

#[test]
fn longest_idle_agent_with_the_skill_is_picked() {
    let t0 = base();
    let mut acd = Acd::new();
    let a = sign_in(&mut acd, t0, "1001", &[("support", 1)]);
    let b = sign_in(
        &mut acd,
        t0 + Duration::from_secs(1),
        "1002",
        &[("support", 1)],
    );
    let _c = sign_in(&mut acd, t0, "1003", &[("sales", 1)]);
    assert_eq!(
        acd.pick("t", "support", crate::Strategy::LongestIdle, |_| true),
        Some(a.clone())
    );
    assert_eq!(
        acd.pick("t", "support", crate::Strategy::LongestIdle, |x| x.agent
            != a),
        Some(b.clone())
    );
    assert_eq!(
        acd.pick("other", "support", crate::Strategy::LongestIdle, |_| true),
        None
    );
    // After a call, a is idle again later than b: b is next.
    let t1 = t0 + Duration::from_secs(5);
    acd.offer(t1, &a, 7).unwrap();
    acd.answered(t1, &a, 7);
    acd.call_ended(t1, &a, 7, Duration::ZERO);
    assert_eq!(
        acd.pick("t", "support", crate::Strategy::LongestIdle, |_| true),
        Some(b)
    );
}

#[test]
fn wrap_up_then_idle_unless_the_agent_asked_for_busy() {
    let t0 = base();
    let mut acd = Acd::new();
    let a = sign_in(&mut acd, t0, "1001", &[("q", 1)]);
    acd.offer(t0, &a, 1).unwrap();
    acd.answered(t0, &a, 1);
    acd.call_ended(t0, &a, 1, Duration::from_secs(10));
    assert!(matches!(acd.agent(&a).unwrap().phase, Phase::WrapUp { .. }));
    assert_eq!(acd.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    acd.handle_timeout(t0 + Duration::from_secs(10));
    assert_eq!(acd.agent(&a).unwrap().phase, Phase::Idle);

    acd.offer(t0, &a, 2).unwrap();
    acd.answered(t0, &a, 2);
    acd.set_state(t0, &a, WorkState::Busy { reason: Some(201) })
        .unwrap();
    acd.call_ended(t0, &a, 2, Duration::from_secs(10));
    assert_eq!(
        acd.agent(&a).unwrap().phase,
        Phase::Busy {
            reason: Some(201),
            cause: BusyCause::Requested
        }
    );
}

#[test]
fn no_answer_makes_the_agent_busy_and_a_cancel_does_not() {
    let t0 = base();
    let mut acd = Acd::new();
    let a = sign_in(&mut acd, t0, "1001", &[("q", 1)]);
    acd.offer(t0, &a, 1).unwrap();
    acd.ring_failed(t0, &a, 1, Some(BusyCause::NoAnswer));
    assert!(matches!(
        acd.agent(&a).unwrap().phase,
        Phase::Busy {
            cause: BusyCause::NoAnswer,
            ..
        }
    ));
    assert!(acd.offer(t0, &a, 2).is_err());
    acd.set_state(t0, &a, WorkState::Idle).unwrap();
    acd.offer(t0, &a, 2).unwrap();
    acd.ring_failed(t0, &a, 2, None);
    assert_eq!(acd.agent(&a).unwrap().phase, Phase::Idle);
}

#[test]
fn sign_out_is_refused_during_a_call() {
    let t0 = base();
    let mut acd = Acd::new();
    let a = sign_in(&mut acd, t0, "1001", &[("q", 1)]);
    acd.offer(t0, &a, 1).unwrap();
    assert!(matches!(
        acd.sign_out(t0, &a),
        Err(AcdError::InvalidTransition { .. })
    ));
    acd.ring_failed(t0, &a, 1, None);
    acd.sign_out(t0, &a).unwrap();
    assert!(matches!(
        acd.sign_out(t0, &a),
        Err(AcdError::NotSignedIn(_))
    ));
    assert!(matches!(
        acd.set_state(t0, &a, WorkState::Idle),
        Err(AcdError::NotSignedIn(_))
    ));
}

#[test]
fn queues_keep_order_and_requeue_at_the_head() {
    let t0 = base();
    let mut acd = Acd::new();
    let q = acd.queues();
    assert_eq!(q.enqueue("t", "q", 1, t0), 1);
    assert_eq!(q.enqueue("t", "q", 2, t0 + Duration::from_secs(1)), 2);
    assert!(q.remove("t", "q", 1));
    q.requeue_front("t", "q", 1, t0);
    let order: Vec<CallRef> = q.waiting("t", "q").iter().map(|w| w.call).collect();
    assert_eq!(order, vec![1, 2]);
    assert_eq!(q.heads().len(), 1);
    assert!(q.remove("t", "q", 2));
    assert!(!q.remove("t", "q", 2));
    assert_eq!(q.total(), 1);
}

#[derive(Debug, Clone)]
enum Op {
    SignIn(u8),
    SignOut(u8),
    Busy(u8),
    Idle(u8),
    Offer(u8),
    Answer(u8),
    RingFail(u8, bool),
    End(u8, u8),
    Tick(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let agent = 0u8..4;
    prop_oneof![
        agent.clone().prop_map(Op::SignIn),
        agent.clone().prop_map(Op::SignOut),
        agent.clone().prop_map(Op::Busy),
        agent.clone().prop_map(Op::Idle),
        agent.clone().prop_map(Op::Offer),
        agent.clone().prop_map(Op::Answer),
        (agent.clone(), any::<bool>()).prop_map(|(a, b)| Op::RingFail(a, b)),
        (agent, 0u8..3).prop_map(|(a, w)| Op::End(a, w)),
        (0u8..20).prop_map(Op::Tick),
    ]
}

proptest! {
    #[test]
    fn every_change_continues_from_the_last_state(ops in proptest::collection::vec(op(), 1..200)) {
        let t0 = base();
        let mut now = t0;
        let mut acd = Acd::new();
        let mut next_call: CallRef = 0;
        let mut last: std::collections::HashMap<AgentRef, Phase> = Default::default();
        for op in ops {
            let who = |n: u8| AgentRef::new("t", &format!("{n}"));
            let call_of = |acd: &Acd, a: &AgentRef| acd.agent(a).and_then(|x| x.phase.call());
            match op {
                Op::SignIn(n) => { let _ = acd.sign_in(now, &who(n), SignIn { skills: vec![Skill { queue: "q".into(), weight: 1 }], state: WorkState::Idle, phone: String::new(), auto_answer: false }); }
                Op::SignOut(n) => { let _ = acd.sign_out(now, &who(n)); }
                Op::Busy(n) => { let _ = acd.set_state(now, &who(n), WorkState::Busy { reason: None }); }
                Op::Idle(n) => { let _ = acd.set_state(now, &who(n), WorkState::Idle); }
                Op::Offer(n) => { next_call += 1; let _ = acd.offer(now, &who(n), next_call); }
                Op::Answer(n) => { if let Some(c) = call_of(&acd, &who(n)) { acd.answered(now, &who(n), c); } }
                Op::RingFail(n, busy) => { if let Some(c) = call_of(&acd, &who(n)) { acd.ring_failed(now, &who(n), c, busy.then_some(BusyCause::NoAnswer)); } }
                Op::End(n, wrap) => { if let Some(c) = call_of(&acd, &who(n)) { acd.call_ended(now, &who(n), c, Duration::from_secs(u64::from(wrap))); } }
                Op::Tick(s) => { now += Duration::from_secs(u64::from(s)); acd.handle_timeout(now); }
            }
            while let Some(change) = acd.poll_change() {
                let previous = last.get(&change.agent).copied().unwrap_or(Phase::SignedOut);
                prop_assert_eq!(previous, change.from);
                prop_assert_ne!(change.from, change.to);
                last.insert(change.agent.clone(), change.to);
            }
            for agent in acd.agents() {
                prop_assert_eq!(Some(&agent.phase).copied(), last.get(&agent.agent).copied().or(Some(Phase::SignedOut)));
                if let Phase::WrapUp { until } = agent.phase { prop_assert!(until > now || acd.poll_timeout().is_some()); }
            }
            // A picked agent is always Idle and serves the queue.
            if let Some(picked) = acd.pick("t", "q", crate::Strategy::LongestIdle, |_| true) {
                prop_assert_eq!(acd.agent(&picked).map(|a| a.phase), Some(Phase::Idle));
            }
        }
    }
}

#[test]
fn strategies_order_the_idle_agents_differently() {
    let t0 = base();
    let mut acd = Acd::new();
    // 1001 idle longest with weight 1; 1002 weight 5; 1003 answered fewest.
    let a = sign_in(&mut acd, t0, "1001", &[("q", 1)]);
    let b = sign_in(&mut acd, t0 + Duration::from_secs(1), "1002", &[("q", 5)]);
    let c = sign_in(&mut acd, t0 + Duration::from_secs(2), "1003", &[("q", 1)]);
    for (agent, call, end_ms) in [(&a, 1, 0), (&b, 2, 500)] {
        let end = t0 + Duration::from_millis(end_ms);
        acd.offer(t0, agent, call).unwrap();
        acd.answered(t0, agent, call);
        acd.call_ended(end, agent, call, Duration::ZERO);
    }
    // After those calls: 1001 idle since t0, 1002 since t0 + 0.5 s, 1003 since t0 + 2 s.
    let any = |_: &Agent| true;
    assert_eq!(
        acd.pick("t", "q", crate::Strategy::LongestIdle, any),
        Some(a.clone())
    );
    assert_eq!(
        acd.pick("t", "q", crate::Strategy::SkillWeight, any),
        Some(b.clone())
    );
    assert_eq!(
        acd.pick("t", "q", crate::Strategy::FewestCalls, any),
        Some(c.clone())
    );
    // Round robin walks the work numbers and wraps around.
    let picks: Vec<AgentRef> = (0..4)
        .map(|_| {
            acd.pick("t", "q", crate::Strategy::RoundRobin, any)
                .unwrap()
        })
        .collect();
    assert_eq!(picks, vec![a.clone(), b.clone(), c, a.clone()]);
    // Unreachable agents are skipped whatever the order.
    assert_eq!(
        acd.pick("t", "q", crate::Strategy::SkillWeight, |x: &Agent| x.agent
            != b),
        Some(a)
    );
}
