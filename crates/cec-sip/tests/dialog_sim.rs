//! Call flows between two endpoints on a simulated UDP network with a virtual clock: every
//! rule of RFC 3261 transactions and dialogs, RFC 3262 reliable provisionals and RFC 4028
//! session timers that a carrier interconnect exercises, including under loss.

mod sim;

use std::time::Duration;

use cec_sim::{LinkConfig, Rule, RuleAction};
use cec_sip::{Event, TerminationReason};
use sim::*;

/// How many packets `who` sent whose first line starts with `prefix`.
fn sent_by(
    sim: &cec_sim::Simulation<std::net::SocketAddr, bytes::Bytes>,
    who: &str,
    prefix: &str,
) -> usize {
    sim.net
        .trace()
        .iter()
        .filter(|e| e.label.as_deref().is_some_and(|l| l.starts_with(prefix)))
        .filter(|e| matches!(e.event, cec_sim::TraceEvent::Sent { from, .. } if from == addr(who)))
        .count()
}

fn terminated(reason: TerminationReason) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::DialogTerminated { reason: r, .. } if *r == reason)
}

#[test]
fn invite_over_udp_with_30_percent_loss_completes_for_every_seed() {
    for seed in 0..25 {
        let ring = Script {
            ring: Some((180, false, false)),
            answer_after: Some(Duration::from_secs(1)),
            ..Script::default()
        };
        let caller = Script {
            bye_after: Some(Duration::from_secs(5)),
            ..Script::default()
        };
        let mut sim = two_agents(seed, caller, ring);
        sim.net.set_default_link(LinkConfig::lossy(0.3));
        call(&mut sim, |_| {});
        sim.run_for(Duration::from_secs(120)).unwrap();
        let trace = sim.trace_text();
        let a = alice(&mut sim);
        assert!(
            a.count(is_answered) >= 1,
            "seed {seed}: never answered\n{trace}"
        );
        assert_eq!(
            a.count(terminated(TerminationReason::LocalBye)),
            1,
            "seed {seed}\n{trace}"
        );
        assert_eq!(a.ep.dialog_count(), 0);
        assert!(
            a.ep.transactions().is_empty(),
            "seed {seed}: no transaction left"
        );
        let b = bob(&mut sim);
        assert_eq!(
            b.count(|e| matches!(e, Event::Acked { .. })),
            1,
            "seed {seed}: ACK reported once\n{trace}"
        );
        assert_eq!(
            b.count(terminated(TerminationReason::RemoteBye)),
            1,
            "seed {seed}: BYE reached Bob\n{trace}"
        );
        assert_eq!(b.ep.dialog_count(), 0);
        assert!(
            b.ep.transactions().is_empty(),
            "seed {seed}: no transaction left"
        );
    }
}

#[test]
fn two_hundred_ok_is_retransmitted_until_ack_and_the_call_is_ended_without_ack() {
    let bob_script = Script {
        answer_after: Some(Duration::ZERO),
        ..Script::default()
    };
    let mut sim = two_agents(1, Script::default(), bob_script);
    sim.net.set_default_link(LinkConfig::perfect());
    sim.net.add_rule(Rule::new(
        RuleAction::Drop { times: usize::MAX },
        |_, _, p| is_request(p, "ACK"),
    ));
    let start = sim.now();
    call(&mut sim, |_| {});
    sim.run_for(Duration::from_secs(40)).unwrap();
    let oks = sent_by(&sim, BOB, "SIP/2.0 200");
    // 0, 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5 s: 11 copies, then timer H-like give-up at 32 s.
    assert_eq!(oks, 11, "{}", sim.trace_text());
    let b = bob(&mut sim);
    let (at, _) = b
        .first(terminated(TerminationReason::AckTimeout))
        .expect("Bob gave up");
    assert_eq!(*at - start, Duration::from_secs(32));
    assert_eq!(sent_by(&sim, BOB, "BYE "), 1);
}

#[test]
fn cancel_crosses_200_ok_and_the_caller_hangs_up_the_answered_call() {
    // Bob answers at 1 s; Alice cancels at the same instant; the 200 and the CANCEL cross.
    let bob_script = Script {
        ring: Some((180, false, false)),
        answer_after: Some(Duration::from_secs(1)),
        ..Script::default()
    };
    let alice_script = Script {
        bye_after: Some(Duration::ZERO),
        ..Script::default()
    };
    let mut sim = two_agents(3, alice_script, bob_script);
    sim.net
        .set_default_link(LinkConfig::perfect().with_delay(Duration::from_millis(50)));
    let invite = call(&mut sim, |_| {});
    sim.run_for(Duration::from_millis(1050)).unwrap();
    let now = sim.now();
    alice(&mut sim).ep.cancel(now, invite).unwrap();
    sim.run_for(Duration::from_secs(40)).unwrap();
    let trace = sim.trace_text();
    // Bob answered CANCEL 200 (the INVITE was already answered, so no 487).
    assert!(trace.contains("SIP/2.0 200 OK"), "{trace}");
    assert!(!trace.contains("487"), "{trace}");
    let a = alice(&mut sim);
    assert_eq!(a.count(is_answered), 1, "{trace}");
    assert_eq!(
        a.count(terminated(TerminationReason::LocalBye)),
        1,
        "{trace}"
    );
    let b = bob(&mut sim);
    assert_eq!(
        b.count(terminated(TerminationReason::RemoteBye)),
        1,
        "{trace}"
    );
    assert_eq!(b.ep.dialog_count(), 0);
    // The CANCEL came too late to cancel anything.
    assert_eq!(
        b.count(|e| matches!(e, Event::Cancelled { .. })),
        0,
        "{trace}"
    );
}

#[test]
fn cancel_before_answer_gets_487_and_ends_the_early_dialog() {
    let bob_script = Script {
        ring: Some((180, false, false)),
        answer_after: Some(Duration::from_secs(10)),
        ..Script::default()
    };
    let mut sim = two_agents(4, Script::default(), bob_script);
    sim.net.set_default_link(LinkConfig::lossy(0.2));
    let invite = call(&mut sim, |_| {});
    // CANCEL is asked for at once: it must wait for the first provisional (RFC 3261 §9.1).
    let now = sim.now();
    alice(&mut sim).ep.cancel(now, invite).unwrap();
    sim.run_for(Duration::from_secs(60)).unwrap();
    let trace = sim.trace_text();
    let a = alice(&mut sim);
    assert!(
        a.count(|e| matches!(e, Event::Response { response, .. } if status_of(response) == 487))
            == 1,
        "{trace}"
    );
    assert_eq!(
        a.count(terminated(TerminationReason::Rejected(487))),
        1,
        "{trace}"
    );
    // RFC 3261 §9.1: the CANCEL waited for the first provisional response.
    let trace_entries = sim.net.trace();
    let ringing_delivered = trace_entries
        .iter()
        .position(|e| {
            e.label
                .as_deref()
                .is_some_and(|l| l.starts_with("SIP/2.0 180"))
                && matches!(e.event, cec_sim::TraceEvent::Delivered { .. })
        })
        .expect("a 180 arrived");
    let cancel_sent = trace_entries
        .iter()
        .position(|e| e.label.as_deref().is_some_and(|l| l.starts_with("CANCEL")))
        .expect("a CANCEL was sent");
    assert!(cancel_sent > ringing_delivered, "{trace}");
    let b = bob(&mut sim);
    assert_eq!(
        b.count(|e| matches!(e, Event::Cancelled { .. })),
        1,
        "{trace}"
    );
    assert_eq!(b.ep.dialog_count(), 0, "{trace}");
}

#[test]
fn prack_lost_twice_is_retransmitted_and_the_provisional_acknowledged_once() {
    let bob_script = Script {
        ring: Some((183, true, true)),
        answer_after: Some(Duration::from_secs(5)),
        ..Script::default()
    };
    let mut sim = two_agents(5, Script::default(), bob_script);
    sim.net
        .set_default_link(LinkConfig::perfect().with_delay(Duration::from_millis(10)));
    let drops = sim
        .net
        .add_rule(Rule::new(RuleAction::Drop { times: 2 }, |_, _, p| {
            is_request(p, "PRACK")
        }));
    let start = sim.now();
    call(&mut sim, |_| {});
    sim.run_for(Duration::from_secs(40)).unwrap();
    let trace = sim.trace_text();
    assert_eq!(sim.net.rule(drops).unwrap().hits(), 2);
    let b = bob(&mut sim);
    let (at, _) = b
        .first(|e| matches!(e, Event::PrackReceived { .. }))
        .expect("PRACK arrived");
    // Sent at 20 ms, retransmitted at 0.52 s and 1.52 s (timer E); the third gets through.
    assert_eq!((*at - start).as_millis(), 1530, "{trace}");
    assert_eq!(b.count(|e| matches!(e, Event::PrackReceived { .. })), 1);
    assert_eq!(b.count(|e| matches!(e, Event::Acked { .. })), 1, "{trace}");
    let a = alice(&mut sim);
    assert_eq!(a.count(is_answered), 1, "{trace}");
    // Bob retransmitted the 183 while waiting (T1 doubling), Alice PRACKed only once.
    assert_eq!(sent_by(&sim, ALICE, "PRACK sip"), 3, "{trace}");
    assert!(sent_by(&sim, BOB, "SIP/2.0 183") >= 3, "{trace}");
}

#[test]
fn unacknowledged_reliable_provisional_fails_the_invite_with_500() {
    let bob_script = Script {
        ring: Some((180, true, false)),
        answer_after: Some(Duration::from_secs(60)),
        ..Script::default()
    };
    let mut sim = two_agents(6, Script::default(), bob_script);
    sim.net.set_default_link(LinkConfig::perfect());
    sim.net.add_rule(Rule::new(
        RuleAction::Drop { times: usize::MAX },
        |_, _, p| is_request(p, "PRACK"),
    ));
    call(&mut sim, |_| {});
    sim.run_for(Duration::from_secs(40)).unwrap();
    let b = bob(&mut sim);
    assert_eq!(b.count(terminated(TerminationReason::PrackTimeout)), 1);
    let a = alice(&mut sim);
    assert_eq!(
        a.count(|e| matches!(e, Event::Response { response, .. } if status_of(response) == 500)),
        1
    );
}

#[test]
fn reinvite_glare_gets_491_on_both_sides_and_the_dialog_survives() {
    let answer_now = Script {
        answer_after: Some(Duration::ZERO),
        ..Script::default()
    };
    let mut sim = two_agents(7, Script::default(), answer_now);
    sim.net
        .set_default_link(LinkConfig::perfect().with_delay(Duration::from_millis(30)));
    call(&mut sim, |_| {});
    sim.run_for(Duration::from_secs(1)).unwrap();
    let now = sim.now();
    let a_dialog = alice(&mut sim)
        .first(is_answered)
        .and_then(|(_, e)| match e {
            Event::Response { dialog, .. } => *dialog,
            _ => None,
        });
    let a_dialog = a_dialog.expect("Alice has a dialog");
    let b_dialog = match bob(&mut sim).first(|e| matches!(e, Event::Acked { .. })) {
        Some((_, Event::Acked { dialog, .. })) => *dialog,
        _ => panic!("Bob has a dialog"),
    };
    alice(&mut sim)
        .ep
        .reinvite(now, a_dialog, bytes::Bytes::from_static(SDP_OFFER))
        .unwrap();
    bob(&mut sim)
        .ep
        .reinvite(now, b_dialog, bytes::Bytes::from_static(SDP_OFFER))
        .unwrap();
    sim.run_for(Duration::from_secs(40)).unwrap();
    let trace = sim.trace_text();
    assert_eq!(sent_by(&sim, ALICE, "SIP/2.0 491"), 1, "{trace}");
    assert_eq!(sent_by(&sim, BOB, "SIP/2.0 491"), 1, "{trace}");
    for who in [ALICE, BOB] {
        let agent = sim.node_mut::<Agent>(addr(who)).unwrap();
        assert_eq!(agent.ep.dialog_count(), 1);
        assert_eq!(
            agent.count(
                |e| matches!(e, Event::Response { response, .. } if status_of(response) == 491)
            ),
            1
        );
    }
    // After the glare both can renegotiate again.
    let now = sim.now();
    alice(&mut sim)
        .ep
        .reinvite(now, a_dialog, bytes::Bytes::from_static(SDP_OFFER))
        .unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(
        alice(&mut sim).count(is_answered),
        2,
        "{}",
        sim.trace_text()
    );
}

#[test]
fn update_in_an_early_dialog_renegotiates_before_the_answer() {
    let bob_script = Script {
        ring: Some((183, true, true)),
        answer_after: Some(Duration::from_secs(3)),
        ..Script::default()
    };
    let mut sim = two_agents(8, Script::default(), bob_script);
    sim.net
        .set_default_link(LinkConfig::perfect().with_delay(Duration::from_millis(20)));
    call(&mut sim, |_| {});
    sim.run_for(Duration::from_millis(500)).unwrap();
    let dialog = match alice(&mut sim).first(|e| {
        matches!(
            e,
            Event::Response {
                dialog: Some(_),
                ..
            }
        )
    }) {
        Some((
            _,
            Event::Response {
                dialog: Some(d), ..
            },
        )) => *d,
        _ => panic!("early dialog expected"),
    };
    let now = sim.now();
    alice(&mut sim)
        .ep
        .request_in_dialog(
            now,
            dialog,
            cec_sip_msg::Method::Update,
            Some(("application/sdp", bytes::Bytes::from_static(SDP_OFFER))),
        )
        .unwrap();
    sim.run_for(Duration::from_secs(10)).unwrap();
    let a = alice(&mut sim);
    let update_ok = a.count(|e| matches!(e, Event::Response { response, core, .. }
        if core.cseq.method == cec_sip_msg::Method::Update && status_of(response) == 200 && !response.body().is_empty()));
    assert_eq!(update_ok, 1, "{}", sim.trace_text());
    assert_eq!(alice(&mut sim).count(is_answered), 1);
}

#[test]
fn session_timer_is_refreshed_by_the_caller_and_expires_when_refreshes_stop() {
    let answer_now = Script {
        answer_after: Some(Duration::ZERO),
        ..Script::default()
    };
    let mut sim = two_agents(9, Script::default(), answer_now);
    sim.net
        .set_default_link(LinkConfig::perfect().with_delay(Duration::from_millis(10)));
    let start = sim.now();
    call(&mut sim, |invite| invite.session_expires = Some(90));
    sim.run_for(Duration::from_secs(100)).unwrap();
    let trace = sim.trace_text();
    // Alice (refresher=uac) refreshes at 45 s and 90 s with UPDATE.
    assert_eq!(sent_by(&sim, ALICE, "UPDATE sip"), 2, "{trace}");
    assert_eq!(bob(&mut sim).ep.dialog_count(), 1);
    // Refreshes stop arriving: Bob sends BYE at 90 - min(32, 30) = 60 s after the last one.
    sim.net.add_rule(Rule::new(
        RuleAction::Drop { times: usize::MAX },
        |_, _, p| is_request(p, "UPDATE"),
    ));
    sim.run_for(Duration::from_secs(200)).unwrap();
    let b = bob(&mut sim);
    let (at, _) = b
        .first(terminated(TerminationReason::SessionExpired))
        .expect("Bob expired the session");
    // Last refresh accepted at ~90 s, expiry 60 s later.
    let elapsed = (*at - start).as_secs();
    assert!((149..=151).contains(&elapsed), "expired at {elapsed} s");
}

#[test]
fn too_small_session_interval_is_rejected_with_422_and_min_se() {
    let mut sim = two_agents(
        10,
        Script::default(),
        Script {
            answer_after: Some(Duration::ZERO),
            ..Script::default()
        },
    );
    sim.net.set_default_link(LinkConfig::perfect());
    call(&mut sim, |invite| invite.session_expires = Some(30));
    sim.run_for(Duration::from_secs(1)).unwrap();
    let a = alice(&mut sim);
    let (_, event) = a
        .first(|e| matches!(e, Event::Response { response, .. } if status_of(response) == 422))
        .expect("422");
    let Event::Response { response, .. } = event else {
        unreachable!()
    };
    assert_eq!(response.min_se().unwrap().unwrap().delta, 90);
}

#[test]
fn bye_for_an_unknown_dialog_and_out_of_order_cseq_are_refused() {
    let answer_now = Script {
        answer_after: Some(Duration::ZERO),
        ..Script::default()
    };
    let mut sim = two_agents(11, Script::default(), answer_now);
    sim.net.set_default_link(LinkConfig::perfect());
    call(&mut sim, |_| {});
    sim.run_for(Duration::from_secs(1)).unwrap();
    let dialog = match alice(&mut sim).first(is_answered) {
        Some((
            _,
            Event::Response {
                dialog: Some(d), ..
            },
        )) => *d,
        _ => panic!("answered"),
    };
    // An INFO with a CSeq lower than the INVITE's: Bob answers 500.
    let now = sim.now();
    {
        let a = alice(&mut sim);
        let d = a.ep.dialog(dialog).unwrap().clone();
        assert_eq!(d.local_cseq, 1);
    }
    alice(&mut sim)
        .ep
        .request_in_dialog(now, dialog, cec_sip_msg::Method::Info, None)
        .unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(
        alice(&mut sim).count(|e| matches!(e, Event::Response { response, core, .. }
            if core.cseq.method == cec_sip_msg::Method::Info && status_of(response) == 200)),
        1
    );
}

#[test]
fn invite_fails_over_to_the_next_target_on_timeout_and_on_503() {
    const DEAD: &str = "127.0.0.1:5099";
    const BUSY: &str = "127.0.0.1:5098";
    let answer_now = Script {
        answer_after: Some(Duration::ZERO),
        ..Script::default()
    };
    let mut sim = two_agents(12, Script::default(), answer_now);
    sim.net
        .set_default_link(LinkConfig::perfect().with_delay(Duration::from_millis(5)));
    sim.add_node(
        addr(BUSY),
        Agent::new(
            BUSY,
            Script {
                reject: Some(503),
                ..Script::default()
            },
            77,
        ),
    );
    let start = sim.now();
    let first = call(&mut sim, |invite| {
        invite.destination = cec_sip::Peer::new(cec_sip::TransportKind::Udp, addr(DEAD));
        invite.fallback_destinations = vec![
            cec_sip::Peer::new(cec_sip::TransportKind::Udp, addr(BUSY)),
            cec_sip::Peer::new(cec_sip::TransportKind::Udp, addr(BOB)),
        ];
    });
    sim.run_for(Duration::from_secs(40)).unwrap();
    let trace = sim.trace_text();
    let a = alice(&mut sim);
    let hops: Vec<(u128, std::net::SocketAddr)> = a
        .events
        .iter()
        .filter_map(|(at, e)| match e {
            Event::Retargeted { destination, .. } => {
                Some(((*at - start).as_millis(), destination.addr))
            }
            _ => None,
        })
        .collect();
    // Timer B (32 s) on the dead target, then the 503 comes back 10 ms later.
    assert_eq!(
        hops,
        vec![(32_000, addr(BUSY)), (32_010, addr(BOB))],
        "{trace}"
    );
    assert_eq!(a.count(is_answered), 1, "{trace}");
    assert_eq!(
        a.count(|e| matches!(e, Event::Response { response, .. } if status_of(response) == 503)),
        0
    );
    assert_eq!(
        a.count(|e| matches!(e, Event::Timeout { tx } if *tx == first)),
        0
    );
}

#[test]
fn a_2xx_may_overtake_an_unacknowledged_reliable_provisional_without_sdp_only() {
    for (with_sdp, expect_answer) in [(false, true), (true, false)] {
        let bob_script = Script {
            ring: Some((180, true, with_sdp)),
            answer_after: Some(Duration::from_secs(2)),
            ..Script::default()
        };
        let mut sim = two_agents(13, Script::default(), bob_script);
        sim.net.set_default_link(LinkConfig::perfect());
        sim.net.add_rule(Rule::new(
            RuleAction::Drop { times: usize::MAX },
            |_, _, p| is_request(p, "PRACK"),
        ));
        call(&mut sim, |_| {});
        sim.run_for(Duration::from_secs(40)).unwrap();
        let trace = sim.trace_text();
        assert_eq!(
            alice(&mut sim).count(is_answered) == 1,
            expect_answer,
            "sdp={with_sdp}\n{trace}"
        );
        // Once answered, the 180 is no longer retransmitted and no PRACK timeout fires.
        let prack_timeouts = bob(&mut sim).count(terminated(TerminationReason::PrackTimeout));
        assert_eq!(
            prack_timeouts,
            usize::from(!expect_answer),
            "sdp={with_sdp}"
        );
    }
}

#[test]
fn calls_complete_over_links_that_duplicate_and_reorder_packets() {
    for seed in 0..25 {
        let ring = Script {
            ring: Some((183, true, true)),
            answer_after: Some(Duration::from_millis(300)),
            ..Script::default()
        };
        let caller = Script {
            bye_after: Some(Duration::from_secs(2)),
            ..Script::default()
        };
        let mut sim = two_agents(100 + seed, caller, ring);
        sim.net.set_default_link(
            LinkConfig::wan()
                .with_loss(0.1)
                .with_duplicate(0.25)
                .with_reorder(0.25, Duration::from_millis(150)),
        );
        call(&mut sim, |_| {});
        sim.run_for(Duration::from_secs(120)).unwrap();
        let trace = sim.trace_text();
        let a = alice(&mut sim);
        assert_eq!(
            a.count(terminated(TerminationReason::LocalBye)),
            1,
            "seed {seed}\n{trace}"
        );
        assert!(a.ep.transactions().is_empty() && a.ep.dialog_count() == 0);
        let b = bob(&mut sim);
        assert_eq!(
            b.count(|e| matches!(e, Event::PrackReceived { .. })),
            1,
            "seed {seed}: PRACK reported once\n{trace}"
        );
        assert_eq!(
            b.count(|e| matches!(e, Event::Acked { .. })),
            1,
            "seed {seed}: ACK reported once"
        );
        assert_eq!(
            b.count(terminated(TerminationReason::RemoteBye)),
            1,
            "seed {seed}"
        );
        assert!(b.ep.transactions().is_empty() && b.ep.dialog_count() == 0);
    }
}
