//! "Mina kvitton": `GET /kvitton` (search, newest first, paged), `GET /kvitton/{id}` one
//! receipt as it was printed, with its signature checked against the directory, and
//! `GET /kvitton/{id}/utskrift` the same for printing.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use kvitt_protocol::receipt::{Payment, Receipt};
use kvitt_protocol::{AnyRecord, RecordId, Signed};
use serde::Deserialize;

use super::refused;
use crate::core::{ClientRequest, ClientResponse, Cursor, ReceiptSearch};
use crate::web::i18n::{self, Text};
use crate::web::{render, Layout, SignedIn, WebState};

/// Receipts on one page of "Mina kvitton".
pub const RECEIPTS_PER_PAGE: usize = 25;

/// The search form's fields, as the query string gives them (empty ones are not used).
#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    merchant: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    before: String,
}

/// A field of the search that could not be read, for the message beside it.
struct FieldError {
    field: &'static str,
}

impl SearchForm {
    fn search(&self, person: &str) -> Result<ReceiptSearch, FieldError> {
        let date = |field: &'static str, text: &str| {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            kvitt_protocol::fields::parse_date(field, text).map(Some).map_err(|_| FieldError { field })
        };
        let kronor = |field: &'static str, text: &str| {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            parse_kronor(text).map(Some).ok_or(FieldError { field })
        };
        Ok(ReceiptSearch {
            employee: Some(person.to_owned()),
            merchant: Some(self.merchant.trim().to_owned()).filter(|merchant| !merchant.is_empty()),
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
            min_total: kronor("min", &self.min)?,
            max_total: kronor("max", &self.max)?,
        })
    }

    /// The query string of this search without its page position.
    fn query(&self) -> String {
        serde_urlencoded::to_string([
            ("merchant", &self.merchant),
            ("from", &self.from),
            ("to", &self.to),
            ("min", &self.min),
            ("max", &self.max),
        ])
        .unwrap_or_default()
    }
}

/// Kronor as a person types them (`1624`, `1 624,50`, `1624.5`) in öre; `None` if not.
pub fn parse_kronor(text: &str) -> Option<i64> {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    let cleaned = cleaned.replace(',', ".");
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty() || fraction.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

/// One receipt in the list.
struct Row {
    id: String,
    date: String,
    merchant: String,
    total: String,
}

#[derive(Template)]
#[template(path = "receipts.html")]
struct ReceiptsPage {
    layout: Layout,
    merchant: String,
    inputs: Vec<super::drafts::Input>,
    error: Option<&'static str>,
    rows: Vec<Row>,
    older: Option<String>,
    first_page: bool,
}

impl SearchForm {
    /// The dated and amount fields as inputs, `error` naming the one found wrong.
    fn inputs(&self, t: &crate::web::i18n::Text, error: Option<&str>) -> Vec<super::drafts::Input> {
        [
            ("from", t.from_date, "date", &self.from),
            ("to", t.to_date, "date", &self.to),
            ("min", t.min_amount, "text", &self.min),
            ("max", t.max_amount, "text", &self.max),
        ]
        .into_iter()
        .map(|(name, label, kind, value)| super::drafts::Input {
            name,
            label,
            kind,
            value: value.clone(),
            required: false,
            invalid: error == Some(name),
        })
        .collect()
    }
}

/// `GET /kvitton`.
pub async fn list(
    State(state): State<WebState>,
    person: SignedIn,
    Query(form): Query<SearchForm>,
) -> Response {
    let layout = person.layout(&state, "/kvitton");
    let search = match form.search(&person.caller.person) {
        Ok(search) => search,
        Err(error) => {
            let inputs = form.inputs(person.lang.text(), Some(error.field));
            let page = ReceiptsPage {
                layout,
                merchant: form.merchant.clone(),
                inputs,
                error: Some(error.field),
                rows: Vec::new(),
                older: None,
                first_page: true,
            };
            return render(StatusCode::BAD_REQUEST, &page);
        }
    };
    let before = hex::decode(form.before.trim()).ok().filter(|bytes| !bytes.is_empty()).map(Cursor);
    let first_page = before.is_none();
    let request = ClientRequest::FindReceipts { search, limit: RECEIPTS_PER_PAGE, before };
    let page = match state.ask(&person.caller, request).await {
        Ok(ClientResponse::Receipts(page)) => page,
        Ok(_) => return refused(person.lang, None),
        Err(refusal) => return refused(person.lang, Some(&refusal)),
    };
    let rows = page.items.iter().map(row).collect();
    let older =
        page.next.map(|Cursor(bytes)| format!("/kvitton?{}&before={}", form.query(), hex::encode(bytes)));
    let inputs = form.inputs(person.lang.text(), None);
    let page = ReceiptsPage {
        layout,
        merchant: form.merchant.clone(),
        inputs,
        error: None,
        rows,
        older,
        first_page,
    };
    render(StatusCode::OK, &page)
}

fn row(receipt: &Signed<Receipt>) -> Row {
    let body = receipt.body();
    Row {
        id: receipt.id().to_string(),
        date: i18n::date(&body.issued_at).to_owned(),
        merchant: body.merchant.name.clone(),
        total: i18n::amount_in(body.total, currency_word(&body.currency)),
    }
}

/// A quantity in thousandths as a person reads it, with its unit: `1`, `1,5 kg`.
pub fn quantity(thousandths: i64, unit: Option<&str>) -> String {
    let sign = if thousandths < 0 { "-" } else { "" };
    let magnitude = thousandths.unsigned_abs();
    let fraction = format!("{:03}", magnitude % 1000);
    let fraction = fraction.trim_end_matches('0');
    let number = if fraction.is_empty() {
        format!("{sign}{}", magnitude / 1000)
    } else {
        format!("{sign}{},{fraction}", magnitude / 1000)
    };
    match unit {
        Some(unit) if !unit.is_empty() && unit != "st" => format!("{number} {unit}"),
        _ => number,
    }
}

/// `kr` for kronor, the ISO code for any other currency.
pub fn currency_word(currency: &str) -> &str {
    if currency == "SEK" {
        "kr"
    } else {
        currency
    }
}

/// A line of the receipt as printed.
struct LineView {
    description: String,
    quantity: String,
    unit_price: String,
    amount: String,
}

/// VAT at one rate.
struct VatView {
    rate: String,
    net: String,
    vat: String,
    gross: String,
}

/// A payment as printed.
struct PaymentView {
    method: String,
    amount: String,
    reference: String,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    layout: Layout,
    id: String,
    print: bool,
    receipt: Receipt,
    issued: String,
    lines: Vec<LineView>,
    vat: Vec<VatView>,
    total: String,
    rounding: Option<String>,
    payments: Vec<PaymentView>,
    /// The signer as the directory names it, if the signature verified.
    signed_by: Option<(String, String)>,
}

/// `GET /kvitton/{id}`.
pub async fn show(state: State<WebState>, person: SignedIn, id: Path<String>) -> Response {
    receipt_page(state, person, id, false).await
}

/// `GET /kvitton/{id}/utskrift`: the receipt alone, for printing.
pub async fn print(state: State<WebState>, person: SignedIn, id: Path<String>) -> Response {
    receipt_page(state, person, id, true).await
}

async fn receipt_page(
    State(state): State<WebState>,
    person: SignedIn,
    Path(id): Path<String>,
    print: bool,
) -> Response {
    let Ok(id) = id.parse::<RecordId>() else {
        return crate::web::not_found(person.lang);
    };
    let receipt = match state.ask(&person.caller, ClientRequest::Record(id)).await {
        Ok(ClientResponse::Record(record)) => match *record {
            AnyRecord::Receipt(receipt) => receipt,
            _ => return crate::web::not_found(person.lang),
        },
        Ok(_) => return refused(person.lang, None),
        Err(refusal) => return refused(person.lang, Some(&refusal)),
    };
    let signed_by = signer(&state, &person, &receipt).await;
    let t = person.lang.text();
    let body = receipt.body().clone();
    let unit = currency_word(&body.currency).to_owned();
    let money = |minor: i64| i18n::amount_in(minor, &unit);
    let lines = body
        .lines
        .iter()
        .map(|line| LineView {
            description: line.description.clone(),
            quantity: line.quantity.map(|q| quantity(q, line.unit.as_deref())).unwrap_or_default(),
            unit_price: line.unit_price.map(money).unwrap_or_default(),
            amount: line.amount.map(money).unwrap_or_default(),
        })
        .collect();
    let vat = body
        .vat
        .iter()
        .map(|rate| VatView {
            rate: kvitt_books::format_basis_points(u64::from(rate.rate)),
            net: money(rate.taxable),
            vat: money(rate.vat),
            gross: money(rate.gross),
        })
        .collect();
    let payments = body.payments.iter().map(|payment| payment_view(t, payment, &money)).collect();
    let page = ReceiptPage {
        layout: person.layout(&state, "/kvitton"),
        id: id.to_string(),
        print,
        issued: i18n::date_time(&body.issued_at),
        lines,
        vat,
        total: money(body.total),
        rounding: (body.rounding != 0).then(|| money(body.rounding)),
        payments,
        signed_by,
        receipt: body,
    };
    render(StatusCode::OK, &page)
}

fn payment_view(t: &Text, payment: &Payment, money: &dyn Fn(i64) -> String) -> PaymentView {
    let (method, reference) = match payment {
        Payment::Cash { .. } => (t.cash.to_owned(), String::new()),
        Payment::Card { masked_pan, brand, rrn, terminal, approval_code, .. } => (
            format!("{} {brand} {masked_pan}", t.card),
            format!("{}: RRN {rrn}, terminal {terminal}, {approval_code}", t.card_reference),
        ),
        Payment::Swish { reference, .. } => ("Swish".to_owned(), reference.clone()),
        Payment::GiftCard { reference, .. } => ("Presentkort".to_owned(), reference.clone()),
        Payment::Other { description, .. } => (format!("{}: {description}", t.other_payment), String::new()),
    };
    PaymentView { method, amount: money(payment.amount()), reference }
}

/// Who signed the receipt, as the directory in force names them (name, organisation
/// number), if its signature verifies again here and the signer is the merchant the
/// receipt names.
async fn signer(state: &WebState, person: &SignedIn, receipt: &Signed<Receipt>) -> Option<(String, String)> {
    if AnyRecord::decode(receipt.bytes()).is_err() {
        return None;
    }
    let Ok(ClientResponse::Directory { directory, .. }) =
        state.ask(&person.caller, ClientRequest::Directory).await
    else {
        return None;
    };
    let signer = receipt.signer();
    let member = directory.body().members.iter().find(|member| member.key == signer)?;
    (member.org == receipt.body().merchant.org).then(|| (member.name.clone(), member.org.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_in_thousandths_are_written_with_a_decimal_comma() {
        assert_eq!(quantity(1000, Some("st")), "1");
        assert_eq!(quantity(1500, Some("kg")), "1,5 kg");
        assert_eq!(quantity(2, None), "0,002");
        assert_eq!(quantity(-1000, Some("natt")), "-1 natt");
    }

    #[test]
    fn kronor_are_read_as_people_type_them() {
        assert_eq!(parse_kronor("1624"), Some(162_400));
        assert_eq!(parse_kronor("1 624,5"), Some(162_450));
        assert_eq!(parse_kronor("1\u{a0}624,05"), Some(162_405));
        assert_eq!(parse_kronor("0.99"), Some(99));
        for bad in ["", ",5", "1,234", "-5", "1e3", "12,3x", "99999999999999999999"] {
            assert_eq!(parse_kronor(bad), None, "{bad}");
        }
    }
}
