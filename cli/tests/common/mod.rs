//! Helpers for the `kvitt` command's tests: the shared fixtures (a fixed key per party and
//! one signed record of each type, from `kvitt_test_support::party`), the binary as a
//! process, the node's three-node API harness (shared with node/tests, not copied), and
//! the network the client-command tests run against (`client_network`).
#![allow(dead_code)]

pub use kvitt_test_support::party::*;

#[path = "../../../node/tests/common/api_nodes.rs"]
pub mod api_nodes;
pub mod client_network;
pub mod process;
