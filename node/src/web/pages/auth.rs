//! Signing in and out, and the language switch.
//!
//! `GET /signin/{secret}` uses a one-time link (crate::access::consume_link), opens a
//! session and sets its cookie; the answer is a page that moves on to `/` by itself (a
//! redirect would lose the SameSite=Strict cookie when the link was followed from another
//! site, a mail reader say). Attempts are rate-limited (super::super::limit). Single
//! sign-on (crate::web::oidc) opens its sessions through [`open_session`] too.

use std::time::Instant;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::access::LinkRefusal;
use crate::web::i18n::{Lang, LANG_COOKIE};
use crate::web::session::{cleared_cookie, session_cookie};
use crate::web::{error_page, render, ClientIp, Layout, Visitor, WebState};

/// The sign-in page: how to sign in, and why the last attempt failed.
#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    layout: Layout,
    problem: Option<&'static str>,
    /// Whether single sign-on is configured (crate::web::oidc): the page offers it.
    oidc: bool,
}

/// What a signed-out visitor sees, with `status`.
pub fn sign_in_page(
    state: &WebState,
    lang: Lang,
    status: StatusCode,
    problem: Option<&'static str>,
) -> Response {
    render(
        status,
        &SignInPage { layout: Layout::signed_out(state, lang), problem, oidc: state.oidc.is_some() },
    )
}

/// The page a successful sign-in answers, moving on to `/`.
#[derive(Template)]
#[template(path = "signed_in.html")]
struct SignedInPage {
    lang: &'static str,
    continue_text: &'static str,
}

/// `GET /signin/{secret}`.
pub async fn sign_in(
    State(state): State<WebState>,
    Path(secret): Path<String>,
    ClientIp(client): ClientIp,
    visitor: Visitor,
) -> Response {
    let (lang, t) = (visitor.lang, visitor.lang.text());
    if !state.limit.admit(client, Instant::now()) {
        return sign_in_page(&state, lang, StatusCode::TOO_MANY_REQUESTS, Some(t.too_many_attempts));
    }
    let Some(data) = state.access.data().map(ToOwned::to_owned) else {
        return sign_in_page(&state, lang, StatusCode::NOT_FOUND, Some(t.link_unknown));
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let used = tokio::task::spawn_blocking(move || crate::access::consume_link(&data, &secret, now)).await;
    let caller = match used {
        Ok(Ok(Ok(caller))) => caller,
        Ok(Ok(Err(LinkRefusal::Expired))) => {
            return sign_in_page(&state, lang, StatusCode::GONE, Some(t.link_expired))
        }
        Ok(Ok(Err(LinkRefusal::Unknown | LinkRefusal::Revoked))) => {
            return sign_in_page(&state, lang, StatusCode::NOT_FOUND, Some(t.link_unknown))
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "a sign-in link could not be checked");
            return error_page(lang, StatusCode::SERVICE_UNAVAILABLE, t.error_title, &error.to_string());
        }
        Err(error) => {
            tracing::error!(%error, "a sign-in link could not be checked");
            return error_page(lang, StatusCode::INTERNAL_SERVER_ERROR, t.error_title, "");
        }
    };
    tracing::info!(person = %caller.person, role = ?caller.role, "signed in");
    open_session(&state, &visitor, caller)
}

/// Signs `caller` in (a link used, or single sign-on: crate::web::oidc): ends the visitor's
/// old session, opens a new one and answers the page that sets its cookie and moves on.
pub fn open_session(state: &WebState, visitor: &Visitor, caller: crate::core::Caller) -> Response {
    if let Some((old, _)) = &visitor.session {
        state.sessions.close(old);
    }
    let id = state.sessions.open(caller, Instant::now());
    let continue_text = visitor.lang.text().home;
    let mut response = render(StatusCode::OK, &SignedInPage { lang: visitor.lang.code(), continue_text });
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie(&id, state.settings.secure_cookies)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /signout` (its CSRF token checked before): ends the session.
pub async fn sign_out(State(state): State<WebState>, visitor: Visitor) -> Response {
    if let Some((id, _)) = &visitor.session {
        state.sessions.close(id);
    }
    let mut response = sign_in_page(&state, visitor.lang, StatusCode::OK, None);
    if let Ok(cookie) = HeaderValue::from_str(&cleared_cookie(state.settings.secure_cookies)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /lang/{code}`: remembers the language chosen (a year) and goes home.
pub async fn switch_language(
    State(state): State<WebState>,
    Path(code): Path<String>,
    visitor: Visitor,
) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return crate::web::not_found(visitor.lang);
    };
    let secure = if state.settings.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{LANG_COOKIE}={}; SameSite=Lax; Path=/; Max-Age=31536000{secure}", lang.code());
    let mut response = Redirect::to("/").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
