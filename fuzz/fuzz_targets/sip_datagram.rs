//! Parse one datagram, validate it, exercise every typed accessor, then
//! print it: a message that parsed and validated must re-parse to an equal
//! message.
#![no_main]

use cec_sip_msg::{Print, parse_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = parse_datagram(cec_sip_msg::bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    let valid = m.validate().is_ok();
    if let Ok(v) = m.via() {
        for x in &v {
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
    let _ = m.top_via();
    let _ = m.from().map(|a| a.to_vec());
    let _ = m.to().map(|a| a.to_vec());
    let _ = m.call_id();
    let _ = m.cseq().map(|c| c.to_vec());
    if let Ok(c) = m.contacts() {
        for x in &c {
            let _ = x.to_vec();
            if let Some(a) = x.address() {
                let _ = (a.expires(), a.q(), a.index(), a.tag());
            }
        }
    }
    let _ = m.route();
    let _ = m.record_route();
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
    let _ = m.rack();
    let _ = m
        .authorization()
        .map(|v| v.iter().map(Print::to_vec).count());
    let _ = m.proxy_authorization();
    let _ = m.www_authenticate();
    let _ = m.proxy_authenticate();
    let _ = m.session_expires().map(|s| s.map(|s| s.refresher()));
    let _ = m.min_se();
    let _ = m
        .reasons()
        .map(|r| r.iter().map(|x| (x.cause(), x.text())).count());
    let _ = m.diversion();
    let _ = m.history_info();
    let _ = m.p_asserted_identity();
    let _ = m.retry_after();
    let _ = m.warnings();
    if let Err(e) = m.validate() {
        let _ = (e.response_status(), e.to_string());
    }
    let printed = m.to_bytes();
    if valid {
        let again = parse_datagram(printed).expect("valid message must re-parse");
        assert_eq!(again, m, "re-parsed message differs");
    }
});
