//! SIP message parsing and printing (RFC 3261 §7, §20, §25), sans-IO: no
//! sockets, no runtime, no clock.
//!
//! # Why our own parser
//!
//! No Rust SIP crate we evaluated is production grade: some silently drop
//! every header after a non-UTF-8 byte, drop UDP bodies that have no
//! Content-Length, cannot parse extension methods, or lose the Via branch
//! on IPv6 sent-by. This crate passes the RFC 4475 and RFC 5118 torture
//! tests and never panics on input.
//!
//! # Model
//!
//! A [`Message`] owns its input as [`bytes::Bytes`]. The start line is
//! parsed eagerly; headers are split into raw [`Header`] lines (zero-copy)
//! and parsed on demand by typed accessors ([`Message::via`],
//! [`Message::top_via`], [`Message::from`], [`Message::to`],
//! [`Message::call_id`], [`Message::cseq`], [`Message::contacts`], ...).
//! Unmodified headers and start lines print back byte-exact; unknown
//! headers are always kept as received. Values are bytes: display names and
//! reason phrases may be UTF-8 or Latin-1, and no header is ever dropped for
//! its bytes.
//!
//! Framing: [`parse_datagram`] for UDP, [`StreamDecoder`] for TCP/TLS.
//! [`Message::validate`] adds the request checks a UAS or proxy needs and hands back the
//! [`CoreHeaders`] it parsed. [`SipUri::equivalent`] compares URIs by RFC 3261 §19.1.4.
//!
//! # Tolerance policy
//!
//! Accepted (liberal): bare LF line endings; Latin-1 bytes in display names
//! and reason phrases; LWS around `:`, `/`, `;`, `=` and between tokens;
//! header folding; no LWS between display name and `<`; an empty reason
//! phrase; unknown Via transports; `received=[ipv6]` as well as a bare
//! IPv6 `received`; the RFC 5118 three-colon IPv6 form
//! `[2001:db8:::192.0.2.1]`; RFC 2543 messages without branch, From tag,
//! Content-Length (datagrams) or Max-Forwards; CRLFs before the start line;
//! bytes after Content-Length in a datagram (ignored).
//!
//! Rejected: everything RFC 4475 marks invalid — extra, leading or trailing
//! SP in the request line; `<>`, LWS or `?headers` in the Request-URI;
//! unbalanced quotes; unquoted display names with special characters; LWS
//! inside `<>`; empty parameters; CSeq above 2^32-1; CSeq method different
//! from the request method; negative, non-numeric, conflicting or too large
//! Content-Length; missing Content-Length on streams; repeated single-value
//! headers; missing Via/From/To/Call-ID/CSeq; non-GMT Date; status codes
//! outside 100–699; unbracketed IPv6 hosts.
//!
//! # Error to response mapping
//!
//! [`ParseError::response_status`] is the single place that decides the
//! answer: 505 for a SIP version other than 2.0, 416 for a Request-URI
//! scheme other than sip/sips/tel, 513 for a message, header count or
//! header line over [`Limits`], 413 for a body over the limit, 400 with a
//! reason phrase naming the problem otherwise (the error's `Display` text
//! suits a Warning header). It returns `None` for responses (discarded,
//! never answered) and when no usable Via exists.

/// Re-export, so users name the same `Bytes` type without a direct dependency.
pub use bytes;

mod access;
mod error;
mod framing;
pub mod header;
mod host;
mod message;
mod method;
mod name_addr;
mod parse;
mod print;
mod text;
mod uri;
mod uri_compare;
mod validate;

pub use error::{Origin, ParseError, ParseErrorKind};
pub use framing::{Limits, StreamDecoder, StreamItem, parse_datagram, parse_datagram_with};
pub use header::{
    AuthParam, AuthValue, CSeq, Header, HeaderName, MediaType, MinSe, RAck, Reason, Refresher,
    RetryAfter, SessionExpires, Transport, Via, Warning,
};
pub use host::Host;
pub use message::{Message, RequestLine, StartLine, StatusLine};
pub use method::Method;
pub use name_addr::{Contact, NameAddr};
pub use print::Print;
pub use text::{Param, find_param};
pub use uri::{AbsoluteUri, SipUri, TelUri, Uri};
pub use validate::CoreHeaders;
