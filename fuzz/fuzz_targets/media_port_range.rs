//! `media.rtp_ports` ranges ("20000-29999"): parsing never panics, an accepted range
//! prints and re-parses to itself and holds at least one even/odd pair inside it.
#![no_main]

use cec_runtime::media::PortRange;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(range) = text.parse::<PortRange>() {
        assert_eq!(range.to_string().parse::<PortRange>().ok(), Some(range));
        assert!(range.pair_count() >= 1);
        assert!(range.first() <= range.last());
    }
});
