//! One call: the customer's side (the trunk's INVITE, our answer, the customer's media leg)
//! and, once an agent is picked, the agent's side.

use std::net::SocketAddr;
use std::time::Instant;

use cec_acd::AgentRef;
use cec_sdp::{LocalCapabilities, LocalSdpSession};
use cec_sip::{DialogId, Peer, TransactionId};

use crate::env::LegNo;
use crate::output::{CallRecord, LegQuality};

/// The Switch's number for a call.
pub type CallNo = u64;

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    /// Answering the customer (waiting for a PRACK before the 200).
    Answering,
    /// Waiting in a queue with hold music.
    Queued,
    /// An agent's phone rings.
    Ringing,
    /// Customer and agent are bridged.
    Talking,
    /// The agent holds the customer (hold music).
    Held,
    /// A release announcement plays; the call ends when it finishes.
    Announcing,
}

impl CallPhase {
    /// Name in the live-calls API.
    pub fn name(self) -> &'static str {
        match self {
            CallPhase::Answering => "answering",
            CallPhase::Queued => "queued",
            CallPhase::Ringing => "ringing",
            CallPhase::Talking => "talking",
            CallPhase::Held => "held",
            CallPhase::Announcing => "announcing",
        }
    }
}

/// One SIP+media side of the call.
#[derive(Debug, Clone)]
pub struct Side {
    /// Our SDP session with this peer.
    pub sdp: LocalSdpSession,
    /// What we answer re-offers with (the current codec first).
    pub caps: LocalCapabilities,
    /// The media leg.
    pub leg: LegNo,
    /// Its RTP port.
    pub port: u16,
    /// Last usable remote RTP/RTCP addresses (a hold offer's 0.0.0.0 keeps them).
    pub remote: (Option<SocketAddr>, Option<SocketAddr>),
    /// The confirmed dialog.
    pub dialog: Option<DialogId>,
    /// Quality intervals.
    pub quality: LegQuality,
}

/// The customer's side.
#[derive(Debug, Clone)]
pub struct Customer {
    /// The trunk's INVITE.
    pub invite: TransactionId,
    /// Where it came from.
    pub peer: Peer,
    /// Media and dialog.
    pub side: Side,
    /// Whether we sent the 200.
    pub answered: bool,
    /// The INVITE had no SDP: our 200 carried the offer and the ACK brings the answer.
    pub awaiting_answer: bool,
    /// The trunk's INVITE allowed UPDATE.
    pub allows_update: bool,
    /// How the trunk wants the caller's side renegotiated.
    pub renegotiation_method: crate::config::RenegotiationMethod,
    /// Our renegotiation in flight (UPDATE or re-INVITE).
    pub renegotiation: Option<TransactionId>,
    /// Renegotiate again once the one in flight finishes (hold and resume in quick
    /// succession).
    pub renegotiate_again: bool,
}

/// The agent's side.
#[derive(Debug, Clone)]
pub struct AgentLeg {
    /// The agent.
    pub agent: AgentRef,
    /// Our INVITEs, one per registered contact (forking), until one answers.
    pub invites: Vec<TransactionId>,
    /// Media and dialog (once answered).
    pub side: Side,
    /// Whether a phone answered.
    pub answered: bool,
}

/// A call in progress.
#[derive(Debug, Clone)]
pub struct Call {
    /// The Switch's number.
    pub no: CallNo,
    /// Public id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Trunk name (limits key).
    pub trunk: String,
    /// Where the call is.
    pub phase: CallPhase,
    /// The queue it waits in or came through.
    pub queue: Option<String>,
    /// When it entered its first queue.
    pub queued_at: Option<Instant>,
    /// Queue hops (overflow to another queue), bounded against loops.
    pub hops: u8,
    /// Customer side.
    pub customer: Customer,
    /// Agent side.
    pub agent: Option<AgentLeg>,
    /// The record so far.
    pub record: CallRecord,
    /// While an announcement plays before the release: the SIP status for a caller not
    /// answered yet (early media), its reason phrase, and the record's release cause.
    pub release_after_announcement: Option<(u16, &'static str, String)>,
}
