//! "Hämta kvitto": an employee enters the code printed on a receipt (a cash sale, or a
//! card no agency enrolled); the node collects the receipt from the merchant the code
//! names (spec/codes.md), and the employee is sent to the receipt's page. A refused code is
//! shown beside the field, in the page's language, with the code kept for correcting.
//!
//! Routes: `GET /hamta` the form, `POST /hamta` (fields `csrf`, `code`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kvitt_protocol::code::MAX_CODE_TEXT_BYTES;
use serde::Deserialize;

use super::roles::unless_role;
use crate::core::{CallerRole, ClientRequest, ClientResponse};
use crate::web::i18n::Text;
use crate::web::{render, Layout, SignedIn, WebState};

/// The path of the page.
pub const FETCH_PATH: &str = "/hamta";

/// The page: the form, and what was wrong with the code last sent.
#[derive(Template)]
#[template(path = "fetch.html")]
struct FetchPage {
    layout: Layout,
    code: String,
    error: Option<&'static str>,
}

/// The form's field (`csrf` is checked before the handler runs).
#[derive(Deserialize)]
pub struct FetchForm {
    #[serde(default)]
    code: String,
}

/// `GET /hamta`: employees only (others `403`, as the core would answer them).
pub async fn form(State(state): State<WebState>, person: SignedIn) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::Employee) {
        return refusal;
    }
    let page = FetchPage { layout: person.layout(&state, FETCH_PATH), code: String::new(), error: None };
    render(StatusCode::OK, &page)
}

/// `POST /hamta`: collects the receipt, then its page (`303`); a refused code is shown on
/// the form with the status the API gives it.
pub async fn fetch(State(state): State<WebState>, person: SignedIn, Form(form): Form<FetchForm>) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::Employee) {
        return refusal;
    }
    // The core bounds the code's length too; a longer text is not even echoed back.
    let code: String = form.code.chars().take(MAX_CODE_TEXT_BYTES).collect();
    let refusal = match state.ask(&person.caller, ClientRequest::FetchReceipt { code: code.clone() }).await {
        Ok(ClientResponse::Fetched { id, .. }) => {
            return Redirect::to(&format!("/kvitton/{id}")).into_response();
        }
        Ok(_) => return super::refused(person.lang, None),
        Err(refusal) => refusal,
    };
    let t = person.lang.text();
    let Some(error) = explained(t, refusal.code.as_str()) else {
        return super::refused(person.lang, Some(&refusal));
    };
    let page = FetchPage { layout: person.layout(&state, FETCH_PATH), code, error: Some(error) };
    render(crate::api::status_of(refusal.code), &page)
}

/// The words for a refusal the person can act on by correcting or waiting.
fn explained(t: &'static Text, code: &str) -> Option<&'static str> {
    Some(match code {
        "code.format" => t.code_format,
        "code.check" => t.code_check,
        "code.unknown" => t.code_unknown,
        "code.collected" => t.code_collected,
        "request.rate_limited" => t.code_rate_limited,
        _ => return None,
    })
}
