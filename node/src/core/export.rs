//! SIE export at the SSC: the booked claims of one agency, by booked date, as one SIE 4I
//! file (kvitt_protocol::books, spec/books.md). Each claim is booked again from its signed
//! records with the series and number its `booked` event gave, so the file is a pure
//! function of the ledger: the same claims give the same bytes. Exported claims are noted
//! (`sie/` claim id → date of the export) and left out of later exports unless asked again.

use kvitt_protocol::books::{self, AgencyBooks, AllowanceTables, BookingTable, SieHeader, Voucher};
use kvitt_protocol::claim::Claim;
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::{Action, ClaimState, Status};
use kvitt_protocol::fields::{format_date, parse_time};
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, RecordId, Signed};
use time::{Date, Month};

use super::{unavailable, Caller, CallerRole, NodeCore, Step};
use crate::ledger::keys;
use crate::store::Batch;

/// The voucher series the SSC books every agency's claims in. There is no per-agency
/// booking configuration yet: an agency's books are its directory entry (organisation
/// number, name), this series and no corporate cards.
pub const VOUCHER_SERIES: &str = "K";

/// The refusal code of a claim that cannot be booked (its booking error in the detail).
pub const BOOKING_REFUSED: &str = "books.booking";

/// The refusal code of vouchers the SIE writer refuses (its error in the detail).
pub const SIE_REFUSED: &str = "books.sie";

/// What `ClientRequest::ExportSie` asks: one agency's booked claims, booked `from..=to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieExport {
    /// The agency's organisation number.
    pub agency: String,
    /// First booked date.
    pub from: Date,
    /// Last booked date; in the same calendar year (the fiscal year) as `from`.
    pub to: Date,
    /// Include claims exported before.
    pub again: bool,
}

/// An SIE file and what is in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieFile {
    /// The file, SIE 4I in PC8.
    pub bytes: Vec<u8>,
    /// The claims it books, in voucher order.
    pub claims: Vec<RecordId>,
}

/// Claim states read at a time when looking for booked claims.
const PAGE: usize = crate::ledger::MAX_SCAN_ENTRIES;

/// A booked claim found for export.
struct Booked {
    claim: Signed<Claim>,
    series: String,
    number: u64,
    date: Date,
}

impl NodeCore {
    /// Writes the SIE file of `export` and notes its claims as exported; a claim that
    /// cannot be booked refuses the whole export, which then notes nothing.
    pub(super) fn export_sie(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        export: &SieExport,
    ) -> Result<SieFile, Refusal> {
        if self.identity.role != MemberRole::Ssc || caller.role != CallerRole::SscStaff {
            return Err(super::forbidden(caller, "export SIE"));
        }
        let fiscal_year = fiscal_year(export)?;
        let books = self.agency_books(&export.agency)?;
        let table = BookingTable::default_table()
            .map_err(|error| Refusal::new(RefusalCode::Unavailable, format!("booking table: {error}")))?;
        let allowances = AllowanceTables::default_tables()
            .map_err(|error| Refusal::new(RefusalCode::Unavailable, error.to_string()))?;
        let mut found = self.booked_claims(step, export)?;
        found.sort_by(|a, b| (&a.series, a.number, a.claim.id()).cmp(&(&b.series, b.number, b.claim.id())));
        let mut vouchers = Vec::with_capacity(found.len());
        for booked in &found {
            vouchers.push(self.voucher(step, (&table, &allowances), &books, booked)?);
        }
        let header = SieHeader {
            program: "kvitt".into(),
            program_version: env!("CARGO_PKG_VERSION").into(),
            generated: step.now.date(),
            org: books.org.clone(),
            company_name: books.name.clone(),
            fiscal_year: Some(fiscal_year),
        };
        let bytes = books::write_sie(&header, &table, &vouchers).map_err(|error| Refusal {
            code: SIE_REFUSED.into(),
            path: String::new(),
            message: format!("the SIE file of {} cannot be written: {error}", books.org),
            retry: false,
        })?;
        let claims: Vec<RecordId> = found.iter().map(|booked| booked.claim.id()).collect();
        let mut batch = Batch::new();
        for claim in &claims {
            batch.insert(keys::sie(claim), format_date(step.now.date()).into_bytes());
        }
        step.write(&batch).map_err(unavailable)?;
        tracing::info!(agency = %books.org, vouchers = claims.len(), again = export.again, "SIE exported");
        Ok(SieFile { bytes, claims })
    }

    /// The books of an agency this SSC serves, from the directory (see [`VOUCHER_SERIES`]).
    fn agency_books(&self, agency: &str) -> Result<AgencyBooks, Refusal> {
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

    /// The agency's claims booked in the range (and not yet exported, unless again).
    fn booked_claims(&self, step: &Step, export: &SieExport) -> Result<Vec<Booked>, Refusal> {
        let mut found = Vec::new();
        // Every claim, page by page: an export that silently stopped at a scan limit would
        // leave vouchers out of the books.
        let mut states = Vec::new();
        loop {
            let page = step
                .ledger
                .claim_states_after(states.last().map(|state: &ClaimState| &state.claim), PAGE)
                .map_err(unavailable)?;
            let done = page.len() < PAGE;
            states.extend(page);
            if done {
                break;
            }
        }
        for state in states {
            if !matches!(state.status, Status::Booked | Status::Paid) {
                continue;
            }
            let Some(AnyRecord::Claim(claim)) = step.ledger.record(&state.claim).map_err(unavailable)? else {
                continue;
            };
            if claim.body().agency != export.agency {
                continue;
            }
            if !export.again && step.ledger.exported(&claim.id()).map_err(unavailable)?.is_some() {
                continue;
            }
            let Some((series, number, date)) = booked_event(step, &claim.id())? else {
                continue;
            };
            if date >= export.from && date <= export.to {
                found.push(Booked { claim, series, number, date });
            }
        }
        Ok(found)
    }

    /// Books one claim with its receipts, numbered as its `booked` event says.
    fn voucher(
        &self,
        step: &Step,
        (table, allowances): (&BookingTable, &AllowanceTables),
        books: &AgencyBooks,
        booked: &Booked,
    ) -> Result<Voucher, Refusal> {
        let claim_id = booked.claim.id();
        let refuse = |why: String| Refusal {
            code: BOOKING_REFUSED.into(),
            path: String::new(),
            message: format!("claim {claim_id} ({}) cannot be booked: {why}", booked.claim.body().number),
            retry: false,
        };
        let mut receipts: Vec<Signed<Receipt>> = Vec::new();
        for id in booked.claim.body().receipts() {
            if let Some(AnyRecord::Receipt(receipt)) = step.ledger.record(&id).map_err(unavailable)? {
                receipts.push(receipt);
            }
        }
        let books = AgencyBooks { series: booked.series.clone(), ..books.clone() };
        let mut voucher = books::book(table, allowances, &books, &booked.claim, &receipts, booked.date)
            .map_err(|error| refuse(error.to_string()))?;
        let number = u32::try_from(booked.number)
            .map_err(|_| refuse(format!("voucher number {} is above what SIE numbers", booked.number)))?;
        voucher.number = Some(number);
        Ok(voucher)
    }
}

/// The series, number and date (in the event's own offset) of a claim's `booked` event.
fn booked_event(step: &Step, claim: &RecordId) -> Result<Option<(String, u64, Date)>, Refusal> {
    for id in step.ledger.chain(claim).map_err(unavailable)? {
        let Some(AnyRecord::ClaimEvent(event)) = step.ledger.record(&id).map_err(unavailable)? else {
            continue;
        };
        if let Action::Booked { series, number } = &event.body().action {
            let at = parse_time("at", &event.body().at).map_err(|error| Refusal::invalid(&error))?;
            return Ok(Some((series.clone(), *number, at.date())));
        }
    }
    Ok(None)
}

/// The fiscal year (`#RAR 0`) of an export: the calendar year of its range, which must
/// not span two years (agencies' fiscal years are calendar years).
fn fiscal_year(export: &SieExport) -> Result<(Date, Date), Refusal> {
    let bad =
        |message: String| Refusal { path: "to".into(), ..Refusal::new(RefusalCode::BadRequest, message) };
    if export.to < export.from {
        return Err(bad(format!("to {} is before from {}", export.to, export.from)));
    }
    let year = export.from.year();
    if export.to.year() != year {
        return Err(bad(format!(
            "{} to {} spans two fiscal years; export each year on its own",
            export.from, export.to
        )));
    }
    let start = Date::from_calendar_date(year, Month::January, 1);
    let end = Date::from_calendar_date(year, Month::December, 31);
    match (start, end) {
        (Ok(start), Ok(end)) => Ok((start, end)),
        _ => Err(bad(format!("year {year} has no calendar"))),
    }
}
