//! The listening side of the endpoint: accepts connection attempts within the limits,
//! checks each peer's certificate and hello, and serves each request stream by handing
//! the request to the node and writing its answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use kvitt_protocol::PublicKey;
use quinn::{Connection, Endpoint, Incoming, RecvStream, SendStream, VarInt};
use tokio::sync::{mpsc, oneshot};

use super::{peer_key, IncomingRequest, Limits};
use crate::transport::budget::ReceiveBudget;
use crate::transport::frame::{read_frame, write_frame, FrameError};
use crate::transport::verify::PeerKeys;
use crate::transport::{
    code, HANDSHAKE_TIMEOUT, HELLO, HELLO_OK, HELLO_TIMEOUT, MAX_FRAME_BYTES, REQUEST_READ_TIMEOUT,
};

/// The listening side's state, shared by the accept loop and the connection tasks.
pub(super) struct Listener {
    pub(super) peers: PeerKeys,
    pub(super) limits: Limits,
    pub(super) handshakes: AtomicUsize,
    pub(super) connections: AtomicUsize,
    pub(super) by_peer: Mutex<HashMap<PublicKey, Vec<Connection>>>,
    pub(super) requests: mpsc::Sender<IncomingRequest>,
    pub(super) budget: ReceiveBudget,
}

/// Counts a task in a counter while it lives.
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn enter(counter: &'a AtomicUsize) -> Counted<'a> {
        counter.fetch_add(1, Ordering::SeqCst);
        Counted(counter)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Accepts connection attempts, within the limits, until the endpoint closes.
pub(super) async fn accept_loop(endpoint: Endpoint, listener: Arc<Listener>) {
    while let Some(incoming) = endpoint.accept().await {
        let limits = &listener.limits;
        let handshakes = listener.handshakes.load(Ordering::SeqCst);
        let connections = listener.connections.load(Ordering::SeqCst);
        let address = incoming.remote_address();
        if handshakes >= limits.max_handshakes || handshakes + connections >= limits.max_incoming_connections
        {
            tracing::debug!(%address, handshakes, connections, "refused a connection attempt: at the limit");
            incoming.refuse();
            continue;
        }
        if !incoming.remote_address_validated() && handshakes >= limits.retry_above_handshakes {
            // Address validation under load: the client must echo a Retry token first.
            if let Err(error) = incoming.retry() {
                error.into_incoming().refuse();
            }
            continue;
        }
        // Counted here, in the loop, so the check above cannot race with itself.
        listener.handshakes.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(serve_connection(incoming, Arc::clone(&listener)));
    }
}

/// Completes a handshake, answers the hello, then serves the connection's streams.
async fn serve_connection(incoming: Incoming, listener: Arc<Listener>) {
    let address = incoming.remote_address();
    let handshake = async {
        let connecting = incoming.accept().map_err(|error| error.to_string())?;
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("not completed within {HANDSHAKE_TIMEOUT:?}")),
        }
    };
    let connection = handshake.await;
    listener.handshakes.fetch_sub(1, Ordering::SeqCst);
    let connection = match connection {
        Ok(connection) => connection,
        Err(error) => {
            tracing::debug!(%address, %error, "incoming handshake failed");
            return;
        }
    };
    let Some(peer) = peer_key(&connection) else {
        connection.close(VarInt::from_u32(code::CLOSE_PROTOCOL), b"no node certificate");
        return;
    };
    let _counted = Counted::enter(&listener.connections);
    listener.register(peer, &connection);
    // Registered first, then checked: a removal racing with this handshake either sees
    // the connection registered (and closes it) or is seen here.
    if !listener.peers.contains(&peer) {
        connection.close(VarInt::from_u32(code::CLOSE_REMOVED), b"not a member of this node's network");
        listener.unregister(peer, &connection);
        return;
    }
    match tokio::time::timeout(HELLO_TIMEOUT, answer_hello(&connection)).await {
        Ok(Ok(())) => {
            tracing::debug!(peer = %peer.short(), %address, "peer connected");
            while let Ok((send, recv)) = connection.accept_bi().await {
                tokio::spawn(serve_stream(peer, send, recv, Arc::clone(&listener)));
            }
        }
        Ok(Err(error)) => {
            tracing::debug!(peer = %peer.short(), %address, %error, "no valid hello");
            connection.close(VarInt::from_u32(code::CLOSE_PROTOCOL), b"expected the kvitt/1 hello");
        }
        Err(_) => {
            tracing::debug!(peer = %peer.short(), %address, "no hello in time");
            connection.close(VarInt::from_u32(code::CLOSE_PROTOCOL), b"expected the kvitt/1 hello");
        }
    }
    listener.unregister(peer, &connection);
}

/// Reads the dialler's hello on the connection's first stream and answers it.
async fn answer_hello(connection: &Connection) -> Result<(), String> {
    let (mut send, mut recv) = connection.accept_bi().await.map_err(|error| error.to_string())?;
    let hello = read_frame(&mut recv, HELLO.len()).await.map_err(|error| format!("{error:?}"))?;
    if hello != HELLO {
        return Err(format!("unexpected hello {:?}", String::from_utf8_lossy(&hello)));
    }
    write_frame(&mut send, HELLO_OK).await.map_err(|error| format!("{error:?}"))?;
    send.finish().map_err(|error| error.to_string())
}

/// Serves one exchange: reads the request, hands it to the node, writes its answer.
async fn serve_stream(peer: PublicKey, mut send: SendStream, mut recv: RecvStream, listener: Arc<Listener>) {
    let request =
        tokio::time::timeout(REQUEST_READ_TIMEOUT, listener.budget.read_request(peer, &mut recv)).await;
    let (bytes, held) = match request {
        Ok(Ok(request)) => request,
        Ok(Err(FrameError::TooLarge { bytes, limit })) => {
            tracing::info!(peer = %peer.short(), bytes, limit, "refused an oversized request frame");
            return abandon(&mut send, &mut recv, code::STREAM_FRAME_TOO_LARGE);
        }
        Ok(Err(FrameError::Io(error))) => {
            tracing::debug!(peer = %peer.short(), %error, "request stream failed");
            return;
        }
        Ok(Err(FrameError::Stalled { after })) => {
            tracing::info!(peer = %peer.short(), ?after, "request frame stalled");
            return abandon(&mut send, &mut recv, code::STREAM_STALLED);
        }
        Ok(Err(error)) => {
            tracing::info!(peer = %peer.short(), ?error, "refused a malformed request frame");
            return abandon(&mut send, &mut recv, code::STREAM_MALFORMED);
        }
        Err(_) => {
            tracing::info!(peer = %peer.short(), timeout = ?REQUEST_READ_TIMEOUT, "request frame too slow");
            return abandon(&mut send, &mut recv, code::STREAM_READ_TIMEOUT);
        }
    };
    let (reply, answer) = oneshot::channel();
    let handed = async {
        listener.requests.send(IncomingRequest { peer, bytes, reply }).await.ok()?;
        answer.await.ok()
    };
    let answer = tokio::select! {
        answer = handed => answer,
        // The dialler gave up (timeout) or the connection closed: stop waiting.
        _ = send.stopped() => return,
    };
    // Answered: the request's bytes are gone, and so is their budget.
    drop(held);
    match answer {
        None => abandon(&mut send, &mut recv, code::STREAM_NO_ANSWER),
        Some(answer) if answer.len() > MAX_FRAME_BYTES => {
            tracing::warn!(peer = %peer.short(), bytes = answer.len(), limit = MAX_FRAME_BYTES, "answer too large; not sent");
            abandon(&mut send, &mut recv, code::STREAM_ANSWER_TOO_LARGE);
        }
        Some(answer) => {
            if let Err(error) = write_frame(&mut send, &answer).await {
                tracing::debug!(peer = %peer.short(), ?error, "could not send an answer");
                return;
            }
            let _ = send.finish();
        }
    }
}

/// Gives up an exchange with `code` on both halves of its stream.
fn abandon(send: &mut SendStream, recv: &mut RecvStream, code: u32) {
    let _ = recv.stop(VarInt::from_u32(code));
    let _ = send.reset(VarInt::from_u32(code));
}

impl Listener {
    fn register(&self, peer: PublicKey, connection: &Connection) {
        let mut by_peer = self.by_peer.lock().unwrap_or_else(PoisonError::into_inner);
        let connections = by_peer.entry(peer).or_default();
        connections.retain(|open| open.close_reason().is_none());
        connections.push(connection.clone());
        while connections.len() > self.limits.max_connections_per_peer.max(1) {
            let oldest = connections.remove(0);
            oldest.close(VarInt::from_u32(code::CLOSE_SUPERSEDED), b"superseded by a newer connection");
        }
    }

    fn unregister(&self, peer: PublicKey, connection: &Connection) {
        let mut by_peer = self.by_peer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(connections) = by_peer.get_mut(&peer) {
            connections.retain(|open| open.stable_id() != connection.stable_id());
            if connections.is_empty() {
                by_peer.remove(&peer);
            }
        }
    }
}
