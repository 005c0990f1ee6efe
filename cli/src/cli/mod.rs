//! The client commands, `kvitt receipt`, `record`, `claim`, `ssc`, `exceptions`, `sync` and `recover`: each is a request or
//! two to a running node's HTTP API ([`kvitt_node::api`]), printed as text or, with
//! `--json`, as the node's JSON. Exit status: 0 done, 1 the node refused (a 4xx problem,
//! whose code, path and message go to standard error), 2 usage, input or connection error.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod archive;
pub mod backup;
pub mod cards;
pub mod claim;
pub(crate) mod client;
pub mod conformance;
mod input;
mod output;
mod pages;
pub mod people;
pub mod receipt;
pub mod record;
pub mod recover;
pub mod ssc;
pub mod sync;

use std::process::ExitCode;

use kvitt_node::core::CallerRole;

use client::{Client, ClientOptions, Failure};
use output::Output;

/// Connects as `options` say (for `--as`, with the person's token of one of `roles`),
/// runs `command` and turns its outcome into the exit status. An `Err` is a usage, input
/// or connection error, which `main` prints and exits 2 for.
fn run(
    options: &ClientOptions,
    roles: &[CallerRole],
    command: impl FnOnce(&Client, &Output) -> Result<ExitCode, Failure>,
) -> anyhow::Result<ExitCode> {
    let client = Client::connect(options, roles)?;
    let output = Output::new(options.json);
    match command(&client, &output) {
        Ok(code) => Ok(code),
        Err(Failure::Other(error)) => Err(error),
        Err(Failure::Problem(problem)) => {
            if output.is_json() {
                output::print(&problem.body)?;
            }
            eprintln!("kvitt: {problem}");
            Ok(ExitCode::from(if problem.is_refusal() { 1 } else { 2 }))
        }
    }
}

/// Everyone who may read: the roles a read-only command prefers, in order.
const READERS: &[CallerRole] =
    &[CallerRole::Employee, CallerRole::Approver, CallerRole::SscStaff, CallerRole::Operator];
