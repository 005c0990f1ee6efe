//! The merchant admin's page (the operator of a merchant node): the latest receipts of
//! each register with their delivery state — queued, delivered, or refused with the
//! peer's code — as the core reads them ([`crate::core::ClientRequest::Pushes`]).
//!
//! Route: `GET /kassor`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::roles::{unless_role, PAGE_ENTRIES};
use crate::core::{CallerRole, ClientRequest, ClientResponse, Delivery};
use crate::web::i18n::{amount_in, date_time};
use crate::web::i18n_roles::{role_text, RoleText};
use crate::web::{render, Layout, SignedIn, WebState};

/// The path of the tills' page.
pub const TILLS_PATH: &str = "/kassor";

/// A receipt as the page shows it.
struct PushRow {
    id: String,
    serial: u64,
    issued: String,
    buyer: String,
    total: String,
    delivery: String,
    refused: bool,
}

/// The tills' page.
#[derive(Template)]
#[template(path = "merchant_tills.html")]
struct TillsPage {
    layout: Layout,
    r: &'static RoleText,
    registers: Vec<(String, Vec<PushRow>)>,
}

/// `GET /kassor`: the operator of a merchant node; on other nodes the core refuses (`403`).
pub async fn tills(State(state): State<WebState>, person: SignedIn) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::Operator) {
        return refusal;
    }
    let registers = match state.ask(&person.caller, ClientRequest::Pushes { limit: PAGE_ENTRIES }).await {
        Ok(ClientResponse::Pushes(registers)) => registers,
        Ok(_) => return super::refused(person.lang, None),
        Err(refusal) => return super::refused(person.lang, Some(&refusal)),
    };
    let r = role_text(person.lang);
    let registers = registers
        .into_iter()
        .map(|register| {
            let rows = register
                .pushes
                .into_iter()
                .map(|push| {
                    let (delivery, refused) = match push.delivery {
                        Delivery::Queued => (r.queued.to_owned(), false),
                        Delivery::Delivered => (r.delivered.to_owned(), false),
                        Delivery::Refused(why) => (format!("{}: {why}", r.refused_by_peer), true),
                    };
                    PushRow {
                        id: push.id.to_string(),
                        serial: push.serial,
                        issued: date_time(&push.issued_at),
                        buyer: push.buyer.unwrap_or_else(|| "—".to_owned()),
                        total: amount_in(push.total, &push.currency),
                        delivery,
                        refused,
                    }
                })
                .collect();
            (register.register, rows)
        })
        .collect();
    render(StatusCode::OK, &TillsPage { layout: person.layout(&state, TILLS_PATH), r, registers })
}
