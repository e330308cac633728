//! Queueing and agents on the simulated network: several callers and agents served in
//! arrival order with wrap-up between calls, an agent whose phone registers after the
//! call queued, state requests during a call, the queue-full rule, auto-answer and the
//! API's live calls and release.

mod common;

use std::time::Duration;

use cec_acd::Phase;
use cec_core::{Command, CommandError, CommandReply, ReleasedBy, RequestedState};
use common::*;

#[test]
fn two_agents_three_callers_are_served_in_arrival_order_and_the_third_after_wrap_up() {
    let mut w = World::new(40);
    let (p1, p2) = (phone_addr(1), phone_addr(2));
    w.add_phone(
        "1001",
        p1,
        Behavior::AnswerAfter(Duration::from_millis(500)),
    );
    w.add_phone(
        "1002",
        p2,
        Behavior::AnswerAfter(Duration::from_millis(500)),
    );
    w.sign_in("1001");
    w.run_ms(10);
    w.sign_in("1002");
    let a = w.call("4001");
    w.run_ms(100);
    let b = w.call("4001");
    w.run_ms(100);
    let c = w.call("4001");
    w.run(Duration::from_secs(2));
    assert!(matches!(w.phase("1001"), Phase::Talking { .. }));
    assert!(matches!(w.phase("1002"), Phase::Talking { .. }));
    let callers: Vec<String> = w.records().iter().map(|r| r.caller.clone()).collect();
    let (caller_a, caller_b, caller_c) = (&callers[0], &callers[1], &callers[2]);
    // The third caller hears hold music while both agents talk.
    let c_record = w
        .records()
        .into_iter()
        .rfind(|r| r.caller == *caller_c)
        .unwrap();
    assert_eq!(rel(c_record.queued_ms), Some(220));
    assert_eq!(c_record.ringing_ms, None);
    assert_eq!(
        w.platform_ref()
            .switch
            .acd()
            .queue_state()
            .stats(TENANT, "support")
            .waiting,
        1
    );

    // A hangs up at 3 s; 1001 wraps up for 2 s and then takes C.
    w.run_ms(3000 - w.elapsed_ms() as u64);
    let now = w.now();
    w.trunk().bye(now, a);
    w.run_ms(1500);
    assert!(matches!(w.phase("1001"), Phase::WrapUp { .. }));
    assert_eq!(w.phone_ref(p1).calls.len(), 1);
    w.run_ms(1000);
    assert_eq!(w.phone_ref(p1).calls.len(), 2);
    let rung_at: Vec<i64> = w
        .sim
        .net
        .trace()
        .iter()
        .filter(|e| e.label.as_deref() == Some("INVITE"))
        .filter(|e| matches!(e.event, cec_sim::TraceEvent::Sent { from, .. } if from == PLATFORM))
        .map(|e| (e.at - w.sim.clock.base()).as_millis() as i64)
        .collect();
    assert_eq!(
        rung_at,
        [20, 120, 5010],
        "A, B at arrival; C after A's wrap-up"
    );
    let ids: Vec<&str> = w
        .phone_ref(p1)
        .calls
        .iter()
        .filter_map(|c| c.caller_id.as_deref())
        .collect();
    assert_eq!(ids, [caller_a.as_str(), caller_c.as_str()]);
    let ids: Vec<&str> = w
        .phone_ref(p2)
        .calls
        .iter()
        .filter_map(|c| c.caller_id.as_deref())
        .collect();
    assert_eq!(ids, [caller_b.as_str()]);
    w.run(Duration::from_secs(2));
    assert!(matches!(w.phase("1001"), Phase::Talking { .. }));
    for call in [b, c] {
        let now = w.now();
        w.trunk().bye(now, call);
    }
    w.run(Duration::from_secs(60));
    let finals = w.final_records();
    assert_eq!(finals.len(), 3);
    let agents: Vec<_> = [caller_a, caller_b, caller_c]
        .iter()
        .map(|caller| {
            finals
                .iter()
                .find(|r| r.caller == **caller)
                .and_then(|r| r.agent.clone())
        })
        .collect();
    assert_eq!(
        agents,
        [
            Some("1001".into()),
            Some("1002".into()),
            Some("1001".into())
        ]
    );
    assert_eq!(w.phase("1001"), Phase::Idle);
    assert_eq!(w.phase("1002"), Phase::Idle);
    w.assert_clean();
}

#[test]
fn a_phone_registering_after_the_call_queued_is_rung_when_the_registrar_says_so() {
    let mut w = World::new(41);
    w.sign_in("1001");
    let call = w.call("4001");
    w.run(Duration::from_secs(2));
    // Signed in but unreachable: the call waits.
    assert_eq!(w.platform_ref().switch.call_count(), 1);
    assert_eq!(w.phase("1001"), Phase::Idle);
    let phone = phone_addr(1);
    w.add_phone(
        "1001",
        phone,
        Behavior::AnswerAfter(Duration::from_millis(200)),
    );
    w.run_ms(500);
    assert!(
        w.sent(PLATFORM, phone).is_empty(),
        "the Switch cannot see the registrar change by itself"
    );
    let now = w.now();
    w.platform().registrations_changed(now);
    w.run_ms(500);
    assert_eq!(w.first_sent_ms(PLATFORM, phone, "INVITE"), Some(2500));
    assert!(matches!(w.phase("1001"), Phase::Talking { .. }));
    let now = w.now();
    w.trunk().bye(now, call);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn state_requested_during_a_call_applies_after_it_and_sign_out_waits_for_the_call_end() {
    let mut w = World::staffed(42, 200);
    let phone = phone_addr(1);
    let call = w.call("4001");
    w.run(Duration::from_secs(1));
    assert!(matches!(w.phase("1001"), Phase::Talking { .. }));
    let refused = w.command(Command::SignOut {
        tenant: TENANT.into(),
        work_no: "1001".into(),
    });
    assert!(
        matches!(refused, Err(CommandError::InvalidTransition(_))),
        "{refused:?}"
    );
    w.set_state("1001", RequestedState::Busy { reason: Some(201) })
        .unwrap();
    assert!(matches!(w.phase("1001"), Phase::Talking { .. }));
    let now = w.now();
    w.trunk().bye(now, call);
    w.run_ms(100);
    assert!(
        matches!(
            w.phase("1001"),
            Phase::Busy {
                reason: Some(201),
                ..
            }
        ),
        "{:?}",
        w.phase("1001")
    );
    // Busy agents get no calls; the caller waits.
    let second = w.call("4001");
    w.run(Duration::from_secs(5));
    assert_eq!(w.phone_ref(phone).calls.len(), 1);
    w.command(Command::SignOut {
        tenant: TENANT.into(),
        work_no: "1001".into(),
    })
    .unwrap();
    assert_eq!(w.phase("1001"), Phase::SignedOut);
    assert!(
        w.agent_events("1001")
            .contains(&"AgentOther_ShutdownService")
    );
    let now = w.now();
    w.trunk().bye(now, second);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn a_full_queue_sends_new_callers_to_its_on_full_target() {
    let mut config = config();
    config
        .queues
        .get_mut(&(TENANT.into(), "support".into()))
        .unwrap()
        .max_waiting = 2;
    let mut w = World::with_config(43, config, 64);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    let calls: Vec<usize> = (0..3).map(|_| w.call("4001")).collect();
    w.run(Duration::from_secs(1));
    let statuses: Vec<Option<u16>> = calls
        .iter()
        .map(|&c| {
            w.trunk_ref().calls[c]
                .statuses
                .iter()
                .copied()
                .find(|s| *s >= 200)
        })
        .collect();
    assert_eq!(statuses, [Some(200), Some(200), Some(486)]);
    let refused = w.final_records();
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0]
            .release_cause
            .as_deref()
            .is_some_and(|c| c.starts_with("queue full")),
        "{refused:?}"
    );
    for call in &calls[..2] {
        let now = w.now();
        w.trunk().bye(now, *call);
    }
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn auto_answer_sign_in_asks_the_phone_to_answer_by_itself() {
    let mut w = World::new(44);
    let phone = phone_addr(1);
    w.add_phone(
        "1001",
        phone,
        Behavior::AnswerAfter(Duration::from_millis(10)),
    );
    w.command(Command::SignIn {
        tenant: TENANT.into(),
        work_no: "1001".into(),
        phone: None,
        state: None,
        auto_answer: Some(true),
    })
    .unwrap();
    let call = w.call("4001");
    w.run(Duration::from_secs(1));
    assert_eq!(
        w.phone_ref(phone).calls[0].call_info.as_deref(),
        Some("<sip:opencec>;answer-after=0")
    );
    assert!(w.agent_events("1001").contains(&"AgentEvent_Auto_Answer"));
    let now = w.now();
    w.trunk().bye(now, call);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn live_calls_are_listed_and_the_api_can_release_one() {
    let mut w = World::staffed(45, 200);
    let phone = phone_addr(1);
    let call = w.call("4001");
    w.run(Duration::from_secs(1));
    let Ok(CommandReply::Calls(calls)) = w.command(Command::LiveCalls {
        tenant: TENANT.into(),
    }) else {
        panic!("live calls")
    };
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].state, "talking");
    assert_eq!(calls[0].agent.as_deref(), Some("1001"));
    let Ok(CommandReply::Agent(status)) = w.command(Command::AgentStatus {
        tenant: TENANT.into(),
        work_no: "1001".into(),
    }) else {
        panic!("agent status")
    };
    assert_eq!(status.phase.name(), "talking");
    assert_eq!(status.call_id.as_deref(), Some(calls[0].call_id.as_str()));
    let missing = w.command(Command::Release {
        tenant: TENANT.into(),
        call_id: "nope".into(),
    });
    assert!(matches!(missing, Err(CommandError::NotFound(_))));
    w.command(Command::Release {
        tenant: TENANT.into(),
        call_id: calls[0].call_id.clone(),
    })
    .unwrap();
    w.run_ms(100);
    assert_eq!(w.count_sent(PLATFORM, TRUNK, "BYE"), 1);
    assert_eq!(w.count_sent(PLATFORM, phone, "BYE"), 1);
    assert!(w.trunk_ref().calls[call].ended.is_some());
    let record = &w.final_records()[0];
    assert_eq!(record.released_by, Some(ReleasedBy::System));
    assert_eq!(
        record.release_cause.as_deref(),
        Some("released through the API")
    );
    w.run(Duration::from_secs(60));
    w.assert_clean();
}
