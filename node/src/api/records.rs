//! Receipts and records: a till pushes a receipt; people list receipts and read records.

use utoipa::ToSchema;

use super::answers::{ask, Enrolled, Fetched, Listed, Pushed, ReceiptView, RecordAnswer, RecordView};
use super::openapi::{ImportParams, Problems, ReceiptListing};
use super::schemas::{CardEnrolmentSchema, ReceiptSchema, RecordIdHex};
use super::*;
use crate::api::import;

/// `POST /v1/receipts`: kvitt's receipt JSON, or a document of a format tills speak
/// (import.rs) by its `Content-Type`.
#[utoipa::path(post, path = "/v1/receipts", tag = "receipts", params(ImportParams),
    request_body(description = "A receipt: kvitt's receipt JSON, an SDRS document (`application/xml`) or a Kivra receipt (`application/vnd.kivra.receipt+json`): api.md §Receipt formats",
        content((ReceiptSchema = "application/json"), (String = "application/xml"), (Object = "application/vnd.kivra.receipt+json"))),
    responses(
        (status = 201, description = "The receipt is signed and stored", body = Pushed),
        (status = 200, description = "The same receipt was pushed before", body = Pushed),
        Problems))]
pub(super) async fn push_receipt(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Pushed, Problem> {
    let (receipt, card): (Receipt, Option<String>) = match import::format_of(&headers) {
        Some(format) => import::receipt(format, query, body)?,
        None => {
            let card = checked_pairs(query, &["card"])?.pop().map(|(_, value)| value);
            (parse_json(&body_text(body)?)?, card)
        }
    };
    let request = match card {
        // Routed by the card (spec/routing.md): answered once the SSCs have answered.
        Some(card) => ClientRequest::PushCardReceipt { receipt: Box::new(receipt), card },
        None => ClientRequest::PushReceipt(Box::new(receipt)),
    };
    ask(&state, caller, request).await
}

/// The body of `POST /v1/receipts/fetch`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Fetch {
    /// The receipt code as typed at the till, or the QR payload (codes.md).
    code: String,
}

/// `POST /v1/receipts/fetch` `{"code": …}`: an agency's employee collects a receipt by its
/// code (as typed, or the QR payload) from the merchant the code names (spec/codes.md).
/// Answered once the merchant has answered and the receipt and its assignment are stored.
#[utoipa::path(post, path = "/v1/receipts/fetch", tag = "receipts", request_body = Fetch,
    responses((status = 201, description = "The receipt and its assignment are stored", body = Fetched), Problems))]
pub(super) async fn fetch_receipt(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Fetched, Problem> {
    no_params(query)?;
    let Fetch { code } = parse_json(&body_text(body)?)?;
    ask(&state, caller, ClientRequest::FetchReceipt { code }).await
}

/// The body of `POST /v1/cards`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Enrolment {
    /// Every card of the agency: the enrolment replaces the one in force.
    #[schema(value_type = Vec<CardEnrolmentSchema>)]
    cards: Vec<crate::core::CardEnrolment>,
}

/// `POST /v1/cards`: an agency's operator replaces the agency's enrolled cards at its SSC
/// (spec/routing.md §Enrolment).
#[utoipa::path(post, path = "/v1/cards", tag = "receipts", request_body = Enrolment,
    responses((status = 200, description = "The enrolment is in force at the SSC", body = Enrolled), Problems))]
pub(super) async fn enrol_cards(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Enrolled, Problem> {
    no_params(query)?;
    let Enrolment { cards } = parse_json(&body_text(body)?)?;
    ask(&state, caller, ClientRequest::Enrol { cards }).await
}

/// Lists receipts (an employee: their own), one page.
#[utoipa::path(get, path = "/v1/receipts", tag = "receipts", params(ReceiptListing),
    responses((status = 200, description = "A page of receipts", body = [ReceiptView], headers(
        ("kvitt-next" = String, description = "Where the next page starts (`after`); absent on the last page")),
        links(("Record" = (operation_id = "record", parameters(("id" = "$response.body#/0/id")))))),
        Problems))]
pub(super) async fn list_receipts(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Listed<ReceiptView>, Problem> {
    let ListParams { employee, limit, after, .. } = query_params(query, &["employee", "limit", "after"])?;
    ask(&state, caller, ClientRequest::ListReceipts { employee, limit, after }).await
}

/// One record the node holds and the caller may see, verified, with its CBOR.
#[utoipa::path(get, path = "/v1/records/{id}", tag = "records",
    params(("id" = RecordIdHex, Path, description = "The record's id")),
    responses((status = 200, description = "The record", body = RecordView), Problems))]
pub(super) async fn record(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<RecordAnswer, Problem> {
    let id = parse_id(id)?;
    no_params(query)?;
    ask(&state, caller, ClientRequest::Record(id)).await
}
