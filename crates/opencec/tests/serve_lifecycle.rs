//! The real binary starts, reports readiness and exits cleanly (status 0) on SIGINT and
//! SIGTERM; a bad configuration stops it with the field and the reason.
//!
//! Regression: "ready" was logged before the signal handlers were installed, so a SIGTERM
//! sent right after readiness killed the process with status 15 (seen once in a CI-like run).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn opencec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_opencec"))
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("opencec-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Waits until the child's stderr shows `needle`, or fails after `timeout`.
fn wait_for_line(child: &mut Child, needle: &'static str, timeout: Duration) -> anyhow::Result<()> {
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(needle) {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(timeout)
        .map_err(|_| anyhow::anyhow!("no {needle:?} within {timeout:?}"))
}

fn wait_exit(child: &mut Child, timeout: Duration) -> anyhow::Result<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            anyhow::bail!("did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stops_cleanly_on(signal: &str) -> anyhow::Result<()> {
    let data_dir = temp_dir(signal);
    let mut child = opencec()
        .args(["serve", "--demo", "--data-dir"])
        .arg(&data_dir)
        .env("OPENCEC_SIP__LISTEN", "udp:127.0.0.1:0")
        .env("OPENCEC_HTTP__LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()?;
    wait_for_line(&mut child, "ready", Duration::from_secs(20))?;
    assert!(data_dir.is_dir(), "serve creates the data dir");
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()?;
    assert!(status.success());
    let exit = wait_exit(&mut child, Duration::from_secs(10))?;
    assert!(exit.success(), "exit status after {signal}: {exit:?}");
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}

#[test]
fn serve_exits_cleanly_on_sigint() -> anyhow::Result<()> {
    stops_cleanly_on("-INT")
}

#[test]
fn serve_exits_cleanly_on_sigterm() -> anyhow::Result<()> {
    stops_cleanly_on("-TERM")
}

#[test]
fn check_config_names_the_bad_field() -> anyhow::Result<()> {
    let dir = temp_dir("badcfg");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("opencec.toml");
    std::fs::write(&file, "[media]\nrtp_ports = \"9-3\"\n")?;
    let out = opencec()
        .args(["check-config", "--config"])
        .arg(&file)
        .output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("media.rtp_ports"), "stderr: {stderr}");

    std::fs::write(&file, "[http]\nlisten = \"127.0.0.1:8081\"\n")?;
    let out = opencec()
        .args(["check-config", "--config"])
        .arg(&file)
        .output()?;
    assert!(out.status.success(), "{out:?}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
