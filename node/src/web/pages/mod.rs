//! The web app's pages, one module per part: sign-in ([`auth`]), home ([`home`]), the
//! employee's receipts ([`receipts`]), drafts ([`drafts`], [`draft_list`], [`per_diem`])
//! and claims ([`claims`]); the approver's ([`approver`]), SSC staff's ([`ssc`]) and
//! operator's ([`operator`]) pages, routed in super::router.
//!
//! Routes (Swedish paths, as the users read them):
//!
//! | method | path | page |
//! |---|---|---|
//! | GET | /kvitton | Mina kvitton: search, newest first, tick receipts for a new claim |
//! | GET | /kvitton/{id}, /kvitton/{id}/utskrift | one receipt, and its print view |
//! | GET, POST | /hamta | Hämta kvitto: collect a receipt by its code, then its page |
//! | GET | /utkast | the person's open drafts, newest first |
//! | POST | /utkast | a new draft from the ticked receipts |
//! | GET | /utkast/{number} | a draft, its items and the policy's findings |
//! | POST | /utkast/{number}/milersattning | add a mileage item |
//! | POST | /utkast/{number}/traktamente | add a per diem (its whole and half days) |
//! | POST | /utkast/{number}/skicka | submit |
//! | GET | /rakningar | Mina räkningar |
//! | GET | /rakningar/{id} | one claim, its timeline and what the person may do |
//! | POST | /rakningar/{id}/aterkalla | withdraw |

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kvitt_protocol::wire::{Refusal, RefusalCode};

use super::i18n::Lang;
use super::WebState;

pub mod approver;
pub mod auth;
pub mod claims;
pub mod draft_list;
pub mod drafts;
pub mod fetch;
pub mod home;
pub mod merchant;
pub mod operator;
pub mod per_diem;
pub mod receipts;
pub mod roles;
pub mod ssc;

pub use roles::menu as role_menu;

/// Adds the pages' routes to `router`.
pub fn routes(router: Router<WebState>) -> Router<WebState> {
    router
        .route("/kvitton", get(receipts::list))
        .route("/kvitton/{id}", get(receipts::show))
        .route("/kvitton/{id}/utskrift", get(receipts::print))
        .route(fetch::FETCH_PATH, get(fetch::form).post(fetch::fetch))
        .route("/utkast", get(draft_list::list).post(drafts::create))
        .route("/utkast/{number}", get(drafts::show))
        .route("/utkast/{number}/milersattning", post(drafts::add_mileage))
        .route("/utkast/{number}/traktamente", post(drafts::add_per_diem))
        .route("/utkast/{number}/skicka", post(drafts::submit))
        .route("/rakningar", get(claims::list))
        .route("/rakningar/{id}", get(claims::show))
        .route("/rakningar/{id}/aterkalla", post(claims::withdraw))
}

/// The page for what the core refused (or answered unexpectedly, `None`): what it may not
/// see is answered `404` as if it did not exist, as the API does.
pub fn refused(lang: Lang, refusal: Option<&Refusal>) -> Response {
    let t = lang.text();
    match refusal {
        Some(refusal) if refusal.code == RefusalCode::NotFound => super::not_found(lang),
        Some(refusal) => {
            let status = crate::api::status_of(refusal.code);
            super::error_page(lang, status, t.refused, &format!("{}: {}", refusal.code, refusal.message))
        }
        None => super::error_page(lang, StatusCode::INTERNAL_SERVER_ERROR, t.error_title, ""),
    }
}
