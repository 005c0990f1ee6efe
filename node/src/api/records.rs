//! Receipts and records: a till pushes a receipt; people list receipts and read records.

use super::*;
use crate::api::import;

/// `POST /v1/receipts`: kvitt's receipt JSON, or a document of a format tills speak
/// (import.rs) by its `Content-Type`.
pub(super) async fn push_receipt(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
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
    match ask(&state, caller, request).await? {
        ClientResponse::Pushed { id, duplicate, code } => {
            let status = if duplicate { StatusCode::OK } else { StatusCode::CREATED };
            let answer = match code {
                Some(code) => json!({
                    "id": id, "duplicate": duplicate, "code": code.to_string(), "qr": code.qr_payload(),
                }),
                None => json!({ "id": id, "duplicate": duplicate }),
            };
            Ok((status, Json(answer)).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

/// `POST /v1/receipts/fetch` `{"code": …}`: an agency's employee collects a receipt by its
/// code (as typed, or the QR payload) from the merchant the code names (spec/codes.md).
/// Answered once the merchant has answered and the receipt and its assignment are stored.
pub(super) async fn fetch_receipt(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    no_params(query)?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fetch {
        code: String,
    }
    let Fetch { code } = parse_json(&body_text(body)?)?;
    match ask(&state, caller, ClientRequest::FetchReceipt { code }).await? {
        ClientResponse::Fetched { id, assignment } => {
            Ok((StatusCode::CREATED, Json(json!({ "id": id, "assignment": assignment }))).into_response())
        }
        other => Err(unexpected(&other)),
    }
}

/// `POST /v1/cards`: an agency's operator replaces the agency's enrolled cards at its SSC
/// (spec/routing.md §Enrolment).
pub(super) async fn enrol_cards(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    no_params(query)?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Enrolment {
        cards: Vec<crate::core::CardEnrolment>,
    }
    let Enrolment { cards } = parse_json(&body_text(body)?)?;
    match ask(&state, caller, ClientRequest::Enrol { cards }).await? {
        ClientResponse::Enrolled { cards } => Ok(Json(json!({ "cards": cards })).into_response()),
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

pub(super) async fn list_receipts(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let ListParams { employee, limit, after, .. } = query_params(query, &["employee", "limit", "after"])?;
    match ask(&state, caller, ClientRequest::ListReceipts { employee, limit, after }).await? {
        ClientResponse::Receipts(page) => {
            let views: Vec<ReceiptView<'_>> = page
                .items
                .iter()
                .map(|receipt| ReceiptView {
                    id: receipt.id(),
                    signer: receipt.signer(),
                    receipt: receipt.body(),
                })
                .collect();
            Ok(page_response(&views, page.next.as_ref()))
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
        AnyRecord::Assignment(record) => serde_json::to_value(record.body()),
    }
    .unwrap_or(Value::Null);
    json!({ "type": record.kind().as_str(), "id": record.id(), "signer": record.signer(), "body": body, "cbor": hex::encode(record.bytes()) })
}

pub(super) async fn record(
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
