//! Writing a backup bundle: the node's files read from its data directory, the ledger's
//! dump (from the running node's API, or read here from a stopped node), a manifest, all
//! into one private tar that is whole or absent.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{BackupError, BackupInfo, DUMP, FILES, FORMAT, INFO, MANIFEST, NODE_FILES, README, README_TEXT};
use crate::store::dump::{dump_store, DumpReader, DumpSummary};
use crate::store::ledger_start::{open_ledger, LedgerStartError};

/// What a backup wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSummary {
    /// Entries of the ledger.
    pub ledger_entries: u64,
    /// Bytes of the ledger's dump.
    pub ledger_bytes: u64,
    /// The node's files carried, by name.
    pub files: Vec<String>,
    /// The SHA-256 of `MANIFEST.sha256`, to keep apart from the bundle.
    pub manifest_sha256: String,
}

/// Dumps the ledger of the stopped node whose data directory is `data` into an unnamed
/// file in `spool`, opened as `kvitt run` opens it (under the directory's lock);
/// [`BackupError::Running`] if a node holds it.
pub fn dump_stopped(data: &Path, spool: &Path) -> Result<File, BackupError> {
    let key = crate::config::read_key(&data.join(crate::config::NODE_KEY_FILE))
        .map_err(|error| BackupError::Node(error.to_string()))?;
    let opened = match open_ledger(
        data,
        crate::store::SledSettings::cached(crate::store::DEFAULT_CACHE_BYTES),
        &kvitt_protocol::PublicKey::from(key.verifying_key()),
        OffsetDateTime::now_utc(),
    ) {
        Ok(opened) => opened,
        Err(LedgerStartError::Locked { path }) => return Err(BackupError::Running(path)),
        Err(error) => return Err(BackupError::Node(format!("opening the ledger: {error}"))),
    };
    let file = tempfile::tempfile_in(spool).map_err(BackupError::io(spool))?;
    let (_, out) = dump_store(opened.store.as_ref(), BufWriter::with_capacity(1 << 20, file))
        .map_err(|source| BackupError::Dump { file: data.join("ledger").display().to_string(), source })?;
    let mut file = out
        .into_inner()
        .map_err(|error| BackupError::Io { path: spool.to_owned(), source: error.into_error() })?;
    file.seek(SeekFrom::Start(0)).map_err(BackupError::io(spool))?;
    Ok(file)
}

/// Writes the bundle of the node whose data directory is `data` and whose ledger's dump
/// is `dump` (read from where it stands) at `out`, which must not exist. The dump is
/// checked whole first; `online` says whether it came from a running node.
pub fn write_bundle(
    data: &Path,
    mut dump: File,
    online: bool,
    out: &Path,
    now: OffsetDateTime,
) -> Result<BackupSummary, BackupError> {
    if out.exists() {
        return Err(BackupError::OutExists(out.to_owned()));
    }
    let config =
        crate::config::NodeConfig::load(data).map_err(|error| BackupError::Node(error.to_string()))?;
    let key = crate::config::read_key(&data.join(crate::config::NODE_KEY_FILE))
        .map_err(|error| BackupError::Node(error.to_string()))?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, required) in NODE_FILES {
        let path = data.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => {
                files.insert(format!("{FILES}{name}"), bytes);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => {}
            Err(source) => return Err(BackupError::Io { path, source }),
        }
    }
    let start = dump.stream_position().map_err(BackupError::io(out))?;
    let (summary, dump_sha256) = check_dump(&mut dump, DUMP)?;
    dump.seek(SeekFrom::Start(start)).map_err(BackupError::io(out))?;
    let info = BackupInfo {
        format: FORMAT.into(),
        org: config.org.clone(),
        name: config.name.clone(),
        node_key: kvitt_protocol::PublicKey::from(key.verifying_key()).to_string(),
        taken_at: kvitt_protocol::fields::format_time(now),
        online,
        ledger_entries: summary.entries,
        ledger_sha256: hex::encode(summary.sha256),
    };
    let info_json = serde_json::to_vec_pretty(&info).map_err(|error| BackupError::Info(error.to_string()))?;
    files.insert(INFO.to_owned(), info_json);
    files.insert(README.to_owned(), README_TEXT.as_bytes().to_vec());
    let mut hashes: BTreeMap<String, String> =
        files.iter().map(|(file, bytes)| (file.clone(), hex::encode(Sha256::digest(bytes)))).collect();
    hashes.insert(DUMP.to_owned(), dump_sha256);
    let manifest: String = hashes.iter().map(|(file, hash)| format!("{hash}  {file}\n")).collect();
    let manifest_sha256 = hex::encode(Sha256::digest(manifest.as_bytes()));
    let carried: Vec<String> =
        files.keys().filter_map(|file| file.strip_prefix(FILES)).map(str::to_owned).collect();

    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    // NamedTempFile creates it 0600, and the rename keeps its mode.
    let temporary = tempfile::NamedTempFile::new_in(&parent).map_err(BackupError::io(&parent))?;
    let mut builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, temporary));
    let io = BackupError::io;
    // README first, then the manifest, so that `tar tf` and a reader meet them first.
    append(&mut builder, README, README_TEXT.as_bytes()).map_err(io(out))?;
    append(&mut builder, MANIFEST, manifest.as_bytes()).map_err(io(out))?;
    for (file, bytes) in files.iter().filter(|(file, _)| file.as_str() != README) {
        append(&mut builder, file, bytes).map_err(io(out))?;
    }
    let mut header = header(summary.bytes);
    builder.append_data(&mut header, DUMP, Read::by_ref(&mut dump).take(summary.bytes)).map_err(io(out))?;
    let mut temporary = builder
        .into_inner()
        .map_err(io(out))?
        .into_inner()
        .map_err(|error| BackupError::Io { path: out.to_owned(), source: error.into_error() })?;
    temporary.flush().map_err(io(out))?;
    temporary.as_file().sync_all().map_err(io(out))?;
    temporary.persist_noclobber(out).map_err(|error| match error.error.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::OutExists(out.to_owned()),
        _ => BackupError::Io { path: out.to_owned(), source: error.error },
    })?;
    File::open(&parent).and_then(|directory| directory.sync_all()).map_err(io(&parent))?;
    Ok(BackupSummary {
        ledger_entries: summary.entries,
        ledger_bytes: summary.bytes,
        files: carried,
        manifest_sha256,
    })
}

/// Reads a whole dump from `input`, checking it; what it holds and the SHA-256 of its
/// bytes (for the manifest). `file` names it in errors.
pub(super) fn check_dump(input: impl Read, file: &str) -> Result<(DumpSummary, String), BackupError> {
    let mut hashing =
        HashingReader { inner: std::io::BufReader::with_capacity(1 << 20, input), hash: Sha256::new() };
    let dump_error = |source| BackupError::Dump { file: file.to_owned(), source };
    let mut reader = DumpReader::new(&mut hashing).map_err(dump_error)?;
    while reader.next_entry().map_err(dump_error)?.is_some() {}
    let summary = reader.summary().ok_or_else(|| BackupError::Missing { file: file.to_owned() })?;
    Ok((summary, hex::encode(hashing.hash.finalize())))
}

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hash.update(buffer.get(..read).unwrap_or_default());
        Ok(read)
    }
}

fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn append(builder: &mut tar::Builder<impl Write>, file: &str, bytes: &[u8]) -> std::io::Result<()> {
    builder.append_data(&mut header(bytes.len() as u64), file, bytes)
}
