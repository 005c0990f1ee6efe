//! Message vectors, spec/vectors/messages/*.json: every message nodes exchange (node.md
//! §Messages: requests, answers, refusals, reconciliation requests and answers carrying
//! the frames of spec/vectors/reconcile/), valid and refused, with the verdict every
//! implementation must give. Their format is that of the record vectors
//! (spec/vectors/README.md §Message vectors) with `decode_as` `request` or `response`.
//!
//! - `committed_message_vectors_match_the_generator`: the files are what [`generate`]
//!   makes; `KVITT_BLESS=1 cargo test -p kvitt-protocol --test messages` rewrites them.
//! - `every_message_vector_gets_its_verdict`: reads the committed files only and decodes
//!   each with the reference decoders: valid ones decode and re-encode to the same bytes,
//!   and match spec/kvitt.cddl's `kvitt-request` or `kvitt-response`; refused ones give the
//!   stated code.
//! - `node_md_examples_are_vectors`: the worked examples of node.md §Examples are the bytes
//!   of vectors here, so neither can drift.
use kvitt_test_support::bytes::replace_once;
use kvitt_test_support::golden::{self, Golden};
use kvitt_test_support::{named, schema};

use std::collections::BTreeMap;
use std::path::PathBuf;

use kvitt_protocol::limits::MAX_RECORDS_PER_DELIVERY;
use kvitt_protocol::reconcile::{Initiator, Responder, Salt, Step};
use kvitt_protocol::wire::{
    RecordBytes, Refusal, RefusalCode, Request, RequestBody, Response, ResponseBody, Verdict, Window,
};
use kvitt_protocol::{ErrorCode, RecordId, Signed};
use serde::Serialize;

/// The committed message vectors and how to regenerate them.
fn golden() -> Golden {
    Golden::new(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/messages"),
        "protocol/tests/messages.rs",
        "KVITT_BLESS=1 cargo test -p kvitt-protocol --test messages",
    )
}

/// One message vector.
struct Vector {
    name: &'static str,
    description: &'static str,
    decode_as: &'static str,
    bytes: Vec<u8>,
    /// `None`: valid; else the code and path of the refusal.
    refused: Option<(ErrorCode, &'static str)>,
}

#[derive(Serialize)]
struct VectorFile<'a> {
    name: &'a str,
    description: &'a str,
    decode_as: &'a str,
    cbor: String,
    expected: Expected<'a>,
}

#[derive(Serialize)]
struct Expected<'a> {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
}

fn request(version: u64, body: RequestBody) -> Vec<u8> {
    Request { directory_version: version, body }.encode().unwrap()
}

fn response(version: u64, body: ResponseBody) -> Vec<u8> {
    Response { directory_version: version, body }.encode().unwrap()
}

/// The first two frames of a reconciliation session between two one-item sets that are
/// equal: the initiator's hello and the responder's `same`.
fn reconcile_frames() -> (Vec<u8>, Vec<u8>) {
    let items = [kvitt_protocol::reconcile::Item { time: 1_777_875_300, id: RecordId([0x11; 32]) }];
    let mut initiator = Initiator::new(&items, Salt([1; 16])).unwrap();
    let hello = initiator.start().unwrap();
    let mut responder = Responder::new(&items).unwrap();
    let Step::Done { last: Some(same), .. } = responder.receive(&hello).unwrap() else {
        panic!("equal sets")
    };
    (hello, same)
}

fn generate() -> Vec<Vector> {
    use ErrorCode as E;
    let receipt = Signed::sign(named::receipt(), &named::key("merchant")).unwrap();
    let directory = Signed::sign(named::directory(), &named::key("operator")).unwrap();
    let buyerless = Signed::sign(
        kvitt_protocol::receipt::Receipt { buyer: None, ..named::receipt() },
        &named::key("merchant"),
    )
    .unwrap();
    let assignment = kvitt_protocol::assignment::Assignment {
        receipt: buyerless.id(),
        buyer: named::receipt().buyer.unwrap(),
        assigned_at: "2026-05-05T09:30:00+02:00".into(),
    };
    let assignment = Signed::sign(assignment, &named::key("merchant")).unwrap();
    let (hello, same) = reconcile_frames();
    let example_id = RecordId(
        hex::decode("39a29ff13224185ef92b4ce860d48d1f93d3727fe11cb09ca3c01e438542efba")
            .unwrap()
            .try_into()
            .unwrap(),
    );
    let have_two = request(3, RequestBody::Directory { have: 2 });
    let refusal = |code: RefusalCode, message: &str| Refusal::new(code, message);
    let valid =
        |name, description, decode_as, bytes| Vector { name, description, decode_as, bytes, refused: None };
    let refused = |name, description, decode_as, bytes, code, path| Vector {
        name,
        description,
        decode_as,
        bytes,
        refused: Some((code, path)),
    };
    let mut refused_invalid =
        Refusal::invalid(&kvitt_protocol::Error::new(E::Schema, "body.tip", "unknown field"));
    refused_invalid.message = "unknown field `tip`".into();
    vec![
        valid("request-directory", "node.md §Examples: a node holding directory version 3 asks for anything newer than 2.", "request", have_two.clone()),
        valid(
            "request-deliver",
            "A delivery of one receipt (the test fixtures' hotel receipt, signed by the test key merchant), the sender at directory version 1.",
            "request",
            request(1, RequestBody::Deliver { records: vec![RecordBytes(receipt.bytes().to_vec())] }),
        ),
        valid("request-deliver-empty", "A delivery of no records: valid, answered with no verdicts.", "request", request(1, RequestBody::Deliver { records: vec![] })),
        valid(
            "request-reconcile-opening",
            "The frame that opens reconciliation session 7, a hello (reconcile.md §Messages), for the records of one time window: from 1777000000 included to 1778000000 excluded.",
            "request",
            request(1, RequestBody::Reconcile { session: 7, frame: RecordBytes(hello.clone()), window: Some(Window { from: 1_777_000_000, until: 1_778_000_000 }) }),
        ),
        valid(
            "request-reconcile",
            "A frame of session 7 without a window: the whole channel.",
            "request",
            request(1, RequestBody::Reconcile { session: 7, frame: RecordBytes(hello.clone()), window: None }),
        ),
        valid("response-directory-none", "node.md §Examples: the answer of a node at version 2 that has nothing newer.", "response", response(2, ResponseBody::Directory { record: None })),
        valid(
            "response-directory-record",
            "The answer carrying the node's signed directory (version 1, signed by the test key operator).",
            "response",
            response(1, ResponseBody::Directory { record: Some(RecordBytes(directory.bytes().to_vec())) }),
        ),
        valid(
            "response-delivered",
            "node.md §Examples: three verdicts, stored, duplicate, and refused with ledger.unknown_record and retry.",
            "response",
            response(1, ResponseBody::Delivered { results: vec![
                Verdict::Stored { id: example_id },
                Verdict::Duplicate { id: example_id },
                Verdict::Refused { refusal: Refusal { message: "x".into(), ..refusal(RefusalCode::UnknownRecord, "") } },
            ] }),
        ),
        valid(
            "response-delivered-refused-with-path",
            "One verdict refusing a record with a record error code and its path; retry is false, so omitted.",
            "response",
            response(1, ResponseBody::Delivered { results: vec![Verdict::Refused { refusal: refused_invalid.clone() }] }),
        ),
        valid(
            "response-refused-not-member",
            "node.md §Examples: the whole request refused, the sender's key not in directory version 4.",
            "response",
            response(4, ResponseBody::Refused { refusal: refusal(RefusalCode::NotMember, "key 1a2b3c4d is not in directory v4") }),
        ),
        valid(
            "response-reconcile-frame",
            "The responder's next frame of a session: here `same`, its last.",
            "response",
            response(1, ResponseBody::Reconcile { frame: Some(RecordBytes(same)) }),
        ),
        valid(
            "request-collect",
            "An agency collects a receipt by its code (codes.md §Collecting): the code's random part and check character, and the employee who presented it.",
            "request",
            request(1, RequestBody::Collect { code: "7KQ2MX9D4TC".into(), employee: Some("emp-17".into()) }),
        ),
        valid(
            "response-collected",
            "The merchant's answer to a collect: the receipt, signed without a buyer, and its assignment to the asking agency and employee (both signed by the test key merchant).",
            "response",
            response(1, ResponseBody::Collected {
                receipt: RecordBytes(buyerless.bytes().to_vec()),
                assignment: RecordBytes(assignment.bytes().to_vec()),
            }),
        ),
        valid("response-reconcile-over", "No frame: the session is over for the responder (the answer to the initiator's last frame).", "response", response(1, ResponseBody::Reconcile { frame: None })),
        refused(
            "request-invalid-non-shortest-integer",
            "The directory request of request-directory with `have` written as 0x18 0x02, not the one byte 0x02.",
            "request",
            replace_once(&have_two, b"\x64have\x02", b"\x64have\x18\x02"),
            E::NonCanonical,
            "",
        ),
        refused(
            "request-invalid-unknown-field",
            "The directory request with a field `x` beside `have` and `kind`.",
            "request",
            replace_once(&have_two, b"\xa2\x64have", b"\xa3\x61x\x01\x64have"),
            E::Schema,
            "body",
        ),
        refused(
            "request-invalid-unknown-kind",
            "A request body of kind `gossip`, which no version 1 message has.",
            "request",
            replace_once(&have_two, b"\x69directory\x71", b"\x66gossip\x71"),
            E::Schema,
            "body.kind",
        ),
        refused(
            "request-invalid-float",
            "The directory request with `have` as the float 2.0.",
            "request",
            replace_once(&have_two, b"\x64have\x02", b"\x64have\xf9\x40\x00"),
            E::ForbiddenType,
            "body.have",
        ),
        refused(
            "request-invalid-too-many-records",
            "A delivery of MAX_RECORDS_PER_DELIVERY + 1 (513) records, each an empty byte string: refused whole.",
            "request",
            request(1, RequestBody::Deliver { records: vec![RecordBytes(vec![]); MAX_RECORDS_PER_DELIVERY + 1] }),
            E::TooMany,
            "body.records",
        ),
        refused(
            "response-invalid-retry-false",
            "A refusal that writes \"retry\": false, its default value, which is omitted, never written.",
            "response",
            {
                let bytes = response(1, ResponseBody::Refused { refusal: refusal(RefusalCode::NotMember, "m") });
                replace_once(&bytes, b"\x65retry\xf5", b"\x65retry\xf4")
            },
            E::Schema,
            "body.refusal.retry",
        ),
    ]
}

fn render(vector: &Vector) -> String {
    let (error, path) = match vector.refused {
        Some((code, path)) => (Some(code.as_str()), Some(path)),
        None => (None, None),
    };
    let file = VectorFile {
        name: vector.name,
        description: vector.description,
        decode_as: vector.decode_as,
        cbor: hex::encode(&vector.bytes),
        expected: Expected { valid: vector.refused.is_none(), error, path },
    };
    serde_json::to_string_pretty(&file).unwrap() + "\n"
}

fn rendered() -> BTreeMap<String, String> {
    golden::by_name(generate().iter().map(|vector| (format!("{}.json", vector.name), render(vector))))
}

#[test]
fn committed_message_vectors_match_the_generator() {
    golden().check(rendered);
}

/// Decodes `bytes` as `decode_as` says and encodes the message again.
fn decode(decode_as: &str, bytes: &[u8]) -> Result<Vec<u8>, kvitt_protocol::Error> {
    match decode_as {
        "request" => Request::decode(bytes).map(|message| message.encode().unwrap()),
        "response" => Response::decode(bytes).map(|message| message.encode().unwrap()),
        other => panic!("unknown decode_as {other}"),
    }
}

#[test]
fn every_message_vector_gets_its_verdict() {
    golden().bless_if_asked(rendered);
    let document = format!("message = kvitt-request / kvitt-response\n{}", schema::kvitt_cddl());
    let schema = cddl::parser::cddl_from_str(&document, false).unwrap();
    let mut failures = Vec::new();
    let committed = golden().committed();
    for (name, text) in &committed {
        let vector: serde_json::Value = serde_json::from_str(text).unwrap();
        let bytes = hex::decode(vector["cbor"].as_str().unwrap()).unwrap();
        let decode_as = vector["decode_as"].as_str().unwrap();
        let expected = &vector["expected"];
        let verdict = match (expected["valid"].as_bool(), decode(decode_as, &bytes)) {
            (Some(true), Ok(encoded)) if encoded == bytes => schema::validate_cddl(&schema, &bytes),
            (Some(true), Ok(_)) => Err("re-encodes to other bytes".to_owned()),
            (Some(false), Err(error))
                if error.code().as_str() == expected["error"] && error.path() == expected["path"] =>
            {
                Ok(())
            }
            (_, outcome) => Err(format!("expected {expected}, got {outcome:?}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(committed.len() >= 18, "only {} message vectors", committed.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn node_md_examples_are_vectors() {
    let node_md: String =
        std::fs::read_to_string(golden().dir().join("../../node.md")).unwrap().split_whitespace().collect();
    for name in
        ["request-directory", "response-directory-none", "response-delivered", "response-refused-not-member"]
    {
        let text = std::fs::read_to_string(golden().dir().join(format!("{name}.json"))).unwrap();
        let vector: serde_json::Value = serde_json::from_str(&text).unwrap();
        let hex = vector["cbor"].as_str().unwrap();
        assert!(node_md.contains(hex), "node.md §Examples does not show {name}: {hex}");
    }
}
