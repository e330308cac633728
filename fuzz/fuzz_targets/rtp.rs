//! RTP fuzz target: parse; anything that parses is rebuilt from its header and must
//! re-parse to the same header and payload; the in-place rewrite must keep it valid; the
//! telephone-event payload parser and the RTCP demultiplexing rule must not panic.
#![no_main]

use cec_rtp::dtmf::TelephoneEvent;
use cec_rtp::packet::{RtpHeader, RtpPacket, is_rtcp, rewrite_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = is_rtcp(data);
    let _ = TelephoneEvent::parse(data);
    let Ok(packet) = RtpPacket::parse(data) else {
        return;
    };
    if let Some(ext) = packet.extension() {
        for element in ext.elements() {
            assert!(element.data.len() <= ext.data().len());
        }
    }
    let header = RtpHeader::from_packet(&packet);
    let rebuilt = header
        .to_vec(packet.payload())
        .expect("a parsed header is writable");
    let again = RtpPacket::parse(&rebuilt).expect("rebuilt packet parses");
    assert_eq!(RtpHeader::from_packet(&again), header);
    assert_eq!(again.payload(), packet.payload());

    let mut copy = data.to_vec();
    rewrite_header(&mut copy, 1, 2, 3, Some(0), Some(true)).expect("valid packet rewrites");
    let rewritten = RtpPacket::parse(&copy).expect("rewritten packet parses");
    assert_eq!(
        (
            rewritten.sequence(),
            rewritten.timestamp(),
            rewritten.ssrc()
        ),
        (1, 2, 3)
    );
    assert_eq!(rewritten.payload(), packet.payload());
});
