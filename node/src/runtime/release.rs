//! What the driver counts and releases: answers held until the group commit says the step's
//! writes are durable, then sent (or replaced by a refusal) and counted in the metrics, and
//! the outbox count taken at start.

use kvitt_protocol::wire::{Refusal, RefusalCode, Response, ResponseBody, Verdict};
use tokio::sync::oneshot;

use crate::core::ClientResponse;
use crate::metrics::Metrics;
use crate::store::{Batch, Store};

/// Counts the outbox entries the ledger holds at start (crate::metrics::OutboxAges), a
/// page at a time.
pub(super) fn count_outbox(store: &dyn Store, metrics: &Metrics) {
    const PAGE: usize = 1000;
    let now = std::time::Instant::now();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let entries = match store.scan(b"out/", after.as_deref(), PAGE) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::warn!(%error, "could not count the outbox for the metrics");
                return;
            }
        };
        let Some((last, _)) = entries.last() else { return };
        after = Some(last.clone());
        let mut batch = Batch::new();
        for (key, value) in entries {
            batch.insert(key, value);
        }
        metrics.note_batch(&batch, now);
    }
}

/// An answer held until its step's writes are durable.
pub(super) enum Release {
    Client(oneshot::Sender<Result<ClientResponse, Refusal>>, Result<ClientResponse, Refusal>),
    Peer(oneshot::Sender<Vec<u8>>, Response),
}

/// The refusal of a step whose write did not become durable.
pub(super) fn not_durable() -> Refusal {
    Refusal::new(
        RefusalCode::Unavailable,
        "the ledger could not make the write durable; nothing is acknowledged",
    )
}

impl Release {
    /// Sends the answer, or `refusal` (saying why nothing was stored) instead, and counts
    /// it in `metrics`.
    pub(super) fn send(self, refusal: Option<&Refusal>, metrics: &Metrics) {
        match self {
            Release::Client(sender, result) => {
                let result = match refusal {
                    None => result,
                    Some(refusal) => Err(refusal.clone()),
                };
                match &result {
                    Ok(ClientResponse::Pushed { duplicate, .. }) => metrics.receipt_pushed(*duplicate),
                    Ok(_) => {}
                    Err(refusal) => metrics.refused("client", refusal.code.as_str()),
                }
                let _ = sender.send(result);
            }
            Release::Peer(sender, response) => {
                let response = match refusal {
                    None => response,
                    Some(refusal) => Response {
                        directory_version: response.directory_version,
                        body: ResponseBody::Refused { refusal: refusal.clone() },
                    },
                };
                match &response.body {
                    ResponseBody::Refused { refusal } => metrics.refused("peer", refusal.code.as_str()),
                    ResponseBody::Delivered { results } => {
                        for verdict in results {
                            if let Verdict::Refused { refusal } = verdict {
                                metrics.refused("peer", refusal.code.as_str());
                            }
                        }
                    }
                    ResponseBody::Directory { .. }
                    | ResponseBody::Reconcile { .. }
                    | ResponseBody::Routed { .. }
                    | ResponseBody::Enrolled { .. }
                    | ResponseBody::Collected { .. } => {}
                }
                match response.encode() {
                    Ok(bytes) => {
                        let _ = sender.send(bytes);
                    }
                    Err(error) => tracing::error!(%error, "could not encode a response"),
                }
            }
        }
    }
}
