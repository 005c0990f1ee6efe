//! `GET /`: what the signed-in person can do, by role; the sign-in page otherwise.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::web::{render, Layout, SignedIn, WebState};

/// The home page.
#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
}

/// `GET /`.
pub async fn home(State(state): State<WebState>, person: SignedIn) -> Response {
    render(StatusCode::OK, &HomePage { layout: person.layout(&state, "/") })
}
