//! What kvitt's test suites share, so that no suite keeps its own copy: fixed signing keys
//! and sample records ([`named`], [`party`], [`keys`]), byte surgery on encoded records
//! ([`bytes`]), spec/kvitt.cddl as the tests read it ([`schema`]) and the harness that keeps
//! generated files committed under spec/ equal to their generator ([`golden`], `KVITT_BLESS`).
//!
//! Two key derivations live side by side on purpose: committed vectors and tests pin ids and
//! bytes made with each, so neither may change. [`named`] derives a key from a name
//! (SHA-256), as the protocol's vectors do; [`party`] gives each party a fixed seed, as the
//! node's tests do.
//!
//! A dev-dependency only (`publish = false`): it panics freely, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bytes;
pub mod golden;
pub mod keys;
pub mod named;
pub mod party;
pub mod schema;

/// The sample organisations every fixture names.
pub use kvitt_protocol::sample::{AGENCY_ORG, MERCHANT_ORG, SSC_ORG};
