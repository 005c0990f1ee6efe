//! End to end across a merchant, an agency and an SSC, each a `kvitt` process on loopback
//! QUIC: a till's receipts become a claim that is submitted, approved, booked and paid,
//! through the `kvitt` commands and the client API; and a receipt reissued for the same
//! card payment and claimed again is caught by the SSC and rejected.

mod support;

use serde_json::{json, Value};
use support::{receipt, Network, EMPLOYEE};

/// The kinds of a claim's events, oldest first.
fn event_kinds(claim: &Value) -> Vec<&str> {
    claim["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["event"]["action"]["kind"].as_str().unwrap())
        .collect()
}

/// The ids of the receipts the employee sees at the agency, in the order listed.
fn listed_ids(network: &Network) -> Vec<String> {
    let listed = network.agency.expect(200, "GET", "/v1/receipts", &network.employee, None);
    listed.as_array().unwrap().iter().map(|view| view["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_claim_goes_from_the_till_to_paid_through_the_kvitt_commands() {
    let mut network = Network::set_up();
    network.ssc.start();
    network.agency.start();
    network.merchant.start();

    let pushed: Vec<String> = (1..=3).map(|serial| network.push(&receipt("KASSA-1", serial))).collect();
    network.wait_for_agency(&[1, 2, 3]);
    let mut listed = listed_ids(&network);
    listed.sort();
    let mut expected = pushed.clone();
    expected.sort();
    assert_eq!(listed, expected, "the employee sees exactly the receipts the till pushed");

    // The employee builds and submits a claim with the `kvitt claim` commands.
    let agency = &network.agency;
    let draft = agency.cli_ok(&network.employee, &["claim", "new", "--purpose", "Konferens i Stockholm"]);
    let number = draft["number"].as_str().unwrap().to_owned();
    assert_eq!(
        (draft["claimant"].as_str(), draft["items"].as_array().map(Vec::len)),
        (Some(EMPLOYEE), Some(0))
    );
    let draft = agency.cli_ok(
        &network.employee,
        &[
            "claim",
            "add",
            &number,
            "--receipt",
            &pushed[0],
            "--purpose",
            "Logi under konferens",
            "--account",
            "5831",
            "--cost-center",
            "CC-100",
        ],
    );
    let items = draft["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{draft}");
    assert_eq!(items[0]["receipt"], pushed[0].as_str());
    assert_eq!(items[0]["amount"], 162_400, "claimed for the receipt's total: {draft}");
    let submitted = agency.cli_ok(&network.employee, &["claim", "submit", &number]);
    let claim_id = submitted["claim"].as_str().unwrap().to_owned();
    let claim = agency.claim(&claim_id, &network.employee).unwrap();
    assert_eq!((claim["status"].as_str(), event_kinds(&claim)), (Some("submitted"), vec!["submitted"]));

    // The claimant may not approve their own claim: not with an employee token (the role
    // is wrong), and not with an approver token of their own (refused by the rule's name,
    // before the state machine, which would refuse it too).
    let (code, problem) = agency.cli(&network.employee, &["claim", "approve", &claim_id]);
    assert_eq!((code, problem["code"].as_str()), (1, Some("auth.forbidden")), "{problem}");
    let (code, problem) = agency.cli(&network.self_approver, &["claim", "approve", &claim_id]);
    assert_eq!((code, problem["code"].as_str()), (1, Some("claim.policy")), "{problem}");
    assert_eq!(problem["status"], 422, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("policy.self_approval (error)"), "{problem}");
    let claim = agency.claim(&claim_id, &network.employee).unwrap();
    assert_eq!(
        (claim["status"].as_str(), event_kinds(&claim)),
        (Some("submitted"), vec!["submitted"]),
        "a refused approval changes nothing"
    );

    let approved = agency.cli_ok(&network.approver, &["claim", "approve", &claim_id]);
    assert_eq!(approved["status"], "approved");

    // The claim, its receipt and its events travel to the SSC, whose staff book and pay it.
    let at_ssc = network.wait_for_claim(&network.ssc, &network.ssc_staff, &claim_id, "approved");
    assert_eq!(event_kinds(&at_ssc), vec!["submitted", "approved"]);
    assert_eq!(at_ssc["exception"], Value::Null, "{at_ssc}");
    assert_eq!(network.ssc.record_status(&pushed[0].parse().unwrap()), 200, "the receipt came along");
    assert_eq!(network.ssc.record_status(&pushed[1].parse().unwrap()), 404, "an unclaimed receipt did not");
    let booked = network.ssc.cli_ok(&network.ssc_staff, &["ssc", "book", &claim_id]);
    assert_eq!(booked["status"], "booked");
    let paid = network.ssc.cli_ok(&network.ssc_staff, &["ssc", "pay", &claim_id]);
    assert_eq!(paid["status"], "paid");
    let (code, problem) = network.ssc.cli(&network.ssc_staff, &["ssc", "pay", &claim_id]);
    assert_eq!((code, problem["code"].as_str()), (1, Some("event.transition")), "paid once: {problem}");

    // The SSC's events come back to the agency.
    let claim = network.wait_for_claim(&network.agency, &network.employee, &claim_id, "paid");
    assert_eq!(event_kinds(&claim), vec!["submitted", "approved", "booked", "paid"]);
    let events = claim["events"].as_array().unwrap();
    let booked = &events[2];
    assert_eq!(booked["event"]["action"], json!({"kind": "booked", "series": "K", "number": 1}), "{claim}");
    for event in &events[2..] {
        assert_eq!(event["signer"], network.ssc.key.as_str(), "signed by the SSC: {event}");
        assert_eq!(event["event"]["actor"], json!({"person": "ssc-anna", "role": "ssc"}), "{event}");
    }
    for event in &events[..2] {
        assert_eq!(event["signer"], network.agency.key.as_str(), "signed by the agency: {event}");
    }
    assert_eq!(events[3]["event"]["previous"], booked["id"], "the events form one chain");
    let shown = agency.cli_ok(&network.employee, &["claim", "show", &claim_id]);
    assert_eq!((shown["status"].as_str(), shown["id"].as_str()), (Some("paid"), Some(claim_id.as_str())));

    // The payment was wrong: SSC staff reverse it, and the agency sees why.
    let reason = "Utbetald två gånger: samma resa finns i 2026-000031";
    let (code, problem) = agency.cli(&network.approver, &["ssc", "reverse", &claim_id, "--reason", reason]);
    assert_eq!((code, problem["code"].as_str()), (1, Some("auth.forbidden")), "not at the agency: {problem}");
    let reversed = network.ssc.cli_ok(&network.ssc_staff, &["ssc", "reverse", &claim_id, "--reason", reason]);
    assert_eq!(reversed["status"], "reversed");
    let claim = network.wait_for_claim(&network.agency, &network.employee, &claim_id, "reversed");
    assert_eq!(event_kinds(&claim), vec!["submitted", "approved", "booked", "paid", "reversed"]);
    assert_eq!(
        claim["events"][4]["event"]["action"],
        json!({"kind": "reversed", "reason": reason, "series": "K", "number": 2}),
        "{claim}"
    );
    let api = format!("--api=http://{}", agency.api);
    let token = format!("--token={}", network.employee);
    let text = support::kvitt(&["claim", "show", &claim_id, &api, &token]);
    let status = text.lines().find(|line| line.starts_with("status")).unwrap_or_default();
    assert_eq!(status.split_whitespace().collect::<Vec<_>>(), ["status", "reversed"], "{text}");
    let why = text.lines().find(|line| line.starts_with("reversed ")).unwrap_or_default();
    assert!(why.contains(reason) && why.contains("ssc-anna") && why.contains("voucher K 2"), "{text}");
}

#[test]
fn a_receipt_reissued_for_the_same_card_payment_is_held_by_the_ssc_until_staff_reject_the_claim() {
    let mut network = Network::set_up();
    network.ssc.start();
    network.agency.start();
    network.merchant.start();

    let original = receipt("KASSA-1", 1);
    // The same card payment (terminal, retrieval reference, approval code) on a second
    // receipt with a new serial: the one payment would be claimed twice.
    let reissued = receipt("KASSA-1", 2);
    let reissued = kvitt_protocol::receipt::Receipt { payments: original.payments.clone(), ..reissued };
    let original_id = network.push(&original);
    let reissued_id = network.push(&reissued);
    assert_ne!(original_id, reissued_id);
    network.wait_for_agency(&[1, 2]);

    // Each in a claim of its own, through the API: the agency sees two receipts, each
    // claimed once, and lets both through.
    let submit = |receipt_id: &str, purpose: &str| {
        let agency = &network.agency;
        let draft = agency.expect(
            200,
            "POST",
            "/v1/drafts",
            &network.employee,
            Some(json!({"purpose": purpose}).to_string()),
        );
        let number = draft["number"].as_str().unwrap();
        let item = json!({
            "kind": "receipt",
            "receipt": receipt_id,
            "business_purpose": "Logi",
            "amount": 162_400,
            "booking": {"account": 5831, "cost_center": "CC-100"},
        });
        agency.expect(
            200,
            "POST",
            &format!("/v1/drafts/{number}/items"),
            &network.employee,
            Some(item.to_string()),
        );
        let submitted =
            agency.expect(201, "POST", &format!("/v1/drafts/{number}/submit"), &network.employee, None);
        let claim = submitted["claim"].as_str().unwrap().to_owned();
        let approved =
            agency.expect(200, "POST", &format!("/v1/claims/{claim}/approve"), &network.approver, None);
        assert_eq!(approved["status"], "approved");
        (claim, number.to_owned())
    };
    let (first, first_number) = submit(&original_id, "Konferens i Malmö");
    let (second, _) = submit(&reissued_id, "Konferens i Malmö, igen");

    // The SSC holds the second claim as a duplicate, approved but not booked, and lists it
    // open with what to do next.
    let card = "card payment T-KASSA-1/612345600001/A1B2C3";
    let at_ssc = network.wait_for_claim(&network.ssc, &network.ssc_staff, &second, "approved");
    let exception = at_ssc["exception"].as_str().unwrap();
    assert!(exception.starts_with("duplicate:") && exception.contains(card), "{at_ssc}");
    let exceptions = network.ssc.expect(200, "GET", "/v1/exceptions", &network.ssc_staff, None);
    let open: Vec<(&str, &str, bool)> = exceptions
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["id"].as_str().unwrap(), entry["kind"].as_str().unwrap(), entry["open"] == true))
        .collect();
    assert_eq!(open, vec![(second.as_str(), "duplicate", true)], "only the second claim: {exceptions}");
    assert!(exceptions[0]["next"].as_str().unwrap().contains("kvitt ssc resolve"), "{exceptions}");

    // Staff reject it: a signed SSC event that names the exception goes back to the agency.
    let note = json!({"decision": "reject", "note": "Samma kortköp som en tidigare räkning"}).to_string();
    let resolved = network.ssc.expect(
        200,
        "POST",
        &format!("/v1/exceptions/{second}/resolve"),
        &network.ssc_staff,
        Some(note),
    );
    assert_eq!(resolved["status"], "rejected");
    let rejected = network.wait_for_claim(&network.agency, &network.employee, &second, "rejected");
    assert_eq!(event_kinds(&rejected), vec!["submitted", "approved", "rejected"]);
    let rejection = &rejected["events"][2];
    assert_eq!(rejection["signer"], network.ssc.key.as_str(), "{rejection}");
    assert_eq!(rejection["event"]["actor"]["role"], "ssc", "{rejection}");
    let reason = rejection["event"]["action"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("Samma kortköp som en tidigare räkning"), "the note first: {reason}");
    assert!(reason.contains(card), "the reason names the card payment: {reason}");
    assert!(reason.contains(&first_number), "and the claim that holds it: {reason}");
    let open = network.ssc.expect(200, "GET", "/v1/exceptions", &network.ssc_staff, None);
    assert_eq!(open, json!([]), "resolved: no longer open");
    let all = network.ssc.expect(200, "GET", "/v1/exceptions?all=true", &network.ssc_staff, None);
    assert_eq!(all[0]["open"], false, "{all}");

    // The first claim is untouched and can still be booked.
    let first_at_ssc = network.wait_for_claim(&network.ssc, &network.ssc_staff, &first, "approved");
    assert_eq!(first_at_ssc["exception"], Value::Null);
    let booked =
        network.ssc.expect(200, "POST", &format!("/v1/claims/{first}/book"), &network.ssc_staff, None);
    assert_eq!(booked["status"], "booked");
    network.wait_for_claim(&network.agency, &network.employee, &first, "booked");
}
