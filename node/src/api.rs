//! The client API: HTTP/JSON on loopback for tills, employees, approvers and SSC staff.
//!
//! Every caller sends `Authorization: Bearer <token>` (the scheme in any case); the token
//! (from config.toml) says who they are and in which role. The token is checked first, on
//! every path and method, before a path id, query string or body is read. Every error,
//! the HTTP layer's too (unknown route, wrong method, body over [`MAX_BODY_BYTES`], a query
//! string or body that does not parse), is an RFC 9457 `application/problem+json` with the
//! protocol's error code, the field path and whether to retry. Query parameters a route
//! does not take are refused. Routes (spec/api.md):
//!
//! | method | path | who | does |
//! |---|---|---|---|
//! | POST | /v1/receipts | till | push a receipt (JSON), answer its id once durable |
//! | GET | /v1/receipts | employee, approver, staff | receipts held (an employee sees their own) |
//! | GET | /v1/records/{id} | anyone, for what concerns them | one record, verified, with its CBOR |
//! | POST | /v1/drafts | employee | open a claim draft |
//! | GET | /v1/drafts/{number} | employee | one's draft, with the policy's findings |
//! | POST | /v1/drafts/{number}/items | employee | add an item |
//! | POST | /v1/drafts/{number}/submit | employee | sign and submit the claim |
//! | GET | /v1/claims | all but tills | claims (an employee sees their own) |
//! | GET | /v1/claims/{id} | all but tills | one claim with status and events |
//! | POST | /v1/claims/{id}/approve, /reject, /withdraw | approver, employee, staff | decide |
//! | POST | /v1/claims/{id}/book, /pay | SSC staff | book, pay |
//! | GET | /v1/exceptions | staff, approver, operator | open exceptions (`all=true`: resolved too), with the next step |
//! | POST | /v1/exceptions/{id}/resolve | SSC staff | reject or book a claim held for an exception |
//! | GET | /v1/sie | SSC staff | one agency's booked claims as an SIE 4I file (PC8 bytes) |
//! | GET | /v1/directory | anyone | the signed directory in force |
//! | PUT | /v1/directory | operator | install a newer signed directory (CBOR body) |
//! | POST | /v1/sync | operator | reconcile now with one peer or all; how each session went |
//!
//! Who may read which record (`GET /v1/records/{id}`) the core decides: operators, SSC
//! staff and approvers any the node holds; an employee their receipts, their claims and
//! those claims' events; a till the receipts its organisation sold. Others are answered
//! `404` as if the node did not hold them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kvitt_protocol::claim::{Claim, ClaimItem};
use kvitt_protocol::event::{Action, ClaimEvent, Status};
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, PublicKey, RecordId};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::TokenConfig;
use crate::core::{
    Caller, ClaimSummary, ClaimView, ClientRequest, ClientResponse, Draft, Resolution, SieExport,
};
use crate::handle::NodeHandle;
use crate::policy::Finding;

/// Largest request body the API reads, in bytes (a receipt at its 1000-line limit fits).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most entries a list returns when the caller names no limit.
pub const DEFAULT_LIST_LIMIT: usize = 1000;

#[derive(Clone)]
struct ApiState {
    node: NodeHandle,
    tokens: Arc<BTreeMap<String, Caller>>,
}

/// The API's routes over a node.
///
/// Every request is authenticated first (the `authenticate` layer wraps every route, the
/// fallback for unknown paths and the answer to a method a route lacks), so a request
/// without a valid token is answered `401` whatever its path, query or body.
pub fn router(node: NodeHandle, tokens: &[TokenConfig]) -> Router {
    let tokens = tokens
        .iter()
        .map(|token| (token.token.clone(), Caller { person: token.person.clone(), role: token.role }))
        .collect();
    let state = ApiState { node, tokens: Arc::new(tokens) };
    Router::new()
        .route("/v1/receipts", post(push_receipt).get(list_receipts))
        .route("/v1/records/{id}", get(record))
        .route("/v1/drafts", post(new_draft))
        .route("/v1/drafts/{number}", get(show_draft))
        .route("/v1/drafts/{number}/items", post(add_item))
        .route("/v1/drafts/{number}/submit", post(submit))
        .route("/v1/claims", get(list_claims))
        .route("/v1/claims/{id}", get(show_claim))
        .route("/v1/claims/{id}/approve", post(approve))
        .route("/v1/claims/{id}/reject", post(reject))
        .route("/v1/claims/{id}/withdraw", post(withdraw))
        .route("/v1/claims/{id}/book", post(book))
        .route("/v1/claims/{id}/pay", post(pay))
        .route("/v1/exceptions", get(exceptions))
        .route("/v1/exceptions/{id}/resolve", post(resolve))
        .route("/v1/sie", get(sie))
        .route("/v1/directory", get(directory).put(install_directory))
        .route("/v1/sync", post(sync))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// An error as `application/problem+json`.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    refusal: Refusal,
}

impl Problem {
    /// A problem with a status of its own (not the one [`status_of`] gives its code).
    fn with_status(status: StatusCode, code: RefusalCode, path: &str, message: impl Into<String>) -> Problem {
        let mut refusal = Refusal::new(code, message);
        refusal.path = path.into();
        Problem { status, refusal }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("https://kvitt.invalid/problems/{}", self.refusal.code),
            "title": self.refusal.code,
            "status": self.status.as_u16(),
            "detail": self.refusal.message,
            "code": self.refusal.code,
            "path": self.refusal.path,
            "retry": self.refusal.retry,
        });
        let mut response =
            (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string())
                .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 9110 §11.6.1: a 401 names the scheme it wants.
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Problem {
        Problem { status: status_of(&refusal.code), refusal }
    }
}

/// The HTTP status for a refusal code.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "auth.forbidden" => StatusCode::FORBIDDEN,
        "auth.unauthenticated" => StatusCode::UNAUTHORIZED,
        "request.not_found" => StatusCode::NOT_FOUND,
        "node.unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "receipt.serial"
        | "claim.receipt_taken"
        | "claim.exception_open"
        | "event.transition"
        | "event.chain"
        | "ledger.equivocation" => StatusCode::CONFLICT,
        "request.invalid" => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The caller a request's `Authorization: Bearer <token>` names (RFC 9110 §11.6.2, RFC
/// 6750 §2.1): the scheme in any case, one or more spaces, a token of this node.
fn caller(state: &ApiState, headers: &HeaderMap) -> Result<Caller, Problem> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim_start_matches(' '));
    token.and_then(|token| state.tokens.get(token).cloned()).ok_or_else(unauthenticated)
}

/// `401` `auth.unauthenticated`.
fn unauthenticated() -> Problem {
    Problem {
        status: StatusCode::UNAUTHORIZED,
        refusal: Refusal {
            code: "auth.unauthenticated".into(),
            path: String::new(),
            message: "send Authorization: Bearer <token> with a token from this node's config.toml".into(),
            retry: false,
        },
    }
}

/// Authenticates every request before its route sees it: the caller goes into the
/// request's extensions, where [`Authenticated`] finds it.
async fn authenticate(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    match caller(&state, request.headers()) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(problem) => problem.into_response(),
    }
}

/// The caller, as [`authenticate`] found them.
struct Authenticated(Caller);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Authenticated, Problem> {
        parts.extensions.get::<Caller>().cloned().map(Authenticated).ok_or_else(unauthenticated)
    }
}

fn bad_request(message: String) -> Problem {
    Problem::from(Refusal::new(RefusalCode::BadRequest, message))
}

/// `request.invalid` about one query parameter, named in `path`.
fn bad_parameter(name: &str, message: String) -> Problem {
    Problem::with_status(StatusCode::BAD_REQUEST, RefusalCode::BadRequest, name, message)
}

/// A path segment the router extracted; one that is not UTF-8 once percent-decoded is
/// refused.
fn path_segment(segment: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    segment.map(|Path(text)| text).map_err(|rejection| bad_request(rejection.body_text()))
}

fn parse_id(segment: Result<Path<String>, PathRejection>) -> Result<RecordId, Problem> {
    let text = path_segment(segment)?;
    text.parse().map_err(|_| bad_request(format!("{text:?} is not a record id (64 hex digits)")))
}

/// The request body, read whole: over [`MAX_BODY_BYTES`] it is refused `413`.
fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::with_status(
                StatusCode::PAYLOAD_TOO_LARGE,
                RefusalCode::BadRequest,
                "",
                format!("the request body is over the limit of {MAX_BODY_BYTES} bytes"),
            )
        } else {
            bad_request(format!("the request body could not be read: {}", rejection.body_text()))
        }
    })
}

/// The request body as UTF-8 text (JSON bodies).
fn body_text(body: Result<Bytes, BytesRejection>) -> Result<String, Problem> {
    let bytes = body_bytes(body)?;
    String::from_utf8(bytes.to_vec()).map_err(|error| {
        bad_request(format!(
            "the request body is not UTF-8 (invalid byte at offset {})",
            error.utf8_error().valid_up_to()
        ))
    })
}

/// The query string's parameters, in order, as given.
type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The parameters of a list route.
struct ListParams {
    employee: Option<String>,
    limit: usize,
    all: bool,
}

/// Reads the query string of a route that takes the parameters `known` (a subset of
/// `employee`, `limit` and `all`); any other parameter, or one given twice, is refused.
fn query_params(query: QueryPairs, known: &[&str]) -> Result<ListParams, Problem> {
    let Query(pairs) = query.map_err(|rejection| bad_request(rejection.body_text()))?;
    let mut params = ListParams { employee: None, limit: DEFAULT_LIST_LIMIT, all: false };
    let mut seen = BTreeSet::new();
    for (name, value) in pairs {
        if !known.contains(&name.as_str()) {
            let takes = match known {
                [] => "no query parameters".to_owned(),
                known => format!("only {}", known.join(", ")),
            };
            return Err(bad_parameter(
                &name,
                format!("unknown query parameter {name:?}: this route takes {takes}"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(bad_parameter(&name, format!("query parameter {name:?} is given more than once")));
        }
        match name.as_str() {
            "limit" => {
                params.limit = value.parse().map_err(|_| {
                    bad_parameter(
                        "limit",
                        format!("limit {value:?} is not a whole number of entries (0 or more)"),
                    )
                })?;
            }
            "employee" => params.employee = Some(value),
            "all" => {
                params.all = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    other => return Err(bad_parameter("all", format!("all {other:?} is not true or false"))),
                };
            }
            _ => {}
        }
    }
    Ok(params)
}

/// Refuses any query parameter: the route takes none.
fn no_params(query: QueryPairs) -> Result<(), Problem> {
    query_params(query, &[]).map(|_| ())
}

async fn ask(state: &ApiState, caller: Caller, request: ClientRequest) -> Result<ClientResponse, Problem> {
    Ok(state.node.ask(caller, request).await?)
}

/// Parses a JSON body, reporting the field path of a mismatch.
fn parse_json<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        Problem::from(Refusal {
            code: kvitt_protocol::ErrorCode::Schema.as_str().into(),
            path: error.path().to_string(),
            message: error.inner().to_string(),
            retry: false,
        })
    })
}

/// No route has this path.
async fn no_route(uri: Uri) -> Problem {
    Problem::from(Refusal::new(RefusalCode::NotFound, format!("no route {}", uri.path())))
}

/// The route exists, but not for this method (the router adds the `Allow` header).
async fn wrong_method(method: Method, uri: Uri) -> Problem {
    Problem::with_status(
        StatusCode::METHOD_NOT_ALLOWED,
        RefusalCode::BadRequest,
        "",
        format!("{} does not take {method}", uri.path()),
    )
}

async fn push_receipt(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    no_params(query)?;
    let receipt: Receipt = parse_json(&body_text(body)?)?;
    match ask(&state, caller, ClientRequest::PushReceipt(Box::new(receipt))).await? {
        ClientResponse::Pushed { id, duplicate } => {
            let status = if duplicate { StatusCode::OK } else { StatusCode::CREATED };
            Ok((status, Json(json!({ "id": id, "duplicate": duplicate }))).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

/// A receipt as the API shows it.
#[derive(Serialize)]
struct ReceiptView<'a> {
    id: RecordId,
    signer: PublicKey,
    receipt: &'a Receipt,
}

async fn list_receipts(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let ListParams { employee, limit, .. } = query_params(query, &["employee", "limit"])?;
    match ask(&state, caller, ClientRequest::ListReceipts { employee, limit }).await? {
        ClientResponse::Receipts(receipts) => {
            let views: Vec<ReceiptView<'_>> = receipts
                .iter()
                .map(|receipt| ReceiptView {
                    id: receipt.id(),
                    signer: receipt.signer(),
                    receipt: receipt.body(),
                })
                .collect();
            Ok(Json(views).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

/// A record as JSON: its type, id, signer, body and exact CBOR.
pub fn record_json(record: &AnyRecord) -> Value {
    let body = match record {
        AnyRecord::Receipt(record) => serde_json::to_value(record.body()),
        AnyRecord::Claim(record) => serde_json::to_value(record.body()),
        AnyRecord::ClaimEvent(record) => serde_json::to_value(record.body()),
        AnyRecord::Directory(record) => serde_json::to_value(record.body()),
        AnyRecord::Evidence(record) => serde_json::to_value(record.body()),
    }
    .unwrap_or(Value::Null);
    json!({ "type": record.kind().as_str(), "id": record.id(), "signer": record.signer(), "body": body, "cbor": hex::encode(record.bytes()) })
}

/// The directory as JSON ([`record_json`]) with whether this request installed it.
fn directory_json(response: ClientResponse) -> Result<Response, Problem> {
    match response {
        ClientResponse::Directory { directory, installed } => {
            let mut view = record_json(&AnyRecord::Directory(*directory));
            if let Some(fields) = view.as_object_mut() {
                fields.insert("installed".into(), Value::Bool(installed));
            }
            Ok(Json(view).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

async fn directory(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
    no_params(query)?;
    directory_json(ask(&state, caller, ClientRequest::Directory).await?)
}

/// The body is the signed directory's CBOR bytes, as `kvitt directory publish` writes them.
async fn install_directory(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    no_params(query)?;
    let bytes = body_bytes(body)?.to_vec();
    directory_json(ask(&state, caller, ClientRequest::InstallDirectory { bytes }).await?)
}

async fn record(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let id = parse_id(id)?;
    no_params(query)?;
    match ask(&state, caller, ClientRequest::Record(id)).await? {
        ClientResponse::Record(record) => Ok(Json(record_json(&record)).into_response()),
        other => Err(unexpected(&other)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDraft {
    purpose: String,
}

/// A draft as the API shows it: its fields, and `findings`, what the agency's policy
/// says of it today (an `error` among them blocks submission).
#[derive(Serialize)]
struct DraftJson<'a> {
    #[serde(flatten)]
    draft: &'a Draft,
    findings: &'a [Finding],
}

fn draft_response(response: ClientResponse) -> Result<Response, Problem> {
    match response {
        ClientResponse::Draft { draft, findings } => {
            Ok(Json(DraftJson { draft: &draft, findings: &findings }).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

async fn show_draft(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    number: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let number = path_segment(number)?;
    no_params(query)?;
    draft_response(ask(&state, caller, ClientRequest::ShowDraft { number }).await?)
}

async fn new_draft(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    no_params(query)?;
    let NewDraft { purpose } = parse_json(&body_text(body)?)?;
    draft_response(ask(&state, caller, ClientRequest::NewClaim { purpose }).await?)
}

async fn add_item(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    number: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let number = path_segment(number)?;
    no_params(query)?;
    let item: ClaimItem = parse_json(&body_text(body)?)?;
    draft_response(ask(&state, caller, ClientRequest::AddItem { number, item: Box::new(item) }).await?)
}

async fn submit(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    number: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let number = path_segment(number)?;
    no_params(query)?;
    match ask(&state, caller, ClientRequest::Submit { number }).await? {
        ClientResponse::Submitted { claim } => {
            Ok((StatusCode::CREATED, Json(json!({ "claim": claim }))).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

async fn list_claims(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let ListParams { limit, .. } = query_params(query, &["limit"])?;
    match ask(&state, caller, ClientRequest::ListClaims { limit }).await? {
        ClientResponse::Claims(claims) => Ok(Json::<Vec<ClaimSummary>>(claims).into_response()),
        other => Err(unexpected(&other)),
    }
}

/// A claim as the API shows it.
#[derive(Serialize)]
struct ClaimJson<'a> {
    id: RecordId,
    status: Status,
    claim: &'a Claim,
    events: Vec<EventJson<'a>>,
    exception: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Finding]>::is_empty")]
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct EventJson<'a> {
    id: RecordId,
    signer: PublicKey,
    event: &'a ClaimEvent,
}

/// The JSON of a claim view.
pub fn claim_json(view: &ClaimView) -> Value {
    let events = view
        .events
        .iter()
        .map(|event| EventJson { id: event.id(), signer: event.signer(), event: event.body() })
        .collect();
    let claim = ClaimJson {
        id: view.claim.id(),
        status: view.status,
        claim: view.claim.body(),
        events,
        exception: view.exception.as_deref(),
        findings: &view.findings,
    };
    serde_json::to_value(claim).unwrap_or(Value::Null)
}

async fn show_claim(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let claim = parse_id(id)?;
    no_params(query)?;
    match ask(&state, caller, ClientRequest::ShowClaim { claim }).await? {
        ClientResponse::Claim(view) => Ok(Json(claim_json(&view)).into_response()),
        other => Err(unexpected(&other)),
    }
}

/// A decision on the claim in the path: `request` makes the core's request of its id.
async fn decide(
    state: &ApiState,
    caller: Caller,
    claim: RecordId,
    request: impl FnOnce(RecordId) -> ClientRequest,
) -> Result<Response, Problem> {
    match ask(state, caller, request(claim)).await? {
        ClientResponse::Status(status) => Ok(Json(json!({ "status": status })).into_response()),
        ClientResponse::Decided { status, findings } if findings.is_empty() => {
            Ok(Json(json!({ "status": status })).into_response())
        }
        ClientResponse::Decided { status, findings } => {
            Ok(Json(json!({ "status": status, "findings": findings })).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

/// The claim id of a decision's path, once its query string is found empty.
fn decision_claim(id: Result<Path<String>, PathRejection>, query: QueryPairs) -> Result<RecordId, Problem> {
    let claim = parse_id(id)?;
    no_params(query)?;
    Ok(claim)
}

async fn approve(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let claim = decision_claim(id, query)?;
    decide(&state, caller, claim, |claim| ClientRequest::Decide { claim, action: Action::Approved }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

async fn reject(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let claim = decision_claim(id, query)?;
    let Reason { reason } = parse_json(&body_text(body)?)?;
    decide(&state, caller, claim, |claim| ClientRequest::Decide {
        claim,
        action: Action::Rejected { reason },
    })
    .await
}

async fn withdraw(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let claim = decision_claim(id, query)?;
    decide(&state, caller, claim, |claim| ClientRequest::Decide { claim, action: Action::Withdrawn }).await
}

async fn book(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let claim = decision_claim(id, query)?;
    decide(&state, caller, claim, |claim| ClientRequest::Book { claim }).await
}

async fn pay(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let claim = decision_claim(id, query)?;
    decide(&state, caller, claim, |claim| ClientRequest::Pay { claim }).await
}

async fn exceptions(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let ListParams { limit, all, .. } = query_params(query, &["limit", "all"])?;
    match ask(&state, caller, ClientRequest::Exceptions { limit, all }).await? {
        ClientResponse::Exceptions(list) => Ok(Json(list).into_response()),
        other => Err(unexpected(&other)),
    }
}

/// The body of POST /v1/exceptions/{id}/resolve.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    decision: Resolution,
    note: String,
}

async fn resolve(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let claim = decision_claim(id, query)?;
    let ResolveBody { decision, note } = parse_json(&body_text(body)?)?;
    decide(&state, caller, claim, |claim| ClientRequest::Resolve { claim, resolution: decision, note }).await
}

/// The content type of an SIE file: text in code page 437 (SIE's PC8).
pub const SIE_CONTENT_TYPE: &str = "text/plain; charset=IBM437";

/// The header of a GET /v1/sie answer that says how many vouchers (claims) the file holds.
pub const SIE_VOUCHERS_HEADER: &str = "kvitt-vouchers";

/// GET /v1/sie?agency=ORG&from=DATE&to=DATE[&again=true]: the SIE 4I file of one
/// agency's claims booked from..=to; claims exported before only with `again=true`.
async fn sie(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let Query(pairs) = query.map_err(|rejection| bad_request(rejection.body_text()))?;
    let mut given: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in pairs {
        if !["agency", "from", "to", "again"].contains(&name.as_str()) {
            return Err(bad_parameter(
                &name,
                format!("unknown query parameter {name:?}: this route takes only agency, from, to, again"),
            ));
        }
        if given.insert(name.clone(), value).is_some() {
            return Err(bad_parameter(&name, format!("query parameter {name:?} is given more than once")));
        }
    }
    let required = |name: &str| {
        given
            .get(name)
            .cloned()
            .ok_or_else(|| bad_parameter(name, format!("query parameter {name:?} is required")))
    };
    let date = |name: &str| -> Result<time::Date, Problem> {
        let text = required(name)?;
        kvitt_protocol::fields::parse_date(name, &text)
            .map_err(|_| bad_parameter(name, format!("{name} {text:?} is not a date YYYY-MM-DD")))
    };
    let again = match given.get("again").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(bad_parameter("again", format!("again {other:?} is not true or false"))),
    };
    let export = SieExport { agency: required("agency")?, from: date("from")?, to: date("to")?, again };
    match ask(&state, caller, ClientRequest::ExportSie(export)).await? {
        ClientResponse::Sie(file) => Ok((
            [
                (header::CONTENT_TYPE, SIE_CONTENT_TYPE.to_owned()),
                (header::HeaderName::from_static(SIE_VOUCHERS_HEADER), file.claims.len().to_string()),
            ],
            file.bytes,
        )
            .into_response()),
        other => Err(unexpected(&other)),
    }
}

/// The body of POST /v1/sync (an empty body means every peer).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncRequest {
    /// The peer's organisation number or node key (hex); every peer if absent.
    peer: Option<String>,
}

async fn sync(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    no_params(query)?;
    let text = body_text(body)?;
    let SyncRequest { peer } =
        if text.trim().is_empty() { SyncRequest::default() } else { parse_json(&text)? };
    match ask(&state, caller, ClientRequest::Reconcile { peer }).await? {
        ClientResponse::Reconciled(sessions) => {
            let sessions: Vec<Value> = sessions
                .into_iter()
                .map(|session| match session.result {
                    Ok(summary) => json!({
                        "peer": session.peer,
                        "org": session.org,
                        "ok": true,
                        "they_lack": summary.have.len(),
                        "we_lack": summary.need,
                        "frames_sent": summary.frames_sent,
                        "bytes_sent": summary.bytes_sent,
                        "bytes_received": summary.bytes_received,
                        "millis": u64::try_from(summary.elapsed.as_millis()).unwrap_or(u64::MAX),
                    }),
                    Err(error) => json!({
                        "peer": session.peer,
                        "org": session.org,
                        "ok": false,
                        "error": error,
                    }),
                })
                .collect();
            Ok(Json(sessions).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

fn unexpected(response: &ClientResponse) -> Problem {
    tracing::error!(?response, "the core answered a request with the wrong kind of response");
    Problem::from(Refusal::new(
        RefusalCode::Unavailable,
        "internal error: unexpected answer from the node core",
    ))
}
