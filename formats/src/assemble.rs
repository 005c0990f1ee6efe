//! From what a format's mapper read to a kvitt receipt: the values given beside the
//! document (buyer, original), kvitt's own arithmetic, the receipt rules, and every error
//! told at the element it came from.

use kvitt_protocol::receipt::{Buyer, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::routing::CardReference;
use kvitt_protocol::vat::format_rate;
use kvitt_protocol::{ErrorCode, Record, RecordId};

use crate::error::{FormatCode, FormatError};

/// What a till gives beside the document, since neither format carries it: the buyer's
/// agency (SDRS `se:Receiver` and Kivra's `customer` identify private persons) and, for a
/// return, the kvitt id of the sale (the formats refer to the sale by the till's own
/// receipt number).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Supplement {
    /// The buyer's agency and, optionally, the employee.
    pub buyer: Option<Buyer>,
    /// The kvitt id of the receipt a return refers to; overrides a reference in the
    /// document.
    pub original: Option<RecordId>,
}

/// Which element or property each part of the mapped receipt came from, so that a rule a
/// part breaks is reported at its source.
#[derive(Debug)]
pub(crate) struct Sources {
    root: String,
    entries: Vec<(String, String)>,
}

impl Sources {
    /// Sources of a document whose root is at `root` (`/DigitalReceipt`, or `` for JSON).
    pub(crate) fn new(root: &str) -> Sources {
        let mut sources = Sources { root: root.to_owned(), entries: Vec::new() };
        sources.note("buyer", "buyer");
        sources.note("buyer.agency", "buyer");
        sources.note("buyer.employee", "employee");
        sources.note("original", "original");
        sources
    }

    /// `kvitt` (a receipt field path, `lines[2].amount`) came from `source`.
    pub(crate) fn note(&mut self, kvitt: impl Into<String>, source: impl Into<String>) {
        self.entries.push((kvitt.into(), source.into()));
    }

    /// The source of the most specific part of `path` that has one, else the root.
    pub(crate) fn find(&self, path: &str) -> &str {
        let covers = |prefix: &str| {
            path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        };
        self.entries
            .iter()
            .filter(|(kvitt, _)| covers(kvitt))
            // The last noted of equally specific sources wins.
            .max_by_key(|(kvitt, _)| kvitt.len())
            .map_or(self.root.as_str(), |(_, source)| source.as_str())
    }
}

/// A line of `kind` with nothing else set, for a mapper to fill in.
pub(crate) fn bare_line(kind: LineKind) -> Line {
    Line {
        kind,
        description: String::new(),
        article: None,
        gtin: None,
        category: None,
        quantity: None,
        unit: None,
        unit_price: None,
        discounts: Vec::new(),
        amount: None,
        vat_rate: None,
    }
}

/// A VAT amount the document declares for one rate, as a magnitude.
#[derive(Debug)]
pub(crate) struct DeclaredVat {
    /// The rate, basis points.
    pub rate: u32,
    /// The VAT amount, minor units, without sign.
    pub vat: i64,
    /// Where it is written.
    pub path: String,
}

/// A document's reference to the sale a return refers to.
#[derive(Debug)]
pub(crate) struct Reference {
    /// As written.
    pub text: String,
    /// Where.
    pub path: String,
}

/// Everything a mapper read: a receipt but for its buyer, with the document's own VAT
/// figures and sale reference still to check.
#[derive(Debug)]
pub(crate) struct Draft {
    pub merchant: Merchant,
    pub register: String,
    pub serial: u64,
    pub control_unit: String,
    pub issued_at: String,
    pub currency: String,
    pub lines: Vec<Line>,
    /// Signed: negative when money goes back to the buyer.
    pub total: i64,
    /// Whether the document declares a cash rounding (then kvitt's rounding is derived:
    /// total − Σ lines; else it is 0).
    pub rounding_declared: bool,
    pub payments: Vec<Payment>,
    pub declared_vat: Vec<DeclaredVat>,
    /// Where the declared VAT rows are, for a rate the document leaves out.
    pub declared_vat_path: String,
    pub reference: Option<Reference>,
    /// The card reference the document carries (crate::card).
    pub card: Option<CardReference>,
    pub sources: Sources,
}

impl Draft {
    /// The kvitt receipt, or the first error at its source. Checks run in the order of
    /// spec/protocol.md §Receipt rules, the document's VAT figures where kvitt checks its
    /// `vat`.
    pub(crate) fn finish(self, supplement: &Supplement) -> Result<crate::Imported, FormatError> {
        let Draft { mut sources, declared_vat, declared_vat_path, reference, card, .. } = self;
        let original = match (&supplement.original, &reference) {
            (Some(id), _) => Some(*id),
            (None, Some(reference)) => {
                sources.note("original", reference.path.clone());
                reference.text.trim().parse().ok()
            }
            (None, None) => None,
        };
        // The buyer is not in either format: the till names it beside the document, or
        // leaves it out for the merchant's node to find by card (spec/routing.md).
        let buyer = supplement.buyer.clone();
        let lines_sum: i64 = self.lines.iter().filter_map(|line| line.amount).fold(0, i64::saturating_add);
        let mut receipt = Receipt {
            merchant: self.merchant,
            register: self.register,
            serial: self.serial,
            control_unit: self.control_unit,
            issued_at: self.issued_at,
            currency: self.currency,
            lines: self.lines,
            vat: Vec::new(),
            rounding: if self.rounding_declared { self.total.saturating_sub(lines_sum) } else { 0 },
            total: self.total,
            payments: self.payments,
            buyer,
            original,
        };
        receipt.vat = receipt.expected_vat();
        let verdict = receipt.validate();
        if let Err(error) = &verdict {
            if !after_vat(error.path()) {
                return Err(at_source(&sources, error));
            }
        }
        check_declared_vat(&receipt, &declared_vat, &declared_vat_path)?;
        verdict.map_err(|error| at_source(&sources, &error))?;
        Ok(crate::Imported { receipt, card })
    }
}

/// Whether a rule at `path` is checked after the VAT breakdown (spec/protocol.md §Receipt
/// rules: rounding, total, payments, buyer, original).
fn after_vat(path: &str) -> bool {
    ["rounding", "total", "payments", "buyer", "original"].iter().any(|field| {
        path == *field || path.starts_with(&format!("{field}.")) || path.starts_with(&format!("{field}["))
    })
}

/// A receipt rule's error, told at the element the offending part came from.
fn at_source(sources: &Sources, error: &kvitt_protocol::Error) -> FormatError {
    let detail = if error.path().is_empty() {
        error.detail().to_owned()
    } else {
        format!("{} (kvitt {})", error.detail(), error.path())
    };
    FormatError::new(FormatCode::Rule(error.code()), sources.find(error.path()), detail)
}

/// The document's VAT per rate against kvitt's (spec/protocol.md §Arithmetic): the same
/// rates, the same amounts. A document that declares none leaves the breakdown to kvitt.
fn check_declared_vat(receipt: &Receipt, declared: &[DeclaredVat], parent: &str) -> Result<(), FormatError> {
    if declared.is_empty() {
        return Ok(());
    }
    let unit = if receipt.currency == "SEK" { "öre" } else { "minor units" };
    for row in declared {
        let computed = receipt.vat.iter().find(|computed| computed.rate == row.rate);
        match computed {
            None => {
                return Err(vat_error(
                    &row.path,
                    format!("VAT at {} but no priced line has that rate", format_rate(row.rate)),
                ))
            }
            Some(computed) if computed.vat.abs() != row.vat => {
                return Err(vat_error(
                    &row.path,
                    format!(
                        "{} {unit} VAT at {}, kvitt computes {} {unit} from the lines (VAT extracted from their sum, rounded half away from zero)",
                        row.vat,
                        format_rate(row.rate),
                        computed.vat.abs()
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(computed) =
        receipt.vat.iter().find(|computed| !declared.iter().any(|row| row.rate == computed.rate))
    {
        return Err(vat_error(
            parent,
            format!("no VAT given at {}, which lines have", format_rate(computed.rate)),
        ));
    }
    Ok(())
}

fn vat_error(path: &str, detail: String) -> FormatError {
    FormatError::new(FormatCode::Rule(ErrorCode::VatBreakdown), path, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_source_wins() {
        let mut sources = Sources::new("/R");
        sources.note("lines[1]", "/R/L[2]");
        sources.note("lines[1].amount", "/R/L[2]/A");
        sources.note("lines[10]", "/R/L[11]");
        assert_eq!(sources.find("lines[1].amount"), "/R/L[2]/A");
        assert_eq!(sources.find("lines[1].discounts[0].amount"), "/R/L[2]");
        assert_eq!(sources.find("lines[10].amount"), "/R/L[11]", "lines[1] is no prefix of lines[10]");
        assert_eq!(sources.find("total"), "/R");
        assert_eq!(sources.find("buyer.agency"), "buyer");
        assert_eq!(sources.find("buyer.employee"), "employee");
    }

    #[test]
    fn rules_after_the_vat_breakdown() {
        for path in ["total", "rounding", "payments", "payments[0].rrn", "buyer.agency", "original"] {
            assert!(after_vat(path), "{path}");
        }
        for path in ["lines[0].amount", "merchant.org", "vat", "totals", "issued_at"] {
            assert!(!after_vat(path), "{path}");
        }
    }
}
