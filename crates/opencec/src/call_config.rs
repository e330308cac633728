//! Builds the call core's configuration snapshot ([`SwitchConfig`]) and the agents' SIP
//! credentials from the store: every tenant's trunks, access codes, called routes, skill
//! queues and agents, with references (stored as ids) resolved to names.

use std::collections::HashMap;
use std::time::Duration;

use cec_acd::Skill;
use cec_core::SwitchConfig;
use cec_core::config::{
    AgentAccount, CalledSource, Queue, Rel100, RenegotiationMethod, Target, TenantLimits, Trunk,
    TrunkDigest,
};
use cec_sip_auth::Ha1;
use cec_store::model::{
    AccessCodeSpec, AgentSpec, CalledNumberSource, CalledRouteSpec, QueueTarget, RouteTarget,
    RoutingStrategy, SkillQueueSpec, TrunkSpec,
};
use cec_store::{Page, Resource, Store, StoreError, Stored};

use crate::config::parse_network;
use crate::media_control::PromptMap;

/// One agent phone's digest credentials.
#[derive(Debug, Clone)]
pub struct PhoneCredentials {
    pub sip_user: String,
    pub ha1_md5: Option<Ha1>,
    pub ha1_sha256: Option<Ha1>,
}

/// A database trunk to probe with OPTIONS.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// `tenant/trunk`.
    pub name: String,
    pub target: cec_sip::Peer,
    pub uri: cec_sip_msg::Uri,
    pub policy: cec_sip::ProbePolicy,
}

/// What the store gives the SIP side.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub switch: SwitchConfig,
    pub phones: Vec<PhoneCredentials>,
    /// Hold music of the queues, by (tenant name, prompt reference).
    pub prompts: PromptMap,
    /// Trunks to supervise.
    pub probes: Vec<Probe>,
}

async fn all<R: Resource>(store: &Store, tenant: &str) -> Result<Vec<Stored<R>>, StoreError> {
    let mut items = Vec::new();
    let mut page = Page {
        limit: Some(100),
        cursor: None,
    };
    loop {
        let listing = store.list::<R>(tenant, &page).await?;
        items.extend(listing.items);
        match listing.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(items),
        }
    }
}

fn ha1(secrets: Option<&serde_json::Value>, key: &str) -> Option<Ha1> {
    secrets?.get(key)?.as_str().and_then(Ha1::from_hex)
}

/// Reads the whole call-path configuration.
pub async fn load(store: &Store) -> Result<Loaded, StoreError> {
    let mut loaded = Loaded::default();
    let mut page = Page {
        limit: Some(100),
        cursor: None,
    };
    loop {
        let listing = store.list_tenants(&page).await?;
        for tenant in &listing.items {
            load_tenant(store, tenant, &mut loaded).await?;
        }
        match listing.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(loaded),
        }
    }
}

async fn load_tenant(
    store: &Store,
    tenant: &Stored<cec_store::model::TenantSpec>,
    loaded: &mut Loaded,
) -> Result<(), StoreError> {
    let t = tenant.id.as_str();
    let name = tenant.spec.name.clone();
    let config = &mut loaded.switch;
    config.tenants.insert(
        name.clone(),
        TenantLimits {
            max_calls: tenant.spec.limits.max_concurrent_calls,
            max_cps: tenant.spec.limits.max_cps,
        },
    );
    let trunks = all::<TrunkSpec>(store, t).await?;
    let codes = all::<AccessCodeSpec>(store, t).await?;
    let routes = all::<CalledRouteSpec>(store, t).await?;
    let queues = all::<SkillQueueSpec>(store, t).await?;
    let agents = all::<AgentSpec>(store, t).await?;
    // References are stored as ids; names are what the core routes by.
    let mut names: HashMap<String, String> = HashMap::new();
    for x in &trunks {
        names.insert(x.id.clone(), x.spec.name.clone());
    }
    for x in &codes {
        names.insert(x.id.clone(), x.spec.number.clone());
    }
    for x in &queues {
        names.insert(x.id.clone(), x.spec.name.clone());
    }
    let resolve = |r: &str| names.get(r).cloned().unwrap_or_else(|| r.to_owned());
    let flows = all::<cec_store::model::FlowSpec>(store, t)
        .await
        .unwrap_or_default();
    let mut flow_names: HashMap<String, String> = HashMap::new();
    for x in &flows {
        flow_names.insert(x.id.clone(), x.spec.name.clone());
    }
    for trunk in &trunks {
        let secrets = store.secrets::<TrunkSpec>(t, &trunk.id).await?;
        config
            .trunks
            .push(trunk_of(&name, &trunk.spec, secrets.as_ref()));
    }
    loaded.probes.extend(
        trunks
            .iter()
            .filter_map(|trunk| probe_of(&name, &trunk.spec)),
    );
    let config = &mut loaded.switch;
    for code in &codes {
        config
            .access_codes
            .entry((name.clone(), resolve(&code.spec.trunk)))
            .or_default()
            .push(code.spec.number.clone());
    }
    for route in &routes {
        let target = match &route.spec.target {
            RouteTarget::SkillQueue { id } => Target::Queue(resolve(id)),
            RouteTarget::IvrFlow { id } => {
                Target::Flow(flow_names.get(id).cloned().unwrap_or_else(|| id.clone()))
            }
        };
        config.routes.insert(
            (
                name.clone(),
                resolve(&route.spec.access_code),
                route.spec.extension.clone(),
            ),
            target,
        );
    }
    for queue in &queues {
        let q = &queue.spec;
        let target = |t: &QueueTarget| match t {
            QueueTarget::SkillQueue { id } => Target::Queue(resolve(id)),
            QueueTarget::IvrFlow { id } => Target::Flow(id.clone()),
            QueueTarget::ExternalNumber { number } => Target::External(number.clone()),
            QueueTarget::Release { prompt, sip_status } => Target::Release {
                prompt: prompt.clone(),
                status: sip_status.unwrap_or(480),
            },
        };
        config.queues.insert(
            (name.clone(), q.name.clone()),
            Queue {
                tenant: name.clone(),
                name: q.name.clone(),
                max_waiting: q.max_waiting_calls,
                max_wait: Duration::from_secs(u64::from(q.max_wait_time_s)),
                wrap_up: Duration::from_secs(u64::from(q.wrap_up_time_s)),
                ring_timeout: Duration::from_secs(u64::from(q.ring_timeout_s.max(1))),
                on_no_agents: target(&q.on_no_agents),
                on_full: target(&q.on_queue_full),
                on_wait_timeout: target(&q.on_wait_timeout),
                hold_music: q.hold_music.clone(),
                announcement: q.announcement.as_ref().map(|a| {
                    (
                        a.prompt.clone(),
                        Duration::from_secs(u64::from(a.interval_s)),
                    )
                }),
                strategy: match q.strategy {
                    RoutingStrategy::LongestIdle => cec_acd::Strategy::LongestIdle,
                    RoutingStrategy::SkillWeight => cec_acd::Strategy::SkillWeight,
                    RoutingStrategy::FewestCalls => cec_acd::Strategy::FewestCalls,
                    RoutingStrategy::RoundRobin => cec_acd::Strategy::RoundRobin,
                },
            },
        );
    }
    // Prompts the media engine may need: hold music and release announcements.
    let mut wanted: Vec<&String> = Vec::new();
    for queue in &queues {
        let q = &queue.spec;
        wanted.extend(q.hold_music.as_ref());
        wanted.extend(q.announcement.as_ref().map(|a| &a.prompt));
        for target in [&q.on_no_agents, &q.on_queue_full, &q.on_wait_timeout] {
            if let QueueTarget::Release {
                prompt: Some(prompt),
                ..
            } = target
            {
                wanted.push(prompt);
            }
        }
    }
    wanted.sort();
    wanted.dedup();
    for music in wanted {
        match store.prompt_audio(t, music).await {
            Ok(wav) => match cec_media::Prompt::from_wav(std::io::Cursor::new(wav)) {
                Ok(prompt) => {
                    loaded.prompts.insert((name.clone(), music.clone()), prompt);
                }
                Err(error) => tracing::warn!(%error, prompt = %music, "hold music unreadable"),
            },
            Err(error) => tracing::warn!(%error, prompt = %music, "hold music not found"),
        }
    }
    let config = &mut loaded.switch;
    for agent in &agents {
        let a = &agent.spec;
        config.agents.insert(
            (name.clone(), a.work_no.clone()),
            AgentAccount {
                tenant: name.clone(),
                work_no: a.work_no.clone(),
                sip_user: a.sip_user.clone(),
                skills: a
                    .skills
                    .iter()
                    .map(|s| Skill {
                        queue: resolve(&s.queue),
                        weight: s.weight,
                    })
                    .collect(),
                auto_answer: a.auto_answer,
            },
        );
        let secrets = store.secrets::<AgentSpec>(t, &agent.id).await?;
        loaded.phones.push(PhoneCredentials {
            sip_user: a.sip_user.clone(),
            ha1_md5: ha1(secrets.as_ref(), "sip_ha1_md5"),
            ha1_sha256: ha1(secrets.as_ref(), "sip_ha1_sha256"),
        });
    }
    Ok(())
}

/// The OPTIONS supervision of a trunk whose first address is an IP literal (names are
/// resolved when outbound calls exist), unless its interval is 0.
fn probe_of(tenant: &str, spec: &TrunkSpec) -> Option<Probe> {
    if spec.probe_interval_s == 0 {
        return None;
    }
    let address = spec.addresses.first()?;
    let ip: std::net::IpAddr = address.host.parse().ok()?;
    let transport = match address.transport {
        cec_store::model::TrunkTransport::Udp => cec_sip::TransportKind::Udp,
        cec_store::model::TrunkTransport::Tcp => cec_sip::TransportKind::Tcp,
        cec_store::model::TrunkTransport::Tls => cec_sip::TransportKind::Tls,
    };
    let port = address.port.unwrap_or(transport.default_port());
    let target = std::net::SocketAddr::new(ip, port);
    let uri = cec_sip_msg::Uri::parse(&bytes::Bytes::from(format!("sip:{target}"))).ok()?;
    Some(Probe {
        name: format!("{tenant}/{}", spec.name),
        target: cec_sip::Peer::new(transport, target),
        uri,
        policy: cec_sip::ProbePolicy {
            interval: Duration::from_secs(u64::from(spec.probe_interval_s)),
            failure_threshold: spec.failure_threshold,
            accept_any_response: spec.accept_any_response,
        },
    })
}

fn trunk_of(tenant: &str, spec: &TrunkSpec, secrets: Option<&serde_json::Value>) -> Trunk {
    let mut networks: Vec<_> = spec
        .allowed_sources
        .iter()
        .filter_map(|n| parse_network(n).ok())
        .collect();
    if networks.is_empty() {
        // Default: the trunk's own addresses (IP literals; names need resolving first).
        networks = spec
            .addresses
            .iter()
            .filter_map(|a| a.host.parse::<std::net::IpAddr>().ok())
            .map(|ip| (ip, if ip.is_ipv4() { 32 } else { 128 }))
            .collect();
    }
    let digest = spec.inbound_username.as_ref().map(|username| TrunkDigest {
        username: username.clone(),
        ha1_md5: ha1(secrets, "inbound_ha1_md5"),
        ha1_sha256: ha1(secrets, "inbound_ha1_sha256"),
    });
    Trunk {
        tenant: tenant.to_owned(),
        name: spec.name.clone(),
        networks,
        digest,
        max_calls: spec.max_concurrent_calls,
        max_cps: spec.max_cps,
        rel100: match spec.rel100 {
            cec_store::model::Rel100::Supported => Rel100::Supported,
            cec_store::model::Rel100::Required => Rel100::Required,
            cec_store::model::Rel100::Off => Rel100::Off,
        },
        renegotiation: match spec.renegotiation {
            cec_store::model::Renegotiation::Update => RenegotiationMethod::Update,
            cec_store::model::Renegotiation::Reinvite => RenegotiationMethod::Reinvite,
        },
        called_number_from: spec
            .called_number_from
            .iter()
            .map(|s| match s {
                CalledNumberSource::OriginalCalled => CalledSource::OriginalCalled,
                CalledNumberSource::RequestUri => CalledSource::RequestUri,
                CalledNumberSource::To => CalledSource::To,
            })
            .collect(),
        codecs: spec.codecs.clone(),
    }
}
