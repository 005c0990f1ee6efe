//! Equivocation evidence: two valid records from one signer for one slot.
//!
//! A slot is what a signer may sign only once: a register's serial number, a claim's
//! number, the successor of a claim event, a directory version. Two different records for
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
        let first = AnyRecord::decode(&self.first).map_err(|error| error.within("first"))?;
        let second = AnyRecord::decode(&self.second).map_err(|error| error.within("second"))?;
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
