//! `GET /v1/admin/backup`: the operator's dump of the ledger as one state
//! (crate::backup::LiveDump), streamed as it is read from its spool file. Only the
//! ledger crosses the API: `kvitt backup` reads the node's keys and configuration from
//! its data directory itself, so no secret is ever sent over HTTP.

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use http_body::{Frame, SizeHint};
use tokio::sync::mpsc;

use super::*;
use crate::core::CallerRole;

/// The answer's header with the number of entries in the dump.
pub const BACKUP_ENTRIES_HEADER: &str = "kvitt-backup-entries";
/// The answer's header with the SHA-256 the dump states at its end (hex).
pub const BACKUP_SHA256_HEADER: &str = "kvitt-backup-sha256";
/// The answer's header with how long the node's writes waited while the ledger was read.
pub const BACKUP_PAUSE_HEADER: &str = "kvitt-backup-paused-ms";
/// Bytes read from the spool file per chunk of the answer.
const CHUNK_BYTES: usize = 256 * 1024;

pub(super) async fn backup(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
    no_params(query)?;
    if caller.role != CallerRole::Operator {
        return Err(Problem::from(Refusal::new(
            RefusalCode::Forbidden,
            format!("{} may not take a backup of the ledger: only the node's operator may", caller.person),
        )));
    }
    let Some(ledger) = state.node.backups() else {
        return Err(Problem::from(Refusal::new(RefusalCode::Unavailable, "this node serves no backups")));
    };
    let dumping = Arc::clone(&ledger);
    let taken = tokio::task::spawn_blocking(move || dumping.take())
        .await
        .map_err(|error| {
            Refusal::new(RefusalCode::Unavailable, format!("the ledger's dump stopped: {error}"))
        })?
        .map_err(|error| Refusal::new(RefusalCode::Unavailable, error.to_string()))?;
    // Served only once the node itself could not lose what the dump holds.
    ledger
        .durable(&taken)
        .await
        .map_err(|error| Refusal::new(RefusalCode::Unavailable, error.to_string()))?;
    let (chunks, receiver) = mpsc::channel(4);
    let mut file = taken.file;
    tokio::task::spawn_blocking(move || loop {
        let mut chunk = vec![0u8; CHUNK_BYTES];
        let sent = match file.read(&mut chunk) {
            Ok(0) => return,
            Ok(read) => {
                chunk.truncate(read);
                chunks.blocking_send(Ok(Bytes::from(chunk)))
            }
            Err(error) => chunks.blocking_send(Err(error)),
        };
        // The caller went away: the spool file goes with this thread.
        if sent.is_err() {
            return;
        }
    });
    let body = SpoolBody { chunks: receiver, remaining: taken.summary.bytes };
    let paused = u64::try_from(taken.paused.as_millis()).unwrap_or(u64::MAX);
    Ok((
        [
            (CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::HeaderName::from_static(BACKUP_ENTRIES_HEADER), taken.summary.entries.to_string()),
            (header::HeaderName::from_static(BACKUP_SHA256_HEADER), hex::encode(taken.summary.sha256)),
            (header::HeaderName::from_static(BACKUP_PAUSE_HEADER), paused.to_string()),
        ],
        Body::new(body),
    )
        .into_response())
}

/// The dump as the answer's body, chunk by chunk, of a length known in advance.
struct SpoolBody {
    chunks: mpsc::Receiver<std::io::Result<Bytes>>,
    remaining: u64,
}

impl http_body::Body for SpoolBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.chunks.poll_recv(context).map(|chunk| match chunk {
            Some(Ok(bytes)) => {
                self.remaining = self.remaining.saturating_sub(bytes.len() as u64);
                Some(Ok(Frame::data(bytes)))
            }
            Some(Err(error)) => Some(Err(error)),
            None => None,
        })
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
