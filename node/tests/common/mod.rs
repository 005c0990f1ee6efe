//! Helpers for the node's tests: the shared fixtures (a fixed key per party and one signed
//! record of each type, from `kvitt_test_support::party`) and the node's own harnesses.
#![allow(dead_code)]

pub use kvitt_test_support::party::*;

pub mod api_nodes;
pub mod network;
pub mod web;
