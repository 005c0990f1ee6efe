//! Building a claim: a draft from the receipts ticked on "Mina kvitton" (purpose, cost
//! centre, each receipt's account suggested from its category by the booking table),
//! mileage and per diem ([`super::per_diem`]) items by form, the policy's findings as they
//! apply, and submission; and the list of the person's open drafts.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kvitt_books::{BookingTable, ItemKind};
use kvitt_protocol::claim::{Booking, ClaimItem, Vehicle};
use kvitt_protocol::wire::RefusalCode;
use kvitt_protocol::{AnyRecord, RecordId};

use super::per_diem::PerDiemForm;
use super::refused;
use crate::core::{ClientRequest, ClientResponse, Draft};
use crate::policy::{Finding, Severity};
use crate::web::i18n::{self, Text};
use crate::web::{render, Layout, SignedIn, WebState};

/// The tax-free mileage rate for one's own car, in öre per kilometre (Skatteverket: 25 kr
/// per mil in 2025 and 2026), which a mileage item of the form claims.
pub const OWN_CAR_RATE_PER_KM: i64 = 250;
/// Most kilometres one mileage item of the form claims.
pub const MAX_MILEAGE_KM: u32 = 10_000;

/// A form's fields in order (a field may repeat: the ticked receipts).
type Fields = Form<Vec<(String, String)>>;

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.trim())
}

/// `POST /utkast`: a draft with the ticked receipts (fields `receipt`), `purpose` and
/// `cost_center`; then its page.
pub async fn create(State(state): State<WebState>, person: SignedIn, Form(fields): Fields) -> Response {
    let (purpose, cost_center) = (field(&fields, "purpose"), field(&fields, "cost_center"));
    let receipts: Vec<RecordId> =
        fields.iter().filter(|(key, _)| key == "receipt").filter_map(|(_, id)| id.parse().ok()).collect();
    if purpose.is_empty() || cost_center.is_empty() {
        let t = person.lang.text();
        return crate::web::error_page(
            person.lang,
            StatusCode::BAD_REQUEST,
            t.refused,
            &format!("{}: {} / {}: {}", t.purpose, t.field_required, t.cost_center, t.field_required),
        );
    }
    let number =
        match state.ask(&person.caller, ClientRequest::NewClaim { purpose: purpose.to_owned() }).await {
            Ok(ClientResponse::Draft { draft, .. }) => draft.number,
            Ok(_) => return refused(person.lang, None),
            Err(refusal) => return refused(person.lang, Some(&refusal)),
        };
    for receipt in receipts {
        let item = match receipt_item(&state, &person, receipt, purpose, cost_center).await {
            Ok(item) => item,
            Err(response) => return response,
        };
        let request = ClientRequest::AddItem { number: number.clone(), item: Box::new(item) };
        if let Err(refusal) = state.ask(&person.caller, request).await {
            return refused(person.lang, Some(&refusal));
        }
    }
    Redirect::to(&format!("/utkast/{number}")).into_response()
}

/// The item of a receipt: its whole total in kronor, booked to the account its category
/// suggests (5800 travel when none does).
async fn receipt_item(
    state: &WebState,
    person: &SignedIn,
    id: RecordId,
    purpose: &str,
    cost_center: &str,
) -> Result<ClaimItem, Response> {
    let receipt = match state.ask(&person.caller, ClientRequest::Record(id)).await {
        Ok(ClientResponse::Record(record)) => match *record {
            AnyRecord::Receipt(receipt) => receipt,
            _ => return Err(crate::web::not_found(person.lang)),
        },
        Ok(_) => return Err(refused(person.lang, None)),
        Err(refusal) => return Err(refused(person.lang, Some(&refusal))),
    };
    let body = receipt.body();
    if body.currency != "SEK" {
        let t = person.lang.text();
        let why = format!("{} {}: {}", t.receipt_title, body.currency, "kvitt claim add --foreign");
        return Err(crate::web::error_page(person.lang, StatusCode::UNPROCESSABLE_ENTITY, t.refused, &why));
    }
    let account = BookingTable::default_table()
        .ok()
        .and_then(|table| table.suggested_account_for(body))
        .unwrap_or(5800);
    Ok(ClaimItem::Receipt {
        receipt: id,
        business_purpose: purpose.to_owned(),
        amount: body.total,
        booking: Booking { account, cost_center: cost_center.to_owned(), project: None },
        foreign: None,
        participants: Vec::new(),
    })
}

/// An item of a draft as the page shows it.
struct ItemView {
    kind: &'static str,
    what: String,
    account: u16,
    cost_center: String,
    amount: String,
}

/// A finding of the policy, by name.
pub struct FindingView {
    /// The rule's name (`policy.max`).
    pub rule: &'static str,
    /// Whether it blocks.
    pub error: bool,
    /// What it says.
    pub message: String,
    /// The item it concerns (`items[0]`), or empty.
    pub item: String,
}

/// The mileage form as filled in, and which field was wrong.
#[derive(Default)]
struct MileageForm {
    date: String,
    km: String,
    from: String,
    to: String,
    purpose: String,
    cost_center: String,
    error: Option<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "draft.html")]
struct DraftPage {
    layout: Layout,
    number: String,
    purpose: String,
    items: Vec<ItemView>,
    total: String,
    findings: Vec<FindingView>,
    blocked: bool,
    forms: Vec<ItemFormView>,
}

/// One of the draft page's forms that add an item: where it posts, its words, its
/// inputs, and what was wrong when it was last posted.
struct ItemFormView {
    /// The form's id, which prefixes its inputs' ids (`mileage`, `per-diem`).
    id: &'static str,
    /// The path it posts to, after the draft's.
    action: &'static str,
    legend: &'static str,
    help: Option<&'static str>,
    error: Option<String>,
    inputs: Vec<Input>,
}

/// The item forms of the draft page as posted (each empty unless it was just posted).
#[derive(Default)]
struct ItemForms {
    mileage: MileageForm,
    per_diem: PerDiemForm,
}

impl ItemForms {
    fn views(&self, t: &Text) -> Vec<ItemFormView> {
        vec![
            ItemFormView {
                id: "mileage",
                action: "milersattning",
                legend: t.add_mileage,
                help: None,
                error: self.mileage.error.as_ref().map(|(_, message)| message.clone()),
                inputs: self.mileage.inputs(t),
            },
            ItemFormView {
                id: "per-diem",
                action: "traktamente",
                legend: t.add_per_diem,
                help: Some(t.per_diem_help),
                error: self.per_diem.error.as_ref().map(|(_, message)| message.clone()),
                inputs: self.per_diem.inputs(t),
            },
        ]
    }
}

/// One input of a form: its name, label, type, value, and whether it was found wrong.
pub struct Input {
    /// The field's name (and, prefixed, its id).
    pub name: &'static str,
    /// Its label.
    pub label: &'static str,
    /// The input type (`text`, `date`, `number`).
    pub kind: &'static str,
    /// As filled in.
    pub value: String,
    /// Whether it must be filled in (`required`, and marked so in its label).
    pub required: bool,
    /// Whether the error message is about it.
    pub invalid: bool,
}

impl MileageForm {
    fn inputs(&self, t: &Text) -> Vec<Input> {
        let invalid = |name: &str| self.error.as_ref().is_some_and(|(field, _)| *field == name);
        [
            ("date", t.trip_date, "date", &self.date),
            ("km", t.km, "number", &self.km),
            ("from", t.route_from, "text", &self.from),
            ("to", t.route_to, "text", &self.to),
            ("purpose", t.purpose, "text", &self.purpose),
            ("cost_center", t.cost_center, "text", &self.cost_center),
        ]
        .into_iter()
        .map(|(name, label, kind, value)| Input {
            name,
            label,
            kind,
            value: value.clone(),
            required: true,
            invalid: invalid(name),
        })
        .collect()
    }
}

fn item_view(t: &Text, item: &ClaimItem) -> ItemView {
    let (kind, what, booking) = match item {
        ClaimItem::Receipt { receipt, business_purpose, booking, .. } => {
            (t.kind_receipt, format!("{business_purpose} ({})", receipt.short()), booking)
        }
        ClaimItem::Mileage { date, route, km, booking, .. } => {
            (t.kind_mileage, format!("{date} {route}, {km} km"), booking)
        }
        ClaimItem::PerDiem { start, end, destination, days, daily_amount, booking, .. } => {
            let what = format!("{start} – {end} {destination}, {days} × {}", i18n::amount(*daily_amount));
            (t.kind_per_diem, what, booking)
        }
    };
    ItemView {
        kind,
        what,
        account: booking.account,
        cost_center: booking.cost_center.clone(),
        amount: i18n::amount(item.amount()),
    }
}

/// The findings of the policy as the page names them.
pub fn finding_views(findings: &[Finding]) -> Vec<FindingView> {
    findings
        .iter()
        .map(|finding| FindingView {
            rule: finding.rule.as_str(),
            error: finding.severity == Severity::Error,
            message: finding.message.clone(),
            item: finding.item.clone().unwrap_or_default(),
        })
        .collect()
}

async fn draft_page(
    state: &WebState,
    person: &SignedIn,
    number: &str,
    forms: ItemForms,
    status: StatusCode,
) -> Response {
    let request = ClientRequest::ShowDraft { number: number.to_owned() };
    let (draft, findings): (Box<Draft>, Vec<Finding>) = match state.ask(&person.caller, request).await {
        Ok(ClientResponse::Draft { draft, findings }) => (draft, findings),
        Ok(_) => return refused(person.lang, None),
        Err(refusal) => return refused(person.lang, Some(&refusal)),
    };
    let t = person.lang.text();
    let total = draft.items.iter().map(ClaimItem::amount).fold(0i64, i64::saturating_add);
    let page = DraftPage {
        layout: person.layout(state, super::draft_list::DRAFTS_PATH),
        number: draft.number.clone(),
        purpose: draft.purpose.clone(),
        items: draft.items.iter().map(|item| item_view(t, item)).collect(),
        total: i18n::amount(total),
        blocked: findings.iter().any(Finding::is_error),
        findings: finding_views(&findings),
        forms: forms.views(t),
    };
    render(status, &page)
}

/// `GET /utkast/{number}`.
pub async fn show(State(state): State<WebState>, person: SignedIn, Path(number): Path<String>) -> Response {
    draft_page(&state, &person, &number, ItemForms::default(), StatusCode::OK).await
}

/// `POST /utkast/{number}/milersattning`: a mileage item in one's own car at
/// [`OWN_CAR_RATE_PER_KM`], booked to the booking table's mileage account; a field that
/// is wrong is named beside it and nothing is added.
pub async fn add_mileage(
    State(state): State<WebState>,
    person: SignedIn,
    Path(number): Path<String>,
    Form(fields): Fields,
) -> Response {
    let t = person.lang.text();
    let mut form = MileageForm {
        date: field(&fields, "date").to_owned(),
        km: field(&fields, "km").to_owned(),
        from: field(&fields, "from").to_owned(),
        to: field(&fields, "to").to_owned(),
        purpose: field(&fields, "purpose").to_owned(),
        cost_center: field(&fields, "cost_center").to_owned(),
        error: None,
    };
    let km = form.km.parse::<u32>().ok().filter(|km| (1..=MAX_MILEAGE_KM).contains(km));
    let error = if kvitt_protocol::fields::parse_date("date", &form.date).is_err() {
        Some(("date", t.field_invalid))
    } else if km.is_none() {
        Some(("km", t.field_invalid))
    } else if form.from.is_empty() {
        Some(("from", t.field_required))
    } else if form.to.is_empty() {
        Some(("to", t.field_required))
    } else if form.purpose.is_empty() {
        Some(("purpose", t.field_required))
    } else if form.cost_center.is_empty() {
        Some(("cost_center", t.field_required))
    } else {
        None
    };
    if let Some((name, message)) = error {
        form.error = Some((name, message.to_owned()));
        let forms = ItemForms { mileage: form, ..ItemForms::default() };
        return draft_page(&state, &person, &number, forms, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let km = km.unwrap_or_default();
    let account = BookingTable::default_table()
        .ok()
        .and_then(|table| table.account_for_kind(ItemKind::Mileage, false))
        .unwrap_or(7331);
    let item = ClaimItem::Mileage {
        date: form.date.clone(),
        route: format!("{} – {}", form.from, form.to),
        business_purpose: form.purpose.clone(),
        km,
        vehicle: Vehicle::OwnCar,
        rate_per_km: OWN_CAR_RATE_PER_KM,
        amount: i64::from(km) * OWN_CAR_RATE_PER_KM,
        booking: Booking { account, cost_center: form.cost_center.clone(), project: None },
    };
    match state
        .ask(&person.caller, ClientRequest::AddItem { number: number.clone(), item: Box::new(item) })
        .await
    {
        Ok(_) => Redirect::to(&format!("/utkast/{number}")).into_response(),
        Err(refusal) if refusal.code == RefusalCode::NotFound => refused(person.lang, Some(&refusal)),
        Err(refusal) => {
            form.error = Some(("km", format!("{}: {}", refusal.code, refusal.message)));
            let forms = ItemForms { mileage: form, ..ItemForms::default() };
            draft_page(&state, &person, &number, forms, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /utkast/{number}/traktamente`: the per diem of a trip in Sweden
/// ([`super::per_diem`]), its whole and half days added together or not at all; a field
/// that is wrong is named beside it and nothing is added.
pub async fn add_per_diem(
    State(state): State<WebState>,
    person: SignedIn,
    Path(number): Path<String>,
    Form(fields): Fields,
) -> Response {
    let t = person.lang.text();
    let mut form = PerDiemForm::posted(|name| field(&fields, name).to_owned());
    let items = match form.items(t) {
        Ok(items) => items,
        Err(error) => {
            form.error = Some(error);
            let forms = ItemForms { per_diem: form, ..ItemForms::default() };
            return draft_page(&state, &person, &number, forms, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match state.ask(&person.caller, ClientRequest::AddItems { number: number.clone(), items }).await {
        Ok(_) => Redirect::to(&format!("/utkast/{number}")).into_response(),
        Err(refusal) if refusal.code == RefusalCode::NotFound => refused(person.lang, Some(&refusal)),
        Err(refusal) => {
            form.error = Some(("depart_date", format!("{}: {}", refusal.code, refusal.message)));
            let forms = ItemForms { per_diem: form, ..ItemForms::default() };
            draft_page(&state, &person, &number, forms, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /utkast/{number}/skicka`: signs and submits the claim; then its page.
pub async fn submit(State(state): State<WebState>, person: SignedIn, Path(number): Path<String>) -> Response {
    match state.ask(&person.caller, ClientRequest::Submit { number }).await {
        Ok(ClientResponse::Submitted { claim }) => {
            Redirect::to(&format!("/rakningar/{claim}")).into_response()
        }
        Ok(_) => refused(person.lang, None),
        Err(refusal) => refused(person.lang, Some(&refusal)),
    }
}
