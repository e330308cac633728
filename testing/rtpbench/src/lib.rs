//! The RTP relay benchmark of OpenCEC (`interop/bench/rtp`): `rtp-load` opens N bridged
//! G.711 calls through an engine's ng control port, sends 50 packets/s per direction per
//! leg and measures loss, added latency and jitter at the far side plus CPU and memory;
//! `media-host` runs `cec-runtime`'s media engine behind the same ng protocol, so one load
//! tool drives both our engine and rtpengine the same way.
//!
//! # Why our own tools
//!
//! The generators we know either speak SIP (SIPp with pcap play, one call per thread of
//! work) or cannot embed a send timestamp and read kernel receive timestamps at tens of
//! thousands of packets per second on two cores. A few hundred lines with `sendmmsg`,
//! `recvmmsg` and `SO_TIMESTAMPNS` keep the generator cheap enough not to hide the engine's
//! limit, and the ng subset is small.

pub mod bencode;
pub mod hist;
pub mod load;
pub mod ng;
pub mod nullrelay;
pub mod procfs;
pub mod sdp;
