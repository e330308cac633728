//! Tenant configuration documents (`PUT …/tenants/{tenant}/config`), JSON or YAML (first
//! byte even/odd): parsing never panics, refusals are 4xx problems naming a field or a
//! position, and every object of a parsed document can be validated without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    match cec_api::parse_config_document(bytes, selector % 2 == 1) {
        Ok(doc) => {
            for spec in &doc.trunks {
                let _ = cec_store::validate(spec);
            }
            for spec in &doc.access_codes {
                let _ = cec_store::validate(spec);
            }
            for spec in &doc.called_routes {
                let _ = cec_store::validate(spec);
            }
            for spec in &doc.skill_queues {
                let _ = cec_store::validate(spec);
            }
            for spec in &doc.agents {
                let _ = cec_store::validate(spec);
            }
            for spec in &doc.flows {
                let _ = cec_store::validate(spec);
            }
            for spec in &doc.prompts {
                let _ = cec_store::validate(spec);
            }
            for spec in &doc.calendars {
                let _ = cec_store::validate(spec);
            }
            for spec in &doc.reason_codes {
                let _ = cec_store::validate(spec);
            }
        }
        Err(problem) => assert!(problem.status().is_client_error(), "{problem}"),
    }
});
