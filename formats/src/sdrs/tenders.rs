//! SDRS tenders: one kvitt payment per `LineItem/Tender`, its amount the amount applied to
//! the bill. Change (`TenderChange`) is not a payment.

use kvitt_protocol::receipt::Payment;

use super::xml::{El, ARTS, SE};
use crate::assemble::Sources;
use crate::error::{missing, FormatError};
use crate::text;

/// The payments, and where a cash rounding is declared if one is.
pub(super) struct Tenders {
    pub payments: Vec<Payment>,
    /// The first `Tender/Rounding`: kvitt's rounding is then total − Σ lines.
    pub rounding_path: Option<String>,
}

/// Reads every `LineItem/Tender` of `retail` (voided line items aside), in order.
pub(super) fn read(
    retail: El<'_, '_>,
    currency: &str,
    sources: &mut Sources,
) -> Result<Tenders, FormatError> {
    let mut tenders = Tenders { payments: Vec::new(), rounding_path: None };
    let items = retail
        .children(ARTS, "LineItem")
        .filter(|item| !El::flag(item.attr("VoidFlag")) && !El::flag(item.attr("CancelFlag")));
    for tender in items.flat_map(|item| item.children(ARTS, "Tender").collect::<Vec<_>>()) {
        let index = tenders.payments.len();
        sources.note(format!("payments[{index}]"), tender.path());
        if tenders.rounding_path.is_none() {
            tenders.rounding_path = tender.child(ARTS, "Rounding").map(El::path);
        }
        let amount_element = tender
            .child(ARTS, "AmountAppliedToBill")
            .or_else(|| tender.child(ARTS, "Amount"))
            .ok_or_else(|| missing(tender.child_path(ARTS, "Amount"), "the tender's amount"))?;
        sources.note(format!("payments[{index}].amount"), amount_element.path());
        let magnitude = amount_element.amount(currency)?;
        let amount = if tender.attr("TypeCode") == Some("Refund") { -magnitude } else { magnitude };
        let payment = payment(tender, amount, index, sources)?;
        tenders.payments.push(payment);
    }
    Ok(tenders)
}

/// One tender as a kvitt payment, by its `TenderType` (a `CreditDebit` child makes it a
/// card payment whatever the type says).
fn payment(
    tender: El<'_, '_>,
    amount: i64,
    index: usize,
    sources: &mut Sources,
) -> Result<Payment, FormatError> {
    let kind = tender.attr("TenderType").unwrap_or_default();
    if kind == "CreditDebit" || tender.child(ARTS, "CreditDebit").is_some() {
        return card(tender, amount, index, sources);
    }
    Ok(match kind {
        "Cash" => Payment::Cash { amount },
        "GiftCard" => {
            let number =
                tender.child(ARTS, "GiftCard").and_then(|card| card.child(ARTS, "CardNumber")).ok_or_else(
                    || missing(format!("{}/GiftCard/CardNumber", tender.path()), "the gift card's number"),
                )?;
            sources.note(format!("payments[{index}].reference"), number.path());
            Payment::GiftCard { amount, reference: number.text().to_owned() }
        }
        "" => return Err(missing(tender.attr_path("TenderType"), "the tender's type")),
        other => {
            sources.note(format!("payments[{index}].description"), tender.attr_path("TenderType"));
            Payment::Other { amount, description: other.to_owned() }
        }
    })
}

/// A card payment: the masked number from `CreditDebit/PrimaryAccountNumber` (or the slip),
/// the brand, terminal id, retrieval reference and approval code from the terminal's slip
/// (`se:PaymentTerminal/se:Text`, by their labels `Term:`, `REF:`, `AUT.KOD:`, …).
fn card(
    tender: El<'_, '_>,
    amount: i64,
    index: usize,
    sources: &mut Sources,
) -> Result<Payment, FormatError> {
    let slip: Vec<El<'_, '_>> = tender
        .children(SE, "PaymentTerminal")
        .flat_map(|terminal| terminal.children(SE, "Text").collect::<Vec<_>>())
        .collect();
    let slip_path = tender.child_path(SE, "PaymentTerminal");
    let field = |name: &str| format!("payments[{index}].{name}");
    let labelled = |labels: &[&str]| {
        slip.iter()
            .find(|line| line.attr("Name").is_some_and(|name| labels.contains(&text::label(name).as_str())))
            .filter(|line| !line.text().is_empty())
            .copied()
    };

    let pan = tender
        .child(ARTS, "CreditDebit")
        .and_then(|card| card.child(ARTS, "PrimaryAccountNumber"))
        .or_else(|| slip.iter().find(|line| text::looks_masked(line.text())).copied())
        .ok_or_else(|| {
            missing(format!("{}/CreditDebit/PrimaryAccountNumber", tender.path()), "the masked card number")
        })?;
    sources.note(field("masked_pan"), pan.path());
    let brand = slip
        .iter()
        .find_map(|line| text::card_brand(line.text()).map(|brand| (brand, line.path())))
        .ok_or_else(|| missing(slip_path.clone(), "the card's brand (a slip line such as VISA)"))?;
    sources.note(field("brand"), brand.1);
    let terminal = labelled(&text::TERMINAL_LABELS)
        .ok_or_else(|| missing(slip_path.clone(), "the payment terminal's id (a slip line named Term:)"))?;
    sources.note(field("terminal"), terminal.path());
    let rrn = labelled(&text::RRN_LABELS).ok_or_else(|| {
        missing(slip_path.clone(), "the retrieval reference number (a slip line named REF:)")
    })?;
    sources.note(field("rrn"), rrn.path());
    let approval = tender
        .child(ARTS, "Authorization")
        .and_then(|authorization| authorization.child(ARTS, "AuthorizationCode"))
        .or_else(|| labelled(&text::APPROVAL_LABELS))
        .ok_or_else(|| missing(slip_path, "the approval code (a slip line named AUT.KOD:)"))?;
    sources.note(field("approval_code"), approval.path());
    Ok(Payment::Card {
        amount,
        masked_pan: text::masked_pan(pan.text()),
        brand: brand.0.to_owned(),
        rrn: rrn.text().to_owned(),
        terminal: terminal.text().to_owned(),
        approval_code: approval.text().to_owned(),
    })
}
