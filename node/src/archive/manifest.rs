//! `MANIFEST.sha256`: one line `<sha256 hex>  <file>` per file of the bundle but itself,
//! sorted by file, the format of `sha256sum`, so that `sha256sum -c MANIFEST.sha256` checks
//! an unpacked bundle on any system.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::layout::MANIFEST;
use super::ArchiveError;

/// The SHA-256 of `bytes` in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The manifest of `files` (which must not hold the manifest itself).
pub fn render(files: &BTreeMap<String, Vec<u8>>) -> String {
    files.iter().map(|(file, bytes)| format!("{}  {file}\n", sha256_hex(bytes))).collect()
}

/// Reads a manifest into file → hash.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, ArchiveError> {
    let mut entries = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let error = |why: String| ArchiveError::Manifest { line: index.saturating_add(1), why };
        let (hash, file) = line.split_once("  ").ok_or_else(|| error("not `<sha256>  <file>`".into()))?;
        if hash.len() != 64
            || !hash.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        {
            return Err(error(format!("{hash:?} is not 64 lower-case hex digits")));
        }
        if file.is_empty() || file == MANIFEST {
            return Err(error(format!("{file:?} cannot be listed")));
        }
        if entries.insert(file.to_owned(), hash.to_owned()).is_some() {
            return Err(error(format!("{file} is listed twice")));
        }
    }
    Ok(entries)
}

/// How a bundle's files differ from its manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The manifest lists a file the bundle does not hold.
    Missing(String),
    /// The bundle holds a file the manifest does not list.
    Unlisted(String),
    /// A file's SHA-256 is not the manifest's.
    Changed {
        /// The file.
        file: String,
        /// The manifest's hash.
        expected: String,
        /// The file's.
        actual: String,
    },
}

/// Checks the SHA-256 `hashes` (file → lower-case hex) of every file of a bundle but the
/// manifest against `manifest`: each listed file present with its hash, no file unlisted.
/// A bundle read as a stream (a backup's ledger dump) hashes as it reads and checks here.
pub fn check_hashes(
    manifest: &BTreeMap<String, String>,
    hashes: &BTreeMap<String, String>,
) -> Result<(), Mismatch> {
    for (file, expected) in manifest {
        let actual = hashes.get(file).ok_or_else(|| Mismatch::Missing(file.clone()))?;
        if actual != expected {
            return Err(Mismatch::Changed {
                file: file.clone(),
                expected: expected.clone(),
                actual: actual.clone(),
            });
        }
    }
    match hashes.keys().find(|file| file.as_str() != MANIFEST && !manifest.contains_key(*file)) {
        Some(file) => Err(Mismatch::Unlisted(file.clone())),
        None => Ok(()),
    }
}

/// Checks every file of `files` but the manifest against `manifest` ([`check_hashes`]).
pub fn check(
    manifest: &BTreeMap<String, String>,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<(), ArchiveError> {
    let hashes = files
        .iter()
        .filter(|(file, _)| file.as_str() != MANIFEST)
        .map(|(file, bytes)| (file.clone(), sha256_hex(bytes)))
        .collect();
    check_hashes(manifest, &hashes).map_err(|mismatch| match mismatch {
        Mismatch::Missing(file) => ArchiveError::Missing { file },
        Mismatch::Unlisted(file) => ArchiveError::Unlisted { file },
        Mismatch::Changed { file, expected, actual } => ArchiveError::HashMismatch { file, expected, actual },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_manifest_parses_back_and_checks() {
        let files: BTreeMap<String, Vec<u8>> =
            [("a.txt".to_owned(), b"a".to_vec()), ("b/c.cbor".to_owned(), vec![0, 1])].into();
        let manifest = parse(&render(&files)).unwrap();
        assert_eq!(manifest.len(), 2);
        check(&manifest, &files).unwrap();
    }

    #[test]
    fn a_malformed_line_is_refused_with_its_number() {
        let error = parse(&format!("{}  a\nnot a line\n", "0".repeat(64))).unwrap_err();
        assert!(matches!(error, ArchiveError::Manifest { line: 2, .. }), "{error}");
        let error = parse(&format!("{}  a\n", "A".repeat(64))).unwrap_err();
        assert!(matches!(error, ArchiveError::Manifest { line: 1, .. }), "{error}");
    }
}
