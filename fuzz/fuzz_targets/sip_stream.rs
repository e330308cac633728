//! Feed the input to a StreamDecoder in chunks (the first byte picks the
//! chunk size) and drain it; it must never panic, and every decoded
//! message must print and re-parse.
#![no_main]

use cec_sip_msg::{StreamDecoder, StreamItem, parse_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first).max(1);
    let mut d = StreamDecoder::new();
    for part in rest.chunks(chunk) {
        d.feed(part);
        loop {
            match d.next_item() {
                Ok(Some(StreamItem::Message(m))) => {
                    let _ = m.validate();
                    let _ = m.top_via();
                    // A stream message always has Content-Length, so its
                    // printed form frames the same way as a datagram.
                    let again =
                        parse_datagram(m.to_bytes()).expect("decoded message must re-parse");
                    assert_eq!(again, m);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    let _ = e.response_status();
                    return;
                }
            }
        }
    }
});
