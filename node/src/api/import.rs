//! `POST /v1/receipts` with a receipt in a format tills already speak, chosen by the
//! request's `Content-Type` (spec/api.md §Receipt formats): SDRS (`application/xml`) or
//! Kivra (`application/vnd.kivra.receipt+json`), mapped by `kvitt_formats`. What neither
//! format carries, the buyer and a return's sale, comes in the query string.

use kvitt_formats::{Format, FormatError, Supplement};
use kvitt_protocol::receipt::{Buyer, Receipt};

use super::*;

/// The query parameters an imported receipt takes: the buyer's agency, the employee, and
/// the kvitt id of the sale a return refers to.
const IMPORT_PARAMETERS: [&str; 4] = ["buyer", "employee", "original", "card"];

/// The format a request's `Content-Type` names, if it is one of the imported ones; any
/// other type (or none) is kvitt's own receipt JSON.
pub(super) fn format_of(headers: &HeaderMap) -> Option<Format> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(Format::from_content_type)
}

/// The receipt a document of `format` maps to, with the query string's buyer and sale,
/// and the card reference to route it by: the query's `card`, else, when the query names no
/// buyer, the one the document carries (spec/api.md §Card references).
pub(super) fn receipt(
    format: Format,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Receipt, Option<String>), Problem> {
    let (supplement, card) = supplement(query)?;
    let bytes = body_bytes(body)?;
    let imported = kvitt_formats::import(format, &bytes, &supplement).map_err(problem)?;
    let card = match (card, &supplement.buyer) {
        (Some(card), _) => Some(card),
        // A buyer named beside the document is the buyer: its card is not looked up.
        (None, Some(_)) => None,
        (None, None) => imported.card.map(|card| card.as_str().to_owned()),
    };
    Ok((imported.receipt, card))
}

/// `buyer`, `employee`, `original` and `card` from the query string.
fn supplement(query: QueryPairs) -> Result<(Supplement, Option<String>), Problem> {
    let mut agency = None;
    let mut employee = None;
    let mut original = None;
    let mut card = None;
    for (name, value) in checked_pairs(query, &IMPORT_PARAMETERS)? {
        match name.as_str() {
            "buyer" => agency = Some(value),
            "employee" => employee = Some(value),
            "card" => card = Some(value),
            _ => {
                original = Some(value.parse().map_err(|_| {
                    bad_parameter(
                        "original",
                        format!("original {value:?} is not a record id (64 hex digits)"),
                    )
                })?);
            }
        }
    }
    let buyer = match (agency, employee) {
        (Some(agency), employee) => Some(Buyer { agency, employee }),
        (None, Some(_)) => {
            return Err(bad_parameter(
                "employee",
                "employee names the buyer's employee: give buyer too".to_owned(),
            ))
        }
        (None, None) => None,
    };
    Ok((Supplement { buyer, original }, card))
}

/// A refused document: `422` with the format's code (or the receipt rule's) and the
/// element's path in the document, or the query parameter's name.
fn problem(error: FormatError) -> Problem {
    Problem::new(ProblemCode::Format(error.code()), error.path(), error.detail(), false)
}
