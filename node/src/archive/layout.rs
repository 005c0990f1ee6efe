//! Where each part of a bundle lives, what `bundle.json` says, and the limits a reader
//! applies to a bundle it is given.

use kvitt_protocol::{PublicKey, RecordId, RecordType};
use serde::{Deserialize, Serialize};

/// The format name in `bundle.json`; a reader refuses any other.
pub const FORMAT: &str = "kvitt-archive/1";
/// The plain-text instructions.
pub const README: &str = "README.txt";
/// The hashes of every other file.
pub const MANIFEST: &str = "MANIFEST.sha256";
/// What the bundle is.
pub const INFO: &str = "bundle.json";
/// The folder of the signed directory versions.
pub const DIRECTORIES: &str = "directories/";
/// The folder of the signed records, one sub-folder per type.
pub const RECORDS: &str = "records/";
/// The folder of the claims' chains.
pub const CHAINS: &str = "chains/";

/// The largest file a reader accepts in a bundle: the specification is ~100 KB, a record
/// at most `MAX_EVIDENCE_BYTES`, a chain a line per event.
pub const MAX_FILE_BYTES: u64 = 4 << 20;
/// The most files a reader accepts in one bundle (a year of a busy SSC is ~10⁶ records;
/// export a period per year).
pub const MAX_FILES: usize = 5_000_000;

/// The README inside every bundle.
pub const README_TEXT: &str = include_str!("README.txt");
/// The specification copied into every bundle, so that it stands alone.
pub const SPEC_FILES: [(&str, &str); 2] = [
    ("spec/protocol.md", include_str!("../../../spec/protocol.md")),
    ("spec/kvitt.cddl", include_str!("../../../spec/kvitt.cddl")),
];

/// `bundle.json`: what the bundle covers and whom it trusts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleInfo {
    /// [`FORMAT`].
    pub format: String,
    /// The network's name.
    pub network: String,
    /// The organisation whose node exported it.
    pub exported_by: String,
    /// When, RFC 3339 UTC.
    pub exported_at: String,
    /// First day of the period (UTC), `YYYY-MM-DD`.
    pub from: String,
    /// Last day of the period (UTC), inclusive.
    pub to: String,
    /// The network operator's key: every directory in the bundle is signed by it. Compare
    /// it with the key the operator published.
    pub operator_key: PublicKey,
}

/// The file of a directory version.
pub fn directory_file(id: &RecordId) -> String {
    format!("{DIRECTORIES}{id}.cbor")
}

/// The file of a record.
pub fn record_file(kind: RecordType, id: &RecordId) -> String {
    format!("{RECORDS}{kind}/{id}.cbor")
}

/// The file of a claim's chain.
pub fn chain_file(claim: &RecordId) -> String {
    format!("{CHAINS}{claim}.txt")
}
