//! The client's lists (receipts, claims, exceptions), in pages: each page walks the
//! ledger's index from where the last one stopped, keeps what the caller may see, and
//! says where the next page starts. A page looks at most at [`MAX_SCAN_ENTRIES`] index
//! entries, so a caller who may see few of many (an employee among thousands of claims)
//! gets short pages rather than a node that stalls or a list that silently stops.

use kvitt_protocol::event::Status;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, RecordId, Signed};

use kvitt_protocol::directory::MemberRole;

use super::{
    forbidden, unavailable, Caller, CallerRole, ClaimSummary, Cursor, Draft, NodeCore, Page, ReceiptSearch,
    Step,
};
use crate::ledger::{keys, MAX_SCAN_ENTRIES};

/// Most entries one page holds; a larger `limit` is cut to it.
pub const MAX_PAGE_ENTRIES: usize = 10_000;

/// Walks an index from `after` in its order, keeping what `keep` makes of each entry,
/// until `limit` entries are kept or [`MAX_SCAN_ENTRIES`] were looked at; the position
/// of the last entry looked at comes back if the index goes on after it.
pub(super) fn page<K, T>(
    after: Option<K>,
    limit: usize,
    mut scan: impl FnMut(Option<&K>, usize) -> Result<Vec<K>, Refusal>,
    mut keep: impl FnMut(&K) -> Result<Option<T>, Refusal>,
) -> Result<(Vec<T>, Option<K>), Refusal> {
    let limit = limit.min(MAX_PAGE_ENTRIES);
    let mut items = Vec::new();
    let mut position = after;
    let mut looked = 0usize;
    loop {
        let wanted = limit.saturating_sub(items.len()).min(MAX_SCAN_ENTRIES.saturating_sub(looked));
        if wanted == 0 {
            let more = !scan(position.as_ref(), 1)?.is_empty();
            return Ok((items, position.filter(|_| more)));
        }
        let entries = scan(position.as_ref(), wanted)?;
        let ended = entries.len() < wanted;
        for entry in entries {
            looked += 1;
            if let Some(item) = keep(&entry)? {
                items.push(item);
            }
            position = Some(entry);
        }
        if ended {
            return Ok((items, None));
        }
    }
}

/// The record id a cursor of an id-ordered list holds.
pub(super) fn cursor_id(cursor: Option<Cursor>) -> Result<Option<RecordId>, Refusal> {
    cursor
        .map(|Cursor(bytes)| <[u8; 32]>::try_from(bytes.as_slice()).map(RecordId).map_err(|_| bad_cursor()))
        .transpose()
}

/// A cursor that no page of this list gave.
pub(super) fn bad_cursor() -> Refusal {
    let mut refusal = Refusal::new(RefusalCode::BadRequest, "after is not a cursor of this list");
    refusal.path = "after".into();
    refusal
}

/// Whose receipts `caller` lists when they name `employee`: an employee their own (naming
/// another is refused, not quietly answered with their own); staff whom they name, or all.
fn receipts_of(caller: &Caller, employee: Option<String>) -> Result<Option<String>, Refusal> {
    match caller.role {
        CallerRole::Employee => match employee {
            Some(other) if other != caller.person => {
                Err(forbidden(caller, &format!("list the receipts of {other:?}")))
            }
            _ => Ok(Some(caller.person.clone())),
        },
        CallerRole::Approver | CallerRole::Operator | CallerRole::SscStaff => Ok(employee),
        CallerRole::Till => Err(forbidden(caller, "list receipts")),
    }
}

impl NodeCore {
    /// A page of the receipts bought by this node's organisation (one employee's, or an
    /// employee's own), oldest sale first.
    pub(super) fn list_receipts(
        &self,
        step: &Step,
        caller: &Caller,
        employee: Option<String>,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Signed<Receipt>>, Refusal> {
        let employee = receipts_of(caller, employee)?;
        let org = self.identity.org.as_str();
        let prefix = keys::buyer_prefix(org, employee.as_deref());
        let after = match after {
            Some(Cursor(key)) if key.starts_with(&prefix) => Some((key, RecordId([0; 32]))),
            Some(_) => return Err(bad_cursor()),
            None => None,
        };
        let scan = |after: Option<&(Vec<u8>, RecordId)>, limit| {
            let after = after.map(|(key, _)| key.as_slice());
            step.ledger.buyer_entries_after(org, employee.as_deref(), after, limit).map_err(unavailable)
        };
        let keep = |(_, id): &(Vec<u8>, RecordId)| match step.ledger.record(id).map_err(unavailable)? {
            Some(AnyRecord::Receipt(receipt)) => Ok(Some(receipt)),
            _ => Ok(None),
        };
        let (items, next) = page(after, limit, scan, keep)?;
        Ok(Page { items, next: next.map(|(key, _)| Cursor(key)) })
    }

    /// A page of the receipts bought by this node's organisation that match `search`
    /// (an employee's own), newest sale first: one employee's in time order, or, for the
    /// whole agency, each employee's in turn.
    pub(super) fn find_receipts(
        &self,
        step: &Step,
        caller: &Caller,
        mut search: ReceiptSearch,
        limit: usize,
        before: Option<Cursor>,
    ) -> Result<Page<Signed<Receipt>>, Refusal> {
        search.employee = receipts_of(caller, search.employee)?;
        let org = self.identity.org.as_str();
        let employee = search.employee.as_deref();
        let prefix = keys::buyer_prefix(org, employee);
        let before = match before {
            Some(Cursor(key)) if key.starts_with(&prefix) => Some((key, RecordId([0; 32]))),
            Some(_) => return Err(bad_cursor()),
            None => None,
        };
        let scan = |before: Option<&(Vec<u8>, RecordId)>, limit| {
            let before = before.map(|(key, _)| key.as_slice());
            step.ledger.buyer_entries_before(org, employee, before, limit).map_err(unavailable)
        };
        let keep = |(_, id): &(Vec<u8>, RecordId)| match step.ledger.record(id).map_err(unavailable)? {
            Some(AnyRecord::Receipt(receipt)) if search.matches(receipt.body()) => Ok(Some(receipt)),
            _ => Ok(None),
        };
        let (items, next) = page(before, limit, scan, keep)?;
        Ok(Page { items, next: next.map(|(key, _)| Cursor(key)) })
    }

    /// A page of the claims the node holds: an employee's own newest first (through the
    /// claimant index), everyone's in claim id order for staff.
    pub(super) fn list_claims(
        &self,
        step: &Step,
        caller: &Caller,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<ClaimSummary>, Refusal> {
        match caller.role {
            CallerRole::Till => Err(forbidden(caller, "list claims")),
            CallerRole::Employee => self.list_own_claims(step, caller, limit, after),
            CallerRole::Approver | CallerRole::Operator | CallerRole::SscStaff => {
                // The status comes with the claim's id from the index; the one of a cursor is not read.
                let after = cursor_id(after)?.map(|id| (id, Status::Draft));
                let scan = |after: Option<&(RecordId, Status)>, limit| {
                    let states = step
                        .ledger
                        .claim_states_after(after.map(|(id, _)| id), limit)
                        .map_err(unavailable)?;
                    Ok(states.into_iter().map(|state| (state.claim, state.status)).collect())
                };
                let keep = |(claim_id, status): &(RecordId, Status)| {
                    self.claim_summary(step, claim_id, Some(*status))
                };
                let (items, next) = page(after, limit, scan, keep)?;
                Ok(Page { items, next: next.map(|(id, _)| Cursor(id.as_bytes().to_vec())) })
            }
        }
    }

    /// A page of an employee's own claims at this node's organisation, newest first: the
    /// claimant index holds only theirs, so a page looks at no one else's.
    fn list_own_claims(
        &self,
        step: &Step,
        caller: &Caller,
        limit: usize,
        before: Option<Cursor>,
    ) -> Result<Page<ClaimSummary>, Refusal> {
        let org = self.identity.org.as_str();
        let prefix = keys::claimant_prefix(org, &caller.person);
        let before = match before {
            Some(Cursor(key)) if key.starts_with(&prefix) => Some((key, RecordId([0; 32]))),
            Some(_) => return Err(bad_cursor()),
            None => None,
        };
        let scan = |before: Option<&(Vec<u8>, RecordId)>, limit| {
            let before = before.map(|(key, _)| key.as_slice());
            step.ledger.claimant_entries_before(org, &caller.person, before, limit).map_err(unavailable)
        };
        let keep = |(_, id): &(Vec<u8>, RecordId)| {
            let summary = self.claim_summary(step, id, None)?;
            // A claimant whose name holds a NUL could share a prefix with another's: the
            // claim itself says whose it is.
            Ok(summary.filter(|claim| claim.claimant == caller.person && claim.agency == org))
        };
        let (items, next) = page(before, limit, scan, keep)?;
        Ok(Page { items, next: next.map(|(key, _)| Cursor(key)) })
    }

    /// A page of the caller's open drafts at this agency, newest first, through the
    /// drafter index (only theirs).
    pub(super) fn list_drafts(
        &self,
        step: &Step,
        caller: &Caller,
        limit: usize,
        before: Option<Cursor>,
    ) -> Result<Page<Draft>, Refusal> {
        self.require(caller, MemberRole::Agency, &[CallerRole::Employee], "list drafts")?;
        let prefix = keys::drafter_prefix(&caller.person);
        let before = match before {
            Some(Cursor(key)) if key.starts_with(&prefix) => Some((key, String::new())),
            Some(_) => return Err(bad_cursor()),
            None => None,
        };
        let scan = |before: Option<&(Vec<u8>, String)>, limit| {
            let before = before.map(|(key, _)| key.as_slice());
            step.ledger.drafter_entries_before(&caller.person, before, limit).map_err(unavailable)
        };
        // An entry whose draft is gone (or another's: a NUL in a name) is passed over.
        let keep = |(_, number): &(Vec<u8>, String)| match self.draft(step, caller, number) {
            Ok(draft) => Ok(Some(draft)),
            Err(refusal) if refusal.code == RefusalCode::NotFound => Ok(None),
            Err(refusal) => Err(refusal),
        };
        let (items, next) = page(before, limit, scan, keep)?;
        Ok(Page { items, next: next.map(|(key, _)| Cursor(key)) })
    }

    /// The summary of a stored claim, with `status` if the caller read it already.
    fn claim_summary(
        &self,
        step: &Step,
        claim_id: &RecordId,
        status: Option<Status>,
    ) -> Result<Option<ClaimSummary>, Refusal> {
        let Some(AnyRecord::Claim(claim)) = step.ledger.record(claim_id).map_err(unavailable)? else {
            return Ok(None);
        };
        let status = match status {
            Some(status) => status,
            None => match step.ledger.claim_state(claim_id).map_err(unavailable)? {
                Some(state) => state.status,
                None => return Ok(None),
            },
        };
        let body = claim.body();
        Ok(Some(ClaimSummary {
            id: claim.id(),
            number: body.number.clone(),
            agency: body.agency.clone(),
            claimant: body.claimant.clone(),
            status,
            total: body.total(),
        }))
    }
}
