//! The interim SIP application, until the call core exists: answers OPTIONS (200 for trunks
//! and registered phones, 403 for strangers unless configured otherwise), runs the registrar
//! with digest authentication for the configured users, probes every trunk with OPTIONS,
//! answers the echo-test number ([`crate::echo`]), and rejects other INVITEs — 404 for
//! numbers nobody owns, 480 for users who exist (the call path is the next issue).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use cec_core::config::in_network;
use cec_runtime::sip_driver::SipApplication;
use cec_sip::{
    Endpoint, Event, LinkStatus, Peer, ProbePolicy, RegistrationId, RegistrationSpec,
    RegistrationState, TransactionId, TrunkMonitor,
};
use cec_sip_auth::{
    Algorithm, AuthOutcome, BindingSource, Credentials, DigestConfig, DigestServer, Ha1, Registrar,
    RegistrarConfig, Secret, compute_ha1,
};
use cec_sip_msg::{Message, Method};
use tracing::{info, warn};

use crate::config::{SipConfig, parse_network};
use crate::echo::EchoService;

/// Stored credentials of one SIP user: HA1 values only, never the password.
#[derive(Debug, Clone, Default)]
pub struct UserCredentials {
    pub ha1_md5: Option<Ha1>,
    pub ha1_sha256: Option<Ha1>,
    /// Algorithms to offer this user, when not the service default.
    pub algorithms: Option<Vec<Algorithm>>,
}

/// The users that may register.
#[derive(Debug, Clone, Default)]
pub struct Users {
    by_name: HashMap<String, UserCredentials>,
}

impl Users {
    /// Builds the table from the config, hashing plain passwords for `realm`.
    pub fn from_config(sip: &SipConfig) -> Users {
        let mut by_name = HashMap::new();
        for user in &sip.users {
            let mut credentials = UserCredentials {
                ha1_md5: user.ha1_md5.as_deref().and_then(Ha1::from_hex),
                ha1_sha256: user.ha1_sha256.as_deref().and_then(Ha1::from_hex),
                algorithms: user.digest_algorithms.as_deref().map(parse_algorithms),
            };
            if let Some(password) = &user.password {
                credentials.ha1_md5 = Some(compute_ha1(
                    Algorithm::Md5,
                    &user.user,
                    &sip.realm,
                    password,
                ));
                credentials.ha1_sha256 = Some(compute_ha1(
                    Algorithm::Sha256,
                    &user.user,
                    &sip.realm,
                    password,
                ));
            }
            by_name.insert(user.user.clone(), credentials);
        }
        Users { by_name }
    }

    /// Adds (or replaces) a user with a plain password, offered `algorithms` (None: the
    /// service default).
    pub fn insert_password(
        &mut self,
        user: &str,
        realm: &str,
        password: &str,
        algorithms: Option<Vec<Algorithm>>,
    ) {
        self.by_name.insert(
            user.to_string(),
            UserCredentials {
                ha1_md5: Some(compute_ha1(Algorithm::Md5, user, realm, password)),
                ha1_sha256: Some(compute_ha1(Algorithm::Sha256, user, realm, password)),
                algorithms,
            },
        );
    }

    /// Sets a user's HA1 values (stored agent phones), keeping the algorithms already
    /// chosen for an existing user (the demo phones offer MD5 only).
    pub fn upsert_ha1(&mut self, user: &str, ha1_md5: Option<Ha1>, ha1_sha256: Option<Ha1>) {
        let entry = self.by_name.entry(user.to_string()).or_default();
        entry.ha1_md5 = ha1_md5;
        entry.ha1_sha256 = ha1_sha256;
    }

    fn contains(&self, user: &str) -> bool {
        self.by_name.contains_key(user)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }
}

impl cec_sip_auth::CredentialStore for Users {
    fn ha1(&self, username: &str, _realm: &str, algorithm: Algorithm) -> Option<Ha1> {
        let user = self.by_name.get(username)?;
        match algorithm.base() {
            Algorithm::Sha256 => user.ha1_sha256.clone(),
            _ => user.ha1_md5.clone(),
        }
    }
}

fn parse_algorithms(names: &[String]) -> Vec<Algorithm> {
    names
        .iter()
        .filter_map(|name| Algorithm::from_name(name.as_bytes()))
        .collect()
}

/// One digest server per set of offered algorithms (the default set, and each per-user
/// override), all keyed with the same secret: a user is always challenged and verified by
/// the server of its own set.
struct DigestServers {
    realm: String,
    secret: [u8; 32],
    epoch: Instant,
    default: Vec<Algorithm>,
    servers: HashMap<Vec<Algorithm>, DigestServer>,
}

impl DigestServers {
    fn new(sip: &SipConfig, secret: [u8; 32], epoch: Instant) -> DigestServers {
        DigestServers {
            realm: sip.realm.clone(),
            secret,
            epoch,
            default: parse_algorithms(&sip.digest_algorithms),
            servers: HashMap::new(),
        }
    }

    fn for_user(&mut self, user: Option<&UserCredentials>) -> &mut DigestServer {
        let algorithms = user
            .and_then(|u| u.algorithms.clone())
            .unwrap_or_else(|| self.default.clone());
        let (realm, secret, epoch) = (self.realm.clone(), self.secret, self.epoch);
        self.servers.entry(algorithms.clone()).or_insert_with(|| {
            let mut config = DigestConfig::new(realm);
            config.algorithms = algorithms;
            DigestServer::new(config, secret, epoch)
        })
    }
}

/// A trunk as the service sees it: where its traffic may come from.
#[derive(Debug, Clone)]
struct TrunkSource {
    name: String,
    networks: Vec<(IpAddr, u8)>,
}

/// An outbound registration to start once the endpoint runs.
#[derive(Debug, Clone)]
struct PendingRegistration {
    trunk: String,
    spec: RegistrationSpec,
}

/// The interim SIP application.
pub struct SipService {
    pending_registrations: Vec<PendingRegistration>,
    registrations: HashMap<RegistrationId, String>,
    started: bool,
    digest: DigestServers,
    registrar: Registrar,
    users: Users,
    trunks: Vec<TrunkSource>,
    answer_options_from_anyone: bool,
    monitor: TrunkMonitor,
    echo: Option<EchoService>,
    extra_sources: Vec<(IpAddr, u8)>,
    db_probes: HashMap<String, crate::call_config::Probe>,
}

impl SipService {
    /// Builds the service; `secret` keys the digest nonces (random per process).
    pub fn new(sip: &SipConfig, users: Users, secret: [u8; 32], now: Instant) -> SipService {
        let mut monitor = TrunkMonitor::new();
        let mut trunks = Vec::new();
        let mut pending_registrations = Vec::new();
        for trunk in &sip.trunks {
            let Ok(address) = trunk.address.parse::<std::net::SocketAddr>() else {
                continue; // validated at load
            };
            let mut networks: Vec<(IpAddr, u8)> = trunk
                .allow_from
                .iter()
                .filter_map(|n| parse_network(n).ok())
                .collect();
            if networks.is_empty() {
                networks.push((address.ip(), if address.is_ipv4() { 32 } else { 128 }));
            }
            trunks.push(TrunkSource {
                name: trunk.name.clone(),
                networks,
            });
            let transport = match trunk.transport.as_str() {
                "tcp" => cec_sip::TransportKind::Tcp,
                "tls" => cec_sip::TransportKind::Tls,
                _ => cec_sip::TransportKind::Udp,
            };
            if let (true, Some(username), Some(password)) = (
                trunk.register,
                trunk.username.as_ref(),
                trunk.password.as_ref(),
            ) {
                let registrar = format!("sip:{address}");
                let aor = format!("sip:{username}@{}", address.ip());
                if let (Ok(registrar), Ok(aor)) = (
                    cec_sip_msg::Uri::parse(&bytes::Bytes::from(registrar)),
                    cec_sip_msg::Uri::parse(&bytes::Bytes::from(aor)),
                ) {
                    pending_registrations.push(PendingRegistration {
                        trunk: trunk.name.clone(),
                        spec: RegistrationSpec {
                            registrar,
                            destination: Peer::new(transport, address),
                            aor: cec_sip_msg::NameAddr::new(aor),
                            expires: trunk.register_expires,
                            credentials: Some(Credentials {
                                username: username.clone(),
                                secret: Secret::Password(password.clone()),
                            }),
                        },
                    });
                }
            }
            if trunk.probe_interval_s > 0 {
                let uri_text = format!("sip:{address}");
                if let Ok(uri) = cec_sip_msg::Uri::parse(&bytes::Bytes::from(uri_text)) {
                    monitor.add_trunk(
                        now,
                        &trunk.name,
                        Peer::new(transport, address),
                        uri,
                        ProbePolicy {
                            interval: Duration::from_secs(trunk.probe_interval_s),
                            failure_threshold: trunk.failure_threshold,
                            accept_any_response: trunk.accept_any_response,
                        },
                    );
                }
            }
        }
        SipService {
            pending_registrations,
            registrations: HashMap::new(),
            started: false,
            digest: DigestServers::new(sip, secret, now),
            registrar: Registrar::new(RegistrarConfig {
                min_expires: sip.min_expires,
                max_expires: sip.max_expires,
                default_expires: sip.max_expires.min(3600).max(sip.min_expires),
                ..RegistrarConfig::default()
            }),
            users,
            trunks,
            answer_options_from_anyone: sip.answer_options_from_anyone,
            monitor,
            echo: None,
            extra_sources: Vec::new(),
            db_probes: HashMap::new(),
        }
    }

    /// Answers calls to the echo-test number with `echo`.
    pub fn with_echo(mut self, echo: EchoService) -> SipService {
        self.echo = Some(echo);
        self
    }

    /// The registrar (agents' phones are rung at its contacts).
    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    /// Whether `request` (a new INVITE) dials the echo-test number.
    pub fn is_echo_call(&self, request: &Message) -> bool {
        self.echo.as_ref().is_some_and(|e| e.is_echo_call(request))
    }

    /// Supervises the database trunks in `probes` (by name `tenant/trunk`): new ones are
    /// added, changed ones replaced, vanished ones dropped; config-file trunks stay.
    fn sync_probes(&mut self, now: Instant, probes: Vec<crate::call_config::Probe>) {
        let wanted: HashMap<String, crate::call_config::Probe> =
            probes.into_iter().map(|p| (p.name.clone(), p)).collect();
        for name in self.db_probes.keys().cloned().collect::<Vec<_>>() {
            if !wanted.contains_key(&name) {
                self.monitor.remove_trunk(&name);
                self.db_probes.remove(&name);
            }
        }
        for (name, probe) in wanted {
            if self.db_probes.get(&name) != Some(&probe) {
                self.monitor
                    .add_trunk(now, &name, probe.target, probe.uri.clone(), probe.policy);
                self.db_probes.insert(name, probe);
            }
        }
    }

    /// Takes the SIP side of a configuration read from the store: agents' phone
    /// credentials, trunk sources (their OPTIONS get 200) and trunk probes.
    pub fn apply_store(&mut self, now: Instant, loaded: &crate::call_config::Loaded) {
        for phone in &loaded.phones {
            self.users.upsert_ha1(
                &phone.sip_user,
                phone.ha1_md5.clone(),
                phone.ha1_sha256.clone(),
            );
        }
        self.extra_sources = loaded
            .switch
            .trunks
            .iter()
            .flat_map(|t| t.networks.clone())
            .collect();
        self.sync_probes(now, loaded.probes.clone());
    }

    fn trunk_of(&self, ip: IpAddr) -> Option<&str> {
        self.trunks
            .iter()
            .find(|t| t.networks.iter().any(|n| in_network(ip, *n)))
            .map(|t| t.name.as_str())
    }

    fn is_registered_source(&self, now: Instant, ip: IpAddr) -> bool {
        self.users.by_name.keys().any(|user| {
            self.registrar
                .lookup(now, user)
                .iter()
                .any(|b| b.source.addr.ip() == ip)
        })
    }

    fn on_options(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: TransactionId,
        source: Peer,
    ) {
        let known = self.answer_options_from_anyone
            || self.trunk_of(source.addr.ip()).is_some()
            || self
                .extra_sources
                .iter()
                .any(|n| in_network(source.addr.ip(), *n))
            || self.is_registered_source(now, source.addr.ip());
        if known {
            if let Some(response) = endpoint.options_response(tx) {
                let _ = endpoint.respond(now, tx, &response);
            }
        } else {
            let _ = endpoint.respond_status(now, tx, 403, "Forbidden");
        }
    }

    fn on_register(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: TransactionId,
        request: &Message,
        source: Peer,
    ) {
        // RFC 4475 §3.3.4: an address-of-record must be a SIP or SIPS URI.
        let aor_is_sip = request.to().is_ok_and(|to| to.uri.as_sip().is_some());
        if !aor_is_sip {
            let _ = endpoint.respond_status(now, tx, 400, "Bad Request: To is not a SIP address");
            return;
        }
        let binding = source.addr.ip().to_string();
        let aor_user = request.to().ok().and_then(|to| {
            to.uri
                .user()
                .map(|u| String::from_utf8_lossy(u).into_owned())
        });
        let digest = self
            .digest
            .for_user(aor_user.as_deref().and_then(|u| self.users.by_name.get(u)));
        let response = match digest.verify(request, now, false, binding.as_bytes(), &self.users) {
            AuthOutcome::NoCredentials => {
                digest.challenge_response(request, now, false, false, binding.as_bytes())
            }
            AuthOutcome::Stale => {
                digest.challenge_response(request, now, true, false, binding.as_bytes())
            }
            AuthOutcome::Rejected(error) => {
                warn!(source = %source.addr, %error, "REGISTER refused");
                digest.rejection_response(request, &error)
            }
            AuthOutcome::Authenticated { username, .. } => {
                if aor_user.as_deref() == Some(username.as_str()) {
                    let source = BindingSource {
                        transport: source.transport.as_str().to_string(),
                        addr: source.addr,
                        connection: source.connection,
                    };
                    let response = self.registrar.register(now, &username, request, &source);
                    if response.status() == Some(200) {
                        let bindings = self.registrar.lookup(now, &username).len();
                        info!(user = %username, from = %source.addr, bindings, "REGISTER accepted");
                    }
                    response
                } else {
                    warn!(source = %source.addr, user = %username, "REGISTER for another user's address refused");
                    match Message::response_to(request, 403, "Forbidden", Some(b"reg")) {
                        Ok(response) => response,
                        Err(_) => return,
                    }
                }
            }
        };
        let _ = endpoint.respond(now, tx, &response);
    }

    fn on_invite(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: TransactionId,
        request: &Message,
        source: Peer,
    ) {
        if let Some(echo) = self.echo.as_mut().filter(|e| e.is_echo_call(request)) {
            echo.on_invite(now, endpoint, tx, request, source);
            return;
        }
        let user = request
            .request_uri()
            .and_then(|uri| uri.user())
            .map(|u| String::from_utf8_lossy(u).into_owned())
            .unwrap_or_default();
        if self.users.contains(&user) || !self.registrar.lookup(now, &user).is_empty() {
            let _ = endpoint.respond_status(now, tx, 480, "Temporarily Unavailable");
        } else {
            let _ = endpoint.respond_status(now, tx, 404, "Not Found");
        }
    }

    fn start_probes(&mut self, now: Instant, endpoint: &mut Endpoint) {
        while let Some((name, target, uri)) = self.monitor.poll_probe(now) {
            match endpoint.request_out_of_dialog(now, Method::Options, uri, target) {
                Ok(tx) => self.monitor.probe_sent(&name, tx),
                Err(_) => self.monitor.probe_failed_to_send(now, &name),
            }
        }
        while let Some(change) = self.monitor.poll_change() {
            let status = match change.to {
                LinkStatus::Up => "up",
                LinkStatus::Down => "down",
                LinkStatus::Unknown => "unknown",
            };
            info!(trunk = %change.trunk, status, cause = %change.cause, "trunk link status changed");
        }
    }
}

impl SipApplication for SipService {
    fn handle_event(&mut self, now: Instant, endpoint: &mut Endpoint, event: Event) {
        match event {
            Event::Request {
                tx,
                request,
                source,
                ..
            } => match request.method() {
                Some(Method::Options) => self.on_options(now, endpoint, tx, source),
                Some(Method::Register) => self.on_register(now, endpoint, tx, &request, source),
                Some(Method::Invite) => self.on_invite(now, endpoint, tx, &request, source),
                Some(Method::Subscribe) => {
                    let _ = endpoint.respond_status(now, tx, 489, "Bad Event");
                }
                _ => {
                    let _ = endpoint.respond_status(now, tx, 480, "Temporarily Unavailable");
                }
            },
            Event::DialogRequest {
                dialog,
                tx,
                request,
            } => match self.echo.as_mut().filter(|e| e.owns_dialog(dialog)) {
                Some(echo) => echo.on_dialog_request(now, endpoint, dialog, tx, &request),
                None => {
                    let _ =
                        endpoint.respond_status(now, tx, 481, "Call/Transaction Does Not Exist");
                }
            },
            Event::Response { tx, response, .. } => {
                self.monitor.handle_response(now, tx, &response);
            }
            Event::Timeout { tx } => {
                self.monitor.handle_timeout(now, tx);
                if let Some(echo) = self.echo.as_mut() {
                    echo.on_transaction_timeout(tx);
                }
            }
            Event::Cancelled { invite } => {
                if let Some(echo) = self.echo.as_mut() {
                    echo.on_cancelled(invite);
                }
            }
            Event::DialogTerminated { dialog, reason } => {
                if let Some(echo) = self.echo.as_mut() {
                    echo.on_dialog_terminated(dialog, reason);
                }
            }
            Event::Registration { id, state } => {
                let trunk = self.registrations.get(&id).map_or("?", String::as_str);
                match state {
                    RegistrationState::Registered { expires } => {
                        info!(%trunk, expires, "trunk registration accepted");
                    }
                    RegistrationState::Failed { status } => {
                        warn!(%trunk, status, "trunk registration failed; retrying in 60 s");
                    }
                    _ => info!(%trunk, "trunk registration ended"),
                }
            }
            _ => {}
        }
        self.start_probes(now, endpoint);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if !self.started {
            // Start outbound registrations on the first turn of the driver.
            return Some(Instant::now());
        }
        [
            self.registrar.next_expiry(),
            self.monitor.poll_timeout(),
            self.echo.as_ref().and_then(EchoService::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn handle_timeout(&mut self, now: Instant, endpoint: &mut Endpoint) {
        if !self.started {
            self.started = true;
            for pending in std::mem::take(&mut self.pending_registrations) {
                let id = endpoint.register_to(now, pending.spec);
                self.registrations.insert(id, pending.trunk);
            }
        }
        for (aor, binding) in self.registrar.expire(now) {
            info!(user = %aor, contact = %binding.contact, "registration expired");
        }
        if let Some(echo) = self.echo.as_mut() {
            echo.handle_timeout(now, endpoint);
        }
        self.start_probes(now, endpoint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix() {
        let net = parse_network("10.1.0.0/16").unwrap();
        assert!(in_network("10.1.200.3".parse().unwrap(), net));
        assert!(!in_network("10.2.0.1".parse().unwrap(), net));
        let host = parse_network("127.0.0.1").unwrap();
        assert!(in_network("127.0.0.1".parse().unwrap(), host));
        assert!(!in_network("127.0.0.2".parse().unwrap(), host));
        let all = parse_network("0.0.0.0/0").unwrap();
        assert!(in_network("192.0.2.1".parse().unwrap(), all));
        assert!(!in_network("::1".parse().unwrap(), all));
        let v6 = parse_network("2001:db8::/32").unwrap();
        assert!(in_network("2001:db8:1::5".parse().unwrap(), v6));
    }
}
