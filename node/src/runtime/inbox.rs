//! The way in for peers' requests: a request frame from the transport is decoded and its
//! records verified on the caller's task, then queued for the core as a [`PeerInput`].

use kvitt_protocol::wire::{Request, RequestBody};
use kvitt_protocol::{AnyRecord, PublicKey};
use tokio::sync::{mpsc, oneshot};

use crate::core::PeerRequest;

/// A request that arrived from an authenticated peer.
pub struct IncomingRequest {
    /// The peer's key, from its verified certificate.
    pub peer: PublicKey,
    /// The request frame.
    pub bytes: Vec<u8>,
    /// Where the response frame goes.
    pub reply: oneshot::Sender<Vec<u8>>,
}

/// Decodes a peer's request frame, verifying every delivered record (the costly part,
/// run on the transport's task before the request reaches the core).
pub fn decode_peer_request(from: PublicKey, bytes: &[u8]) -> (u64, PeerRequest) {
    match Request::decode(bytes) {
        Ok(request) => {
            let decoded = match request.body {
                RequestBody::Deliver { records } => PeerRequest::Deliver(AnyRecord::decode_batch(
                    records.iter().map(|record| record.0.as_slice()),
                )),
                RequestBody::Directory { have } => PeerRequest::Directory { have },
                RequestBody::Reconcile { session, frame, window } => {
                    PeerRequest::Reconcile { session, frame: frame.0, window }
                }
                RequestBody::Route { register, serial, card } => {
                    PeerRequest::Route { register, serial, card }
                }
                RequestBody::Enrol { cards } => PeerRequest::Enrol { cards },
                RequestBody::Collect { code, employee } => PeerRequest::Collect { code, employee },
            };
            (request.directory_version, decoded)
        }
        Err(error) => {
            tracing::warn!(peer = %from.short(), %error, "undecodable request");
            (0, PeerRequest::Invalid(error))
        }
    }
}

/// A decoded peer request on its way to the core.
pub struct PeerInput {
    pub(super) from: PublicKey,
    pub(super) directory_version: u64,
    pub(super) request: PeerRequest,
    pub(super) reply: oneshot::Sender<Vec<u8>>,
}

/// Hands incoming peer requests to the core, decoding them on the caller's task.
#[derive(Clone)]
pub struct PeerInbox {
    pub(super) sender: mpsc::Sender<PeerInput>,
}

impl PeerInbox {
    /// Decodes `incoming` and queues it for the core.
    pub async fn deliver(&self, incoming: IncomingRequest) {
        let peer = incoming.peer;
        let bytes = incoming.bytes;
        // Signature checks are CPU work: keep them off the async workers' hot path.
        let decoded = tokio::task::spawn_blocking(move || decode_peer_request(peer, &bytes)).await;
        let Ok((directory_version, request)) = decoded else {
            return;
        };
        let input = PeerInput { from: peer, directory_version, request, reply: incoming.reply };
        if self.sender.send(input).await.is_err() {
            tracing::debug!("the core stopped; dropping a peer request");
        }
    }
}
