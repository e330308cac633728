//! Parse and print benchmark: a typical 938-byte carrier INVITE with SDP
//! (`testdata/bench/carrier-invite.sip`), through `cec-sip-msg` and, in the same run, through
//! `rsipstack`'s parser (the most complete Rust SIP stack on crates.io) as the baseline.
//!
//! "parse" = frame the datagram, parse the start line and headers, and read the typed values a
//! transaction layer needs on every message: top Via (branch), From (tag), To, Call-ID, CSeq —
//! the same work on both sides. "receive path" is our `parse_datagram` + `validate()` (the
//! RFC 3261 checks a UAS applies before processing, which also yields those typed values); the
//! baseline has no equivalent of the validation. "print" = serialise the parsed message after
//! pushing a new top Via, as a proxy or B2BUA does for each forwarded request.
//!
//! Run: `cargo bench -p cec-sip-msg --bench parse`. Criterion prints time per message and
//! messages per second ("thrpt") for each side.

use std::hint::black_box;

use bytes::Bytes;
use cec_sip_msg::{Header, HeaderName, parse_datagram};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rsipstack::sip::prelude::*;

const INVITE: &[u8] = include_bytes!("../../../testdata/bench/carrier-invite.sip");
const NEW_VIA: &str = "SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-opencec-1a2b3c;rport";

/// A datagram as the transport hands it over: a fresh heap buffer (refcounted `Bytes`), so
/// the cost of sharing slices of it is measured, not hidden behind a `'static` buffer.
fn received(wire: &[u8]) -> Bytes {
    Bytes::copy_from_slice(wire)
}

fn ours_parse(datagram: Bytes) -> usize {
    let Ok(msg) = parse_datagram(datagram) else {
        return 0;
    };
    typed_access(&msg)
}

/// The full receive path of a UAS: parse, then the RFC 3261 validation, which hands back the
/// typed core headers (so nothing is parsed twice).
fn ours_parse_validated(datagram: Bytes) -> usize {
    let Ok(msg) = parse_datagram(datagram) else {
        return 0;
    };
    let Ok(core) = msg.validate() else {
        return 0;
    };
    let branch = core
        .top_via()
        .and_then(|v| v.branch())
        .map_or(0, |b| b.len());
    1 + branch
        + core.from.tag().map_or(0, |t| t.len())
        + usize::from(core.to.tag().is_none())
        + core.call_id.len()
        + core.cseq.seq as usize
}

fn typed_access(msg: &cec_sip_msg::Message) -> usize {
    let via = msg.top_via().expect("via");
    let from = msg.from().expect("from");
    let to = msg.to().expect("to");
    let call_id = msg.call_id().expect("call-id");
    let cseq = msg.cseq().expect("cseq");
    via.branch().map_or(0, |b| b.len())
        + from.tag().map_or(0, |t| t.len())
        + usize::from(to.tag().is_none())
        + call_id.len()
        + cseq.seq as usize
}

fn baseline_parse(datagram: Bytes) -> usize {
    let Ok(rsipstack::sip::SipMessage::Request(req)) =
        rsipstack::sip::SipMessage::try_from(datagram)
    else {
        return 0;
    };
    let via = req.via_header().expect("via").typed().expect("typed via");
    let from = req
        .from_header()
        .expect("from")
        .typed()
        .expect("typed from");
    let to = req.to_header().expect("to").typed().expect("typed to");
    let call_id = req.call_id_header().expect("call-id");
    let cseq = req
        .cseq_header()
        .expect("cseq")
        .typed()
        .expect("typed cseq");
    via.branch().map_or(0, |b| b.to_string().len())
        + from.tag().map_or(0, |t| t.to_string().len())
        + usize::from(to.tag().is_none())
        + call_id.value().len()
        + cseq.seq as usize
}

fn parse(c: &mut Criterion) {
    let datagram = Bytes::from_static(INVITE);
    // Both parsers must read the same values (branch, tag, Call-ID, CSeq) before we time them.
    assert!(ours_parse(datagram.clone()) > 0);
    assert_eq!(
        ours_parse(datagram.clone()),
        baseline_parse(datagram.clone())
    );
    assert!(ours_parse_validated(datagram.clone()) > ours_parse(datagram));
    let mut group = c.benchmark_group("parse_invite_938B");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cec-sip-msg", |b| {
        b.iter(|| ours_parse(received(black_box(INVITE))));
    });
    group.bench_function("rsipstack-0.7.14", |b| {
        b.iter(|| baseline_parse(received(black_box(INVITE))));
    });
    group.finish();

    let mut group = c.benchmark_group("receive_path_invite_938B");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cec-sip-msg parse+validate", |b| {
        b.iter(|| ours_parse_validated(received(black_box(INVITE))));
    });
    group.bench_function("cec-sip-msg parse only", |b| {
        b.iter(|| parse_datagram(received(black_box(INVITE))).map(|m| m.headers().len()));
    });
    group.finish();
}

fn print(c: &mut Criterion) {
    let ours = parse_datagram(Bytes::from_static(INVITE)).expect("ours parses");
    let Ok(rsipstack::sip::SipMessage::Request(theirs)) =
        rsipstack::sip::SipMessage::try_from(Bytes::from_static(INVITE))
    else {
        panic!("baseline parses");
    };
    let mut group = c.benchmark_group("print_invite_with_new_via");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cec-sip-msg", |b| {
        b.iter(|| {
            let mut msg = black_box(&ours).clone();
            msg.insert_top(Header::new(HeaderName::Via, NEW_VIA.as_bytes()));
            msg.to_bytes().len()
        });
    });
    group.bench_function("rsipstack-0.7.14", |b| {
        b.iter(|| {
            let mut req = black_box(&theirs).clone();
            req.headers
                .push_front(rsipstack::sip::Header::Via(NEW_VIA.into()));
            req.to_string().len()
        });
    });
    group.finish();
}

criterion_group!(benches, parse, print);
criterion_main!(benches);
