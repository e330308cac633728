//! Drives the sans-IO SIP endpoint with a fuzzer-chosen sequence of datagrams and clock
//! advances, answering every request the way an application might (provisional, answer,
//! reject), and drains every output. Nothing may panic, and every transmission must parse.
//!
//! Input: chunks separated by the byte 0xFF; a chunk's first byte picks the action
//! (bits 0-1: what the application does with requests; bits 2-7: how many 100 ms to advance
//! the clock first) and the rest is one datagram from a fixed peer.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cec_sip::{Endpoint, EndpointConfig, Event, Peer, TransportKind};
use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::parse_datagram;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut counter = 0u64;
    let mut endpoint = Endpoint::new(EndpointConfig::default(), move || {
        counter = counter.wrapping_add(0x9E37_79B9_7F4A_7C15);
        counter
    });
    let local: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    endpoint.set_local_address(TransportKind::Udp, local);
    let peer = Peer::new(TransportKind::Udp, "127.0.0.1:5070".parse().unwrap());
    let mut now = Instant::now();
    for chunk in data.split(|&b| b == 0xFF) {
        let Some((&control, datagram)) = chunk.split_first() else {
            continue;
        };
        now += Duration::from_millis(100 * u64::from(control >> 2));
        endpoint.handle_timeout(now);
        let bytes = Bytes::copy_from_slice(datagram);
        match parse_datagram(bytes.clone()) {
            Ok(message) => endpoint.handle_message(now, message, peer),
            Err(error) => endpoint.handle_malformed(&bytes, &error, peer),
        }
        while let Some(event) = endpoint.poll_event() {
            let tx = match event {
                Event::Request { tx, .. } | Event::DialogRequest { tx, .. } => tx,
                _ => continue,
            };
            let _ = match control & 3 {
                0 => endpoint.respond_status(now, tx, 486, "Busy Here").map(|_| ()),
                1 => endpoint.answer(now, tx, Some(Bytes::from_static(b"v=0\r\n"))).map(|_| ()).map_err(|_| cec_sip::TxError::Unknown(tx)),
                2 => endpoint.provisional(now, tx, 183, "Progress", None, true).map(|_| ()).map_err(|_| cec_sip::TxError::Unknown(tx)),
                _ => Ok(()),
            };
        }
        while let Some(transmit) = endpoint.poll_transmit() {
            assert!(parse_datagram(transmit.bytes).is_ok(), "we sent something unparsable");
        }
    }
    // Let every timer run out.
    for _ in 0..200 {
        let Some(at) = endpoint.poll_timeout() else { break };
        now = now.max(at);
        endpoint.handle_timeout(now);
        while endpoint.poll_transmit().is_some() {}
        while endpoint.poll_event().is_some() {}
    }
});
