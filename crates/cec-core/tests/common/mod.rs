//! Harness for the call core's simulator tests: a platform node (SIP endpoint + Switch +
//! fake media engine + fake registrar), a carrier trunk and agents' phones, all on a
//! simulated UDP network with a virtual clock (`cec-sim`), plus the configuration of the
//! scenarios and the invariants every call must leave behind.

#![allow(dead_code)]

mod checks;
pub mod media;
pub mod phone;
pub mod platform;
pub mod trunk;
mod world;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use cec_acd::Skill;
use cec_core::config::{
    AgentAccount, Queue, Rel100, RenegotiationMethod, Target, TenantLimits, Trunk,
};
use cec_core::{Playback, SwitchConfig};
use cec_sip_msg::parse_datagram;

pub use media::{FakeMedia, MediaOp};
pub use phone::{Behavior, Phone};
pub use platform::Platform;
pub use trunk::{CallSpec, TrunkUa};
pub use world::World;

/// The platform (SIP listener).
pub const PLATFORM: SocketAddr = addr([127, 0, 0, 1], 5060);
/// The carrier's trunk (an admitted source).
pub const TRUNK: SocketAddr = addr([127, 0, 0, 1], 5070);
/// A source no trunk admits.
pub const STRANGER: SocketAddr = addr([127, 0, 0, 2], 5070);
/// Tenant of every scenario.
pub const TENANT: &str = "demo";
/// Epoch ms of the simulation's start in records and events.
pub const ORIGIN_MS: i64 = 1_700_000_000_000;

const fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])), port)
}

/// Where agent phone `n` lives.
pub fn phone_addr(n: u16) -> SocketAddr {
    addr([127, 0, 0, 3], 5080 + n)
}

/// The scenarios' configuration: tenant `demo`, trunk `carrier` admitting 127.0.0.1,
/// access code 4001 → queue `support` (ring 5 s, wrap-up 2 s, 10 waiting, 60 s), 4002 → an
/// IVR flow; agents 1001–1003 with the `support` skill.
pub fn config() -> SwitchConfig {
    let mut config = SwitchConfig::default();
    config.tenants.insert(
        TENANT.into(),
        TenantLimits {
            max_calls: 100,
            max_cps: 100,
        },
    );
    config.trunks.push(Trunk {
        tenant: TENANT.into(),
        name: "carrier".into(),
        networks: vec![(TRUNK.ip(), 32)],
        digest: None,
        max_calls: 50,
        max_cps: 50,
        rel100: Rel100::Supported,
        renegotiation: RenegotiationMethod::Update,
        called_number_from: Vec::new(),
        codecs: vec!["PCMA".into(), "PCMU".into()],
    });
    config.access_codes.insert(
        (TENANT.into(), "carrier".into()),
        vec!["4001".into(), "4002".into()],
    );
    config.routes.insert(
        (TENANT.into(), "4001".into(), String::new()),
        Target::Queue("support".into()),
    );
    config.routes.insert(
        (TENANT.into(), "4002".into(), String::new()),
        Target::Flow("menu".into()),
    );
    config
        .queues
        .insert((TENANT.into(), "support".into()), queue("support"));
    for work_no in ["1001", "1002", "1003"] {
        config
            .agents
            .insert((TENANT.into(), work_no.into()), agent(work_no, "support"));
    }
    config
}

/// A queue with the scenarios' limits.
pub fn queue(name: &str) -> Queue {
    Queue {
        tenant: TENANT.into(),
        name: name.into(),
        max_waiting: 10,
        max_wait: Duration::from_secs(60),
        wrap_up: Duration::from_secs(2),
        ring_timeout: Duration::from_secs(5),
        on_no_agents: Target::Release {
            prompt: None,
            status: 480,
        },
        on_full: Target::Release {
            prompt: None,
            status: 486,
        },
        on_wait_timeout: Target::Release {
            prompt: None,
            status: 480,
        },
        hold_music: Some(format!("{name}-music")),
        strategy: cec_acd::Strategy::LongestIdle,
        announcement: None,
    }
}

/// An agent account whose phone is SIP user `work_no`, serving `queue`.
pub fn agent(work_no: &str, queue: &str) -> AgentAccount {
    AgentAccount {
        tenant: TENANT.into(),
        work_no: work_no.into(),
        sip_user: work_no.into(),
        skills: vec![Skill {
            queue: queue.into(),
            weight: 1,
        }],
        auto_answer: false,
    }
}

/// A packet's label in traces: the request method (`re-INVITE` for an INVITE inside a
/// dialog) or the status code and the CSeq method (`200 INVITE`).
pub fn label(packet: &Bytes) -> String {
    let Ok(message) = parse_datagram(packet.clone()) else {
        return "garbage".into();
    };
    match message.status() {
        Some(status) => {
            let method = message
                .cseq()
                .map(|c| c.method.to_string())
                .unwrap_or_default();
            format!("{status} {method}")
        }
        None => {
            let method = message.method().map(|m| m.to_string()).unwrap_or_default();
            let in_dialog = message.to().is_ok_and(|to| to.tag().is_some());
            if method == "INVITE" && in_dialog {
                "re-INVITE".into()
            } else {
                method
            }
        }
    }
}

/// A record's time, in ms since the start.
pub fn rel(ms: Option<i64>) -> Option<i64> {
    ms.map(|m| m - ORIGIN_MS)
}

/// The `support` queue's hold music.
pub fn hold_music() -> Playback {
    Playback::Hold {
        tenant: TENANT.into(),
        music: Some("support-music".into()),
        announcement: None,
    }
}

/// Whether `packet` is a `method` request (for network rules).
pub fn is_request(packet: &Bytes, method: &str) -> bool {
    packet.starts_with(method.as_bytes()) && packet.get(method.len()) == Some(&b' ')
}

/// Sends a hold (or resume) re-INVITE in `dialog` when the call is `live` and no re-INVITE
/// of ours is in flight; records it in `reinvite`. Whether it went out.
#[allow(clippy::too_many_arguments)]
pub fn send_reoffer(
    ep: &mut cec_sip::Endpoint,
    now: std::time::Instant,
    dialog: Option<cec_sip::DialogId>,
    live: bool,
    sdp: &mut cec_sdp::LocalSdpSession,
    reinvite: &mut Option<cec_sip::TransactionId>,
    hold: bool,
) -> bool {
    let Some(dialog) = dialog.filter(|_| live) else {
        return false;
    };
    if reinvite.is_some() {
        return false;
    }
    let offer = if hold { sdp.hold() } else { sdp.resume() };
    let Some(offer) = offer else {
        return false;
    };
    match ep.reinvite(now, dialog, Bytes::from(offer.to_string())) {
        Ok(tx) => {
            *reinvite = Some(tx);
            true
        }
        Err(_) => false,
    }
}
