//! `kvitt conformance` against kvitt itself (spec/README.md): a running agency, checked by
//! the conformance client holding the merchant's node key (the merchant node stays
//! stopped), with every invalid record vector of spec/vectors/. Every check must pass, and
//! the table must name the spec section of each.

mod support;

use support::{kvitt_output, Network};

#[test]
fn kvitt_passes_its_own_conformance_checks() {
    let mut network = Network::set_up();
    network.agency.start();
    let key = network.merchant.data.join("node.key");
    let vectors = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors");
    let output = kvitt_output(&[
        "conformance",
        &format!("--peer={}", network.agency.peer),
        &format!("--peer-key={}", network.agency.key),
        &format!("--key={}", key.display()),
        &format!("--vectors={vectors}"),
    ]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kvitt conformance failed ({}):\n{table}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        network.logs()
    );
    // Every section the kit covers is in the table, and no check failed.
    for section in [
        "node.md §QUIC and TLS profile",
        "node.md §Verifying a peer",
        "node.md §Connection setup",
        "node.md §Request (directory)",
        "node.md §Messages",
        "node.md §Request (limits)",
        "node.md §Judging a request",
        "node.md §Reconciliation",
        "protocol.md §Decoding (vectors)",
        "node.md §Framing",
    ] {
        assert!(table.contains(section), "no check of {section}:\n{table}");
    }
    assert!(!table.contains("FAIL"), "{table}");
    println!("{table}");
    assert!(table.lines().filter(|line| line.starts_with("pass")).count() > 60, "{table}");
}

/// A key the directory does not list gets no connection, and the table says so with exit 1.
#[test]
fn a_key_outside_the_directory_fails_at_the_handshake() {
    let mut network = Network::set_up();
    network.agency.start();
    let stranger = tempfile::tempdir().unwrap();
    let key = stranger.path().join("node.key");
    std::fs::write(&key, "5a".repeat(32)).unwrap();
    let output = kvitt_output(&[
        "conformance",
        &format!("--peer={}", network.agency.peer),
        &format!("--peer-key={}", network.agency.key),
        &format!("--key={}", key.display()),
    ]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{table}");
    assert!(table.contains("FAIL  node.md §Verifying a peer"), "{table}");
}
