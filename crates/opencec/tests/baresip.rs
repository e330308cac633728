//! baresip (a real SIP phone stack, run headless) against the real `opencec` binary on
//! loopback. Pins: baresip registers with a password (401 then 200) and stays registered
//! across a refresh; a wrong password is refused and baresip reports it; and what the default
//! digest algorithms (SHA-256 offered first) do to baresip — Debian 12's baresip 1.0 (libre
//! 1.1) aborts on any non-MD5 challenge ("Function not implemented") and never registers,
//! a newer baresip must register with SHA-256. See interop/baresip/README.md.

mod common;

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, temp_dir, workspace_root};

const USER: &str = "1001";
const PASSWORD: &str = "correct-horse-1001";
/// Registration interval baresip asks for and the server's `min_expires`: short, so the
/// refresh (at 90 % of it) happens within the test.
const REGINT: u32 = 10;
/// baresip's own safety bound (`-t`): it quits by itself even if the test forgets it.
const BARESIP_LIFETIME_S: u32 = 35;

/// A server (default `sip.digest_algorithms`: SHA-256, MD5) with one user, offered
/// `user_algorithms` (TOML array) instead when given: the per-user override that lets old
/// phones register while everyone else gets SHA-256 first.
fn server(tag: &str, user_algorithms: Option<&str>) -> Server {
    let algorithms = user_algorithms
        .map(|list| format!("digest_algorithms = {list}\n"))
        .unwrap_or_default();
    let config = format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:0\"]\nmin_expires = {REGINT}\n\
         [[sip.users]]\nuser = \"{USER}\"\npassword = \"{PASSWORD}\"\n{algorithms}"
    );
    Server::start(tag, &config, &[])
}

/// A running baresip with its own config directory; its stdout and stderr (registration
/// results and, with `-s`, a SIP trace) go to `log`. Killed by PID when dropped.
struct Baresip {
    child: Child,
    log: PathBuf,
}

impl Baresip {
    fn start(tag: &str, registrar: SocketAddr, password: &str) -> Baresip {
        let dir = temp_dir(&format!("baresip-{tag}"));
        std::fs::copy(
            workspace_root().join("interop/baresip/config"),
            dir.join("config"),
        )
        .expect("copy baresip config");
        std::fs::write(
            dir.join("accounts"),
            format!("<sip:{USER}@{registrar}>;auth_pass={password};regint={REGINT}\n"),
        )
        .expect("write accounts");
        let log = dir.join("baresip.log");
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new("baresip")
            .arg("-f")
            .arg(&dir)
            .arg("-s")
            .args(["-t", &BARESIP_LIFETIME_S.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start baresip (apt-get install baresip)");
        Baresip { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `pred` holds for baresip's log.
    fn wait_log(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
        wait_until(timeout, || pred(&self.log_text()))
    }

    /// The `Authorization` header lines baresip sent (from its SIP trace).
    fn authorizations(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.starts_with("Authorization:"))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        // `Child::kill` signals exactly this PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many registrations of `USER` with a live binding the server accepted.
fn accepted(server: &Server) -> usize {
    server
        .log_lines()
        .iter()
        .filter(|l| {
            l.contains("REGISTER accepted")
                && l.contains(&format!("user={USER} "))
                && l.contains("bindings=1")
        })
        .count()
}

/// The length of the `response=` value of a digest `Authorization` line: 32 hex digits for
/// MD5, 64 for SHA-256.
fn response_hex_len(authorization: &str) -> Option<usize> {
    let value = authorization
        .split("response=\"")
        .nth(1)?
        .split('"')
        .next()?;
    value
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then_some(value.len())
}

/// baresip's (major, minor) version from `baresip -h` ("baresip v1.0.0 Copyright ...").
fn baresip_version() -> (u32, u32) {
    let output = Command::new("baresip")
        .arg("-h")
        .stdin(Stdio::null())
        .output()
        .expect("run baresip (apt-get install baresip)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let version = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix('v'))
        .expect("version in `baresip -h`");
    let mut parts = version
        .split('.')
        .map(|p| p.parse::<u32>().expect("number"));
    (parts.next().expect("major"), parts.next().expect("minor"))
}

fn report(server: &Server, baresip: &Baresip) -> String {
    format!(
        "--- server log\n{}\n--- baresip log\n{}",
        server.log_text(),
        baresip.log_text()
    )
}

#[test]
fn baresip_registers_with_a_password_and_stays_registered_across_a_refresh() {
    // MD5 only for this user (the server default stays SHA-256 + MD5): see
    // `default_digest_algorithms_against_this_baresip` for why.
    let server = server("baresip-refresh", Some("[\"MD5\"]"));
    let baresip = Baresip::start("refresh", server.udp.expect("udp"), PASSWORD);

    let started = Instant::now();
    assert!(
        wait_until(Duration::from_secs(5), || accepted(&server) >= 1),
        "initial registration not accepted\n{}",
        report(&server, &baresip)
    );
    let first = started.elapsed();
    // baresip refreshes at 90 % of the granted 10 s.
    assert!(
        wait_until(Duration::from_secs(15), || accepted(&server) >= 2),
        "no refresh accepted\n{}",
        report(&server, &baresip)
    );
    let gap = started.elapsed() - first;
    assert!(
        gap >= Duration::from_secs(5),
        "second REGISTER after {gap:?} is not a refresh\n{}",
        report(&server, &baresip)
    );
    // The binding never lapsed between the two.
    assert!(
        !server.log_text().contains("registration expired"),
        "{}",
        report(&server, &baresip)
    );

    // baresip itself says so: "1001@127.0.0.1: {0/UDP/v4} 200 OK () [1 binding]".
    assert!(
        baresip.wait_log(Duration::from_secs(2), |log| {
            log.lines()
                .filter(|l| l.contains("200 OK") && l.contains("[1 binding]"))
                .count()
                >= 1
        }),
        "baresip did not report the registration\n{}",
        report(&server, &baresip)
    );
    // baresip 1.0 answers MD5 (32 hex digits) and leaves out `algorithm=` (RFC 2617 default);
    // every REGISTER (initial and refresh) carried credentials after a 401.
    let authorizations = baresip.authorizations();
    assert!(authorizations.len() >= 2, "{authorizations:?}");
    for line in &authorizations {
        assert_eq!(response_hex_len(line), Some(32), "{line}");
        assert!(!line.contains("SHA-256"), "{line}");
    }
    drop(baresip);
    assert!(server.stop(), "clean exit");
}

#[test]
fn baresip_with_a_wrong_password_is_refused_and_says_so() {
    let server = server("baresip-wrong", Some("[\"MD5\"]"));
    let baresip = Baresip::start("wrong", server.udp.expect("udp"), "not-the-password");
    assert!(
        server.wait_log(Duration::from_secs(5), |l| l.contains("REGISTER refused")),
        "{}",
        report(&server, &baresip)
    );
    assert!(
        baresip.wait_log(Duration::from_secs(3), |log| log.contains("403 Forbidden")),
        "baresip did not report the refusal\n{}",
        report(&server, &baresip)
    );
    assert_eq!(accepted(&server), 0, "{}", report(&server, &baresip));
}

#[test]
fn default_digest_algorithms_against_this_baresip() {
    let server = server("baresip-default", None);
    let baresip = Baresip::start("default", server.udp.expect("udp"), PASSWORD);
    // The challenge offers SHA-256 first, then MD5 (RFC 8760 order of preference).
    assert!(
        baresip.wait_log(Duration::from_secs(5), |log| {
            let sha = log.find("algorithm=SHA-256");
            let md5 = log.find("algorithm=MD5");
            matches!((sha, md5), (Some(s), Some(m)) if s < m)
        }),
        "no SHA-256-first challenge\n{}",
        report(&server, &baresip)
    );
    if baresip_version() < (2, 0) {
        // Known gap (Debian 12: baresip 1.0.0 on libre 1.1.0): libre gives up on the whole
        // 401 with ENOSYS when any challenge is not MD5, so such phones cannot register
        // against the default. If this starts to pass registration, update the README.
        assert!(
            baresip.wait_log(Duration::from_secs(5), |log| {
                log.contains("Register: Function not implemented")
            }),
            "{}",
            report(&server, &baresip)
        );
        assert_eq!(accepted(&server), 0, "{}", report(&server, &baresip));
        assert!(baresip.authorizations().is_empty());
    } else {
        // A libre with SHA-256 picks the topmost challenge it supports (RFC 8760 §2.4).
        assert!(
            wait_until(Duration::from_secs(5), || accepted(&server) >= 1),
            "{}",
            report(&server, &baresip)
        );
        let authorizations = baresip.authorizations();
        assert!(
            authorizations
                .iter()
                .all(|l| response_hex_len(l) == Some(64)),
            "{authorizations:?}"
        );
    }
}
