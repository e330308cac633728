//! `null-relay`: the benchmark's floor engine. It speaks the same ng subset as `media-host`
//! (`ping`, `offer`, `answer`, `delete` over bencode/UDP), so `rtp-load` drives it
//! unchanged, but relays each datagram unchanged from one socket of a call to the other
//! and does nothing else (see `rtpbench::nullrelay`). Its CPU per relayed packet is what
//! the kernel charges any userspace relay for the same traffic.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};

use anyhow::Context as _;
use clap::Parser;
use nix::sys::epoll::{Epoll, EpollCreateFlags};
use nix::sys::socket::{setsockopt, sockopt};
use rtpbench::bencode::Value;
use rtpbench::nullrelay::{self, Call, Command, Peer, Relay, Side};
use rtpbench::{ng, sdp};

#[derive(Debug, Parser)]
#[command(about = "floor engine: relays datagrams unchanged behind an rtpengine-style ng port")]
struct Args {
    /// ng control address.
    #[arg(long, default_value = "127.0.0.1:2226")]
    ng: SocketAddr,
    /// Address to bind RTP on (and to put in SDP).
    #[arg(long, default_value = "127.0.0.1")]
    ip: IpAddr,
    /// RTP port range (even ports are used).
    #[arg(long, default_value = "10000-19999")]
    ports: String,
    /// Relay threads; 0 = one per core.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Datagrams per `recvmmsg` (1, 2, 4, 8, 16, 32 or 64).
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Edge-triggered epoll, each socket read until a short batch, instead of
    /// level-triggered with one batch per event (no cheaper on loopback, within noise).
    #[arg(long)]
    edge: bool,
    /// `connect` each socket to its peer's SDP address and `send` without an address
    /// (no latching).
    #[arg(long)]
    connect: bool,
}

/// A call as the control thread keeps it: clones of its sockets (to `connect` them) and
/// where it lives.
struct CallEntry {
    thread: usize,
    slot: usize,
    /// Indexed by [`Side`].
    sockets: [UdpSocket; 2],
    payload_type: u8,
}

struct Thread {
    epoll: Arc<Epoll>,
    commands: Sender<Command>,
    free_slots: Vec<usize>,
    next_slot: usize,
}

struct Host {
    args: Args,
    threads: Vec<Thread>,
    calls: HashMap<String, CallEntry>,
    next_thread: usize,
    free_ports: Vec<u16>,
}

fn parse_ports(text: &str) -> anyhow::Result<Vec<u16>> {
    let (low, high) = text.split_once('-').context("ports: expected LOW-HIGH")?;
    let (low, high): (u16, u16) = (low.trim().parse()?, high.trim().parse()?);
    anyhow::ensure!(low <= high, "ports: {low} > {high}");
    // Even ports, handed out lowest first (the list is popped from the end).
    Ok((low..=high).filter(|p| p % 2 == 0).rev().collect())
}

impl Host {
    fn bind(&mut self) -> anyhow::Result<UdpSocket> {
        while let Some(port) = self.free_ports.pop() {
            // A port somebody else holds is skipped for good.
            let Ok(socket) = UdpSocket::bind(SocketAddr::new(self.args.ip, port)) else {
                continue;
            };
            socket.set_nonblocking(true)?;
            let _ = setsockopt(&socket, sockopt::RcvBuf, &(1 << 20));
            let _ = setsockopt(&socket, sockopt::SndBuf, &(1 << 20));
            return Ok(socket);
        }
        anyhow::bail!("out of ports")
    }

    fn release_port(&mut self, socket: &UdpSocket) {
        if let Ok(addr) = socket.local_addr() {
            self.free_ports.push(addr.port());
        }
    }

    /// The peer of a side given its SDP address: connected now, or an address to send to.
    fn peer(&self, socket: &UdpSocket, addr: SocketAddr) -> anyhow::Result<Peer> {
        if self.args.connect {
            socket.connect(addr)?;
            Ok(Peer::Connected)
        } else {
            Ok(Peer::addr(addr))
        }
    }

    fn offer(&mut self, call_id: &str, offer: sdp::AudioStream) -> anyhow::Result<String> {
        if let Some(call) = self.calls.get(call_id) {
            // A repeated offer: same ports.
            let callee_facing = call.sockets[Side::Callee as usize].local_addr()?;
            return Ok(sdp::write_audio(callee_facing, call.payload_type));
        }
        let facing_caller = self.bind()?;
        let facing_callee = match self.bind() {
            Ok(socket) => socket,
            Err(e) => {
                self.release_port(&facing_caller);
                return Err(e);
            }
        };
        let caller_peer = self.peer(&facing_caller, offer.addr)?;
        let kept = [facing_caller.try_clone()?, facing_callee.try_clone()?];
        let callee_facing = facing_callee.local_addr()?;
        let thread_index = self.next_thread;
        self.next_thread = (self.next_thread + 1) % self.threads.len();
        let thread = self.threads.get_mut(thread_index).context("no thread")?;
        let slot = thread.free_slots.pop().unwrap_or_else(|| {
            thread.next_slot += 1;
            thread.next_slot - 1
        });
        let call = Call {
            sockets: [facing_caller, facing_callee],
            peers: [caller_peer, Peer::Unknown],
        };
        thread.commands.send(Command::Add { slot, call })?;
        // Registered only now, so the thread knows the call before any event for it.
        for (socket, side) in kept.iter().zip([Side::Caller, Side::Callee]) {
            let token = nullrelay::token(slot, side);
            nullrelay::register(&thread.epoll, socket, token, self.args.edge)?;
        }
        self.calls.insert(
            call_id.to_owned(),
            CallEntry {
                thread: thread_index,
                slot,
                sockets: kept,
                payload_type: offer.payload_type,
            },
        );
        Ok(sdp::write_audio(callee_facing, offer.payload_type))
    }

    fn answer(&mut self, call_id: &str, answer: sdp::AudioStream) -> anyhow::Result<String> {
        let call = self.calls.get(call_id).context("unknown call")?;
        let [facing_caller, facing_callee] = &call.sockets;
        let peer = self.peer(facing_callee, answer.addr)?;
        let thread = self.threads.get(call.thread).context("no thread")?;
        thread.commands.send(Command::SetPeer {
            slot: call.slot,
            side: Side::Callee,
            peer,
        })?;
        Ok(sdp::write_audio(
            facing_caller.local_addr()?,
            call.payload_type,
        ))
    }

    fn delete(&mut self, call_id: &str) -> anyhow::Result<()> {
        let call = self.calls.remove(call_id).context("unknown call")?;
        let thread = self.threads.get_mut(call.thread).context("no thread")?;
        thread.commands.send(Command::Remove { slot: call.slot })?;
        thread.free_slots.push(call.slot);
        for socket in &call.sockets {
            self.release_port(socket);
        }
        Ok(())
    }

    fn handle(&mut self, request: &Value) -> anyhow::Result<Value> {
        let text = |key: &str| request.get(key).and_then(Value::as_str);
        let command = text("command").context("no command")?;
        let ok = ng::sdp_reply;
        match command {
            "ping" => Ok(ng::pong()),
            "offer" => {
                let call_id = text("call-id").context("no call-id")?;
                let offer = sdp::parse_audio(text("sdp").context("no sdp")?)
                    .context("no audio stream in the offer")?;
                Ok(ok(self.offer(call_id, offer)?))
            }
            "answer" => {
                let call_id = text("call-id").context("no call-id")?;
                let answer = sdp::parse_audio(text("sdp").context("no sdp")?)
                    .context("no audio stream in the answer")?;
                Ok(ok(self.answer(call_id, answer)?))
            }
            "delete" => {
                self.delete(text("call-id").context("no call-id")?)?;
                Ok(Value::dict([("result", Value::text("ok"))]))
            }
            other => anyhow::bail!("unsupported command {other}"),
        }
    }
}

fn spawn_relay<const BATCH: usize>(
    epoll: Arc<Epoll>,
    commands: mpsc::Receiver<Command>,
    edge: bool,
) -> std::io::Result<std::thread::JoinHandle<nullrelay::Counters>> {
    std::thread::Builder::new()
        .name("relay".to_owned())
        .spawn(move || Relay::<BATCH>::new(epoll, commands, edge).run())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let threads = match args.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let spawn = match args.batch {
        1 => spawn_relay::<1>,
        2 => spawn_relay::<2>,
        4 => spawn_relay::<4>,
        8 => spawn_relay::<8>,
        16 => spawn_relay::<16>,
        32 => spawn_relay::<32>,
        64 => spawn_relay::<64>,
        other => anyhow::bail!("--batch {other}: expected 1, 2, 4, 8, 16, 32 or 64"),
    };
    let mut relays = Vec::new();
    for _ in 0..threads {
        let epoll = Arc::new(Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?);
        let (commands, receiver) = mpsc::channel();
        spawn(Arc::clone(&epoll), receiver, args.edge)?;
        relays.push(Thread {
            epoll,
            commands,
            free_slots: Vec::new(),
            next_slot: 0,
        });
    }
    let socket = UdpSocket::bind(args.ng)?;
    let free_ports = parse_ports(&args.ports)?;
    println!(
        "null-relay: ng on {}, RTP on {} ports {}, {threads} threads, batch {}, {}{}",
        args.ng,
        args.ip,
        args.ports,
        args.batch,
        if args.edge { "edge" } else { "level" },
        if args.connect { ", connected" } else { "" },
    );
    let mut host = Host {
        args,
        threads: relays,
        calls: HashMap::new(),
        next_thread: 0,
        free_ports,
    };
    let mut buf = vec![0u8; 65_536];
    loop {
        let (len, from) = socket.recv_from(&mut buf)?;
        let Some((cookie, request)) = ng::parse_message(buf.get(..len).unwrap_or_default()) else {
            continue;
        };
        let reply = host.handle(&request).unwrap_or_else(|e| {
            Value::dict([
                ("result", Value::text("error")),
                ("error-reason", Value::text(&e.to_string())),
            ])
        });
        socket.send_to(&ng::write_message(cookie, &reply), from)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_even_and_handed_out_lowest_first() {
        let mut ports = parse_ports("60001-60006").unwrap();
        assert_eq!(ports.pop(), Some(60002));
        assert_eq!(ports, vec![60006, 60004]);
        assert!(parse_ports("7-5").is_err());
        assert!(parse_ports("7").is_err());
    }
}
