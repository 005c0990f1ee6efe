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

/// Checks every file of `files` but the manifest against `manifest`: each listed file
/// present with its hash, no file unlisted.
pub fn check(
    manifest: &BTreeMap<String, String>,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<(), ArchiveError> {
    for (file, expected) in manifest {
        let bytes = files.get(file).ok_or_else(|| ArchiveError::Missing { file: file.clone() })?;
        let actual = sha256_hex(bytes);
        if &actual != expected {
            return Err(ArchiveError::HashMismatch {
                file: file.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    match files.keys().find(|file| file.as_str() != MANIFEST && !manifest.contains_key(*file)) {
        Some(file) => Err(ArchiveError::Unlisted { file: file.clone() }),
        None => Ok(()),
    }
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
