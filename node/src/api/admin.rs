//! The operator's routes: the directory in force, installing a newer one, reconciling now,
//! recovering a damaged ledger.

use utoipa::ToSchema;

use super::answers::{ask, DirectoryAnswer, Reconciled, Recovery, SessionView};
use super::openapi::Problems;
use super::schemas::{DirectoryViewSchema, RecoverySchema};
use super::*;

/// The directory in force, as a record, with `installed: false`.
#[utoipa::path(get, path = "/v1/directory", tag = "directory",
    responses((status = 200, description = "The signed directory in force", body = DirectoryViewSchema), Problems))]
pub(super) async fn directory(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<DirectoryAnswer, Problem> {
    no_params(query)?;
    ask(&state, caller, ClientRequest::Directory).await
}

/// The body is the signed directory's CBOR bytes, as `kvitt directory publish` writes them.
#[utoipa::path(put, path = "/v1/directory", tag = "directory",
    request_body(description = "The signed directory's CBOR bytes, as `kvitt directory publish` writes them (the content type is not checked)",
        content((Vec<u8> = "application/octet-stream"))),
    responses((status = 200, description = "The directory in force now, `installed` if this request installed it",
        body = DirectoryViewSchema), Problems))]
pub(super) async fn install_directory(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<DirectoryAnswer, Problem> {
    no_params(query)?;
    let bytes = body_bytes(body)?.to_vec();
    ask(&state, caller, ClientRequest::InstallDirectory { bytes }).await
}

/// The body of POST /v1/sync (an empty body means every peer).
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SyncRequest {
    /// The peer's organisation number or node key (hex); every peer if absent.
    peer: Option<String>,
}

/// Reconciles with one peer, or every peer, now; how each session went.
#[utoipa::path(post, path = "/v1/sync", tag = "operations",
    request_body(content = SyncRequest, description = "May be empty: every peer"),
    responses((status = 200, description = "How each session went", body = [SessionView]), Problems))]
pub(super) async fn sync(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Reconciled, Problem> {
    let SyncRequest { peer } = optional_body(query, body)?;
    ask(&state, caller, ClientRequest::Reconcile { peer }).await
}

/// The body of POST /v1/recover (an empty body: `partial` false).
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RecoverRequest {
    /// Finish even though some peers are not settled (core::recovery).
    #[serde(default)]
    partial: bool,
}

/// One round of `kvitt recover`: the node reconciles with every peer and finishes its
/// recovery if they are all settled; the answer is the recovery's state as JSON.
#[utoipa::path(post, path = "/v1/recover", tag = "operations",
    request_body(content = RecoverRequest, description = "May be empty: `partial` false"),
    responses((status = 200, description = "How the recovery stands", body = RecoverySchema), Problems))]
pub(super) async fn recover(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Recovery, Problem> {
    let RecoverRequest { partial } = optional_body(query, body)?;
    ask(&state, caller, ClientRequest::Recover { partial }).await
}

/// The JSON body of an operator's route that takes no query parameters and whose body may
/// be empty (then its defaults).
fn optional_body<T: Default + serde::de::DeserializeOwned>(
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, Problem> {
    no_params(query)?;
    let text = body_text(body)?;
    if text.trim().is_empty() {
        Ok(T::default())
    } else {
        parse_json(&text)
    }
}
