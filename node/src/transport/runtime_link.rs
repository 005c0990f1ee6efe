//! Plugs the QUIC [`Transport`] into the node's driver ([`crate::runtime`]): the driver's
//! [`PeerTransport`] on the dialling side, and [`forward`] from the transport's request
//! channel to the driver's [`PeerInbox`] on the listening side.

use std::net::SocketAddr;

use kvitt_protocol::PublicKey;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{IncomingRequest, Transport};
use crate::runtime::{BoxFuture, PeerInbox, PeerTransport, PEER_REQUEST_TIMEOUT};

impl PeerTransport for Transport {
    fn request(
        &self,
        peer: PublicKey,
        address: SocketAddr,
        request: Vec<u8>,
    ) -> BoxFuture<Result<Vec<u8>, String>> {
        let transport = self.clone();
        Box::pin(async move {
            transport
                .request(peer, address, request, PEER_REQUEST_TIMEOUT)
                .await
                .map_err(|error| error.to_string())
        })
    }

    fn set_members(&self, members: Vec<PublicKey>) {
        let removed = self.set_peers(members);
        if !removed.is_empty() {
            tracing::info!(removed = removed.len(), "members removed from the directory were disconnected");
        }
    }
}

/// Hands every request the transport receives to the node's inbox, each on its own task
/// (the inbox verifies delivered records before queueing them, so requests from several
/// streams are verified in parallel). The number of such tasks is bounded by the streams
/// the transport serves at once. Ends when the transport's channel closes.
pub fn forward(mut requests: mpsc::Receiver<IncomingRequest>, inbox: PeerInbox) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(request) = requests.recv().await {
            let inbox = inbox.clone();
            tokio::spawn(async move {
                let IncomingRequest { peer, bytes, reply } = request;
                inbox.deliver(crate::runtime::IncomingRequest { peer, bytes, reply }).await;
            });
        }
    })
}
