//! An in-process peer transport: nodes in one process reach each other through channels,
//! each request tagged with the sender's key as TLS would authenticate it. For tests and
//! the deterministic simulator; real nodes use QUIC.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use kvitt_protocol::PublicKey;
use tokio::sync::oneshot;

use crate::runtime::{BoxFuture, IncomingRequest, PeerInbox, PeerTransport};

/// The switchboard joining the nodes of one process.
#[derive(Clone, Default)]
pub struct LocalNetwork {
    inboxes: Arc<Mutex<BTreeMap<PublicKey, PeerInbox>>>,
    down: Arc<Mutex<BTreeSet<PublicKey>>>,
    /// Requests that failed because their sender or receiver was down, by receiver.
    cut_off: Arc<Mutex<BTreeMap<PublicKey, usize>>>,
}

impl LocalNetwork {
    /// An empty network.
    pub fn new() -> LocalNetwork {
        LocalNetwork::default()
    }

    /// Connects a node's inbox under its key.
    pub fn attach(&self, key: PublicKey, inbox: PeerInbox) {
        self.inboxes.lock().unwrap_or_else(PoisonError::into_inner).insert(key, inbox);
    }

    /// Takes a node off the network (it looks down to the others).
    pub fn detach(&self, key: &PublicKey) {
        self.inboxes.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// Cuts a node off: requests to it and from it fail until [`LocalNetwork::bring_up`].
    pub fn take_down(&self, key: PublicKey) {
        self.down.lock().unwrap_or_else(PoisonError::into_inner).insert(key);
    }

    /// Joins a node cut off by [`LocalNetwork::take_down`] again.
    pub fn bring_up(&self, key: &PublicKey) {
        self.down.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// How many requests to `key` failed because it or its sender was down.
    pub fn cut_off_requests(&self, key: &PublicKey) -> usize {
        self.cut_off.lock().unwrap_or_else(PoisonError::into_inner).get(key).copied().unwrap_or(0)
    }

    fn is_down(&self, key: &PublicKey) -> bool {
        self.down.lock().unwrap_or_else(PoisonError::into_inner).contains(key)
    }

    /// The transport endpoint of the node with `key`.
    pub fn endpoint(&self, key: PublicKey) -> Arc<dyn PeerTransport> {
        Arc::new(LocalEndpoint { network: self.clone(), key, members: Mutex::new(Vec::new()) })
    }
}

struct LocalEndpoint {
    network: LocalNetwork,
    key: PublicKey,
    members: Mutex<Vec<PublicKey>>,
}

impl PeerTransport for LocalEndpoint {
    fn request(
        &self,
        peer: PublicKey,
        _address: SocketAddr,
        request: Vec<u8>,
    ) -> BoxFuture<Result<Vec<u8>, String>> {
        let inbox = self.network.inboxes.lock().unwrap_or_else(PoisonError::into_inner).get(&peer).cloned();
        let cut = self.network.is_down(&peer) || self.network.is_down(&self.key);
        if cut {
            *self.network.cut_off.lock().unwrap_or_else(PoisonError::into_inner).entry(peer).or_default() +=
                1;
        }
        let inbox = inbox.filter(|_| !cut);
        let from = self.key;
        Box::pin(async move {
            let inbox = inbox.ok_or_else(|| format!("{} is not reachable", peer.short()))?;
            let (reply, answer) = oneshot::channel();
            inbox.deliver(IncomingRequest { peer: from, bytes: request, reply }).await;
            answer.await.map_err(|_| format!("{} dropped the request", peer.short()))
        })
    }

    fn set_members(&self, members: Vec<PublicKey>) {
        *self.members.lock().unwrap_or_else(PoisonError::into_inner) = members;
    }
}
