//! The simulator's real mode (`kvitt-sim --real`) against the `kvitt` binary: separate
//! node processes, real QUIC and sled, a fault-injecting relay, SIGKILL; its checks read
//! the real ledgers afterwards, and catch what is wrong with them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::time::Duration;

use kvitt_simulator::config::{FaultMix, Sabotage, SimConfig};
use kvitt_simulator::real::{self, RealOptions};

fn small(seed: u64, faults: FaultMix) -> SimConfig {
    let mut config = SimConfig::new(seed, faults);
    config.nodes = 5;
    config.receipts = 40;
    config.claims = 4;
    config.employees_per_agency = 2;
    config.reconcile_interval_s = 5;
    config
}

fn options(duration_s: u64) -> RealOptions {
    RealOptions {
        kvitt: support::kvitt_binary().to_owned(),
        data: None,
        reconcile_interval_secs: 5,
        duration: Duration::from_secs(duration_s),
    }
}

#[test]
fn a_real_network_under_every_fault_keeps_its_guarantees() {
    let config = small(3, FaultMix::All);
    let outcome = real::run(&config, &options(10), &|_| {}).unwrap();
    let report = &outcome.report;
    assert!(outcome.violations.is_empty(), "{:#?}\n{}", outcome.violations, report.table());
    assert_eq!(report.workload.receipts, 40, "every push acknowledged:\n{}", report.table());
    // Sales go with only the enrolled card, refunds name their buyer.
    assert_eq!(report.workload.routed_by_card + report.workload.refunds, 40, "{}", report.table());
    assert!(report.workload.routed_by_card > 30, "{}", report.table());
    assert_eq!(report.workload.claims_submitted, 4);
    assert_eq!(report.workload.claims_paid + report.workload.claims_rejected, 4);
    assert_eq!(report.workload.double_claims_refused, 1);
    assert_eq!(report.push_to_agency.count, 40, "every receipt seen at its agency");
    assert!(report.relay.forwarded > 0, "the nodes talked through the relay");
    assert!(report.kills + report.partitions > 0, "faults were injected:\n{}", report.table());
}

#[test]
fn the_checks_read_the_real_ledgers_and_catch_a_missing_receipt() {
    let mut config = small(4, FaultMix::None);
    config.sabotage = Some(Sabotage::DropAcknowledged);
    let outcome = real::run(&config, &options(0), &|_| {}).unwrap();
    // The receipt deleted from the agency's copy is reported missing; if a paid claim
    // holds it, that claim no longer books at the agency either, and nothing else breaks.
    let missing = outcome
        .violations
        .iter()
        .find(|violation| violation.invariant == "every acknowledged receipt is at its agency")
        .unwrap_or_else(|| panic!("the missing receipt is not reported: {:#?}", outcome.violations));
    let receipt = missing.details.split_whitespace().nth(1).unwrap().to_owned();
    for violation in &outcome.violations {
        assert!(violation.details.contains(&receipt), "a violation not about {receipt}: {violation:#?}");
    }
    assert!(outcome.data.join("000-ssc").join("run-1.log").exists(), "a failed run keeps its data and logs");
    let _ = std::fs::remove_dir_all(&outcome.data);
}
