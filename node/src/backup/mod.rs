//! Backup and restore of a whole node: `kvitt backup` takes a consistent copy of a node's
//! ledger, keys and configuration, running or stopped, into one bundle; `kvitt restore`
//! brings it back into a new data directory, as a node that signs nothing until
//! `kvitt recover` has fetched from its peers what it acknowledged after the backup.
//!
//! A bundle is a plain tar (like the archive's, crate::archive), written atomically and
//! private (`0600`):
//!
//! | file | holds |
//! |---|---|
//! | `README.txt` | what the bundle is and how to restore it |
//! | `MANIFEST.sha256` | `<sha256>  <file>` for every other file (`sha256sum -c` format) |
//! | `backup.json` | format, node, when, and the dump's entry count and SHA-256 |
//! | `files/<name>` | the node's files ([`NODE_FILES`]): its secret key, config, directory, … |
//! | `ledger.dump` | every ledger entry, in the format of crate::store::dump |
//!
//! The ledger is dumped while no write can be applied (GroupCommit::read_still), so it is
//! one state of the ledger; writes wait meanwhile (docs/operations.md gives how long).

pub mod bundle;
pub mod live;
pub mod restore;

#[cfg(test)]
mod tests;

pub use bundle::{dump_stopped, write_bundle, BackupSummary};
pub use live::LiveDump;
pub use restore::{restore_bundle, RestoreSummary};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::store::dump::DumpError;

/// The format name in `backup.json`; a restore refuses any other.
pub const FORMAT: &str = "kvitt-backup/1";
/// The plain-text instructions.
pub const README: &str = "README.txt";
/// The hashes of every other file.
pub const MANIFEST: &str = "MANIFEST.sha256";
/// What the bundle is.
pub const INFO: &str = "backup.json";
/// The ledger's dump.
pub const DUMP: &str = "ledger.dump";
/// The folder of the node's files in a bundle.
pub const FILES: &str = "files/";
/// The README inside every bundle.
pub const README_TEXT: &str = include_str!("README.txt");

/// The files of a data directory a bundle carries, and whether a node always has them.
/// Not carried: the ledger's own files (the dump replaces them), its lock and floor
/// (rebuilt on restore), logs, and an archive's or SIE's outputs.
pub const NODE_FILES: [(&str, bool); 9] = [
    (crate::config::NODE_KEY_FILE, true),
    (crate::config::CONFIG_FILE, true),
    (crate::config::DIRECTORY_FILE, true),
    (crate::access::ACCESS_FILE, false),
    (crate::config::OPERATOR_KEY_FILE, false),
    (crate::setup::DRAFT_FILE, false),
    (crate::policy::POLICY_FILE, false),
    (crate::config::RATES_FILE, false),
    (crate::config::ROUTING_KEY_FILE, false),
];

/// The largest node file a bundle may carry (access.json's own limit, 4 MiB; a directory
/// is far smaller).
pub const MAX_NODE_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// `backup.json`: what the bundle is a backup of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupInfo {
    /// [`FORMAT`].
    pub format: String,
    /// The node's organisation number.
    pub org: String,
    /// The node's name.
    pub name: String,
    /// The node's public key (hex).
    pub node_key: String,
    /// When the ledger was dumped, RFC 3339 UTC.
    pub taken_at: String,
    /// Whether the node was running (dumped through its API) or stopped.
    pub online: bool,
    /// Entries in `ledger.dump`.
    pub ledger_entries: u64,
    /// The SHA-256 `ledger.dump` states at its end, hex.
    pub ledger_sha256: String,
}

/// Why a backup could not be taken or a bundle not restored. Every variant about a
/// bundle's content names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// `--out` names a file that exists: a bundle is never overwritten.
    #[error("{0} exists already; a backup is never overwritten")]
    OutExists(PathBuf),
    /// The restore's target holds files already.
    #[error("{0} is not empty: restore into a new or empty folder")]
    NotEmpty(PathBuf),
    /// A node runs on the data directory: its ledger is dumped through its API instead.
    #[error("{0} is locked: a node runs on this data directory")]
    Running(PathBuf),
    /// The node's data directory, configuration or ledger could not be read.
    #[error("reading the node: {0}")]
    Node(String),
    /// The ledger's dump is damaged, truncated or of another version.
    #[error("{file}: {source}")]
    Dump {
        /// Where the dump was read from.
        file: String,
        /// What is wrong with it.
        source: DumpError,
    },
    /// The bundle is not a readable tar, or holds an entry that is not a plain file.
    #[error("{file}: {why}")]
    Unreadable {
        /// The bundle or entry.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// A node file over [`MAX_NODE_FILE_BYTES`].
    #[error("{file}: {bytes} bytes, over the limit of {MAX_NODE_FILE_BYTES} for a node's file")]
    TooLarge {
        /// The entry.
        file: String,
        /// Its size.
        bytes: u64,
    },
    /// The bundle holds a file no backup holds (or one twice).
    #[error("{file}: {why}")]
    Unexpected {
        /// The entry.
        file: String,
        /// Why it does not belong.
        why: &'static str,
    },
    /// `MANIFEST.sha256` is missing or malformed.
    #[error("MANIFEST.sha256: {0}")]
    Manifest(String),
    /// The manifest lists a file the bundle does not hold, or a file every backup holds is
    /// missing.
    #[error("{file}: missing from the bundle")]
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
    /// `backup.json` is missing, malformed, of another format, or does not match the dump.
    #[error("backup.json: {0}")]
    Info(String),
}

impl BackupError {
    /// An I/O error on `path`, for `map_err`.
    fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BackupError {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    }
}
