//! Call records and events over HTTP with a real SQLite store: CDR filters and cursor paging
//! through the query string, the event long poll waking on `events_committed` (and not on
//! another tenant's commit), agents seeing only their own events, every bad parameter named
//! in a 400, and the WebSocket stream (resume by seq, push on commit, close on bad input)
//! over a real socket on loopback.

mod call_fixture;
mod store_fixture;

use std::time::{Duration, Instant};

use cec_store::{CdrRecord, CdrState, EventRecord};
use serde_json::{Value, json};
use store_fixture::StoreFixture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn cdr(id: &str, arrived_ms: i64, caller: &str, state: CdrState) -> CdrRecord {
    CdrRecord {
        id: id.into(),
        tenant: "acme".into(),
        state,
        trunk: "carrier".into(),
        access_code: "4001".into(),
        caller: caller.into(),
        called: "4001".into(),
        queue: Some("support".into()),
        agent: Some("1001".into()),
        arrived_ms,
        queued_ms: None,
        ringing_ms: None,
        answered_ms: None,
        ended_ms: (state == CdrState::Ended).then_some(arrived_ms + 1000),
        released_by: None,
        release_cause: None,
        sip_status: None,
        sip_reason: None,
        legs: Vec::new(),
    }
}

fn event(tenant: &str, seq: i64, agent: &str) -> EventRecord {
    EventRecord {
        seq,
        tenant: tenant.into(),
        kind: "AgentState_Ready".into(),
        time_ms: 1_000 + seq,
        call_id: None,
        agent: Some(agent.into()),
        data: json!({"seq_was": seq}),
    }
}

/// Writes events and reports the commit, as the binary's batch writer does.
async fn commit(f: &StoreFixture, events: &[EventRecord]) {
    f.store().write_call_batch(&[], events).await.unwrap();
    f.state
        .events_committed(events.iter().map(|e| e.seq).max().unwrap_or(0));
}

fn seqs(answer: &Value) -> Vec<i64> {
    answer["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {answer}"))
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn cdr_filters_and_paging_through_http() {
    let f = StoreFixture::new("records-cdrs", "acme").await;
    let callers = call_fixture::seed(&f, "acme").await;
    let records: Vec<CdrRecord> = (0..7)
        .map(|i| {
            let caller = if i % 2 == 0 { "5550000" } else { "5551111" };
            let state = if i < 5 {
                CdrState::Ended
            } else {
                CdrState::Active
            };
            cdr(&format!("c{i}"), 1_000 + i, caller, state)
        })
        .collect();
    f.store().write_call_batch(&records, &[]).await.unwrap();
    let token = callers.supervisor.as_str();
    let base = "/api/v1/tenants/acme/cdrs";
    let ids = |answer: &Value| -> Vec<String> {
        answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let (status, answer) = f
        .call(token, "GET", &format!("{base}?caller=5551111"), None)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ids(&answer), ["c5", "c3", "c1"]);
    let (_, answer) = f
        .call(
            token,
            "GET",
            &format!("{base}?state=active&from=1005&to=1007"),
            None,
        )
        .await;
    assert_eq!(ids(&answer), ["c6", "c5"]);

    let mut seen = Vec::new();
    let mut uri = format!("{base}?limit=3");
    loop {
        let (status, answer) = f.call(token, "GET", &uri, None).await;
        assert_eq!(status, 200, "{answer}");
        seen.extend(ids(&answer));
        match answer["next_cursor"].as_str() {
            Some(cursor) => uri = format!("{base}?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["c6", "c5", "c4", "c3", "c2", "c1", "c0"]);

    let (status, answer) = f.call(token, "GET", &format!("{base}/c3"), None).await;
    assert_eq!(status, 200);
    let read: CdrRecord = serde_json::from_value(answer).unwrap();
    assert_eq!(read, records[3]);
    let (status, _) = f.call(token, "GET", &format!("{base}/nope"), None).await;
    assert_eq!(status, 404);

    for (query, field) in [
        ("from=yesterday", "from"),
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("state=ringing", "state"),
        ("cursor=garbage", "cursor"),
        ("from=10&to=5", "to"),
        ("colour=red", "colour"),
    ] {
        let (status, answer) = f.call(token, "GET", &format!("{base}?{query}"), None).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert_eq!(answer["errors"][0]["field"], field, "{query}: {answer}");
    }
    // Call records are for supervisors and admins.
    let (status, _) = f.call(&callers.agent_1001, "GET", base, None).await;
    assert_eq!(status, 403);
    let (status, _) = f.call(&callers.admin, "GET", base, None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn long_poll_wakes_on_commit() {
    let f = StoreFixture::new("records-poll", "acme").await;
    let callers = call_fixture::seed(&f, "acme").await;
    f.store()
        .create_tenant(
            &cec_store::Actor::system("test"),
            serde_json::from_value(json!({"name": "globex"})).unwrap(),
        )
        .await
        .unwrap();
    let token = callers.supervisor.clone();
    let events = "/api/v1/tenants/acme/events";

    // Nothing yet and no wait: at once, cursor unchanged.
    let (status, answer) = f
        .call(&token, "GET", &format!("{events}?after=0"), None)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"events": [], "cursor": 0}));

    let f = std::sync::Arc::new(f);
    let poll = {
        let (f, token) = (f.clone(), token.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let answer = f
                .call(&token, "GET", &format!("{events}?after=0&wait=20"), None)
                .await;
            (answer, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "nothing committed yet");
    // Another tenant's commit wakes the poll, which finds nothing of its own and waits on.
    commit(&f, &[event("globex", 1, "1001")]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !poll.is_finished(),
        "another tenant's event must not end the poll"
    );
    commit(&f, &[event("acme", 2, "1001"), event("acme", 3, "1002")]).await;
    let ((status, answer), elapsed) = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the poll ends soon after the commit")
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(seqs(&answer), [2, 3]);
    assert_eq!(answer["cursor"], 3);
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let first = &answer["events"][0];
    assert_eq!(first["type"], "AgentState_Ready");
    assert_eq!(first["time"], 1_002);
    assert_eq!(first["tenant"], "acme");
    assert_eq!(first["data"], json!({"seq_was": 2}));

    // The cursor resumes; limit pages; a wait with nothing new times out empty.
    let (_, answer) = f
        .call(&token, "GET", &format!("{events}?after=2&limit=1"), None)
        .await;
    assert_eq!(
        (seqs(&answer), answer["cursor"].as_i64()),
        (vec![3], Some(3))
    );
    let started = Instant::now();
    let (_, answer) = f
        .call(&token, "GET", &format!("{events}?after=3&wait=1"), None)
        .await;
    assert_eq!(answer, json!({"events": [], "cursor": 3}));
    assert!(started.elapsed() >= Duration::from_millis(900));

    // An agent's session sees only the events naming it.
    let (status, answer) = f
        .call(
            &callers.agent_1001,
            "GET",
            &format!("{events}?after=0"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(seqs(&answer), [2]);

    for (query, field) in [
        ("wait=31", "wait"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("after=-1", "after"),
        ("after=x", "after"),
        ("since=1", "since"),
    ] {
        let (status, answer) = f
            .call(&token, "GET", &format!("{events}?{query}"), None)
            .await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert_eq!(answer["errors"][0]["field"], field, "{query}: {answer}");
    }
}

/// A minimal WebSocket client (RFC 6455) over a raw socket: the test sees the wire.
struct WsClient {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl WsClient {
    /// Opens `path`; the status line's code, and the client when it is 101.
    async fn open(
        addr: std::net::SocketAddr,
        path: &str,
        token: Option<&str>,
    ) -> (u16, Option<WsClient>) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{auth}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut client = WsClient {
            stream,
            buffer: Vec::new(),
        };
        let end = loop {
            if let Some(end) = client.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            assert!(
                client.fill().await,
                "connection closed during the handshake"
            );
        };
        let head = String::from_utf8_lossy(&client.buffer[..end]).to_string();
        client.buffer.drain(..end + 4);
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, (status == 101).then_some(client))
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
            .await
            .expect("data within 10 s")
            .unwrap();
        self.buffer.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// The next frame: opcode and payload (server frames are not masked).
    async fn frame(&mut self) -> (u8, Vec<u8>) {
        loop {
            if self.buffer.len() >= 2 {
                let opcode = self.buffer[0] & 0x0f;
                let (len, start) = match self.buffer[1] & 0x7f {
                    126 if self.buffer.len() >= 4 => (
                        usize::from(u16::from_be_bytes([self.buffer[2], self.buffer[3]])),
                        4,
                    ),
                    127 if self.buffer.len() >= 10 => {
                        let bytes: [u8; 8] = self.buffer[2..10].try_into().unwrap();
                        (usize::try_from(u64::from_be_bytes(bytes)).unwrap(), 10)
                    }
                    n @ 0..=125 => (usize::from(n), 2),
                    _ => (usize::MAX, 0),
                };
                if len != usize::MAX && self.buffer.len() >= start + len {
                    let payload = self.buffer[start..start + len].to_vec();
                    self.buffer.drain(..start + len);
                    return (opcode, payload);
                }
            }
            assert!(self.fill().await, "connection closed before a whole frame");
        }
    }

    /// The next text frame as JSON (skipping pings).
    async fn event(&mut self) -> Value {
        loop {
            let (opcode, payload) = self.frame().await;
            match opcode {
                1 => return serde_json::from_slice(&payload).unwrap(),
                9 | 10 => {}
                other => panic!("expected a text frame, got opcode {other}: {payload:?}"),
            }
        }
    }

    async fn send_text(&mut self, text: &str) {
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        let payload = text.as_bytes();
        assert!(payload.len() < 126);
        let mut frame = vec![0x81, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.unwrap();
    }
}

#[tokio::test]
async fn websocket_streams_events_as_they_commit() {
    let f = StoreFixture::new("records-ws", "acme").await;
    let callers = call_fixture::seed(&f, "acme").await;
    commit(&f, &[event("acme", 1, "1001"), event("acme", 2, "1002")]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = cec_api::router(f.state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let path = "/api/v1/tenants/acme/events/ws";
    let token = callers.supervisor.as_str();

    // Resume from the query: the backlog, then each commit as it happens.
    let (status, ws) = WsClient::open(addr, &format!("{path}?after=0"), Some(token)).await;
    let mut ws = ws.unwrap_or_else(|| panic!("handshake answered {status}"));
    assert_eq!(ws.event().await["seq"], 1);
    assert_eq!(ws.event().await["seq"], 2);
    commit(&f, &[event("acme", 3, "1001")]).await;
    let third = ws.event().await;
    assert_eq!(
        (third["seq"].as_i64(), third["type"].as_str()),
        (Some(3), Some("AgentState_Ready"))
    );
    // A later {"after": n} restarts the stream after n.
    ws.send_text(r#"{"after": 1}"#).await;
    assert_eq!(ws.event().await["seq"], 2);
    assert_eq!(ws.event().await["seq"], 3);
    // Something unreadable ends it with 1007.
    ws.send_text("hello").await;
    let (opcode, payload) = ws.frame().await;
    assert_eq!(opcode, 8, "close frame");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1007);

    // Resume with a first message; the token may come in the query (browsers); an agent's
    // session gets its own events only.
    let agent_path = format!("{path}?access_token={}", callers.agent_1001);
    let (status, ws) = WsClient::open(addr, &agent_path, None).await;
    let mut ws = ws.unwrap_or_else(|| panic!("handshake answered {status}"));
    ws.send_text(r#"{"after": 0}"#).await;
    assert_eq!(ws.event().await["seq"], 1);
    assert_eq!(ws.event().await["seq"], 3);
    commit(&f, &[event("acme", 4, "1002"), event("acme", 5, "1001")]).await;
    assert_eq!(ws.event().await["seq"], 5);

    // Without a start: only what commits after the connection opened (after the first
    // second the client had to send one).
    let (_, ws) = WsClient::open(addr, path, Some(token)).await;
    let mut ws = ws.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    commit(&f, &[event("acme", 6, "1001")]).await;
    assert_eq!(ws.event().await["seq"], 6);

    // No token, a bad token, another role's limits: refused before the upgrade.
    assert_eq!(WsClient::open(addr, path, None).await.0, 401);
    assert_eq!(WsClient::open(addr, path, Some("v1.x.y")).await.0, 401);
    assert_eq!(
        WsClient::open(addr, "/api/v1/tenants/globex/events/ws", Some(token))
            .await
            .0,
        404
    );
    assert_eq!(
        WsClient::open(addr, &format!("{path}?after=-5"), Some(token))
            .await
            .0,
        400
    );
}
