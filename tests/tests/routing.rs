//! Card routing end to end over loopback QUIC (spec/routing.md): an agency enrols a card
//! at its SSC; a till that knows only the card payment gets its receipt to that agency; an
//! unenrolled card's receipt stays with the merchant; no node's store holds the reference.

mod support;

use std::path::Path;

use serde_json::json;
use support::{receipt, Network, AGENCY_ORG};

/// An EMVCo Payment Account Reference: 29 characters.
const PAR: &str = "V0010013018209568912345678912";
/// A card nobody enrolled.
const STRANGER: &str = "V0010013018209568900000000001";
/// The network's routing key, as the operator hands it to merchants and agencies.
const ROUTING_KEY: &str = "5f1e8c2a9b7d4e3f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7";

/// Whether any file under `dir` contains `needle`.
fn holds_bytes(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() {
            holds_bytes(&path, needle)
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            bytes.windows(needle.len()).any(|window| window == needle)
        }
    })
}

/// A receipt of `serial` as the till sends it: its card payment, no buyer.
fn buyerless(serial: u64) -> String {
    let mut receipt = receipt("KASSA-1", serial);
    receipt.buyer = None;
    serde_json::to_string(&receipt).unwrap()
}

/// The till pushes `receipt` (JSON) with `card` and no buyer; the answer, which must have `status`.
fn push_by_card(network: &Network, card: &str, receipt: String, status: u16) -> serde_json::Value {
    network.merchant.expect(
        status,
        "POST",
        &format!("/v1/receipts?card={card}"),
        &network.till,
        Some(receipt),
    )
}

#[test]
fn a_till_with_only_the_card_payment_gets_its_receipt_to_the_enrolling_agency() {
    let mut network = Network::set_up();
    for node in [&network.merchant, &network.agency] {
        std::fs::write(node.data.join("routing.key"), ROUTING_KEY).unwrap();
    }
    network.ssc.start();
    network.agency.start();
    network.merchant.start();

    // The agency's operator enrols the employee's card with the command: only its keyed
    // hash reaches the SSC.
    let enrolment = json!({ "cards": [{ "reference": PAR, "employee": support::EMPLOYEE }] });
    let file = network.agency.data.join("cards.json");
    std::fs::write(&file, enrolment.to_string()).unwrap();
    let answer = network.agency.cli_ok(&network.agency.operator, &["cards", "enrol", file.to_str().unwrap()]);
    assert_eq!(answer["cards"], 1, "{answer}");
    // A card number is refused before anything leaves the agency.
    let pan = json!({ "cards": [{ "reference": "4111111111111111" }] });
    let refused =
        network.agency.expect(422, "POST", "/v1/cards", &network.agency.operator, Some(pan.to_string()));
    assert_eq!(
        (refused["code"].as_str(), refused["path"].as_str()),
        (Some("payment.masked_pan"), Some("cards[0].reference"))
    );

    // The till pushes with the card reference and no buyer.
    let answer = push_by_card(&network, PAR, buyerless(1), 201);
    let routed = answer["id"].as_str().unwrap().to_owned();
    network.wait_for_agency(&[1]);
    let view = network.agency.expect(200, "GET", &format!("/v1/records/{routed}"), &network.employee, None);
    assert_eq!(view["body"]["buyer"]["agency"], AGENCY_ORG, "{view}");

    // A card nobody enrolled: the receipt is signed without a buyer and stays with the merchant.
    let answer = push_by_card(&network, STRANGER, buyerless(2), 201);
    let kept = answer["id"].as_str().unwrap().to_owned();
    let view =
        network.merchant.expect(200, "GET", &format!("/v1/records/{kept}"), &network.merchant.operator, None);
    assert!(view["body"].get("buyer").is_none(), "{view}");
    // A third, routed receipt (pushed with the command) arrives after it: had the second
    // gone anywhere, it would be first.
    let file = network.merchant.data.join("receipt-3.json");
    std::fs::write(&file, buyerless(3)).unwrap();
    network.merchant.cli_ok(&network.till, &["receipt", "push", file.to_str().unwrap(), "--card", PAR]);
    network.wait_for_agency(&[1, 3]);
    assert_eq!(network.agency.record_status(&kept.parse().unwrap()), 404, "the agency never got it");

    // The same push again is answered with the receipt signed for it, looking nothing up
    // (spec/routing.md §Lookup: a routing is decided once).
    let again = push_by_card(&network, PAR, buyerless(3), 200);
    assert_eq!(again["duplicate"], true, "{again}");
    // The merchant cannot probe a serial it already used with another receipt: each lookup
    // burns a serial. (No message lists enrolments: the wire has none, spec/node.md §Messages.)
    let mut probe = receipt("KASSA-1", 3);
    probe.buyer = None;
    probe.issued_at = "2026-05-04T08:16:00+02:00".into();
    let refused = push_by_card(&network, PAR, serde_json::to_string(&probe).unwrap(), 409);
    assert_eq!(refused["code"], "receipt.serial", "{refused}");

    // No node's store holds the reference in clear: the SSC has only keyed hashes.
    network.ssc.kill9();
    network.merchant.kill9();
    network.agency.kill9();
    for node in [&network.ssc, &network.merchant, &network.agency] {
        assert!(!holds_bytes(&node.data.join("ledger"), PAR.as_bytes()), "{} stores the PAR", node.name);
    }
}
