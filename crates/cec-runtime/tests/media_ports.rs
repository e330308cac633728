//! RTP port allocation from `media.rtp_ports`: even port for RTP and the odd one after it
//! for RTCP, both bound; pairs come back when the reservation drops; a pair someone else
//! holds is skipped; an exhausted range is a clear error, also through the engine.

mod media_common;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

use cec_rtp::g711::G711;
use cec_runtime::media::{MediaError, PortAllocator};
use media_common::{engine, free_range, leg_config};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[test]
fn pairs_are_even_rtp_and_odd_rtcp_and_both_bound() {
    let range = free_range(4);
    let pool = PortAllocator::new(LOCALHOST, range, None);
    let pair = pool.allocate().unwrap();
    let rtp = pair.rtp_addr();
    assert_eq!(rtp.port() % 2, 0);
    assert_eq!(pair.rtcp_addr().port(), rtp.port() + 1);
    assert_eq!(pair.rtp.local_addr().unwrap(), rtp);
    assert_eq!(pair.rtcp.local_addr().unwrap(), pair.rtcp_addr());
    assert!(UdpSocket::bind(rtp).is_err(), "RTP port is held");
    assert!(
        UdpSocket::bind(pair.rtcp_addr()).is_err(),
        "RTCP port is held"
    );
    assert!(rtp.port() >= range.first() && pair.rtcp_addr().port() <= range.last());
}

#[test]
fn dropping_a_pair_releases_it() {
    let range = free_range(1);
    let pool = PortAllocator::new(LOCALHOST, range, None);
    let pair = pool.allocate().unwrap();
    let port = pair.rtp_addr().port();
    assert_eq!(pool.in_use(), 1);
    assert!(matches!(
        pool.allocate(),
        Err(MediaError::PortsExhausted { .. })
    ));
    drop(pair);
    assert_eq!(pool.in_use(), 0);
    let again = pool.allocate().unwrap();
    assert_eq!(again.rtp_addr().port(), port);
}

#[test]
fn a_pair_taken_by_someone_else_is_skipped() {
    let range = free_range(3);
    let first_even = range.first();
    // Someone holds the RTCP port of the first pair and the RTP port of the second.
    let _squatter1 = UdpSocket::bind((Ipv4Addr::LOCALHOST, first_even + 1)).unwrap();
    let _squatter2 = UdpSocket::bind((Ipv4Addr::LOCALHOST, first_even + 2)).unwrap();
    let pool = PortAllocator::new(LOCALHOST, range, None);
    let pair = pool.allocate().unwrap();
    assert_eq!(pair.rtp_addr().port(), first_even + 4);
    // Nothing of the failed attempts stayed bound or reserved.
    assert_eq!(pool.in_use(), 1);
    UdpSocket::bind((Ipv4Addr::LOCALHOST, first_even)).expect("first RTP port not leaked");
}

#[test]
fn exhaustion_is_a_clear_error() {
    let range = free_range(2);
    let pool = PortAllocator::new(LOCALHOST, range, None);
    let pairs = [pool.allocate().unwrap(), pool.allocate().unwrap()];
    assert_ne!(pairs[0].rtp_addr(), pairs[1].rtp_addr());
    let error = pool.allocate().unwrap_err();
    assert!(matches!(error, MediaError::PortsExhausted { first, last }
        if first == range.first() && last == range.last()));
    assert!(error.to_string().contains(&range.to_string()), "{error}");
}

#[tokio::test]
async fn the_engine_reports_exhaustion_and_recovers_after_release() {
    let (engine, _events, _range) = engine(2);
    let peer = "127.0.0.1:9".parse().unwrap();
    let first = engine
        .allocate_leg(leg_config(peer, G711::Alaw, 1))
        .unwrap();
    engine
        .allocate_leg(leg_config(peer, G711::Alaw, 2))
        .unwrap();
    let error = engine
        .allocate_leg(leg_config(peer, G711::Alaw, 3))
        .unwrap_err();
    assert!(matches!(error, MediaError::PortsExhausted { .. }));
    engine.release(first.id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match engine.allocate_leg(leg_config(peer, G711::Alaw, 4)) {
            Ok(leg) => {
                assert_eq!(leg.local_rtp, first.local_rtp);
                break;
            }
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Err(e) => panic!("ports not released: {e}"),
        }
    }
}
