//! Harness for tests that drive the real `opencec` binary: start it on free loopback ports
//! with a config, learn the ports it bound from its log, run SIPp scenarios against it, and
//! stop it (by PID, only the process we started) when the test ends.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The workspace root (scenario files live under `interop/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

pub fn scenario(name: &str) -> PathBuf {
    workspace_root().join("interop/sipp").join(name)
}

/// A fresh temporary directory for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    // Unique per call: tests of one binary run in parallel, and two of them running the
    // same SIPp scenario must not share (and remove) each other's directory.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("opencec-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A running `opencec serve`.
pub struct Server {
    child: Child,
    pub dir: PathBuf,
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
    /// The REST API's address, from the `HTTP listening addr=…` log line.
    pub http: Option<SocketAddr>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the binary with `config` (TOML) in a new temp dir and waits for "ready".
    pub fn start(tag: &str, config: &str, extra_args: &[&str]) -> Server {
        Server::start_in(temp_dir(tag), config, extra_args, &[])
    }

    /// Starts the binary in `dir`, keeping what is there (`dir/data` survives a restart),
    /// with extra environment variables (e.g. `OPENCEC_DATABASE__URL`), and waits for "ready".
    pub fn start_in(
        dir: PathBuf,
        config: &str,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        std::fs::create_dir_all(&dir).expect("server dir");
        let config_path = dir.join("opencec.toml");
        std::fs::write(&config_path, config).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_opencec"))
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(extra_args)
            .env("OPENCEC_HTTP__LISTEN", "127.0.0.1:0")
            .env("OPENCEC_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start opencec");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let ready = line.contains("ready;");
                sink.lock().expect("log").push(line);
                if ready {
                    let _ = ready_tx.send(());
                }
            }
        });
        let mut server = Server {
            child,
            dir,
            udp: None,
            tcp: None,
            tls: None,
            http: None,
            log,
        };
        if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            panic!("opencec did not become ready:\n{}", server.log_text());
        }
        for line in server.log_lines() {
            let addr = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("addr="))
                .and_then(|a| a.parse::<SocketAddr>().ok());
            if line.contains("HTTP listening") {
                server.http = addr;
                continue;
            }
            if !line.contains("SIP listening") {
                continue;
            }
            if line.contains("transport=UDP") {
                server.udp = addr;
            } else if line.contains("transport=TCP") {
                server.tcp = addr;
            } else if line.contains("transport=TLS") {
                server.tls = addr;
            }
        }
        server
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    pub fn log_text(&self) -> String {
        self.log_lines().join("\n")
    }

    /// Waits until `pred` holds for some log line.
    pub fn wait_log(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log_lines().iter().any(|l| pred(l)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops it with SIGTERM and returns whether it exited with status 0.
    pub fn stop(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs one SIPp scenario (`-m calls`) against `target` and returns its output; `transport`
/// is SIPp's `-t` value (`u1`, `t1`). Bounded: SIPp's own `-timeout` plus a kill after 60 s.
pub fn sipp(
    scenario_file: &str,
    target: SocketAddr,
    transport: &str,
    inf: Option<&Path>,
    calls: u32,
    extra: &[&str],
) -> Output {
    let dir = temp_dir(&format!("sipp-{}", scenario_file.trim_end_matches(".xml")));
    let mut command = Command::new("timeout");
    command
        .current_dir(&dir)
        .arg("60")
        .arg("sipp")
        .arg(target.to_string())
        .arg("-sf")
        .arg(scenario(scenario_file))
        .args([
            "-t",
            transport,
            "-m",
            &calls.to_string(),
            "-i",
            "127.0.0.1",
            "-nostdin",
        ])
        .args([
            "-timeout",
            "20",
            "-timeout_error",
            "-trace_err",
            "-trace_msg",
        ])
        .args(extra);
    if let Some(inf) = inf {
        command.arg("-inf").arg(inf);
    }
    let output = command
        .output()
        .expect("run sipp (apt-get install sip-tester)");
    if !output.status.success() {
        // Leave SIPp's own account of what went wrong in the test output.
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                println!(
                    "--- {}\n{}",
                    entry.path().display(),
                    text.chars().take(6000).collect::<String>()
                );
            }
        }
    }
    output
}

/// Writes a SIPp injection file: one line per call, fields separated by `;`.
pub fn injection(tag: &str, rows: &[&str]) -> PathBuf {
    let dir = temp_dir(&format!("inf-{tag}"));
    let path = dir.join("fields.csv");
    let mut text = String::from("SEQUENTIAL\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write injection file");
    path
}

pub fn assert_ok(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: sipp exit {:?}\n{}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A raw UDP client: sends text, collects what comes back within a window.
pub struct RawUdp {
    socket: std::net::UdpSocket,
}

impl RawUdp {
    pub fn bind(ip: &str) -> RawUdp {
        let socket = std::net::UdpSocket::bind(format!("{ip}:0")).expect("bind");
        RawUdp { socket }
    }

    pub fn port(&self) -> u16 {
        self.socket.local_addr().expect("addr").port()
    }

    pub fn send(&self, to: std::net::SocketAddr, text: &str) {
        self.socket.send_to(text.as_bytes(), to).expect("send");
    }

    /// Every datagram received within `window`, with its arrival time since `start`.
    pub fn collect(
        &self,
        start: std::time::Instant,
        window: std::time::Duration,
    ) -> Vec<(std::time::Duration, String)> {
        let deadline = std::time::Instant::now() + window;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            self.socket
                .set_read_timeout(Some(left.max(std::time::Duration::from_millis(1))))
                .expect("timeout");
            match self.socket.recv_from(&mut buf) {
                Ok((n, _)) => got.push((
                    start.elapsed(),
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                )),
                Err(_) => break,
            }
        }
        got
    }
}
