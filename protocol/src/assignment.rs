//! The assignment (spec/codes.md §Assignment): how a receipt signed without a buyer gets
//! one afterwards. A signed receipt is never edited, so the merchant signs a second, small
//! record naming the receipt and its buyer. Its slot is the receipt: a merchant signs at
//! most one assignment per receipt, and two different ones are equivocation.

use serde::{Deserialize, Serialize};

use crate::envelope::{Record, RecordType, Signed};
use crate::error::Result;
use crate::fields::parse_time;
use crate::id::RecordId;
use crate::receipt::{Buyer, Receipt};

/// A merchant's statement that the receipt `receipt` was bought by `buyer`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The id of the receipt, signed by the same merchant without a buyer.
    pub receipt: RecordId,
    /// The agency (and employee) that collected it.
    pub buyer: Buyer,
    /// When the merchant assigned it.
    pub assigned_at: String,
}

impl Record for Assignment {
    const TYPE: RecordType = RecordType::Assignment;

    fn validate(&self) -> Result<()> {
        self.buyer.validate().map_err(|error| error.within("buyer"))?;
        parse_time("assigned_at", &self.assigned_at)?;
        Ok(())
    }
}

/// Why an assignment does not assign a receipt.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssignmentMismatch {
    /// The assignment names another receipt.
    #[error("the assignment names receipt {named}, not {receipt}")]
    OtherReceipt {
        /// The receipt the assignment names.
        named: RecordId,
        /// The receipt it was checked against.
        receipt: RecordId,
    },
    /// The assignment and the receipt have different signers.
    #[error("the assignment is signed by another key than the receipt")]
    OtherSigner,
    /// The receipt names its buyer already: it can have no assignment.
    #[error("the receipt names its buyer {0} already")]
    ReceiptHasBuyer(String),
}

/// Checks that `assignment` assigns `receipt`: the receipt's id, the receipt's signer, and
/// a receipt signed without a buyer (so a receipt has exactly one buyer once it has any).
pub fn check_assigns(
    assignment: &Signed<Assignment>,
    receipt: &Signed<Receipt>,
) -> std::result::Result<(), AssignmentMismatch> {
    if assignment.body().receipt != receipt.id() {
        return Err(AssignmentMismatch::OtherReceipt {
            named: assignment.body().receipt,
            receipt: receipt.id(),
        });
    }
    if assignment.signer() != receipt.signer() {
        return Err(AssignmentMismatch::OtherSigner);
    }
    if let Some(agency) = receipt.body().buyer_agency() {
        return Err(AssignmentMismatch::ReceiptHasBuyer(agency.to_owned()));
    }
    Ok(())
}

/// The effective buyer of a receipt (spec/codes.md §Claims): the buyer it names, or else
/// the buyer of `assignment`, which must assign it ([`check_assigns`]). `Ok(None)`: the
/// receipt names no buyer and no assignment is given. A receipt that names its buyer takes
/// no assignment, so the answer is unique: from one signed statement or the other.
pub fn effective_buyer<'a>(
    receipt: &'a Signed<Receipt>,
    assignment: Option<&'a Signed<Assignment>>,
) -> std::result::Result<Option<&'a Buyer>, AssignmentMismatch> {
    match (&receipt.body().buyer, assignment) {
        (Some(buyer), None) => Ok(Some(buyer)),
        (_, Some(assignment)) => {
            check_assigns(assignment, receipt)?;
            Ok(Some(&assignment.body().buyer))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;
    use crate::ErrorCode;
    use ed25519_dalek::SigningKey;

    fn sample_receipt() -> Receipt {
        sample::receipt(sample::MERCHANT_ORG, sample::AGENCY_ORG, "KASSA-1", 1)
    }

    fn buyerless(key: &SigningKey) -> Signed<Receipt> {
        Signed::sign(Receipt { buyer: None, ..sample_receipt() }, key).unwrap()
    }

    fn assignment(receipt: RecordId) -> Assignment {
        Assignment {
            receipt,
            buyer: Buyer { agency: "202100-5489".into(), employee: Some("anna".into()) },
            assigned_at: "2026-03-02T10:00:00+01:00".into(),
        }
    }

    #[test]
    fn an_assignment_signs_decodes_and_assigns_its_receipt() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let receipt = buyerless(&key);
        let signed = Signed::sign(assignment(receipt.id()), &key).unwrap();
        let decoded = Signed::<Assignment>::decode(signed.bytes()).unwrap();
        assert_eq!(decoded, signed);
        assert_eq!(check_assigns(&decoded, &receipt), Ok(()));
    }

    #[test]
    fn an_assignment_of_another_receipt_signer_or_of_a_receipt_with_a_buyer_is_refused() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let receipt = buyerless(&key);
        let other = Signed::sign(assignment(RecordId::of(b"other")), &key).unwrap();
        assert!(matches!(check_assigns(&other, &receipt), Err(AssignmentMismatch::OtherReceipt { .. })));
        let foreign = Signed::sign(assignment(receipt.id()), &SigningKey::from_bytes(&[2; 32])).unwrap();
        assert_eq!(check_assigns(&foreign, &receipt), Err(AssignmentMismatch::OtherSigner));
        let bought = Signed::sign(sample_receipt(), &key).unwrap();
        let of_bought = Signed::sign(assignment(bought.id()), &key).unwrap();
        assert!(matches!(check_assigns(&of_bought, &bought), Err(AssignmentMismatch::ReceiptHasBuyer(_))));
    }

    #[test]
    fn the_effective_buyer_is_the_receipts_own_or_its_assignments() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let bought = Signed::sign(sample_receipt(), &key).unwrap();
        assert_eq!(effective_buyer(&bought, None), Ok(bought.body().buyer.as_ref()));
        let receipt = buyerless(&key);
        assert_eq!(effective_buyer(&receipt, None), Ok(None));
        let assigned = Signed::sign(assignment(receipt.id()), &key).unwrap();
        assert_eq!(effective_buyer(&receipt, Some(&assigned)), Ok(Some(&assigned.body().buyer)));
        // An assignment of a receipt that names its buyer, or of another receipt, gives none.
        let of_bought = Signed::sign(assignment(bought.id()), &key).unwrap();
        assert!(matches!(
            effective_buyer(&bought, Some(&of_bought)),
            Err(AssignmentMismatch::ReceiptHasBuyer(_))
        ));
        assert!(matches!(
            effective_buyer(&receipt, Some(&of_bought)),
            Err(AssignmentMismatch::OtherReceipt { .. })
        ));
    }

    #[test]
    fn an_assignment_checks_its_buyer_and_time() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let mut bad = assignment(RecordId::of(b"r"));
        bad.buyer.agency = "202100-5488".into();
        let error = Signed::sign(bad, &key).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::OrgLuhn, "body.buyer.agency"));
        let mut bad = assignment(RecordId::of(b"r"));
        bad.assigned_at = "yesterday".into();
        assert_eq!(Signed::sign(bad, &key).unwrap_err().code(), ErrorCode::TimeFormat);
    }
}
