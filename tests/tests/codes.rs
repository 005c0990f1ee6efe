//! Receipt codes end to end over loopback QUIC (spec/codes.md): a cash receipt pushed
//! without a buyer gets a code; an agency's employee fetches it with the code and the
//! receipt arrives with the merchant's assignment; a second agency presenting the same code
//! is refused; a mistyped code is refused before anything is asked; guessing is bounded.
//! A receipt so collected is claimed, approved, booked and paid like any other (spec/codes.md
//! §Claims): its assignment travels with the claim to the SSC.

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

/// `#TRANS account {} amount …` as (account, öre): the rows of an SIE file.
fn sie_rows(text: &str) -> Vec<(String, i64)> {
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix("#TRANS "))
        .map(|row| {
            let fields: Vec<&str> = row.split(' ').collect();
            let (kronor, ore) = fields[2].trim_start_matches('-').split_once('.').unwrap();
            let amount = kronor.parse::<i64>().unwrap() * 100 + ore.parse::<i64>().unwrap();
            (fields[0].to_owned(), if fields[2].starts_with('-') { -amount } else { amount })
        })
        .collect()
}

#[test]
fn a_cash_receipt_collected_by_code_is_claimed_booked_and_paid_with_its_assignment() {
    let mut network = Network::set_up();
    network.ssc.start();
    network.agency.start();
    network.merchant.start();

    let answer = network.merchant.expect(201, "POST", "/v1/receipts", &network.till, Some(cash(1)));
    let code = answer["code"].as_str().unwrap().to_owned();
    let fetched = network.agency.cli_ok(&network.employee, &["receipt", "fetch", &code]);
    let id = fetched["id"].as_str().unwrap().to_owned();
    let assignment = fetched["assignment"].as_str().unwrap().to_owned();

    // The employee claims it, for its whole total, and an approver approves.
    let agency = &network.agency;
    let draft = agency.cli_ok(&network.employee, &["claim", "new", "--purpose", "Konferens i Stockholm"]);
    let number = draft["number"].as_str().unwrap().to_owned();
    let purpose = "Logi under konferens";
    let add = [
        "claim",
        "add",
        &number,
        "--receipt",
        &id,
        "--purpose",
        purpose,
        "--account",
        "5831",
        "--cost-center",
        "CC-100",
    ];
    let draft = agency.cli_ok(&network.employee, &add);
    assert_eq!(draft["items"][0]["amount"], 162_400, "{draft}");
    let submitted = agency.cli_ok(&network.employee, &["claim", "submit", &number]);
    let claim_id = submitted["claim"].as_str().unwrap().to_owned();
    let approved = agency.cli_ok(&network.approver, &["claim", "approve", &claim_id]);
    assert_eq!(approved["status"], "approved");

    // The receipt and its assignment went with the claim; the SSC takes, books and pays it.
    let at_ssc = network.wait_for_claim(&network.ssc, &network.ssc_staff, &claim_id, "approved");
    assert_eq!(at_ssc["exception"], serde_json::Value::Null, "{at_ssc}");
    assert_eq!(network.ssc.record_status(&id.parse().unwrap()), 200, "the receipt came along");
    assert_eq!(network.ssc.record_status(&assignment.parse().unwrap()), 200, "its assignment too");
    let booked = network.ssc.cli_ok(&network.ssc_staff, &["ssc", "book", &claim_id]);
    assert_eq!(booked["status"], "booked", "{booked}");
    let paid = network.ssc.cli_ok(&network.ssc_staff, &["ssc", "pay", &claim_id]);
    assert_eq!(paid["status"], "paid", "{paid}");
    let claim = network.wait_for_claim(&network.agency, &network.employee, &claim_id, "paid");

    // The voucher: the hotel night less its VAT, the VAT deducted (the buyer is named, by
    // the assignment), the whole total owed to the employee.
    let year = &claim["events"][2]["event"]["at"].as_str().unwrap()[..4];
    let (from, to) = (format!("{year}-01-01"), format!("{year}-12-31"));
    let (api, token) =
        (format!("--api=http://{}", network.ssc.api), format!("--token={}", network.ssc_staff));
    let sie = support::kvitt(&[
        "ssc",
        "export-sie",
        "--agency",
        AGENCY_ORG,
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        "-",
        &api,
        &token,
    ]);
    let vat_rows = receipt("KASSA-1", 1).vat;
    let vat: i64 = vat_rows.iter().map(|row| row.vat).sum();
    let mut expected = vec![("5831".to_owned(), 162_400 - vat)];
    expected.extend(vat_rows.iter().map(|row| ("2640".to_owned(), row.vat)));
    expected.push(("2820".to_owned(), -162_400));
    assert_eq!(sie_rows(&sie), expected, "{sie}");
    assert!(sie.contains(&format!("kvitto {id}")), "{sie}");
}
