//! A merchant's ledger damaged while it is stopped, mid-day: receipts pushed while the
//! agency was up reached it, those pushed while it was down were acknowledged and are only
//! at the merchant. After the damage (the last eighth of `ledger/db` cut off, or bytes
//! flipped inside it) the merchant signs nothing until `kvitt recover` has fetched back
//! what the agency holds; it reports the acknowledged receipts no peer returned, the till
//! goes on above them, and no node holds evidence of a serial signed twice.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use support::{receipt, receipt_json, Network};

/// Receipts pushed while the agency is up: it holds them.
const DELIVERED: u64 = 40;
/// Receipts pushed, and acknowledged, while the agency is down.
const UNDELIVERED: u64 = 40;
/// The last serial the till was told was stored.
const LAST: u64 = DELIVERED + UNDELIVERED;

/// How the merchant's `ledger/db` is damaged while it is stopped.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// Its last eighth cut off.
    Truncate,
    /// 512 bytes flipped in the middle and at three quarters.
    Flip,
}

fn damage(db: &Path, how: Damage) {
    let mut bytes = std::fs::read(db).unwrap();
    let length = bytes.len();
    match how {
        Damage::Truncate => bytes.truncate(length - length / 8),
        Damage::Flip => {
            for at in [length / 2, length * 3 / 4] {
                for byte in &mut bytes[at..(at + 512).min(length)] {
                    *byte ^= 0x5a;
                }
            }
        }
    }
    std::fs::write(db, bytes).unwrap();
}

/// Every serial 1..=`LAST` pushed again exactly as before: the ones the merchant holds are
/// answered as duplicates, the others refused as already used (never signed again).
fn held_and_lost(network: &Network) -> (Vec<u64>, Vec<u64>) {
    let (mut held, mut lost) = (Vec::new(), Vec::new());
    for serial in 1..=LAST {
        let (status, answer) =
            network.merchant.call("POST", "/v1/receipts", &network.till, Some(receipt_json(serial)));
        match status {
            200 => held.push(serial),
            409 if answer["code"] == "receipt.serial" => lost.push(serial),
            _ => panic!("serial {serial} pushed again: {status} {answer}\n{}", network.logs()),
        }
    }
    (held, lost)
}

/// The serials a recovery report lists as lost.
fn reported_lost(report: &Value) -> Vec<u64> {
    report["lost"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|range| {
            assert_eq!(range["register"], "KASSA-1", "{range}");
            range["from"].as_u64().unwrap()..=range["to"].as_u64().unwrap()
        })
        .collect()
}

fn no_exceptions(network: &Network) {
    for node in [&network.merchant, &network.agency] {
        let listed = node.cli_ok(&node.operator, &["exceptions"]);
        assert_eq!(
            listed,
            serde_json::json!([]),
            "no evidence of a serial signed twice at the {}",
            node.name
        );
    }
}

fn a_damaged_merchant_recovers_what_the_agency_holds_and_goes_on(how: Damage) {
    let mut network = Network::set_up();
    network.agency.start();
    network.merchant.start();
    for serial in 1..=DELIVERED {
        network.push(&receipt("KASSA-1", serial));
    }
    network.wait_for_agency(&(1..=DELIVERED).collect::<Vec<_>>());
    network.agency.kill9();
    for serial in DELIVERED + 1..=LAST {
        network.push(&receipt("KASSA-1", serial));
    }
    network.merchant.kill9();
    damage(&network.merchant.data.join("ledger").join("db"), how);
    network.merchant.start();
    let (status, refusal) =
        network.merchant.call("POST", "/v1/receipts", &network.till, Some(receipt_json(LAST + 1)));
    assert_eq!(
        (status, &refusal["code"], &refusal["retry"]),
        (503, &"node.recovering".into(), &true.into()),
        "{how:?}: {refusal}\n{}",
        network.logs()
    );
    assert!(refusal["detail"].as_str().unwrap().contains("kvitt recover"), "{refusal}");
    // Alive, but not ready for writes: the probes say why, without a token.
    assert_eq!(network.merchant.call("GET", "/healthz", "", None).0, 200);
    let (status, ready) = network.merchant.call("GET", "/readyz", "", None);
    assert_eq!((status, &ready["checks"]["recovery"]["ok"]), (503, &false.into()), "{ready}");
    assert!(ready["checks"]["recovery"]["detail"].as_str().unwrap().contains("node.recovering"), "{ready}");
    let aside: Vec<_> = std::fs::read_dir(&network.merchant.data)
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("ledger.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged ledger is kept: {aside:?}");

    network.agency.start();
    let report = network.merchant.cli_ok(&network.merchant.operator, &["recover", "--timeout", "120"]);
    assert_eq!(report["state"], "finished", "{report}");
    let (status, ready) = network.merchant.call("GET", "/readyz", "", None);
    assert_eq!(status, 200, "ready again once recovered: {ready}");
    let (held, lost) = held_and_lost(&network);
    assert!(held.iter().copied().eq(1..=held.len() as u64), "{how:?}: a prefix of the day is back: {held:?}");
    assert!(held.len() as u64 >= DELIVERED, "{how:?}: everything the agency held came back: {held:?}");
    assert_eq!(
        reported_lost(&report),
        lost,
        "{how:?}: the report names exactly the serials not held: {report}"
    );
    assert_eq!(report["lost_receipts"], lost.len(), "{report}");
    eprintln!("{how:?}: {} receipts held after the recovery, {} reported lost", held.len(), lost.len());

    // The till goes on after the last serial it was told was stored.
    network.push(&receipt("KASSA-1", LAST + 1));
    let mut expected: BTreeSet<u64> = held.into_iter().collect();
    expected.insert(LAST + 1);
    network.wait_for_agency(&expected.into_iter().collect::<Vec<_>>());
    no_exceptions(&network);
}

#[test]
fn a_merchant_whose_ledger_lost_its_last_eighth_recovers_and_reports_what_no_peer_holds() {
    a_damaged_merchant_recovers_what_the_agency_holds_and_goes_on(Damage::Truncate);
}

#[test]
fn a_merchant_whose_ledger_has_flipped_bytes_recovers_and_reports_what_no_peer_holds() {
    a_damaged_merchant_recovers_what_the_agency_holds_and_goes_on(Damage::Flip);
}
