//! The operator's routes: the directory in force, installing a newer one, reconciling now,
//! recovering a damaged ledger.

use super::*;

/// The directory as JSON ([`record_json`]) with whether this request installed it.
pub(super) fn directory_json(response: ClientResponse) -> Result<Response, Problem> {
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

pub(super) async fn directory(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
    no_params(query)?;
    directory_json(ask(&state, caller, ClientRequest::Directory).await?)
}

/// The body is the signed directory's CBOR bytes, as `kvitt directory publish` writes them.
pub(super) async fn install_directory(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    no_params(query)?;
    let bytes = body_bytes(body)?.to_vec();
    directory_json(ask(&state, caller, ClientRequest::InstallDirectory { bytes }).await?)
}

/// The body of POST /v1/sync (an empty body means every peer).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncRequest {
    /// The peer's organisation number or node key (hex); every peer if absent.
    peer: Option<String>,
}

pub(super) async fn sync(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let SyncRequest { peer } = optional_body(query, body)?;
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

/// The body of POST /v1/recover (an empty body: `partial` false).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverRequest {
    /// Finish even though some peers are not settled (core::recovery).
    #[serde(default)]
    partial: bool,
}

/// One round of `kvitt recover`: the node reconciles with every peer and finishes its
/// recovery if they are all settled; the answer is the recovery's state as JSON.
pub(super) async fn recover(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let RecoverRequest { partial } = optional_body(query, body)?;
    match ask(&state, caller, ClientRequest::Recover { partial }).await? {
        ClientResponse::Recovery(status) => Ok(Json(status).into_response()),
        other => Err(unexpected(&other)),
    }
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
