//! A merchant backed up while its till pushes receipts, then lost: restored from the
//! backup into a new folder, it signs nothing until `kvitt recover` has brought back from
//! the agency every receipt it acknowledged after the backup, and then goes on above the
//! last serial it had issued, never signing one of them again.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{kvitt, kvitt_output, receipt, receipt_json, Network};

/// Receipts pushed before the backup starts.
const BEFORE: u64 = 30;
/// Receipts pushed while the backup runs.
const DURING: u64 = 30;
/// Receipts pushed after the backup, until the merchant is lost.
const AFTER: u64 = 20;
/// The last serial the till was told was stored.
const LAST: u64 = BEFORE + DURING + AFTER;

/// The bundle's `backup.json`, read with `tar` as anyone could.
fn backup_json(bundle: &Path) -> Value {
    let output = std::process::Command::new("tar")
        .args(["-xOf", &bundle.display().to_string(), "backup.json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_merchant_restored_from_a_backup_catches_up_from_the_agency_before_it_signs_again() {
    let mut network = Network::set_up();
    network.ssc.start();
    network.agency.start();
    network.merchant.start();
    for serial in 1..=BEFORE {
        network.push(&receipt("KASSA-1", serial));
    }
    // The ledger goes to the node's operator only.
    let (status, refusal) = network.merchant.call("GET", "/v1/admin/backup", &network.till, None);
    assert_eq!((status, &refusal["code"]), (403, &"auth.forbidden".into()), "{refusal}");
    let root = tempfile::tempdir().unwrap();
    let bundle = root.path().join("merchant.tar");
    let merchant_data = network.merchant.data.display().to_string();
    std::thread::scope(|scope| {
        let till = scope.spawn(|| {
            for serial in BEFORE + 1..=BEFORE + DURING {
                network.push(&receipt("KASSA-1", serial));
            }
        });
        let out = bundle.display().to_string();
        let output = kvitt(&["backup", "--data", &merchant_data, "--out", &out, "--as", "operator-1"]);
        assert!(output.contains("writes waited"), "dumped by the running node: {output}");
        till.join().unwrap();
    });
    for serial in BEFORE + DURING + 1..=LAST {
        network.push(&receipt("KASSA-1", serial));
    }
    network.wait_for_agency(&(1..=LAST).collect::<Vec<_>>());
    let info = backup_json(&bundle);
    assert_eq!((&info["format"], &info["online"]), (&"kvitt-backup/1".into(), &true.into()), "{info}");

    network.merchant.kill9();
    let restored = root.path().join("merchant-restored");
    // The merchant's folder is gone with its machine: only the bundle is left.
    std::fs::rename(&network.merchant.data, root.path().join("merchant-lost")).unwrap();
    let output = kvitt(&[
        "restore",
        "--from",
        &bundle.display().to_string(),
        "--data",
        &restored.display().to_string(),
    ]);
    assert!(output.contains("kvitt recover"), "{output}");
    network.merchant.data = restored;
    network.merchant.start();

    let (status, refusal) =
        network.merchant.call("POST", "/v1/receipts", &network.till, Some(receipt_json(LAST + 1)));
    assert_eq!(
        (status, &refusal["code"]),
        (503, &"node.recovering".into()),
        "a restored node signs nothing before it has caught up: {refusal}\n{}",
        network.logs()
    );
    assert!(refusal["detail"].as_str().unwrap().contains("restored from a backup taken at"), "{refusal}");

    let report = network.merchant.cli_ok(&network.merchant.operator, &["recover", "--timeout", "120"]);
    assert_eq!(report["state"], "finished", "{report}");
    assert_eq!(report["lost_receipts"], 0, "the agency held every receipt: {report}");
    let at_start = report["recovery"]["records_at_start"].as_u64().unwrap();
    let now = report["records_now"].as_u64().unwrap();
    assert!(at_start < now, "receipts acknowledged after the backup came back: {at_start} then {now}");

    // Every receipt the till was told was stored is held again: pushed again as it was,
    // each is answered as the one already signed.
    for serial in 1..=LAST {
        let (status, answer) =
            network.merchant.call("POST", "/v1/receipts", &network.till, Some(receipt_json(serial)));
        assert_eq!((status, &answer["duplicate"]), (200, &true.into()), "serial {serial}: {answer}");
    }
    // A different receipt under a serial issued after the backup is never signed.
    let mut other = receipt("KASSA-1", LAST);
    other.issued_at = "2026-05-04T09:15:00+02:00".into();
    let (status, answer) = network.merchant.call(
        "POST",
        "/v1/receipts",
        &network.till,
        Some(serde_json::to_string(&other).unwrap()),
    );
    assert_eq!((status, &answer["code"]), (409, &"receipt.serial".into()), "{answer}");
    // The till goes on after the last serial it was told was stored.
    network.push(&receipt("KASSA-1", LAST + 1));
    network.wait_for_agency(&(1..=LAST + 1).collect::<Vec<_>>());
    for node in [&network.merchant, &network.agency] {
        let listed = node.cli_ok(&node.operator, &["exceptions"]);
        assert_eq!(listed, serde_json::json!([]), "no serial signed twice, at the {}", node.name);
    }
}

#[test]
fn a_backup_of_a_stopped_node_and_a_damaged_bundle() {
    let network = Network::set_up();
    let root = tempfile::tempdir().unwrap();
    let bundle = root.path().join("agency.tar");
    let agency = network.agency.data.display().to_string();
    let output = kvitt(&["backup", "--data", &agency, "--out", &bundle.display().to_string()]);
    assert!(output.contains("read from the stopped node"), "{output}");
    assert_eq!(backup_json(&bundle)["online"], false);
    // Written again over itself: refused, the bundle kept.
    let again = kvitt_output(&["backup", "--data", &agency, "--out", &bundle.display().to_string()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    // A bundle cut short inside its ledger's dump (whose magic README.txt names too):
    // refused, nothing written.
    let bytes = std::fs::read(&bundle).unwrap();
    let dump = bytes.windows(8).rposition(|window| window == b"KVITTDMP").unwrap();
    let cut = root.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..dump + 50]).unwrap();
    let target = root.path().join("never");
    let refused = kvitt_output(&[
        "restore",
        "--from",
        &cut.display().to_string(),
        "--data",
        &target.display().to_string(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("ledger.dump"), "{stderr}");
    assert!(!target.exists(), "nothing written");
}
