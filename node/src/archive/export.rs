//! `kvitt archive export`: the records of a period, with what vouches for them, from a
//! node's ledger into a bundle (see the [module](super) for its layout).
//!
//! A record belongs to the period if its record time (spec/protocol.md §Record time: a
//! receipt's sale, a claim's creation, an event's time) falls on one of its UTC days. To
//! keep each claim whole, a claim of the period brings its whole chain of events and the
//! receipts it names, and an event of the period brings its claim, whatever their times.
//! Every directory version the node holds goes in, as the vouchers of the signers.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kvitt_protocol::channel::record_time;
use kvitt_protocol::claim::ClaimItem;
use kvitt_protocol::directory::Directory;
use kvitt_protocol::{AnyRecord, RecordId, Signed};
use time::{Date, OffsetDateTime, Time};

use super::layout::{self, BundleInfo};
use super::{manifest, ArchiveError};
use crate::ledger::{Ledger, MAX_SCAN_ENTRIES};

/// The UTC days a bundle covers, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    from: Date,
    to: Date,
}

impl Period {
    /// The days `from` to `to`, refused if `from` is after `to`.
    pub fn new(from: Date, to: Date) -> Result<Period, ArchiveError> {
        if from > to {
            return Err(ArchiveError::EmptyPeriod { from, to });
        }
        Ok(Period { from, to })
    }

    /// Whether a record time (seconds since the epoch) falls in the period.
    fn holds(&self, seconds: u64) -> bool {
        let start = self.from.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp();
        let end = self.to.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp().saturating_add(86_400);
        i64::try_from(seconds).is_ok_and(|seconds| seconds >= start && seconds < end)
    }
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    /// Records by type name.
    pub records: BTreeMap<&'static str, usize>,
    /// Directory versions.
    pub directories: usize,
    /// Claim chains.
    pub chains: usize,
    /// The SHA-256 of `MANIFEST.sha256`, to keep apart from the bundle.
    pub manifest_sha256: String,
}

/// Everything an export needs beyond the ledger.
pub struct Source<'a> {
    /// The node's ledger.
    pub ledger: &'a Ledger,
    /// Directory versions held outside the ledger (the node's `directory.cbor`).
    pub directories: Vec<Signed<Directory>>,
    /// The network's name.
    pub network: String,
    /// The exporting organisation.
    pub org: String,
    /// The network operator's key.
    pub operator_key: kvitt_protocol::PublicKey,
}

/// The files of the bundle of `period` from `source`, the manifest included, verified as
/// `kvitt archive verify` verifies them.
pub fn bundle(
    source: &Source<'_>,
    period: Period,
    now: OffsetDateTime,
) -> Result<(BTreeMap<String, Vec<u8>>, ExportSummary), ArchiveError> {
    let node = |error: crate::ledger::LedgerError| ArchiveError::Node(error.to_string());
    let mut chosen: BTreeMap<RecordId, AnyRecord> = BTreeMap::new();
    let mut directories: BTreeMap<RecordId, Signed<Directory>> =
        source.directories.iter().map(|directory| (directory.id(), directory.clone())).collect();
    let mut after = None;
    loop {
        let ids = source.ledger.record_ids(after.as_ref(), MAX_SCAN_ENTRIES).map_err(node)?;
        for id in &ids {
            match source.ledger.record(id).map_err(node)? {
                Some(AnyRecord::Directory(directory)) => {
                    directories.insert(*id, directory);
                }
                Some(record) if period.holds(record_time(&record)) => {
                    chosen.insert(*id, record);
                }
                _ => {}
            }
        }
        match ids.last() {
            Some(last) if ids.len() == MAX_SCAN_ENTRIES => after = Some(*last),
            _ => break,
        }
    }
    // Whole claims: an event brings its claim; a claim its chain and its receipts.
    let claims_of_events: Vec<RecordId> = chosen
        .values()
        .filter_map(|record| match record {
            AnyRecord::ClaimEvent(event) => Some(event.body().claim),
            _ => None,
        })
        .collect();
    let mut claims = BTreeSet::new();
    for claim in claims_of_events.into_iter().chain(chosen.values().filter_map(|record| match record {
        AnyRecord::Claim(claim) => Some(claim.id()),
        _ => None,
    })) {
        claims.insert(claim);
    }
    let mut chains = BTreeMap::new();
    for claim in &claims {
        let Some(record) = source.ledger.record(claim).map_err(node)? else { continue };
        if let AnyRecord::Claim(signed) = &record {
            for item in &signed.body().items {
                if let ClaimItem::Receipt { receipt, .. } = item {
                    if let Some(receipt) = source.ledger.record(receipt).map_err(node)? {
                        chosen.insert(receipt.id(), receipt);
                    }
                }
            }
        }
        chosen.insert(*claim, record);
        let chain = source.ledger.chain(claim).map_err(node)?;
        for event in &chain {
            if let Some(record) = source.ledger.record(event).map_err(node)? {
                chosen.insert(*event, record);
            }
        }
        chains.insert(*claim, chain);
    }

    let info = BundleInfo {
        format: layout::FORMAT.into(),
        network: source.network.clone(),
        exported_by: source.org.clone(),
        exported_at: now
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|error| ArchiveError::Node(error.to_string()))?,
        from: period.from.to_string(),
        to: period.to.to_string(),
        operator_key: source.operator_key,
    };
    let mut files = BTreeMap::new();
    files.insert(layout::README.to_owned(), layout::README_TEXT.as_bytes().to_vec());
    let info_json =
        serde_json::to_vec_pretty(&info).map_err(|error| ArchiveError::Node(error.to_string()))?;
    files.insert(layout::INFO.to_owned(), info_json);
    for (file, text) in layout::SPEC_FILES {
        files.insert(file.to_owned(), text.as_bytes().to_vec());
    }
    for (id, directory) in &directories {
        files.insert(layout::directory_file(id), directory.bytes().to_vec());
    }
    let mut records = BTreeMap::new();
    for (id, record) in &chosen {
        files.insert(layout::record_file(record.kind(), id), record.bytes().to_vec());
        *records.entry(record.kind().as_str()).or_insert(0) += 1;
    }
    for (claim, chain) in &chains {
        let text: String = chain.iter().map(|event| format!("{event}\n")).collect();
        files.insert(layout::chain_file(claim), text.into_bytes());
    }
    let manifest = manifest::render(&files);
    let summary = ExportSummary {
        records,
        directories: directories.len(),
        chains: chains.len(),
        manifest_sha256: manifest::sha256_hex(manifest.as_bytes()),
    };
    files.insert(layout::MANIFEST.to_owned(), manifest.into_bytes());
    // Checked as a reader in 2033 will check it, before anything is written: a bundle
    // that would not verify (a ledger missing a claim its events name) is never made.
    super::verify::verify_files(&files)?;
    Ok((files, summary))
}

/// Writes `files` as a plain tar at `out`, which must not exist: into a temporary file
/// beside it, fsynced, then linked into place, so that `out` is the whole bundle or absent.
pub fn write_tar(files: &BTreeMap<String, Vec<u8>>, out: &Path) -> Result<(), ArchiveError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source: std::io::Error| ArchiveError::Io { path, source }
    };
    if out.exists() {
        return Err(ArchiveError::OutExists(out.to_owned()));
    }
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let temporary = tempfile::NamedTempFile::new_in(&parent).map_err(io(&parent))?;
    let mut builder = tar::Builder::new(temporary);
    // README first, so that `tar tf` and a reader scrolling the tar meet it first.
    let ordered = files
        .iter()
        .filter(|(file, _)| *file == layout::README)
        .chain(files.iter().filter(|(file, _)| *file != layout::README));
    for (file, bytes) in ordered {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o444);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, file, bytes.as_slice()).map_err(io(out))?;
    }
    let mut temporary = builder.into_inner().map_err(io(out))?;
    temporary.flush().map_err(io(out))?;
    temporary.as_file().sync_all().map_err(io(out))?;
    temporary.persist_noclobber(out).map_err(|error| match error.error.kind() {
        std::io::ErrorKind::AlreadyExists => ArchiveError::OutExists(out.to_owned()),
        _ => ArchiveError::Io { path: out.to_owned(), source: error.error },
    })?;
    Ok(())
}

/// Exports the period from the stopped node whose data directory is `data` into `out`.
/// The ledger is opened as `kvitt run` opens it, under the data directory's lock: a
/// running node must be stopped first.
pub fn export_data_dir(data: &Path, period: Period, out: &Path) -> Result<ExportSummary, ArchiveError> {
    if out.exists() {
        return Err(ArchiveError::OutExists(out.to_owned()));
    }
    let node = |error: String| ArchiveError::Node(error);
    let config = crate::config::NodeConfig::load(data).map_err(|error| node(error.to_string()))?;
    let key = crate::config::read_key(&data.join(crate::config::NODE_KEY_FILE))
        .map_err(|error| node(error.to_string()))?;
    let directory = crate::daemon::read_directory(data).map_err(|error| node(error.to_string()))?;
    let now = OffsetDateTime::now_utc();
    let opened = crate::store::ledger_start::open_ledger(
        data,
        config.sled_settings(),
        &kvitt_protocol::PublicKey::from(key.verifying_key()),
        now,
    )
    .map_err(|error| {
        node(format!(
            "cannot open the ledger in {} ({error}); if the node is running, stop it first",
            data.display()
        ))
    })?;
    // An archive of a ledger that lacks records would look complete and not be.
    use crate::store::ledger_start::Finding;
    if !matches!(opened.finding, Finding::Sound | Finding::FloorStarted) {
        return Err(node(format!(
            "the ledger in {} is not whole ({:?}): start the node and run `kvitt recover` first",
            data.display(),
            opened.finding
        )));
    }
    let ledger = Ledger::new(Arc::clone(&opened.store) as Arc<dyn crate::store::Store>);
    let source = Source {
        ledger: &ledger,
        directories: vec![directory],
        network: config.network,
        org: config.org,
        operator_key: config.operator_key,
    };
    let (files, summary) = bundle(&source, period, now)?;
    write_tar(&files, out)?;
    Ok(summary)
}
