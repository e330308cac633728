//! SDP (RFC 8866 / RFC 4566) parsing and printing, and RFC 3264 offer/answer, for the
//! OpenCEC B2BUA.
//!
//! The crate is sans-IO: no sockets, no clock, no randomness. Session ids and versions are
//! passed in by the caller.
//!
//! # Model
//!
//! [`SessionDescription::parse`] turns a body into typed `v= o= s= c= b= t= m=` lines and
//! typed attributes (`rtpmap`, `fmtp`, `ptime`, `maxptime`, direction, `rtcp`). Every other
//! line (`i= u= e= p= r= z= k=`, unknown attributes, unknown type letters) is kept
//! verbatim and in order, and [`std::fmt::Display`] prints it back at its RFC 8866
//! position with CRLF line ends: printing a canonical body reproduces it byte for byte,
//! and printing anything else gives a body that parses to an equal value.
//!
//! # Tolerance policy
//!
//! Be liberal where carriers are sloppy and nothing is lost: bare LF line ends, trailing
//! whitespace, blank lines, lower-case `in ip4`, IPv6 `c=` addresses with or without
//! brackets, several `c=` lines, missing `s=` or `t=`, session ids and versions of any
//! length (kept as decimal strings), `b=`/`t=`/attributes whose value does not parse (kept
//! verbatim). [`SessionDescription::parse_with`] reports each of these as a [`ParseNote`].
//!
//! Be strict where a mistake would send media to the wrong place: a missing `v=`, a
//! missing or malformed `o=` or `c=`, an `m=` line with a missing, non-numeric or
//! out-of-range port, RTP payload types outside 0-127. The [`ParseError`] names the line
//! and the problem. [`ParseLimits`] bounds size and counts (64 KiB, 64 media sections,
//! 1024 attributes by default), so hostile input cannot exhaust memory; no input panics.
//!
//! # Offer/answer
//!
//! [`answer`] answers an offer with our [`LocalCapabilities`] (PCMA, PCMU,
//! telephone-event, ptime 20 by default, configurable per trunk); [`build_offer`] and
//! [`process_answer`] do the other direction. [`LocalSdpSession`] holds one dialog's
//! `o=` id and version and the negotiated state, and implements hold and resume.
//!
//! ```
//! use cec_sdp::{Direction, LocalCapabilities, LocalSdpSession, SessionDescription};
//!
//! let offer = SessionDescription::parse(
//!     "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n\
//!      m=audio 5004 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
//! )?;
//! let local = "192.0.2.10".parse()?;
//! let mut leg = LocalSdpSession::new(42, 1, local); // id/version chosen by the caller
//! let caps = LocalCapabilities::default(); // PCMA, PCMU, telephone-event, ptime 20
//! let answer = leg.answer(&offer, &caps, vec![40000], Direction::SendRecv)?;
//! let audio = answer.media.audio().expect("an accepted stream");
//! assert_eq!((audio.codec.name.as_str(), audio.codec.payload_type), ("PCMA", 8));
//! assert_eq!(audio.telephone_event, Some(101));
//! let body: String = answer.sdp.to_string(); // CRLF line ends, ready for the SIP body
//! assert!(body.contains("m=audio 40000 RTP/AVP 8 101\r\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why not an existing crate
//!
//! The SDP crates we evaluated either drop unknown lines (a B2BUA must not silently lose
//! what a carrier sent), are built around WebRTC (ICE/DTLS/bundle assumptions, strict
//! validation), or reject common carrier quirks such as 23-digit session versions or
//! lower-case network types.

mod address;
mod attribute;
mod codec;
mod error;
mod fields;
mod model;
mod negotiate;
mod negotiated;
mod offer;
mod parse;
mod print;
mod session;

#[cfg(test)]
mod tests;

pub use attribute::{Attribute, Direction, Fmtp, Rtcp, RtpMap};
pub use codec::{Codec, LocalCapabilities, TelephoneEvent};
pub use error::{Limit, NegotiationError, NotAcceptableReason, ParseError};
pub use model::{
    AddressType, Bandwidth, Connection, MediaDescription, Origin, Protocol, RawLine,
    SessionDescription, Timing,
};
pub use negotiate::{AnswerParams, answer};
pub use negotiated::{Answer, NegotiatedMedia, NegotiatedStream, RejectReason, StreamOutcome};
pub use offer::{OfferParams, build_offer, process_answer};
pub use parse::{ParseLimits, ParseNote, Parsed};
pub use session::LocalSdpSession;
