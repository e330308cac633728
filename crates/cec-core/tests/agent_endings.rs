//! The agent's side of calls on the simulated network: a phone that rejects (the agent
//! becomes Busy and the call goes back to the head of its queue), rings out (Busy "no
//! answer"), forks to several registered contacts (first answer wins, the rest are
//! cancelled, a late answer gets a BYE), hangs up, or holds and resumes (hold music to the
//! caller, then the bridge again). Each checks the SIP messages on both sides, the media
//! calls, the agent's state and the record, and that nothing is left behind.

mod common;

use std::time::Duration;

use cec_acd::{BusyCause, Phase};
use cec_core::{ReleasedBy, RequestedState, Value};
use cec_sip::TerminationReason;
use common::*;

#[test]
fn agent_rejecting_is_made_busy_and_the_call_goes_back_to_the_head_for_the_next_agent() {
    let mut w = World::new(23);
    let (p1, p2) = (phone_addr(1), phone_addr(2));
    w.add_phone(
        "1001",
        p1,
        Behavior::Reject(486, Duration::from_millis(500)),
    );
    w.add_phone(
        "1002",
        p2,
        Behavior::AnswerAfter(Duration::from_millis(300)),
    );
    w.sign_in("1001");
    w.sign_in_as("1002", RequestedState::Busy { reason: None });
    let first = w.call("4001");
    w.run_ms(100);
    let second = w.call("4001");
    w.run_ms(100);
    // 1001 rings with the first call; the second waits behind it.
    assert!(matches!(w.phase("1001"), Phase::Ringing { .. }));
    w.run(Duration::from_secs(1));
    assert_eq!(w.sent(p1, PLATFORM), ["180 INVITE", "486 INVITE"]);
    assert_eq!(
        w.phase("1001"),
        Phase::Busy {
            reason: None,
            cause: BusyCause::Rejected
        }
    );
    assert_eq!(
        w.agent_event_field("1001", "AgentState_SetNotReady_Success", "cause"),
        Some(Value::Text("rejected".into()))
    );
    // Regression: this event used to carry no agent (the agent side was gone first).
    assert_eq!(
        w.agent_event_field("1001", "AgentEvent_Connect_Fail", "status"),
        Some(Value::Int(486))
    );
    // The rejected call is back at the head: the next agent gets it, not the second call.
    w.set_state("1002", RequestedState::Idle).unwrap();
    w.run(Duration::from_secs(1));
    let records = w.records();
    let first_id = &records[0].id;
    let rung = &w.phone_ref(p2).calls;
    assert_eq!(rung.len(), 1);
    assert_eq!(
        rung[0].caller_id.as_deref(),
        Some(records[0].caller.as_str())
    );
    let answered = records.iter().rfind(|r| r.answered_ms.is_some()).unwrap();
    assert_eq!(&answered.id, first_id);
    assert_eq!(answered.agent.as_deref(), Some("1002"));
    assert_eq!(rel(answered.ringing_ms), Some(10), "first ring kept");
    for call in [first, second] {
        let now = w.now();
        w.trunk().bye(now, call);
    }
    w.run(Duration::from_secs(60));
    assert_eq!(w.final_records().len(), 2);
    w.assert_clean();
}

#[test]
fn ring_timeout_cancels_the_phone_makes_the_agent_busy_no_answer_and_rings_the_next() {
    let mut w = World::new(24);
    let (p1, p2) = (phone_addr(1), phone_addr(2));
    w.add_phone("1001", p1, Behavior::Never);
    w.add_phone(
        "1002",
        p2,
        Behavior::AnswerAfter(Duration::from_millis(200)),
    );
    w.sign_in("1001");
    w.run_ms(10);
    w.sign_in("1002");
    let call = w.call("4001");
    w.run(Duration::from_secs(6));
    // Rung at 20 ms for 5 s.
    assert_eq!(w.first_sent_ms(PLATFORM, p1, "CANCEL"), Some(5020));
    assert_eq!(
        w.sent(p1, PLATFORM),
        ["180 INVITE", "200 CANCEL", "487 INVITE"]
    );
    assert_eq!(
        w.phase("1001"),
        Phase::Busy {
            reason: None,
            cause: BusyCause::NoAnswer
        }
    );
    assert_eq!(
        w.agent_event_field("1001", "AgentState_SetNotReady_Success", "cause"),
        Some(Value::Text("no answer".into()))
    );
    assert!(w.agent_events("1001").contains(&"AgentEvent_No_Answer"));
    assert_eq!(w.first_sent_ms(PLATFORM, p2, "INVITE"), Some(5020));
    assert!(matches!(w.phase("1002"), Phase::Talking { .. }));
    let now = w.now();
    w.trunk().bye(now, call);
    w.run(Duration::from_secs(60));
    let record = w.final_record();
    assert_eq!(record.agent.as_deref(), Some("1002"));
    assert_eq!(rel(record.ringing_ms), Some(20));
    w.assert_clean();
}

#[test]
fn forked_contacts_first_answer_wins_others_are_cancelled_and_a_late_answer_gets_bye() {
    let mut w = World::new(25);
    let (p1, p2, p3) = (phone_addr(1), phone_addr(2), phone_addr(3));
    // Three contacts of 1001: p1 answers first; p2 answers 5 ms later, while our CANCEL
    // is on its way; p3 keeps ringing.
    w.add_phone(
        "1001",
        p1,
        Behavior::AnswerAfter(Duration::from_millis(1000)),
    );
    w.add_phone(
        "1001",
        p2,
        Behavior::AnswerAfter(Duration::from_millis(1005)),
    );
    w.add_phone("1001", p3, Behavior::Never);
    w.sign_in("1001");
    let call = w.call("4001");
    w.run(Duration::from_secs(3));
    for phone in [p1, p2, p3] {
        assert_eq!(w.first_sent_ms(PLATFORM, phone, "INVITE"), Some(10));
    }
    assert_eq!(w.sent(PLATFORM, p1), ["INVITE", "ACK"], "{}", w.trace());
    assert_eq!(w.sent(PLATFORM, p2), ["INVITE", "CANCEL", "ACK", "BYE"]);
    assert_eq!(
        w.sent(p2, PLATFORM),
        ["180 INVITE", "200 INVITE", "200 CANCEL", "200 BYE"]
    );
    assert_eq!(
        w.phone_ref(p2).calls[0].ended,
        Some(TerminationReason::RemoteBye)
    );
    assert_eq!(w.sent(PLATFORM, p3), ["INVITE", "CANCEL", "ACK"]);
    assert_eq!(
        w.sent(p3, PLATFORM),
        ["180 INVITE", "200 CANCEL", "487 INVITE"]
    );
    assert!(matches!(w.phase("1001"), Phase::Talking { .. }));
    assert_eq!(w.phone_ref(p1).calls[0].ended, None);
    // One bridge, to the first phone's answer.
    let bridges = w
        .media_ops()
        .iter()
        .filter(|op| matches!(op, MediaOp::Bridge(..)))
        .count();
    assert_eq!(bridges, 1);
    let now = w.now();
    w.trunk().bye(now, call);
    w.run(Duration::from_secs(60));
    assert_eq!(
        w.phone_ref(p1).calls[0].ended,
        Some(TerminationReason::RemoteBye)
    );
    w.assert_clean();
}

#[test]
fn agent_hanging_up_sends_bye_to_the_trunk_and_starts_wrap_up() {
    let mut w = World::staffed(26, 500);
    let phone = phone_addr(1);
    let call = w.call("4001");
    w.run(Duration::from_secs(3));
    let now = w.now();
    assert!(w.phone(phone).bye(now, 0));
    w.run_ms(100);
    assert_eq!(
        w.sent(PLATFORM, TRUNK).last().map(String::as_str),
        Some("BYE")
    );
    assert_eq!(w.first_sent_ms(PLATFORM, TRUNK, "BYE"), Some(3010));
    assert_eq!(
        w.trunk_ref().calls[call].ended,
        Some(TerminationReason::RemoteBye)
    );
    assert!(matches!(w.phase("1001"), Phase::WrapUp { .. }));
    let record = w.final_record();
    assert_eq!(record.released_by, Some(ReleasedBy::Agent));
    assert_eq!(record.release_cause.as_deref(), Some("agent hung up"));
    assert!(
        !w.agent_events("1001")
            .contains(&"AgentEvent_Customer_Release")
    );
    w.run(Duration::from_secs(3));
    assert_eq!(w.phase("1001"), Phase::Idle);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn hold_from_the_phone_plays_hold_music_to_the_caller_and_resume_bridges_again() {
    let mut w = World::staffed(27, 500);
    let phone = phone_addr(1);
    let call = w.call("4001");
    w.run(Duration::from_secs(2));
    let bridge = w
        .media_ops()
        .into_iter()
        .find(|op| matches!(op, MediaOp::Bridge(..)))
        .expect("bridged");
    let MediaOp::Bridge(caller_leg, agent_leg) = bridge else {
        unreachable!()
    };
    let ops_before = w.media_ops().len();
    let now = w.now();
    assert!(w.phone(phone).hold(now, 0));
    w.run_ms(100);
    assert_eq!(w.phone_ref(phone).calls[0].reinvite_statuses, [200]);
    let ops = w.media_ops()[ops_before..].to_vec();
    assert!(
        ops.contains(&MediaOp::Play(caller_leg, hold_music())),
        "{ops:?}"
    );
    assert!(ops.iter().any(|op| matches!(
        op,
        MediaOp::Renegotiate { leg, direction: cec_sdp::Direction::RecvOnly, .. } if *leg == agent_leg
    )));
    assert_eq!(
        w.platform_ref().media.leg(caller_leg).unwrap().playing,
        Some(hold_music())
    );
    assert!(w.agent_events("1001").contains(&"AgentEvent_Hold"));
    // The phone's hold must not disturb the caller's SIP side.
    assert!(!w.sent(PLATFORM, TRUNK).contains(&"re-INVITE".to_owned()));

    let ops_before = w.media_ops().len();
    let now = w.now();
    assert!(w.phone(phone).resume(now, 0));
    w.run_ms(100);
    assert_eq!(w.phone_ref(phone).calls[0].reinvite_statuses, [200, 200]);
    let ops = w.media_ops()[ops_before..].to_vec();
    assert!(
        ops.contains(&MediaOp::Bridge(caller_leg, agent_leg)),
        "{ops:?}"
    );
    assert_eq!(
        w.platform_ref().media.leg(caller_leg).unwrap().bridged,
        Some(agent_leg)
    );
    assert_eq!(
        w.agent_event_field("1001", "AgentEvent_Talking", "resumed"),
        Some(Value::Int(1))
    );
    assert!(matches!(w.phase("1001"), Phase::Talking { .. }));
    let now = w.now();
    w.trunk().bye(now, call);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}
