//! Customer calls through the trunk on the simulated network: the answer flow towards the
//! carrier (180 or reliable 183 with PRACK, 200, ACK), queueing with hold music, the agent's
//! phone rung and bridged, the caller's side renegotiated (UPDATE, or re-INVITE when the
//! trunk does not allow UPDATE or is configured so), the carrier's own re-INVITE, hang-up
//! and the one final record.

mod common;

use std::time::Duration;

use cec_acd::Phase;
use cec_core::config::RenegotiationMethod;
use cec_core::{ReleasedBy, RequestedState};
use common::*;

#[test]
fn happy_path_queues_rings_bridges_renegotiates_and_records_once() {
    let mut w = World::new(1);
    let phone = phone_addr(1);
    w.add_phone("1001", phone, Behavior::AnswerAfter(Duration::from_secs(1)));
    // Signed in but not ready: the queue is staffed, so the call waits with hold music.
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    let call = w.call("4001");
    w.run_ms(500);
    assert_eq!(
        w.sent(PLATFORM, TRUNK),
        ["180 INVITE", "200 INVITE"],
        "{}",
        w.trace()
    );
    assert_eq!(w.sent(TRUNK, PLATFORM), ["INVITE", "ACK"]);
    assert!(w.trunk_ref().calls[call].answered);
    let caller_leg = match w.media_ops()[..] {
        [
            MediaOp::Allocate { leg, .. },
            MediaOp::Play(played, ref what),
        ] => {
            assert_eq!(played, leg);
            assert_eq!(*what, hold_music());
            leg
        }
        ref ops => panic!("expected allocate + hold music, got {ops:?}"),
    };
    assert!(w.sent(PLATFORM, phone).is_empty());
    let kinds: Vec<_> = w.events().iter().map(|e| e.kind).collect();
    assert!(kinds.starts_with(&["AgentOther_InService", "AgentState_SetNotReady_Success"]));
    assert!(
        kinds.ends_with(&["CallEvent_Arrived", "CallEvent_Queued"]),
        "{kinds:?}"
    );
    let running = w.records();
    assert_eq!(running.len(), 1);
    assert_eq!(rel(Some(running[0].arrived_ms)), Some(10));
    assert_eq!(rel(running[0].queued_ms), Some(10));
    assert_eq!(running[0].ended_ms, None);

    // The agent becomes ready at 0.5 s: the phone rings at once with the caller's number.
    w.set_state("1001", RequestedState::Idle).unwrap();
    assert!(matches!(w.phase("1001"), Phase::Ringing { .. }));
    w.run_ms(100);
    assert_eq!(w.sent(PLATFORM, phone), ["INVITE"]);
    let rung = &w.phone_ref(phone).calls[0];
    assert_eq!(rung.caller_id.as_deref(), Some(running[0].caller.as_str()));
    assert!(rung.call_info.is_none(), "no auto-answer asked for");

    // The phone answers at 1.51 s; the 200 arrives at 1.52 s.
    w.run_ms(1000);
    assert_eq!(w.sent(PLATFORM, phone), ["INVITE", "ACK"]);
    assert!(matches!(w.phase("1001"), Phase::Talking { .. }));
    let agent_leg = w
        .media_ops()
        .iter()
        .find_map(|op| match op {
            MediaOp::Allocate { leg, .. } if *leg != caller_leg => Some(*leg),
            _ => None,
        })
        .expect("agent leg");
    assert!(
        w.media_ops()
            .contains(&MediaOp::Bridge(caller_leg, agent_leg))
    );
    let media = &w.platform_ref().media;
    assert_eq!(media.leg(caller_leg).unwrap().bridged, Some(agent_leg));
    assert_eq!(media.leg(caller_leg).unwrap().playing, None);
    // The trunk's INVITE allowed UPDATE: the caller's side is renegotiated with UPDATE.
    assert_eq!(
        w.sent(PLATFORM, TRUNK),
        ["180 INVITE", "200 INVITE", "UPDATE"],
        "{}",
        w.trace()
    );
    assert_eq!(w.first_sent_ms(PLATFORM, TRUNK, "UPDATE"), Some(1520));
    assert_eq!(w.sent(TRUNK, PLATFORM), ["INVITE", "ACK", "200 UPDATE"]);
    assert_eq!(
        w.trunk_ref().calls[call].reoffers,
        [cec_sip_msg::Method::Update]
    );
    // The trunk's answer reaches the caller's leg.
    assert!(matches!(
        w.media_ops().last(),
        Some(MediaOp::Renegotiate { leg, .. }) if *leg == caller_leg
    ));
    let answered = w.records().last().cloned().unwrap();
    assert_eq!(rel(answered.answered_ms), Some(1520));
    assert_eq!(answered.agent.as_deref(), Some("1001"));
    assert_eq!(answered.ended_ms, None);

    // The caller hangs up at 5 s: the BYE reaches the platform at 5.01 s, the phone gets one.
    w.run_ms(5000 - w.elapsed_ms() as u64);
    let now = w.now();
    assert!(w.trunk().bye(now, call));
    w.run_ms(100);
    assert_eq!(
        w.sent(PLATFORM, phone),
        ["INVITE", "ACK", "BYE"],
        "{}",
        w.trace()
    );
    assert_eq!(w.first_sent_ms(PLATFORM, phone, "BYE"), Some(5010));
    assert_eq!(
        w.sent(TRUNK, PLATFORM).last().map(String::as_str),
        Some("BYE")
    );
    assert_eq!(
        w.sent(PLATFORM, TRUNK).last().map(String::as_str),
        Some("200 BYE")
    );
    assert_eq!(
        w.phone_ref(phone).calls[0].ended,
        Some(cec_sip::TerminationReason::RemoteBye)
    );
    let finals = w.final_records();
    assert_eq!(finals.len(), 1);
    let record = &finals[0];
    assert_eq!(record.tenant, TENANT);
    assert_eq!(record.trunk, "carrier");
    assert_eq!(record.access_code, "4001");
    assert_eq!(record.called, "4001");
    assert_eq!(record.queue.as_deref(), Some("support"));
    assert_eq!(record.agent.as_deref(), Some("1001"));
    assert_eq!(rel(Some(record.arrived_ms)), Some(10));
    assert_eq!(rel(record.queued_ms), Some(10));
    assert_eq!(rel(record.ringing_ms), Some(500));
    assert_eq!(rel(record.answered_ms), Some(1520));
    assert_eq!(rel(record.ended_ms), Some(5010));
    assert_eq!(record.released_by, Some(ReleasedBy::Caller));
    assert_eq!(record.release_cause.as_deref(), Some("caller hung up"));
    assert_eq!(record.sip_status, Some(200));
    assert!(record.caller_quality.is_some() && record.agent_quality.is_some());
    // Both legs released, once each.
    let released: Vec<_> = w
        .media_ops()
        .into_iter()
        .filter(|op| matches!(op, MediaOp::Release(_)))
        .collect();
    assert_eq!(
        released,
        [MediaOp::Release(caller_leg), MediaOp::Release(agent_leg)]
    );

    // Wrap-up for 2 s, then Idle.
    assert!(matches!(w.phase("1001"), Phase::WrapUp { .. }));
    w.run_ms(1800);
    assert!(matches!(w.phase("1001"), Phase::WrapUp { .. }));
    w.run_ms(300);
    assert_eq!(w.phase("1001"), Phase::Idle);
    let agent_events = w.agent_events("1001");
    assert!(
        agent_events.ends_with(&[
            "AgentEvent_Call_Release",
            "AgentEvent_Customer_Release",
            "AgentState_Work",
            "AgentState_Ready",
        ]),
        "{agent_events:?}"
    );
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn trunk_offering_100rel_gets_a_reliable_183_with_sdp_then_200_after_prack() {
    let mut w = World::staffed(2, 1000);
    let call = w.call_with("4001", true);
    w.run(Duration::from_secs(3));
    // Regression: the 200 after the PRACK used to repeat the SDP, which the endpoint took
    // for a new offer, so the UPDATE below was never sent.
    assert_eq!(
        w.sent(PLATFORM, TRUNK),
        ["183 INVITE", "200 PRACK", "200 INVITE", "UPDATE"],
        "{}",
        w.trace()
    );
    assert_eq!(
        w.sent(TRUNK, PLATFORM),
        ["INVITE", "PRACK", "ACK", "200 UPDATE"]
    );
    // The 183 carried our SDP answer and asked for PRACK.
    let trunk = w.trunk_ref();
    let ringing = trunk
        .events
        .iter()
        .find_map(|(_, e)| match e {
            cec_sip::Event::Response { response, .. } if response.status() == Some(183) => {
                Some(response.clone())
            }
            _ => None,
        })
        .expect("183");
    assert!(!ringing.body().is_empty());
    assert!(
        ringing
            .require()
            .unwrap()
            .iter()
            .any(|t| &t[..] == b"100rel")
    );
    assert!(ringing.rseq().unwrap().is_some());
    assert_eq!(trunk.calls[call].statuses, [183, 200]);
    assert!(matches!(w.phase("1001"), Phase::Talking { .. }));
    let now = w.now();
    w.trunk().bye(now, call);
    w.run(Duration::from_secs(60));
    assert_eq!(w.final_records().len(), 1);
    w.assert_clean();
}

/// Runs a call to the agent's answer and the caller's renegotiation; returns the labels the
/// platform sent the trunk and the offers the trunk saw.
fn renegotiation_of(mut w: World) -> (Vec<String>, Vec<cec_sip_msg::Method>, World) {
    let call = w.call("4001");
    w.run(Duration::from_secs(3));
    assert!(
        matches!(w.phase("1001"), Phase::Talking { .. }),
        "{}",
        w.trace()
    );
    let sent = w.sent(PLATFORM, TRUNK);
    let offers = w.trunk_ref().calls[call].reoffers.clone();
    let now = w.now();
    w.trunk().bye(now, call);
    w.run(Duration::from_secs(60));
    w.assert_clean();
    (sent, offers, w)
}

#[test]
fn trunk_without_allow_update_is_renegotiated_with_reinvite() {
    let mut w = World::staffed(3, 500);
    w.trunk().no_update = true;
    let (sent, offers, w) = renegotiation_of(w);
    assert_eq!(
        sent,
        ["180 INVITE", "200 INVITE", "re-INVITE", "ACK"],
        "{}",
        w.trace()
    );
    assert_eq!(offers, [cec_sip_msg::Method::Invite]);
}

#[test]
fn trunk_configured_for_reinvite_is_renegotiated_with_reinvite() {
    let mut config = config();
    config.trunks[0].renegotiation = RenegotiationMethod::Reinvite;
    let mut w = World::with_config(4, config, 64);
    w.add_phone(
        "1001",
        phone_addr(1),
        Behavior::AnswerAfter(Duration::from_millis(500)),
    );
    w.sign_in("1001");
    let (sent, offers, _) = renegotiation_of(w);
    assert_eq!(sent, ["180 INVITE", "200 INVITE", "re-INVITE", "ACK"]);
    assert_eq!(offers, [cec_sip_msg::Method::Invite]);
}

#[test]
fn carriers_reinvite_is_answered_on_the_callers_leg_without_touching_the_agent() {
    let mut w = World::staffed(12, 300);
    let call = w.call("4001");
    w.run(Duration::from_secs(2));
    let ops_before = w.media_ops().len();
    let now = w.now();
    assert!(w.trunk().reinvite(now, call, true));
    w.run_ms(100);
    assert_eq!(w.trunk_ref().calls[call].reinvite_statuses, [200]);
    let ops = w.media_ops()[ops_before..].to_vec();
    assert!(
        matches!(
            ops[..],
            [MediaOp::Renegotiate {
                leg: 1,
                direction: cec_sdp::Direction::RecvOnly,
                ..
            }]
        ),
        "{ops:?}"
    );
    let now = w.now();
    assert!(w.trunk().reinvite(now, call, false));
    w.run_ms(100);
    assert_eq!(w.trunk_ref().calls[call].reinvite_statuses, [200, 200]);
    assert!(
        w.sent(PLATFORM, phone_addr(1))
            .iter()
            .all(|l| l != "re-INVITE")
    );
    assert!(matches!(w.phase("1001"), Phase::Talking { .. }));
    let now = w.now();
    w.trunk().bye(now, call);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}
