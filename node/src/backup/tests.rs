use std::path::{Path, PathBuf};
use std::sync::Arc;

use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::RecordId;

use super::*;
use crate::core::Recovery;
use crate::ledger::{keys, Ledger};
use crate::store::ledger_start::{open_ledger, Finding};
use crate::store::{Batch, SledSettings, Store};

/// A stopped SSC node in `root/node` (the operator: it has every optional key file too)
/// whose ledger holds `records` records.
fn node(root: &Path, records: u32) -> PathBuf {
    let data = root.join("node");
    let options = crate::setup::InitOptions::new(MemberRole::Ssc, kvitt_protocol::sample::SSC_ORG, "SSC");
    crate::setup::init(&data, &options).unwrap();
    crate::setup::publish(&data, "2026-12-07T00:00:00+00:00".into()).unwrap();
    let opened =
        open_ledger(&data, SledSettings::cached(8 << 20), &key_of(&data), time::OffsetDateTime::now_utc())
            .unwrap();
    let mut batch = Batch::new();
    for index in 0..records {
        let bytes = format!("record {index}").into_bytes();
        batch.insert(keys::record(&RecordId::of(&bytes)), bytes);
    }
    opened.store.apply(&batch).unwrap();
    opened.store.sync().unwrap();
    data
}

fn key_of(data: &Path) -> kvitt_protocol::PublicKey {
    let key = crate::config::read_key(&data.join(crate::config::NODE_KEY_FILE)).unwrap();
    kvitt_protocol::PublicKey::from(key.verifying_key())
}

/// A bundle of the stopped node `data` at `root/backup.tar`.
fn bundle_of(root: &Path, data: &Path) -> PathBuf {
    let out = root.join("backup.tar");
    let dump = dump_stopped(data, root).unwrap();
    let summary = write_bundle(data, dump, false, &out, time::OffsetDateTime::now_utc()).unwrap();
    assert!(summary.files.contains(&"node.key".to_owned()), "{summary:?}");
    assert!(summary.files.contains(&"operator.key".to_owned()), "{summary:?}");
    out
}

fn entries(data: &Path) -> Vec<crate::store::Entry> {
    let opened =
        open_ledger(data, SledSettings::cached(8 << 20), &key_of(data), time::OffsetDateTime::now_utc())
            .unwrap();
    let all = opened.store.scan(b"", None, usize::MAX).unwrap();
    all.into_iter().filter(|(key, _)| !key.starts_with(b"meta/")).collect()
}

#[test]
fn a_node_comes_back_whole_private_and_recovering() {
    let root = tempfile::tempdir().unwrap();
    let data = node(root.path(), 25);
    let out = bundle_of(root.path(), &data);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let target = root.path().join("restored");
    let summary = restore_bundle(&out, &target, time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(summary.records, 25);
    assert!(summary.recovery_noted);
    for (name, required) in NODE_FILES {
        let original = std::fs::read(data.join(name)).ok();
        assert_eq!(std::fs::read(target.join(name)).ok(), original, "{name}");
        assert!(original.is_some() || !required, "{name}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), 0o700);
        assert_eq!(mode(&target.join("node.key")), 0o600);
    }
    assert_eq!(entries(&target), entries(&data), "the same records and indexes");
    let opened = open_ledger(
        &target,
        SledSettings::cached(8 << 20),
        &key_of(&target),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert_eq!(opened.finding, Finding::Recovering, "its floor is sound, and it recovers");
    let recovery = Recovery::stored(&Ledger::new(opened.store.clone() as Arc<dyn Store>)).unwrap().unwrap();
    assert!(recovery.reason.starts_with("restored from a backup taken at 20"), "{recovery:?}");
    assert_eq!(recovery.floor.map(|floor| floor.records), Some(25));
}

#[test]
fn a_restore_makes_the_ledger_as_the_restored_config_asks() {
    let root = tempfile::tempdir().unwrap();
    let data = node(root.path(), 3);
    let mut config = crate::config::NodeConfig::load(&data).unwrap();
    config.compress_ledger = true;
    config.save(&data).unwrap();
    let out = bundle_of(root.path(), &data);
    let target = root.path().join("restored");
    assert_eq!(restore_bundle(&out, &target, time::OffsetDateTime::now_utc()).unwrap().records, 3);
    // sled's description of the database it made (`conf`: one `name: value` a line).
    let made = |data: &Path| std::fs::read(data.join(crate::config::LEDGER_DIR).join("conf")).unwrap();
    let has = |data: &Path, line: &str| String::from_utf8_lossy(&made(data)).contains(line);
    assert!(has(&data, "use_compression: false"), "made before the setting, it stays whole");
    assert!(has(&target, "use_compression: true"), "made by the restore, compressed");
    assert_eq!(entries(&target), entries(&data));
}

#[test]
fn a_running_node_is_not_read_behind_its_back_and_nothing_is_overwritten() {
    let root = tempfile::tempdir().unwrap();
    let data = node(root.path(), 1);
    let held =
        open_ledger(&data, SledSettings::cached(8 << 20), &key_of(&data), time::OffsetDateTime::now_utc())
            .unwrap();
    assert!(matches!(dump_stopped(&data, root.path()), Err(BackupError::Running(_))));
    drop(held);
    let out = bundle_of(root.path(), &data);
    let dump = dump_stopped(&data, root.path()).unwrap();
    let error = write_bundle(&data, dump, false, &out, time::OffsetDateTime::now_utc()).unwrap_err();
    assert!(matches!(error, BackupError::OutExists(_)), "{error}");
    let target = root.path().join("busy");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep.txt"), b"mine").unwrap();
    let error = restore_bundle(&out, &target, time::OffsetDateTime::now_utc()).unwrap_err();
    assert!(matches!(error, BackupError::NotEmpty(_)), "{error}");
    assert_eq!(std::fs::read(target.join("keep.txt")).unwrap(), b"mine");
}

/// Restores `bytes` as a bundle into a new folder: the error, and that nothing was written.
fn refused(root: &Path, bytes: &[u8]) -> BackupError {
    let bundle = root.join("damaged.tar");
    std::fs::write(&bundle, bytes).unwrap();
    let target = root.join("never");
    let error = restore_bundle(&bundle, &target, time::OffsetDateTime::now_utc()).unwrap_err();
    assert!(!target.exists(), "nothing written for: {error}");
    error
}

/// Where `needle` last occurs in `haystack` (the dump's magic is also in README.txt).
fn position(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).rposition(|window| window == needle).unwrap()
}

#[test]
fn a_damaged_or_truncated_bundle_is_refused_naming_the_file_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let data = node(root.path(), 40);
    let bytes = std::fs::read(bundle_of(root.path(), &data)).unwrap();

    let mut flipped = bytes.clone();
    flipped[position(&bytes, b"KVITTDMP") + 100] ^= 0x01;
    let error = refused(root.path(), &flipped);
    assert!(error.to_string().starts_with("ledger.dump: "), "{error}");

    let mut config = bytes.clone();
    config[position(&bytes, b"cache_mib")] = b'C';
    let error = refused(root.path(), &config);
    assert!(
        matches!(&error, BackupError::HashMismatch { file, .. } if file == "files/config.toml"),
        "{error}"
    );

    let dump_at = position(&bytes, b"KVITTDMP");
    let error = refused(root.path(), &bytes[..dump_at + 200]);
    assert!(error.to_string().contains("ledger.dump"), "{error}");
    let error = refused(root.path(), &bytes[..dump_at / 2]);
    assert!(matches!(&error, BackupError::Missing { .. } | BackupError::Unreadable { .. }), "{error}");
}

#[test]
fn a_bundle_without_a_listed_file_or_with_an_unknown_one_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let data = node(root.path(), 2);
    let bytes = std::fs::read(bundle_of(root.path(), &data)).unwrap();
    // Rewritten without its node key, then with a file no backup holds.
    let rewrite = |skip: &str, extra: Option<(&str, &[u8])>| {
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut builder = tar::Builder::new(Vec::new());
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            if name == skip {
                continue;
            }
            let mut header = entry.header().clone();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
            builder.append_data(&mut header, &name, content.as_slice()).unwrap();
        }
        if let Some((name, content)) = extra {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, name, content).unwrap();
        }
        builder.into_inner().unwrap()
    };
    let error = refused(root.path(), &rewrite("files/node.key", None));
    assert!(matches!(&error, BackupError::Missing { file } if file == "files/node.key"), "{error}");
    let error = refused(root.path(), &rewrite("", Some(("files/authorized_keys", b"x"))));
    assert!(matches!(&error, BackupError::Unexpected { .. }), "{error}");
    // A node file at the size limit is read (and, being unlisted, refused as such); one
    // byte more is refused before it is read.
    let limit = usize::try_from(MAX_NODE_FILE_BYTES).unwrap();
    let at_limit = vec![b'#'; limit];
    let error = refused(root.path(), &rewrite("", Some(("files/policy.toml", &at_limit))));
    assert!(matches!(&error, BackupError::Unlisted { file } if file == "files/policy.toml"), "{error}");
    let over = vec![b'#'; limit + 1];
    let error = refused(root.path(), &rewrite("", Some(("files/policy.toml", &over))));
    assert!(
        matches!(&error, BackupError::TooLarge { file, bytes } if file == "files/policy.toml" && *bytes == MAX_NODE_FILE_BYTES + 1),
        "{error}"
    );
}
