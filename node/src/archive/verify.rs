//! `kvitt archive verify`: checks a bundle offline, in the order its README gives a
//! person doing it by hand: the manifest's hashes, each directory's signature and signer,
//! each record's content id and signature (the protocol's own full decode, as for a record
//! from a peer), each signer's membership, each claim's chain and receipts. The first
//! damage found is the error, naming its file and record.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use kvitt_protocol::claim::ClaimItem;
use kvitt_protocol::directory::Directory;
use kvitt_protocol::{AnyRecord, PublicKey, RecordId, RecordType, Signed};

use super::layout::{self, BundleInfo, MAX_FILES, MAX_FILE_BYTES};
use super::{manifest, ArchiveError};

/// What a bundle that verified holds, for the report `kvitt archive verify` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// `bundle.json`.
    pub info: BundleInfo,
    /// Files checked against the manifest.
    pub files: usize,
    /// Directory versions verified, signed by the operator.
    pub directories: usize,
    /// Records verified, by type name.
    pub records: BTreeMap<&'static str, usize>,
    /// Claim chains found complete.
    pub chains: usize,
}

/// Reads the bundle at `path` and verifies it.
pub fn verify_bundle(path: &Path) -> Result<VerifyReport, ArchiveError> {
    let file =
        std::fs::File::open(path).map_err(|source| ArchiveError::Io { path: path.to_owned(), source })?;
    verify_files(&read_tar(file, &path.display().to_string())?)
}

/// The plain files of a tar, by path; anything else (links, devices, paths leaving the
/// bundle, entries over [`MAX_FILE_BYTES`], more than [`MAX_FILES`]) is refused.
pub fn read_tar(reader: impl Read, name: &str) -> Result<BTreeMap<String, Vec<u8>>, ArchiveError> {
    let unreadable = |file: &str, why: String| ArchiveError::Unreadable { file: file.to_owned(), why };
    let mut archive = tar::Archive::new(reader);
    let mut files = BTreeMap::new();
    for entry in archive.entries().map_err(|error| unreadable(name, format!("not a tar file: {error}")))? {
        let mut entry = entry.map_err(|error| unreadable(name, format!("damaged tar: {error}")))?;
        let path = entry.path().map_err(|error| unreadable(name, format!("damaged tar: {error}")))?;
        let file = path
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| unreadable(name, "a file name is not UTF-8".into()))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(unreadable(&file, "not a plain file".into()));
        }
        if file.starts_with('/') || file.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(unreadable(&file, "a path outside the bundle".into()));
        }
        let size = entry.size();
        if size > MAX_FILE_BYTES {
            return Err(ArchiveError::TooLarge {
                file,
                why: format!("{size} bytes, more than the {MAX_FILE_BYTES} a bundle's file may have"),
            });
        }
        if files.len() >= MAX_FILES {
            return Err(ArchiveError::TooLarge {
                file: name.to_owned(),
                why: format!("more than {MAX_FILES} files"),
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry.read_to_end(&mut bytes).map_err(|error| unreadable(&file, format!("damaged tar: {error}")))?;
        if files.insert(file.clone(), bytes).is_some() {
            return Err(unreadable(&file, "in the bundle twice".into()));
        }
    }
    Ok(files)
}

/// Verifies the files of a bundle.
pub fn verify_files(files: &BTreeMap<String, Vec<u8>>) -> Result<VerifyReport, ArchiveError> {
    let manifest_bytes =
        files.get(layout::MANIFEST).ok_or_else(|| ArchiveError::Missing { file: layout::MANIFEST.into() })?;
    let manifest_text = std::str::from_utf8(manifest_bytes)
        .map_err(|_| ArchiveError::Manifest { line: 0, why: "not UTF-8 text".into() })?;
    manifest::check(&manifest::parse(manifest_text)?, files)?;

    let info_bytes =
        files.get(layout::INFO).ok_or_else(|| ArchiveError::Missing { file: layout::INFO.into() })?;
    let info: BundleInfo =
        serde_json::from_slice(info_bytes).map_err(|error| ArchiveError::Info(error.to_string()))?;
    if info.format != layout::FORMAT {
        return Err(ArchiveError::Info(format!(
            "format {:?}, this reader knows {:?}",
            info.format,
            layout::FORMAT
        )));
    }

    let members = directory_members(files, &info.operator_key)?;
    let mut records: BTreeMap<RecordId, (String, AnyRecord)> = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for (file, bytes) in files.iter().filter(|(file, _)| file.starts_with(layout::RECORDS)) {
        let record = decode(file, bytes)?;
        if layout::record_file(record.kind(), &record.id()) != *file {
            return Err(misnamed(file, &record));
        }
        if !members.contains(&record.signer()) {
            return Err(ArchiveError::SignerNotVouched {
                file: file.clone(),
                record: record.id(),
                signer: record.signer(),
            });
        }
        *counts.entry(record.kind().as_str()).or_insert(0) += 1;
        records.insert(record.id(), (file.clone(), record));
    }
    let chains = check_claims(files, &records)?;
    Ok(VerifyReport {
        info,
        files: files.len().saturating_sub(1),
        directories: files.keys().filter(|file| file.starts_with(layout::DIRECTORIES)).count(),
        records: counts,
        chains,
    })
}

/// Verifies every directory version (signed by `operator`, named by its id) and returns
/// the keys of their members.
fn directory_members(
    files: &BTreeMap<String, Vec<u8>>,
    operator: &PublicKey,
) -> Result<BTreeSet<PublicKey>, ArchiveError> {
    let mut members = BTreeSet::new();
    for (file, bytes) in files.iter().filter(|(file, _)| file.starts_with(layout::DIRECTORIES)) {
        let directory = Signed::<Directory>::decode(bytes)
            .map_err(|error| ArchiveError::Invalid { file: file.clone(), error })?;
        if layout::directory_file(&directory.id()) != *file {
            return Err(misnamed(file, &AnyRecord::Directory(directory)));
        }
        if directory.signer() != *operator {
            return Err(ArchiveError::NotOperator {
                file: file.clone(),
                signer: directory.signer(),
                operator: *operator,
            });
        }
        members.extend(directory.body().members.iter().map(|member| member.key));
    }
    Ok(members)
}

/// The record in `bytes`, verified in full (encoding, strict ed25519 signature, rules).
fn decode(file: &str, bytes: &[u8]) -> Result<AnyRecord, ArchiveError> {
    AnyRecord::decode(bytes).map_err(|error| ArchiveError::Invalid { file: file.to_owned(), error })
}

/// The error for a file whose name is not its record's type and content id.
fn misnamed(file: &str, record: &AnyRecord) -> ArchiveError {
    let expected = match record {
        AnyRecord::Directory(_) => layout::directory_file(&record.id()),
        _ => layout::record_file(record.kind(), &record.id()),
    };
    ArchiveError::Misnamed {
        file: file.to_owned(),
        why: format!("holds a {} whose content id (SHA-256 of the bytes) makes it {expected}", record.kind()),
    }
}

/// Checks each claim: its receipts present, its chain file present and linking its events
/// from the first; every event in some chain. Returns the number of chains.
fn check_claims(
    files: &BTreeMap<String, Vec<u8>>,
    records: &BTreeMap<RecordId, (String, AnyRecord)>,
) -> Result<usize, ArchiveError> {
    let mut chained = BTreeSet::new();
    let mut chains = 0usize;
    for (claim_id, (claim_file, record)) in records {
        let AnyRecord::Claim(claim) = record else { continue };
        for item in &claim.body().items {
            if let ClaimItem::Receipt { receipt, .. } = item {
                if !matches!(records.get(receipt), Some((_, AnyRecord::Receipt(_)))) {
                    return Err(ArchiveError::Dangling {
                        file: claim_file.clone(),
                        record: *claim_id,
                        missing: *receipt,
                        what: "a receipt of the claim",
                    });
                }
            }
        }
        let file = layout::chain_file(claim_id);
        let chain_error =
            |file: &str, why: String| ArchiveError::Chain { file: file.to_owned(), claim: *claim_id, why };
        let text = files.get(&file).ok_or_else(|| chain_error(claim_file, format!("{file} is missing")))?;
        let text = std::str::from_utf8(text).map_err(|_| chain_error(&file, "not UTF-8 text".into()))?;
        let mut previous: Option<RecordId> = None;
        for (index, line) in text.lines().enumerate() {
            let at = |why: String| chain_error(&file, format!("line {}: {why}", index.saturating_add(1)));
            let id: RecordId = line.parse().map_err(|error| at(format!("not an id: {error}")))?;
            let event = match records.get(&id) {
                Some((_, AnyRecord::ClaimEvent(event))) => event,
                _ => {
                    return Err(at(format!(
                        "event {id} is not in {}",
                        layout::record_file(RecordType::ClaimEvent, &id)
                    )))
                }
            };
            if event.body().claim != *claim_id {
                return Err(at(format!("event {id} belongs to claim {}", event.body().claim)));
            }
            if event.body().previous != previous {
                let said = event.body().previous.map_or("none".to_owned(), |id| id.to_string());
                let expected = previous.map_or("none (the first event)".to_owned(), |id| id.to_string());
                return Err(at(format!("event {id} follows {said}, the line before is {expected}")));
            }
            chained.insert(id);
            previous = Some(id);
        }
        chains = chains.saturating_add(1);
    }
    for (id, (file, record)) in records {
        if let AnyRecord::ClaimEvent(event) = record {
            if !chained.contains(id) {
                let claim = event.body().claim;
                return Err(match records.get(&claim) {
                    Some(_) => ArchiveError::Chain {
                        file: file.clone(),
                        claim,
                        why: format!("event {id} is in no line of {}", layout::chain_file(&claim)),
                    },
                    None => ArchiveError::Dangling {
                        file: file.clone(),
                        record: *id,
                        missing: claim,
                        what: "the event's claim",
                    },
                });
            }
        }
    }
    Ok(chains)
}
