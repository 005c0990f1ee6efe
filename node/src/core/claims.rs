//! Expense claims at the agency and the SSC.
//!
//! Agency: an employee opens a draft (local, unsigned), adds items, and submits it; the
//! node then signs the claim and a `submitted` event. An approver (never the claimant)
//! approves or rejects; an approved claim goes to the SSC with its receipts and events.
//! SSC: a claim whose receipt is already in another claim (by id, or by the card payment
//! it records) is held as an exception: staff resolve it (core::exceptions) by rejecting
//! or booking it, and book (into a kept voucher of the agency's series, core::vouchers),
//! pay and, if found wrong, reverse the others; every event goes back to the agency.

use kvitt_books::check_rates;
use kvitt_protocol::claim::{Claim, ClaimItem};
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::{Action, Actor, ClaimEvent, ClaimState, Role, Status};
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::fields::{check_text, format_date, format_time};
use kvitt_protocol::limits::MAX_FREE_TEXT_BYTES;
use kvitt_protocol::receipt::Payment;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, Record, RecordId, Signed};
use serde::{Deserialize, Serialize};

use super::checks::refuse_errors;
use super::ExceptionNote;
use super::{forbidden, unavailable, Caller, CallerRole, NodeCore, Step};
use crate::ledger::{encode_claim_state, index_claim, keys};
use crate::policy::Finding;
use crate::store::Batch;

mod events;

/// A claim being put together by an employee; unsigned and local to the agency node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// The claim number it will carry.
    pub number: String,
    /// The employee.
    pub claimant: String,
    /// What it is for.
    pub purpose: String,
    /// When it was opened.
    pub created_at: String,
    /// Items so far.
    pub items: Vec<ClaimItem>,
}

/// A claim as a client sees it: the signed claim, its status and events, any exception.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimView {
    /// The signed claim.
    pub claim: Signed<Claim>,
    /// Where it stands.
    pub status: Status,
    /// Its events, oldest first.
    pub events: Vec<Signed<ClaimEvent>>,
    /// Why it is held as an exception, if it is.
    pub exception: Option<String>,
    /// What the agency's policy says of it (at the agency; empty elsewhere).
    pub findings: Vec<Finding>,
    /// What the caller who asked may do to it now (core::actions): a client offers
    /// only these.
    pub actions: Vec<super::ClaimAction>,
}

impl NodeCore {
    pub(super) fn new_draft(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        purpose: String,
    ) -> Result<Draft, Refusal> {
        self.require(caller, MemberRole::Agency, &[CallerRole::Employee], "open claims")?;
        // The claim's own rule for its purpose, now: a draft holds nothing its claim may not.
        check_text("purpose", &purpose, MAX_FREE_TEXT_BYTES).map_err(|error| Refusal::invalid(&error))?;
        // A draft takes the next claim number, which a lost claim may hold.
        self.may_sign()?;
        let next = step.ledger.next_counter(keys::CLAIM_NUMBER_COUNTER).map_err(unavailable)?;
        let draft = Draft {
            number: format!("{}-{next:06}", step.now.year()),
            claimant: caller.person.clone(),
            purpose,
            created_at: format_time(step.now),
            items: Vec::new(),
        };
        let mut batch = Batch::new();
        batch.insert(keys::meta(keys::CLAIM_NUMBER_COUNTER), next.to_be_bytes().to_vec());
        self.put_draft(&mut batch, &draft)?;
        step.write(&batch).map_err(unavailable)?;
        Ok(draft)
    }

    /// Adds `items` to the caller's draft, all or none: each receipt must be claimable,
    /// the claim with them must keep its own rules, and each receipt must support what it
    /// claims (spec/protocol.md §Claim amounts).
    pub(super) fn add_items(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        number: &str,
        items: Vec<ClaimItem>,
    ) -> Result<Draft, Refusal> {
        self.require(caller, MemberRole::Agency, &[CallerRole::Employee], "edit claims")?;
        if items.is_empty() {
            let mut refusal = Refusal::new(RefusalCode::BadRequest, "at least one item is required");
            refusal.path = "items".into();
            return Err(refusal);
        }
        let mut draft = self.draft(step, caller, number)?;
        let receipts: Vec<RecordId> = items
            .iter()
            .filter_map(|item| match item {
                ClaimItem::Receipt { receipt, .. } => Some(*receipt),
                _ => None,
            })
            .collect();
        draft.items.extend(items);
        let claim = self.claim_of(&draft);
        for receipt in &receipts {
            self.check_claimable(step, caller, &claim, receipt)?;
        }
        // The claim's own rules (limits, arithmetic) are checked now, not at submission,
        // and so is what its receipts support.
        claim.validate().map_err(|error| Refusal::invalid(&error))?;
        for receipt in receipts {
            self.check_amounts(step, &claim, None, Some(receipt))?;
        }
        let mut batch = Batch::new();
        self.put_draft(&mut batch, &draft)?;
        step.write(&batch).map_err(unavailable)?;
        Ok(draft)
    }

    pub(super) fn submit(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        number: &str,
    ) -> Result<RecordId, Refusal> {
        self.require(caller, MemberRole::Agency, &[CallerRole::Employee], "submit claims")?;
        let draft = self.draft(step, caller, number)?;
        let claim = self.claim_of(&draft);
        for receipt in claim.receipts().collect::<Vec<_>>() {
            self.check_claimable(step, caller, &claim, &receipt)?;
        }
        // Refused before anything is signed or written: the draft stays as it was.
        self.check_amounts(step, &claim, None, None)?;
        let findings = self.claim_findings(step, &claim, None, step.now.date())?;
        refuse_errors(&findings, &self.config.policy, &format!("submission of claim {number}"))?;
        self.may_sign()?;
        let claim =
            Signed::sign(claim, &self.identity.signing_key).map_err(|error| Refusal::invalid(&error))?;
        let record = AnyRecord::Claim(claim.clone());
        let mut batch = Batch::new();
        self.put(step, &record, &mut batch)?;
        if let Some(slot) = Slot::of(&record) {
            batch.insert(keys::slot(&slot), claim.id().as_bytes().to_vec());
        }
        batch.insert(
            keys::claim_number(&claim.body().agency, &claim.body().number),
            claim.id().as_bytes().to_vec(),
        );
        batch.insert(keys::claim(&claim.id()), encode_claim_state(&ClaimState::new(&claim)));
        index_claim(&mut batch, &claim);
        for receipt in claim.body().receipts() {
            batch.insert(keys::held(&receipt), claim.id().as_bytes().to_vec());
            batch.insert(keys::claim_of_receipt(&receipt, &claim.id()), Vec::new());
        }
        batch.remove(keys::draft(number));
        batch.remove(keys::drafter(&caller.person, number));
        step.write(&batch).map_err(unavailable)?;
        let actor = Actor { person: caller.person.clone(), role: Role::Employee };
        self.record_event(step, &claim, actor, Action::Submitted)?;
        tracing::info!(claim = %claim.id().short(), number, items = claim.body().items.len(), "claim submitted");
        Ok(claim.id())
    }

    pub(super) fn decide(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        claim_id: RecordId,
        action: Action,
    ) -> Result<Status, Refusal> {
        // Booked and reversed are signed only with the voucher they number (core::vouchers).
        let voucher = matches!(action, Action::Booked { .. } | Action::Reversed { .. });
        let Some((allowed, role)) = super::actions::decider(&action, self.identity.role).filter(|_| !voucher)
        else {
            return Err(forbidden(caller, &format!("record {} on this node", action.name())));
        };
        if caller.role != allowed {
            return Err(forbidden(caller, &format!("record {}", action.name())));
        }
        let claim = self.visible_claim(step, caller, &claim_id)?;
        let actor = Actor { person: caller.person.clone(), role };
        let status = self.record_event(step, &claim, actor, action)?;
        Ok(status)
    }

    /// Books a claim: the next voucher number in the agency's series.
    pub(super) fn book(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        claim_id: RecordId,
    ) -> Result<Status, Refusal> {
        self.require(caller, MemberRole::Ssc, &[CallerRole::SscStaff], "book claims")?;
        if let Some(exception) = self.held_open(step, &claim_id)? {
            return Err(Refusal {
                code: RefusalCode::ExceptionOpen.into(),
                path: String::new(),
                message: format!(
                    "claim {claim_id} is held for a {:?} exception ({}): resolve it with kvitt ssc resolve",
                    exception.kind, exception.why
                ),
                retry: false,
            });
        }
        let claim = self.claim(step, &claim_id)?;
        self.check_amounts_and_place(step, &claim)?;
        self.hold_rate_findings(step, &claim)?;
        self.book_voucher(step, caller, &claim)
    }

    /// At the SSC, before booking: a foreign item whose rate the reference rates flag
    /// (spec/books.md §Reference rates) holds the claim as an exception, with the
    /// findings as the reason, and the booking is refused with them. Staff may then resolve
    /// the exception by booking it anyway, with a note (`kvitt ssc resolve`).
    fn hold_rate_findings(&self, step: &mut Step, claim: &Signed<Claim>) -> Result<(), Refusal> {
        let Some(rates) = &self.config.reference_rates else {
            return Ok(());
        };
        let findings = check_rates(rates, claim.body());
        if findings.is_empty() {
            return Ok(());
        }
        let why =
            ExceptionNote::Rate.text(findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "));
        tracing::warn!(claim = %claim.id().short(), number = %claim.body().number, %why, "claim held as an exception");
        let mut batch = Batch::new();
        batch.insert(keys::exception(&claim.id()), why.clone().into_bytes());
        step.write(&batch).map_err(unavailable)?;
        Err(Refusal { path: String::new(), ..Refusal::new(RefusalCode::RateHeld, why) })
    }

    /// Marks a claim paid today.
    pub(super) fn pay(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        claim_id: RecordId,
    ) -> Result<Status, Refusal> {
        self.require(caller, MemberRole::Ssc, &[CallerRole::SscStaff], "pay claims")?;
        let action = Action::Paid { date: format_date(step.now.date()), reference: None };
        self.decide(step, caller, claim_id, action)
    }

    pub(super) fn claim_view(&self, step: &Step, claim_id: &RecordId) -> Result<ClaimView, Refusal> {
        let claim = self.claim(step, claim_id)?;
        let state = step
            .ledger
            .claim_state(claim_id)
            .map_err(unavailable)?
            .map_or(Status::Draft, |state| state.status);
        let mut events = Vec::new();
        for id in step.ledger.chain(claim_id).map_err(unavailable)? {
            if let Some(AnyRecord::ClaimEvent(event)) = step.ledger.record(&id).map_err(unavailable)? {
                events.push(event);
            }
        }
        let exception = step.ledger.exception(claim_id).map_err(unavailable)?;
        Ok(ClaimView { claim, status: state, events, exception, findings: Vec::new(), actions: Vec::new() })
    }

    /// At the SSC, on storing a claim: its receipts and card payments must not be in
    /// another claim; if they are, the claim is to be held as an exception until staff
    /// resolve it, and this says why (`duplicate: …`). Adds the writes that mark the
    /// receipts as held.
    pub(super) fn check_duplicates(
        &self,
        step: &Step,
        claim: &Signed<Claim>,
        batch: &mut Batch,
    ) -> Result<Option<String>, Refusal> {
        let mut reasons = Vec::new();
        // Card payments of this claim's receipts so far: a receipt and its reissue (one
        // card payment) in the same claim are one payment claimed twice too.
        let mut this_claim: std::collections::BTreeMap<Vec<u8>, RecordId> = std::collections::BTreeMap::new();
        for receipt_id in claim.body().receipts() {
            match step.ledger.claim_holding(&receipt_id).map_err(unavailable)? {
                Some(other) if other != claim.id() => {
                    reasons.push(format!(
                        "receipt {} is already in claim {}",
                        receipt_id.short(),
                        self.claim_label(step, &other)
                    ));
                }
                _ => batch.insert(keys::held(&receipt_id), claim.id().as_bytes().to_vec()),
            }
            for (payment, key) in card_payments(step, &receipt_id)? {
                if let Some(earlier) = this_claim.insert(key.clone(), receipt_id) {
                    reasons.push(format!(
                        "card payment {payment} is on receipts {} and {} of this claim",
                        earlier.short(),
                        receipt_id.short()
                    ));
                    continue;
                }
                match step.ledger.store().get(&key).map_err(|error| unavailable(error.into()))? {
                    Some(other) if other.as_slice() != claim.id().as_bytes() => {
                        let other = <[u8; 32]>::try_from(other.as_slice()).map(RecordId).ok();
                        let label = other.map_or_else(
                            || "another claim".to_owned(),
                            |other| self.claim_label(step, &other),
                        );
                        reasons.push(format!(
                            "card payment {payment} on receipt {} is already claimed in {label}",
                            receipt_id.short()
                        ));
                    }
                    _ => batch.insert(key, claim.id().as_bytes().to_vec()),
                }
            }
        }
        Ok((!reasons.is_empty()).then(|| ExceptionNote::Duplicate.text(reasons.join("; "))))
    }

    fn claim_label(&self, step: &Step, claim: &RecordId) -> String {
        match step.ledger.record(claim) {
            Ok(Some(AnyRecord::Claim(other))) => {
                format!("{} of {}", other.body().number, other.body().agency)
            }
            _ => claim.short(),
        }
    }

    /// An employee may claim in `claim` a receipt bought by this agency (by its own word
    /// or its assignment's, core::buyers) for them, held by no live claim.
    fn check_claimable(
        &self,
        step: &Step,
        caller: &Caller,
        claim: &Claim,
        receipt_id: &RecordId,
    ) -> Result<(), Refusal> {
        let not_found =
            || Refusal::new(RefusalCode::NotFound, format!("no receipt {receipt_id} at this agency"));
        let Some(AnyRecord::Receipt(receipt)) = step.ledger.record(receipt_id).map_err(unavailable)? else {
            return Err(not_found());
        };
        // Another employee's receipt is none of the caller's business: as if not held.
        if self.is_others_receipt(caller, self.buyer_of(step, &receipt)?.as_ref()) {
            return Err(not_found());
        }
        let buyer = self.claim_buyer(step, claim, &receipt)?;
        if buyer.employee.as_ref().is_some_and(|employee| *employee != caller.person) {
            return Err(Refusal::new(
                RefusalCode::ReceiptMismatch,
                format!(
                    "receipt {} was bought by {} {}, not {}",
                    receipt_id.short(),
                    buyer.agency,
                    buyer.employee.as_deref().unwrap_or(""),
                    caller.person
                ),
            ));
        }
        if let Some(other) = step.ledger.claim_holding(receipt_id).map_err(unavailable)? {
            return Err(Refusal::new(
                RefusalCode::ReceiptClaimed,
                format!(
                    "receipt {} is already in claim {}",
                    receipt_id.short(),
                    self.claim_label(step, &other)
                ),
            ));
        }
        Ok(())
    }

    /// The claim a draft would be, unsigned.
    pub(super) fn claim_of(&self, draft: &Draft) -> Claim {
        Claim {
            number: draft.number.clone(),
            agency: self.identity.org.clone(),
            claimant: draft.claimant.clone(),
            purpose: draft.purpose.clone(),
            created_at: draft.created_at.clone(),
            items: draft.items.clone(),
        }
    }

    pub(super) fn draft(&self, step: &Step, caller: &Caller, number: &str) -> Result<Draft, Refusal> {
        let not_found =
            || Refusal::new(RefusalCode::NotFound, format!("no open draft {number} of {}", caller.person));
        let bytes = step
            .ledger
            .store()
            .get(&keys::draft(number))
            .map_err(|error| unavailable(error.into()))?
            .ok_or_else(not_found)?;
        let draft: Draft = kvitt_protocol::cbor::decode(&bytes)
            .and_then(|value| kvitt_protocol::cbor::from_value(&value))
            .map_err(|error| {
                unavailable(crate::ledger::LedgerError::Damaged {
                    key: format!("draft/{number}"),
                    why: error.to_string(),
                })
            })?;
        if draft.claimant != caller.person {
            return Err(not_found());
        }
        Ok(draft)
    }

    fn put_draft(&self, batch: &mut Batch, draft: &Draft) -> Result<(), Refusal> {
        let bytes = kvitt_protocol::cbor::encode(draft).map_err(|error| Refusal::invalid(&error))?;
        batch.insert(keys::draft(&draft.number), bytes);
        batch.insert(keys::drafter(&draft.claimant, &draft.number), Vec::new());
        Ok(())
    }

    pub(super) fn claim(&self, step: &Step, claim_id: &RecordId) -> Result<Signed<Claim>, Refusal> {
        match step.ledger.record(claim_id).map_err(unavailable)? {
            Some(AnyRecord::Claim(claim)) => Ok(claim),
            _ => Err(Refusal::new(RefusalCode::NotFound, format!("no claim {claim_id}"))),
        }
    }

    pub(super) fn require(
        &self,
        caller: &Caller,
        node: MemberRole,
        roles: &[CallerRole],
        what: &str,
    ) -> Result<(), Refusal> {
        if self.identity.role != node || !roles.contains(&caller.role) {
            return Err(forbidden(caller, what));
        }
        Ok(())
    }
}

/// The card payments of a receipt the ledger holds, each as `terminal/rrn/approval` and
/// its key in the SSC's index of claimed card payments (none for an unknown receipt).
fn card_payments(step: &Step, receipt: &RecordId) -> Result<Vec<(String, Vec<u8>)>, Refusal> {
    let Some(AnyRecord::Receipt(receipt)) = step.ledger.record(receipt).map_err(unavailable)? else {
        return Ok(Vec::new());
    };
    Ok(receipt
        .body()
        .payments
        .iter()
        .filter_map(|payment| match payment {
            Payment::Card { terminal, rrn, approval_code, .. } => {
                Some((format!("{terminal}/{rrn}/{approval_code}"), keys::card(terminal, rrn, approval_code)))
            }
            _ => None,
        })
        .collect())
}
