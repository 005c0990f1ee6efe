//! `kvitt archive export` and `verify` end to end: the demo's working day, exported from
//! the SSC's stopped node, verified by kvitt and by plain `tar` and `sha256sum`, then
//! damaged.

use std::path::Path;
use std::process::{Command, Output};

fn kvitt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kvitt")).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Rewrites the tar at `from` into `to`, passing each entry's path and bytes through `change`
/// (which drops the entry by returning `None`).
fn rewrite(from: &Path, to: &Path, mut change: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let bytes = std::fs::read(from).unwrap();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut builder = tar::Builder::new(std::fs::File::create(to).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_str().unwrap().to_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        if let Some(data) = change(&path, data) {
            let mut header = tar::Header::new_ustar();
            header.set_size(data.len() as u64);
            header.set_mode(0o444);
            builder.append_data(&mut header, &path, data.as_slice()).unwrap();
        }
    }
    builder.finish().unwrap();
}

#[test]
fn the_demo_day_archived_verifies_with_and_without_kvitt_and_damage_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let demo = kvitt(&["demo", "--data", data.to_str().unwrap()]);
    assert!(demo.status.success(), "{}{}", text(&demo.stdout), text(&demo.stderr));
    let ssc = data.join("ssc");
    let bundle = dir.path().join("day.tar");
    let export = |out: &Path| {
        kvitt(&[
            "archive",
            "export",
            "--data",
            ssc.to_str().unwrap(),
            "--from",
            "2000-01-01",
            "--to",
            "2100-12-31",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let output = export(&bundle);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("claim_event"), "{}", text(&output.stdout));

    let output = kvitt(&["archive", "verify", bundle.to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("verified") && stdout.contains("claim chains complete"), "{stdout}");

    // Without kvitt: any tar unpacks it, sha256sum checks every file.
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let tar = Command::new("tar").arg("xf").arg(&bundle).arg("-C").arg(&unpacked).status().unwrap();
    assert!(tar.success());
    let sums = Command::new("sha256sum")
        .args(["-c", "--quiet", "MANIFEST.sha256"])
        .current_dir(&unpacked)
        .status()
        .unwrap();
    assert!(sums.success());
    assert!(std::fs::read_to_string(unpacked.join("README.txt")).unwrap().contains("SIGNING INPUT"));

    // An existing bundle is never overwritten.
    let before = std::fs::read(&bundle).unwrap();
    let output = export(&bundle);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("never overwritten"), "{}", text(&output.stderr));
    assert_eq!(std::fs::read(&bundle).unwrap(), before);

    // A running node holds its ledger: the export says to stop it, and writes nothing.
    let held = std::fs::File::create(ssc.join(kvitt_node::store::ledger_start::LOCK_FILE)).unwrap();
    fs2::FileExt::try_lock_exclusive(&held).unwrap();
    let locked = dir.path().join("locked.tar");
    let output = export(&locked);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("stop it first"), "{}", text(&output.stderr));
    assert!(!locked.exists());
    drop(held);

    // A flipped byte in one record: exit 1, naming the file.
    let damaged = dir.path().join("damaged.tar");
    let mut flipped = None;
    rewrite(&bundle, &damaged, |path, mut data| {
        if flipped.is_none() && path.starts_with("records/claim_event/") {
            data[30] ^= 0x01;
            flipped = Some(path.to_owned());
        }
        Some(data)
    });
    let output = kvitt(&["archive", "verify", damaged.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&flipped.unwrap()) && stderr.contains("SHA-256"), "{stderr}");

    // A deleted record: exit 1, naming it.
    let deleted = dir.path().join("deleted.tar");
    let mut removed = None;
    rewrite(&bundle, &deleted, |path, data| {
        if removed.is_none() && path.starts_with("records/receipt/") {
            removed = Some(path.to_owned());
            return None;
        }
        Some(data)
    });
    let output = kvitt(&["archive", "verify", deleted.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&removed.unwrap()) && stderr.contains("missing"), "{stderr}");
}

#[test]
fn a_missing_bundle_exits_2_and_a_bad_date_is_a_usage_error() {
    let output = kvitt(&["archive", "verify", "/nonexistent/bundle.tar"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("/nonexistent/bundle.tar"), "{}", text(&output.stderr));
    let output = kvitt(&[
        "archive",
        "export",
        "--data",
        "/nonexistent",
        "--from",
        "2026-13-01",
        "--to",
        "2026-12-31",
        "--out",
        "x.tar",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("not a date"), "{}", text(&output.stderr));
}
