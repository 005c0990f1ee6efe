//! The client API: HTTP/JSON on loopback for tills, employees, approvers and SSC staff.
//!
//! Every caller sends `Authorization: Bearer <token>`; the token (from config.toml) says
//! who they are and in which role. Errors are RFC 9457 `application/problem+json` with
//! the protocol's error code, the field path and whether to retry. Routes (spec/api.md):
//!
//! | method | path | who | does |
//! |---|---|---|---|
//! | POST | /v1/receipts | till | push a receipt (JSON), answer its id once durable |
//! | GET | /v1/receipts | employee, approver, staff | receipts held (an employee sees their own) |
//! | GET | /v1/records/{id} | anyone | one record, verified, with its CBOR |
//! | POST | /v1/drafts | employee | open a claim draft |
//! | POST | /v1/drafts/{number}/items | employee | add an item |
//! | POST | /v1/drafts/{number}/submit | employee | sign and submit the claim |
//! | GET | /v1/claims | all but tills | claims (an employee sees their own) |
//! | GET | /v1/claims/{id} | all but tills | one claim with status and events |
//! | POST | /v1/claims/{id}/approve, /reject, /withdraw | approver, employee, staff | decide |
//! | POST | /v1/claims/{id}/book, /pay | SSC staff | book, pay |
//! | GET | /v1/exceptions | staff, approver, operator | equivocation evidence, duplicates |
//! | GET | /v1/directory | anyone | the signed directory in force |
//! | PUT | /v1/directory | operator | install a newer signed directory (CBOR body) |

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
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
use crate::core::{Caller, ClaimSummary, ClaimView, ClientRequest, ClientResponse, Draft};
use crate::handle::NodeHandle;

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
pub fn router(node: NodeHandle, tokens: &[TokenConfig]) -> Router {
    let tokens = tokens
        .iter()
        .map(|token| (token.token.clone(), Caller { person: token.person.clone(), role: token.role }))
        .collect();
    Router::new()
        .route("/v1/receipts", post(push_receipt).get(list_receipts))
        .route("/v1/records/{id}", get(record))
        .route("/v1/drafts", post(new_draft))
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
        .route("/v1/directory", get(directory).put(install_directory))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ApiState { node, tokens: Arc::new(tokens) })
}

/// An error as `application/problem+json`.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    refusal: Refusal,
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
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
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
        | "event.transition"
        | "event.chain"
        | "ledger.equivocation" => StatusCode::CONFLICT,
        "request.invalid" => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn caller(state: &ApiState, headers: &HeaderMap) -> Result<Caller, Problem> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    token.and_then(|token| state.tokens.get(token).cloned()).ok_or_else(|| Problem {
        status: StatusCode::UNAUTHORIZED,
        refusal: Refusal {
            code: "auth.unauthenticated".into(),
            path: String::new(),
            message: "send Authorization: Bearer <token> with a token from this node's config.toml".into(),
            retry: false,
        },
    })
}

fn bad_request(message: String) -> Problem {
    Problem::from(Refusal::new(RefusalCode::BadRequest, message))
}

fn parse_id(text: &str) -> Result<RecordId, Problem> {
    text.parse().map_err(|_| bad_request(format!("{text:?} is not a record id (64 hex digits)")))
}

async fn ask(
    state: &ApiState,
    headers: &HeaderMap,
    request: ClientRequest,
) -> Result<ClientResponse, Problem> {
    let caller = caller(state, headers)?;
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

async fn push_receipt(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, Problem> {
    let receipt: Receipt = parse_json(&body)?;
    match ask(&state, &headers, ClientRequest::PushReceipt(Box::new(receipt))).await? {
        ClientResponse::Pushed { id, duplicate } => {
            let status = if duplicate { StatusCode::OK } else { StatusCode::CREATED };
            Ok((status, Json(json!({ "id": id, "duplicate": duplicate }))).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    employee: Option<String>,
    limit: Option<usize>,
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
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, Problem> {
    let request = ClientRequest::ListReceipts {
        employee: query.employee,
        limit: query.limit.unwrap_or(DEFAULT_LIST_LIMIT),
    };
    match ask(&state, &headers, request).await? {
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

async fn directory(State(state): State<ApiState>, headers: HeaderMap) -> Result<Response, Problem> {
    directory_json(ask(&state, &headers, ClientRequest::Directory).await?)
}

/// The body is the signed directory's CBOR bytes, as `kvitt directory publish` writes them.
async fn install_directory(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    directory_json(ask(&state, &headers, ClientRequest::InstallDirectory { bytes: body.to_vec() }).await?)
}

async fn record(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    match ask(&state, &headers, ClientRequest::Record(parse_id(&id)?)).await? {
        ClientResponse::Record(record) => Ok(Json(record_json(&record)).into_response()),
        other => Err(unexpected(&other)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDraft {
    purpose: String,
}

fn draft_response(response: ClientResponse) -> Result<Response, Problem> {
    match response {
        ClientResponse::Draft(draft) => Ok(Json::<Draft>(*draft).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn new_draft(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, Problem> {
    let NewDraft { purpose } = parse_json(&body)?;
    draft_response(ask(&state, &headers, ClientRequest::NewClaim { purpose }).await?)
}

async fn add_item(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(number): Path<String>,
    body: String,
) -> Result<Response, Problem> {
    let item: ClaimItem = parse_json(&body)?;
    draft_response(ask(&state, &headers, ClientRequest::AddItem { number, item: Box::new(item) }).await?)
}

async fn submit(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Result<Response, Problem> {
    match ask(&state, &headers, ClientRequest::Submit { number }).await? {
        ClientResponse::Submitted { claim } => {
            Ok((StatusCode::CREATED, Json(json!({ "claim": claim }))).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

async fn list_claims(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, Problem> {
    match ask(
        &state,
        &headers,
        ClientRequest::ListClaims { limit: query.limit.unwrap_or(DEFAULT_LIST_LIMIT) },
    )
    .await?
    {
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
    };
    serde_json::to_value(claim).unwrap_or(Value::Null)
}

async fn show_claim(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    match ask(&state, &headers, ClientRequest::ShowClaim { claim: parse_id(&id)? }).await? {
        ClientResponse::Claim(view) => Ok(Json(claim_json(&view)).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn decide(
    state: &ApiState,
    headers: &HeaderMap,
    id: &str,
    request: impl FnOnce(RecordId) -> ClientRequest,
) -> Result<Response, Problem> {
    match ask(state, headers, request(parse_id(id)?)).await? {
        ClientResponse::Status(status) => Ok(Json(json!({ "status": status })).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn approve(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    decide(&state, &headers, &id, |claim| ClientRequest::Decide { claim, action: Action::Approved }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

async fn reject(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Result<Response, Problem> {
    let Reason { reason } = parse_json(&body)?;
    decide(&state, &headers, &id, |claim| ClientRequest::Decide {
        claim,
        action: Action::Rejected { reason },
    })
    .await
}

async fn withdraw(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    decide(&state, &headers, &id, |claim| ClientRequest::Decide { claim, action: Action::Withdrawn }).await
}

async fn book(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    decide(&state, &headers, &id, |claim| ClientRequest::Book { claim }).await
}

async fn pay(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    decide(&state, &headers, &id, |claim| ClientRequest::Pay { claim }).await
}

async fn exceptions(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, Problem> {
    match ask(
        &state,
        &headers,
        ClientRequest::Exceptions { limit: query.limit.unwrap_or(DEFAULT_LIST_LIMIT) },
    )
    .await?
    {
        ClientResponse::Exceptions(list) => {
            let list: Vec<Value> =
                list.into_iter().map(|(id, why)| json!({ "id": id, "why": why })).collect();
            Ok(Json(list).into_response())
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
