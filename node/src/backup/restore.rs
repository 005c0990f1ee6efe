//! Restoring a backup bundle into a new data directory. The whole bundle is checked first
//! (every entry a known plain file, every hash the manifest's, the dump whole and
//! matching `backup.json`), so a damaged or truncated bundle is refused before anything is
//! written. Then the node's files are written (`0600`, in a `0700` folder), the ledger is
//! rebuilt from the dump, its floor set to what it holds, and a recovery noted
//! (crate::core::recovery): the restored node signs nothing until `kvitt recover` has
//! reconciled with every peer, so that what it acknowledged after the backup comes back
//! and no serial or number it gave since is given again. A restore that fails part-way
//! removes what it wrote.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::bundle::check_dump;
use super::{
    BackupError, BackupInfo, DUMP, FILES, FORMAT, INFO, MANIFEST, MAX_NODE_FILE_BYTES, NODE_FILES, README,
};
use crate::archive::manifest::Mismatch;
use crate::core::Recovery;
use crate::ledger::{Floor, Ledger};
use crate::store::dump::{load_dump, DumpSummary};
use crate::store::{FloorFile, FloorKeeper, SledStore, Store};

/// What a restore wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreSummary {
    /// The bundle's `backup.json`.
    pub info: BackupInfo,
    /// The node's files written, by name.
    pub files: Vec<String>,
    /// Records the restored ledger holds.
    pub records: u64,
    /// Whether a recovery was noted by this restore (false: the backed-up node was
    /// recovering already, and still is).
    pub recovery_noted: bool,
}

/// A bundle checked whole.
struct Checked {
    info: BackupInfo,
    /// The node's files, by name (without [`FILES`]).
    files: BTreeMap<String, Vec<u8>>,
}

/// Restores the bundle `from` into `data`, which must be absent or empty; `now` dates the
/// recovery.
pub fn restore_bundle(from: &Path, data: &Path, now: OffsetDateTime) -> Result<RestoreSummary, BackupError> {
    refuse_non_empty(data)?;
    let checked = check_bundle(from)?;
    refuse_non_empty(data)?;
    let existed = data.exists();
    let restored = write_node(from, data, &checked, now);
    if restored.is_err() {
        // Nothing half-restored is left to be started by mistake.
        if existed {
            if let Ok(entries) = std::fs::read_dir(data) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(data);
        }
    }
    restored
}

fn refuse_non_empty(data: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(data).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(BackupError::NotEmpty(data.to_owned())),
        Ok(false) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(BackupError::Io { path: data.to_owned(), source }),
    }
}

/// Reads the whole bundle and checks it, writing nothing.
fn check_bundle(from: &Path) -> Result<Checked, BackupError> {
    let bundle = File::open(from).map_err(BackupError::io(from))?;
    let name = from.display().to_string();
    let unreadable =
        |why: std::io::Error| BackupError::Unreadable { file: name.clone(), why: why.to_string() };
    let mut archive = tar::Archive::new(bundle);
    let mut small: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    let mut dump: Option<DumpSummary> = None;
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let file = entry.path().map_err(unreadable)?.to_string_lossy().into_owned();
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(BackupError::Unexpected { file, why: "not a plain file" });
        }
        if hashes.contains_key(&file) {
            return Err(BackupError::Unexpected { file, why: "in the bundle twice" });
        }
        if file == DUMP {
            let (summary, sha256) = check_dump(&mut entry, DUMP)?;
            dump = Some(summary);
            hashes.insert(file, sha256);
            continue;
        }
        let known = [README, MANIFEST, INFO].contains(&file.as_str())
            || file
                .strip_prefix(FILES)
                .is_some_and(|name| NODE_FILES.iter().any(|(known, _)| *known == name));
        if !known {
            return Err(BackupError::Unexpected { file, why: "no backup holds such a file" });
        }
        let bytes = entry.size();
        if bytes > MAX_NODE_FILE_BYTES {
            return Err(BackupError::TooLarge { file, bytes });
        }
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|error| BackupError::Unreadable { file: file.clone(), why: error.to_string() })?;
        hashes.insert(file.clone(), hex::encode(Sha256::digest(&content)));
        small.insert(file, content);
    }
    let manifest = small.remove(MANIFEST).ok_or_else(|| BackupError::Missing { file: MANIFEST.into() })?;
    hashes.remove(MANIFEST);
    let manifest = String::from_utf8(manifest).map_err(|_| BackupError::Manifest("not UTF-8".into()))?;
    let listed = crate::archive::manifest::parse(&manifest)
        .map_err(|error| BackupError::Manifest(error.to_string()))?;
    crate::archive::manifest::check_hashes(&listed, &hashes).map_err(|mismatch| match mismatch {
        Mismatch::Missing(file) => BackupError::Missing { file },
        Mismatch::Unlisted(file) => BackupError::Unlisted { file },
        Mismatch::Changed { file, expected, actual } => BackupError::HashMismatch { file, expected, actual },
    })?;
    let dump = dump.ok_or_else(|| BackupError::Missing { file: DUMP.into() })?;
    let info = small.remove(INFO).ok_or_else(|| BackupError::Missing { file: INFO.into() })?;
    let info: BackupInfo =
        serde_json::from_slice(&info).map_err(|error| BackupError::Info(error.to_string()))?;
    if info.format != FORMAT {
        return Err(BackupError::Info(format!("format {:?}, this kvitt restores {FORMAT:?}", info.format)));
    }
    if info.ledger_entries != dump.entries || info.ledger_sha256 != hex::encode(dump.sha256) {
        return Err(BackupError::Info(format!(
            "it says the ledger holds {} entries with SHA-256 {}, ledger.dump holds {} with {}",
            info.ledger_entries,
            info.ledger_sha256,
            dump.entries,
            hex::encode(dump.sha256)
        )));
    }
    let files: BTreeMap<String, Vec<u8>> = small
        .into_iter()
        .filter_map(|(file, bytes)| file.strip_prefix(FILES).map(|name| (name.to_owned(), bytes)))
        .collect();
    if let Some((name, _)) =
        NODE_FILES.iter().find(|(name, required)| *required && !files.contains_key(*name))
    {
        return Err(BackupError::Missing { file: format!("{FILES}{name}") });
    }
    Ok(Checked { info, files })
}

/// Writes the checked bundle's node into `data`.
fn write_node(
    from: &Path,
    data: &Path,
    checked: &Checked,
    now: OffsetDateTime,
) -> Result<RestoreSummary, BackupError> {
    crate::permissions::create_private_dir(data).map_err(BackupError::io(data))?;
    for (name, bytes) in &checked.files {
        let path = data.join(name);
        crate::permissions::write_private(&path, bytes).map_err(BackupError::io(&path))?;
        File::open(&path).and_then(|file| file.sync_all()).map_err(BackupError::io(&path))?;
    }
    let key = crate::config::read_key(&data.join(crate::config::NODE_KEY_FILE))
        .map_err(|error| BackupError::Node(error.to_string()))?;
    let node = kvitt_protocol::PublicKey::from(key.verifying_key());
    // The ledger is made as the restored config.toml asks (its pages compressed or not).
    let config =
        crate::config::NodeConfig::load(data).map_err(|error| BackupError::Node(error.to_string()))?;
    let ledger_path = data.join(crate::config::LEDGER_DIR);
    let store: Arc<dyn Store> = Arc::new(
        SledStore::open_with(&ledger_path, config.sled_settings())
            .map_err(|error| BackupError::Node(error.to_string()))?,
    );
    // The bundle was checked whole; read again, the dump is checked again as it loads.
    let bundle = File::open(from).map_err(BackupError::io(from))?;
    let mut archive = tar::Archive::new(bundle);
    let unreadable = |why: std::io::Error| BackupError::Unreadable {
        file: from.display().to_string(),
        why: why.to_string(),
    };
    let mut loaded = None;
    for entry in archive.entries().map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        if entry.path().map_err(unreadable)?.as_os_str() == DUMP {
            let source = |source| BackupError::Dump { file: DUMP.into(), source };
            loaded = Some(load_dump(entry, store.as_ref()).map_err(source)?);
            break;
        }
    }
    let loaded = loaded.ok_or_else(|| BackupError::Missing { file: DUMP.into() })?;
    if hex::encode(loaded.sha256) != checked.info.ledger_sha256 {
        return Err(BackupError::Info("ledger.dump changed while it was restored".into()));
    }
    let node_error = |error: &dyn std::fmt::Display| BackupError::Node(error.to_string());
    let (floor, _) = Floor::survey(store.as_ref(), &node).map_err(|error| node_error(&error))?;
    let ledger = Ledger::new(Arc::clone(&store));
    let recovery_noted = Recovery::stored(&ledger).map_err(|error| node_error(&error))?.is_none();
    if recovery_noted {
        let recovery = Recovery {
            reason: format!("restored from a backup taken at {}", checked.info.taken_at),
            since: kvitt_protocol::fields::format_time(now),
            aside: None,
            floor: Some(floor.clone()),
            records_at_start: floor.records,
            raised: Vec::new(),
        };
        let batch = recovery.begin(&ledger).map_err(|error| node_error(&error))?;
        store.apply(&batch).map_err(|error| node_error(&error))?;
    }
    store.sync().map_err(|error| node_error(&error))?;
    // The floor of what the ledger holds: the next start finds it sound, and recovering.
    FloorFile::in_data_dir(data).keep(&floor).map_err(|error| node_error(&error))?;
    Ok(RestoreSummary {
        info: checked.info.clone(),
        files: checked.files.keys().cloned().collect(),
        records: floor.records,
        recovery_noted,
    })
}
