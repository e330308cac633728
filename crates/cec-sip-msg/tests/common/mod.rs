//! Helpers shared by the integration tests.
#![allow(dead_code)]

use bytes::Bytes;
use cec_sip_msg::{Message, Print};

/// Reads a test vector from `testdata/<dir>/<name>.dat`.
pub fn load(dir: &str, name: &str) -> Bytes {
    let path = format!(
        "{}/../../testdata/{dir}/{name}.dat",
        env!("CARGO_MANIFEST_DIR")
    );
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// Calls validate and every typed accessor, printing typed values; must
/// never panic whatever the message holds.
pub fn touch_all(m: &Message) {
    let _ = m.validate();
    if let Ok(v) = m.via() {
        for x in v {
            let _ = (
                x.to_vec(),
                x.branch(),
                x.received(),
                x.rport(),
                x.ttl(),
                x.maddr(),
            );
        }
    }
    let _ = m.top_via().map(|v| v.to_vec());
    let _ = m.from().map(|a| a.to_vec());
    let _ = m.to().map(|a| (a.to_vec(), a.tag().cloned()));
    let _ = m.call_id();
    let _ = m.cseq().map(|c| c.to_vec());
    if let Ok(c) = m.contacts() {
        for x in c {
            let _ = x.to_vec();
            if let Some(a) = x.address() {
                let _ = (a.expires(), a.q(), a.index());
            }
        }
    }
    let _ = m.route().map(|v| v.iter().map(Print::to_vec).count());
    let _ = m
        .record_route()
        .map(|v| v.iter().map(Print::to_vec).count());
    let _ = m.max_forwards();
    let _ = m.content_length();
    let _ = m.content_type().map(|c| c.map(|c| c.to_vec()));
    let _ = m.accept();
    let _ = m.expires();
    let _ = m.supported();
    let _ = m.require();
    let _ = m.proxy_require();
    let _ = m.unsupported();
    let _ = m.allow();
    let _ = m.rseq();
    let _ = m.rack().map(|r| r.map(|r| r.to_vec()));
    for a in [
        m.authorization(),
        m.proxy_authorization(),
        m.www_authenticate(),
        m.proxy_authenticate(),
    ]
    .into_iter()
    .flatten()
    .flatten()
    {
        let _ = (a.to_vec(), a.param("realm"));
    }
    let _ = m
        .session_expires()
        .map(|s| s.map(|s| (s.refresher(), s.to_vec())));
    let _ = m.min_se();
    if let Ok(r) = m.reasons() {
        for x in r {
            let _ = (x.cause(), x.text(), x.to_vec());
        }
    }
    let _ = m.diversion();
    let _ = m.history_info();
    let _ = m.p_asserted_identity();
    let _ = m.retry_after().map(|r| r.map(|r| r.to_vec()));
    let _ = m.warnings().map(|w| w.iter().map(Print::to_vec).count());
    let _ = m.to_bytes();
    let _ = m.to_string();
}
