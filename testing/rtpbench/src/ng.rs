//! rtpengine's ng control protocol over UDP: each datagram is `<cookie> <bencoded dict>`,
//! and the reply echoes the cookie. Only what the benchmark uses: `ping`, `offer`,
//! `answer`, `delete`.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::bencode::Value;

/// Splits a datagram into its cookie and decoded dictionary.
pub fn parse_message(datagram: &[u8]) -> Option<(&[u8], Value)> {
    let space = datagram.iter().position(|&b| b == b' ')?;
    let cookie = datagram.get(..space)?;
    let body = Value::decode(datagram.get(space + 1..)?).ok()?;
    matches!(body, Value::Dict(_)).then_some((cookie, body))
}

/// The answer to `offer` and `answer`: `result = ok` with our SDP.
pub fn sdp_reply(sdp: String) -> Value {
    Value::dict([
        ("result", Value::text("ok")),
        ("sdp", Value::Bytes(sdp.into_bytes())),
    ])
}

/// The answer to `ping`.
pub fn pong() -> Value {
    Value::dict([("result", Value::text("pong"))])
}

/// Builds a datagram from a cookie and a dictionary.
pub fn write_message(cookie: &[u8], body: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(cookie.len() + 256);
    out.extend_from_slice(cookie);
    out.push(b' ');
    body.encode(&mut out);
    out
}

/// A blocking ng client (setup and teardown only, never on the measured path).
#[derive(Debug)]
pub struct NgClient {
    socket: UdpSocket,
    server: SocketAddr,
    next_cookie: u64,
}

impl NgClient {
    /// A client bound to an ephemeral loopback port.
    pub fn connect(server: SocketAddr) -> anyhow::Result<Self> {
        let local: SocketAddr = if server.is_ipv4() {
            "127.0.0.1:0".parse()?
        } else {
            "[::1]:0".parse()?
        };
        let socket = UdpSocket::bind(local)?;
        socket.set_read_timeout(Some(Duration::from_secs(2)))?;
        Ok(Self {
            socket,
            server,
            next_cookie: 1,
        })
    }

    /// Sends `body` and waits for the reply with the same cookie (three tries).
    pub fn call(&mut self, body: &Value) -> anyhow::Result<Value> {
        let cookie = format!("c{}", self.next_cookie);
        self.next_cookie += 1;
        let datagram = write_message(cookie.as_bytes(), body);
        let mut buf = vec![0u8; 65_536];
        for _ in 0..3 {
            self.socket.send_to(&datagram, self.server)?;
            // A timeout ends the loop: resend.
            while let Ok((len, _)) = self.socket.recv_from(&mut buf) {
                let reply = buf.get(..len).unwrap_or_default();
                if let Some((got, reply)) = parse_message(reply)
                    && got == cookie.as_bytes()
                {
                    if reply.get("result").and_then(Value::as_str) == Some("error") {
                        let reason = reply.get("error-reason").and_then(Value::as_str);
                        bail!("ng error: {}", reason.unwrap_or("?"));
                    }
                    return Ok(reply);
                }
            }
        }
        bail!("no ng reply from {}", self.server)
    }

    /// `offer` with `sdp`; returns the SDP to give the callee.
    pub fn offer(&mut self, call_id: &str, from_tag: &str, sdp: &str) -> anyhow::Result<String> {
        let reply = self.call(&Value::dict([
            ("command", Value::text("offer")),
            ("call-id", Value::text(call_id)),
            ("from-tag", Value::text(from_tag)),
            ("sdp", Value::text(sdp)),
        ]))?;
        sdp_of(&reply)
    }

    /// `answer` with `sdp`; returns the SDP to give the caller.
    pub fn answer(
        &mut self,
        call_id: &str,
        from_tag: &str,
        to_tag: &str,
        sdp: &str,
    ) -> anyhow::Result<String> {
        let reply = self.call(&Value::dict([
            ("command", Value::text("answer")),
            ("call-id", Value::text(call_id)),
            ("from-tag", Value::text(from_tag)),
            ("to-tag", Value::text(to_tag)),
            ("sdp", Value::text(sdp)),
        ]))?;
        sdp_of(&reply)
    }

    /// `delete` of a call.
    pub fn delete(&mut self, call_id: &str, from_tag: &str) -> anyhow::Result<()> {
        self.call(&Value::dict([
            ("command", Value::text("delete")),
            ("call-id", Value::text(call_id)),
            ("from-tag", Value::text(from_tag)),
        ]))?;
        Ok(())
    }

    /// `ping`; true on `pong`.
    pub fn ping(&mut self) -> anyhow::Result<bool> {
        let reply = self.call(&Value::dict([("command", Value::text("ping"))]))?;
        Ok(reply.get("result").and_then(Value::as_str) == Some("pong"))
    }
}

fn sdp_of(reply: &Value) -> anyhow::Result<String> {
    reply
        .get("sdp")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .context("ng reply without sdp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let body = Value::dict([("command", Value::text("ping"))]);
        let datagram = write_message(b"5323_1", &body);
        assert_eq!(datagram, b"5323_1 d7:command4:pinge");
        assert_eq!(parse_message(&datagram), Some((&b"5323_1"[..], body)));
        assert_eq!(parse_message(b"nospace"), None);
        assert_eq!(parse_message(b"c i3e"), None, "body must be a dictionary");
    }
}
