//! Keeps spec/ honest: each test fails when the code and spec/protocol.md or spec/kvitt.cddl
//! drift apart.
//!
//! - `every_error_code_is_in_the_spec_in_order`: the §Error codes table lists exactly
//!   `ErrorCode::ALL`, in its order.
//! - `every_limit_is_in_the_spec_with_its_value`: every `pub const` of limits.rs has a row in
//!   §Limits holding its current value.
//! - `every_record_type_is_in_the_cddl_and_the_spec`: each wire name is an envelope `type`.
//! - `currency_exponents_match_the_spec`: the minor-unit table lists the code's exceptions.
//! - `signing_input_example_matches_the_code`: the worked example's bytes are the code's.
//! - `fixtures_and_valid_vectors_match_the_cddl`: signed records of every type, and the
//!   records of every valid vector, validate against spec/kvitt.cddl (with the `cddl`
//!   crate); records broken on purpose do not.
use kvitt_test_support::{named, schema};

use std::collections::BTreeSet;
use std::path::PathBuf;

use ciborium::value::Value;
use kvitt_protocol::envelope::signing_input;
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::fields::currency_exponent;
use kvitt_protocol::receipt::Payment;
use kvitt_protocol::{cbor, limits, AnyRecord, ErrorCode, RecordType, Signed};

fn spec_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec").join(name)
}

fn spec(name: &str) -> String {
    std::fs::read_to_string(spec_path(name)).unwrap_or_else(|error| panic!("spec/{name}: {error}"))
}

/// The lines of the section of spec/protocol.md whose heading is `heading`, up to the next
/// heading of the same or a higher level.
fn section(heading: &str) -> Vec<String> {
    let text = spec("protocol.md");
    let mut lines = text.lines();
    let level = lines
        .by_ref()
        .find_map(|line| {
            let hashes = line.len() - line.trim_start_matches('#').len();
            (hashes > 0 && line[hashes..].trim() == heading).then_some(hashes)
        })
        .unwrap_or_else(|| panic!("spec/protocol.md has no section \"{heading}\""));
    lines
        .take_while(|line| {
            let hashes = line.len() - line.trim_start_matches('#').len();
            hashes == 0 || hashes > level || !line[hashes..].starts_with(' ')
        })
        .map(str::to_owned)
        .collect()
}

/// The first `backquoted` word of each table row of a section.
fn first_codes_of_rows(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| line.split('`').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn every_error_code_is_in_the_spec_in_order() {
    let listed = first_codes_of_rows(&section("Error codes"));
    let codes: Vec<String> = ErrorCode::ALL.iter().map(|code| code.as_str().to_owned()).collect();
    assert_eq!(listed, codes, "spec/protocol.md §Error codes must list exactly ErrorCode::ALL, in its order");
    let text = spec("protocol.md");
    for code in &codes {
        assert!(
            text.matches(&format!("`{code}`")).count() >= 2,
            "{code} is in the table but no rule names it"
        );
    }
}

/// Every limit, with its value as the crate computes it.
fn limits() -> Vec<(&'static str, i128)> {
    let size = |value: usize| i128::try_from(value).unwrap();
    vec![
        ("MAX_RECEIPT_BYTES", size(limits::MAX_RECEIPT_BYTES)),
        ("MAX_CLAIM_BYTES", size(limits::MAX_CLAIM_BYTES)),
        ("MAX_CLAIM_EVENT_BYTES", size(limits::MAX_CLAIM_EVENT_BYTES)),
        ("MAX_DIRECTORY_BYTES", size(limits::MAX_DIRECTORY_BYTES)),
        ("MAX_EVIDENCE_BYTES", size(limits::MAX_EVIDENCE_BYTES)),
        ("MAX_ASSIGNMENT_BYTES", size(limits::MAX_ASSIGNMENT_BYTES)),
        ("MAX_RECORD_BYTES", size(limits::MAX_RECORD_BYTES)),
        ("MAX_CBOR_DEPTH", size(limits::MAX_CBOR_DEPTH)),
        ("MAX_CBOR_ITEMS", size(limits::MAX_CBOR_ITEMS)),
        ("MAX_RECORDS_PER_DELIVERY", size(limits::MAX_RECORDS_PER_DELIVERY)),
        ("MAX_MESSAGE_BYTES", size(limits::MAX_MESSAGE_BYTES)),
        ("MAX_DELIVERY_RECORD_BYTES", size(limits::MAX_DELIVERY_RECORD_BYTES)),
        ("MAX_LINES_PER_RECEIPT", size(limits::MAX_LINES_PER_RECEIPT)),
        ("MAX_DISCOUNTS_PER_LINE", size(limits::MAX_DISCOUNTS_PER_LINE)),
        ("MAX_PAYMENTS_PER_RECEIPT", size(limits::MAX_PAYMENTS_PER_RECEIPT)),
        ("MAX_ITEMS_PER_CLAIM", size(limits::MAX_ITEMS_PER_CLAIM)),
        ("MAX_PARTICIPANTS_PER_ITEM", size(limits::MAX_PARTICIPANTS_PER_ITEM)),
        ("MAX_MEMBERS_PER_DIRECTORY", size(limits::MAX_MEMBERS_PER_DIRECTORY)),
        ("MAX_ADDRESSES_PER_MEMBER", size(limits::MAX_ADDRESSES_PER_MEMBER)),
        ("MAX_CODE_BYTES", size(limits::MAX_CODE_BYTES)),
        ("MAX_NAME_BYTES", size(limits::MAX_NAME_BYTES)),
        ("MAX_FREE_TEXT_BYTES", size(limits::MAX_FREE_TEXT_BYTES)),
        ("MAX_AMOUNT_MINOR", i128::from(limits::MAX_AMOUNT_MINOR)),
        ("MAX_QUANTITY_MILLI", i128::from(limits::MAX_QUANTITY_MILLI)),
        ("MAX_ROUNDING_MINOR", i128::from(limits::MAX_ROUNDING_MINOR)),
        ("MAX_MILEAGE_KM", i128::from(limits::MAX_MILEAGE_KM)),
        ("MAX_PER_DIEM_DAYS", i128::from(limits::MAX_PER_DIEM_DAYS)),
    ]
}

#[test]
fn every_limit_is_in_the_spec_with_its_value() {
    // The list above must name every constant of limits.rs, so a new one cannot slip past.
    let source =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/limits.rs")).unwrap();
    let declared: BTreeSet<&str> = source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub const "))
        .filter_map(|rest| rest.split(':').next())
        .collect();
    let listed: BTreeSet<&str> = limits().iter().map(|(name, _)| *name).collect();
    assert_eq!(declared, listed, "this test's list of limits must match protocol/src/limits.rs");

    let rows = section("Limits");
    for (name, value) in limits() {
        let row = rows
            .iter()
            .find(|line| line.starts_with('|') && line.contains(&format!("`{name}`")))
            .unwrap_or_else(|| panic!("spec/protocol.md §Limits has no row for `{name}`"));
        let numbers: Vec<&str> =
            row.split(|c: char| !c.is_ascii_digit()).filter(|part| !part.is_empty()).collect();
        assert!(
            numbers.contains(&value.to_string().as_str()),
            "spec/protocol.md §Limits: the row of `{name}` does not hold its value {value}: {row}"
        );
    }
}

#[test]
fn every_record_type_is_in_the_cddl_and_the_spec() {
    let cddl = spec("kvitt.cddl");
    let protocol = spec("protocol.md");
    for kind in RecordType::ALL {
        let name = kind.as_str();
        assert!(
            cddl.contains(&format!("\"type\": \"{name}\"")),
            "spec/kvitt.cddl has no envelope of type \"{name}\""
        );
        assert!(
            protocol.contains(&format!("`{name}`")),
            "spec/protocol.md does not name the record type `{name}`"
        );
    }
}

#[test]
fn currency_exponents_match_the_spec() {
    // Every three-letter code, against the rows `| 0 | ... |` and `| 3 | ... |` of the table.
    let rows = section("Currencies");
    let listed = |exponent: u32| -> BTreeSet<String> {
        let row = rows
            .iter()
            .find(|line| line.starts_with(&format!("| {exponent} |")))
            .unwrap_or_else(|| panic!("spec/protocol.md §Currencies has no row for exponent {exponent}"));
        row.split(|c: char| !c.is_ascii_uppercase())
            .filter(|word| word.len() == 3)
            .map(str::to_owned)
            .collect()
    };
    let mut actual = [BTreeSet::new(), BTreeSet::new()];
    for a in b'A'..=b'Z' {
        for b in b'A'..=b'Z' {
            for c in b'A'..=b'Z' {
                let code = String::from_utf8(vec![a, b, c]).unwrap();
                match currency_exponent(&code) {
                    0 => actual[0].insert(code),
                    3 => actual[1].insert(code),
                    2 => false,
                    other => panic!("{code} has exponent {other}, which the spec does not know"),
                };
            }
        }
    }
    assert_eq!(listed(0), actual[0], "currencies without decimals");
    assert_eq!(listed(3), actual[1], "currencies with three decimals");
}

#[test]
fn signing_input_example_matches_the_code() {
    // The worked example of §Signing input: the body {"n": 1} of a claim event.
    let input = hex::encode(signing_input(RecordType::ClaimEvent, &[0xa1, 0x61, 0x6e, 0x01]));
    assert!(spec("protocol.md").contains(&input), "spec/protocol.md does not show the signing input {input}");
}

/// A signed record of each type, built from the shared fixtures.
fn signed_fixtures() -> Vec<(RecordType, Vec<u8>)> {
    let receipt = Signed::sign(named::receipt(), &named::key("merchant")).unwrap();
    // The same register and serial with another total: the merchant equivocated.
    let mut changed = named::receipt();
    if let Some(line) = changed.lines.first_mut() {
        line.quantity = Some(2000);
    }
    let mut changed = changed.with_computed_totals();
    let total = changed.total;
    for payment in &mut changed.payments {
        if let Payment::Card { amount, .. } = payment {
            *amount = total;
        }
    }
    let conflicting = Signed::sign(changed, &named::key("merchant")).unwrap();
    let evidence = Evidence::new(
        &AnyRecord::Receipt(receipt.clone()),
        &AnyRecord::Receipt(conflicting),
        "2026-05-05T09:00:00+02:00".into(),
    )
    .unwrap();
    let claim =
        Signed::sign(named::claim(receipt.id(), receipt.body().total), &named::key("agency")).unwrap();
    let event = Signed::sign(named::submitted(claim.id()), &named::key("agency")).unwrap();
    let directory = Signed::sign(named::directory(), &named::key("operator")).unwrap();
    let evidence = Signed::sign(evidence, &named::key("ssc")).unwrap();
    let assignment = kvitt_protocol::assignment::Assignment {
        receipt: receipt.id(),
        buyer: named::receipt().buyer.unwrap(),
        assigned_at: "2026-05-05T09:30:00+02:00".into(),
    };
    let assignment = Signed::sign(assignment, &named::key("merchant")).unwrap();
    vec![
        (RecordType::Receipt, receipt.bytes().to_vec()),
        (RecordType::Claim, claim.bytes().to_vec()),
        (RecordType::ClaimEvent, event.bytes().to_vec()),
        (RecordType::Directory, directory.bytes().to_vec()),
        (RecordType::Evidence, evidence.bytes().to_vec()),
        (RecordType::Assignment, assignment.bytes().to_vec()),
    ]
}

/// `bytes` (an envelope) with `change` applied to its decoded map.
fn changed(bytes: &[u8], change: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let Value::Map(mut envelope) = cbor::decode(bytes).unwrap() else { panic!("an envelope is a map") };
    change(&mut envelope);
    cbor::encode(&Value::Map(envelope)).unwrap()
}

/// The entry `name` of a map.
fn entry<'a>(map: &'a mut [(Value, Value)], name: &str) -> &'a mut Value {
    map.iter_mut().find(|(key, _)| key == &Value::Text(name.into())).map(|(_, item)| item).unwrap()
}

#[test]
fn fixtures_and_valid_vectors_match_the_cddl() {
    let document = schema::kvitt_cddl();
    // The first rule is the root (RFC 8610 §3.1): any record.
    let first_rule = document.lines().find(|line| !line.is_empty() && !line.starts_with(';'));
    assert!(
        first_rule.is_some_and(|line| line.starts_with("kvitt-record = ")),
        "kvitt-record is the first rule"
    );
    let schema = cddl::parser::cddl_from_str(&document, false)
        .unwrap_or_else(|error| panic!("spec/kvitt.cddl does not parse: {error}"));
    let assert_valid = |what: &str, bytes: &[u8]| {
        if let Err(error) = schema::validate_cddl(&schema, bytes) {
            panic!("{what} does not match spec/kvitt.cddl: {error}");
        }
    };

    let fixtures = signed_fixtures();
    let kinds: BTreeSet<RecordType> = fixtures.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(kinds, RecordType::ALL.into_iter().collect(), "a fixture of every record type");
    for (kind, bytes) in &fixtures {
        assert_valid(&format!("the {kind} fixture"), bytes);
    }

    // The schema is not vacuous: a body missing a field, holding an unknown one or a field
    // at its default value, or under another type's name does not validate.
    let (_, receipt) = &fixtures[0];
    let body = |change: fn(&mut Vec<(Value, Value)>)| {
        changed(receipt, |envelope| {
            let Value::Map(body) = entry(envelope, "body") else { panic!("a body is a map") };
            change(body);
        })
    };
    let broken = [
        ("without total", body(|body| body.retain(|(key, _)| key != &Value::Text("total".into())))),
        (
            "with an unknown field",
            body(|body| body.push((Value::Text("tip".into()), Value::Integer(5.into())))),
        ),
        (
            "with rounding 0",
            body(|body| body.push((Value::Text("rounding".into()), Value::Integer(0.into())))),
        ),
        (
            "typed as a claim",
            changed(receipt, |envelope| *entry(envelope, "type") = Value::Text("claim".into())),
        ),
        (
            "with a signer of 31 bytes",
            changed(receipt, |envelope| *entry(envelope, "signer") = Value::Bytes(vec![1; 31])),
        ),
        ("issued at noon", body(|body| *entry(body, "issued_at") = Value::Text("12:00".into()))),
        (
            "issued with offset -00:00",
            body(|body| *entry(body, "issued_at") = Value::Text("2026-05-04T08:15:00-00:00".into())),
        ),
        (
            "issued on 30 February",
            body(|body| *entry(body, "issued_at") = Value::Text("2026-02-30T08:15:00+01:00".into())),
        ),
        (
            "issued at 24:00",
            body(|body| *entry(body, "issued_at") = Value::Text("2026-05-04T24:00:00+02:00".into())),
        ),
        (
            "issued with offset +14:01",
            body(|body| *entry(body, "issued_at") = Value::Text("2026-05-04T08:15:00+14:01".into())),
        ),
        (
            "sold by an SE: organisation",
            body(|body| {
                let Value::Map(merchant) = entry(body, "merchant") else { panic!("a merchant is a map") };
                *entry(merchant, "org") = Value::Text("SE:5560160680".into());
            }),
        ),
        (
            "with currency SEKX (a pattern matches the whole text)",
            body(|body| *entry(body, "currency") = Value::Text("SEKX".into())),
        ),
        (
            "with a line at 60 %",
            body(|body| {
                let Value::Array(lines) = entry(body, "lines") else { panic!("lines are an array") };
                let Some(Value::Map(line)) = lines.first_mut() else { panic!("a line is a map") };
                *entry(line, "vat_rate") = Value::Integer(6000.into());
            }),
        ),
    ];
    for (what, bytes) in broken {
        assert!(schema::validate_cddl(&schema, &bytes).is_err(), "a receipt {what} matches spec/kvitt.cddl");
    }
    let (_, evidence) = &fixtures[4];
    let hollow = changed(evidence, |envelope| {
        let Value::Map(body) = entry(envelope, "body") else { panic!("a body is a map") };
        *entry(body, "first") = Value::Bytes(cbor::encode("not a record").unwrap());
    });
    assert!(
        schema::validate_cddl(&schema, &hollow).is_err(),
        "evidence holding a text matches spec/kvitt.cddl"
    );

    // Every valid vector that is one record (spec/vectors/README.md); none need exist yet.
    let mut files: Vec<PathBuf> = std::fs::read_dir(spec_path("vectors"))
        .map(|entries| entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut checked = 0;
    for path in files.into_iter().filter(|path| path.extension().is_some_and(|ext| ext == "json")) {
        let vector: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if vector["expected"]["valid"].as_bool() != Some(true) {
            continue;
        }
        // A record, or a valid claim history's claim and events.
        let records = [&vector["cbor"], &vector["claim"]]
            .into_iter()
            .chain(vector["events"].as_array().into_iter().flatten());
        for record in records.filter_map(serde_json::Value::as_str) {
            assert_valid(&format!("vector {}", path.display()), &hex::decode(record).unwrap());
            checked += 1;
        }
    }
    println!("{checked} records of valid vectors match spec/kvitt.cddl");
}

/// Error codes whose rules spec/kvitt.cddl cannot express (its header, "Beyond this
/// schema"): an invalid vector refused with one of these may still match the schema.
const BEYOND_CDDL: &[&str] = &[
    "limit.record_size",          // the size of the whole input
    "signature.key",              // point decoding
    "signature.invalid",          // ed25519
    "text.invalid",               // control characters
    "text.bidi",                  // bidirectional formatting characters
    "org.luhn",                   // a check digit
    "line.gtin",                  // a check digit
    "org.vat_number",             // relates two fields
    "vat.rate",                   // relates the rate to the seller's country
    "vat.category_rate",          // relates the category to the date of sale
    "vat.breakdown",              // arithmetic over the lines
    "line.amount",                // arithmetic
    "receipt.total",              // arithmetic
    "receipt.payments",           // arithmetic
    "receipt.original",           // relates two fields
    "claim.item_amount",          // arithmetic
    "claim.duplicate_receipt",    // relates two items
    "date.order",                 // relates two fields
    "directory.duplicate_member", // relates two members
    "directory.serves",           // relates two members
    "evidence.not_conflicting",   // relates the two records held
];

/// Invalid vectors of codes the schema expresses in part, with the part beyond it.
const BEYOND_CDDL_VECTORS: &[(&str, &str)] = &[
    ("claim-invalid-mileage-date", "29 February of a year that is not a leap year"),
    ("directory-invalid-address-ipv4-compatible", "the canonical IPv6 text"),
    ("directory-invalid-address-ipv4-leading-zero", "the dotted-quad IPv4 text"),
    ("directory-invalid-address-ipv4-mapped-hex", "the canonical IPv6 text"),
    ("directory-invalid-address-leading-zeros", "the canonical IPv6 text"),
    ("directory-invalid-address-uncompressed", "the canonical IPv6 text"),
    ("envelope-claim-as-receipt", "the type the decoder expects is not in the bytes"),
];

/// spec/kvitt.cddl is as tight as CDDL allows: every invalid vector whose bytes are one CBOR
/// record is refused by the schema too, unless the rule it breaks is one the schema's header
/// names as beyond CDDL (check digits, leap years, arithmetic, relations between fields…).
#[test]
fn invalid_vectors_fail_the_cddl_unless_their_rule_is_beyond_it() {
    let document = schema::kvitt_cddl();
    let schema = cddl::parser::cddl_from_str(&document, false).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(spec_path("vectors"))
        .unwrap()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut passing = Vec::new();
    for path in files {
        let vector: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let (Some(false), Some(hex), Some(code)) = (
            vector["expected"]["valid"].as_bool(),
            vector["cbor"].as_str(),
            vector["expected"]["error"].as_str(),
        ) else {
            continue;
        };
        let bytes = hex::decode(hex).unwrap();
        // Inputs that are not one well-formed CBOR item of the profile are the decoder's
        // business (steps 1-7), not the schema's.
        if cbor::decode(&bytes).is_err() {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let excused =
            BEYOND_CDDL.contains(&code) || BEYOND_CDDL_VECTORS.iter().any(|(vector, _)| *vector == name);
        if schema::validate_cddl(&schema, &bytes).is_ok() && !excused {
            passing.push(format!("{} ({code})", path.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(passing.is_empty(), "invalid vectors that match spec/kvitt.cddl:\n  {}", passing.join("\n  "));
}
