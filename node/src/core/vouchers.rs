//! The SSC's vouchers: computed when a claim is booked or reversed, with the function the
//! SIE export uses (`books::book_numbered`, `books::reverse`), numbered as the event
//! numbers them, and kept in the ledger in the same batch as that event
//! (ledger::vouchers). A claim that cannot be booked is refused at booking, with the
//! reason, before anything is signed or a voucher number taken; the export then writes
//! kept vouchers only, so no record that was accepted ever makes it fail.
//!
//! An SSC that lost its ledger gets its events back from the agencies by reconciliation,
//! without the vouchers. The export computes such a voucher from the signed records (as
//! numbered and dated by its event) and keeps it; one that cannot be computed any more is
//! left out of the file, noted as a `booking` exception and named in the answer.

use kvitt_books::{self as books, AgencyBooks, AllowanceTables, BookingTable, Voucher};
use kvitt_protocol::claim::Claim;
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::{Action, Actor, Role, Status};
use kvitt_protocol::fields::{check_text, parse_time};
use kvitt_protocol::limits::MAX_FREE_TEXT_BYTES;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, RecordId, Signed};
use time::Date;

use super::{unavailable, Caller, CallerRole, NodeCore, Step};
use crate::ledger::{encode_voucher, keys, VoucherOf};
use crate::store::Batch;

/// The voucher series the SSC books every agency's claims in. There is no per-agency
/// booking configuration yet: an agency's books are its directory entry (organisation
/// number, name), this series and no corporate cards.
pub const VOUCHER_SERIES: &str = "K";

/// The booking table and allowance tables the SSC books with.
pub(super) type Tables = (&'static BookingTable, &'static AllowanceTables);

/// The tables every SSC books with: the compiled-in booking table and allowances, which
/// `kvitt-books` parses once and shares.
pub(super) fn tables() -> Result<Tables, Refusal> {
    let unavailable = |why: String| Refusal::new(RefusalCode::Unavailable, why);
    let table =
        BookingTable::default_table().map_err(|error| unavailable(format!("booking table: {error}")))?;
    let allowances = AllowanceTables::default_tables().map_err(|error| unavailable(error.to_string()))?;
    Ok((table, allowances))
}

/// The counter of an agency's voucher numbers at this SSC.
fn counter(agency: &str) -> String {
    keys::voucher_counter(agency)
}

/// What a `booked` or `reversed` event numbers: its series, number and local date.
pub(super) struct Numbered {
    /// The voucher series.
    pub series: String,
    /// The voucher number.
    pub number: u64,
    /// The event's date, in its own offset.
    pub date: Date,
}

/// A claim's `booked` and `reversed` events, as their vouchers are numbered.
#[derive(Default)]
pub(super) struct ClaimVouchers {
    /// From the `booked` event.
    pub booking: Option<Numbered>,
    /// From the `reversed` event.
    pub reversal: Option<Numbered>,
}

impl ClaimVouchers {
    /// The voucher `of`, if the claim has the event that numbers it.
    pub fn of(&self, of: VoucherOf) -> Option<&Numbered> {
        match of {
            VoucherOf::Booking => self.booking.as_ref(),
            VoucherOf::Reversal => self.reversal.as_ref(),
        }
    }
}

impl NodeCore {
    /// Books a claim as the next voucher of its agency's series, exception or not (staff
    /// resolving an exception by booking have looked at it): the voucher is computed
    /// first and refused with `books.booking` if it cannot be, then the `booked` event
    /// is signed and stored with the voucher and the new count in one batch.
    pub(super) fn book_voucher(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        claim: &Signed<Claim>,
    ) -> Result<Status, Refusal> {
        let number = next_voucher_number(step, claim)?;
        let actor = Actor { person: caller.person.clone(), role: Role::Ssc };
        let action = Action::Booked { series: VOUCHER_SERIES.into(), number };
        // The state machine first: booking a booked claim is a transition error, not a
        // booking error.
        let signed = self.sign_event(step, claim, actor, action)?;
        let booked = Numbered { series: VOUCHER_SERIES.into(), number, date: step.now.date() };
        let voucher =
            self.compute_booking(step, claim, &booked)?.map_err(|why| booking_refusal(claim, &why))?;
        let mut also = Batch::new();
        keep(&mut also, claim, VoucherOf::Booking, &voucher)?;
        also.insert(keys::meta(&counter(&claim.body().agency)), number.to_be_bytes().to_vec());
        self.store_event(step, claim, signed, also)
    }

    /// Whether a claim can be booked today as the next voucher of its agency's series;
    /// the refusal booking would give if not. Nothing is written.
    pub(super) fn check_bookable(&self, step: &Step, claim: &Signed<Claim>) -> Result<(), Refusal> {
        let booked = Numbered {
            series: VOUCHER_SERIES.into(),
            number: next_voucher_number(step, claim)?,
            date: step.now.date(),
        };
        self.compute_booking(step, claim, &booked)?.map(|_| ()).map_err(|why| booking_refusal(claim, &why))
    }

    /// SSC staff reverse a booked or paid claim: a signed `reversed` event with the
    /// reason, and a reversing voucher (the booking's rows negated, naming it), numbered
    /// next in the agency's series and kept with the event. Refused, with nothing written,
    /// if the claim's state does not allow it or its booking cannot be had.
    pub(super) fn reverse(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        claim_id: RecordId,
        reason: &str,
    ) -> Result<Status, Refusal> {
        self.require(caller, MemberRole::Ssc, &[CallerRole::SscStaff], "reverse claims")?;
        check_text("reason", reason, MAX_FREE_TEXT_BYTES).map_err(|error| Refusal::invalid(&error))?;
        let claim = self.claim(step, &claim_id)?;
        let number = next_voucher_number(step, &claim)?;
        let actor = Actor { person: caller.person.clone(), role: Role::Ssc };
        let action = Action::Reversed { reason: reason.to_owned(), series: VOUCHER_SERIES.into(), number };
        let signed = self.sign_event(step, &claim, actor, action)?;
        let reversal = Numbered { series: VOUCHER_SERIES.into(), number, date: step.now.date() };
        let vouchers = ClaimVouchers { reversal: Some(reversal), ..self.numbered(step, &claim_id)? };
        let mut also = Batch::new();
        self.kept_or_computed(step, &claim, &vouchers, VoucherOf::Reversal, &mut also)?
            .map_err(|why| reversal_refusal(&claim, &why))?;
        also.insert(keys::meta(&counter(&claim.body().agency)), number.to_be_bytes().to_vec());
        let status = self.store_event(step, &claim, signed, also)?;
        tracing::info!(claim = %claim_id.short(), number, "claim reversed");
        Ok(status)
    }

    /// The voucher kept for a claim's booking or reversal; if none is (an SSC that got
    /// its events back by reconciliation), computed from the signed records as its event
    /// in `vouchers` numbers it, with the writes that keep it added to `writes` (a
    /// reversal's booking too). `Ok(Err(why))`: it cannot be computed.
    pub(super) fn kept_or_computed(
        &self,
        step: &Step,
        claim: &Signed<Claim>,
        vouchers: &ClaimVouchers,
        of: VoucherOf,
        writes: &mut Batch,
    ) -> Result<Result<Voucher, String>, Refusal> {
        if let Some(kept) = step.ledger.voucher(&claim.id(), of).map_err(unavailable)? {
            return Ok(Ok(kept));
        }
        let Some(numbered) = vouchers.of(of) else {
            return Ok(Err(format!("it has no event that numbers its {}", of.name())));
        };
        let computed = match of {
            VoucherOf::Booking => self.compute_booking(step, claim, numbered)?,
            VoucherOf::Reversal => {
                let (table, _) = tables()?;
                self.kept_or_computed(step, claim, vouchers, VoucherOf::Booking, writes)?.and_then(
                    |original| {
                        books::reverse(table, &original, &numbered.series, numbered.number, numbered.date)
                            .map_err(|error| error.to_string())
                    },
                )
            }
        };
        if let Ok(voucher) = &computed {
            keep(writes, claim, of, voucher)?;
        }
        Ok(computed)
    }

    /// The numbers and dates a claim's `booked` and `reversed` events give its vouchers.
    pub(super) fn numbered(&self, step: &Step, claim: &RecordId) -> Result<ClaimVouchers, Refusal> {
        let mut vouchers = ClaimVouchers::default();
        for id in step.ledger.chain(claim).map_err(unavailable)? {
            let Some(AnyRecord::ClaimEvent(event)) = step.ledger.record(&id).map_err(unavailable)? else {
                continue;
            };
            let (slot, series, number) = match &event.body().action {
                Action::Booked { series, number } => (&mut vouchers.booking, series, number),
                Action::Reversed { series, number, .. } => (&mut vouchers.reversal, series, number),
                _ => continue,
            };
            let at = parse_time("at", &event.body().at).map_err(|error| Refusal::invalid(&error))?;
            *slot = Some(Numbered { series: series.clone(), number: *number, date: at.date() });
        }
        Ok(vouchers)
    }

    /// Books `claim` as `numbered` says, with its receipts and the agency's books:
    /// `Ok(Err(why))` if it cannot be booked.
    fn compute_booking(
        &self,
        step: &Step,
        claim: &Signed<Claim>,
        numbered: &Numbered,
    ) -> Result<Result<Voucher, String>, Refusal> {
        let books =
            AgencyBooks { series: numbered.series.clone(), ..self.agency_books(&claim.body().agency)? };
        let (table, allowances) = tables()?;
        let mut receipts: Vec<Signed<Receipt>> = Vec::new();
        let mut assignments = Vec::new();
        for id in claim.body().receipts() {
            if let Some(AnyRecord::Receipt(receipt)) = step.ledger.record(&id).map_err(unavailable)? {
                assignments.extend(self.assignment_for(step, &receipt)?);
                receipts.push(receipt);
            }
        }
        let records = books::ClaimReceipts { receipts: &receipts, assignments: &assignments };
        let booked =
            books::book_numbered(table, allowances, &books, claim, records, numbered.date, numbered.number);
        Ok(booked.map_err(|error| error.to_string()))
    }

    /// The books of an agency this SSC serves, from the directory (see [`VOUCHER_SERIES`]).
    pub(super) fn agency_books(&self, agency: &str) -> Result<AgencyBooks, Refusal> {
        let directory = self.directory.body();
        let served = directory.ssc_of(agency).is_some_and(|ssc| ssc.key == self.identity.key());
        match directory.member_by_org(agency) {
            Some(member) if member.role == MemberRole::Agency && served => Ok(AgencyBooks {
                org: member.org.clone(),
                name: member.name.clone(),
                series: VOUCHER_SERIES.into(),
                corporate_cards: Vec::new(),
            }),
            _ => Err(Refusal {
                path: "agency".into(),
                ..Refusal::new(RefusalCode::NotFound, format!("no agency {agency} served by this SSC"))
            }),
        }
    }
}

/// The next number of the claim's agency's voucher series at this SSC.
fn next_voucher_number(step: &Step, claim: &Signed<Claim>) -> Result<u64, Refusal> {
    step.ledger.next_counter(&counter(&claim.body().agency)).map_err(unavailable)
}

/// At an SSC that gets one of its own `booked` or `reversed` events back (after losing its
/// ledger), the agency's voucher count is raised to its number, so that the next voucher
/// never takes a number that one holds.
pub(super) fn raise_voucher_count(
    step: &Step,
    claim: &Signed<Claim>,
    action: &Action,
    batch: &mut Batch,
) -> Result<(), Refusal> {
    let (Action::Booked { number, .. } | Action::Reversed { number, .. }) = action else {
        return Ok(());
    };
    let name = counter(&claim.body().agency);
    if step.ledger.counter(&name).map_err(unavailable)? < *number {
        batch.insert(keys::meta(&name), number.to_be_bytes().to_vec());
    }
    Ok(())
}

/// Adds the writes that keep `voucher` as the claim's booking or reversal.
fn keep(batch: &mut Batch, claim: &Signed<Claim>, of: VoucherOf, voucher: &Voucher) -> Result<(), Refusal> {
    let bytes = encode_voucher(voucher).ok_or_else(|| {
        booking_refusal(claim, &format!("its {} voucher has no number to keep it under", of.name()))
    })?;
    batch.insert(keys::voucher(&claim.id(), of), bytes);
    Ok(())
}

/// The refusal of a claim that cannot be booked, naming it and why.
fn booking_refusal(claim: &Signed<Claim>, why: &str) -> Refusal {
    refusal(claim, "cannot be booked", why)
}

/// The refusal of a booking that cannot be reversed, naming the claim and why.
fn reversal_refusal(claim: &Signed<Claim>, why: &str) -> Refusal {
    refusal(claim, "cannot be reversed", why)
}

fn refusal(claim: &Signed<Claim>, what: &str, why: &str) -> Refusal {
    Refusal {
        code: RefusalCode::Booking.into(),
        path: String::new(),
        message: format!("claim {} ({}) {what}: {why}", claim.id(), claim.body().number),
        retry: false,
    }
}
