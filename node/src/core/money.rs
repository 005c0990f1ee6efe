//! The money checks beyond a claim's own rules, fed from the ledger: that the items claim
//! at most what their receipts support (spec/protocol.md §Claim amounts), and that each
//! receipt item is booked on the right side of the border (spec/books.md, `Place`).
//!
//! The rules are pure (`kvitt_protocol::claim_amounts`, `kvitt_books`); this
//! module gathers the records they need and says what a broken rule does at each stage
//! (spec/node.md §Claim amounts): a finding on a draft or claim at the agency, a refusal
//! of adding the item, of submission and of approval, an exception on arrival at the SSC,
//! and a refusal (and exception) at booking.

use kvitt_books::check_place;
use kvitt_protocol::claim::{Claim, ClaimItem};
use kvitt_protocol::claim_amounts::ReceiptClaims;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, ErrorCode, RecordId, Signed};

use super::{unavailable, NodeCore, Step};
use crate::ledger::keys;
use crate::policy::{Finding, Rule, Severity};
use crate::store::Batch;

/// What [`NodeCore::receipt_records`] reads for one receipt: the receipt, its returns
/// and the other live claims that name it.
struct ReceiptRecords {
    receipt: Signed<Receipt>,
    returns: Vec<Signed<Receipt>>,
    other_claims: Vec<Signed<Claim>>,
}

impl NodeCore {
    /// What the amount rule says of `claim` for each receipt it names (only `only`, if
    /// given), in the order of the first item naming each: the errors, none if it holds.
    /// `this` is the claim's id once signed, so that it is not counted as another claim.
    pub(super) fn amount_errors(
        &self,
        step: &Step,
        claim: &Claim,
        this: Option<RecordId>,
        only: Option<RecordId>,
    ) -> Result<Vec<kvitt_protocol::Error>, Refusal> {
        let mut named: Vec<RecordId> = Vec::new();
        for receipt in claim.receipts() {
            if !named.contains(&receipt) && only.is_none_or(|only| only == receipt) {
                named.push(receipt);
            }
        }
        let mut errors = Vec::new();
        for receipt in named {
            let records = self.receipt_records(step, &receipt, this)?;
            let claims = ReceiptClaims {
                receipt: &records.receipt,
                returns: &records.returns,
                other_claims: &records.other_claims,
            };
            if let Err(error) = claims.check(claim) {
                errors.push(error);
            }
        }
        Ok(errors)
    }

    /// Refuses with the amount rule's code and path if it refuses `claim` (see
    /// [`NodeCore::amount_errors`]): adding an item, submission, approval, booking.
    pub(super) fn check_amounts(
        &self,
        step: &Step,
        claim: &Claim,
        this: Option<RecordId>,
        only: Option<RecordId>,
    ) -> Result<(), Refusal> {
        match self.amount_errors(step, claim, this, only)?.first() {
            Some(error) => Err(Refusal::invalid(error)),
            None => Ok(()),
        }
    }

    /// The findings of the money rules on a draft or a claim at the agency, every one an
    /// error: amounts (`claim.over_claim`, `claim.receipt_currency`) and accounts on the
    /// wrong side of the border (`books.place`).
    pub(super) fn money_findings(
        &self,
        step: &Step,
        claim: &Claim,
        this: Option<RecordId>,
    ) -> Result<Vec<Finding>, Refusal> {
        // A rejected or withdrawn claim holds nothing: its items count nowhere.
        if let Some(id) = this {
            if step.ledger.claim_state(&id).map_err(unavailable)?.is_some_and(|state| !state.status.is_live())
            {
                return Ok(Vec::new());
            }
        }
        let mut findings: Vec<Finding> = self
            .amount_errors(step, claim, this, None)?
            .iter()
            .map(|error| {
                let rule = if error.code() == ErrorCode::OverClaim {
                    Rule::OverClaim
                } else {
                    Rule::ReceiptCurrency
                };
                finding(rule, error.path(), error.detail().to_owned())
            })
            .collect();
        for (index, error) in self.place_errors(step, claim)? {
            findings.push(finding(Rule::Place, &format!("items[{index}]"), error));
        }
        Ok(findings)
    }

    /// At the SSC, on a claim's arrival: why it is held, if the amount rule refuses it
    /// (`over-claim: …`). Held, not refused: the agency signed the claim, and refusing it
    /// would leave it approved at the agency and unanswered; held, it waits for staff to
    /// reject it, and the rejection goes back to the agency and frees its receipts.
    pub(super) fn over_claim_on_arrival(
        &self,
        step: &Step,
        claim: &Signed<Claim>,
    ) -> Result<Option<String>, Refusal> {
        let errors = self.amount_errors(step, claim.body(), Some(claim.id()), None)?;
        Ok(held_for(&errors))
    }

    /// At the SSC, before a claim is booked (by `book`, or by staff resolving an
    /// exception): the amounts, with every return and live claim the SSC holds now, and
    /// each receipt item's account for where its receipt was sold. An over-claim is held
    /// as an exception too, so that staff see it and reject it; nothing is booked.
    pub(super) fn check_amounts_and_place(
        &self,
        step: &mut Step,
        claim: &Signed<Claim>,
    ) -> Result<(), Refusal> {
        let errors = self.amount_errors(step, claim.body(), Some(claim.id()), None)?;
        if let (Some(first), Some(why)) = (errors.first(), held_for(&errors)) {
            tracing::warn!(claim = %claim.id().short(), number = %claim.body().number, %why, "booking refused and the claim held");
            let mut batch = Batch::new();
            batch.insert(keys::exception(&claim.id()), why.clone().into_bytes());
            step.write(&batch).map_err(unavailable)?;
            return Err(Refusal {
                code: first.code().into(),
                path: String::new(),
                message: why,
                retry: false,
            });
        }
        if let Some((index, error)) = self.place_errors(step, claim.body())?.into_iter().next() {
            return Err(Refusal {
                code: RefusalCode::Place.into(),
                path: format!("items[{index}].booking.account"),
                message: error,
                retry: false,
            });
        }
        Ok(())
    }

    /// Each receipt item of `claim` booked to a category whose place does not admit
    /// where its receipt was sold, with the booking error's message (default booking
    /// table: the one the SSC books with).
    fn place_errors(&self, step: &Step, claim: &Claim) -> Result<Vec<(usize, String)>, Refusal> {
        let (table, _) = super::vouchers::tables()?;
        let mut errors = Vec::new();
        for (index, item) in claim.items.iter().enumerate() {
            let ClaimItem::Receipt { receipt, booking, .. } = item else {
                continue;
            };
            if let Some(AnyRecord::Receipt(held)) = step.ledger.record(receipt).map_err(unavailable)? {
                if let Err(error) = check_place(table, index, booking.account, *receipt, held.body()) {
                    errors.push((index, error.to_string()));
                }
            }
        }
        Ok(errors)
    }

    /// The receipt `receipt_id`, the returns of it and the other live claims of it that
    /// this node holds (every claim naming it but `this`, and the claim holding it).
    fn receipt_records(
        &self,
        step: &Step,
        receipt_id: &RecordId,
        this: Option<RecordId>,
    ) -> Result<ReceiptRecords, Refusal> {
        let Some(AnyRecord::Receipt(receipt)) = step.ledger.record(receipt_id).map_err(unavailable)? else {
            return Err(Refusal::new(
                RefusalCode::UnknownRecord,
                format!("receipt {} is not held here; its amounts cannot be checked", receipt_id.short()),
            ));
        };
        let mut returns = Vec::new();
        for id in step.ledger.returns_of(receipt_id).map_err(unavailable)? {
            if let Some(AnyRecord::Receipt(refund)) = step.ledger.record(&id).map_err(unavailable)? {
                returns.push(refund);
            }
        }
        let mut claim_ids = step.ledger.claims_of_receipt(receipt_id).map_err(unavailable)?;
        // The claim holding the receipt, also for claims stored before the index was kept.
        claim_ids.extend(step.ledger.claim_holding(receipt_id).map_err(unavailable)?);
        claim_ids.sort();
        claim_ids.dedup();
        let mut other_claims = Vec::new();
        for id in claim_ids.into_iter().filter(|id| Some(*id) != this) {
            let live =
                step.ledger.claim_state(&id).map_err(unavailable)?.is_none_or(|state| state.status.is_live());
            if let (true, Some(AnyRecord::Claim(other))) =
                (live, step.ledger.record(&id).map_err(unavailable)?)
            {
                other_claims.push(other);
            }
        }
        Ok(ReceiptRecords { receipt, returns, other_claims })
    }
}

/// Why a claim with these amount errors is held as an exception, if it has any.
fn held_for(errors: &[kvitt_protocol::Error]) -> Option<String> {
    if errors.is_empty() {
        return None;
    }
    let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
    Some(super::ExceptionNote::OverClaim.text(reasons.join("; ")))
}

/// An error finding of `rule` at the item of `path` (`items[2].amount` → `items[2]`).
fn finding(rule: Rule, path: &str, message: String) -> Finding {
    let item = path.find(']').and_then(|end| path.get(..=end)).map(str::to_owned);
    Finding { rule, severity: Severity::Error, message, item }
}
