//! The approver's queue "Att attestera" and the decision page of a claim, which SSC staff
//! use too: the claim's items beside its receipts, its events, and a form for each action
//! the core lists for the signed-in person ([`crate::core::ClaimView::actions`]), so a page
//! never offers what the core would refuse (self-approval among it).
//!
//! Routes: `GET /attestera[?after=]`; `GET /beslut/{id}`; `POST /beslut/{id}` with
//! `action` (approve, reject, book, pay, reverse) and `reason` (reject, reverse).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kvitt_protocol::claim::ClaimItem;
use kvitt_protocol::event::{Action, Status};
use kvitt_protocol::{AnyRecord, RecordId};
use serde::Deserialize;

use super::roles::{cursor, next_after, record_id, unless_role, PAGE_ENTRIES};
use crate::core::{CallerRole, ClaimAction, ClaimSummary, ClaimView, ClientRequest, ClientResponse};
use crate::web::i18n::{amount, date, date_time, Text};
use crate::web::i18n_roles::{role_text, RoleText};
use crate::web::{render, Layout, SignedIn, WebState};

/// The path of the approver's queue.
pub const QUEUE_PATH: &str = "/attestera";

/// A list page's query: where it starts.
#[derive(Deserialize)]
pub struct After {
    /// The `after` of the page before (hex).
    pub after: Option<String>,
}

/// The approver's queue.
#[derive(Template)]
#[template(path = "approver_queue.html")]
struct QueuePage {
    layout: Layout,
    r: &'static RoleText,
    claims: Vec<ClaimSummary>,
    next: Option<String>,
    paged: bool,
}

/// `GET /attestera`: submitted claims of others, a page of the claim list at a time.
pub async fn queue(State(state): State<WebState>, person: SignedIn, Query(page): Query<After>) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::Approver) {
        return refusal;
    }
    let request = ClientRequest::ListClaims { limit: PAGE_ENTRIES, after: cursor(page.after.as_deref()) };
    let listed = match state.ask(&person.caller, request).await {
        Ok(ClientResponse::Claims(listed)) => listed,
        Ok(_) => return super::refused(person.lang, None),
        Err(refusal) => return super::refused(person.lang, Some(&refusal)),
    };
    let claims = listed
        .items
        .into_iter()
        .filter(|claim| claim.status == Status::Submitted && claim.claimant != person.caller.person)
        .collect();
    let page = QueuePage {
        layout: person.layout(&state, QUEUE_PATH),
        r: role_text(person.lang),
        claims,
        next: next_after(listed.next.as_ref()),
        paged: page.after.is_some(),
    };
    render(StatusCode::OK, &page)
}

/// One item of a claim as the decision page shows it.
struct ItemRow {
    kind: &'static str,
    what: String,
    booking: String,
    amount: String,
}

/// A receipt of a claim, beside its items.
struct ReceiptBox {
    id: String,
    merchant: Option<(String, String)>,
    issued_at: String,
    total: String,
}

/// One event of the claim's timeline.
struct EventRow {
    who: String,
    when: String,
    what: &'static str,
    why: String,
}

/// The decision page of a claim.
#[derive(Template)]
#[template(path = "approver_claim.html")]
struct ClaimPage {
    layout: Layout,
    r: &'static RoleText,
    id: String,
    number: String,
    claimant: String,
    purpose: String,
    status: &'static str,
    total: String,
    exception: Option<String>,
    items: Vec<ItemRow>,
    receipts: Vec<ReceiptBox>,
    events: Vec<EventRow>,
    actions: Vec<ClaimAction>,
    problem: Option<&'static str>,
}

impl ClaimPage {
    fn offers(&self, action: ClaimAction) -> bool {
        self.actions.contains(&action)
    }
}

/// A status's name in the page's language.
pub fn status_name(t: &'static Text, status: Status) -> &'static str {
    match status {
        Status::Draft => t.status_draft,
        Status::Submitted => t.status_submitted,
        Status::Approved => t.status_approved,
        Status::Rejected => t.status_rejected,
        Status::Withdrawn => t.status_withdrawn,
        Status::Booked => t.status_booked,
        Status::Paid => t.status_paid,
        Status::Reversed => t.status_reversed,
    }
}

/// The menu entry a decider's claim page belongs to.
fn home_of(role: CallerRole) -> &'static str {
    match role {
        CallerRole::SscStaff => super::ssc::CLAIMS_PATH,
        _ => QUEUE_PATH,
    }
}

/// `GET /beslut/{id}`.
pub async fn claim(State(state): State<WebState>, person: SignedIn, Path(id): Path<String>) -> Response {
    let Some(id) = record_id(&id) else {
        return crate::web::not_found(person.lang);
    };
    claim_page(&state, &person, id, StatusCode::OK, None).await
}

/// The decision page of claim `id` for `person`, with `status` and a problem to show.
async fn claim_page(
    state: &WebState,
    person: &SignedIn,
    id: RecordId,
    status: StatusCode,
    problem: Option<&'static str>,
) -> Response {
    if !matches!(person.caller.role, CallerRole::Approver | CallerRole::SscStaff) {
        return crate::web::forbidden(person.lang);
    }
    let view = match state.ask(&person.caller, ClientRequest::ShowClaim { claim: id }).await {
        Ok(ClientResponse::Claim(view)) => view,
        Ok(_) => return super::refused(person.lang, None),
        Err(refusal) => return super::refused(person.lang, Some(&refusal)),
    };
    let mut receipts = Vec::new();
    for item in &view.claim.body().items {
        if let ClaimItem::Receipt { receipt, .. } = item {
            receipts.push(receipt_box(state, person, *receipt).await);
        }
    }
    let page = decision_page(state, person, &view, receipts, problem);
    render(status, &page)
}

async fn receipt_box(state: &WebState, person: &SignedIn, id: RecordId) -> ReceiptBox {
    let held = state.ask(&person.caller, ClientRequest::Record(id)).await;
    match held {
        Ok(ClientResponse::Record(record)) => match *record {
            AnyRecord::Receipt(receipt) => {
                let body = receipt.body();
                ReceiptBox {
                    id: id.to_string(),
                    merchant: Some((body.merchant.name.clone(), body.merchant.org.clone())),
                    issued_at: date_time(&body.issued_at),
                    total: crate::web::i18n::amount_in(body.total, &body.currency),
                }
            }
            _ => missing_receipt(id),
        },
        _ => missing_receipt(id),
    }
}

fn missing_receipt(id: RecordId) -> ReceiptBox {
    ReceiptBox { id: id.to_string(), merchant: None, issued_at: String::new(), total: String::new() }
}

fn decision_page(
    state: &WebState,
    person: &SignedIn,
    view: &ClaimView,
    receipts: Vec<ReceiptBox>,
    problem: Option<&'static str>,
) -> ClaimPage {
    let t = person.lang.text();
    let claim = view.claim.body();
    let items = claim.items.iter().map(|item| item_row(t, item)).collect();
    let events = view
        .events
        .iter()
        .map(|event| {
            let body = event.body();
            EventRow {
                who: body.actor.person.clone(),
                when: date_time(&body.at),
                what: action_name(t, &body.action),
                why: action_why(&body.action),
            }
        })
        .collect();
    ClaimPage {
        layout: person.layout(state, home_of(person.caller.role)),
        r: role_text(person.lang),
        id: view.claim.id().to_string(),
        number: claim.number.clone(),
        claimant: claim.claimant.clone(),
        purpose: claim.purpose.clone(),
        status: status_name(t, view.status),
        total: amount(claim.items.iter().map(ClaimItem::amount).sum()),
        exception: view.exception.clone(),
        items,
        receipts,
        events,
        actions: view.actions.clone(),
        problem,
    }
}

fn item_row(t: &'static Text, item: &ClaimItem) -> ItemRow {
    let (kind, what) = match item {
        ClaimItem::Receipt { business_purpose, .. } => (t.kind_receipt, business_purpose.clone()),
        ClaimItem::Mileage { date: day, route, km, .. } => {
            (t.kind_mileage, format!("{} {route}, {km} km", date(day)))
        }
        ClaimItem::PerDiem { start, end, destination, days, .. } => {
            (t.kind_per_diem, format!("{} – {} {destination}, {days} d", date(start), date(end)))
        }
    };
    let booking = item.booking();
    ItemRow {
        kind,
        what,
        booking: format!("{} / {}", booking.account, booking.cost_center),
        amount: amount(item.amount()),
    }
}

fn action_name(t: &'static Text, action: &Action) -> &'static str {
    match action {
        Action::Submitted => t.status_submitted,
        Action::Approved => t.status_approved,
        Action::Rejected { .. } => t.status_rejected,
        Action::Withdrawn => t.status_withdrawn,
        Action::Booked { .. } => t.status_booked,
        Action::Paid { .. } => t.status_paid,
        Action::Reversed { .. } => t.status_reversed,
        other => other.name(),
    }
}

fn action_why(action: &Action) -> String {
    match action {
        Action::Rejected { reason } | Action::Reversed { reason, .. } => reason.clone(),
        _ => String::new(),
    }
}

/// The form of a decision.
#[derive(Deserialize)]
pub struct DecisionForm {
    /// approve, reject, book, pay or reverse.
    action: String,
    /// Why (reject, reverse).
    #[serde(default)]
    reason: String,
}

/// `POST /beslut/{id}` (its CSRF token checked before): asks the core for the decision
/// as the person; the core refuses what they may not do. Done: back to the claim (`303`).
pub async fn decide(
    State(state): State<WebState>,
    person: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let lang = person.lang;
    let Some(claim) = record_id(&id) else {
        return crate::web::not_found(lang);
    };
    let reason = form.reason.trim().to_owned();
    let needs_reason = matches!(form.action.as_str(), "reject" | "reverse");
    if needs_reason && reason.is_empty() {
        return claim_page(
            &state,
            &person,
            claim,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(lang.text().field_required),
        )
        .await;
    }
    let request = match form.action.as_str() {
        "approve" => ClientRequest::Decide { claim, action: Action::Approved },
        "reject" => ClientRequest::Decide { claim, action: Action::Rejected { reason } },
        "book" => ClientRequest::Book { claim },
        "pay" => ClientRequest::Pay { claim },
        "reverse" => ClientRequest::Reverse { claim, reason },
        _ => {
            return claim_page(
                &state,
                &person,
                claim,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(lang.text().field_invalid),
            )
            .await
        }
    };
    match state.ask(&person.caller, request).await {
        Ok(_) => Redirect::to(&format!("/beslut/{claim}")).into_response(),
        Err(refusal) => super::refused(lang, Some(&refusal)),
    }
}
