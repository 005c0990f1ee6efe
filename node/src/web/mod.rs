//! The web app every node serves to the people who use it, on the client API's listener
//! at `/` (the JSON API stays under `/v1`): server-rendered HTML (askama templates in
//! node/templates/, compiled in), one embedded style sheet, no script.
//!
//! - Sign-in with one-time links (crate::access; [`pages::auth`]) or through the
//!   organisation's identity provider (OpenID Connect, [`oidc`]), sessions in a cookie
//!   ([`session`]), sign-in attempts rate-limited ([`limit`]).
//! - Every POST carries the session's CSRF token in the form field [`CSRF_FIELD`], checked
//!   in one place ([`check_csrf`]) before any handler runs: without it, `403`.
//! - Every answer carries [`CONTENT_SECURITY_POLICY`], `X-Content-Type-Options: nosniff`
//!   and `Referrer-Policy: no-referrer` (a sign-in link is a secret in the URL).
//! - Pages ask the node's core through the same [`NodeHandle`] as the API, as the
//!   signed-in person: the core decides what they may see and do, and a page offers only
//!   the actions the core lists for them ([`crate::core::ClaimView::actions`]).
//! - Swedish by default, English by choice ([`i18n`]).
//!
//! Routes: `GET /` home; `GET /signin/{secret}` sign in; `GET /logga-in/oidc` and
//! `GET /oidc/callback` single sign-on; `POST /signout`; `GET /lang/{code}`;
//! `GET /static/kvitt.css`; the employee's pages in [`pages`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use kvitt_protocol::directory::MemberRole;

use crate::access::Access;
use crate::core::{Caller, CallerRole};
use crate::handle::NodeHandle;

pub mod i18n;
pub mod i18n_roles;
pub mod limit;
pub mod oidc;
pub mod pages;
pub mod session;
pub mod tls;

use i18n::{Lang, Text, LANG_COOKIE};
use session::{Session, Sessions, SESSION_COOKIE};

/// The policy every answer carries: nothing but this node's own files, no inline script
/// or style, no framing, forms only to this node.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
/// The form field that carries the session's CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// Largest form body the web app reads.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// The style sheet, embedded.
const STYLE_SHEET: &str = include_str!("../../static/kvitt.css");

/// How the web app is served.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// Whether cookies are marked Secure (the node serves HTTPS).
    pub secure_cookies: bool,
    /// The node's organisation name, in every page's header.
    pub node_name: String,
    /// The node's role in the network: the menu offers only the pages its core serves
    /// (the tills' page on a merchant node, SSC staff's pages on the SSC node, ...).
    pub node_role: MemberRole,
    /// Single sign-on through the organisation's identity provider (config.toml's
    /// `[oidc]`), if configured.
    pub oidc: Option<oidc::OidcConfig>,
}

/// What every handler of the web app shares.
#[derive(Clone)]
pub struct WebState {
    node: NodeHandle,
    access: Arc<Access>,
    sessions: Arc<Sessions>,
    limit: Arc<limit::SignInLimit>,
    settings: Arc<WebSettings>,
    oidc: Option<Arc<oidc::Oidc>>,
}

impl WebState {
    /// Asks the node's core as `caller`, exactly as the API would: the core decides.
    pub async fn ask(
        &self,
        caller: &Caller,
        request: crate::core::ClientRequest,
    ) -> Result<crate::core::ClientResponse, kvitt_protocol::wire::Refusal> {
        self.node.ask(caller.clone(), request).await
    }
}

/// The node's whole client listener: the web app's routes, and the JSON API for every
/// other path (crate::api::router, with its bearer tokens and problem documents).
pub fn app(node: NodeHandle, access: Arc<Access>, settings: WebSettings) -> Result<Router, String> {
    let api = crate::api::router(node.clone(), Arc::clone(&access));
    Ok(router(node, access, settings)?.fallback_service(api))
}

/// The web app's routes; an `[oidc]` configuration that is not valid is refused.
pub fn router(node: NodeHandle, access: Arc<Access>, settings: WebSettings) -> Result<Router, String> {
    let oidc = settings.oidc.clone().map(oidc::Oidc::new).transpose()?.map(Arc::new);
    let state = WebState {
        node,
        access,
        sessions: Arc::new(Sessions::default()),
        limit: Arc::new(limit::SignInLimit::new(Instant::now())),
        settings: Arc::new(settings),
        oidc,
    };
    let routes = Router::new()
        .route("/", get(pages::home::home))
        .route("/signin/{secret}", get(pages::auth::sign_in))
        .route("/signout", post(pages::auth::sign_out))
        .route(oidc::START_PATH, get(oidc::start))
        .route(oidc::CALLBACK_PATH, get(oidc::callback))
        .route("/lang/{code}", get(pages::auth::switch_language))
        .route("/static/kvitt.css", get(style_sheet))
        .route(pages::approver::QUEUE_PATH, get(pages::approver::queue))
        .route("/beslut/{id}", get(pages::approver::claim).post(pages::approver::decide))
        .route(pages::ssc::CLAIMS_PATH, get(pages::ssc::claims))
        .route(pages::ssc::EXCEPTIONS_PATH, get(pages::ssc::exceptions))
        .route("/ssc/undantag/{id}", post(pages::ssc::resolve))
        .route(pages::ssc::SIE_PATH, get(pages::ssc::sie_form))
        .route("/ssc/sie/fil", get(pages::ssc::sie_file))
        .route(pages::operator::OPERATOR_PATH, get(pages::operator::overview))
        .route("/drift/synka", post(pages::operator::sync))
        .route("/drift/personer", post(pages::operator::add_person))
        .route("/drift/personer/aterkalla", post(pages::operator::revoke_person))
        .route("/drift/nycklar", post(pages::operator::add_token))
        .route("/drift/nycklar/aterkalla", post(pages::operator::revoke_token))
        .route(pages::merchant::TILLS_PATH, get(pages::merchant::tills));
    Ok(pages::routes(routes)
        .layer(axum::middleware::from_fn_with_state(state.clone(), check_csrf))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state))
}

async fn style_sheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=86400")],
        STYLE_SHEET,
    )
        .into_response()
}

/// Adds the security headers to every answer of the web app; pages are not cached.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Refuses every POST of the web app whose form lacks the session's CSRF token (`403`,
/// nothing done); the form goes on to the handler as it came.
async fn check_csrf(State(state): State<WebState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let lang = lang_of(&parts);
    let session = session_of(&state, &parts);
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return error_page(lang, StatusCode::PAYLOAD_TOO_LARGE, lang.text().error_title, "");
    };
    let given = form_pairs(&bytes).into_iter().find(|(name, _)| name == CSRF_FIELD).map(|(_, value)| value);
    match (session, given) {
        (Some((_, session)), Some(given)) if session::same_token(&given, &session.csrf) => {
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        }
        _ => forbidden(lang),
    }
}

/// The `name=value` pairs of a form body, decoded (none if it is not a form).
pub fn form_pairs(bytes: &Bytes) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(bytes).unwrap_or_default()
}

/// The language a request is answered in.
fn lang_of(parts: &Parts) -> Lang {
    let cookies = parts.headers.get(header::COOKIE).and_then(|value| value.to_str().ok());
    let chosen = cookies.and_then(|cookies| session::cookie(cookies, LANG_COOKIE));
    let accept = parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok());
    Lang::choose(chosen, accept)
}

/// The session a request's cookie names, if it is open and its person still active.
fn session_of(state: &WebState, parts: &Parts) -> Option<(String, Session)> {
    let cookies = parts.headers.get(header::COOKIE)?.to_str().ok()?;
    let id = session::cookie(cookies, SESSION_COOKIE)?;
    let session = state.sessions.find(id, Instant::now())?;
    if !state.access.is_active_user(&session.caller) {
        // Revoked since: the session ends now.
        state.sessions.close(id);
        return None;
    }
    Some((id.to_owned(), session))
}

/// The client's address (for the sign-in limit); unspecified when not served over TCP.
pub struct ClientIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<ClientIp, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |ConnectInfo(address)| address.ip());
        Ok(ClientIp(address))
    }
}

/// What every page needs of its request: the language, and who is signed in.
pub struct Visitor {
    /// The language to answer in.
    pub lang: Lang,
    /// The signed-in person's session id and session.
    pub session: Option<(String, Session)>,
}

impl FromRequestParts<WebState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Visitor, Response> {
        Ok(Visitor { lang: lang_of(parts), session: session_of(state, parts) })
    }
}

/// A signed-in person: pages that need one take this; others see the sign-in page (`401`).
pub struct SignedIn {
    /// The language to answer in.
    pub lang: Lang,
    /// Who.
    pub caller: Caller,
    /// Their session's CSRF token, for the forms of the page.
    pub csrf: String,
}

impl FromRequestParts<WebState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<SignedIn, Response> {
        let lang = lang_of(parts);
        match session_of(state, parts) {
            Some((_, session)) => Ok(SignedIn { lang, caller: session.caller, csrf: session.csrf }),
            None => Err(pages::auth::sign_in_page(state, lang, StatusCode::UNAUTHORIZED, None)),
        }
    }
}

impl SignedIn {
    /// The layout of a page for this person, with `current` the path of the menu entry
    /// it belongs to.
    pub fn layout(&self, state: &WebState, current: &str) -> Layout {
        Layout::new(state, self.lang, Some((&self.caller, &self.csrf)), current)
    }
}

/// One entry of the main menu.
pub struct NavLink {
    /// Where it goes.
    pub href: &'static str,
    /// Its words.
    pub label: &'static str,
    /// Whether the page shown belongs to it (`aria-current`).
    pub current: bool,
}

/// What the base template shows around every page.
pub struct Layout {
    /// The language's words.
    pub t: &'static Text,
    /// `sv` or `en`.
    pub lang: &'static str,
    /// The other language's code, for the switch.
    pub other_lang: &'static str,
    /// The node's organisation.
    pub node_name: String,
    /// The signed-in person and their role's name, if any.
    pub person: Option<(String, &'static str)>,
    /// The session's CSRF token (empty when signed out).
    pub csrf: String,
    /// The main menu (empty when signed out).
    pub nav: Vec<NavLink>,
}

impl Layout {
    fn new(state: &WebState, lang: Lang, signed_in: Option<(&Caller, &str)>, current: &str) -> Layout {
        let t = lang.text();
        let nav = signed_in
            .map(|(caller, _)| menu(t, caller.role, state.settings.node_role, current))
            .unwrap_or_default();
        Layout {
            t,
            lang: lang.code(),
            other_lang: if lang == Lang::Sv { "en" } else { "sv" },
            node_name: state.settings.node_name.clone(),
            person: signed_in.map(|(caller, _)| (caller.person.clone(), role_name(t, caller.role))),
            csrf: signed_in.map(|(_, csrf)| csrf.to_owned()).unwrap_or_default(),
            nav,
        }
    }

    /// The layout of a page for someone not signed in.
    pub fn signed_out(state: &WebState, lang: Lang) -> Layout {
        Layout::new(state, lang, None, "")
    }
}

/// A role's name in the page's language.
pub fn role_name(t: &'static Text, role: CallerRole) -> &'static str {
    match role {
        CallerRole::Employee => t.role_employee,
        CallerRole::Approver => t.role_approver,
        CallerRole::SscStaff => t.role_ssc_staff,
        CallerRole::Operator => t.role_operator,
        CallerRole::Till => t.role_till,
    }
}

/// The menu of a role on a node of `node` role: the pages it may use there, and only
/// those (a page never offers what the core would refuse).
pub fn menu(t: &'static Text, role: CallerRole, node: MemberRole, current: &str) -> Vec<NavLink> {
    let entries: &[(&'static str, &'static str)] = match (role, node) {
        (CallerRole::Employee, MemberRole::Agency) => &[
            ("/kvitton", t.my_receipts),
            (pages::fetch::FETCH_PATH, t.fetch_receipt),
            (pages::draft_list::DRAFTS_PATH, t.my_drafts),
            ("/rakningar", t.my_claims),
        ],
        _ => &[],
    };
    let entries = entries.iter().copied().chain(pages::role_menu(t, role, node));
    entries.map(|(href, label)| NavLink { href, label, current: href == current }).collect()
}

/// Renders a template as an HTML answer with `status`.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The page of an error: its title and what to do.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Around it.
    pub layout: Layout,
    /// The heading.
    pub title: &'static str,
    /// What happened, and what to do.
    pub body: String,
}

/// An error page, signed out (errors name no person).
pub fn error_page(lang: Lang, status: StatusCode, title: &'static str, body: &str) -> Response {
    let t = lang.text();
    let layout = Layout {
        t,
        lang: lang.code(),
        other_lang: if lang == Lang::Sv { "en" } else { "sv" },
        node_name: String::new(),
        person: None,
        csrf: String::new(),
        nav: Vec::new(),
    };
    render(status, &ErrorPage { layout, title, body: body.to_owned() })
}

/// `403`: a form without the session's CSRF token, or a POST without a session.
pub fn forbidden(lang: Lang) -> Response {
    let t = lang.text();
    error_page(lang, StatusCode::FORBIDDEN, t.forbidden_title, t.forbidden_body)
}

/// `404`: no such page, or one the person may not see (the same answer for both).
pub fn not_found(lang: Lang) -> Response {
    let t = lang.text();
    error_page(lang, StatusCode::NOT_FOUND, t.not_found_title, t.not_found_body)
}
