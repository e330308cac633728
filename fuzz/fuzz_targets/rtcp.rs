//! RTCP fuzz target: parse a compound packet; anything that parses is written back and
//! must re-parse to equal packets.
#![no_main]

use cec_rtp::rtcp::{parse_compound, write_compound};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packets) = parse_compound(data) else {
        return;
    };
    let mut out = Vec::new();
    write_compound(&packets, &mut out);
    match parse_compound(&out) {
        Ok(again) => assert_eq!(again, packets, "re-parse differs"),
        Err(e) => panic!("written compound does not re-parse: {e}; packets: {packets:?}"),
    }
});
