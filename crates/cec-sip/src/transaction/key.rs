//! Transaction matching keys (RFC 3261 §17.1.3 and §17.2.3).

use bytes::Bytes;
use cec_sip_msg::{CoreHeaders, Method, Via};

/// How a server transaction is found for an incoming request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    /// RFC 3261 peers: the top Via branch (with the magic cookie), its sent-by, and the
    /// method (ACK counts as INVITE; CANCEL is its own transaction).
    Branch {
        /// Branch parameter, as received (RFC 3261 compares it exactly).
        branch: Bytes,
        /// Lowercased `host:port` of the top Via.
        sent_by: String,
        /// INVITE for INVITE and ACK, otherwise the request method.
        method: Method,
    },
    /// RFC 2543 peers (no magic cookie): Call-ID, From tag, CSeq number, the whole top Via and
    /// the method, which together identify the request (§17.2.3 fallback, minus the
    /// Request-URI and To tag, which a retransmission repeats anyway).
    Legacy {
        /// Call-ID.
        call_id: Bytes,
        /// From tag, if any.
        from_tag: Option<Bytes>,
        /// CSeq number.
        cseq: u32,
        /// The printed top Via.
        via: String,
        /// INVITE for INVITE and ACK, otherwise the request method.
        method: Method,
    },
}

fn matching_method(method: &Method) -> Method {
    match method {
        Method::Ack => Method::Invite,
        other => other.clone(),
    }
}

fn sent_by(via: &Via) -> String {
    let mut out = Vec::new();
    via.host.write_to(&mut out);
    let mut s = String::from_utf8_lossy(&out).to_ascii_lowercase();
    s.push(':');
    s.push_str(&via.port.unwrap_or(0).to_string());
    s
}

impl ServerKey {
    /// The key of a request, with `method` overriding the request's own (CANCEL looks up
    /// the INVITE it cancels by passing `Method::Invite`).
    pub fn for_request(core: &CoreHeaders, method: &Method) -> Option<ServerKey> {
        let via = core.top_via()?;
        let method = matching_method(method);
        if via.has_rfc3261_branch() {
            return Some(ServerKey::Branch {
                branch: via.branch()?.clone(),
                sent_by: sent_by(via),
                method,
            });
        }
        let printed = cec_sip_msg::Print::to_vec(via);
        Some(ServerKey::Legacy {
            call_id: core.call_id.clone(),
            from_tag: core.from.tag().cloned(),
            cseq: core.cseq.seq,
            via: String::from_utf8_lossy(&printed).into_owned(),
            method,
        })
    }
}

/// How a client transaction is found for an incoming response: the branch we generated and
/// the CSeq method (§17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// Branch of our top Via.
    pub branch: Bytes,
    /// CSeq method (a CANCEL and its INVITE share a branch).
    pub method: Method,
}

impl ClientKey {
    /// The key of a response (or of the request we sent).
    pub fn for_message(core: &CoreHeaders) -> Option<ClientKey> {
        let via = core.top_via()?;
        Some(ClientKey {
            branch: via.branch()?.clone(),
            method: core.cseq.method.clone(),
        })
    }
}
