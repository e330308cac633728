//! RFC 3263 resolution through a real resolver (hickory) against a small authoritative DNS
//! server on loopback that serves NAPTR, SRV and A records for a carrier domain: the driver
//! asks the questions the pure rules pose and returns targets in failover order.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use cec_runtime::dns::SipResolver;
use cec_sip::TransportKind;
use cec_sip_msg::{SipUri, Uri};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, NAPTR, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

/// Serves `zone` (name + type -> records) on a loopback UDP port until the test ends.
async fn dns_server(zone: HashMap<(String, RecordType), Vec<RData>>) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut response = Message::new();
            response
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .set_authoritative(true);
            response.set_recursion_available(true);
            for question in query.queries() {
                response.add_query(question.clone());
                let name = question
                    .name()
                    .to_ascii()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                match zone.get(&(name, question.query_type())) {
                    Some(records) => {
                        for rdata in records {
                            response.add_answer(Record::from_rdata(
                                question.name().clone(),
                                60,
                                rdata.clone(),
                            ));
                        }
                    }
                    None => {
                        response.set_response_code(ResponseCode::NXDomain);
                    }
                }
            }
            if let Ok(bytes) = response.to_vec() {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    });
    addr
}

fn name(s: &str) -> Name {
    Name::from_str(s).expect("name")
}

fn sip(text: &str) -> SipUri {
    match Uri::parse(&cec_sip_msg::bytes::Bytes::copy_from_slice(text.as_bytes())).expect("uri") {
        Uri::Sip(u) => u,
        other => panic!("not sip: {other:?}"),
    }
}

#[tokio::test]
async fn naptr_srv_and_a_records_give_targets_in_failover_order() {
    let mut zone: HashMap<(String, RecordType), Vec<RData>> = HashMap::new();
    let naptr = |order, service: &str, replacement: &str| {
        RData::NAPTR(NAPTR::new(
            order,
            10,
            b"s".to_vec().into_boxed_slice(),
            service.as_bytes().to_vec().into_boxed_slice(),
            Vec::new().into_boxed_slice(),
            name(replacement),
        ))
    };
    zone.insert(
        ("carrier.test".into(), RecordType::NAPTR),
        vec![
            naptr(20, "SIP+D2U", "_sip._udp.carrier.test."),
            naptr(10, "SIP+D2T", "_sip._tcp.carrier.test."),
        ],
    );
    zone.insert(
        ("_sip._tcp.carrier.test".into(), RecordType::SRV),
        vec![
            RData::SRV(SRV::new(20, 0, 5060, name("sbc2.carrier.test."))),
            RData::SRV(SRV::new(10, 0, 5062, name("sbc1.carrier.test."))),
        ],
    );
    zone.insert(
        ("_sip._udp.carrier.test".into(), RecordType::SRV),
        vec![RData::SRV(SRV::new(
            10,
            0,
            5060,
            name("sbc1.carrier.test."),
        ))],
    );
    zone.insert(
        ("sbc1.carrier.test".into(), RecordType::A),
        vec![RData::A(A(Ipv4Addr::new(127, 0, 0, 11)))],
    );
    zone.insert(
        ("sbc2.carrier.test".into(), RecordType::A),
        vec![RData::A(A(Ipv4Addr::new(127, 0, 0, 12)))],
    );
    let server = dns_server(zone).await;
    let resolver = SipResolver::with_name_server(server, Duration::from_secs(1));
    let all = [TransportKind::Udp, TransportKind::Tcp, TransportKind::Tls];
    let targets = tokio::time::timeout(
        Duration::from_secs(10),
        resolver.resolve(&sip("sip:+4930123@carrier.test"), &all),
    )
    .await
    .expect("resolution finished in time");
    let summary: Vec<String> = targets
        .iter()
        .map(|t| format!("{} {}", t.transport, t.addr))
        .collect();
    assert_eq!(
        summary,
        vec![
            "TCP 127.0.0.11:5062",
            "TCP 127.0.0.12:5060",
            "UDP 127.0.0.11:5060"
        ]
    );
    assert_eq!(targets[0].server_name.as_deref(), Some("sbc1.carrier.test"));

    // A host with only an A record: UDP on 5060.
    let plain = resolver.resolve(&sip("sip:sbc2.carrier.test"), &all).await;
    assert_eq!(
        plain.iter().map(|t| t.addr.to_string()).collect::<Vec<_>>(),
        vec!["127.0.0.12:5060"]
    );
    // Nothing at all: no targets, no hang.
    assert!(
        resolver
            .resolve(&sip("sip:nowhere.carrier.test"), &all)
            .await
            .is_empty()
    );
}
