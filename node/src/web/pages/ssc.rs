//! SSC staff's pages: claims by status (approved ones to book, booked ones to pay; each
//! opens the decision page of [`super::approver`], whose buttons the core lists), the
//! exceptions queue with its evidence and the two resolutions, and the SIE export per
//! agency and period as a download: the same bytes as `GET /v1/sie`.
//!
//! Routes: `GET /ssc/rakningar[?status=&after=]`; `GET /ssc/undantag[?all=&after=]`;
//! `POST /ssc/undantag/{id}` with `decision` (reject, book) and `note`; `GET /ssc/sie`;
//! `GET /ssc/sie/fil?agency=&from=&to=[&again=true]`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::Status;
use serde::Deserialize;

use super::approver::status_name;
use super::roles::{cursor, next_after, record_id, unless_role, PAGE_ENTRIES};
use crate::api::{SIE_CONTENT_TYPE, SIE_VOUCHERS_HEADER};
use crate::core::{
    CallerRole, ClaimSummary, ClientRequest, ClientResponse, Exception, Resolution, SieExport,
};
use crate::web::i18n::amount;
use crate::web::i18n_roles::{exception_kind, role_text, RoleText};
use crate::web::{error_page, render, Layout, SignedIn, WebState};

/// The path of the claims to book and pay.
pub const CLAIMS_PATH: &str = "/ssc/rakningar";
/// The path of the exceptions queue.
pub const EXCEPTIONS_PATH: &str = "/ssc/undantag";
/// The path of the SIE export.
pub const SIE_PATH: &str = "/ssc/sie";

/// The statuses the claims page filters by, in its menu's order.
const LISTED: [(Status, &str); 3] =
    [(Status::Approved, "approved"), (Status::Booked, "booked"), (Status::Paid, "paid")];

/// The claims page's query.
#[derive(Deserialize)]
pub struct ClaimsQuery {
    status: Option<String>,
    after: Option<String>,
}

/// Claims with one status.
#[derive(Template)]
#[template(path = "ssc_claims.html")]
struct ClaimsPage {
    layout: Layout,
    r: &'static RoleText,
    statuses: Vec<(&'static str, &'static str, bool)>,
    status: &'static str,
    claims: Vec<ClaimSummary>,
    next: Option<String>,
    paged: bool,
}

impl ClaimsPage {
    fn total(&self, claim: &ClaimSummary) -> String {
        amount(claim.total)
    }
}

/// `GET /ssc/rakningar`: the claims of one status (approved by default), a page of the
/// claim list at a time.
pub async fn claims(
    State(state): State<WebState>,
    person: SignedIn,
    Query(query): Query<ClaimsQuery>,
) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::SscStaff) {
        return refusal;
    }
    let (status, code) =
        LISTED.iter().find(|(_, code)| Some(*code) == query.status.as_deref()).copied().unwrap_or(LISTED[0]);
    let request = ClientRequest::ListClaims { limit: PAGE_ENTRIES, after: cursor(query.after.as_deref()) };
    let listed = match state.ask(&person.caller, request).await {
        Ok(ClientResponse::Claims(listed)) => listed,
        Ok(_) => return super::refused(person.lang, None),
        Err(refusal) => return super::refused(person.lang, Some(&refusal)),
    };
    let t = person.lang.text();
    let page = ClaimsPage {
        layout: person.layout(&state, CLAIMS_PATH),
        r: role_text(person.lang),
        statuses: LISTED.iter().map(|(listed, c)| (*c, status_name(t, *listed), *listed == status)).collect(),
        status: code,
        claims: listed.items.into_iter().filter(|claim| claim.status == status).collect(),
        next: next_after(listed.next.as_ref()),
        paged: query.after.is_some(),
    };
    render(StatusCode::OK, &page)
}

/// The exceptions page's query.
#[derive(Deserialize)]
pub struct ExceptionsQuery {
    all: Option<String>,
    after: Option<String>,
}

/// One exception as the page shows it.
struct ExceptionRow {
    id: String,
    kind: &'static str,
    why: String,
    next: &'static str,
    open: bool,
    claim: Option<(String, &'static str)>,
    resolvable: bool,
}

/// The exceptions queue.
#[derive(Template)]
#[template(path = "ssc_exceptions.html")]
struct ExceptionsPage {
    layout: Layout,
    r: &'static RoleText,
    all: bool,
    exceptions: Vec<ExceptionRow>,
    next: Option<String>,
    paged: bool,
}

/// `GET /ssc/undantag`: the open exceptions (all with `all=true`), each with its evidence
/// and, for an open one holding a claim, the two resolutions.
pub async fn exceptions(
    State(state): State<WebState>,
    person: SignedIn,
    Query(query): Query<ExceptionsQuery>,
) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::SscStaff) {
        return refusal;
    }
    let all = query.all.as_deref() == Some("true");
    let request =
        ClientRequest::Exceptions { limit: PAGE_ENTRIES, all, after: cursor(query.after.as_deref()) };
    let listed = match state.ask(&person.caller, request).await {
        Ok(ClientResponse::Exceptions(listed)) => listed,
        Ok(_) => return super::refused(person.lang, None),
        Err(refusal) => return super::refused(person.lang, Some(&refusal)),
    };
    let t = person.lang.text();
    let row = |exception: Exception| ExceptionRow {
        id: exception.id.to_string(),
        kind: exception_kind(person.lang, exception.kind),
        why: exception.why,
        next: exception.next,
        open: exception.open,
        resolvable: exception.open && exception.claim.is_some(),
        claim: exception.claim.map(|held| (held.number, status_name(t, held.status))),
    };
    let page = ExceptionsPage {
        layout: person.layout(&state, EXCEPTIONS_PATH),
        r: role_text(person.lang),
        all,
        exceptions: listed.items.into_iter().map(row).collect(),
        next: next_after(listed.next.as_ref()),
        paged: query.after.is_some(),
    };
    render(StatusCode::OK, &page)
}

/// The form of a resolution.
#[derive(Deserialize)]
pub struct ResolveForm {
    decision: String,
    #[serde(default)]
    note: String,
}

/// `POST /ssc/undantag/{id}` (its CSRF token checked before): resolves the exception as
/// `POST /v1/exceptions/{id}/resolve` does; done, back to the queue (`303`).
pub async fn resolve(
    State(state): State<WebState>,
    person: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Response {
    let lang = person.lang;
    let Some(claim) = record_id(&id) else {
        return crate::web::not_found(lang);
    };
    let resolution = match form.decision.as_str() {
        "reject" => Resolution::Reject,
        "book" => Resolution::Book,
        _ => {
            return error_page(
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                lang.text().refused,
                lang.text().field_invalid,
            )
        }
    };
    if form.note.trim().is_empty() {
        return error_page(
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.text().refused,
            lang.text().field_required,
        );
    }
    let request = ClientRequest::Resolve { claim, resolution, note: form.note.trim().to_owned() };
    match state.ask(&person.caller, request).await {
        Ok(_) => Redirect::to(EXCEPTIONS_PATH).into_response(),
        Err(refusal) => super::refused(lang, Some(&refusal)),
    }
}

/// The SIE export form.
#[derive(Template)]
#[template(path = "ssc_sie.html")]
struct SiePage {
    layout: Layout,
    r: &'static RoleText,
    agencies: Vec<(String, String)>,
    from: String,
    to: String,
}

/// `GET /ssc/sie`: the form, with the directory's agencies and this month so far.
pub async fn sie_form(State(state): State<WebState>, person: SignedIn) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::SscStaff) {
        return refusal;
    }
    let agencies = match state.ask(&person.caller, ClientRequest::Directory).await {
        Ok(ClientResponse::Directory { directory, .. }) => directory
            .body()
            .members
            .iter()
            .filter(|member| member.role == MemberRole::Agency)
            .map(|member| (member.org.clone(), member.name.clone()))
            .collect(),
        Ok(_) => return super::refused(person.lang, None),
        Err(refusal) => return super::refused(person.lang, Some(&refusal)),
    };
    let today = time::OffsetDateTime::now_utc().date();
    let first = today.replace_day(1).unwrap_or(today);
    let page = SiePage {
        layout: person.layout(&state, SIE_PATH),
        r: role_text(person.lang),
        agencies,
        from: first.to_string(),
        to: today.to_string(),
    };
    render(StatusCode::OK, &page)
}

/// The SIE export's query.
#[derive(Deserialize)]
pub struct SieQuery {
    agency: String,
    from: String,
    to: String,
    again: Option<String>,
}

/// `GET /ssc/sie/fil`: the SIE file as a download (`Content-Disposition: attachment`).
pub async fn sie_file(
    State(state): State<WebState>,
    person: SignedIn,
    Query(query): Query<SieQuery>,
) -> Response {
    let lang = person.lang;
    if let Some(refusal) = unless_role(&person, CallerRole::SscStaff) {
        return refusal;
    }
    let date = |text: &str| kvitt_protocol::fields::parse_date("date", text).ok();
    let (Some(from), Some(to)) = (date(&query.from), date(&query.to)) else {
        return error_page(lang, StatusCode::BAD_REQUEST, lang.text().refused, lang.text().field_invalid);
    };
    let export =
        SieExport { agency: query.agency.clone(), from, to, again: query.again.as_deref() == Some("true") };
    let file = match state.ask(&person.caller, ClientRequest::ExportSie(export)).await {
        Ok(ClientResponse::Sie(file)) => file,
        Ok(_) => return super::refused(lang, None),
        Err(refusal) => return super::refused(lang, Some(&refusal)),
    };
    let name =
        format!("attachment; filename=\"kvitt-{}-{from}-{to}.se\"", query.agency.replace(['"', '\\'], ""));
    let mut response = ([(header::CONTENT_TYPE, SIE_CONTENT_TYPE)], file.bytes).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(HeaderName::from_static(SIE_VOUCHERS_HEADER), HeaderValue::from(file.vouchers.len()));
    response
}
