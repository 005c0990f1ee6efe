//! The client API: HTTP/JSON on loopback for tills, employees, approvers and SSC staff.
//!
//! Every caller sends `Authorization: Bearer <token>` (the scheme in any case); the token
//! (kept hashed in access.json, crate::access) says who they are and in which role. The token is checked first, on
//! every path and method, before a path id, query string or body is read. Every error,
//! the HTTP layer's too (unknown route, wrong method, body over [`MAX_BODY_BYTES`] or late,
//! a query string or body that does not parse, a request head hyper cannot parse or hold:
//! [`hyper_errors`]), is an RFC 9457 `application/problem+json` with the protocol's error
//! code, the field path and whether to retry. [`serve`] serves the router with read
//! timeouts and a connection cap. Query parameters a route
//! does not take are refused. Routes (spec/api.md):
//!
//! | method | path | who | does |
//! |---|---|---|---|
//! | POST | /v1/receipts | till | push a receipt (kvitt JSON, SDRS XML or Kivra JSON by content type), answer its id once durable |
//! | GET | /v1/receipts | employee, approver, staff | receipts held (an employee sees their own) |
//! | POST | /v1/receipts/fetch | employee (agency) | collect a receipt by its code from the merchant the code names |
//! | POST | /v1/cards | operator (agency) | replace the agency's enrolled cards at its SSC |
//! | GET | /v1/records/{id} | anyone, for what concerns them | one record, verified, with its CBOR |
//! | POST | /v1/drafts | employee | open a claim draft |
//! | GET | /v1/drafts/{number} | employee | one's draft, with the policy's findings |
//! | POST | /v1/drafts/{number}/items | employee | add an item |
//! | POST | /v1/drafts/{number}/submit | employee | sign and submit the claim |
//! | GET | /v1/claims | all but tills | claims (an employee sees their own) |
//! | GET | /v1/claims/{id} | all but tills | one claim with status and events |
//! | POST | /v1/claims/{id}/approve, /reject, /withdraw | approver, employee, staff | decide |
//! | POST | /v1/claims/{id}/book, /pay | SSC staff | book, pay |
//! | POST | /v1/claims/{id}/reverse | SSC staff | reverse a booked or paid claim, with a reason |
//! | GET | /v1/exceptions | staff, approver, operator | open exceptions (`all=true`: resolved too), with the next step |
//! | POST | /v1/exceptions/{id}/resolve | SSC staff | reject or book a claim held for an exception |
//! | GET | /v1/sie | SSC staff | one agency's booked claims as an SIE 4I file (PC8 bytes) |
//! | GET | /v1/directory | anyone | the signed directory in force |
//! | PUT | /v1/directory | operator | install a newer signed directory (CBOR body) |
//! | POST | /v1/sync | operator | reconcile now with one peer or all; how each session went |
//! | POST | /v1/recover | operator | one round of recovering a damaged ledger from the peers; how it stands |
//! | GET | /v1/admin/backup | operator | the ledger's entries as one state, a dump to back up ([`backup`]) |
//! | GET | /healthz, /readyz | anyone, no token | liveness and readiness, each check named ([`health`]) |
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
use kvitt_formats::FormatCode;
use kvitt_protocol::claim::{Claim, ClaimItem};
use kvitt_protocol::event::{Action, ClaimEvent, Status};
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{AnyCode, Refusal, RefusalCode};
use kvitt_protocol::ErrorCode;
use kvitt_protocol::{AnyRecord, PublicKey, RecordId};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::access::Access;
use crate::core::{
    Caller, ClaimAction, ClaimView, ClientRequest, ClientResponse, Cursor, Draft, Resolution, SieExport,
};
use crate::handle::NodeHandle;
use crate::policy::Finding;

mod access_log;
mod admin;
mod backup;
mod claims;
mod health;
mod hyper_errors;
mod import;
mod records;
mod scrape;
pub mod serve;
mod ssc;
mod unread_body;

pub use access_log::{REQUEST_ID_HEADER, UNMATCHED_ROUTE};
use admin::{directory, install_directory, recover, sync};
pub use backup::{BACKUP_ENTRIES_HEADER, BACKUP_PAUSE_HEADER, BACKUP_SHA256_HEADER};
pub use claims::claim_json;
use claims::{
    add_item, approve, book, list_claims, new_draft, pay, reject, reverse, show_claim, show_draft, submit,
    withdraw,
};
pub use health::CORE_ANSWER_TIMEOUT;
pub use records::record_json;
use records::{enrol_cards, fetch_receipt, list_receipts, push_receipt, record};
pub use scrape::{metrics_router, MAX_COUNTED_EXCEPTIONS};
use ssc::{exceptions, resolve, sie};
pub use ssc::{SIE_CONTENT_TYPE, SIE_LEFT_OUT_HEADER, SIE_VOUCHERS_HEADER};

/// Largest request body the API reads, in bytes (a receipt at its 1000-line limit fits).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most entries a list returns when the caller names no limit.
pub const DEFAULT_LIST_LIMIT: usize = 1000;

#[derive(Clone)]
struct ApiState {
    node: NodeHandle,
    access: Arc<Access>,
}

/// The API's routes over a node.
///
/// Every request is authenticated first (the `authenticate` layer wraps every route, the
/// fallback for unknown paths and the answer to a method a route lacks), so a request
/// without a valid token is answered `401` whatever its path, query or body; only the
/// probes `/healthz` and `/readyz` ([`health`]) answer without one. The tokens are
/// `access`'s as they stand at each request: one revoked is refused from the next. Every
/// request is logged and counted ([`access_log`]). An answer given before the body was
/// read closes the connection (see [`unread_body`]).
pub fn router(node: NodeHandle, access: Arc<Access>) -> Router {
    let state = ApiState { node, access };
    Router::new()
        .route("/v1/receipts", post(push_receipt).get(list_receipts))
        .route("/v1/receipts/fetch", post(fetch_receipt))
        .route("/v1/cards", post(enrol_cards))
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
        .route("/v1/claims/{id}/reverse", post(reverse))
        .route("/v1/exceptions", get(exceptions))
        .route("/v1/exceptions/{id}/resolve", post(resolve))
        .route("/v1/sie", get(sie))
        .route("/v1/directory", get(directory).put(install_directory))
        .route("/v1/sync", post(sync))
        .route("/v1/recover", post(recover))
        .route("/v1/admin/backup", get(backup::backup))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn_with_state(state.clone(), authenticate))
        // The probes need no token: merged after `authenticate`, which does not wrap them.
        .merge(health::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), access_log::access_log))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(unread_body::close_if_body_unread))
        .with_state(state)
}

/// An error as `application/problem+json`.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    code: ProblemCode,
    path: String,
    message: String,
    retry: bool,
}

/// The code of a problem document: a refusal's code (as a node gives it on the wire
/// too), a receipt format's code, or the API's own `auth.unauthenticated`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemCode {
    /// A record error code or a refusal code.
    Refused(AnyCode),
    /// An SDRS or Kivra document was refused (spec/api.md §Receipt formats).
    Format(FormatCode),
    /// The request carries no token of this node.
    Unauthenticated,
}

impl ProblemCode {
    /// The stable dotted code.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::Refused(code) => code.as_str(),
            ProblemCode::Format(code) => code.as_str(),
            ProblemCode::Unauthenticated => "auth.unauthenticated",
        }
    }

    /// The HTTP status the code is answered with (spec/api.md §Errors).
    pub fn status(self) -> StatusCode {
        match self {
            ProblemCode::Refused(code) => status_of(code),
            ProblemCode::Format(FormatCode::Rule(code)) => status_of(AnyCode::Record(code)),
            ProblemCode::Format(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        }
    }
}

impl Problem {
    /// A problem whose status is its code's.
    fn new(code: ProblemCode, path: impl Into<String>, message: impl Into<String>, retry: bool) -> Problem {
        Problem { status: code.status(), code, path: path.into(), message: message.into(), retry }
    }

    /// A problem with a status of its own (not the one [`status_of`] gives its code).
    fn with_status(status: StatusCode, code: RefusalCode, path: &str, message: impl Into<String>) -> Problem {
        let refusal = Refusal::new(code, message);
        Problem { status, path: path.into(), ..Problem::from(refusal) }
    }

    /// The problem document's JSON text (RFC 9457, the seven members of spec/api.md §Errors).
    fn document(&self) -> String {
        let code = self.code.as_str();
        json!({
            "type": format!("https://kvitt.invalid/problems/{code}"),
            "title": code,
            "status": self.status.as_u16(),
            "detail": self.message,
            "code": code,
            "path": self.path,
            "retry": self.retry,
        })
        .to_string()
    }
}

/// The media type of every error the API answers.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = self.document();
        let mut response =
            (self.status, [(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)], body).into_response();
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
        Problem::new(ProblemCode::Refused(refusal.code), refusal.path, refusal.message, refusal.retry)
    }
}

/// The HTTP status for a refusal's code.
pub fn status_of(code: AnyCode) -> StatusCode {
    use RefusalCode as R;
    match code {
        AnyCode::Refusal(R::Forbidden) => StatusCode::FORBIDDEN,
        AnyCode::Refusal(R::NotFound | R::CodeUnknown) => StatusCode::NOT_FOUND,
        AnyCode::Refusal(R::Unavailable | R::DiskFull | R::Recovering) => StatusCode::SERVICE_UNAVAILABLE,
        AnyCode::Refusal(
            R::SerialOrder
            | R::ReceiptClaimed
            | R::ExceptionOpen
            | R::Equivocation
            | R::CardTaken
            | R::CodeCollected
            | R::ReceiptUnassigned,
        )
        | AnyCode::Record(ErrorCode::Transition | ErrorCode::Chain) => StatusCode::CONFLICT,
        AnyCode::Refusal(R::BadRequest) => StatusCode::BAD_REQUEST,
        AnyCode::Refusal(R::RateLimited) => StatusCode::TOO_MANY_REQUESTS,
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
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    token.and_then(|token| state.access.token_caller(token, now)).ok_or_else(unauthenticated)
}

/// `401` `auth.unauthenticated`.
fn unauthenticated() -> Problem {
    Problem::new(
        ProblemCode::Unauthenticated,
        "",
        "send Authorization: Bearer <token> with a token of this node (`kvitt token add`)",
        false,
    )
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
        } else if let Some(timeout) = timed_out(&rejection) {
            let mut problem = Problem::with_status(
                StatusCode::REQUEST_TIMEOUT,
                RefusalCode::BadRequest,
                "",
                timeout.to_string(),
            );
            problem.retry = true;
            problem
        } else {
            bad_request(format!("the request body could not be read: {}", rejection.body_text()))
        }
    })
}

/// The body timeout behind a body that could not be read, if that is why.
fn timed_out(rejection: &BytesRejection) -> Option<&serve::BodyTimedOut> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = cause {
        if let Some(timeout) = error.downcast_ref::<serve::BodyTimedOut>() {
            return Some(timeout);
        }
        cause = error.source();
    }
    None
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
    after: Option<Cursor>,
}

/// The header of a list's answer that says where the next page starts (the list's `after`
/// for it); absent on the last page.
pub const NEXT_HEADER: &str = "kvitt-next";

/// A page of a list as JSON: the entries as an array, and [`NEXT_HEADER`] if more follow.
fn page_response<T: Serialize>(items: &[T], next: Option<&Cursor>) -> Response {
    let mut response = Json(items).into_response();
    if let Some(value) =
        next.and_then(|Cursor(bytes)| header::HeaderValue::from_str(&hex::encode(bytes)).ok())
    {
        response.headers_mut().insert(header::HeaderName::from_static(NEXT_HEADER), value);
    }
    response
}

/// The query string's parameters, checked: each one of `known`, none given twice.
fn checked_pairs(query: QueryPairs, known: &[&str]) -> Result<Vec<(String, String)>, Problem> {
    let Query(pairs) = query.map_err(|rejection| bad_request(rejection.body_text()))?;
    let mut seen = BTreeSet::new();
    for (name, _) in &pairs {
        if !known.contains(&name.as_str()) {
            let takes = match known {
                [] => "no query parameters".to_owned(),
                known => format!("only {}", known.join(", ")),
            };
            return Err(bad_parameter(
                name,
                format!("unknown query parameter {name:?}: this route takes {takes}"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(bad_parameter(name, format!("query parameter {name:?} is given more than once")));
        }
    }
    Ok(pairs)
}

/// Reads the query string of a route that takes the parameters `known` (a subset of
/// `employee`, `limit`, `all` and `after`); any other parameter, or one given twice, is
/// refused.
fn query_params(query: QueryPairs, known: &[&str]) -> Result<ListParams, Problem> {
    let mut params = ListParams { employee: None, limit: DEFAULT_LIST_LIMIT, all: false, after: None };
    for (name, value) in checked_pairs(query, known)? {
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
            "after" => {
                let bytes = hex::decode(&value).ok().filter(|bytes| !bytes.is_empty());
                params.after = Some(Cursor(bytes.ok_or_else(|| {
                    bad_parameter(
                        "after",
                        format!("after {value:?} is not a cursor (the {NEXT_HEADER} of a page)"),
                    )
                })?));
            }
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
        Problem::new(
            ProblemCode::Refused(ErrorCode::Schema.into()),
            error.path().to_string(),
            error.inner().to_string(),
            false,
        )
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

fn unexpected(response: &ClientResponse) -> Problem {
    tracing::error!(?response, "the core answered a request with the wrong kind of response");
    Problem::from(Refusal::new(
        RefusalCode::Unavailable,
        "internal error: unexpected answer from the node core",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code spec/api.md §Errors names in its status table gets that status.
    #[test]
    fn each_code_has_the_status_the_spec_gives() {
        let spec = include_str!("../../../spec/api.md");
        let mut checked = 0;
        let table = spec.lines().skip_while(|line| *line != "| code | status |").skip(2);
        for line in table.take_while(|line| line.starts_with('|')) {
            let Some((codes, status)) = line.trim_matches('|').rsplit_once('|') else { continue };
            let Some(status) = status.split_whitespace().next().and_then(|code| code.parse::<u16>().ok())
            else {
                continue;
            };
            for code in codes.split('`').skip(1).step_by(2) {
                let problem = match code {
                    "auth.unauthenticated" => ProblemCode::Unauthenticated,
                    "format.syntax" => ProblemCode::Format(FormatCode::Syntax),
                    "format.missing" => ProblemCode::Format(FormatCode::Missing),
                    "format.value" => ProblemCode::Format(FormatCode::Value),
                    "format.unsupported" => ProblemCode::Format(FormatCode::Unsupported),
                    "format.too_large" => ProblemCode::Format(FormatCode::TooLarge),
                    other => match AnyCode::parse(other) {
                        Some(code) => ProblemCode::Refused(code),
                        None => panic!("spec/api.md names {other}, which is no code"),
                    },
                };
                assert_eq!(problem.as_str(), code);
                assert_eq!(problem.status().as_u16(), status, "{code}");
                checked += 1;
            }
        }
        assert!(checked > 30, "the table was found ({checked} codes)");
    }
}
