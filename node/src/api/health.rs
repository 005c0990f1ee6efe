//! `GET /healthz` and `GET /readyz`: what a supervisor or load balancer asks, without a
//! token (the routes sit outside the API's `authenticate` layer, and say nothing a caller
//! could not learn from the node answering at all).
//!
//! - `/healthz` (liveness): the process answers and its core actor takes a request within
//!   [`CORE_ANSWER_TIMEOUT`]. A failing liveness probe means: restart the node.
//! - `/readyz` (readiness): live, and the node can take writes: the ledger is open and its
//!   group commit has not failed (crate::fatal), the directory is loaded, the ledger's disk
//!   is above `disk_floor_mib` and the last batch was not refused for want of space, and the
//!   ledger is not recovering (`node.recovering`). A failing readiness probe means: send no
//!   writes here now; the node may still serve reads.
//!
//! Both answer `200` or `503` with a JSON object naming each check:
//! `{"status":"ok"|"failing","checks":{"core":{"ok":true,"detail":"…"},…}}`.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::schemas::ProbeSchema;
use super::ApiState;
use crate::core::{Caller, CallerRole, ClientRequest, ClientResponse};

/// How long the probes wait for the core to answer before calling it not alive.
pub const CORE_ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// One named check and what it found.
struct Check {
    name: &'static str,
    result: Result<String, String>,
}

/// Asks the core for its directory: it answers only if its actor is taking requests.
async fn core_check(state: &ApiState) -> Vec<Check> {
    let caller = Caller { person: "probe".into(), role: CallerRole::Operator };
    let answer =
        tokio::time::timeout(CORE_ANSWER_TIMEOUT, state.node.ask(caller, ClientRequest::Directory)).await;
    let (core, directory) = match answer {
        Err(_) => (Err(format!("the core did not answer within {CORE_ANSWER_TIMEOUT:?}")), None),
        Ok(Err(refusal)) => (Err(format!("{}: {}", refusal.code, refusal.message)), None),
        Ok(Ok(ClientResponse::Directory { directory, .. })) => {
            (Ok("the core answered".to_owned()), Some(directory.body().version))
        }
        Ok(Ok(_)) => (Err("the core answered with the wrong kind of response".to_owned()), None),
    };
    let directory = match (&core, directory) {
        (_, Some(version)) => Ok(format!("version {version}")),
        (Err(_), None) => Err("unknown: the core did not answer".to_owned()),
        (Ok(_), None) => Err("no directory".to_owned()),
    };
    vec![Check { name: "core", result: core }, Check { name: "directory", result: directory }]
}

/// The answer: `200` if every check passed, else `503`, each check named.
fn answer(checks: Vec<Check>) -> Response {
    let ok = checks.iter().all(|check| check.result.is_ok());
    let checks: Map<String, Value> = checks
        .into_iter()
        .map(|Check { name, result }| {
            let (ok, detail) = match result {
                Ok(detail) => (true, detail),
                Err(detail) => (false, detail),
            };
            (name.to_owned(), json!({"ok": ok, "detail": detail}))
        })
        .collect();
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({"status": if ok { "ok" } else { "failing" }, "checks": checks});
    (status, Json(body)).into_response()
}

/// Liveness: the core takes a request within [`CORE_ANSWER_TIMEOUT`].
#[utoipa::path(get, path = "/healthz", tag = "probes", security(()),
    responses(
        (status = 200, description = "Live: every check passed", body = ProbeSchema),
        (status = 503, description = "Not live: restart the node", body = ProbeSchema)))]
pub(super) async fn healthz(State(state): State<ApiState>) -> Response {
    answer(core_check(&state).await)
}

/// Readiness: live, and the node can take writes.
#[utoipa::path(get, path = "/readyz", tag = "probes", security(()),
    responses(
        (status = 200, description = "Ready: every check passed", body = ProbeSchema),
        (status = 503, description = "Not ready: send no writes here now (reads still work)", body = ProbeSchema)))]
pub(super) async fn readyz(State(state): State<ApiState>) -> Response {
    let mut checks = core_check(&state).await;
    let status = state.node.status();
    let ledger = match state.node.fatal().cause() {
        Some(cause) => Err(format!("the node stopped: {cause}")),
        None => Ok("open, group commit syncing".to_owned()),
    };
    let disk = match status.disk().map(crate::store::DiskWatch::check) {
        _ if status.write_refused_disk_full() => {
            Err("the last ledger write was refused: the disk is at its floor (node.disk_full)".to_owned())
        }
        Some(Ok(free_bytes)) => Ok(format!("{free_bytes} bytes free")),
        Some(Err(why)) => Err(why),
        None => Ok("not measured (no floor set up)".to_owned()),
    };
    let recovery = if status.recovering() {
        Err("the ledger is recovering: the node signs nothing until `kvitt recover` has run (node.recovering)"
            .to_owned())
    } else {
        Ok("not recovering".to_owned())
    };
    checks.push(Check { name: "ledger", result: ledger });
    checks.push(Check { name: "disk", result: disk });
    checks.push(Check { name: "recovery", result: recovery });
    answer(checks)
}
