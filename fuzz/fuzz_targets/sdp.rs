//! SDP fuzz target: parse, print, re-parse must succeed and be equal; anything that
//! parses is answered with default capabilities (must not panic).
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use cec_sdp::{
    AnswerParams, LocalCapabilities, Origin, ParseLimits, SessionDescription, answer,
    process_answer,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sdp) = SessionDescription::parse_bytes(data) else {
        return;
    };
    let printed = sdp.to_string();
    // Printing may add a CR per line (bare-LF input), so re-parse without a byte limit.
    let unlimited = ParseLimits {
        max_bytes: usize::MAX,
        ..ParseLimits::default()
    };
    match SessionDescription::parse_with(&printed, &unlimited) {
        Ok(again) => assert_eq!(again.sdp, sdp, "re-parse differs; printed: {printed:?}"),
        Err(e) => panic!("printed SDP does not re-parse: {e}; printed: {printed:?}"),
    }
    let local = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let params = AnswerParams::new(Origin::new(1, 1, local), local, 40000);
    if let Ok(a) = answer(&sdp, &LocalCapabilities::default(), &params) {
        assert_eq!(a.sdp.media.len(), sdp.media.len());
        let _ = process_answer(&sdp, &a.sdp);
    }
});
