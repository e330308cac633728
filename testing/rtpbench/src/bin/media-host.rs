//! `media-host`: the cec-runtime media engine behind a subset of rtpengine's ng control
//! protocol (`ping`, `offer`, `answer`, `delete` over bencode/UDP), so `rtp-load` drives it
//! exactly as it drives rtpengine. Not a product: just enough for the benchmark.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cec_media::quality::{NtpClock, QualityThresholds};
use cec_media::{LegConfig, StreamIds};
use cec_rtp::g711::G711;
use cec_runtime::media::{IoMode, LegHandle, MediaConfig, MediaEngine, PortRange};
use cec_sdp::Direction;
use clap::Parser;
use rtpbench::bencode::Value;
use rtpbench::{ng, sdp};
use tokio::net::UdpSocket;

#[derive(Debug, Parser)]
#[command(about = "cec-runtime media engine behind an rtpengine-style ng control port")]
struct Args {
    /// ng control address.
    #[arg(long, default_value = "127.0.0.1:2224")]
    ng: SocketAddr,
    /// Address to bind RTP on (and to put in SDP).
    #[arg(long, default_value = "127.0.0.1")]
    ip: IpAddr,
    /// RTP port range.
    #[arg(long, default_value = "40000-59999")]
    ports: String,
    /// Media shard threads; 0 = one per core.
    #[arg(long, default_value_t = 0)]
    shards: usize,
    /// How shards move datagrams: mmsg (epoll, recvmmsg, sendmmsg per socket), uring (an
    /// io_uring loop per shard) or auto.
    #[arg(long, default_value = "auto", value_parser = parse_io)]
    io: IoMode,
    /// io_uring loop: longest wait, in µs, for more datagrams once one is there.
    #[arg(long)]
    batch_wait_us: Option<u64>,
}

fn parse_io(text: &str) -> Result<IoMode, String> {
    match text {
        "mmsg" => Ok(IoMode::Mmsg),
        "uring" => Ok(IoMode::Uring),
        "auto" => Ok(IoMode::Auto),
        other => Err(format!("{other}: expected mmsg, uring or auto")),
    }
}

struct Call {
    /// Faces the caller (offerer): its port goes into the answer.
    caller: LegHandle,
    /// Faces the callee: its port goes into the offer.
    callee: LegHandle,
    payload_type: u8,
}

struct Host {
    engine: MediaEngine,
    ip: IpAddr,
    calls: HashMap<String, Call>,
    next_ssrc: u64,
}

fn codec_of(payload_type: u8) -> G711 {
    if payload_type == 0 {
        G711::Ulaw
    } else {
        G711::Alaw
    }
}

impl Host {
    fn leg_config(&mut self, remote: Option<SocketAddr>, payload_type: u8) -> LegConfig {
        // SplitMix64 over a counter: distinct SSRCs, no clock or OS randomness needed.
        self.next_ssrc = self.next_ssrc.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.next_ssrc;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let ids = StreamIds::random(|| z ^ (z >> 31));
        LegConfig {
            remote_rtp: remote,
            remote_rtcp: None,
            codec: codec_of(payload_type),
            payload_type,
            telephone_event: Some(101),
            direction: Direction::SendRecv,
            ids,
            latching: true,
            rtp_timeout: Duration::from_secs(120),
            rtcp_interval: Duration::from_secs(5),
            cname: "media-host".to_owned(),
            ntp: NtpClock {
                origin: Instant::now(),
                ntp_at_origin: 0,
            },
            thresholds: QualityThresholds::default(),
            playout_delay: Duration::from_millis(60),
            plc: true,
        }
    }

    async fn handle(&mut self, request: &Value) -> anyhow::Result<Value> {
        let text = |key: &str| request.get(key).and_then(Value::as_str);
        let command = text("command").context("no command")?;
        let ok = ng::sdp_reply;
        match command {
            "ping" => Ok(ng::pong()),
            "offer" => {
                let call_id = text("call-id").context("no call-id")?.to_owned();
                let offer = sdp::parse_audio(text("sdp").context("no sdp")?)
                    .context("no audio stream in the offer")?;
                if let Some(call) = self.calls.get(&call_id) {
                    // A repeated offer: same ports.
                    return Ok(ok(sdp::write_audio(
                        call.callee.local_rtp,
                        call.payload_type,
                    )));
                }
                let caller_config = self.leg_config(Some(offer.addr), offer.payload_type);
                let callee_config = self.leg_config(None, offer.payload_type);
                let caller = self.engine.allocate_leg(caller_config)?;
                let callee = match self.engine.allocate_leg(callee_config) {
                    Ok(leg) => leg,
                    Err(e) => {
                        self.engine.release(caller.id);
                        return Err(e.into());
                    }
                };
                let body = sdp::write_audio(callee.local_rtp, offer.payload_type);
                let payload_type = offer.payload_type;
                self.calls.insert(
                    call_id,
                    Call {
                        caller,
                        callee,
                        payload_type,
                    },
                );
                Ok(ok(body))
            }
            "answer" => {
                let call_id = text("call-id").context("no call-id")?;
                let answer = sdp::parse_audio(text("sdp").context("no sdp")?)
                    .context("no audio stream in the answer")?;
                let call = self.calls.get(call_id).context("unknown call")?;
                let (caller, callee, pt) = (call.caller, call.callee, call.payload_type);
                self.engine.set_remote(callee.id, Some(answer.addr), None);
                // A repeated answer finds them bridged already; that is fine.
                let _ = self.engine.bridge(caller.id, callee.id).await;
                Ok(ok(sdp::write_audio(caller.local_rtp, pt)))
            }
            "delete" => {
                let call_id = text("call-id").context("no call-id")?;
                let call = self.calls.remove(call_id).context("unknown call")?;
                self.engine.release(call.caller.id);
                self.engine.release(call.callee.id);
                Ok(Value::dict([("result", Value::text("ok"))]))
            }
            other => anyhow::bail!("unsupported command {other}"),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shards = match args.shards {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    // The engine runs its shards on threads of its own; this runtime only serves the ng
    // control socket and drains events.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args, shards))
}

async fn serve(args: Args, shards: usize) -> anyhow::Result<()> {
    let rtp_ports: PortRange = args.ports.parse()?;
    let config = MediaConfig {
        bind_ip: args.ip,
        rtp_ports,
        shards,
        socket_buffer: Some(1 << 20),
        io: args.io,
        batch_wait: args
            .batch_wait_us
            .map_or(MediaConfig::default().batch_wait, |us| {
                std::time::Duration::from_micros(us)
            }),
        ..MediaConfig::default()
    };
    let (engine, mut events) = MediaEngine::start(config)?;
    let io = engine.io_mode();
    // Nobody consumes events here; drain them so the channel never fills.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let socket = UdpSocket::bind(args.ng).await?;
    let mut host = Host {
        engine,
        ip: args.ip,
        calls: HashMap::new(),
        next_ssrc: u64::from(std::process::id()),
    };
    println!(
        "media-host: ng on {}, RTP on {} ports {}, I/O {io:?}",
        args.ng, host.ip, args.ports
    );
    let mut buf = vec![0u8; 65_536];
    loop {
        let (len, from) = socket.recv_from(&mut buf).await?;
        let Some((cookie, request)) = ng::parse_message(buf.get(..len).unwrap_or_default()) else {
            continue;
        };
        let cookie = cookie.to_vec();
        let reply = host.handle(&request).await.unwrap_or_else(|e| {
            Value::dict([
                ("result", Value::text("error")),
                ("error-reason", Value::text(&e.to_string())),
            ])
        });
        socket
            .send_to(&ng::write_message(&cookie, &reply), from)
            .await?;
    }
}
