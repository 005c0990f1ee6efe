//! The typed answer of each route, and [`ask`], the one place a route asks the core.
//!
//! A route's handler reads its request, names the core request it makes and returns its
//! answer type; [`ask`] sends the request and turns the core's reply into that type. A
//! refusal becomes a problem with its code's status ([`Problem`]), and a reply of another
//! kind than the answer type takes (a bug of the core) is logged and answered `503`. Each
//! answer type takes exactly the [`ClientResponse`] variant its routes expect
//! (`TryFrom<ClientResponse>`, handing any other back), is its own HTTP answer (status,
//! headers, JSON) and its own OpenAPI schema ([`super::openapi`]), so what a route answers
//! is said once, in its signature.

use utoipa::ToSchema;

use super::schemas::{FindingSchema, Hex, PublicKeyHex, ReceiptSchema, RecordIdHex, StatusSchema};
use super::*;
use crate::core::{ClaimSummary, Exception, Page, PeerReconciliation, RecoveryStatus, SieFile};

/// Asks the core `request` on behalf of `caller` and reads the answer as `A`.
pub(super) async fn ask<A>(state: &ApiState, caller: Caller, request: ClientRequest) -> Result<A, Problem>
where
    A: TryFrom<ClientResponse, Error = ClientResponse>,
{
    let response = state.node.ask(caller, request).await?;
    A::try_from(response).map_err(|other| unexpected(&other))
}

/// The core answered with a variant the route does not take: a bug, logged, and `503`.
fn unexpected(response: &ClientResponse) -> Problem {
    tracing::error!(?response, "the core answered a request with the wrong kind of response");
    Problem::from(Refusal::new(
        RefusalCode::Unavailable,
        "internal error: unexpected answer from the node core",
    ))
}

/// Implements `TryFrom<ClientResponse>` for an answer made from one variant.
macro_rules! from_variant {
    ($answer:ty, $pattern:pat => $made:expr) => {
        impl TryFrom<ClientResponse> for $answer {
            type Error = ClientResponse;

            fn try_from(response: ClientResponse) -> Result<Self, ClientResponse> {
                match response {
                    $pattern => Ok($made),
                    other => Err(other),
                }
            }
        }
    };
}

/// Implements `IntoResponse` as `200` with the answer's JSON.
macro_rules! json_answer {
    ($answer:ty) => {
        impl IntoResponse for $answer {
            fn into_response(self) -> Response {
                Json(self).into_response()
            }
        }
    };
}

/// `POST /v1/receipts`: the receipt is signed and stored (`201`), or was already (`200`).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Pushed {
    /// The receipt code the till shows, for a receipt signed without a buyer (codes.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    /// Whether the same receipt had been pushed before.
    duplicate: bool,
    /// The receipt's id.
    #[schema(value_type = RecordIdHex)]
    id: RecordId,
    /// The code as the payload of a QR code, when there is a code.
    #[serde(skip_serializing_if = "Option::is_none")]
    qr: Option<String>,
}

from_variant!(Pushed, ClientResponse::Pushed { id, duplicate, code } => Pushed {
    qr: code.as_ref().map(|code| code.qr_payload()),
    code: code.map(|code| code.to_string()),
    duplicate,
    id,
});

impl IntoResponse for Pushed {
    fn into_response(self) -> Response {
        let status = if self.duplicate { StatusCode::OK } else { StatusCode::CREATED };
        (status, Json(self)).into_response()
    }
}

/// `POST /v1/receipts/fetch`: the receipt and its assignment to the employee are stored.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Fetched {
    /// The id of the merchant's assignment of the receipt to this agency.
    #[schema(value_type = RecordIdHex)]
    assignment: RecordId,
    /// The receipt's id.
    #[schema(value_type = RecordIdHex)]
    id: RecordId,
}

from_variant!(Fetched, ClientResponse::Fetched { id, assignment } => Fetched { assignment, id });

impl IntoResponse for Fetched {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self)).into_response()
    }
}

/// `POST /v1/cards`: the agency's enrolment is in force at its SSC.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Enrolled {
    /// How many cards are enrolled now.
    cards: u64,
}

from_variant!(Enrolled, ClientResponse::Enrolled { cards } => Enrolled { cards });
json_answer!(Enrolled);

/// One page of a list (spec/api.md §Paging): the entries as a JSON array, and
/// [`NEXT_HEADER`] if more follow.
#[derive(Debug)]
pub(super) struct Listed<T> {
    items: Vec<T>,
    next: Option<Cursor>,
}

impl<T: Serialize> IntoResponse for Listed<T> {
    fn into_response(self) -> Response {
        let mut response = Json(&self.items).into_response();
        if let Some(value) =
            self.next.and_then(|Cursor(bytes)| header::HeaderValue::from_str(&hex::encode(bytes)).ok())
        {
            response.headers_mut().insert(header::HeaderName::from_static(NEXT_HEADER), value);
        }
        response
    }
}

/// A receipt as the API lists it: its id and signer, and the receipt.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ReceiptView {
    /// The receipt's id.
    #[schema(value_type = RecordIdHex)]
    id: RecordId,
    /// The merchant node's key that signed it.
    #[schema(value_type = PublicKeyHex)]
    signer: PublicKey,
    /// The receipt (protocol.md §Receipt fields).
    #[schema(value_type = ReceiptSchema)]
    receipt: Receipt,
}

from_variant!(Listed<ReceiptView>, ClientResponse::Receipts(Page { items, next }) => Listed {
    items: items
        .into_iter()
        .map(|receipt| ReceiptView { id: receipt.id(), signer: receipt.signer(), receipt: receipt.body().clone() })
        .collect(),
    next,
});
from_variant!(Listed<ClaimSummary>, ClientResponse::Claims(Page { items, next }) => Listed { items, next });
from_variant!(Listed<Exception>, ClientResponse::Exceptions(Page { items, next }) => Listed { items, next });

/// `GET /v1/records/{id}`: one record, as [`record_json`] shows it.
#[derive(Debug)]
pub(super) struct RecordAnswer(Box<AnyRecord>);

from_variant!(RecordAnswer, ClientResponse::Record(record) => RecordAnswer(record));

impl IntoResponse for RecordAnswer {
    fn into_response(self) -> Response {
        Json(record_json(&self.0)).into_response()
    }
}

/// A record as JSON: its type, id, signer, body and exact CBOR.
#[derive(Serialize, ToSchema)]
pub(super) struct RecordView {
    /// The record's body: the fields of its CBOR form (protocol.md, kvitt.cddl).
    #[schema(value_type = Object)]
    body: Value,
    /// The record's signed envelope, exactly as stored.
    #[schema(value_type = Hex)]
    cbor: String,
    /// The record's id.
    #[schema(value_type = RecordIdHex)]
    id: RecordId,
    /// The key that signed it.
    #[schema(value_type = PublicKeyHex)]
    signer: PublicKey,
    /// The record's type: `receipt`, `claim`, `claim_event`, `directory`, `evidence`,
    /// `assignment`.
    #[serde(rename = "type")]
    kind: &'static str,
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
    let view = RecordView {
        body,
        cbor: hex::encode(record.bytes()),
        id: record.id(),
        signer: record.signer(),
        kind: record.kind().as_str(),
    };
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// A draft as the API shows it: its fields, and `findings`, what the agency's policy says
/// of it today (an `error` among them blocks submission).
#[derive(Debug, Serialize)]
pub(super) struct DraftAnswer {
    #[serde(flatten)]
    draft: Box<Draft>,
    findings: Vec<Finding>,
}

from_variant!(DraftAnswer, ClientResponse::Draft { draft, findings } => DraftAnswer { draft, findings });
json_answer!(DraftAnswer);

/// `POST /v1/drafts/{number}/submit`: the claim is signed and submitted (`201`).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Submitted {
    /// The claim's id.
    #[schema(value_type = RecordIdHex)]
    claim: RecordId,
}

from_variant!(Submitted, ClientResponse::Submitted { claim } => Submitted { claim });

impl IntoResponse for Submitted {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self)).into_response()
    }
}

/// `GET /v1/claims/{id}`: one claim, as [`claim_json`] shows it.
#[derive(Debug)]
pub(super) struct ClaimAnswer(Box<ClaimView>);

from_variant!(ClaimAnswer, ClientResponse::Claim(view) => ClaimAnswer(view));

impl IntoResponse for ClaimAnswer {
    fn into_response(self) -> Response {
        Json(claim_json(&self.0)).into_response()
    }
}

/// A decision's answer: where the claim stands now, and what the policy says of the
/// decision (warnings; omitted when none).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Decision {
    /// The policy's warnings to the decider.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FindingSchema>)]
    findings: Vec<Finding>,
    /// Where the claim stands after the decision.
    #[schema(value_type = StatusSchema)]
    status: Status,
}

impl TryFrom<ClientResponse> for Decision {
    type Error = ClientResponse;

    fn try_from(response: ClientResponse) -> Result<Decision, ClientResponse> {
        match response {
            ClientResponse::Status(status) => Ok(Decision { findings: Vec::new(), status }),
            ClientResponse::Decided { status, findings } => Ok(Decision { findings, status }),
            other => Err(other),
        }
    }
}
json_answer!(Decision);

/// `GET /v1/sie`: an SIE 4I file in PC8, with [`SIE_VOUCHERS_HEADER`] and, if any claims'
/// vouchers were left out, [`SIE_LEFT_OUT_HEADER`].
#[derive(Debug)]
pub(super) struct SieAnswer(Box<SieFile>);

from_variant!(SieAnswer, ClientResponse::Sie(file) => SieAnswer(file));

impl IntoResponse for SieAnswer {
    fn into_response(self) -> Response {
        let file = *self.0;
        let mut response = (
            [
                (header::CONTENT_TYPE, SIE_CONTENT_TYPE.to_owned()),
                (header::HeaderName::from_static(SIE_VOUCHERS_HEADER), file.vouchers.len().to_string()),
            ],
            file.bytes,
        )
            .into_response();
        let left_out: BTreeSet<String> = file.left_out.iter().map(|left| left.claim.to_string()).collect();
        if !left_out.is_empty() {
            let ids = left_out.into_iter().collect::<Vec<_>>().join(", ");
            if let Ok(value) = header::HeaderValue::from_str(&ids) {
                response.headers_mut().insert(header::HeaderName::from_static(SIE_LEFT_OUT_HEADER), value);
            }
        }
        response
    }
}

/// `GET` and `PUT /v1/directory`: the directory in force as a record ([`record_json`]),
/// with whether this request installed it.
#[derive(Debug)]
pub(super) struct DirectoryAnswer {
    directory: Box<kvitt_protocol::Signed<kvitt_protocol::directory::Directory>>,
    installed: bool,
}

from_variant!(DirectoryAnswer, ClientResponse::Directory { directory, installed } =>
    DirectoryAnswer { directory, installed });

impl IntoResponse for DirectoryAnswer {
    fn into_response(self) -> Response {
        let mut view = record_json(&AnyRecord::Directory(*self.directory));
        if let Some(fields) = view.as_object_mut() {
            fields.insert("installed".into(), Value::Bool(self.installed));
        }
        Json(view).into_response()
    }
}

/// `POST /v1/sync`: how each session went.
#[derive(Debug)]
pub(super) struct Reconciled(Vec<PeerReconciliation>);

from_variant!(Reconciled, ClientResponse::Reconciled(sessions) => Reconciled(sessions));

/// One reconciliation session as `POST /v1/sync` reports it: its figures if it finished
/// (`ok`), else why not (`error`).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SessionView {
    /// Bytes received from the peer.
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_received: Option<u64>,
    /// Bytes sent to the peer.
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_sent: Option<u64>,
    /// Why the session did not finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Frames sent to the peer.
    #[serde(skip_serializing_if = "Option::is_none")]
    frames_sent: Option<u64>,
    /// How long the session took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    millis: Option<u64>,
    /// Whether the session finished.
    ok: bool,
    /// The peer's organisation number.
    org: String,
    /// The peer's node key.
    #[schema(value_type = PublicKeyHex)]
    peer: PublicKey,
    /// Records the peer lacked.
    #[serde(skip_serializing_if = "Option::is_none")]
    they_lack: Option<u64>,
    /// Records this node lacked.
    #[serde(skip_serializing_if = "Option::is_none")]
    we_lack: Option<u64>,
}

impl From<PeerReconciliation> for SessionView {
    fn from(session: PeerReconciliation) -> SessionView {
        let count = |n: usize| Some(u64::try_from(n).unwrap_or(u64::MAX));
        let mut view = SessionView {
            bytes_received: None,
            bytes_sent: None,
            error: None,
            frames_sent: None,
            millis: None,
            ok: session.result.is_ok(),
            org: session.org,
            peer: session.peer,
            they_lack: None,
            we_lack: None,
        };
        match session.result {
            Ok(summary) => {
                view.bytes_received = count(summary.bytes_received);
                view.bytes_sent = count(summary.bytes_sent);
                view.frames_sent = count(summary.frames_sent);
                view.millis = Some(u64::try_from(summary.elapsed.as_millis()).unwrap_or(u64::MAX));
                view.they_lack = count(summary.have.len());
                view.we_lack = count(summary.need);
            }
            Err(error) => view.error = Some(error),
        }
        view
    }
}

impl IntoResponse for Reconciled {
    fn into_response(self) -> Response {
        let sessions: Vec<SessionView> = self.0.into_iter().map(SessionView::from).collect();
        Json(sessions).into_response()
    }
}

/// `POST /v1/recover`: how the recovery stands.
#[derive(Debug)]
pub(super) struct Recovery(Box<RecoveryStatus>);

from_variant!(Recovery, ClientResponse::Recovery(status) => Recovery(status));

impl IntoResponse for Recovery {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}
