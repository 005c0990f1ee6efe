//! Kivra totals (the total paid, VAT per rate, a rounding) and payments.

use kvitt_protocol::receipt::Payment as KvittPayment;

use super::model::{Payment, Tender, Total};
use super::{non_empty, number};
use crate::assemble::{DeclaredVat, Sources};
use crate::card::{is_par, Candidate};
use crate::decimal::{basis_points, minor_units};
use crate::error::{missing, required_by_law, unsupported, FormatError};
use crate::text;

/// What `totals` says.
pub(super) struct Totals {
    /// The `paid` total, negative when refunded.
    pub total: i64,
    pub total_path: String,
    pub declared_vat: Vec<DeclaredVat>,
    /// The `vat` total, or `/totals` if there is none.
    pub vat_path: String,
    /// A `rounding` total, if one is given.
    pub rounding_path: Option<String>,
}

/// Reads `totals`: `paid` is kvitt's total (Kivra's `gross` leaves discounts out), `vat`'s
/// sub totals the VAT per rate.
pub(super) fn totals(totals: &[Total], currency: &str) -> Result<Totals, FormatError> {
    let (index, paid) = totals
        .iter()
        .enumerate()
        .find(|(_, total)| total.kind == "paid")
        .ok_or_else(|| required_by_law("/totals", "the total (a totals entry of type paid)"))?;
    let total_path = format!("/totals/{index}/amount");
    let magnitude = minor_units(&total_path, number(&paid.amount, &total_path)?, currency)?.abs();
    let mut read = Totals {
        total: if paid.refund { -magnitude } else { magnitude },
        total_path,
        declared_vat: Vec::new(),
        vat_path: "/totals".to_owned(),
        rounding_path: None,
    };
    for (index, total) in totals.iter().enumerate() {
        match total.kind.as_str() {
            "rounding" => read.rounding_path = Some(format!("/totals/{index}")),
            "vat" => {
                read.vat_path = format!("/totals/{index}");
                for (row, sub) in total.sub_totals.iter().enumerate() {
                    let base = format!("/totals/{index}/sub_totals/{row}");
                    let rate_path = format!("{base}/tax_percentage");
                    let rate =
                        sub.tax_percentage.as_ref().ok_or_else(|| missing(&rate_path, "the VAT rate"))?;
                    let amount_path = format!("{base}/amount");
                    read.declared_vat.push(DeclaredVat {
                        rate: basis_points(&rate_path, number(rate, &rate_path)?)?,
                        vat: minor_units(&amount_path, number(&sub.amount, &amount_path)?, currency)?.abs(),
                        path: amount_path,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(read)
}

/// The payments, where a payment declares a rounding, and the card references the card
/// payments carry.
pub(super) struct Paid {
    pub payments: Vec<KvittPayment>,
    pub rounding_path: Option<String>,
    pub cards: Vec<Candidate>,
}

/// Reads `payments`: each one's amount applied to the bill, negative when refunded.
pub(super) fn read(payments: &[Payment], currency: &str, sources: &mut Sources) -> Result<Paid, FormatError> {
    let mut paid = Paid { payments: Vec::new(), rounding_path: None, cards: Vec::new() };
    for (index, payment) in payments.iter().enumerate() {
        let path = format!("/payments/{index}");
        sources.note(format!("payments[{index}]"), path.clone());
        if payment.foreign_currency_amount.is_some() {
            return Err(unsupported(
                format!("{path}/foreign_currency_amount"),
                "a payment in another currency: kvitt's payments are in the receipt's currency",
            ));
        }
        if payment.rounding.is_some() && paid.rounding_path.is_none() {
            paid.rounding_path = Some(format!("{path}/rounding"));
        }
        let (value, name) = match &payment.amount_applied_to_bill {
            Some(applied) => (applied, "amount_applied_to_bill"),
            None => (&payment.amount, "amount"),
        };
        let amount_path = format!("{path}/{name}");
        let magnitude = minor_units(&amount_path, number(value, &amount_path)?, currency)?.abs();
        sources.note(format!("payments[{index}].amount"), amount_path);
        let amount = if payment.refund { -magnitude } else { magnitude };
        paid.payments.push(payment_of(payment, amount, &path, index, sources)?);
        paid.cards.extend(card_reference(&payment.tender, &path));
    }
    Ok(paid)
}

/// One payment by its tender's type.
fn payment_of(
    payment: &Payment,
    amount: i64,
    path: &str,
    index: usize,
    sources: &mut Sources,
) -> Result<KvittPayment, FormatError> {
    let tender = &payment.tender;
    let base = format!("{path}/tender");
    let field = |name: &str| format!("payments[{index}].{name}");
    let required = |value: &Option<String>, name: &str, what: &str| {
        non_empty(value.as_deref()).map(str::to_owned).ok_or_else(|| missing(format!("{base}/{name}"), what))
    };
    Ok(match tender.kind.as_str() {
        "cash" => KvittPayment::Cash { amount },
        "creditdebit" => {
            let slip =
                tender.payment_slip.as_ref().map(|slip| slip.collection.as_slice()).unwrap_or_default();
            // `bank_identification_number` holds a PAR or a masked number (the schema:
            // "ISO 8583 field 56 Payment Account Reference, masked card number"); with a
            // PAR, the masked number is the slip's.
            let masked_pan = match tender.bank_identification_number.as_deref() {
                Some(number) if is_par(number) => {
                    let line = slip.iter().find(|line| text::looks_masked(line)).ok_or_else(|| {
                        missing(
                            format!("{base}/payment_slip"),
                            "the masked card number (bank_identification_number holds the PAR: a slip line such as ************3602)",
                        )
                    })?;
                    sources.note(field("masked_pan"), format!("{base}/payment_slip"));
                    line.clone()
                }
                _ => {
                    sources.note(field("masked_pan"), format!("{base}/bank_identification_number"));
                    required(
                        &tender.bank_identification_number,
                        "bank_identification_number",
                        "the masked card number",
                    )?
                }
            };
            let rrn = required(
                &tender.retrieval_reference_number,
                "retrieval_reference_number",
                "the retrieval reference number",
            )?;
            let terminal =
                required(&tender.card_acceptor_terminal_id, "card_acceptor_terminal_id", "the terminal id")?;
            let approval_code = required(&tender.approval_code, "approval_code", "the approval code")?;
            let brand = slip.iter().find_map(|line| text::card_brand(line)).ok_or_else(|| {
                missing(
                    format!("{base}/payment_slip"),
                    "the card's brand (a slip line such as Bankkort VISA)",
                )
            })?;
            for (kvitt, name) in [
                ("rrn", "retrieval_reference_number"),
                ("terminal", "card_acceptor_terminal_id"),
                ("approval_code", "approval_code"),
                ("brand", "payment_slip"),
            ] {
                sources.note(field(kvitt), format!("{base}/{name}"));
            }
            KvittPayment::Card {
                amount,
                masked_pan: text::masked_pan(&masked_pan),
                brand: brand.to_owned(),
                rrn,
                terminal,
                approval_code,
            }
        }
        "giftcard" => {
            sources.note(field("reference"), format!("{base}/card_number"));
            KvittPayment::GiftCard {
                amount,
                reference: required(&tender.card_number, "card_number", "the gift card's number")?,
            }
        }
        "mobile" if tender.provider.as_deref().is_some_and(|provider| provider.starts_with("swish")) => {
            let reference = swish_reference(tender.tender_details.as_ref()).ok_or_else(|| {
                missing(
                    format!("{base}/tender_details/collection/paymentReference"),
                    "Swish's payment reference",
                )
            })?;
            sources.note(field("reference"), format!("{base}/tender_details/collection/paymentReference"));
            KvittPayment::Swish { amount, reference }
        }
        other => {
            let description = match other {
                "other" => tender.type_name.clone(),
                "coupon" => tender.name.clone(),
                "mobile" => tender.provider.clone(),
                _ => None,
            };
            sources.note(field("description"), format!("{base}/type"));
            KvittPayment::Other {
                amount,
                description: non_empty(description.as_deref()).unwrap_or(other).to_owned(),
            }
        }
    })
}

/// The card reference a card tender carries: `bank_identification_number` when it holds a
/// PAR rather than a masked number, else `card_token.value`. A PAR is preferred: it names
/// the card account whatever the token provider, as an agency enrols it (spec/routing.md).
fn card_reference(tender: &Tender, path: &str) -> Option<Candidate> {
    if tender.kind != "creditdebit" {
        return None;
    }
    let par = tender
        .bank_identification_number
        .as_deref()
        .filter(|number| is_par(number))
        .map(|number| Candidate::new(number, format!("{path}/tender/bank_identification_number")));
    par.or_else(|| {
        tender
            .card_token
            .as_ref()
            .map(|token| Candidate::new(&token.value, format!("{path}/tender/card_token/value")))
    })
}

/// Swish's `paymentReference` in a tender's details (a `text_map`).
fn swish_reference(details: Option<&serde_json::Value>) -> Option<String> {
    let collection = details?.get("collection")?;
    let reference = collection.get("paymentReference").or_else(|| collection.get("payment_reference"))?;
    reference.as_str().map(str::to_owned)
}
