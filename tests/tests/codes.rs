//! Receipt codes end to end over loopback QUIC (spec/codes.md): a cash receipt pushed
//! without a buyer gets a code; an agency's employee fetches it with the code and the
//! receipt arrives with the merchant's assignment; a second agency presenting the same code
//! is refused; a mistyped code is refused before anything is asked; guessing is bounded.

mod support;

use kvitt_node::core::CODE_ATTEMPTS_PER_HOUR;
use kvitt_protocol::code::ReceiptCode;
use support::{receipt, Network, AGENCY_ORG, EMPLOYEE, MERCHANT_ORG};

/// A second agency of the network (a valid organisation number).
const OTHER_AGENCY_ORG: &str = "202100-5414";

/// A cash sale: no buyer and no card.
fn cash(serial: u64) -> String {
    let mut receipt = receipt("KASSA-1", serial);
    receipt.buyer = None;
    serde_json::to_string(&receipt).unwrap()
}

#[test]
fn a_cash_receipt_is_fetched_by_code_once_and_wrong_codes_are_refused() {
    let mut network = Network::set_up();
    let mut other = network.add_agency("other-agency", OTHER_AGENCY_ORG);
    let other_employee = other.token("emp-9", "employee");
    network.ssc.start();
    network.agency.start();
    network.merchant.start();
    other.start();

    // The till pushes a cash receipt; the answer carries its code and QR payload.
    let answer = network.merchant.expect(201, "POST", "/v1/receipts", &network.till, Some(cash(1)));
    let id = answer["id"].as_str().unwrap().to_owned();
    let code = answer["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with(MERCHANT_ORG), "{answer}");
    assert_eq!(answer["qr"], format!("KVITT:R:{code}"), "{answer}");

    // A mistyped check character is refused by the agency's node, naming the check.
    let last = code.chars().last().unwrap();
    let mistyped = format!("{}{}", &code[..code.len() - 1], if last == '0' { '1' } else { '0' });
    let refused = network.agency.expect(
        422,
        "POST",
        "/v1/receipts/fetch",
        &network.employee,
        Some(serde_json::json!({ "code": mistyped }).to_string()),
    );
    assert_eq!((refused["code"].as_str(), refused["path"].as_str()), (Some("code.check"), Some("code")));

    // The employee fetches it with the command, typed in lower case with spaces.
    let typed = code.to_lowercase().replace('-', " ");
    let fetched = network.agency.cli_ok(&network.employee, &["receipt", "fetch", &typed]);
    assert_eq!(fetched["id"], id.as_str(), "{fetched}");
    let assignment = fetched["assignment"].as_str().unwrap();
    let record =
        network.agency.expect(200, "GET", &format!("/v1/records/{assignment}"), &network.employee, None);
    assert_eq!(record["type"], "assignment", "{record}");
    assert_eq!(record["body"]["receipt"], id.as_str(), "{record}");
    assert_eq!(record["body"]["buyer"]["agency"], AGENCY_ORG, "{record}");
    assert_eq!(record["body"]["buyer"]["employee"], EMPLOYEE, "{record}");
    // It is in the employee's Mina kvitton and readable by them.
    assert_eq!(network.agency_serials(), vec![1]);
    network.agency.expect(200, "GET", &format!("/v1/records/{id}"), &network.employee, None);

    // Another agency presenting the same code is refused: the first agency won.
    let refused = other.expect(
        409,
        "POST",
        "/v1/receipts/fetch",
        &other_employee,
        Some(serde_json::json!({ "code": answer["qr"] }).to_string()),
    );
    assert_eq!(refused["code"], "code.collected", "{refused}");

    // Guessing: wrong codes of this merchant are unknown until the hourly limit, then the
    // agency is refused every collect, its earlier failure included in the count.
    for attempt in 1..CODE_ATTEMPTS_PER_HOUR {
        let guess = ReceiptCode::generate(MERCHANT_ORG, u64::from(attempt).to_le_bytes()).unwrap();
        let body = serde_json::json!({ "code": guess.to_string() }).to_string();
        let refused = other.expect(404, "POST", "/v1/receipts/fetch", &other_employee, Some(body));
        assert_eq!(refused["code"], "code.unknown", "attempt {attempt}: {refused}");
    }
    let second = network.merchant.expect(201, "POST", "/v1/receipts", &network.till, Some(cash(2)));
    let body = serde_json::json!({ "code": second["code"] }).to_string();
    let refused = other.expect(429, "POST", "/v1/receipts/fetch", &other_employee, Some(body.clone()));
    assert_eq!(refused["code"], "request.rate_limited", "{refused}");
    // The limit is the guessing agency's: the first agency still collects.
    let fetched = network.agency.expect(201, "POST", "/v1/receipts/fetch", &network.employee, Some(body));
    assert_eq!(fetched["id"], second["id"], "{fetched}");
}
