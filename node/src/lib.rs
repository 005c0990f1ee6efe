//! The kvitt node, and the logic behind the `kvitt` command.
//!
//! [`verify`] is offline verification of one signed record, what `kvitt verify` prints,
//! kept here so it can be tested without running the binary.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

pub mod access;
pub mod api;
pub mod archive;
pub mod backup;
pub mod config;
pub mod conformance;
pub mod core;
pub mod daemon;
pub mod fatal;
pub mod handle;
pub mod ledger;
pub mod local_link;
pub mod loopback;
pub mod metrics;
pub mod offline;
pub mod permissions;
pub mod policy;
pub mod runtime;
pub mod setup;
pub mod status;
pub mod store;
pub mod sync;
pub mod transport;
pub mod verify;
pub mod web;
