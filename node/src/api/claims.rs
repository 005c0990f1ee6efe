//! Claim drafts, claims and the decisions on them (approve, reject, withdraw, book, pay,
//! reverse).

use super::*;

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

pub(super) fn draft_response(response: ClientResponse) -> Result<Response, Problem> {
    match response {
        ClientResponse::Draft { draft, findings } => {
            Ok(Json(DraftJson { draft: &draft, findings: &findings }).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

pub(super) async fn show_draft(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    number: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let number = path_segment(number)?;
    no_params(query)?;
    draft_response(ask(&state, caller, ClientRequest::ShowDraft { number }).await?)
}

pub(super) async fn new_draft(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    no_params(query)?;
    let NewDraft { purpose } = parse_json(&body_text(body)?)?;
    draft_response(ask(&state, caller, ClientRequest::NewClaim { purpose }).await?)
}

pub(super) async fn add_item(
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

pub(super) async fn submit(
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

pub(super) async fn list_claims(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let ListParams { limit, after, .. } = query_params(query, &["limit", "after"])?;
    match ask(&state, caller, ClientRequest::ListClaims { limit, after }).await? {
        ClientResponse::Claims(page) => Ok(page_response(&page.items, page.next.as_ref())),
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
    #[serde(skip_serializing_if = "<[ClaimAction]>::is_empty")]
    actions: &'a [ClaimAction],
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
        actions: &view.actions,
    };
    serde_json::to_value(claim).unwrap_or(Value::Null)
}

pub(super) async fn show_claim(
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
pub(super) async fn decide(
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
pub(super) fn decision_claim(
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<RecordId, Problem> {
    let claim = parse_id(id)?;
    no_params(query)?;
    Ok(claim)
}

pub(super) async fn approve(
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

/// The claim id and the reason of a decision that takes `{"reason": "<text>"}`.
fn reasoned(
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<(RecordId, String), Problem> {
    let claim = decision_claim(id, query)?;
    let Reason { reason } = parse_json(&body_text(body)?)?;
    Ok((claim, reason))
}

pub(super) async fn reject(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let (claim, reason) = reasoned(id, query, body)?;
    let action = Action::Rejected { reason };
    decide(&state, caller, claim, |claim| ClientRequest::Decide { claim, action }).await
}

pub(super) async fn withdraw(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let claim = decision_claim(id, query)?;
    decide(&state, caller, claim, |claim| ClientRequest::Decide { claim, action: Action::Withdrawn }).await
}

pub(super) async fn book(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let claim = decision_claim(id, query)?;
    decide(&state, caller, claim, |claim| ClientRequest::Book { claim }).await
}

pub(super) async fn pay(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let claim = decision_claim(id, query)?;
    decide(&state, caller, claim, |claim| ClientRequest::Pay { claim }).await
}

pub(super) async fn reverse(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let (claim, reason) = reasoned(id, query, body)?;
    decide(&state, caller, claim, |claim| ClientRequest::Reverse { claim, reason }).await
}
