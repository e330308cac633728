//! SIPp (and raw sockets) against the real `opencec` binary on loopback, over UDP, TCP and
//! TLS: OPTIONS, REGISTER with digest (401 then 200), unregister, a wrong password (403 after
//! the challenge, server unharmed), INVITE from a source that is no tenant's trunk (403), CANCEL matching,
//! final-response retransmission to a UAC that withholds its ACK, and OPTIONS from a stranger
//! (403). SIPp has no TLS in Debian's build, so the TLS runs go through `socat` (TCP in,
//! TLS out) with the server's certificate checked against a CA made in the test.
//! Answered calls (the echo-test number) are in `sip_echo.rs`.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{RawUdp, Server, assert_ok, injection, sipp, temp_dir};

const PASSWORD: &str = "correct-horse-1001";

/// A server with one user, the loopback trunk, MD5 only (SIPp answers only MD5 and only the
/// first challenge), and optionally a TLS listener.
fn server(tag: &str, tls: Option<&Certificates>) -> Server {
    let mut listen = vec!["\"udp:127.0.0.1:0\"", "\"tcp:127.0.0.1:0\""];
    let mut tls_section = String::new();
    if let Some(certs) = tls {
        listen.push("\"tls:127.0.0.1:0\"");
        tls_section = format!(
            "[sip.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            certs.cert.display(),
            certs.key.display()
        );
    }
    let config = format!(
        "[sip]\nlisten = [{}]\ndigest_algorithms = [\"MD5\"]\n{tls_section}\
         [[sip.users]]\nuser = \"1001\"\npassword = \"{PASSWORD}\"\n\
         [[sip.trunks]]\nname = \"loopback\"\naddress = \"127.0.0.1:5060\"\nallow_from = [\"127.0.0.1\"]\nprobe_interval_s = 0\n",
        listen.join(", ")
    );
    Server::start(tag, &config, &[])
}

fn good_user() -> PathBuf {
    injection(
        "good",
        &[&format!(
            "1001;[authentication username=1001 password={PASSWORD}]"
        )],
    )
}

#[test]
fn options_register_unregister_and_invite_over_udp_and_tcp() {
    let server = server("sipp-basic", None);
    let targets = [
        (server.udp.expect("udp"), "u1"),
        (server.tcp.expect("tcp"), "t1"),
    ];
    for (target, transport) in targets {
        assert_ok(
            &sipp("options.xml", target, transport, None, 3, &[]),
            &format!("OPTIONS {transport}"),
        );
        assert_ok(
            &sipp(
                "register.xml",
                target,
                transport,
                Some(&good_user()),
                1,
                &[],
            ),
            &format!("REGISTER {transport}"),
        );
        assert_ok(
            &sipp(
                "unregister.xml",
                target,
                transport,
                Some(&good_user()),
                1,
                &[],
            ),
            &format!("unregister {transport}"),
        );
        let unknown = injection("unknown", &["9999;"]);
        assert_ok(
            &sipp(
                "invite_unknown.xml",
                target,
                transport,
                Some(&unknown),
                1,
                &[],
            ),
            &format!("INVITE 403 {transport}"),
        );
        assert_ok(
            &sipp(
                "cancel_after_final.xml",
                target,
                transport,
                Some(&good_user()),
                1,
                &[],
            ),
            &format!("CANCEL {transport}"),
        );
    }
    assert!(server.stop(), "clean exit");
}

#[test]
fn wrong_password_gets_403_after_the_challenge_and_the_server_keeps_serving() {
    let mut server = server("sipp-wrong", None);
    let target = server.udp.expect("udp");
    let wrong = injection(
        "wrong",
        &["1001;[authentication username=1001 password=not-the-password]"],
    );
    assert_ok(
        &sipp(
            "register_wrong_password.xml",
            target,
            "u1",
            Some(&wrong),
            1,
            &[],
        ),
        "wrong password",
    );
    let stranger = injection(
        "stranger",
        &["4242;[authentication username=4242 password=whatever]"],
    );
    assert_ok(
        &sipp(
            "register_wrong_password.xml",
            target,
            "u1",
            Some(&stranger),
            1,
            &[],
        ),
        "unknown user",
    );
    assert!(server.is_running());
    assert_ok(
        &sipp("options.xml", target, "u1", None, 1, &[]),
        "OPTIONS after the failures",
    );
    assert!(
        server.log_text().contains("REGISTER refused"),
        "the refusal is logged"
    );
}

fn invite_text(port: u16, ip: &str, branch: &str, user: &str) -> String {
    format!(
        "INVITE sip:{user}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:{port};branch={branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:raw@{ip}>;tag=raw1\r\nTo: <sip:{user}@127.0.0.1>\r\n\
         Call-ID: {branch}@raw\r\nCSeq: 1 INVITE\r\nContact: <sip:raw@{ip}:{port}>\r\nContent-Length: 0\r\n\r\n"
    )
}

#[test]
fn final_response_is_retransmitted_until_the_ack_arrives() {
    let server = server("sipp-noack", None);
    let target = server.udp.expect("udp");
    let client = RawUdp::bind("127.0.0.1");
    let start = Instant::now();
    client.send(
        target,
        &invite_text(client.port(), "127.0.0.1", "z9hG4bKnoack1", "1001"),
    );
    // Withhold the ACK: 403 (not a trunk) at 0, then timer G at 0.5 s and 1.5 s (T1
    // doubling).
    let got = client.collect(start, Duration::from_millis(2_000));
    let finals: Vec<Duration> = got
        .iter()
        .filter(|(_, m)| m.starts_with("SIP/2.0 403"))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(finals.len(), 3, "{got:?}");
    assert!(
        finals[1] >= Duration::from_millis(450) && finals[1] < Duration::from_millis(800),
        "{finals:?}"
    );
    assert!(
        finals[2] >= Duration::from_millis(1_400) && finals[2] < Duration::from_millis(1_900),
        "{finals:?}"
    );
    // The ACK stops the retransmissions (the next would be due at 3.5 s).
    let to_tag = got[0]
        .1
        .lines()
        .find(|l| l.starts_with("To:"))
        .and_then(|l| l.split("tag=").nth(1))
        .expect("to tag")
        .trim()
        .to_string();
    let ack = format!(
        "ACK sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bKnoack1;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:raw@127.0.0.1>;tag=raw1\r\nTo: <sip:1001@127.0.0.1>;tag={to_tag}\r\n\
         Call-ID: z9hG4bKnoack1@raw\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        client.port()
    );
    client.send(target, &ack);
    let after = client.collect(Instant::now(), Duration::from_millis(2_500));
    assert!(after.is_empty(), "retransmitted after ACK: {after:?}");
}

#[test]
fn options_from_a_stranger_is_forbidden_and_from_the_trunk_is_answered() {
    let server = server("sipp-stranger", None);
    let target = server.udp.expect("udp");
    for (ip, expected) in [("127.0.0.2", "SIP/2.0 403"), ("127.0.0.1", "SIP/2.0 200")] {
        let client = RawUdp::bind(ip);
        let options = format!(
            "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:{};branch=z9hG4bKopt{};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:x@{ip}>;tag=o1\r\nTo: <sip:127.0.0.1>\r\n\
             Call-ID: opt@{ip}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            client.port(),
            client.port()
        );
        client.send(target, &options);
        let got = client.collect(Instant::now(), Duration::from_millis(1_000));
        assert!(
            got.first().is_some_and(|(_, m)| m.starts_with(expected)),
            "{ip}: {got:?}"
        );
    }
}

/// A CA and a server certificate for 127.0.0.1 / localhost, as PEM files.
struct Certificates {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn certificates(tag: &str) -> Certificates {
    use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};
    let dir = temp_dir(tag);
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // Distinct subjects: OpenSSL (socat) takes a leaf whose subject equals its issuer's for
    // self-signed and refuses it.
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "OpenCEC test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let key = KeyPair::generate().expect("key");
    let params =
        CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).expect("params");
    let cert = params.signed_by(&key, &ca, &ca_key).expect("cert");
    let files = Certificates {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.ca, ca.pem()).expect("write");
    std::fs::write(&files.cert, cert.pem()).expect("write");
    std::fs::write(&files.key, key.serialize_pem()).expect("write");
    files
}

/// `socat` accepting plain TCP on a free port and relaying it over TLS to `tls`, checking
/// the server certificate against `ca`.
struct TlsRelay {
    child: Child,
    addr: SocketAddr,
}

impl TlsRelay {
    fn start(tls: SocketAddr, ca: &std::path::Path) -> TlsRelay {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("probe port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new("socat")
            .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"))
            .arg(format!(
                "OPENSSL:{tls},cafile={},verify=1,commonname=localhost",
                ca.display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start socat (apt-get install socat)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(addr).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsRelay { child, addr }
    }
}

impl Drop for TlsRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn options_register_and_invite_over_tls() {
    let certs = certificates("tls-certs");
    let server = server("sipp-tls", Some(&certs));
    let relay = TlsRelay::start(server.tls.expect("tls listener"), &certs.ca);
    assert_ok(
        &sipp("options.xml", relay.addr, "t1", None, 2, &[]),
        "OPTIONS over TLS",
    );
    assert_ok(
        &sipp("register.xml", relay.addr, "t1", Some(&good_user()), 1, &[]),
        "REGISTER over TLS",
    );
    let unknown = injection("unknown-tls", &["9999;"]);
    assert_ok(
        &sipp(
            "invite_unknown.xml",
            relay.addr,
            "t1",
            Some(&unknown),
            1,
            &[],
        ),
        "INVITE over TLS",
    );
    assert!(server.stop(), "clean exit");
}

#[test]
fn one_opencec_registers_to_another_as_a_trunk() {
    // The "carrier": an opencec with a user for the trunk account.
    let carrier = Server::start(
        "carrier",
        "[sip]\nlisten = [\"udp:127.0.0.1:0\"]\nmin_expires = 60\n\
         [[sip.users]]\nuser = \"trunk7\"\npassword = \"carrier-secret\"\n",
        &[],
    );
    let carrier_addr = carrier.udp.expect("carrier udp");
    // The platform registers to it (default digest: SHA-256 offered first, answered by us).
    let platform = Server::start(
        "platform",
        &format!(
            "[sip]\nlisten = [\"udp:127.0.0.1:0\"]\n\
             [[sip.trunks]]\nname = \"carrier\"\naddress = \"{carrier_addr}\"\nprobe_interval_s = 0\n\
             register = true\nusername = \"trunk7\"\npassword = \"carrier-secret\"\nregister_expires = 120\n"
        ),
        &[],
    );
    assert!(
        platform.wait_log(Duration::from_secs(10), |l| l
            .contains("trunk registration accepted")
            && l.contains("expires=120")),
        "platform:\n{}\ncarrier:\n{}",
        platform.log_text(),
        carrier.log_text()
    );
    assert!(
        carrier.wait_log(Duration::from_secs(5), |l| l.contains("REGISTER accepted")
            && l.contains("user=trunk7"))
    );
    // A wrong password is reported, not retried in a loop.
    let wrong = Server::start(
        "platform-wrong",
        &format!(
            "[sip]\nlisten = [\"udp:127.0.0.1:0\"]\n\
             [[sip.trunks]]\nname = \"carrier\"\naddress = \"{carrier_addr}\"\nprobe_interval_s = 0\n\
             register = true\nusername = \"trunk7\"\npassword = \"nope\"\n"
        ),
        &[],
    );
    assert!(wrong.wait_log(
        Duration::from_secs(10),
        |l| l.contains("trunk registration failed") && l.contains("status=403")
    ));
    std::thread::sleep(Duration::from_secs(1));
    let attempts = carrier
        .log_lines()
        .iter()
        .filter(|l| l.contains("REGISTER refused"))
        .count();
    assert_eq!(attempts, 1, "one refused attempt, then a 60 s pause");
    assert!(platform.stop() && carrier.stop() && wrong.stop());
}

#[test]
fn demo_phone_registers_with_the_password_from_the_credentials_file() {
    let server = Server::start(
        "demo-register",
        "[sip]\nlisten = [\"udp:127.0.0.1:0\"]\n",
        &["--demo"],
    );
    let file = server.dir.join("data/demo-credentials.json");
    let credentials: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("credentials file"))
            .expect("json");
    assert_eq!(credentials["tenant"], "demo");
    let agent = &credentials["agents"][0];
    let (user, password) = (
        agent["sip_user"].as_str().expect("user"),
        agent["sip_password"].as_str().expect("password"),
    );
    assert_eq!(user, "1001");
    let row = format!("{user};[authentication username={user} password={password}]");
    assert_ok(
        &sipp(
            "register.xml",
            server.udp.expect("udp"),
            "u1",
            Some(&injection("demo", &[&row])),
            1,
            &[],
        ),
        "demo REGISTER",
    );
    assert!(server.stop());
}
