//! `kvitt conformance`: plays the other side against any node, from spec/ only, and
//! prints a pass/fail table naming the spec section of each check (spec/README.md).
//!
//! The client is a member of the node's network (its key is in the directory): the checks
//! need a connection the node accepts. It speaks as its own member, a merchant delivering
//! to an agency for the delivery and reconciliation checks; a node of another role gets the
//! transport, message and directory checks, and the rest are reported as not run.
//!
//! - [`link`]: a raw QUIC client that can break the transport on purpose.
//! - [`transport`]: TLS profile, pinning, hello, framing limits.
//! - [`messages`]: directory, delivery, duplicates, refusals, request limits, the record
//!   vectors of spec/vectors/.
//! - [`sessions`]: reconciliation on prepared sets.

pub mod link;
mod messages;
mod sessions;
mod transport;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use ed25519_dalek::SigningKey;
use kvitt_protocol::PublicKey;

/// What the conformance run is pointed at.
pub struct Options {
    /// The node under test's QUIC address.
    pub peer: SocketAddr,
    /// Its node key, pinned as node.md §Verifying a peer says.
    pub peer_key: PublicKey,
    /// This side's node key: a member of the node's directory.
    pub key: SigningKey,
    /// spec/vectors/, whose invalid record vectors are delivered one by one; none if absent.
    pub vectors: Option<PathBuf>,
}

/// One check: the spec section it tests, what it does, and how it went.
pub struct Check {
    /// The spec file and section, e.g. `node.md §Framing`.
    pub section: &'static str,
    /// What was checked.
    pub name: String,
    /// `Ok(detail)` passed, `Err(why)` failed.
    pub result: Result<String, String>,
}

/// Every check of a run, in the order they ran.
#[derive(Default)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    fn record(&mut self, section: &'static str, name: impl Into<String>, result: Result<String, String>) {
        self.checks.push(Check { section, name: name.into(), result });
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.result.is_ok())
    }

    /// The table: one line a check, then a count per section.
    pub fn table(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let (verdict, detail) = match &check.result {
                Ok(detail) => ("pass", detail),
                Err(why) => ("FAIL", why),
            };
            let _ = writeln!(out, "{verdict}  {:<34} {}: {detail}", check.section, check.name);
        }
        let mut sections: Vec<&'static str> = Vec::new();
        for check in &self.checks {
            if !sections.contains(&check.section) {
                sections.push(check.section);
            }
        }
        let _ = writeln!(out);
        for section in sections {
            let of_section = self.checks.iter().filter(|check| check.section == section);
            let (passed, all) = of_section
                .fold((0, 0), |(passed, all), check| (passed + usize::from(check.result.is_ok()), all + 1));
            let _ = writeln!(out, "{:<34} {passed}/{all} passed", section);
        }
        let failed = self.checks.iter().filter(|check| check.result.is_err()).count();
        let _ = writeln!(out, "{} checks, {failed} failed", self.checks.len());
        out
    }
}

/// Runs every check against the node of `options`, in spec order; checks that need an
/// earlier one (a hello, the directory, a stored receipt) are reported as failed when it
/// failed.
pub async fn run(options: &Options) -> Report {
    let mut report = Report::default();
    let Some(link) = transport::check(options, &mut report).await else {
        return report;
    };
    let Some(network) = messages::directory(options, &link, &mut report).await else {
        return report;
    };
    messages::requests(&link, &network, &mut report).await;
    if let Some(receipt) = messages::delivery(options, &link, &network, &mut report).await {
        sessions::check(&link, &network, &receipt, &mut report).await;
    }
    if let Some(vectors) = &options.vectors {
        messages::request_vectors(&link, &vectors.join("messages"), &mut report).await;
        messages::record_vectors(&link, &network, vectors, &mut report).await;
    }
    transport::framing(&link, &network, &mut report).await;
    report
}
