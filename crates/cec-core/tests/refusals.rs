//! New calls the platform cannot or will not take, on the simulated network: an unknown
//! source (403), no called route (404), a route to an IVR flow (480), trunk and tenant
//! concurrency and rate limits and exhausted media ports (503 with Retry-After), no agent
//! signed in (the queue's no-agents target), a trunk that must authenticate with digest.
//! Each checks the status the carrier gets,
//! whether a record is written and that nothing is left behind.

mod common;

use std::time::Duration;

use cec_acd::Phase;
use cec_core::{Playback, ReleasedBy, RequestedState};
use common::*;

#[test]
fn invite_from_an_unknown_source_is_refused_with_403_and_not_recorded() {
    let mut w = World::staffed(5, 500);
    w.sim
        .add_node(STRANGER, TrunkUa::new(STRANGER, PLATFORM, 55));
    let now = w.now();
    let spec = CallSpec {
        called: "4001".into(),
        caller: "666".into(),
        rel100: false,
        session_expires: None,
        credentials: None,
    };
    w.sim
        .node_mut::<TrunkUa>(STRANGER)
        .unwrap()
        .call(now, &spec);
    w.run(Duration::from_secs(1));
    assert_eq!(w.sent(PLATFORM, STRANGER), ["403 INVITE"]);
    assert!(w.records().is_empty());
    assert!(w.media_ops().is_empty());
    assert_eq!(w.platform_ref().switch.stats().calls_refused, 1);
    assert_eq!(w.phase("1001"), Phase::Idle);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn unroutable_numbers_are_refused_with_a_record_of_why() {
    let mut w = World::staffed(6, 500);
    let no_route = w.call("5555");
    let flow = w.call("4002");
    w.run(Duration::from_secs(1));
    assert_eq!(w.final_status(no_route), Some(404));
    assert_eq!(w.final_status(flow), Some(480));
    assert_eq!(w.sent(PLATFORM, TRUNK), ["404 INVITE", "480 INVITE"]);
    let finals = w.final_records();
    assert_eq!(finals.len(), 2);
    assert_eq!(finals[0].release_cause.as_deref(), Some("no called route"));
    assert_eq!(finals[0].sip_status, Some(404));
    assert_eq!(finals[0].released_by, Some(ReleasedBy::System));
    assert_eq!(finals[0].ended_ms, Some(finals[0].arrived_ms));
    // Regression: refusals after routing used to lose the access code matched.
    assert_eq!(finals[1].access_code, "4002");
    assert_eq!(finals[1].sip_status, Some(480));
    assert_eq!(
        finals[1].release_cause.as_deref(),
        Some("IVR flows are not available yet")
    );
    assert!(w.media_ops().is_empty(), "no leg for a refused call");
    assert_eq!(w.phase("1001"), Phase::Idle);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn trunk_concurrency_limit_refuses_with_503_and_retry_after_until_a_call_ends() {
    let mut config = config();
    config.trunks[0].max_calls = 1;
    let mut w = World::with_config(7, config, 64);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    let first = w.call("4001");
    w.run_ms(100);
    let second = w.call("4001");
    w.run_ms(100);
    assert_eq!(w.final_status(first), Some(200));
    assert_eq!(w.final_status(second), Some(503));
    assert_eq!(w.trunk_ref().calls[second].retry_after, Some(5));
    // Load refusals are not recorded one by one.
    assert_eq!(w.records().len(), 1);
    let now = w.now();
    w.trunk().bye(now, first);
    w.run_ms(100);
    let third = w.call("4001");
    w.run_ms(100);
    assert_eq!(w.final_status(third), Some(200), "{}", w.trace());
    let now = w.now();
    w.trunk().bye(now, third);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn trunk_rate_limit_refuses_with_503_and_retry_after_within_the_second() {
    let mut config = config();
    config.trunks[0].max_cps = 2;
    let mut w = World::with_config(8, config, 64);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    let calls: Vec<usize> = (0..3).map(|_| w.call("4001")).collect();
    w.run_ms(500);
    let statuses: Vec<_> = calls.iter().map(|&c| w.final_status(c)).collect();
    assert_eq!(statuses, [Some(200), Some(200), Some(503)]);
    assert_eq!(w.trunk_ref().calls[calls[2]].retry_after, Some(1));
    w.run_ms(600);
    let later = w.call("4001");
    w.run_ms(100);
    assert_eq!(w.final_status(later), Some(200));
    for call in [calls[0], calls[1], later] {
        let now = w.now();
        w.trunk().bye(now, call);
    }
    w.run(Duration::from_secs(60));
    assert_eq!(w.final_records().len(), 3);
    w.assert_clean();
}

#[test]
fn no_agent_signed_in_sends_the_call_to_the_queues_no_agents_target() {
    // Default target: release with 480.
    let mut w = World::new(9);
    let call = w.call("4001");
    w.run(Duration::from_secs(1));
    assert_eq!(w.final_status(call), Some(480));
    let record = &w.final_records()[0];
    assert_eq!(record.sip_status, Some(480));
    assert!(
        record
            .release_cause
            .as_deref()
            .is_some_and(|c| c.starts_with("no agents signed in")),
        "{record:?}"
    );
    assert!(w.media_ops().is_empty());
    w.run(Duration::from_secs(60));
    w.assert_clean();

    // Another queue as the target: the call waits there for its agent.
    let mut config = config();
    config
        .queues
        .get_mut(&(TENANT.into(), "support".into()))
        .unwrap()
        .on_no_agents = cec_core::config::Target::Queue("backup".into());
    config
        .queues
        .insert((TENANT.into(), "backup".into()), queue("backup"));
    config
        .agents
        .insert((TENANT.into(), "1003".into()), agent("1003", "backup"));
    let mut w = World::with_config(10, config, 64);
    w.add_phone(
        "1003",
        phone_addr(3),
        Behavior::AnswerAfter(Duration::from_millis(300)),
    );
    w.sign_in("1003");
    let call = w.call("4001");
    w.run(Duration::from_secs(2));
    assert_eq!(w.final_status(call), Some(200));
    assert!(matches!(w.phase("1003"), Phase::Talking { .. }));
    let record = w.records().last().cloned().unwrap();
    assert_eq!(record.queue.as_deref(), Some("backup"));
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
    w.assert_clean();
}

#[test]
fn a_refusal_with_a_prompt_plays_it_as_early_media_before_the_status() {
    let mut config = config();
    config
        .queues
        .get_mut(&(TENANT.into(), "support".into()))
        .unwrap()
        .on_no_agents = cec_core::config::Target::Release {
        prompt: Some("closed".into()),
        status: 486,
    };
    let mut w = World::with_config(11, config, 64);
    let call = w.call("4001");
    w.run(Duration::from_secs(1));
    // 183 with our SDP, the announcement, and no final answer until it ends.
    assert_eq!(
        w.count_sent(PLATFORM, TRUNK, "183 INVITE"),
        1,
        "{}",
        w.trace()
    );
    assert_eq!(w.final_status(call), None);
    assert!(w.media_ops().contains(&MediaOp::Play(
        1,
        Playback::Prompt {
            tenant: TENANT.into(),
            prompt: "closed".into()
        }
    )));
    let now = w.now();
    w.platform()
        .media_event(now, 1, &cec_media::LegEvent::PlaybackFinished);
    w.run(Duration::from_secs(1));
    assert_eq!(w.final_status(call), Some(486));
    let record = &w.final_records()[0];
    assert_eq!(record.sip_status, Some(486));
    assert!(record.answered_ms.is_none());
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn an_overloaded_platform_refuses_new_calls_with_503_until_it_caught_up() {
    let mut w = World::staffed(12, 100);
    w.platform().switch.set_overloaded(true);
    let shed = w.call("4001");
    w.run(Duration::from_secs(1));
    assert_eq!(w.final_status(shed), Some(503));
    assert!(w.records().is_empty(), "a shed call leaves no record");
    assert!(w.media_ops().is_empty());
    assert_eq!(w.platform_ref().switch.stats().calls_shed, 1);
    w.platform().switch.set_overloaded(false);
    let admitted = w.call("4001");
    w.run(Duration::from_secs(2));
    assert_eq!(w.final_status(admitted), Some(200));
    let now = w.now();
    w.trunk().bye(now, admitted);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn media_port_exhaustion_refuses_with_503_without_leaking() {
    // One port pair: the first caller takes it; the second cannot get a leg.
    let mut w = World::with_config(11, config(), 1);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    let first = w.call("4001");
    let second = w.call("4001");
    w.run_ms(200);
    assert_eq!(w.final_status(first), Some(200));
    assert_eq!(w.final_status(second), Some(503));
    assert_eq!(w.platform_ref().media.free_ports(), 0);
    // The agent becomes ready but no port is left for the agent's leg: the call stays
    // queued, the agent is not left ringing.
    w.set_state("1001", RequestedState::Idle).unwrap();
    w.run_ms(200);
    assert_eq!(w.phase("1001"), Phase::Idle);
    assert!(w.sent(PLATFORM, phone_addr(1)).is_empty());
    let now = w.now();
    w.trunk().bye(now, first);
    w.run(Duration::from_secs(60));
    assert_eq!(w.platform_ref().media.free_ports(), 1);
    w.assert_clean();
}

#[test]
fn tenant_limits_refuse_with_503_like_trunk_limits() {
    let mut config = config();
    config.tenants.get_mut(TENANT).unwrap().max_calls = 1;
    let mut w = World::with_config(13, config, 64);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    let first = w.call("4001");
    let second = w.call("4001");
    w.run_ms(200);
    assert_eq!(w.final_status(first), Some(200));
    assert_eq!(w.final_status(second), Some(503));
    assert_eq!(w.trunk_ref().calls[second].retry_after, Some(5));
    let now = w.now();
    w.trunk().bye(now, first);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}

#[test]
fn a_trunk_that_requires_digest_is_challenged_and_admitted_only_with_its_password() {
    use cec_sip_auth::{Algorithm, Credentials, Secret, compute_ha1};
    let mut config = config();
    config.trunks[0].digest = Some(cec_core::config::TrunkDigest {
        username: "carrier".into(),
        // Both: we challenge with SHA-256 and MD5, and the carrier picks SHA-256.
        ha1_md5: Some(compute_ha1(Algorithm::Md5, "carrier", "opencec", "s3cret")),
        ha1_sha256: Some(compute_ha1(
            Algorithm::Sha256,
            "carrier",
            "opencec",
            "s3cret",
        )),
    });
    let mut w = World::with_config(14, config, 64);
    w.add_phone("1001", phone_addr(1), Behavior::Never);
    w.sign_in_as("1001", RequestedState::Busy { reason: None });
    let spec = |password: &str| CallSpec {
        called: "4001".into(),
        caller: "0211".into(),
        rel100: false,
        session_expires: None,
        credentials: Some(Credentials {
            username: "carrier".into(),
            secret: Secret::Password(password.into()),
        }),
    };
    let now = w.now();
    let good = w.trunk().call(now, &spec("s3cret"));
    w.run_ms(200);
    assert_eq!(
        w.trunk_ref().calls[good].statuses,
        [180, 200],
        "{}",
        w.trace()
    );
    assert_eq!(w.sent(PLATFORM, TRUNK)[0], "407 INVITE");
    let now = w.now();
    let bad = w.trunk().call(now, &spec("guess"));
    w.run_ms(200);
    let status = w.final_status(bad);
    assert!(matches!(status, Some(401 | 403)), "{status:?}");
    assert_eq!(w.platform_ref().switch.call_count(), 1);
    assert_eq!(w.records().len(), 1, "challenges are not recorded");
    let now = w.now();
    w.trunk().bye(now, good);
    w.run(Duration::from_secs(60));
    w.assert_clean();
}
