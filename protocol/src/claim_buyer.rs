//! The rule that a claim names only receipts its agency bought (spec/codes.md §Claims).
//!
//! A receipt names its buyer, or is signed without one and gets it from its merchant's
//! assignment (spec/codes.md §Assignment). Every check of a claim's receipts — the agency's
//! draft and submission, the SSC's acceptance, booking — asks this one rule with the
//! receipt and the assignment the checker holds, so that they cannot disagree on who
//! bought a receipt.
//!
//! ```
//! use kvitt_protocol::claim_buyer::check_claim_buyer;
//! use kvitt_protocol::receipt::Receipt;
//! use kvitt_protocol::wire::RefusalCode;
//! use kvitt_protocol::{sample, Signed};
//! # let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let body = sample::receipt(sample::MERCHANT_ORG, sample::AGENCY_ORG, "KASSA-1", 1042);
//! let cash = Signed::sign(Receipt { buyer: None, ..body }, &key).unwrap();
//! let claim = sample::claim(cash.id(), 162_400);
//! let refused = check_claim_buyer(&claim, &cash, None).unwrap_err();
//! assert_eq!((refused.code(), refused.path()), (RefusalCode::ReceiptUnassigned, "items[0].receipt"));
//! ```

use crate::assignment::{effective_buyer, Assignment, AssignmentMismatch};
use crate::claim::{Claim, ClaimItem};
use crate::id::RecordId;
use crate::receipt::{Buyer, Receipt};
use crate::wire::{Refusal, RefusalCode};
use crate::Signed;

/// Why a claim may not name a receipt, at the path of the first item naming it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuyerRefusal {
    /// The receipt names no buyer and no assignment of it by its merchant is held: it
    /// cannot be judged until the assignment arrives (`claim.receipt_unassigned`, retry).
    #[error("{path}: receipt {receipt} names no buyer and no assignment of it by its merchant is held")]
    Unassigned {
        /// The item naming the receipt (`items[0].receipt`).
        path: String,
        /// The receipt.
        receipt: RecordId,
    },
    /// The receipt's effective buyer is another agency (`claim.receipt_mismatch`).
    #[error("{path}: receipt {receipt} was bought by {buyer}, not the claim's agency {agency}")]
    OtherAgency {
        /// The item naming the receipt.
        path: String,
        /// The receipt.
        receipt: RecordId,
        /// Its effective buyer's agency.
        buyer: String,
        /// The claim's agency.
        agency: String,
    },
    /// The assignment held for the receipt does not assign it (`claim.receipt_mismatch`).
    #[error("{path}: {mismatch}")]
    Assignment {
        /// The item naming the receipt.
        path: String,
        /// What is wrong with the assignment.
        mismatch: AssignmentMismatch,
    },
}

impl BuyerRefusal {
    /// The refusal code: `claim.receipt_unassigned` or `claim.receipt_mismatch`.
    pub fn code(&self) -> RefusalCode {
        match self {
            BuyerRefusal::Unassigned { .. } => RefusalCode::ReceiptUnassigned,
            BuyerRefusal::OtherAgency { .. } | BuyerRefusal::Assignment { .. } => {
                RefusalCode::ReceiptMismatch
            }
        }
    }

    /// The path of the claim item naming the receipt, relative to the claim's body.
    pub fn path(&self) -> &str {
        match self {
            BuyerRefusal::Unassigned { path, .. }
            | BuyerRefusal::OtherAgency { path, .. }
            | BuyerRefusal::Assignment { path, .. } => path,
        }
    }

    /// The refusal a node answers with.
    pub fn refusal(&self) -> Refusal {
        Refusal { path: self.path().to_owned(), ..Refusal::new(self.code(), self.to_string()) }
    }
}

/// Checks that `claim` may name `receipt`, given the assignment of it the checker holds
/// (the one its merchant signed for it, found by its slot): the receipt's effective buyer
/// ([`effective_buyer`]) is the claim's agency. Answers that buyer. Whether the buyer's
/// employee is the claimant is the agency's business (it knows its employees), not this
/// rule's.
pub fn check_claim_buyer<'a>(
    claim: &Claim,
    receipt: &'a Signed<Receipt>,
    assignment: Option<&'a Signed<Assignment>>,
) -> Result<&'a Buyer, BuyerRefusal> {
    let path = item_path(claim, receipt.id());
    let buyer = effective_buyer(receipt, assignment)
        .map_err(|mismatch| BuyerRefusal::Assignment { path: path.clone(), mismatch })?
        .ok_or_else(|| BuyerRefusal::Unassigned { path: path.clone(), receipt: receipt.id() })?;
    if buyer.agency != claim.agency {
        return Err(BuyerRefusal::OtherAgency {
            path,
            receipt: receipt.id(),
            buyer: buyer.agency.clone(),
            agency: claim.agency.clone(),
        });
    }
    Ok(buyer)
}

/// The path of the first item of `claim` naming `receipt` (`items` if none does).
fn item_path(claim: &Claim, receipt: RecordId) -> String {
    claim
        .items
        .iter()
        .position(|item| matches!(item, ClaimItem::Receipt { receipt: named, .. } if *named == receipt))
        .map_or_else(|| "items".to_owned(), |index| format!("items[{index}].receipt"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::Buyer;
    use crate::sample;
    use ed25519_dalek::SigningKey;

    fn cash(key: &SigningKey) -> Signed<Receipt> {
        let body = sample::receipt(sample::MERCHANT_ORG, sample::AGENCY_ORG, "KASSA-1", 1);
        Signed::sign(Receipt { buyer: None, ..body }, key).unwrap()
    }

    fn assign(receipt: &Signed<Receipt>, agency: &str, key: &SigningKey) -> Signed<Assignment> {
        let body = Assignment {
            receipt: receipt.id(),
            buyer: Buyer { agency: agency.into(), employee: Some(sample::EMPLOYEE.into()) },
            assigned_at: "2026-03-02T10:00:00+01:00".into(),
        };
        Signed::sign(body, key).unwrap()
    }

    #[test]
    fn a_receipt_naming_the_claims_agency_may_be_claimed_and_one_naming_another_may_not() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let body = sample::receipt(sample::MERCHANT_ORG, sample::AGENCY_ORG, "KASSA-1", 1);
        let bought = Signed::sign(body.clone(), &key).unwrap();
        let claim = sample::claim(bought.id(), 100);
        assert_eq!(
            check_claim_buyer(&claim, &bought, None).map(|buyer| buyer.agency.as_str()),
            Ok(sample::AGENCY_ORG)
        );
        let other = Buyer { agency: "202100-6255".into(), employee: None };
        let elsewhere = Signed::sign(Receipt { buyer: Some(other), ..body }, &key).unwrap();
        let refused = check_claim_buyer(&sample::claim(elsewhere.id(), 100), &elsewhere, None).unwrap_err();
        assert_eq!((refused.code(), refused.path()), (RefusalCode::ReceiptMismatch, "items[0].receipt"));
    }

    #[test]
    fn a_buyerless_receipt_is_claimed_through_its_assignment_to_the_claims_agency_only() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let receipt = cash(&key);
        let claim = sample::claim(receipt.id(), 100);
        let refused = check_claim_buyer(&claim, &receipt, None).unwrap_err();
        assert_eq!(refused.code(), RefusalCode::ReceiptUnassigned);
        assert!(refused.refusal().retry, "the assignment may still come");
        let ours = assign(&receipt, sample::AGENCY_ORG, &key);
        assert_eq!(check_claim_buyer(&claim, &receipt, Some(&ours)), Ok(&ours.body().buyer));
        let theirs = assign(&receipt, "202100-6255", &key);
        let refused = check_claim_buyer(&claim, &receipt, Some(&theirs)).unwrap_err();
        assert!(matches!(refused, BuyerRefusal::OtherAgency { ref buyer, .. } if buyer == "202100-6255"));
        assert!(!refused.refusal().retry);
        // An assignment signed by another key than the receipt's merchant gives no buyer.
        let forged = assign(&receipt, sample::AGENCY_ORG, &SigningKey::from_bytes(&[8; 32]));
        let refused = check_claim_buyer(&claim, &receipt, Some(&forged)).unwrap_err();
        assert_eq!(
            refused,
            BuyerRefusal::Assignment {
                path: "items[0].receipt".into(),
                mismatch: AssignmentMismatch::OtherSigner
            }
        );
    }
}
