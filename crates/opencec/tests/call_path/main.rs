//! The call path end to end (issue 6), against the real `opencec serve --demo` binary on
//! loopback: SIPp plays the carrier trunk calling access code 4001 (plain, 100rel, a carrier
//! without UPDATE, CANCEL before the answer, BYE while queued or while the agent's phone
//! rings) and baresip plays the agents' phones (registered with their demo credentials,
//! signed in through the API), over UDP and TCP. Checked for each: the SIP flow (SIPp's
//! scenario fails on anything unexpected; a carrier sending its INVITE without SDP too), the audio both ways (a tone from each side is
//! found in what the other side received), that the agent's phone sees the call end, the
//! agent's state afterwards, and the call's record (`GET …/cdrs`) and events.

#[path = "../common/mod.rs"]
mod common;
// Shared with the API tests; this suite uses part of it.
#[allow(dead_code)]
#[path = "../api_http/http.rs"]
mod http;
mod phone;
mod rtp;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{Server, injection, sipp};
use http::Client;
use phone::Phone;
use rtp::RtpPeer;

/// The caller's tone and the agents' tone (neither is in the default hold pattern).
const CALLER_HZ: f64 = 1000.0;
const AGENT_HZ: f64 = 440.0;

struct Demo {
    server: Server,
    api: Client,
    credentials: Value,
}

impl Demo {
    fn start(tag: &str) -> Demo {
        let config = "[sip]\nlisten = [\"udp:127.0.0.1:0\", \"tcp:127.0.0.1:0\"]\n";
        let server = Server::start(tag, config, &["--demo"]);
        let credentials: Value = serde_json::from_str(
            &std::fs::read_to_string(server.dir.join("data/demo-credentials.json"))
                .expect("credentials"),
        )
        .expect("credentials JSON");
        let anonymous = Client::new(server.http.expect("HTTP address"));
        let token = anonymous
            .post(
                "/api/v1/auth/token",
                &json!({"access_key": credentials["access_key"], "secret": credentials["secret"]}),
            )
            .expect(200)["token"]
            .as_str()
            .expect("token")
            .to_owned();
        let api = anonymous.with_token(&token);
        Demo {
            server,
            api,
            credentials,
        }
    }

    fn sip(&self, transport: &str) -> SocketAddr {
        match transport {
            "tcp" => self.server.tcp.expect("TCP listener"),
            _ => self.server.udp.expect("UDP listener"),
        }
    }

    fn sip_password(&self, work_no: &str) -> String {
        self.credentials["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .find(|a| a["work_no"] == work_no)
            .and_then(|a| a["sip_password"].as_str())
            .expect("agent password")
            .to_owned()
    }

    fn phone(&self, work_no: &str, transport: &str, auto_answer: bool) -> Phone {
        Phone::start(
            work_no,
            self.sip(transport),
            transport,
            work_no,
            &self.sip_password(work_no),
            auto_answer,
            AGENT_HZ,
        )
    }

    fn sign_in(&self, work_no: &str) {
        let state = self
            .api
            .post(
                &format!("/api/v1/tenants/demo/agents/{work_no}/sign-in"),
                &json!({}),
            )
            .expect(200);
        assert_eq!(state["phase"], "idle", "{state}");
    }

    fn agent_phase(&self, work_no: &str) -> String {
        self.api
            .get(&format!("/api/v1/tenants/demo/agents/{work_no}/state"))
            .expect(200)["phase"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the agent is in `phase`.
    fn wait_phase(&self, work_no: &str, phase: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.agent_phase(work_no) == phase {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "agent {work_no} is {} not {phase}",
            self.agent_phase(work_no)
        );
    }

    /// The newest call records, waiting until `count` are final.
    fn cdrs(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let items = self
                .api
                .get("/api/v1/tenants/demo/cdrs?state=ended")
                .expect(200)["items"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if items.len() >= count || Instant::now() > deadline {
                return items;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn live_calls(&self) -> usize {
        self.api.get("/api/v1/tenants/demo/calls").expect(200)["items"]
            .as_array()
            .map_or(0, Vec::len)
    }

    fn event_types(&self) -> Vec<String> {
        self.api
            .get("/api/v1/tenants/demo/events?after=0&limit=1000")
            .expect(200)["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["type"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Runs a carrier scenario for `calls` calls whose media goes to `media`.
fn carrier(
    demo: &Demo,
    scenario: &str,
    transport: &str,
    media: SocketAddr,
    calls: u32,
    hold_ms: u32,
    extra: &[&str],
) -> std::process::Output {
    let row = format!("4001;{};{}", media.ip(), media.port());
    let rows: Vec<&str> = (0..calls).map(|_| row.as_str()).collect();
    let inf = injection(scenario, &rows);
    let hold = hold_ms.to_string();
    let calls_text = calls.to_string();
    let mut args = vec!["-d", hold.as_str(), "-l", calls_text.as_str()];
    args.extend_from_slice(extra);
    sipp(
        scenario,
        demo.sip(transport),
        transport_flag(transport),
        Some(&inf),
        calls,
        &args,
    )
}

fn transport_flag(transport: &str) -> &'static str {
    match transport {
        "tcp" => "t1",
        _ => "u1",
    }
}

#[track_caller]
fn assert_sipp_ok(output: &std::process::Output, what: &str) {
    common::assert_ok(output, what);
}

/// One call answered by the agent, audio checked both ways, hung up by the caller.
fn answered_call(tag: &str, scenario: &str, transport: &str) {
    let demo = Demo::start(tag);
    let phone = demo.phone("1001", transport, true);
    demo.sign_in("1001");
    let media = RtpPeer::start(CALLER_HZ);
    let started = Instant::now();
    let output = carrier(
        &demo,
        &format!("{scenario}.xml"),
        transport,
        media.addr,
        1,
        4000,
        &[],
    );
    assert_sipp_ok(&output, scenario);
    // The customer heard the agent (after the bridge) and the agent heard the customer.
    assert!(
        media.heard_since(started + Duration::from_millis(500), AGENT_HZ),
        "no agent tone at the caller; packets: {}",
        media.received().len()
    );
    assert!(
        phone.wait_log(Duration::from_secs(5), |l| l.contains("BYE")),
        "the agent's phone was not hung up:\n{}",
        phone.log_text()
    );
    let heard = phone.heard_at_least(16_000, Duration::from_secs(5));
    assert!(
        rtp::dominant(&heard, CALLER_HZ),
        "the agent did not hear the caller's tone: {} samples, relative power {:.3} (agent tone {:.3})",
        heard.len(),
        rtp::relative_power(&heard, CALLER_HZ),
        rtp::relative_power(&heard, AGENT_HZ),
    );
    let cdrs = demo.cdrs(1);
    let cdr = &cdrs[0];
    assert_eq!(cdr["agent"], "1001", "{cdr}");
    assert_eq!(cdr["queue"], "support", "{cdr}");
    assert_eq!(cdr["released_by"], "caller", "{cdr}");
    assert_eq!(cdr["sip_status"], 200, "{cdr}");
    assert!(
        cdr["answered_ms"].as_i64() >= cdr["queued_ms"].as_i64(),
        "{cdr}"
    );
    assert!(
        cdr["ended_ms"].as_i64() > cdr["answered_ms"].as_i64(),
        "{cdr}"
    );
    assert_eq!(demo.live_calls(), 0);
    demo.wait_phase("1001", "wrap_up", Duration::from_secs(3));
    let events = demo.event_types();
    for expected in [
        "CallEvent_Arrived",
        "CallEvent_Queued",
        "AgentEvent_Ringing",
        "AgentEvent_Talking",
        "CallEvent_Answered",
        "AgentEvent_Customer_Release",
        "CallEvent_Released",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "no {expected} in {events:?}"
        );
    }
}

#[test]
fn udp_call_reaches_the_agent_with_update_renegotiation() {
    answered_call("call-udp", "trunk_call", "udp");
}

#[test]
fn tcp_call_with_100rel_early_media() {
    answered_call("call-tcp-100rel", "trunk_100rel", "tcp");
}

#[test]
fn carrier_without_sdp_in_its_invite_answers_our_offer_in_the_ack() {
    answered_call("call-late-offer", "trunk_late_offer", "udp");
}

#[test]
fn carrier_without_update_gets_a_reinvite() {
    answered_call("call-reinvite", "trunk_reinvite", "udp");
}

#[test]
fn agent_hangs_up_and_the_caller_gets_bye() {
    let demo = Demo::start("call-agent-bye");
    let phone = demo.phone("1002", "udp", true);
    demo.sign_in("1002");
    let media = RtpPeer::start(CALLER_HZ);
    let address = demo.sip("udp");
    let caller = std::thread::spawn(move || {
        // The carrier waits up to 20 s for our BYE (the scenario's hold is longer).
        let row = format!("4001;{};{}", media.addr.ip(), media.addr.port());
        let inf = injection("trunk_agent_bye", &[row.as_str()]);
        let out = sipp("trunk_remote_bye.xml", address, "u1", Some(&inf), 1, &[]);
        (out, media)
    });
    assert!(
        phone.wait_log(Duration::from_secs(10), |l| l.contains("Call established")),
        "{}",
        phone.log_text()
    );
    std::thread::sleep(Duration::from_millis(1500));
    phone.hang_up();
    let (output, _media) = caller.join().expect("caller");
    assert_sipp_ok(&output, "trunk_remote_bye");
    let cdr = &demo.cdrs(1)[0];
    assert_eq!(cdr["released_by"], "agent", "{cdr}");
    assert_eq!(demo.live_calls(), 0);
}

#[test]
fn cancel_before_the_answer_leaves_no_call() {
    let demo = Demo::start("call-cancel");
    let media = RtpPeer::start(CALLER_HZ);
    // No agent signed in: the queue's default no-agents rule refuses with 480, so sign one
    // in (its phone is never rung: the carrier cancels before PRACKing our 183).
    let _phone = demo.phone("1001", "udp", true);
    demo.sign_in("1001");
    let output = carrier(&demo, "trunk_cancel.xml", "udp", media.addr, 1, 0, &[]);
    assert_sipp_ok(&output, "trunk_cancel");
    let cdr = &demo.cdrs(1)[0];
    assert_eq!(cdr["sip_status"], 487, "{cdr}");
    assert_eq!(cdr["released_by"], "caller", "{cdr}");
    assert_eq!(demo.live_calls(), 0);
    assert_eq!(demo.agent_phase("1001"), "idle");
}

#[test]
fn caller_hangs_up_while_queued_and_while_the_phone_rings() {
    let demo = Demo::start("call-abandon");
    // A phone that rings but is not answered.
    let phone = demo.phone("1001", "udp", false);
    let media = RtpPeer::start(CALLER_HZ);
    // 1. Nobody signed in: the call is refused (480) by the queue's no-agents rule.
    let refused = carrier(
        &demo,
        "trunk_queued_bye.xml",
        "udp",
        media.addr,
        1,
        1000,
        &[],
    );
    assert!(
        !refused.status.success(),
        "a call with no agent signed in was answered"
    );
    let cdr = &demo.cdrs(1)[0];
    assert_eq!(cdr["sip_status"], 480, "{cdr}");
    // 2. Signed in, phone ringing when the caller gives up: the phone gets CANCEL.
    demo.sign_in("1001");
    let started = Instant::now();
    let output = carrier(
        &demo,
        "trunk_queued_bye.xml",
        "udp",
        media.addr,
        1,
        3000,
        &[],
    );
    assert_sipp_ok(&output, "trunk_queued_bye");
    assert!(
        phone.wait_log(Duration::from_secs(5), |l| l.contains("CANCEL")),
        "no CANCEL at the phone:\n{}",
        phone.log_text()
    );
    // Hold music reached the caller while it waited.
    assert!(
        media.received().iter().any(|r| r.at >= started),
        "no hold music"
    );
    let cdr = &demo.cdrs(2)[0];
    assert_eq!(cdr["released_by"], "caller", "{cdr}");
    assert!(cdr["ringing_ms"].is_i64(), "{cdr}");
    assert!(cdr["answered_ms"].is_null(), "{cdr}");
    assert_eq!(demo.live_calls(), 0);
    // A caller giving up is not the agent's fault: back to idle, not busy.
    demo.wait_phase("1001", "idle", Duration::from_secs(3));
}

#[test]
fn two_agents_three_callers_served_in_order() {
    let demo = Demo::start("call-three");
    let _a = demo.phone("1001", "udp", true);
    let _b = demo.phone("1002", "tcp", true);
    // Short wrap-up so the third caller is served within SIPp's patience.
    demo.api
        .patch(
            "/api/v1/tenants/demo/skill-queues/support",
            &json!({"wrap_up_time_s": 1}),
        )
        .expect(200);
    demo.sign_in("1001");
    demo.sign_in("1002");
    let media = RtpPeer::start(CALLER_HZ);
    // Three calls 200 ms apart, each talking 3 s once connected.
    let output = carrier(
        &demo,
        "trunk_call.xml",
        "udp",
        media.addr,
        3,
        3000,
        &["-r", "5", "-rp", "1000"],
    );
    assert_sipp_ok(&output, "trunk_call x3");
    let mut cdrs = demo.cdrs(3);
    assert_eq!(cdrs.len(), 3, "{cdrs:?}");
    cdrs.sort_by_key(|c| c["arrived_ms"].as_i64());
    for cdr in &cdrs {
        assert_eq!(cdr["released_by"], "caller", "{cdr}");
        assert!(cdr["agent"].is_string(), "{cdr}");
    }
    // The first two were answered at once, the third only after one of them ended.
    let first_end = cdrs[..2]
        .iter()
        .filter_map(|c| c["ended_ms"].as_i64())
        .min()
        .expect("ends");
    assert!(
        cdrs[2]["answered_ms"].as_i64().expect("third answered") >= first_end,
        "{cdrs:?}"
    );
    assert!(cdrs[0]["answered_ms"].as_i64() < cdrs[2]["answered_ms"].as_i64());
    assert_eq!(demo.live_calls(), 0);
}

/// Answers SIP OPTIONS on a loopback socket with 200 (copying the transaction headers).
fn answer_options(socket: &std::net::UdpSocket, deadline: Instant) -> usize {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut answered = 0;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("OPTIONS ") {
            continue;
        }
        let copied: Vec<&str> = text
            .lines()
            .filter(|l| {
                let name = l.split(':').next().unwrap_or_default().to_ascii_lowercase();
                matches!(name.as_str(), "via" | "from" | "to" | "call-id" | "cseq")
            })
            .collect();
        let response = format!(
            "SIP/2.0 200 OK\r\n{}\r\nContent-Length: 0\r\n\r\n",
            copied.join("\r\n")
        );
        socket
            .send_to(response.as_bytes(), from)
            .expect("answer OPTIONS");
        answered += 1;
    }
    answered
}

#[test]
fn database_trunks_are_probed_with_options() {
    let demo = Demo::start("call-probe");
    let carrier = std::net::UdpSocket::bind("127.0.0.1:0").expect("carrier socket");
    let port = carrier.local_addr().expect("addr").port();
    demo.api
        .post(
            "/api/v1/tenants/demo/trunks",
            &json!({"name": "probed", "addresses": [{"host": "127.0.0.1", "port": port}], "probe_interval_s": 5}),
        )
        .expect(201);
    // The server reloads its call configuration within 5 s and probes at once.
    let answered = answer_options(&carrier, Instant::now() + Duration::from_secs(8));
    assert!(answered >= 1, "no OPTIONS probe reached the trunk");
    assert!(
        demo.server.wait_log(Duration::from_secs(3), |l| l
            .contains("trunk link status changed")
            && l.contains("demo/probed")
            && l.contains("status=\"up\"")),
        "{}",
        demo.server.log_text()
    );
}
