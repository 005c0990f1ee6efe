//! Exceptions: what a node holds for staff to look at, each with its kind and what to do
//! next, and the SSC's resolution of a claim held for one.
//!
//! The ledger notes an exception as `exception/<id>` with why, in words that begin with
//! its kind (`duplicate: …`, `equivocation`, `refused by peer: …`, spelled in
//! [`super::ExceptionNote`]); [`ExceptionKind::of`] reads that back. A claim held for an exception waits at the SSC, approved but not
//! booked, until staff resolve it: reject it (a signed `rejected` event whose reason
//! names the exception and the note), or book it anyway (a signed `reviewed` event with
//! the note, then the `booked` event). No new record type is needed: the resolution is the
//! claim's own event chain, which goes back to the agency like any SSC event. An
//! exception that is no claim (equivocation evidence, a delivery refused) is kept as
//! proof and has no claim event to resolve it with; its `next` says what to do outside.

use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::{Action, Actor, Role, Status};
use kvitt_protocol::limits::MAX_FREE_TEXT_BYTES;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, RecordId};
use serde::{Deserialize, Serialize};

use super::{forbidden, unavailable, Caller, CallerRole, Cursor, NodeCore, Page, Step};

/// What kind of exception a node holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// A claim whose receipt or card payment is already in another claim.
    Duplicate,
    /// A claim that claims more than its receipts support, or not in their currency
    /// (spec/protocol.md §Claim amounts; the why begins `over-claim:`). It cannot be
    /// booked: staff reject it.
    OverClaim,
    /// Evidence that a party signed two versions of one record.
    Equivocation,
    /// A record a peer refused, or an outbox entry whose record is gone.
    Delivery,
    /// A claim held for the agency's policy (the why begins `policy:`).
    Policy,
    /// A claim whose exchange rate is off the reference rates (the why begins `rate:`).
    Rate,
    /// A booked claim whose voucher an SIE export could not compute from its records (an
    /// SSC that got its events back by reconciliation): left out of the file (the why
    /// begins `booking:`).
    Booking,
    /// Anything else a node noted.
    Other,
}

impl ExceptionKind {
    /// The kind of an exception noted with `why`.
    pub fn of(why: &str) -> ExceptionKind {
        super::ExceptionNote::of(why).map_or(ExceptionKind::Other, super::ExceptionNote::kind)
    }

    /// What staff do next about an exception of this kind.
    pub fn next(self) -> &'static str {
        match self {
            ExceptionKind::Duplicate => {
                "compare with the claim named; reject this one (kvitt ssc resolve ID --decision reject \
                 --note …), or book it if the other claim is the wrong one (--decision book)"
            }
            ExceptionKind::OverClaim => {
                "the claim asks more than its receipts support (returns netted, other live claims \
                 counted) or not in their currency; it cannot be booked: reject it with a note the \
                 employee can act on (kvitt ssc resolve ID --decision reject --note …), which frees \
                 the receipts for a corrected claim"
            }
            ExceptionKind::Policy => {
                "check the claim against the agency's policy; reject it with a note the employee can \
                 act on, or book it (kvitt ssc resolve ID --decision reject|book --note …)"
            }
            ExceptionKind::Rate => {
                "check the rate against the reference rates for its date; reject the claim for a \
                 corrected one, or book it (kvitt ssc resolve ID --decision reject|book --note …)"
            }
            ExceptionKind::Booking => {
                "the voucher is not in the SIE files: book it by hand in the agency's accounting \
                 system from the claim (kvitt claim show ID), or reverse the claim (kvitt ssc reverse \
                 ID --reason …) once its booking can be computed again"
            }
            ExceptionKind::Equivocation => {
                "the evidence record proves a party signed two versions of one record: keep it, \
                 read it with kvitt record show ID, and take it up with that party and the operator"
            }
            ExceptionKind::Delivery => {
                "a peer refused the record or it was lost from the outbox: read why, fix the cause \
                 with the peer's operator; the record itself is unchanged"
            }
            ExceptionKind::Other => "read why, and take it up with the node's operator",
        }
    }
}

/// One exception as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// The record the exception is about (a claim, an evidence record, …).
    pub id: RecordId,
    /// Its kind.
    pub kind: ExceptionKind,
    /// Why the node holds it.
    pub why: String,
    /// What to do next.
    pub next: &'static str,
    /// Whether it still waits for someone: a claim is resolved once it is no longer
    /// approved and waiting for the SSC; other exceptions stay open as proof.
    pub open: bool,
    /// The claim's number and status, for a claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<HeldClaim>,
}

/// The claim an exception holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldClaim {
    /// The agency's claim number.
    pub number: String,
    /// The agency.
    pub agency: String,
    /// Where it stands.
    pub status: Status,
}

/// What SSC staff decide about a claim held for an exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Reject the claim: its receipts are free for a corrected claim.
    Reject,
    /// Book the claim anyway.
    Book,
}

impl NodeCore {
    /// A page of the exceptions the node holds, in id order; only the open ones unless `all`.
    pub(super) fn list_exceptions(
        &self,
        step: &Step,
        caller: &Caller,
        limit: usize,
        all: bool,
        after: Option<Cursor>,
    ) -> Result<Page<Exception>, Refusal> {
        if !matches!(caller.role, CallerRole::SscStaff | CallerRole::Operator | CallerRole::Approver) {
            return Err(forbidden(caller, "list exceptions"));
        }
        let scan =
            |after: Option<&RecordId>, limit| step.ledger.exceptions_after(after, limit).map_err(unavailable);
        let keep = |id: &RecordId| {
            let exception = self.exception(step, id)?;
            Ok((all || exception.open).then_some(exception))
        };
        let (items, next) = super::lists::page(super::lists::cursor_id(after)?, limit, scan, keep)?;
        Ok(Page { items, next: next.map(|id| Cursor(id.as_bytes().to_vec())) })
    }

    /// SSC staff resolve the claim `id` held for an exception: a signed event, sent back to
    /// the agency like every SSC event; the exception is then no longer open.
    pub(super) fn resolve(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        id: RecordId,
        resolution: Resolution,
        note: &str,
    ) -> Result<Status, Refusal> {
        self.require(caller, MemberRole::Ssc, &[CallerRole::SscStaff], "resolve exceptions")?;
        if note.trim().is_empty() {
            return Err(Refusal::new(RefusalCode::BadRequest, "a resolution needs a note saying why"));
        }
        let exception = self.exception(step, &id)?;
        let Some(held) = &exception.claim else {
            return Err(Refusal::new(
                RefusalCode::NotFound,
                format!(
                    "{id} is held as a {:?} exception, which no claim event resolves: {}",
                    exception.kind, exception.next
                ),
            ));
        };
        if !exception.open {
            return Err(Refusal {
                code: kvitt_protocol::ErrorCode::Transition.into(),
                path: String::new(),
                message: format!(
                    "the exception of claim {} is resolved already: it is {:?}",
                    held.number, held.status
                ),
                retry: false,
            });
        }
        let claim = self.claim(step, &id)?;
        let actor = Actor { person: caller.person.clone(), role: Role::Ssc };
        match resolution {
            Resolution::Reject => {
                let reason =
                    clip(&format!("{note} (exception resolved by {}: {})", caller.person, exception.why));
                self.record_event(step, &claim, actor, Action::Rejected { reason })
            }
            Resolution::Book => {
                // Refused before the note is signed if the claim cannot be booked (money
                // beyond the receipts, the wrong side of the border, a voucher that cannot
                // be had): a resolution is the note and the booking, or nothing.
                self.check_amounts_and_place(step, &claim)?;
                self.check_bookable(step, &claim)?;
                let note = clip(&format!("exception resolved, booked anyway: {note} ({})", exception.why));
                self.record_event(step, &claim, actor, Action::Reviewed { note: Some(note) })?;
                self.book_voucher(step, caller, &claim)
            }
        }
    }

    /// The exception noted for `id`, or a refusal if there is none.
    fn exception(&self, step: &Step, id: &RecordId) -> Result<Exception, Refusal> {
        let why = step
            .ledger
            .exception(id)
            .map_err(unavailable)?
            .ok_or_else(|| Refusal::new(RefusalCode::NotFound, format!("no exception {id}")))?;
        let kind = ExceptionKind::of(&why);
        let claim = match step.ledger.record(id).map_err(unavailable)? {
            Some(AnyRecord::Claim(claim)) => {
                let status =
                    step.ledger.claim_state(id).map_err(unavailable)?.map_or(Status::Draft, |s| s.status);
                Some(HeldClaim {
                    number: claim.body().number.clone(),
                    agency: claim.body().agency.clone(),
                    status,
                })
            }
            _ => None,
        };
        let open = match (&claim, kind) {
            (None, _) => true,
            // Open while the claim stands booked without a voucher the export can write.
            (Some(held), ExceptionKind::Booking) => {
                matches!(held.status, Status::Booked | Status::Paid)
                    && step
                        .ledger
                        .voucher(id, crate::ledger::VoucherOf::Booking)
                        .map_err(unavailable)?
                        .is_none()
            }
            (Some(held), _) => matches!(held.status, Status::Submitted | Status::Approved),
        };
        Ok(Exception { id: *id, kind, why, next: kind.next(), open, claim })
    }

    /// Whether the claim `id` is held for an exception that is still open.
    pub(super) fn held_open(&self, step: &Step, id: &RecordId) -> Result<Option<Exception>, Refusal> {
        if step.ledger.exception(id).map_err(unavailable)?.is_none() {
            return Ok(None);
        }
        let exception = self.exception(step, id)?;
        Ok(exception.open.then_some(exception))
    }
}

/// `text` cut to what an event's free text may hold, at a character boundary.
fn clip(text: &str) -> String {
    if text.len() <= MAX_FREE_TEXT_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_FREE_TEXT_BYTES - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text.get(..end).unwrap_or_default())
}
