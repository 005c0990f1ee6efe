//! The vector model: a generated vector, its input and verdict, and its JSON form.

use super::*;

/// One generated vector.
pub(crate) struct Vector {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) decode_as: &'static str,
    pub(crate) input: Input,
    /// The envelope's signer field, when it has one.
    pub(crate) public_key: Option<[u8; 32]>,
    /// The seed that signed, when the signer field is its public key.
    pub(crate) secret_seed: Option<[u8; 32]>,
    /// For valid records: the exact bytes signed.
    pub(crate) signing_input: Option<Vec<u8>>,
    pub(crate) expected: Expected,
}

pub(crate) enum Input {
    Record(Vec<u8>),
    History { claim: Vec<u8>, events: Vec<Vec<u8>> },
    Amounts { claim: Vec<u8>, receipts: Vec<Vec<u8>>, other_claims: Vec<Vec<u8>> },
    Buyers { claim: Vec<u8>, receipts: Vec<Vec<u8>>, assignments: Vec<Vec<u8>> },
}

pub(crate) enum Expected {
    /// A valid record; its id is SHA-256 of the input.
    Valid,
    /// A valid claim history ending in this status.
    Status(&'static str),
    /// Refused with this code at this path.
    Invalid(ErrorCode, String),
    /// Refused by a node's rule with this refusal code at this path (`claim_buyer`).
    Refused(RefusalCode, String),
    /// A claim history whose event at this index is the first refused.
    InvalidEvent(usize, ErrorCode, String),
}

#[derive(Serialize)]
pub(crate) struct VectorFile<'a> {
    name: &'a str,
    description: &'a str,
    decode_as: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cbor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claim: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    other_claims: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignments: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_seed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_input: Option<String>,
    expected: ExpectedFile,
}

#[derive(Serialize)]
pub(crate) struct ExpectedFile {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<usize>,
}

impl Vector {
    /// A record vector, not yet given a verdict.
    pub(crate) fn record(name: &str, decode_as: &'static str, description: &str, bytes: Vec<u8>) -> Vector {
        Vector {
            name: name.to_owned(),
            description: description.to_owned(),
            decode_as,
            input: Input::Record(bytes),
            public_key: None,
            secret_seed: None,
            signing_input: None,
            expected: Expected::Valid,
        }
    }

    /// A claim-history vector, not yet given a verdict.
    pub(crate) fn history(name: &str, description: &str, claim: &[u8], events: &[&[u8]]) -> Vector {
        Vector {
            input: Input::History {
                claim: claim.to_vec(),
                events: events.iter().map(|event| event.to_vec()).collect(),
            },
            ..Vector::record(name, "claim_history", description, vec![])
        }
    }

    /// The signer is the named test key, which others can reproduce from its seed.
    /// A claim-amounts vector (spec/protocol.md §Claim amounts), not yet given a verdict:
    /// the claim, the receipts it names with their returns, and the other live claims.
    pub(crate) fn amounts(
        name: &str,
        description: &str,
        claim: &[u8],
        receipts: &[&[u8]],
        other_claims: &[&[u8]],
    ) -> Vector {
        let hex_list = |records: &[&[u8]]| records.iter().map(|record| record.to_vec()).collect();
        Vector {
            input: Input::Amounts {
                claim: claim.to_vec(),
                receipts: hex_list(receipts),
                other_claims: hex_list(other_claims),
            },
            ..Vector::record(name, "claim_amounts", description, vec![])
        }
    }

    /// A claim-buyer vector (spec/codes.md §Claims), not yet given a verdict: the claim,
    /// the receipts it names, and the assignments the checker holds.
    pub(crate) fn buyers(
        name: &str,
        description: &str,
        claim: &[u8],
        receipts: &[&[u8]],
        assignments: &[&[u8]],
    ) -> Vector {
        let list = |records: &[&[u8]]| records.iter().map(|record| record.to_vec()).collect();
        Vector {
            input: Input::Buyers {
                claim: claim.to_vec(),
                receipts: list(receipts),
                assignments: list(assignments),
            },
            ..Vector::record(name, "claim_buyer", description, vec![])
        }
    }

    pub(crate) fn signed_by(self, key_name: &str) -> Vector {
        let key = named::key(key_name);
        Vector { public_key: Some(key.verifying_key().to_bytes()), secret_seed: Some(key.to_bytes()), ..self }
    }

    pub(crate) fn fails(self, code: ErrorCode, path: &str) -> Vector {
        Vector { expected: Expected::Invalid(code, path.to_owned()), ..self }
    }

    pub(crate) fn refused(self, code: RefusalCode, path: &str) -> Vector {
        Vector { expected: Expected::Refused(code, path.to_owned()), ..self }
    }

    pub(crate) fn fails_at_event(self, event: usize, code: ErrorCode, path: &str) -> Vector {
        Vector { expected: Expected::InvalidEvent(event, code, path.to_owned()), ..self }
    }

    pub(crate) fn ends_in(self, status: &'static str) -> Vector {
        Vector { expected: Expected::Status(status), ..self }
    }

    pub(crate) fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }

    /// The vector's file: pretty JSON, two-space indent, keys in a fixed order, final newline.
    pub(crate) fn render(&self) -> String {
        let hex_list = |records: &[Vec<u8>]| Some(records.iter().map(hex::encode).collect::<Vec<_>>());
        let (cbor, claim, events, id) = match &self.input {
            Input::Record(bytes) => {
                (Some(hex::encode(bytes)), None, None, Some(RecordId::of(bytes).to_string()))
            }
            Input::History { claim, events } => (None, Some(hex::encode(claim)), hex_list(events), None),
            Input::Amounts { claim, .. } | Input::Buyers { claim, .. } => {
                (None, Some(hex::encode(claim)), None, None)
            }
        };
        let (receipts, other_claims, assignments) = match &self.input {
            Input::Amounts { receipts, other_claims, .. } => {
                (hex_list(receipts), hex_list(other_claims), None)
            }
            Input::Buyers { receipts, assignments, .. } => (hex_list(receipts), None, hex_list(assignments)),
            _ => (None, None, None),
        };
        let expected = match &self.expected {
            Expected::Valid => {
                ExpectedFile { valid: true, id, status: None, error: None, path: None, event: None }
            }
            Expected::Status(status) => ExpectedFile {
                valid: true,
                id: None,
                status: Some(status),
                error: None,
                path: None,
                event: None,
            },
            Expected::Invalid(code, path) => ExpectedFile {
                valid: false,
                id: None,
                status: None,
                error: Some(code.as_str()),
                path: Some(path.clone()),
                event: None,
            },
            Expected::Refused(code, path) => ExpectedFile {
                valid: false,
                id: None,
                status: None,
                error: Some(code.as_str()),
                path: Some(path.clone()),
                event: None,
            },
            Expected::InvalidEvent(index, code, path) => ExpectedFile {
                valid: false,
                id: None,
                status: None,
                error: Some(code.as_str()),
                path: Some(path.clone()),
                event: Some(*index),
            },
        };
        let file = VectorFile {
            name: &self.name,
            description: &self.description,
            decode_as: self.decode_as,
            cbor,
            claim,
            events,
            receipts,
            other_claims,
            assignments,
            public_key: self.public_key.map(hex::encode),
            secret_seed: self.secret_seed.map(hex::encode),
            signing_input: self.signing_input.as_ref().map(hex::encode),
            expected,
        };
        let mut text = serde_json::to_string_pretty(&file).expect("a vector renders as JSON");
        text.push('\n');
        text
    }
}

/// A valid vector of a record signed with `Signed::sign`.
pub(crate) fn valid<T: Record>(
    name: &str,
    decode_as: &'static str,
    description: &str,
    signed: &Signed<T>,
    key_name: &str,
) -> Vector {
    assert_eq!(signed.signer(), named::public(key_name), "{name}: signed by another key");
    let body = cbor::encode(signed.body()).expect("a valid body encodes");
    Vector {
        signing_input: Some(signing_input(T::TYPE, &body)),
        ..Vector::record(name, decode_as, description, signed.bytes().to_vec()).signed_by(key_name)
    }
}
