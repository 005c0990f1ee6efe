//! `kvitt conformance`: runs the conformance checks of [`kvitt_node::conformance`] against
//! a node and prints the table. Exit status: 0 every check passed, 1 some failed, 2 usage
//! or input error (the key file).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use kvitt_node::config::read_key;
use kvitt_node::conformance::{run, Options};
use kvitt_protocol::PublicKey;

/// What `kvitt conformance` checks, for `--help`.
pub const LONG_ABOUT: &str = "\
Play the other side against a running node, by the spec only, and print a pass/fail table \
naming the spec section of each check (spec/README.md): the TLS profile (a wrong ALPN and \
a missing certificate are refused with their alerts), pinning, the hello, the directory \
request, requests that are not canonical or hold unknown fields, a delivery at \
MAX_RECORDS_PER_DELIVERY and one over it, a new receipt stored and then a duplicate, \
reconciliation sessions on prepared sets, every invalid record vector of --vectors \
refused with its code, and the framing limits at their edges.

The key must be a member of the node's directory. The delivery and reconciliation checks \
need a merchant's key and an agency node (for kvitt itself: the merchant's node.key, with \
the merchant node stopped, against its agency); the receipt delivered is signed with the \
key and lands in the agency's ledger. Exit status 0 when every check passed, 1 otherwise.";

/// `kvitt conformance`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// The node's QUIC address, host:port.
    #[arg(long, value_name = "ADDR")]
    peer: SocketAddr,
    /// The node's key (hex), pinned in TLS as its directory entry says.
    #[arg(long, value_name = "HEX")]
    peer_key: PublicKey,
    /// This side's node key file (a 32-byte ed25519 seed in hex, as `kvitt init` writes
    /// node.key);
    /// its public key must be in the node's directory.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// spec/vectors/: deliver each invalid record vector and expect its code.
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
}

/// Runs the checks and prints the table.
pub fn main(args: &ConformanceArgs) -> anyhow::Result<ExitCode> {
    let key = read_key(&args.key).with_context(|| format!("reading {}", args.key.display()))?;
    let options = Options { peer: args.peer, peer_key: args.peer_key, key, vectors: args.vectors.clone() };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    let report = runtime.block_on(run(&options));
    print!("{}", report.table());
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
