//! "Mina räkningar": `GET /rakningar` (paged), `GET /rakningar/{id}` one claim with its
//! items and status timeline (every signed event: who, when, why), and the buttons of the
//! actions the core lists for the person (crate::core::ClaimAction); `POST
//! /rakningar/{id}/aterkalla` withdraws.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kvitt_protocol::event::{Action, Status};
use kvitt_protocol::RecordId;
use serde::Deserialize;

use super::drafts::finding_views;
use super::refused;
use crate::core::{ClaimAction, ClientRequest, ClientResponse, Cursor};
use crate::web::i18n::{self, Text};
use crate::web::{render, Layout, SignedIn, WebState};

/// Claims on one page of "Mina räkningar".
pub const CLAIMS_PER_PAGE: usize = 25;

/// A status in the page's language.
pub fn status_text(t: &Text, status: Status) -> &'static str {
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

/// What an event did, in the page's language.
fn action_text(t: &Text, action: &Action) -> &'static str {
    match action {
        Action::Submitted => t.status_submitted,
        Action::Reviewed { .. } => t.event_what,
        Action::Approved => t.status_approved,
        Action::Rejected { .. } => t.status_rejected,
        Action::Withdrawn => t.status_withdrawn,
        Action::Booked { .. } => t.status_booked,
        Action::Paid { .. } => t.status_paid,
        Action::Reversed { .. } => t.status_reversed,
    }
}

/// Why, or what else the event records.
fn action_detail(action: &Action) -> String {
    match action {
        Action::Rejected { reason } | Action::Reversed { reason, .. } => reason.clone(),
        Action::Reviewed { note } => note.clone().unwrap_or_default(),
        Action::Booked { series, number } => format!("{series} {number}"),
        Action::Paid { date, reference } => format!("{date} {}", reference.as_deref().unwrap_or_default()),
        Action::Submitted | Action::Approved | Action::Withdrawn => String::new(),
    }
}

struct ClaimRow {
    id: String,
    number: String,
    status: &'static str,
    total: String,
}

#[derive(Template)]
#[template(path = "claims.html")]
struct ClaimsPage {
    layout: Layout,
    rows: Vec<ClaimRow>,
    next: Option<String>,
}

/// The page position of the list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    after: String,
}

/// `GET /rakningar`.
pub async fn list(
    State(state): State<WebState>,
    person: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let after = hex::decode(query.after.trim()).ok().filter(|bytes| !bytes.is_empty()).map(Cursor);
    let page =
        match state.ask(&person.caller, ClientRequest::ListClaims { limit: CLAIMS_PER_PAGE, after }).await {
            Ok(ClientResponse::Claims(page)) => page,
            Ok(_) => return refused(person.lang, None),
            Err(refusal) => return refused(person.lang, Some(&refusal)),
        };
    let t = person.lang.text();
    let rows = page
        .items
        .iter()
        .map(|claim| ClaimRow {
            id: claim.id.to_string(),
            number: claim.number.clone(),
            status: status_text(t, claim.status),
            total: i18n::amount(claim.total),
        })
        .collect();
    let next = page.next.map(|Cursor(bytes)| format!("/rakningar?after={}", hex::encode(bytes)));
    render(StatusCode::OK, &ClaimsPage { layout: person.layout(&state, "/rakningar"), rows, next })
}

struct EventRow {
    who: String,
    when: String,
    what: &'static str,
    why: String,
}

struct ItemRow {
    kind: &'static str,
    what: String,
    amount: String,
    receipt: Option<String>,
}

#[derive(Template)]
#[template(path = "claim.html")]
struct ClaimPage {
    layout: Layout,
    id: String,
    number: String,
    purpose: String,
    claimant: String,
    status: &'static str,
    total: String,
    items: Vec<ItemRow>,
    events: Vec<EventRow>,
    findings: Vec<super::drafts::FindingView>,
    exception: Option<String>,
    withdraw: bool,
}

/// `GET /rakningar/{id}`: a claim the person may not see is answered `404`, as one that
/// does not exist.
pub async fn show(State(state): State<WebState>, person: SignedIn, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<RecordId>() else {
        return crate::web::not_found(person.lang);
    };
    let view = match state.ask(&person.caller, ClientRequest::ShowClaim { claim: id }).await {
        Ok(ClientResponse::Claim(view)) => view,
        Ok(_) => return refused(person.lang, None),
        Err(refusal) => return refused(person.lang, Some(&refusal)),
    };
    let t = person.lang.text();
    let claim = view.claim.body();
    let items = claim
        .items
        .iter()
        .map(|item| {
            use kvitt_protocol::claim::ClaimItem;
            let (kind, what, receipt) = match item {
                ClaimItem::Receipt { receipt, business_purpose, .. } => {
                    (t.kind_receipt, business_purpose.clone(), Some(receipt.to_string()))
                }
                ClaimItem::Mileage { date, route, km, .. } => {
                    (t.kind_mileage, format!("{date} {route}, {km} km"), None)
                }
                ClaimItem::PerDiem { start, end, destination, .. } => {
                    (t.kind_per_diem, format!("{start} – {end} {destination}"), None)
                }
            };
            ItemRow { kind, what, amount: i18n::amount(item.amount()), receipt }
        })
        .collect();
    let events = view
        .events
        .iter()
        .map(|event| {
            let body = event.body();
            EventRow {
                who: body.actor.person.clone(),
                when: i18n::date_time(&body.at),
                what: action_text(t, &body.action),
                why: action_detail(&body.action),
            }
        })
        .collect();
    let page = ClaimPage {
        layout: person.layout(&state, "/rakningar"),
        id: id.to_string(),
        number: claim.number.clone(),
        purpose: claim.purpose.clone(),
        claimant: claim.claimant.clone(),
        status: status_text(t, view.status),
        total: i18n::amount(claim.total()),
        items,
        events,
        findings: finding_views(&view.findings),
        exception: view.exception.clone(),
        withdraw: view.actions.contains(&ClaimAction::Withdraw),
    };
    render(StatusCode::OK, &page)
}

/// `POST /rakningar/{id}/aterkalla`: the core decides whether the person may.
pub async fn withdraw(State(state): State<WebState>, person: SignedIn, Path(id): Path<String>) -> Response {
    let Ok(claim) = id.parse::<RecordId>() else {
        return crate::web::not_found(person.lang);
    };
    match state.ask(&person.caller, ClientRequest::Decide { claim, action: Action::Withdrawn }).await {
        Ok(_) => Redirect::to(&format!("/rakningar/{claim}")).into_response(),
        Err(refusal) => refused(person.lang, Some(&refusal)),
    }
}
