//! Per-dialog SDP state for a B2BUA leg: `o=` versioning (RFC 3264 §8), the outstanding
//! offer, the negotiated media, hold and resume.

use std::net::IpAddr;

use crate::attribute::Direction;
use crate::codec::LocalCapabilities;
use crate::error::NegotiationError;
use crate::model::{Origin, SessionDescription};
use crate::negotiate::{AnswerParams, answer};
use crate::negotiated::{Answer, NegotiatedMedia};
use crate::offer::{OfferParams, build_offer, process_answer};

/// Our SDP session on one dialog (one call leg).
///
/// It owns the `o=` session id (constant) and version: every SDP we send goes through
/// [`LocalSdpSession::stamp`], which keeps the version when the body is identical to the
/// last one sent and increments it on any change, as RFC 3264 §8 requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSdpSession {
    username: String,
    session_id: u64,
    version: u64,
    address: IpAddr,
    last_sent: Option<SessionDescription>,
    pending_offer: Option<SessionDescription>,
    negotiated: Option<NegotiatedMedia>,
}

impl LocalSdpSession {
    /// A new session; `session_id` and `initial_version` come from the caller (random,
    /// or NTP time), `address` is our media address used in `o=` and `c=`.
    pub fn new(session_id: u64, initial_version: u64, address: IpAddr) -> Self {
        Self {
            username: "-".to_owned(),
            session_id,
            version: initial_version,
            address,
            last_sent: None,
            pending_offer: None,
            negotiated: None,
        }
    }

    /// Sets the `o=` user name (default `-`).
    #[must_use]
    pub fn with_username(mut self, username: &str) -> Self {
        self.username = username.to_owned();
        self
    }

    /// Our session id.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// The version of the last SDP sent (or the initial one).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Our media address.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// Our current `o=` line.
    pub fn origin(&self) -> Origin {
        Origin {
            username: self.username.clone(),
            ..Origin::new(self.session_id, self.version, self.address)
        }
    }

    /// The last SDP we sent (offer or answer).
    pub fn last_sent(&self) -> Option<&SessionDescription> {
        self.last_sent.as_ref()
    }

    /// Our offer waiting for an answer.
    pub fn pending_offer(&self) -> Option<&SessionDescription> {
        self.pending_offer.as_ref()
    }

    /// The media negotiated by the last completed offer/answer exchange.
    pub fn negotiated(&self) -> Option<&NegotiatedMedia> {
        self.negotiated.as_ref()
    }

    /// Puts our `o=` on `sdp`: the same version if it equals the last SDP sent, else the
    /// next version. Records it as the last SDP sent.
    pub fn stamp(&mut self, mut sdp: SessionDescription) -> SessionDescription {
        sdp.origin = self.origin();
        if self.last_sent.as_ref().is_some_and(|last| *last != sdp) {
            self.version = self.version.saturating_add(1);
            sdp.origin = self.origin();
        }
        self.last_sent = Some(sdp.clone());
        sdp
    }

    /// Builds and stamps an offer (initial INVITE or re-INVITE); it becomes pending.
    pub fn offer(
        &mut self,
        caps: &LocalCapabilities,
        rtp_port: u16,
        direction: Direction,
    ) -> SessionDescription {
        let params = OfferParams {
            direction,
            ..OfferParams::new(self.origin(), self.address, rtp_port)
        };
        let sdp = self.stamp(build_offer(caps, &params));
        self.pending_offer = Some(sdp.clone());
        sdp
    }

    /// Answers an offer (initial or re-offer), stamps the answer and records the
    /// negotiated media. On error nothing changes.
    pub fn answer(
        &mut self,
        offer: &SessionDescription,
        caps: &LocalCapabilities,
        rtp_ports: Vec<u16>,
        direction: Direction,
    ) -> Result<Answer, NegotiationError> {
        let params = AnswerParams {
            origin: self.origin(),
            session_name: "-".to_owned(),
            local_address: self.address,
            rtp_ports,
            direction,
        };
        let Answer { sdp, media } = answer(offer, caps, &params)?;
        let sdp = self.stamp(sdp);
        self.negotiated = Some(media.clone());
        Ok(Answer { sdp, media })
    }

    /// Processes the answer to our pending offer and records the negotiated media.
    pub fn process_answer(
        &mut self,
        answer: &SessionDescription,
    ) -> Result<NegotiatedMedia, NegotiationError> {
        let offer = self
            .pending_offer
            .as_ref()
            .ok_or(NegotiationError::NoOfferOutstanding)?;
        let media = process_answer(offer, answer)?;
        self.pending_offer = None;
        self.negotiated = Some(media.clone());
        Ok(media)
    }

    /// Re-offers the last SDP sent with `direction` on every active stream, as a new
    /// version; it becomes pending. `None` if nothing was sent yet.
    pub fn reoffer(&mut self, direction: Direction) -> Option<SessionDescription> {
        let mut sdp = self.last_sent.clone()?;
        sdp.attributes
            .retain(|a| !matches!(a, crate::Attribute::Direction(_)));
        for m in sdp.media.iter_mut().filter(|m| m.port != 0) {
            m.set_direction(direction);
        }
        let sdp = self.stamp(sdp);
        self.pending_offer = Some(sdp.clone());
        Some(sdp)
    }

    /// Hold (RFC 6337): re-offer sendonly, or inactive if the peer already holds us.
    pub fn hold(&mut self) -> Option<SessionDescription> {
        let peer_holds = self
            .negotiated
            .as_ref()
            .and_then(NegotiatedMedia::audio)
            .is_some_and(|s| !s.direction.sends());
        self.reoffer(if peer_holds {
            Direction::Inactive
        } else {
            Direction::SendOnly
        })
    }

    /// Resume: re-offer sendrecv.
    pub fn resume(&mut self) -> Option<SessionDescription> {
        self.reoffer(Direction::SendRecv)
    }
}
