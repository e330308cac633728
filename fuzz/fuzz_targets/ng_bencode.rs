//! rtpengine ng control datagrams (`<cookie> <bencode>`) and SDP bodies as the benchmark's
//! `media-host` reads them: never panics, and whatever decodes re-encodes to a text that
//! decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtpbench::bencode::Value;
use rtpbench::{ng, sdp};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = Value::decode(data) {
        let mut out = Vec::new();
        value.encode(&mut out);
        assert_eq!(Value::decode(&out).as_ref(), Ok(&value));
    }
    if let Some((cookie, body)) = ng::parse_message(data) {
        let again = ng::write_message(cookie, &body);
        assert_eq!(ng::parse_message(&again), Some((cookie, body)));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sdp::parse_audio(text);
    }
});
