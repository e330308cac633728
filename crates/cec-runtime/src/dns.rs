//! RFC 3263 lookups for outbound SIP: the driver side of `cec_sip::resolve`. The selection
//! rules are pure and live in `cec-sip`; this module asks DNS (hickory-resolver) the
//! questions those rules pose, caching answers for one resolution, until the rules have
//! everything they need.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use cec_sip::TransportKind;
use cec_sip::resolve::{DnsAnswers, Naptr, ResolvedTarget, Srv, resolve};
use cec_sip_msg::SipUri;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

/// Why a resolver could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// The system configuration (/etc/resolv.conf) could not be read.
    #[error("cannot read the system DNS configuration: {0}")]
    SystemConfig(String),
}

/// Resolves SIP URIs to ordered targets (NAPTR, SRV, A/AAAA per RFC 3263).
#[derive(Clone)]
pub struct SipResolver {
    resolver: TokioResolver,
}

impl std::fmt::Debug for SipResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipResolver").finish_non_exhaustive()
    }
}

/// One DNS question the pure rules asked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Question {
    Naptr(String),
    Srv(String),
    Addresses(String),
}

#[derive(Debug, Clone)]
enum Answer {
    Naptr(Vec<Naptr>),
    Srv(Vec<Srv>),
    Addresses(Vec<IpAddr>),
}

/// Answers from the cache; a question not in it is noted and answered "nothing" for now.
#[derive(Default)]
struct Cache {
    answers: HashMap<Question, Answer>,
    missing: Vec<Question>,
}

impl DnsAnswers for Cache {
    fn naptr(&mut self, domain: &str) -> Vec<Naptr> {
        match self.answers.get(&Question::Naptr(domain.to_string())) {
            Some(Answer::Naptr(records)) => records.clone(),
            _ => {
                self.missing.push(Question::Naptr(domain.to_string()));
                Vec::new()
            }
        }
    }

    fn srv(&mut self, name: &str) -> Vec<Srv> {
        match self.answers.get(&Question::Srv(name.to_string())) {
            Some(Answer::Srv(records)) => records.clone(),
            _ => {
                self.missing.push(Question::Srv(name.to_string()));
                Vec::new()
            }
        }
    }

    fn addresses(&mut self, host: &str) -> Vec<IpAddr> {
        match self.answers.get(&Question::Addresses(host.to_string())) {
            Some(Answer::Addresses(records)) => records.clone(),
            _ => {
                self.missing.push(Question::Addresses(host.to_string()));
                Vec::new()
            }
        }
    }
}

/// Most rounds of questions one resolution may take (NAPTR, SRV, addresses: three suffice).
const MAX_ROUNDS: usize = 6;

impl SipResolver {
    /// A resolver using the system's name servers.
    pub fn from_system() -> Result<SipResolver, DnsError> {
        let builder =
            TokioResolver::builder_tokio().map_err(|e| DnsError::SystemConfig(e.to_string()))?;
        Ok(SipResolver {
            resolver: builder.build(),
        })
    }

    /// A resolver asking one name server (an operator's choice, or a test server).
    pub fn with_name_server(server: SocketAddr, timeout: Duration) -> SipResolver {
        let group = NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
        let config = ResolverConfig::from_parts(None, Vec::new(), group);
        let mut options = ResolverOpts::default();
        options.timeout = timeout;
        options.attempts = 2;
        let resolver =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                .with_options(options)
                .build();
        SipResolver { resolver }
    }

    /// The ordered targets for `uri` over the transports we `support`; empty when nothing
    /// resolves (the caller answers 503 or tries another route).
    pub async fn resolve(&self, uri: &SipUri, supported: &[TransportKind]) -> Vec<ResolvedTarget> {
        let mut cache = Cache::default();
        for _ in 0..MAX_ROUNDS {
            cache.missing.clear();
            let targets = resolve(uri, supported, &mut cache);
            if cache.missing.is_empty() {
                return targets;
            }
            let questions: Vec<Question> = std::mem::take(&mut cache.missing);
            for question in questions {
                let answer = self.ask(&question).await;
                cache.answers.insert(question, answer);
            }
        }
        resolve(uri, supported, &mut cache)
    }

    async fn ask(&self, question: &Question) -> Answer {
        match question {
            Question::Naptr(domain) => {
                let records = match self
                    .resolver
                    .lookup(domain.as_str(), RecordType::NAPTR)
                    .await
                {
                    Ok(lookup) => lookup
                        .iter()
                        .filter_map(|rdata| match rdata {
                            RData::NAPTR(n) => Some(Naptr {
                                order: n.order(),
                                preference: n.preference(),
                                flags: String::from_utf8_lossy(n.flags()).into_owned(),
                                service: String::from_utf8_lossy(n.services()).into_owned(),
                                replacement: n
                                    .replacement()
                                    .to_ascii()
                                    .trim_end_matches('.')
                                    .to_string(),
                            }),
                            _ => None,
                        })
                        .collect(),
                    Err(_) => Vec::new(),
                };
                Answer::Naptr(records)
            }
            Question::Srv(name) => {
                let records = match self.resolver.lookup(name.as_str(), RecordType::SRV).await {
                    Ok(lookup) => lookup
                        .iter()
                        .filter_map(|rdata| match rdata {
                            RData::SRV(s) => Some(Srv {
                                priority: s.priority(),
                                weight: s.weight(),
                                port: s.port(),
                                target: s.target().to_ascii().trim_end_matches('.').to_string(),
                            }),
                            _ => None,
                        })
                        .collect(),
                    Err(_) => Vec::new(),
                };
                Answer::Srv(records)
            }
            Question::Addresses(host) => {
                let records = match self.resolver.lookup_ip(host.as_str()).await {
                    Ok(lookup) => lookup.iter().collect(),
                    Err(_) => Vec::new(),
                };
                Answer::Addresses(records)
            }
        }
    }
}
