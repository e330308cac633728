//! SIP Digest authentication, server and client (RFC 3261 §22, RFC 7616, RFC 8760), and
//! the registrar binding table (RFC 3261 §10.3), sans-IO: no sockets, no clock (`now` is
//! always an argument), no randomness of its own (the client takes a `FnMut() -> u64`).
//!
//! # Why our own
//!
//! The Rust digest crates we looked at are HTTP-oriented client helpers: none verifies
//! credentials against stored HA1 values, mints stateless self-validating nonces, tracks
//! nonce counts with bounded memory, compares the `uri` parameter by SIP URI equivalence,
//! or offers SHA-256 and MD5 challenges side by side as RFC 8760 asks; and no crate has a
//! registrar binding table that is pure and testable on a virtual clock. The hashing itself
//! comes from the RustCrypto `md-5` and `sha2` crates; HMAC is twenty lines on top of SHA-256.
//!
//! # Server
//!
//! [`DigestServer::challenge_response`] builds the 401/407; [`DigestServer::verify`] returns
//! an [`AuthOutcome`]: `NoCredentials` or `Stale` mean "challenge (again)", `Rejected` means
//! 403 ([`DigestServer::rejection_response`]). Nonces carry their creation time and an
//! HMAC tag over (time, sequence, realm, binding) keyed with a secret given at construction.
//!
//! # Client
//!
//! [`DigestClient`] answers a 401/407 for the request that was challenged, picks the
//! strongest algorithm offered, keeps the nonce for pre-authenticating later requests, and
//! reports [`ClientError::Rejected`] instead of looping when fresh credentials are refused.
//!
//! # Registrar
//!
//! [`Registrar::register`] applies a REGISTER to the bindings of one address-of-record and
//! returns the complete response; [`Registrar::lookup`], [`Registrar::expire`] and
//! [`Registrar::next_expiry`] serve the proxy and the driver's timer.

mod client;
mod hash;
mod nonce;
mod outcome;
mod registrar;
mod replay;
mod server;
mod verify;
mod wire;

pub use client::{Credentials, DigestClient, Secret};
pub use hash::{Algorithm, Ha1, Qop, ResponseInput, compute_ha1, compute_response};
pub use outcome::{AuthError, AuthOutcome, ClientError};
pub use registrar::{Binding, BindingSource, Registrar, RegistrarConfig};
pub use server::{CredentialStore, DigestConfig, DigestServer};
