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
pub mod interpret;
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

/// The global allocator of every binary that runs a node (`kvitt`, the ingest bench),
/// which each declares as `#[global_allocator]`: mimalloc. sled allocates and frees its
/// pages, deltas and values on every write, and under glibc's malloc its slow paths
/// (`_int_malloc`, `unlink_chunk`, `malloc_consolidate`, fresh pages zeroed by the kernel)
/// took a fifth of an agency's CPU while it ingested deliveries (perf, `cargo bench -p
/// kvitt-node --bench ingest`).
pub use mimalloc::MiMalloc as NodeAllocator;
