//! `POST /v1/receipts` with SDRS and Kivra documents (chosen by `Content-Type`) and
//! `kvitt receipt import`: against real nodes, the round trip from an SDRS document to a
//! signed receipt that `kvitt record show` and `kvitt verify` read back with the same
//! lines, VAT and total.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Output;
use std::time::Duration;

use common::AGENCY_ORG;
use kvitt_formats::{Format, Supplement, KIVRA_MEDIA_TYPE};
use kvitt_node::core::CallerRole;
use kvitt_protocol::receipt::{Buyer, Receipt};
use kvitt_protocol::Signed;
use serde_json::Value;

const TOKENS: [common::api_nodes::Token; 2] = [
    ("merchant", "till-token", "kassa-1", CallerRole::Till),
    ("agency", "employee-token", "emp-17", CallerRole::Employee),
];

/// Most polls of a condition that depends on delivery between nodes (50 ms apart).
const MAX_POLLS: usize = 200;

fn fixture(path: &str) -> String {
    format!("{}/../formats/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `kvitt args… --api <node> --token token` with `stdin`.
fn kvitt(
    nodes: &common::api_nodes::ApiNodes,
    node: &str,
    token: &str,
    args: &[&str],
    stdin: &[u8],
) -> Output {
    let api = format!("http://{}", nodes.apis[node]);
    let mut all = args.to_vec();
    all.extend(["--api", &api, "--token", token]);
    common::process::kvitt(&all, stdin)
}

/// Standard output of a command that exited `code`.
fn stdout(output: &Output, code: i32) -> String {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[test]
fn an_sdrs_receipt_round_trips_to_a_verified_record() {
    let nodes = common::api_nodes::ApiNodes::start(&TOKENS);
    let file = fixture("sdrs/kvitt-sale-cash.xml");
    let import = [
        "receipt",
        "import",
        "--format",
        "sdrs",
        file.as_str(),
        "--buyer",
        AGENCY_ORG,
        "--employee",
        "emp-17",
    ];
    let id = stdout(&kvitt(&nodes, "merchant", "till-token", &import, b""), 0).trim().to_owned();
    assert_eq!(
        stdout(&kvitt(&nodes, "merchant", "till-token", &import, b""), 0),
        format!("{id} duplicate\n")
    );

    // The record the merchant signed is the document's receipt, to the öre.
    let answer = stdout(&kvitt(&nodes, "merchant", "till-token", &["record", "show", &id, "--json"], b""), 0);
    let cbor = serde_json::from_str::<Value>(&answer).unwrap()["cbor"].as_str().unwrap().to_owned();
    let signed = Signed::<Receipt>::decode(&hex::decode(&cbor).unwrap()).unwrap();
    let supplement = Supplement {
        buyer: Some(Buyer { agency: AGENCY_ORG.into(), employee: Some("emp-17".into()) }),
        original: None,
    };
    let document = std::fs::read(&file).unwrap();
    assert_eq!(signed.body(), &kvitt_formats::import(Format::Sdrs, &document, &supplement).unwrap().receipt);
    assert_eq!(signed.id().to_string(), id);

    // `kvitt record show` verifies the bytes here and prints the document's lines, VAT and
    // total: SDRS ExtendedAmount 138.00 …, Tax 25 % 116.70, TransactionGrandAmount 583.00.
    let shown = stdout(&kvitt(&nodes, "merchant", "till-token", &["record", "show", &id], b""), 0);
    for expected in [
        "valid    receipt",
        "total 583.00 SEK",
        "Bogserlina med krokar",
        "138.00 SEK",
        "Headset hörlurar - SLR",
        "Stövel 42 - Fodrad BR",
        "Spara kvittot, gäller som garanti.",
        "vat 25 % of 583.50 SEK: 116.70 SEK",
        "paid 503.00 SEK by gift card GC-1234",
        "paid 80.00 SEK by cash",
        "buyer agency 202100-5489, employee emp-17",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing from:\n{shown}");
    }
    // `kvitt verify`, offline, on the record's bytes.
    let verified = stdout(&common::process::kvitt(&["verify", "--hex", "-"], cbor.as_bytes()), 0);
    assert!(verified.contains("valid"), "{verified}");
    assert!(verified.contains("Hotell Kvitt AB (556016-0680), register EA38329 serial 1042"), "{verified}");
    assert!(verified.contains("5 lines, total 583.00 SEK, buyer 202100-5489"), "{verified}");

    // Delivered to the buyer's agency as any receipt.
    let delivered = (0..MAX_POLLS).any(|_| {
        let listed =
            stdout(&kvitt(&nodes, "agency", "employee-token", &["receipt", "list", "--json"], b""), 0);
        let found = serde_json::from_str::<Value>(&listed)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["id"] == id);
        if !found {
            std::thread::sleep(Duration::from_millis(50));
        }
        found
    });
    assert!(delivered, "receipt {id} not at the agency within {MAX_POLLS} polls");
}

#[test]
fn a_kivra_receipt_is_imported_and_a_refusal_names_the_property() {
    let nodes = common::api_nodes::ApiNodes::start(&TOKENS);
    let file = fixture("kivra/sale-card.json");
    let import = ["receipt", "import", "--format", "kivra", "-", "--buyer", AGENCY_ORG];
    let document = std::fs::read_to_string(&file).unwrap();
    let id = stdout(&kvitt(&nodes, "merchant", "till-token", &import, document.as_bytes()), 0);
    assert_eq!(id.trim().len(), 64, "{id}");

    let without_control_unit = document.replace(
        "\"control_unit\": { \"id\": \"CU-0001-2345\" }",
        "\"header_text\": { \"type\": \"array\", \"collection\": [] }",
    );
    let output = kvitt(&nodes, "merchant", "till-token", &import, without_control_unit.as_bytes());
    stdout(&output, 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in ["format.missing", "/control_unit/id", "SKVFS 2014:9"] {
        assert!(stderr.contains(expected), "{expected:?} missing from {stderr}");
    }
    let output = kvitt(
        &nodes,
        "merchant",
        "till-token",
        &["receipt", "import", "--format", "kivra", &file, "--employee", "e"],
        b"",
    );
    stdout(&output, 2); // --employee needs --buyer: a usage error, nothing sent
    let help = stdout(&common::process::kvitt(&["receipt", "import", "--help"], b""), 0);
    for expected in
        ["--format <FORMAT>", "- sdrs:  SDRS", "- kivra: Kivra", "--buyer <ORG>", "--original <ID>"]
    {
        assert!(help.contains(expected), "{expected:?} missing from:\n{help}");
    }
}

/// `POST /v1/receipts?query` at the merchant with `content_type` and `body`: the status
/// and the JSON answer.
fn post(nodes: &common::api_nodes::ApiNodes, query: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).proxy(None).build().into();
    let response = agent
        .post(&format!("http://{}/v1/receipts{query}", nodes.apis["merchant"]))
        .header("authorization", "Bearer till-token")
        .content_type(content_type)
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.into_body().read_to_vec().unwrap()).unwrap())
}

#[test]
fn the_content_type_chooses_the_format_and_the_query_names_the_buyer() {
    let nodes = common::api_nodes::ApiNodes::start(&TOKENS);
    let sdrs = std::fs::read(fixture("sdrs/kvitt-sale-card.xml")).unwrap();
    let buyer = format!("?buyer={AGENCY_ORG}");

    // Without a buyer the till may route by card; never by a card number, and these
    // agency-less nodes hold no routing key.
    let (status, problem) = post(&nodes, "?card=4111111111111111", "application/xml", &sdrs);
    assert_eq!(
        (status, &problem["code"], &problem["path"]),
        (422, &"payment.masked_pan".into(), &"card".into())
    );
    let (status, problem) = post(&nodes, "?card=V0010013018209568912345678912", "application/xml", &sdrs);
    assert_eq!((status, &problem["code"]), (503, &"node.unavailable".into()), "{problem}");
    let (status, problem) =
        post(&nodes, &format!("{buyer}&card=V0010013018209568912345678912"), "application/xml", &sdrs);
    assert_eq!((status, &problem["path"]), (400, &"buyer".into()), "{problem}");
    let (status, problem) = post(&nodes, &format!("{buyer}&tip=5"), "application/xml", &sdrs);
    assert_eq!((status, &problem["code"], &problem["path"]), (400, &"request.invalid".into(), &"tip".into()));
    let (status, problem) = post(&nodes, "?employee=emp-17", "application/xml", &sdrs);
    assert_eq!((status, &problem["path"]), (400, &"employee".into()));
    let (status, problem) = post(&nodes, &format!("{buyer}&original=abc"), "application/xml", &sdrs);
    assert_eq!((status, &problem["path"]), (400, &"original".into()));
    let (status, problem) = post(&nodes, "?buyer=202100-5488", "application/xml", &sdrs);
    assert_eq!((status, &problem["code"], &problem["path"]), (422, &"org.luhn".into(), &"buyer".into()));

    let wrong_vat = String::from_utf8(sdrs.clone())
        .unwrap()
        .replace("<Amount>160.18</Amount>", "<Amount>160.17</Amount>");
    let (status, problem) = post(&nodes, &buyer, "application/xml", wrong_vat.as_bytes());
    assert_eq!((status, &problem["code"]), (422, &"vat.breakdown".into()), "{problem}");
    assert_eq!(problem["path"], "/DigitalReceipt/Transaction/RetailTransaction/LineItem[3]/Tax/Amount");
    assert_eq!(problem["type"], "https://kvitt.invalid/problems/vat.breakdown");

    let (status, answer) = post(&nodes, &buyer, "text/xml; charset=utf-8", &sdrs);
    assert_eq!((status, &answer["duplicate"]), (201, &false.into()), "{answer}");

    // kvitt's own JSON takes no query string but `card`; a Kivra document sent as kvitt JSON is read
    // as kvitt JSON, and refused as such.
    let kivra = std::fs::read(fixture("kivra/sale-card.json")).unwrap();
    let (status, problem) = post(&nodes, &buyer, "application/json", b"{}");
    assert_eq!((status, &problem["path"]), (400, &"buyer".into()));
    let (status, problem) = post(&nodes, "", "application/json", &kivra);
    assert_eq!((status, &problem["code"]), (422, &"schema.field".into()), "{problem}");
    let (status, answer) = post(&nodes, &buyer, KIVRA_MEDIA_TYPE, &kivra);
    assert_eq!(status, 201, "{answer}");
}
