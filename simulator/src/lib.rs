//! The kvitt network simulator, deterministic mode: many nodes in one thread on virtual
//! time (a second one decodes the requests in flight ahead, crate::predecode), each the production [`kvitt_node::core::NodeCore`] over a
//! [`kvitt_node::store::MemoryStore`], its effects carried out by the node's own
//! interpreter ([`kvitt_node::interpret`]) over a simulated network with faults,
//! reconciling when its core decides with the node's own session code over its real
//! channel index, under a realistic workload; the network's guarantees checked at the
//! end. One seed, one run.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

pub mod cast;
pub mod check;
pub mod config;
pub mod faults;
pub mod net;
pub mod node;
pub mod predecode;
pub mod real;
pub mod receipts;
pub mod report;
pub mod rng;
pub mod routes;
pub mod run;
pub mod session;
pub mod watch;
pub mod workload;
pub mod world;
