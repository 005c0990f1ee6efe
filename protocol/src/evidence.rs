//! Equivocation evidence: two valid records from one signer for one slot.
//!
//! A slot is what a signer may sign only once: a register's serial number, a claim's
//! number, the successor of a claim event, a directory version, the buyer of a receipt. Two different records for
//! one slot prove the signer equivocated; anyone can check the evidence offline.

use serde::{Deserialize, Serialize};

use crate::envelope::{AnyRecord, Record, RecordType};
use crate::error::{Error, ErrorCode, Result};
use crate::fields::parse_time;
use crate::id::{byte_string, PublicKey, RecordId};

/// Two conflicting records, in the order of their ids (`first.id < second.id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The envelope bytes of the record with the smaller id.
    #[serde(with = "byte_string")]
    pub first: Vec<u8>,
    /// The envelope bytes of the record with the larger id.
    #[serde(with = "byte_string")]
    pub second: Vec<u8>,
    /// When the reporting node found the conflict.
    pub detected_at: String,
}

/// What a signer may sign only once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    /// A merchant's receipt serial on one register.
    Receipt {
        /// The merchant's node key.
        signer: PublicKey,
        /// The register.
        register: String,
        /// The serial number.
        serial: u64,
    },
    /// An agency's claim number.
    Claim {
        /// The agency's node key.
        signer: PublicKey,
        /// The claim number.
        number: String,
    },
    /// The successor of one point in a claim's event chain.
    ClaimEvent {
        /// The signer's node key.
        signer: PublicKey,
        /// The claim.
        claim: RecordId,
        /// The predecessor; `None` for the first event.
        previous: Option<RecordId>,
    },
    /// The buyer of one receipt (spec/codes.md §Assignment).
    Assignment {
        /// The merchant's node key.
        signer: PublicKey,
        /// The receipt assigned.
        receipt: RecordId,
    },
    /// A directory version.
    Directory {
        /// The operator key.
        signer: PublicKey,
        /// The version number.
        version: u64,
    },
}

impl Slot {
    /// The slot a record occupies; evidence occupies none.
    pub fn of(record: &AnyRecord) -> Option<Slot> {
        let signer = record.signer();
        match record {
            AnyRecord::Receipt(receipt) => Some(Slot::Receipt {
                signer,
                register: receipt.body().register.clone(),
                serial: receipt.body().serial,
            }),
            AnyRecord::Claim(claim) => Some(Slot::Claim { signer, number: claim.body().number.clone() }),
            AnyRecord::ClaimEvent(event) => {
                Some(Slot::ClaimEvent { signer, claim: event.body().claim, previous: event.body().previous })
            }
            AnyRecord::Directory(directory) => {
                Some(Slot::Directory { signer, version: directory.body().version })
            }
            AnyRecord::Assignment(assignment) => {
                Some(Slot::Assignment { signer, receipt: assignment.body().receipt })
            }
            AnyRecord::Evidence(_) => None,
        }
    }
}

impl Evidence {
    /// Evidence from two records, ordered by id, if they conflict.
    pub fn new(a: &AnyRecord, b: &AnyRecord, detected_at: String) -> Result<Evidence> {
        let (first, second) = if a.id() <= b.id() { (a, b) } else { (b, a) };
        let evidence =
            Evidence { first: first.bytes().to_vec(), second: second.bytes().to_vec(), detected_at };
        evidence.validate()?;
        Ok(evidence)
    }

    /// Both records, decoded and verified.
    pub fn records(&self) -> Result<(AnyRecord, AnyRecord)> {
        let first = AnyRecord::decode_conflicting(&self.first).map_err(|error| error.within("first"))?;
        let second = AnyRecord::decode_conflicting(&self.second).map_err(|error| error.within("second"))?;
        Ok((first, second))
    }

    /// The slot both records occupy.
    pub fn slot(&self) -> Result<Slot> {
        let (first, _) = self.records()?;
        Slot::of(&first).ok_or_else(|| {
            Error::new(ErrorCode::NotConflicting, "first", "evidence about evidence is not evidence")
        })
    }
}

impl Record for Evidence {
    const TYPE: RecordType = RecordType::Evidence;

    fn validate(&self) -> Result<()> {
        parse_time("detected_at", &self.detected_at)?;
        let (first, second) = self.records()?;
        let not_conflicting = |why: &str| Err(Error::new(ErrorCode::NotConflicting, "", why.to_owned()));
        if first.id() >= second.id() {
            return not_conflicting("the records are the same, or not in ascending order of id");
        }
        let (Some(slot_a), Some(slot_b)) = (Slot::of(&first), Slot::of(&second)) else {
            return not_conflicting("evidence records do not occupy slots");
        };
        if slot_a != slot_b {
            return not_conflicting("the records occupy different slots (or have different signers)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Signed;
    use ciborium::value::Value;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn evidence_never_holds_evidence() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let event = |at: &str| {
            let body = Value::Map(vec![
                (
                    Value::Text("action".into()),
                    Value::Map(vec![(Value::Text("kind".into()), Value::Text("submitted".into()))]),
                ),
                (
                    Value::Text("actor".into()),
                    Value::Map(vec![
                        (Value::Text("person".into()), Value::Text("emp-1".into())),
                        (Value::Text("role".into()), Value::Text("employee".into())),
                    ]),
                ),
                (Value::Text("at".into()), Value::Text(at.into())),
                (Value::Text("claim".into()), Value::Bytes(vec![7; 32])),
            ]);
            let body_bytes = crate::cbor::encode(&body).unwrap();
            let signature = key.sign(&crate::envelope::signing_input(RecordType::ClaimEvent, &body_bytes));
            let envelope = Value::Map(vec![
                (Value::Text("v".into()), Value::Integer(1.into())),
                (Value::Text("type".into()), Value::Text("claim_event".into())),
                (Value::Text("body".into()), body),
                (Value::Text("signer".into()), Value::Bytes(key.verifying_key().to_bytes().to_vec())),
                (Value::Text("sig".into()), Value::Bytes(signature.to_bytes().to_vec())),
            ]);
            AnyRecord::decode(&crate::cbor::encode(&envelope).unwrap()).unwrap()
        };
        let (a, b) = (event("2026-05-06T10:05:00+02:00"), event("2026-05-06T10:06:00+02:00"));
        let evidence = Evidence::new(&a, &b, "2026-05-07T09:00:00+02:00".into()).unwrap();
        let signed = AnyRecord::Evidence(Signed::sign(evidence.clone(), &key).unwrap());
        let other = AnyRecord::Evidence(
            Signed::sign(Evidence { detected_at: "2026-05-08T09:00:00+02:00".into(), ..evidence }, &key)
                .unwrap(),
        );
        let error = Evidence::new(&signed, &other, "2026-05-09T09:00:00+02:00".into()).unwrap_err();
        assert_eq!(error.code(), ErrorCode::NotConflicting);
        assert!(matches!(error.path(), "first.type" | "second.type"), "{}", error.path());
    }
}
