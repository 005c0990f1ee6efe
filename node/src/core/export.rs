//! SIE export at the SSC: one agency's vouchers dated in a range, as one SIE 4I file
//! (`kvitt_books`, spec/books.md). A claim's vouchers are those kept when it was
//! booked and, if it was, reversed (core::vouchers): the file is written from them, never
//! booked again, so the same vouchers give the same bytes and no record that was accepted
//! makes an export fail. A voucher the ledger does not keep (an SSC that got its events
//! back by reconciliation) is computed from the records and kept; one that cannot be is
//! left out, noted as a `booking` exception and named in the answer. Exported vouchers are
//! noted (`sie/`) and left out of later exports unless asked again.

use kvitt_books::{self as books, check_voucher, SieHeader, Voucher};
use kvitt_protocol::claim::Claim;
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::{ClaimState, Status};
use kvitt_protocol::fields::format_date;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, RecordId, Signed};
use time::{Date, Month};

use super::vouchers::tables;
use super::ExceptionNote;
use super::{unavailable, Caller, CallerRole, NodeCore, Step};
use crate::ledger::{keys, VoucherOf};
use crate::store::Batch;

/// What `ClientRequest::ExportSie` asks: one agency's vouchers dated `from..=to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieExport {
    /// The agency's organisation number.
    pub agency: String,
    /// First voucher date.
    pub from: Date,
    /// Last voucher date; in the same calendar year (the fiscal year) as `from`.
    pub to: Date,
    /// Include vouchers exported before.
    pub again: bool,
}

/// An SIE file, what is in it, and what was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieFile {
    /// The file, SIE 4I in PC8.
    pub bytes: Vec<u8>,
    /// Its vouchers, in voucher order: each claim's booking, or its reversal.
    pub vouchers: Vec<(RecordId, VoucherOf)>,
    /// Vouchers of the range that are not in the file because they cannot be computed
    /// from the records, each with why; each is noted as a `booking` exception too.
    pub left_out: Vec<LeftOut>,
}

/// A voucher an export left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    /// The claim.
    pub claim: RecordId,
    /// Which of its vouchers.
    pub of: VoucherOf,
    /// Why it cannot be written.
    pub why: String,
}

/// Claim states read at a time when looking for booked claims.
const PAGE: usize = crate::ledger::MAX_SCAN_ENTRIES;

impl NodeCore {
    /// Writes the SIE file of `export` and notes its vouchers as exported; vouchers that
    /// cannot be had are left out and noted as exceptions, never failing the file.
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
        let (table, _) = tables()?;
        let mut writes = Batch::new();
        let mut found: Vec<(Voucher, RecordId, VoucherOf)> = Vec::new();
        let mut left_out = Vec::new();
        for claim in self.booked_claims(step, &export.agency)? {
            let numbered = self.numbered(step, &claim.id())?;
            for of in [VoucherOf::Booking, VoucherOf::Reversal] {
                let Some(date) = numbered.of(of).map(|numbered| numbered.date) else {
                    continue;
                };
                if date < export.from || date > export.to {
                    continue;
                }
                if !export.again && step.ledger.exported(&claim.id(), of).map_err(unavailable)?.is_some() {
                    continue;
                }
                let voucher =
                    self.kept_or_computed(step, &claim, &numbered, of, &mut writes)?.and_then(|voucher| {
                        check_voucher(0, table, &voucher, Some(fiscal_year))
                            .map_err(|error| error.to_string())?;
                        Ok(voucher)
                    });
                match voucher {
                    Ok(voucher) => found.push((voucher, claim.id(), of)),
                    Err(why) => left_out.push(self.leave_out(step, &claim, of, why, &mut writes)?),
                }
            }
        }
        found.sort_by(|(a, a_claim, a_of), (b, b_claim, b_of)| {
            (&a.series, a.number, a_claim, a_of).cmp(&(&b.series, b.number, b_claim, b_of))
        });
        let header = SieHeader {
            program: "kvitt".into(),
            program_version: env!("CARGO_PKG_VERSION").into(),
            generated: step.now.date(),
            org: books.org.clone(),
            company_name: books.name.clone(),
            fiscal_year: Some(fiscal_year),
        };
        let vouchers: Vec<Voucher> = found.iter().map(|(voucher, _, _)| voucher.clone()).collect();
        let bytes = books::write_sie(&header, table, &vouchers).map_err(|error| Refusal {
            code: RefusalCode::Sie.into(),
            path: String::new(),
            message: format!("the SIE file of {} cannot be written: {error}", books.org),
            retry: false,
        })?;
        let exported = format_date(step.now.date());
        for (_, claim, of) in &found {
            writes.insert(keys::sie(claim, *of), exported.clone().into_bytes());
        }
        step.write(&writes).map_err(unavailable)?;
        tracing::info!(
            agency = %books.org,
            vouchers = found.len(),
            left_out = left_out.len(),
            again = export.again,
            "SIE exported"
        );
        let vouchers = found.into_iter().map(|(_, claim, of)| (claim, of)).collect();
        Ok(SieFile { bytes, vouchers, left_out })
    }

    /// The agency's claims that were ever booked (booked, paid or reversed), every page.
    fn booked_claims(&self, step: &Step, agency: &str) -> Result<Vec<Signed<Claim>>, Refusal> {
        let mut claims = Vec::new();
        // Every claim, page by page: an export that silently stopped at a scan limit would
        // leave vouchers out of the books.
        let mut after: Option<RecordId> = None;
        loop {
            let page = step.ledger.claim_states_after(after.as_ref(), PAGE).map_err(unavailable)?;
            let done = page.len() < PAGE;
            after = page.last().map(|state: &ClaimState| state.claim);
            for state in page {
                if !matches!(state.status, Status::Booked | Status::Paid | Status::Reversed) {
                    continue;
                }
                if let Some(AnyRecord::Claim(claim)) =
                    step.ledger.record(&state.claim).map_err(unavailable)?
                {
                    if claim.body().agency == agency {
                        claims.push(claim);
                    }
                }
            }
            if done {
                return Ok(claims);
            }
        }
    }

    /// Notes a voucher that cannot be written as a `booking` exception of its claim (after
    /// any earlier why of that claim) and says so in the log.
    fn leave_out(
        &self,
        step: &Step,
        claim: &Signed<Claim>,
        of: VoucherOf,
        why: String,
        writes: &mut Batch,
    ) -> Result<LeftOut, Refusal> {
        let number = &claim.body().number;
        let mut noted = format!(
            "{} the {} voucher of claim {number} cannot be computed from its records: {why}; \
             it is left out of SIE exports",
            ExceptionNote::Booking.prefix(),
            of.name()
        );
        match step.ledger.exception(&claim.id()).map_err(unavailable)? {
            Some(earlier) if ExceptionNote::of(&earlier) == Some(ExceptionNote::Booking) => noted = earlier,
            Some(earlier) => noted = format!("{noted} (earlier: {earlier})"),
            None => {}
        }
        writes.insert(keys::exception(&claim.id()), noted.into_bytes());
        tracing::error!(claim = %claim.id().short(), %number, voucher = of.name(), %why, "voucher left out of the SIE export");
        Ok(LeftOut { claim: claim.id(), of, why })
    }
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
