//! The operator's page: the directory in force (members, roles, addresses, version), each
//! peer's outbox depth, failed deliveries and last reconciliation (crate::core::PeerState), the
//! node's people and API tokens (from access.json, added and revoked here without a
//! restart; a new sign-in link or token is shown once), and "Synka nu", which reconciles
//! with every peer as `POST /v1/sync` does and shows how each session went.
//!
//! Routes: `GET /drift`; `POST /drift/synka`; `POST /drift/personer` (`person`, `role`);
//! `POST /drift/personer/aterkalla` (`person`); `POST /drift/nycklar` (`person`, `role`);
//! `POST /drift/nycklar/aterkalla` (`id`).

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use super::roles::unless_role;
use crate::access::{AccessError, AccessFile};
use crate::core::{CallerRole, ClientRequest, ClientResponse, PeerState};
use crate::web::i18n::date;
use crate::web::i18n::date_time;
use crate::web::i18n_roles::{role_text, RoleText};
use crate::web::{error_page, render, role_name, Layout, SignedIn, WebState};

/// The path of the operator's page.
pub const OPERATOR_PATH: &str = "/drift";

/// The roles a person or token may be given here, in the forms' order.
const ROLES: [CallerRole; 5] = [
    CallerRole::Employee,
    CallerRole::Approver,
    CallerRole::SscStaff,
    CallerRole::Operator,
    CallerRole::Till,
];

/// A member of the directory as the page shows it.
struct MemberRow {
    name: String,
    role: String,
    org: String,
    addresses: String,
    key: String,
}

/// A person or token as the page shows it.
struct AccessRow {
    id: String,
    person: String,
    role: &'static str,
    created: String,
    active: bool,
}

/// A peer as the page shows it: its delivery state and when it was last reconciled with
/// (`2026-05-04 14:03 UTC`; empty if not since the node started).
struct PeerRow {
    name: String,
    org: String,
    outbox: usize,
    failures: u32,
    last_reconciled: String,
}

impl PeerRow {
    fn of(peer: PeerState) -> PeerRow {
        let last_reconciled =
            peer.last_reconciled.map(|at| format!("{} UTC", date_time(&at))).unwrap_or_default();
        PeerRow {
            name: peer.name,
            org: peer.org,
            outbox: peer.outbox,
            failures: peer.failures,
            last_reconciled,
        }
    }
}

/// How a reconciliation with one peer went.
struct SyncRow {
    org: String,
    ok: bool,
    detail: String,
}

/// The operator's page.
#[derive(Template)]
#[template(path = "operator_overview.html")]
struct OperatorPage {
    layout: Layout,
    r: &'static RoleText,
    version: u64,
    issued_at: String,
    members: Vec<MemberRow>,
    peers: Vec<PeerRow>,
    managed: bool,
    people: Vec<AccessRow>,
    tokens: Vec<AccessRow>,
    roles: Vec<(&'static str, &'static str)>,
    shown_once: Option<(&'static str, String)>,
    synced: Option<Vec<SyncRow>>,
    problem: Option<String>,
}

/// What a page shows besides the node's state: a secret shown once, a reconciliation's
/// sessions, or why a change was refused.
#[derive(Default)]
struct Outcome {
    shown_once: Option<(&'static str, String)>,
    synced: Option<Vec<SyncRow>>,
    problem: Option<String>,
}

/// `GET /drift`.
pub async fn overview(State(state): State<WebState>, person: SignedIn) -> Response {
    page(&state, &person, StatusCode::OK, Outcome::default()).await
}

async fn page(state: &WebState, person: &SignedIn, status: StatusCode, outcome: Outcome) -> Response {
    if let Some(refusal) = unless_role(person, CallerRole::Operator) {
        return refusal;
    }
    let directory = match state.ask(&person.caller, ClientRequest::Directory).await {
        Ok(ClientResponse::Directory { directory, .. }) => directory,
        Ok(_) => return super::refused(person.lang, None),
        Err(refusal) => return super::refused(person.lang, Some(&refusal)),
    };
    let peers = match state.ask(&person.caller, ClientRequest::Peers).await {
        Ok(ClientResponse::Peers(peers)) => peers.into_iter().map(PeerRow::of).collect::<Vec<_>>(),
        Ok(_) => return super::refused(person.lang, None),
        Err(refusal) => return super::refused(person.lang, Some(&refusal)),
    };
    let t = person.lang.text();
    let directory = directory.body();
    let members = directory
        .members
        .iter()
        .map(|member| MemberRow {
            name: member.name.clone(),
            role: format!("{:?}", member.role).to_lowercase(),
            org: member.org.clone(),
            addresses: member.addresses.join(", "),
            key: member.key.to_string(),
        })
        .collect();
    let file: std::sync::Arc<AccessFile> = state.access.current();
    let created = |seconds: i64| {
        time::OffsetDateTime::from_unix_timestamp(seconds).map(|at| at.date().to_string()).unwrap_or_default()
    };
    let people = file
        .users
        .iter()
        .map(|user| AccessRow {
            id: user.person.clone(),
            person: user.person.clone(),
            role: role_name(t, user.role),
            created: created(user.created),
            active: user.revoked.is_none(),
        })
        .collect();
    let tokens = file
        .tokens
        .iter()
        .filter(|token| token.expires.is_none())
        .map(|token| AccessRow {
            id: token.id.clone(),
            person: token.person.clone(),
            role: role_name(t, token.role),
            created: created(token.created),
            active: !token.revoked,
        })
        .collect();
    let page = OperatorPage {
        layout: person.layout(state, OPERATOR_PATH),
        r: role_text(person.lang),
        version: directory.version,
        issued_at: date(&directory.issued_at).to_owned(),
        members,
        peers,
        managed: state.access.data().is_some(),
        people,
        tokens,
        roles: ROLES.iter().map(|role| (role_code(*role), role_name(t, *role))).collect(),
        shown_once: outcome.shown_once,
        synced: outcome.synced,
        problem: outcome.problem,
    };
    render(status, &page)
}

fn role_code(role: CallerRole) -> &'static str {
    match role {
        CallerRole::Employee => "employee",
        CallerRole::Approver => "approver",
        CallerRole::SscStaff => "ssc_staff",
        CallerRole::Operator => "operator",
        CallerRole::Till => "till",
    }
}

/// `POST /drift/synka` (its CSRF token checked before): reconciles with every peer now.
pub async fn sync(State(state): State<WebState>, person: SignedIn) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::Operator) {
        return refusal;
    }
    let sessions = match state.ask(&person.caller, ClientRequest::Reconcile { peer: None }).await {
        Ok(ClientResponse::Reconciled(sessions)) => sessions,
        Ok(_) => return super::refused(person.lang, None),
        Err(refusal) => return super::refused(person.lang, Some(&refusal)),
    };
    let r = role_text(person.lang);
    let synced = sessions
        .into_iter()
        .map(|session| match session.result {
            Ok(summary) => SyncRow {
                org: session.org,
                ok: true,
                detail: format!("{} ({} ms)", r.sync_ok, summary.elapsed.as_millis()),
            },
            Err(error) => SyncRow { org: session.org, ok: false, detail: error },
        })
        .collect();
    page(&state, &person, StatusCode::OK, Outcome { synced: Some(synced), ..Outcome::default() }).await
}

/// The form that adds a person or a token.
#[derive(Deserialize)]
pub struct GrantForm {
    person: String,
    role: CallerRole,
}

/// The form that revokes a person (by reference) or a token (by id).
#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(alias = "id")]
    person: String,
}

/// A change to access.json, made off the async threads; `None` if the node's access is
/// fixed by its configuration.
async fn change<T: Send + 'static>(
    state: &WebState,
    change: impl FnOnce(&std::path::Path, i64) -> Result<T, AccessError> + Send + 'static,
) -> Option<Result<T, String>> {
    let data = state.access.data()?.to_owned();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let done = tokio::task::spawn_blocking(move || change(&data, now)).await;
    Some(match done {
        Ok(result) => result.map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    })
}

/// Answers a change: the page with what it shows once, or with why it was refused (`422`).
async fn changed<T>(
    state: &WebState,
    person: &SignedIn,
    result: Option<Result<T, String>>,
    shown: impl FnOnce(T) -> Option<(&'static str, String)>,
) -> Response {
    match result {
        None => error_page(
            person.lang,
            StatusCode::CONFLICT,
            person.lang.text().refused,
            role_text(person.lang).access_fixed,
        ),
        Some(Ok(done)) => {
            page(state, person, StatusCode::OK, Outcome { shown_once: shown(done), ..Outcome::default() })
                .await
        }
        Some(Err(problem)) => {
            page(
                state,
                person,
                StatusCode::UNPROCESSABLE_ENTITY,
                Outcome { problem: Some(problem), ..Outcome::default() },
            )
            .await
        }
    }
}

/// The address of this node as the browser reached it, for a sign-in link to be copied.
fn origin(headers: &HeaderMap, secure: bool) -> String {
    let host = headers.get(header::HOST).and_then(|host| host.to_str().ok()).unwrap_or("localhost");
    format!("{}://{host}", if secure { "https" } else { "http" })
}

/// `POST /drift/personer`: adds a person; their first sign-in link is shown once.
pub async fn add_person(
    State(state): State<WebState>,
    person: SignedIn,
    headers: HeaderMap,
    Form(form): Form<GrantForm>,
) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::Operator) {
        return refusal;
    }
    let origin = origin(&headers, state.settings.secure_cookies);
    let r = role_text(person.lang);
    let result =
        change(&state, move |data, now| crate::access::add_user(data, form.person.trim(), form.role, now))
            .await;
    changed(&state, &person, result, |secret| Some((r.new_link, format!("{origin}/signin/{secret}")))).await
}

/// `POST /drift/personer/aterkalla`: revokes a person; their sessions end.
pub async fn revoke_person(
    State(state): State<WebState>,
    person: SignedIn,
    Form(form): Form<RevokeForm>,
) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::Operator) {
        return refusal;
    }
    let result = change(&state, move |data, now| crate::access::revoke_user(data, &form.person, now)).await;
    changed(&state, &person, result, |()| None).await
}

/// `POST /drift/nycklar`: makes an API token, shown once.
pub async fn add_token(
    State(state): State<WebState>,
    person: SignedIn,
    Form(form): Form<GrantForm>,
) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::Operator) {
        return refusal;
    }
    let r = role_text(person.lang);
    let result =
        change(&state, move |data, now| crate::access::add_token(data, form.person.trim(), form.role, now))
            .await;
    changed(&state, &person, result, |(token, _id)| Some((r.new_token, token))).await
}

/// `POST /drift/nycklar/aterkalla`: revokes an API token by its id.
pub async fn revoke_token(
    State(state): State<WebState>,
    person: SignedIn,
    Form(form): Form<RevokeForm>,
) -> Response {
    if let Some(refusal) = unless_role(&person, CallerRole::Operator) {
        return refusal;
    }
    let result = change(&state, move |data, _| crate::access::revoke_token(data, &form.person)).await;
    changed(&state, &person, result, |()| None).await
}
