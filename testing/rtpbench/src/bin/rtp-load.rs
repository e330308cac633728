//! `rtp-load`: opens N bridged G.711 calls through an ng control port (rtpengine or our
//! `media-host`), sends 50 packets/s per direction per leg for a fixed time, and prints one
//! JSON line: loss, added latency and jitter at the far side, the engine's CPU (from
//! `/proc/<pid>/stat`) and memory, and our own CPU (getrusage).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use nix::sys::resource::{UsageWho, getrusage};
use rtpbench::hist::Histogram;
use rtpbench::load::{self, CallPath, Measured, PACKET_RATE, Schedule};
use rtpbench::ng::NgClient;
use rtpbench::{procfs, sdp};

#[derive(Debug, Parser)]
#[command(about = "RTP relay load generator speaking rtpengine's ng protocol")]
struct Args {
    /// The engine's ng control address.
    #[arg(long, default_value = "127.0.0.1:2224")]
    ng: SocketAddr,
    /// Concurrent bridged calls.
    #[arg(long, default_value_t = 200)]
    calls: u32,
    /// Worker threads of this tool.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Seconds of traffic before the measurement window.
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Address of this tool's sockets.
    #[arg(long, default_value = "127.0.0.1")]
    ip: IpAddr,
    /// The engine's process id, for its CPU and memory.
    #[arg(long)]
    engine_pid: Option<u32>,
    /// A name for the JSON line.
    #[arg(long, default_value = "engine")]
    label: String,
}

fn cpu_self() -> f64 {
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |u| {
        let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
        t(u.user_time()) + t(u.system_time())
    })
}

fn sleep_until_realtime(target_ns: u64) {
    let now = load::realtime_ns();
    std::thread::sleep(Duration::from_nanos(target_ns.saturating_sub(now)));
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let threads = args.threads.max(1);
    let sockets: Vec<(UdpSocket, UdpSocket)> = (0..threads)
        .map(|_| Ok((load::bind_socket(args.ip)?, load::bind_socket(args.ip)?)))
        .collect::<anyhow::Result<_>>()?;
    let mut ng = NgClient::connect(args.ng)?;
    anyhow::ensure!(ng.ping()?, "engine at {} does not answer ping", args.ng);

    let setup_started = Instant::now();
    let mut per_thread: Vec<Vec<CallPath>> = vec![Vec::new(); threads];
    for index in 0..args.calls {
        let t = index as usize % threads;
        let (caller, callee) = sockets.get(t).context("socket")?;
        let call_id = format!("bench-{index}");
        let (from_tag, to_tag) = (format!("a{index}"), format!("b{index}"));
        let offer = sdp::write_audio(caller.local_addr()?, 8);
        let to_callee = ng.offer(&call_id, &from_tag, &offer)?;
        let answer = sdp::write_audio(callee.local_addr()?, 8);
        let to_caller = ng.answer(&call_id, &from_tag, &to_tag, &answer)?;
        // The caller sends where the answer (as rewritten for it) says, and vice versa.
        let caller_to = sdp::parse_audio(&to_caller).context("answer sdp")?.addr;
        let callee_to = sdp::parse_audio(&to_callee).context("offer sdp")?.addr;
        per_thread.get_mut(t).context("thread")?.push(CallPath {
            index,
            caller_to,
            callee_to,
        });
    }
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    let start = Instant::now() + Duration::from_millis(100);
    let start_ns = load::realtime_ns() + 100_000_000;
    let window_start = start_ns + (args.warmup * 1e9) as u64;
    let window_end = window_start + (args.duration * 1e9) as u64;
    let stop = start + Duration::from_secs_f64(args.warmup + args.duration + 0.2);
    let schedule = Schedule {
        start,
        window: (window_start, window_end),
        stop,
        drain_until: stop + Duration::from_millis(500),
    };

    let measured: Vec<Measured> = std::thread::scope(|scope| {
        let workers: Vec<_> = per_thread
            .iter()
            .zip(&sockets)
            .map(|(calls, (caller, callee))| {
                scope.spawn(move || load::run(calls, caller, callee, schedule))
            })
            .collect();
        sleep_until_realtime(window_start);
        let before = (cpu_self(), args.engine_pid.and_then(procfs::cpu_seconds));
        let udp_before = procfs::udp_buffer_errors();
        sleep_until_realtime(window_end);
        let after = (cpu_self(), args.engine_pid.and_then(procfs::cpu_seconds));
        let udp_after = procfs::udp_buffer_errors();
        let rss = args.engine_pid.and_then(procfs::rss_kib);
        let results: Vec<Measured> = workers.into_iter().filter_map(|w| w.join().ok()).collect();
        report(
            &args,
            &results,
            before,
            after,
            udp_before.zip(udp_after),
            rss,
            setup_seconds,
        );
        results
    });

    for calls in &per_thread {
        for call in calls {
            let _ = ng.delete(
                &format!("bench-{}", call.index),
                &format!("a{}", call.index),
            );
        }
    }
    drop(measured);
    Ok(())
}

type Cpu = (f64, Option<f64>);

fn report(
    args: &Args,
    results: &[Measured],
    before: Cpu,
    after: Cpu,
    udp: Option<((u64, u64), (u64, u64))>,
    rss_kib: Option<u64>,
    setup_seconds: f64,
) {
    let mut latency = Histogram::default();
    let mut variation = Histogram::default();
    let (mut sent, mut received, mut jitter_sum, mut jitter_streams) = (0, 0, 0.0, 0);
    for m in results {
        latency.merge(&m.latency);
        variation.merge(&m.delay_variation);
        sent += m.sent;
        received += m.received;
        jitter_sum += m.jitter_sum;
        jitter_streams += m.jitter_streams;
    }
    let window = args.duration;
    let loss_pct = if sent == 0 {
        100.0
    } else {
        100.0 * (1.0 - received as f64 / sent as f64)
    };
    let tool_cpu = (after.0 - before.0) / window;
    let engine_cpu = before.1.zip(after.1).map(|(b, a)| (a - b) / window);
    let pps = sent as f64 / window;
    let per_packet_us = engine_cpu.map(|c| c * 1e6 / pps.max(1.0));
    let per_call_pct = engine_cpu.map(|c| 100.0 * c / f64::from(args.calls.max(1)));
    let fmt = |v: Option<f64>| v.map_or("null".to_owned(), |v| format!("{v:.4}"));
    let (rcvbuf_errors, sndbuf_errors) = udp.map_or((0, 0), |((r0, s0), (r1, s1))| {
        (r1.saturating_sub(r0), s1.saturating_sub(s0))
    });
    println!(
        "{{\"label\":\"{label}\",\"calls\":{calls},\"expected_pps\":{expected},\"window_s\":{window},\
         \"sent\":{sent},\"received\":{received},\"loss_pct\":{loss_pct:.4},\
         \"latency_p50_us\":{p50},\"latency_p99_us\":{p99},\"latency_max_us\":{max},\
         \"delay_variation_p99_us\":{dv99},\"rfc3550_jitter_mean_us\":{jit:.1},\
         \"engine_cpu_cores\":{ecpu},\"engine_us_per_packet\":{epp},\
         \"engine_core_pct_per_call\":{epc},\"engine_rss_kib\":{rss},\
         \"tool_cpu_cores\":{tool_cpu:.4},\"udp_rcvbuf_errors\":{rcvbuf_errors},\
         \"udp_sndbuf_errors\":{sndbuf_errors},\"setup_s\":{setup_seconds:.2}}}",
        label = args.label,
        calls = args.calls,
        expected = args.calls * 2 * PACKET_RATE,
        p50 = latency.percentile(0.5),
        p99 = latency.percentile(0.99),
        max = latency.percentile(1.0),
        dv99 = variation.percentile(0.99),
        jit = if jitter_streams == 0 {
            0.0
        } else {
            jitter_sum / jitter_streams as f64
        },
        ecpu = fmt(engine_cpu),
        epp = fmt(per_packet_us),
        epc = fmt(per_call_pct),
        rss = rss_kib.map_or("null".to_owned(), |r| r.to_string()),
    );
}
