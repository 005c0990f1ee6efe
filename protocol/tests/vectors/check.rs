//! The verdict check: reads the committed files only, as another implementation would.

use super::*;

/// What a valid record decoded to.
struct Decoded {
    id: RecordId,
    signer: PublicKey,
    signing_input: Vec<u8>,
}

fn decoded<T: Record>(signed: &Signed<T>) -> Decoded {
    Decoded {
        id: signed.id(),
        signer: signed.signer(),
        signing_input: signing_input(T::TYPE, &cbor::encode(signed.body()).expect("a decoded body encodes")),
    }
}

fn decode_as(decoder: &str, bytes: &[u8]) -> Result<Result<Decoded, Error>, String> {
    Ok(match decoder {
        "receipt" => Signed::<kvitt_protocol::receipt::Receipt>::decode(bytes).map(|r| decoded(&r)),
        "claim" => Signed::<Claim>::decode(bytes).map(|r| decoded(&r)),
        "claim_event" => Signed::<ClaimEvent>::decode(bytes).map(|r| decoded(&r)),
        "directory" => Signed::<Directory>::decode(bytes).map(|r| decoded(&r)),
        "evidence" => Signed::<Evidence>::decode(bytes).map(|r| decoded(&r)),
        "assignment" => Signed::<kvitt_protocol::assignment::Assignment>::decode(bytes).map(|r| decoded(&r)),
        "any" => AnyRecord::decode(bytes).map(|record| match &record {
            AnyRecord::Receipt(r) => decoded(r),
            AnyRecord::Claim(r) => decoded(r),
            AnyRecord::ClaimEvent(r) => decoded(r),
            AnyRecord::Directory(r) => decoded(r),
            AnyRecord::Evidence(r) => decoded(r),
            AnyRecord::Assignment(r) => decoded(r),
        }),
        other => return Err(format!("unknown decode_as {other:?}")),
    })
}

fn field<'a>(json: &'a serde_json::Value, key: &str) -> Result<&'a str, String> {
    json.get(key).and_then(serde_json::Value::as_str).ok_or_else(|| format!("no text field {key:?}"))
}

fn hex_field(json: &serde_json::Value, key: &str) -> Result<Vec<u8>, String> {
    hex::decode(field(json, key)?).map_err(|error| format!("{key}: not hex: {error}"))
}

/// The error expected by an invalid vector, compared with the one produced.
fn check_error(expected: &serde_json::Value, error: &Error) -> Result<(), String> {
    let (code, path) = (field(expected, "error")?, field(expected, "path")?);
    if error.code().as_str() != code || error.path() != path {
        return Err(format!(
            "expected {code} at {path:?}, got {} at {:?} ({error})",
            error.code(),
            error.path()
        ));
    }
    Ok(())
}

/// Checks one committed vector; returns the error code it expects, if invalid.
fn check_vector(file_name: &str, json: &serde_json::Value) -> Result<Option<String>, String> {
    let name = field(json, "name")?;
    if format!("{name}.json") != file_name {
        return Err(format!("name {name:?} is not the file's stem"));
    }
    field(json, "description")?;
    let decoder = field(json, "decode_as")?;
    let expected = json.get("expected").ok_or("no expected")?;
    let valid = expected.get("valid").and_then(serde_json::Value::as_bool).ok_or("no expected.valid")?;
    let code = if valid {
        None
    } else {
        let code = field(expected, "error")?;
        // A claim's buyers are judged by a node's rule: its codes are refusal codes.
        let known = if decoder == "claim_buyer" {
            RefusalCode::parse(code).is_some()
        } else {
            ErrorCode::parse(code).is_some()
        };
        if !known {
            return Err(format!("{code:?} is not a code a {decoder} vector may expect"));
        }
        Some(code.to_owned())
    };
    if decoder == "claim_history" {
        check_history(json, expected, valid)?;
        return Ok(code);
    }
    if decoder == "claim_amounts" {
        check_amounts(json, expected, valid)?;
        return Ok(code);
    }
    if decoder == "claim_buyer" {
        check_buyers(json, expected, valid)?;
        return Ok(code);
    }
    let bytes = hex_field(json, "cbor")?;
    match (decode_as(decoder, &bytes)?, valid) {
        (Ok(record), true) => {
            if record.id.to_string() != field(expected, "id")? {
                return Err(format!("id {} differs from expected.id", record.id));
            }
            if json.get("signing_input").is_some()
                && record.signing_input != hex_field(json, "signing_input")?
            {
                return Err("signing_input differs from the one recomputed from the decoded body".into());
            }
            if record.signer.to_string() != field(json, "public_key")? {
                return Err(format!("signed by {}, not public_key", record.signer));
            }
        }
        (Ok(record), false) => return Err(format!("accepted (id {}), expected {code:?}", record.id)),
        (Err(error), true) => return Err(format!("refused: {error}")),
        (Err(error), false) => check_error(expected, &error)?,
    }
    if let Some(seed) = json.get("secret_seed") {
        let seed: [u8; 32] = hex::decode(seed.as_str().ok_or("secret_seed is not text")?)
            .ok()
            .and_then(|seed| seed.try_into().ok())
            .ok_or("secret_seed is not 32 bytes of hex")?;
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        if hex::encode(public) != field(json, "public_key")? {
            return Err("secret_seed does not derive public_key".into());
        }
    }
    Ok(code)
}

/// A claim history: the claim and each event must decode; then events apply in order.
fn check_history(json: &serde_json::Value, expected: &serde_json::Value, valid: bool) -> Result<(), String> {
    let claim =
        Signed::<Claim>::decode(&hex_field(json, "claim")?).map_err(|error| format!("claim: {error}"))?;
    let events = json.get("events").and_then(serde_json::Value::as_array).ok_or("no events array")?;
    let mut state = ClaimState::new(&claim);
    for (index, event) in events.iter().enumerate() {
        let bytes = hex::decode(event.as_str().ok_or("an event is not text")?).map_err(|e| e.to_string())?;
        let event =
            Signed::<ClaimEvent>::decode(&bytes).map_err(|error| format!("events[{index}]: {error}"))?;
        match state.apply(claim.body(), &event) {
            Ok(next) => state = next,
            Err(error) if !valid => {
                let at =
                    expected.get("event").and_then(serde_json::Value::as_u64).ok_or("no expected.event")?;
                if at != index as u64 {
                    return Err(format!("refused at event {index}, expected at {at}: {error}"));
                }
                return check_error(expected, &error);
            }
            Err(error) => return Err(format!("events[{index}] refused: {error}")),
        }
    }
    if !valid {
        return Err(format!("every event applied (status {:?}), expected a refusal", state.status));
    }
    let status = serde_json::to_value(state.status).map_err(|error| error.to_string())?;
    if status.as_str() != Some(field(expected, "status")?) {
        return Err(format!("final status {status}, expected {}", field(expected, "status")?));
    }
    Ok(())
}

/// The signed records of type `T` in the hex array `key`.
fn records<T: Record>(json: &serde_json::Value, key: &str) -> Result<Vec<Signed<T>>, String> {
    let list = json.get(key).and_then(serde_json::Value::as_array).ok_or(format!("no {key} array"))?;
    list.iter()
        .enumerate()
        .map(|(index, hex_text)| {
            let bytes = hex::decode(hex_text.as_str().ok_or(format!("{key}[{index}] is not text"))?)
                .map_err(|error| format!("{key}[{index}]: {error}"))?;
            Signed::<T>::decode(&bytes).map_err(|error| format!("{key}[{index}]: {error}"))
        })
        .collect()
}

/// Runs `rule` on each receipt `claim` names, once, in the order of its first item, with
/// that receipt among `receipts`: the rule's first refusal as `Err(Ok(…))`, a receipt not
/// given (a malformed vector) as `Err(Err(…))`.
fn each_named_receipt<E>(
    claim: &Signed<Claim>,
    receipts: &[Signed<kvitt_protocol::receipt::Receipt>],
    mut rule: impl FnMut(&RecordId, &Signed<kvitt_protocol::receipt::Receipt>) -> Result<(), E>,
) -> Result<(), Result<E, String>> {
    let mut named: Vec<RecordId> = Vec::new();
    for id in claim.body().receipts() {
        if !named.contains(&id) {
            named.push(id);
        }
    }
    named.iter().try_for_each(|id| {
        let receipt = receipts
            .iter()
            .find(|receipt| receipt.id() == *id)
            .ok_or(Err(format!("receipt {id} is not given")))?;
        rule(id, receipt).map_err(Ok)
    })
}

/// Claim amounts: the claim and every record decode; then, for each receipt the claim
/// names in the order of its first item, the rule of spec/protocol.md §Claim amounts with
/// that receipt, the given receipts naming it as `original` and the other claims.
fn check_amounts(json: &serde_json::Value, expected: &serde_json::Value, valid: bool) -> Result<(), String> {
    let claim =
        Signed::<Claim>::decode(&hex_field(json, "claim")?).map_err(|error| format!("claim: {error}"))?;
    let receipts = records::<kvitt_protocol::receipt::Receipt>(json, "receipts")?;
    let other_claims = records::<Claim>(json, "other_claims")?;
    let verdict = each_named_receipt(&claim, &receipts, |_, receipt| {
        let claims = ReceiptClaims { receipt, returns: &receipts, other_claims: &other_claims };
        claims.check(claim.body())
    });
    match (verdict, valid) {
        (Ok(()), true) => Ok(()),
        (Ok(()), false) => Err("every amount holds, expected a refusal".into()),
        (Err(Err(malformed)), _) => Err(malformed),
        (Err(Ok(error)), true) => Err(format!("refused: {error}")),
        (Err(Ok(error)), false) => check_error(expected, &error),
    }
}

/// Claim buyers: the claim and every record decode; then, for each receipt the claim names
/// in the order of its first item, the rule of spec/codes.md §Claims with that receipt and
/// the assignment of it among `assignments` by the receipt's own signer (its slot), if any.
fn check_buyers(json: &serde_json::Value, expected: &serde_json::Value, valid: bool) -> Result<(), String> {
    let claim =
        Signed::<Claim>::decode(&hex_field(json, "claim")?).map_err(|error| format!("claim: {error}"))?;
    let receipts = records::<kvitt_protocol::receipt::Receipt>(json, "receipts")?;
    let assignments = records::<Assignment>(json, "assignments")?;
    let verdict = each_named_receipt(&claim, &receipts, |id, receipt| {
        let assignment = assignments
            .iter()
            .find(|assignment| assignment.body().receipt == *id && assignment.signer() == receipt.signer());
        check_claim_buyer(claim.body(), receipt, assignment).map(|_| ())
    });
    match (verdict, valid) {
        (Ok(()), true) => Ok(()),
        (Ok(()), false) => Err("every receipt is the claim's agency's, expected a refusal".into()),
        (Err(Err(malformed)), _) => Err(malformed),
        (Err(Ok(refusal)), true) => Err(format!("refused: {refusal}")),
        (Err(Ok(refusal)), false) => {
            let want = (field(expected, "error")?, field(expected, "path")?);
            if (refusal.code().as_str(), refusal.path()) != want {
                return Err(format!(
                    "refused with {} at {:?}, expected {want:?}",
                    refusal.code().as_str(),
                    refusal.path()
                ));
            }
            Ok(())
        }
    }
}

#[test]
fn every_vector_gets_its_verdict() {
    golden().bless_if_asked(rendered);
    let files = golden().committed();
    assert!(
        files.len() >= MIN_VECTORS,
        "{} vectors in spec/vectors/, expected at least {MIN_VECTORS}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut codes = BTreeSet::new();
    for (file_name, text) in &files {
        let outcome = serde_json::from_str(text)
            .map_err(|error| format!("not JSON: {error}"))
            .and_then(|json| check_vector(file_name, &json));
        match outcome {
            Ok(code) => codes.extend(code),
            Err(why) => failures.push(format!("{file_name}: {why}")),
        }
    }
    assert!(failures.is_empty(), "{} vectors fail:\n  {}", failures.len(), failures.join("\n  "));
    // Every error code has a vector, so none can be dropped unnoticed (and a new code
    // needs one).
    let missing: Vec<&str> =
        ErrorCode::ALL.iter().map(|code| code.as_str()).filter(|code| !codes.contains(*code)).collect();
    assert!(missing.is_empty(), "no invalid vector expects {missing:?}; add one to the generator");
}
