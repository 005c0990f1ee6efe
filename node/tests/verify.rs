//! `kvitt_node::verify`: the verdict and the summary for each record type, and the JSON
//! shape `kvitt verify --json` prints.
#![allow(clippy::unwrap_used)]

mod common;

use kvitt_node::verify::{verify_bytes, verify_reader, InputFormat, Report, Verified};
use kvitt_protocol::ErrorCode;
use serde_json::{json, Value};

fn valid(bytes: &[u8]) -> Verified {
    match verify_bytes(bytes) {
        Report::Valid(verified) => verified,
        Report::Invalid(refused) => panic!("refused: {}", refused.error),
    }
}

fn as_json(report: &Report) -> Value {
    serde_json::to_value(report).unwrap()
}

#[test]
fn receipt_reports_merchant_serial_and_total() {
    let receipt = common::receipt();
    let verified = valid(receipt.bytes());
    assert_eq!(verified.id, receipt.id());
    assert_eq!(verified.signer, common::public("merchant"));
    assert_eq!(
        verified.summary,
        "Hotell Kvitt AB (556016-0680), register KASSA-1 serial 1042, 2026-05-04T08:15:00+02:00, \
         2 lines, total 1624.00 SEK, buyer 202100-5489"
    );
    let json = as_json(&Report::Valid(verified));
    assert_eq!(json["valid"], true);
    assert_eq!(json["type"], "receipt");
    assert_eq!(json["id"], receipt.id().to_string());
    assert_eq!(json["signer"], common::public("merchant").to_string());
    assert_eq!(json["size_bytes"], receipt.bytes().len());
    assert_eq!(json["serial"], 1042);
    assert_eq!(json["total_minor"], 162_400);
    assert_eq!(json["currency"], "SEK");
    assert!(json.get("original").is_none(), "a sale names no original: {json}");
}

#[test]
fn claim_reports_number_agency_items_and_total() {
    let claim = common::claim(&common::receipt());
    let verified = valid(claim.bytes());
    assert_eq!(
        verified.summary,
        "claim 2026-000042 by emp-17 at agency 202100-5489, 1 item (1 with a receipt), total 1624.00 SEK"
    );
    let json = as_json(&Report::Valid(verified));
    assert_eq!(json["type"], "claim");
    assert_eq!(json["number"], "2026-000042");
    assert_eq!(json["items"], 1);
    assert_eq!(json["total_ore"], 162_400);
}

#[test]
fn claim_event_reports_action_actor_and_chain() {
    let claim = common::claim(&common::receipt());
    let event = common::submitted(claim.id());
    let verified = valid(event.bytes());
    assert_eq!(
        verified.summary,
        format!(
            "submitted: claim {}, by emp-17 as employee, 2026-05-06T10:05:00+02:00, first event",
            claim.id().short()
        )
    );
    let json = as_json(&Report::Valid(verified));
    assert_eq!(json["type"], "claim_event");
    assert_eq!(json["action"], "submitted");
    assert_eq!(json["claim"], claim.id().to_string());
    assert_eq!(json["role"], "employee");
    assert!(json.get("previous").is_none(), "{json}");
}

#[test]
fn directory_reports_version_and_members() {
    let verified = valid(common::directory().bytes());
    assert_eq!(
        verified.summary,
        "network kvitt-test version 1, issued 2026-01-01T00:00:00+01:00, 3 members \
         (1 merchant, 1 agency, 1 SSC)"
    );
    let json = as_json(&Report::Valid(verified));
    assert_eq!(json["type"], "directory");
    assert_eq!((json["version"].clone(), json["members"].clone()), (json!(1), json!(3)));
}

#[test]
fn evidence_names_the_equivocating_signer_and_slot() {
    let evidence = common::evidence();
    let verified = valid(evidence.bytes());
    assert_eq!(verified.signer, common::public("ssc"));
    let expected = format!(
        "equivocation: two receipts from {} for register KASSA-1 serial 1042",
        common::public("merchant").short()
    );
    assert!(verified.summary.starts_with(&expected), "{}", verified.summary);
    assert_eq!(as_json(&Report::Valid(verified))["type"], "evidence");
}

#[test]
fn tampered_record_is_refused_with_code_path_and_message() {
    let report = verify_bytes(&common::tampered_receipt());
    let Report::Invalid(refused) = &report else { panic!("a tampered record verified") };
    assert_eq!(refused.error.code(), ErrorCode::BadSignature);
    assert_eq!(refused.error.path(), "sig");
    assert_eq!(refused.hint, None);
    let json = as_json(&report);
    assert_eq!(json["valid"], false);
    assert_eq!(json["error"]["code"], "signature.invalid");
    assert_eq!(json["error"]["path"], "sig");
    assert_eq!(json["error"]["message"], refused.error.detail());
    assert!(json.get("hint").is_none(), "{json}");
    assert!(report.to_string().starts_with("invalid  signature.invalid\npath     sig\n"), "{report}");
}

#[test]
fn hex_input_decodes_with_line_breaks() {
    let receipt = common::receipt();
    let text = hex::encode(receipt.bytes());
    let (head, tail) = text.split_at(64);
    let wrapped = format!("{head}\n{tail}\n");
    let report = verify_reader(wrapped.as_bytes(), InputFormat::Hex).unwrap();
    let Report::Valid(verified) = report else { panic!("hex input refused: {report}") };
    assert_eq!(verified.id, receipt.id());
}

#[test]
fn hex_read_as_binary_gets_a_hint() {
    let text = hex::encode(common::receipt().bytes()) + "\n";
    let report = verify_reader(text.as_bytes(), InputFormat::Binary).unwrap();
    let Report::Invalid(refused) = &report else { panic!("hex text is not a record") };
    assert_eq!(refused.hint.as_deref(), Some("the input is hex text: pass --hex"));
    assert_eq!(as_json(&report)["hint"], "the input is hex text: pass --hex");
}

#[test]
fn empty_input_is_malformed() {
    let Report::Invalid(refused) = verify_reader(&b""[..], InputFormat::Binary).unwrap() else {
        panic!("empty input verified")
    };
    assert_eq!(refused.error.code(), ErrorCode::Malformed);
    assert_eq!(refused.hint, None);
}
