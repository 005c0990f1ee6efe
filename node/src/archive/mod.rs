//! The seven-year archive (Bokföringslagen): `kvitt archive export` writes every record of
//! a period from a stopped node's ledger into one plain tar bundle that verifies itself,
//! and `kvitt archive verify` checks such a bundle offline.
//!
//! A bundle stands alone: the records as signed (their exact CBOR envelope bytes), the
//! directory versions that vouch for their signers, each claim's chain of events, the
//! protocol's specification, a `README.txt` saying how to verify it by hand, and a
//! `MANIFEST.sha256` in `sha256sum` format over every other file. Nothing in it needs
//! kvitt to read: CBOR (RFC 8949), ed25519 (RFC 8032), SHA-256 (FIPS 180-4), POSIX tar.
//!
//! Layout (ids in 64 lower-case hex digits):
//!
//! | file | holds |
//! |---|---|
//! | `README.txt` | how to verify the bundle without kvitt |
//! | `MANIFEST.sha256` | `<sha256>  <file>` for every other file, sorted by file |
//! | `bundle.json` | format, period, exporting node, network operator key |
//! | `spec/protocol.md`, `spec/kvitt.cddl` | the protocol the records obey |
//! | `directories/<id>.cbor` | a signed directory version |
//! | `records/<type>/<id>.cbor` | a signed record (`receipt`, `claim`, `claim_event`, `evidence`) |
//! | `chains/<claim id>.txt` | the claim's event ids, one a line, first event first |

pub mod export;
mod layout;
pub mod manifest;
pub mod verify;

#[cfg(test)]
mod tests;

pub use export::{export_data_dir, ExportSummary, Period};
pub use verify::{verify_bundle, VerifyReport};

use std::path::PathBuf;

use kvitt_protocol::{PublicKey, RecordId};

/// Why a bundle could not be written, or why it does not verify. Every variant that
/// concerns a bundle's content names the file (and the record) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// `--out` names a file that exists: a bundle is never overwritten.
    #[error("{0} exists already; an archive bundle is never overwritten")]
    OutExists(PathBuf),
    /// `--from` is after `--to`.
    #[error("the period is empty: --from {from} is after --to {to}")]
    EmptyPeriod {
        /// First day.
        from: time::Date,
        /// Last day.
        to: time::Date,
    },
    /// The node's data directory or ledger could not be opened or read.
    #[error("reading the node: {0}")]
    Node(String),
    /// The bundle is not a readable tar, or holds an entry that is not a plain file.
    #[error("{file}: {why}")]
    Unreadable {
        /// The bundle or entry.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// An entry of the bundle exceeds [`layout::MAX_FILE_BYTES`], or the bundle
    /// [`layout::MAX_FILES`].
    #[error("{file}: {why}")]
    TooLarge {
        /// The entry (or the bundle).
        file: String,
        /// Which limit.
        why: String,
    },
    /// A line of `MANIFEST.sha256` is not `<64 hex digits>  <file>`.
    #[error("MANIFEST.sha256 line {line}: {why}")]
    Manifest {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// The manifest lists a file the bundle does not hold.
    #[error("{file}: listed in MANIFEST.sha256 but missing from the bundle")]
    Missing {
        /// The file.
        file: String,
    },
    /// The bundle holds a file the manifest does not list.
    #[error("{file}: in the bundle but not listed in MANIFEST.sha256")]
    Unlisted {
        /// The file.
        file: String,
    },
    /// A file's SHA-256 is not the manifest's.
    #[error("{file}: SHA-256 is {actual}, MANIFEST.sha256 says {expected} (the file was changed)")]
    HashMismatch {
        /// The file.
        file: String,
        /// The manifest's hash.
        expected: String,
        /// The file's.
        actual: String,
    },
    /// `bundle.json` is missing, malformed or of another format.
    #[error("bundle.json: {0}")]
    Info(String),
    /// A record or directory fails the protocol's verification (encoding, signature, rules).
    #[error("{file}: record does not verify: {error}")]
    Invalid {
        /// The file.
        file: String,
        /// The protocol's verdict.
        error: kvitt_protocol::Error,
    },
    /// A file is named for another content id than the SHA-256 of its bytes, or sits
    /// under another type than its envelope's.
    #[error("{file}: {why}")]
    Misnamed {
        /// The file.
        file: String,
        /// What does not match.
        why: String,
    },
    /// A directory version not signed by the network operator named in `bundle.json`.
    #[error("{file}: directory signed by {signer}, not by the operator {operator} named in bundle.json")]
    NotOperator {
        /// The directory's file.
        file: String,
        /// Its signer.
        signer: PublicKey,
        /// The operator.
        operator: PublicKey,
    },
    /// A record whose signer no bundled directory version lists as a member.
    #[error("{file}: record {record} is signed by {signer}, which no directory in the bundle lists")]
    SignerNotVouched {
        /// The record's file.
        file: String,
        /// The record.
        record: RecordId,
        /// Its signer.
        signer: PublicKey,
    },
    /// A claim's chain is missing, incomplete or broken.
    #[error("{file}: chain of claim {claim}: {why}")]
    Chain {
        /// The chain's file (or the claim's, if the chain file is missing).
        file: String,
        /// The claim.
        claim: RecordId,
        /// What is wrong.
        why: String,
    },
    /// A record refers to a record the bundle does not hold.
    #[error("{file}: record {record} refers to {missing} ({what}), which the bundle does not hold")]
    Dangling {
        /// The referring record's file.
        file: String,
        /// The referring record.
        record: RecordId,
        /// The record it names.
        missing: RecordId,
        /// What the reference is.
        what: &'static str,
    },
}
