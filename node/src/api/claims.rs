//! Claim drafts, claims and the decisions on them (approve, reject, withdraw, book, pay,
//! reverse).

use utoipa::ToSchema;

use super::answers::{ask, ClaimAnswer, Decision, DraftAnswer, Listed, Submitted};
use super::openapi::{ClaimId, Paging, Problems};
use super::schemas::{
    ClaimActionSchema, ClaimEventSchema, ClaimItemSchema, ClaimSchema, ClaimSummarySchema, DraftViewSchema,
    FindingSchema, PublicKeyHex, RecordIdHex, StatusSchema,
};
use super::*;
use crate::core::ClaimSummary;

/// The body of `POST /v1/drafts`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewDraft {
    /// The claim's purpose (text ≤ 256 bytes).
    purpose: String,
}

/// The draft `number` of the path: one of the caller's.
#[utoipa::path(get, path = "/v1/drafts/{number}", tag = "drafts",
    params(("number" = String, Path, description = "The draft's number")),
    responses((status = 200, description = "The draft and the policy's findings", body = DraftViewSchema), Problems))]
pub(super) async fn show_draft(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    number: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<DraftAnswer, Problem> {
    let number = path_segment(number)?;
    no_params(query)?;
    ask(&state, caller, ClientRequest::ShowDraft { number }).await
}

/// Opens a claim draft.
#[utoipa::path(post, path = "/v1/drafts", tag = "drafts",
    request_body(content = NewDraft, example = json!({"purpose": "Konferens i Stockholm"})),
    responses((status = 200, description = "The new draft", body = DraftViewSchema, links(
        ("ShowDraft" = (operation_id = "show_draft", parameters(("number" = "$response.body#/number")))),
        ("AddItem" = (operation_id = "add_item", parameters(("number" = "$response.body#/number")))),
        ("Submit" = (operation_id = "submit", parameters(("number" = "$response.body#/number")))))),
        Problems))]
pub(super) async fn new_draft(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<DraftAnswer, Problem> {
    no_params(query)?;
    let NewDraft { purpose } = parse_json(&body_text(body)?)?;
    ask(&state, caller, ClientRequest::NewClaim { purpose }).await
}

/// Adds an item to a draft.
#[utoipa::path(post, path = "/v1/drafts/{number}/items", tag = "drafts",
    request_body(content = ClaimItemSchema, example = json!({
        "kind": "mileage", "date": "2026-05-04", "route": "Uppsala – Stockholm",
        "business_purpose": "Resa till konferens", "km": 72, "vehicle": "own_car", "rate_per_km": 250,
        "amount": 18000, "booking": {"account": 5800, "cost_center": "CC-100"}})),
    params(("number" = String, Path, description = "The draft's number")),
    responses((status = 200, description = "The draft with the item", body = DraftViewSchema), Problems))]
pub(super) async fn add_item(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    number: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<DraftAnswer, Problem> {
    let number = path_segment(number)?;
    no_params(query)?;
    let item: ClaimItem = parse_json(&body_text(body)?)?;
    ask(&state, caller, ClientRequest::AddItem { number, item: Box::new(item) }).await
}

/// Signs and submits the claim of a draft.
#[utoipa::path(post, path = "/v1/drafts/{number}/submit", tag = "drafts",
    params(("number" = String, Path, description = "The draft's number")),
    responses((status = 201, description = "The claim is signed and submitted", body = Submitted), Problems))]
pub(super) async fn submit(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    number: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Submitted, Problem> {
    let number = path_segment(number)?;
    no_params(query)?;
    ask(&state, caller, ClientRequest::Submit { number }).await
}

/// Lists claims (an employee: their own), one page.
#[utoipa::path(get, path = "/v1/claims", tag = "claims", params(Paging),
    responses((status = 200, description = "A page of claims", body = [ClaimSummarySchema], headers(
        ("kvitt-next" = String, description = "Where the next page starts (`after`); absent on the last page")),
        links(
            ("ShowClaim" = (operation_id = "show_claim", parameters(("id" = "$response.body#/0/id")))),
            ("Approve" = (operation_id = "approve", parameters(("id" = "$response.body#/0/id")))),
            ("Reject" = (operation_id = "reject", parameters(("id" = "$response.body#/0/id")))),
            ("Withdraw" = (operation_id = "withdraw", parameters(("id" = "$response.body#/0/id")))),
            ("Book" = (operation_id = "book", parameters(("id" = "$response.body#/0/id")))),
            ("Pay" = (operation_id = "pay", parameters(("id" = "$response.body#/0/id")))),
            ("Reverse" = (operation_id = "reverse", parameters(("id" = "$response.body#/0/id")))))),
        Problems))]
pub(super) async fn list_claims(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Listed<ClaimSummary>, Problem> {
    let ListParams { limit, after, .. } = query_params(query, &["limit", "after"])?;
    ask(&state, caller, ClientRequest::ListClaims { limit, after }).await
}

/// A claim as the API shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = ClaimView)]
struct ClaimJson<'a> {
    /// The claim's id.
    #[schema(value_type = RecordIdHex)]
    id: RecordId,
    /// Where it stands.
    #[schema(value_type = StatusSchema)]
    status: Status,
    /// The claim body.
    #[schema(value_type = ClaimSchema)]
    claim: &'a Claim,
    /// Its events, in chain order.
    events: Vec<EventJson<'a>>,
    /// Why the SSC holds it, if it does.
    exception: Option<&'a str>,
    /// What the agency's policy says of it (omitted when nothing).
    #[serde(skip_serializing_if = "<[Finding]>::is_empty")]
    #[schema(value_type = Vec<FindingSchema>)]
    findings: &'a [Finding],
    /// The decisions the caller may take on it now (omitted when none).
    #[serde(skip_serializing_if = "<[ClaimAction]>::is_empty")]
    #[schema(value_type = Vec<ClaimActionSchema>)]
    actions: &'a [ClaimAction],
}

/// A claim event as the API shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = EventView)]
struct EventJson<'a> {
    /// The event's id.
    #[schema(value_type = RecordIdHex)]
    id: RecordId,
    /// The key that signed it.
    #[schema(value_type = PublicKeyHex)]
    signer: PublicKey,
    /// The event body.
    #[schema(value_type = ClaimEventSchema)]
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

/// One claim with its status, events and exception.
#[utoipa::path(get, path = "/v1/claims/{id}", tag = "claims", params(ClaimId),
    responses((status = 200, description = "The claim", body = ClaimJson), Problems))]
pub(super) async fn show_claim(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<ClaimAnswer, Problem> {
    let claim = parse_id(id)?;
    no_params(query)?;
    ask(&state, caller, ClientRequest::ShowClaim { claim }).await
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

/// The body of a decision that takes a reason.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Reason {
    /// Why (text ≤ 256 bytes, not empty).
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

/// Approves a submitted claim (an approver of the agency).
#[utoipa::path(post, path = "/v1/claims/{id}/approve", tag = "decisions", params(ClaimId),
    responses((status = 200, description = "Where the claim stands now", body = Decision), Problems))]
pub(super) async fn approve(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Decision, Problem> {
    let claim = decision_claim(id, query)?;
    ask(&state, caller, ClientRequest::Decide { claim, action: Action::Approved }).await
}

/// Rejects a claim with a reason (an approver, or SSC staff).
#[utoipa::path(post, path = "/v1/claims/{id}/reject", tag = "decisions", params(ClaimId), request_body = Reason,
    responses((status = 200, description = "Where the claim stands now", body = Decision), Problems))]
pub(super) async fn reject(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Decision, Problem> {
    let (claim, reason) = reasoned(id, query, body)?;
    ask(&state, caller, ClientRequest::Decide { claim, action: Action::Rejected { reason } }).await
}

/// Withdraws one's own claim.
#[utoipa::path(post, path = "/v1/claims/{id}/withdraw", tag = "decisions", params(ClaimId),
    responses((status = 200, description = "Where the claim stands now", body = Decision), Problems))]
pub(super) async fn withdraw(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Decision, Problem> {
    let claim = decision_claim(id, query)?;
    ask(&state, caller, ClientRequest::Decide { claim, action: Action::Withdrawn }).await
}

/// Books an approved claim (SSC staff): the next voucher number.
#[utoipa::path(post, path = "/v1/claims/{id}/book", tag = "decisions", params(ClaimId),
    responses((status = 200, description = "Where the claim stands now", body = Decision), Problems))]
pub(super) async fn book(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Decision, Problem> {
    let claim = decision_claim(id, query)?;
    ask(&state, caller, ClientRequest::Book { claim }).await
}

/// Marks a booked claim paid today (SSC staff).
#[utoipa::path(post, path = "/v1/claims/{id}/pay", tag = "decisions", params(ClaimId),
    responses((status = 200, description = "Where the claim stands now", body = Decision), Problems))]
pub(super) async fn pay(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Decision, Problem> {
    let claim = decision_claim(id, query)?;
    ask(&state, caller, ClientRequest::Pay { claim }).await
}

/// Reverses a booked or paid claim with a reason (SSC staff): a reversing voucher.
#[utoipa::path(post, path = "/v1/claims/{id}/reverse", tag = "decisions", params(ClaimId), request_body = Reason,
    responses((status = 200, description = "Where the claim stands now", body = Decision), Problems))]
pub(super) async fn reverse(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Decision, Problem> {
    let (claim, reason) = reasoned(id, query, body)?;
    ask(&state, caller, ClientRequest::Reverse { claim, reason }).await
}
