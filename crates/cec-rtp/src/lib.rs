//! RTP media building blocks for OpenCEC: RTP and RTCP packets, G.711, RFC 4733 telephone
//! events, in-band DTMF detection and RFC 3550 statistics.
//!
//! The crate is sans-IO: no sockets, no clock, no randomness. Every time is an argument
//! (`now: Instant`, or arrival times already converted to the RTP clock), and every state
//! machine says when it next wants to be called (`poll_timeout`). The hot paths
//! ([`packet::RtpPacket::parse`], [`packet::rewrite_header`], [`packet::RtpHeader::write`]
//! and the G.711 sample functions) do not allocate.
//!
//! # Why our own code
//!
//! The relay path of a contact center touches every packet of every call, so the parser is
//! a zero-copy view and header rewrites happen in place; the existing RTP crates either
//! allocate per packet, cover only part of what we need (RTCP XR VoIP metrics, RFC 4733
//! state machines with loss handling, Goertzel detection) or pull in async runtimes.
//! Keeping it small and ours also lets the fuzz targets and property tests cover all of it.
//!
//! # Modules
//!
//! - [`packet`]: RTP parse/build (CSRCs, RFC 3550 and RFC 8285 header extensions,
//!   padding), in-place rewrite, RFC 5761 RTP/RTCP demultiplexing.
//! - [`rtcp`]: compound packets (SR, RR, SDES, BYE, APP, XR with VoIP Metrics), NTP
//!   timestamp helpers.
//! - [`g711`]: A-law and µ-law encode/decode and direct A-law <-> µ-law conversion.
//! - [`dtmf`]: RFC 4733 event payload, sender and receiver state machines.
//! - [`goertzel`]: in-band DTMF detection.
//! - [`stats`]: receiver statistics (loss, jitter) and report blocks; sender counters.
//!
//! ```
//! use cec_rtp::packet::{RtpHeader, RtpPacket};
//!
//! let header = RtpHeader { payload_type: 8, sequence: 7, timestamp: 160, ssrc: 42,
//!     ..RtpHeader::default() };
//! let mut buf = [0u8; 172];
//! let len = header.write(&[0xD5; 160], &mut buf).unwrap();
//! let packet = RtpPacket::parse(&buf[..len]).unwrap();
//! assert_eq!((packet.sequence(), packet.payload().len()), (7, 160));
//! ```

pub mod dtmf;
pub mod error;
pub mod g711;
pub mod goertzel;
pub mod packet;
pub mod rtcp;
pub mod stats;

pub use error::{DtmfError, RtcpError, RtpError};
