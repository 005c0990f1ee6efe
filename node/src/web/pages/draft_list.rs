//! `GET /utkast`: the person's open drafts (claims started, not submitted), newest first,
//! a page at a time, each opening in the claim builder.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use kvitt_protocol::claim::ClaimItem;
use serde::Deserialize;

use super::refused;
use super::roles::{cursor, next_after, PAGE_ENTRIES};
use crate::core::{ClientRequest, ClientResponse};
use crate::web::i18n;
use crate::web::{render, Layout, SignedIn, WebState};

/// The path of the list.
pub const DRAFTS_PATH: &str = "/utkast";

/// One open draft as the list shows it.
struct DraftRow {
    number: String,
    purpose: String,
    opened: String,
    items: usize,
    total: String,
}

#[derive(Template)]
#[template(path = "drafts.html")]
struct DraftsPage {
    layout: Layout,
    rows: Vec<DraftRow>,
    next: Option<String>,
}

/// The page position of the list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    before: Option<String>,
}

/// `GET /utkast`.
pub async fn list(
    State(state): State<WebState>,
    person: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let request = ClientRequest::ListDrafts { limit: PAGE_ENTRIES, before: cursor(query.before.as_deref()) };
    let page = match state.ask(&person.caller, request).await {
        Ok(ClientResponse::Drafts(page)) => page,
        Ok(_) => return refused(person.lang, None),
        Err(refusal) => return refused(person.lang, Some(&refusal)),
    };
    let rows = page
        .items
        .iter()
        .map(|draft| DraftRow {
            number: draft.number.clone(),
            purpose: draft.purpose.clone(),
            opened: i18n::date(&draft.created_at).to_owned(),
            items: draft.items.len(),
            total: i18n::amount(draft.items.iter().map(ClaimItem::amount).fold(0i64, i64::saturating_add)),
        })
        .collect();
    let next = next_after(page.next.as_ref()).map(|before| format!("{DRAFTS_PATH}?before={before}"));
    render(StatusCode::OK, &DraftsPage { layout: person.layout(&state, DRAFTS_PATH), rows, next })
}
