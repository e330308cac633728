//! The media engine's shards run on their own OS threads (`cec-media-N`, one
//! current-thread runtime each), not on the caller's runtime: the engine starts and relays
//! when no tokio runtime exists at all, its handle works from a plain thread and from a
//! runtime that is not the shards', and dropping the last handle ends the shard threads.
//! One test only in this file: it counts this process's threads by name.

mod media_common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use cec_rtp::g711::G711;
use cec_rtp::packet::RtpHeader;
use cec_runtime::media::MediaConfig;
use media_common::{WAIT, free_range, io_mode, leg_config, start_engine};

/// Names of this process's threads that are media shards.
fn shard_threads() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with("cec-media-"))
        .collect();
    names.sort();
    names
}

fn rtp(seq: u16) -> Vec<u8> {
    let header = RtpHeader {
        payload_type: 8,
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 0x5151_5151,
        ..RtpHeader::default()
    };
    let mut buf = [0u8; 1500];
    let len = header.write(&[0xD5; 160], &mut buf).unwrap();
    buf[..len].to_vec()
}

fn endpoint() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

#[test]
fn shards_run_on_their_own_threads_without_a_runtime_and_stop_on_drop() {
    assert!(tokio::runtime::Handle::try_current().is_err());
    let config = MediaConfig {
        rtp_ports: free_range(4),
        shards: 3,
        io: io_mode(),
        ..MediaConfig::default()
    };
    let (engine, _events) = start_engine(config);
    // A thread names itself once it runs.
    wait_until(|| shard_threads() == ["cec-media-0", "cec-media-1", "cec-media-2"]);

    let (caller, caller_addr) = endpoint();
    let (agent, agent_addr) = endpoint();
    let a = engine
        .allocate_leg(leg_config(caller_addr, G711::Alaw, 0xA1A1_A1A1))
        .unwrap();
    let b = engine
        .allocate_leg(leg_config(agent_addr, G711::Alaw, 0xB2B2_B2B2))
        .unwrap();
    // Bridged from a runtime of the test's own, which the shards do not run on.
    let caller_runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    caller_runtime.block_on(engine.bridge(a.id, b.id)).unwrap();
    drop(caller_runtime);

    let mut buf = [0u8; 2048];
    for seq in 1..=20u16 {
        caller.send_to(&rtp(seq), a.local_rtp).unwrap();
        let (len, from) = agent.recv_from(&mut buf).expect("relayed within the wait");
        assert_eq!(from, b.local_rtp);
        assert_eq!(&buf[len - 160..len], &[0xD5; 160][..]);
    }
    // Counters are published after each batch, just after its sends.
    wait_until(|| engine.stats().datagrams_sent == 20);

    drop(engine);
    wait_until(|| shard_threads().is_empty());
    // The shards closed the legs' sockets as they ended.
    assert!(UdpSocket::bind(a.local_rtp).is_ok());
    assert!(UdpSocket::bind(b.local_rtp).is_ok());
}

fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "shard threads: {:?}",
            shard_threads()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
