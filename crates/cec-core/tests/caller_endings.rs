//! The caller's side of calls ending on the simulated network: the caller cancels while
//! the answer waits for PRACK, hangs up while queued or while the agent's phone rings;
//! the caller's leg times out (no ACK, no PRACK, session timer, no RTP on either leg);
//! the caller waits past the queue's limit (released, or overflowed to another queue).
//! Each checks the SIP messages on both sides, the media calls, the agent's state and the
//! record, and that nothing is left behind.

mod common;

use std::time::Duration;

use cec_acd::Phase;
use cec_core::config::Target;
use cec_core::{Playback, ReleasedBy, RequestedState};
use cec_media::LegEvent;
use cec_sim::{Rule, RuleAction};
use cec_sip::TerminationReason;
use common::*;

#[test]
fn cancel_while_the_answer_waits_for_prack_gets_487_and_releases_the_leg() {
    let mut w = World::new(20);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in("1001");
    // The carrier's PRACKs are lost, so the 200 waits.
    w.sim.net.add_rule(Rule::new(
        RuleAction::Drop { times: usize::MAX },
        |_, _, p| is_request(p, "PRACK"),
    ));
    let call = w.call_with("4001", true);
    w.run_ms(300);
    assert_eq!(w.platform_ref().switch.call_count(), 1);
    let now = w.now();
    assert!(w.trunk().cancel(now, call));
    w.run(Duration::from_secs(1));
    let sent = w.sent(PLATFORM, TRUNK);
    assert_eq!(sent.first().map(String::as_str), Some("183 INVITE"));
    assert!(sent.contains(&"200 CANCEL".to_owned()), "{sent:?}");
    assert_eq!(sent.last().map(String::as_str), Some("487 INVITE"));
    assert!(!sent.contains(&"200 INVITE".to_owned()));
    assert!(w.sent(PLATFORM, phone_addr(1)).is_empty(), "never queued");
    let record = w.final_record();
    assert_eq!(record.released_by, Some(ReleasedBy::Caller));
    assert_eq!(record.release_cause.as_deref(), Some("caller cancelled"));
    assert_eq!(record.sip_status, Some(487));
    assert_eq!(record.queued_ms, None);
    assert!(
        matches!(w.media_ops()[..], [MediaOp::Allocate { leg, .. }, MediaOp::Release(r)] if leg == r)
    );
    assert_eq!(w.phase("1001"), Phase::Idle);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn caller_hanging_up_while_queued_leaves_the_queue_and_the_agent_alone() {
    let mut w = World::new(21);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    let call = w.call("4001");
    w.run(Duration::from_secs(2));
    assert_eq!(
        w.platform_ref()
            .switch
            .acd()
            .queue_state()
            .stats(TENANT, "support")
            .waiting,
        1
    );
    let now = w.now();
    w.trunk().bye(now, call);
    w.run_ms(100);
    assert_eq!(
        w.sent(PLATFORM, TRUNK),
        ["180 INVITE", "200 INVITE", "200 BYE"]
    );
    let record = w.final_record();
    assert_eq!(record.released_by, Some(ReleasedBy::Caller));
    assert_eq!(record.release_cause.as_deref(), Some("caller hung up"));
    assert_eq!(record.agent, None);
    assert_eq!(record.ringing_ms, None);
    assert_eq!(rel(record.ended_ms), Some(2010));
    assert!(matches!(w.phase("1001"), Phase::Busy { .. }));
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn caller_hanging_up_while_the_phone_rings_cancels_the_phone_and_frees_the_agent() {
    let mut w = World::new(22);
    let phone = phone_addr(1);
    w.add_phone("1001", phone, Behavior::Never);
    w.sign_in("1001");
    let call = w.call("4001");
    w.run(Duration::from_secs(2));
    assert!(matches!(w.phase("1001"), Phase::Ringing { .. }));
    let now = w.now();
    w.trunk().bye(now, call);
    w.run(Duration::from_secs(1));
    assert_eq!(
        w.sent(PLATFORM, phone),
        ["INVITE", "CANCEL", "ACK"],
        "{}",
        w.trace()
    );
    assert_eq!(
        w.sent(phone, PLATFORM),
        ["180 INVITE", "200 CANCEL", "487 INVITE"]
    );
    assert!(w.phone_ref(phone).calls[0].cancelled);
    // Not the agent's fault: back to Idle, not Busy.
    assert_eq!(w.phase("1001"), Phase::Idle);
    let record = w.final_record();
    assert_eq!(record.released_by, Some(ReleasedBy::Caller));
    // Regression: the phone rings when the call arrives, not at the caller's ACK.
    assert_eq!(rel(record.ringing_ms), Some(10));
    assert_eq!(record.answered_ms, None);
    assert_eq!(record.agent, None);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn rtp_timeout_on_either_leg_releases_both_sides() {
    for agent_side in [false, true] {
        let mut w = World::staffed(28, 500);
        let phone = phone_addr(1);
        let call = w.call("4001");
        w.run(Duration::from_secs(2));
        let Some(MediaOp::Bridge(caller_leg, agent_leg)) = w
            .media_ops()
            .into_iter()
            .find(|op| matches!(op, MediaOp::Bridge(..)))
        else {
            panic!("not bridged")
        };
        let leg = if agent_side { agent_leg } else { caller_leg };
        let now = w.now();
        w.platform().media_event(
            now,
            leg,
            &LegEvent::RtpTimeout {
                silent_for: Duration::from_secs(30),
            },
        );
        w.run_ms(100);
        assert_eq!(w.count_sent(PLATFORM, TRUNK, "BYE"), 1, "{}", w.trace());
        assert_eq!(w.count_sent(PLATFORM, phone, "BYE"), 1);
        assert_eq!(
            w.trunk_ref().calls[call].ended,
            Some(TerminationReason::RemoteBye)
        );
        assert_eq!(
            w.phone_ref(phone).calls[0].ended,
            Some(TerminationReason::RemoteBye)
        );
        let record = w.final_record();
        assert_eq!(record.released_by, Some(ReleasedBy::System));
        let cause = if agent_side {
            "no RTP from the agent's phone"
        } else {
            "no RTP from the caller"
        };
        assert_eq!(record.release_cause.as_deref(), Some(cause));
        assert!(matches!(w.phase("1001"), Phase::WrapUp { .. }));
        // A late event on a released leg is ignored.
        let now = w.now();
        w.platform().media_event(
            now,
            leg,
            &LegEvent::RtpTimeout {
                silent_for: Duration::from_secs(31),
            },
        );
        w.run(Duration::from_secs(60));
        assert_eq!(w.final_records().len(), 1);
        w.assert_clean();
    }
}

#[test]
fn waiting_past_the_queues_limit_releases_the_caller() {
    let mut w = World::new(29);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    let call = w.call("4001");
    w.run(Duration::from_secs(59));
    assert_eq!(w.platform_ref().switch.call_count(), 1);
    w.run(Duration::from_secs(2));
    assert_eq!(w.first_sent_ms(PLATFORM, TRUNK, "BYE"), Some(60_010));
    assert_eq!(
        w.trunk_ref().calls[call].ended,
        Some(TerminationReason::RemoteBye)
    );
    let record = w.final_record();
    assert_eq!(record.released_by, Some(ReleasedBy::System));
    assert_eq!(
        record.release_cause.as_deref(),
        Some("waited too long in the queue")
    );
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn waiting_past_the_limit_with_a_release_prompt_plays_it_then_hangs_up() {
    let mut w = World::with_config(31, announcing_config(), 64);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    let call = w.call("4001");
    w.run(Duration::from_secs(61));
    // The announcement plays; nothing is hung up until it ends.
    assert!(
        w.media_ops().contains(&MediaOp::Play(
            1,
            Playback::Prompt {
                tenant: TENANT.into(),
                prompt: "sorry".into()
            }
        )),
        "{:?}",
        w.media_ops()
    );
    assert_eq!(w.count_sent(PLATFORM, TRUNK, "BYE"), 0);
    assert_eq!(w.platform_ref().switch.call_count(), 1);
    let now = w.now();
    w.platform()
        .media_event(now, 1, &LegEvent::PlaybackFinished);
    w.run_ms(100);
    assert_eq!(w.count_sent(PLATFORM, TRUNK, "BYE"), 1, "{}", w.trace());
    assert_eq!(
        w.trunk_ref().calls[call].ended,
        Some(TerminationReason::RemoteBye)
    );
    let record = w.final_record();
    assert_eq!(
        record.release_cause.as_deref(),
        Some("waited too long in the queue")
    );
    w.run(Duration::from_secs(60));
    w.assert_clean();

    // Should the end of the announcement never be reported, the call ends anyway.
    let mut w = World::with_config(32, announcing_config(), 64);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    w.call("4001");
    w.run(Duration::from_secs(61 + 119));
    assert_eq!(w.count_sent(PLATFORM, TRUNK, "BYE"), 0);
    w.run(Duration::from_secs(2));
    assert_eq!(w.count_sent(PLATFORM, TRUNK, "BYE"), 1);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

/// The test config with a release announcement after the queue's longest wait.
fn announcing_config() -> cec_core::SwitchConfig {
    let mut config = config();
    config
        .queues
        .get_mut(&(TENANT.into(), "support".into()))
        .unwrap()
        .on_wait_timeout = Target::Release {
        prompt: Some("sorry".into()),
        status: 480,
    };
    config
}

#[test]
fn waiting_past_the_queues_limit_overflows_to_the_wait_timeout_queue() {
    let mut config = config();
    config
        .queues
        .get_mut(&(TENANT.into(), "support".into()))
        .unwrap()
        .on_wait_timeout = Target::Queue("backup".into());
    config
        .queues
        .insert((TENANT.into(), "backup".into()), queue("backup"));
    config
        .agents
        .insert((TENANT.into(), "1003".into()), agent("1003", "backup"));
    let mut w = World::with_config(30, config, 64);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.add_phone(
        "1003",
        phone_addr(3),
        Behavior::AnswerAfter(Duration::from_millis(100)),
    );
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    w.sign_in("1003");
    let call = w.call("4001");
    w.run(Duration::from_secs(61));
    assert_eq!(
        w.first_sent_ms(PLATFORM, phone_addr(3), "INVITE"),
        Some(60_010)
    );
    assert!(matches!(w.phase("1003"), Phase::Talking { .. }));
    assert!(w.media_ops().contains(&MediaOp::Play(
        1,
        Playback::Hold {
            tenant: TENANT.into(),
            music: Some("backup-music".into()),
            announcement: None,
        }
    )));
    let now = w.now();
    w.trunk().bye(now, call);
    w.run(Duration::from_secs(60));
    let record = w.final_record();
    assert_eq!(record.queue.as_deref(), Some("backup"));
    assert_eq!(record.agent.as_deref(), Some("1003"));
    assert_eq!(rel(record.queued_ms), Some(10), "first queue entry kept");
    w.assert_clean();
}

/// A talking call: agent 1001 answered; returns the trunk's call index.
fn talking(w: &mut World, spec: Option<CallSpec>) -> usize {
    w.add_phone(
        "1001",
        phone_addr(1),
        Behavior::AnswerAfter(Duration::from_millis(300)),
    );
    w.sign_in("1001");
    let call = match spec {
        Some(spec) => {
            let now = w.now();
            w.trunk().call(now, &spec)
        }
        None => w.call("4001"),
    };
    w.run(Duration::from_secs(1));
    assert!(
        matches!(w.phase("1001"), Phase::Talking { .. }),
        "{}",
        w.trace()
    );
    call
}

#[test]
fn caller_never_acknowledging_the_200_ends_the_call_on_both_sides() {
    let mut w = World::new(31);
    w.sim.net.add_rule(Rule::new(
        RuleAction::Drop { times: usize::MAX },
        |_, _, p| is_request(p, "ACK"),
    ));
    talking(&mut w, None);
    w.run(Duration::from_secs(32));
    // Timer H: 64·T1 after the 200 (sent at 10 ms), the platform gives up with BYE.
    assert_eq!(w.first_sent_ms(PLATFORM, TRUNK, "BYE"), Some(32_010));
    assert_eq!(
        w.first_sent_ms(PLATFORM, phone_addr(1), "BYE"),
        Some(32_010)
    );
    let record = w.final_record();
    assert_eq!(record.released_by, Some(ReleasedBy::System));
    assert_eq!(
        record.release_cause.as_deref(),
        Some("caller's dialog ended: no ACK")
    );
    assert!(matches!(w.phase("1001"), Phase::WrapUp { .. }));
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn caller_never_sending_prack_fails_the_invite_and_frees_the_leg() {
    let mut w = World::new(32);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in("1001");
    w.sim.net.add_rule(Rule::new(
        RuleAction::Drop { times: usize::MAX },
        |_, _, p| is_request(p, "PRACK"),
    ));
    let call = w.call_with("4001", true);
    w.run(Duration::from_secs(40));
    let statuses = &w.trunk_ref().calls[call].statuses;
    assert_eq!(statuses.first(), Some(&183));
    assert!(statuses.last().is_some_and(|s| *s >= 500), "{statuses:?}");
    let record = w.final_record();
    assert_eq!(record.released_by, Some(ReleasedBy::System));
    assert_eq!(
        record.release_cause.as_deref(),
        Some("caller's dialog ended: no PRACK")
    );
    assert!(w.sent(PLATFORM, phone_addr(1)).is_empty());
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn session_timer_expiry_on_the_callers_side_ends_the_call() {
    let mut w = World::new(33);
    let spec = CallSpec {
        called: "4001".into(),
        caller: "0211".into(),
        rel100: false,
        session_expires: Some(90),
        credentials: None,
    };
    talking(&mut w, Some(spec));
    // The carrier refreshes (refresher=uac), but its refreshes are lost.
    w.sim.net.add_rule(Rule::new(
        RuleAction::Drop { times: usize::MAX },
        |from, _, p| *from == TRUNK && (is_request(p, "UPDATE") || is_request(p, "INVITE")),
    ));
    w.run(Duration::from_secs(100));
    let record = w.final_record();
    assert_eq!(record.released_by, Some(ReleasedBy::System));
    assert_eq!(
        record.release_cause.as_deref(),
        Some("caller's dialog ended: session timer expired")
    );
    // The last refresh was our own UPDATE to the caller when the agent answered (answered
    // at 350 ms); without refreshes the session ends 90 - 30 = 60 s later.
    assert_eq!(rel(record.ended_ms), Some(60_350));
    assert_eq!(w.count_sent(PLATFORM, phone_addr(1), "BYE"), 1);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}
