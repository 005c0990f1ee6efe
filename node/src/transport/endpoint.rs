//! The endpoint: one quinn endpoint per node that listens and dials.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kvitt_protocol::PublicKey;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{Connection, ConnectionError, Endpoint, VarInt};
use rustls::pki_types::CertificateDer;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::budget::{ReceiveBudget, Sizes};
use super::cert::{key_of_certificate, node_certificate, node_dns_name};
use super::errors::{connection_error, frame_error};
use super::frame::{read_frame, write_frame, FrameError};
use super::restart_keys;
use super::verify::{NodeClientVerifier, NodeServerVerifier, PeerKeys};
use super::{code, FrameKind, TransportError};
use super::{
    ALPN, HELLO, HELLO_OK, INCOMING_BUFFER_BYTES, INCOMING_QUEUE, KEEP_ALIVE_INTERVAL,
    MAX_CONCURRENT_BIDI_STREAMS, MAX_CONCURRENT_UNI_STREAMS, MAX_CONNECTIONS_PER_PEER, MAX_FRAME_BYTES,
    MAX_HANDSHAKES, MAX_IDLE_TIMEOUT, MAX_INCOMING_CONNECTIONS, MAX_INFLIGHT_REQUESTS_PER_PEER,
    RECEIVE_WINDOW_BYTES, RETRY_ABOVE_HANDSHAKES, SEND_WINDOW_BYTES, STREAM_RECEIVE_WINDOW_BYTES,
};

mod listen;
use listen::{accept_loop, Listener};

/// What a node's transport needs to start.
pub struct TransportConfig {
    /// Where to listen (port 0: any free port, see [`Transport::local_addr`]).
    pub listen: SocketAddr,
    /// The node key: its certificate carries the public half.
    pub key: SigningKey,
    /// The keys allowed to connect and to be dialled.
    pub peers: PeerKeys,
    /// Connection and request limits.
    pub limits: Limits,
}

impl TransportConfig {
    /// A configuration with the default [`Limits`].
    pub fn new(listen: SocketAddr, key: SigningKey, peers: PeerKeys) -> TransportConfig {
        TransportConfig { listen, key, peers, limits: Limits::default() }
    }
}

/// The limits a node may tune; each defaults to the constant of the same name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// [`MAX_INFLIGHT_REQUESTS_PER_PEER`].
    pub max_inflight_requests_per_peer: usize,
    /// [`MAX_INCOMING_CONNECTIONS`].
    pub max_incoming_connections: usize,
    /// [`MAX_CONNECTIONS_PER_PEER`].
    pub max_connections_per_peer: usize,
    /// [`MAX_HANDSHAKES`].
    pub max_handshakes: usize,
    /// [`RETRY_ABOVE_HANDSHAKES`]: 0 sends every unvalidated client a Retry.
    pub retry_above_handshakes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_inflight_requests_per_peer: MAX_INFLIGHT_REQUESTS_PER_PEER,
            max_incoming_connections: MAX_INCOMING_CONNECTIONS,
            max_connections_per_peer: MAX_CONNECTIONS_PER_PEER,
            max_handshakes: MAX_HANDSHAKES,
            retry_above_handshakes: RETRY_ABOVE_HANDSHAKES,
        }
    }
}

/// A request from an authenticated peer, for the node to answer.
#[derive(Debug)]
pub struct IncomingRequest {
    /// The peer's key, from its verified certificate.
    pub peer: PublicKey,
    /// The request frame's payload.
    pub bytes: Vec<u8>,
    /// Where the answer goes; dropping it abandons the exchange
    /// ([`code::STREAM_NO_ANSWER`]). An answer over [`MAX_FRAME_BYTES`] is not sent.
    pub reply: oneshot::Sender<Vec<u8>>,
}

/// A node's QUIC endpoint: listens, dials, and carries request/answer frames.
///
/// Cheap to clone. When the last clone is dropped the endpoint closes; [`Transport::close`]
/// closes it and waits for the connections to finish closing.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    key: PublicKey,
    local_addr: SocketAddr,
    listener: Arc<Listener>,
    outgoing: Mutex<HashMap<PublicKey, Arc<Outgoing>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.endpoint.close(VarInt::from_u32(code::CLOSE_SHUTDOWN), b"node shutting down");
    }
}

/// The dialling side's state for one peer.
struct Outgoing {
    inflight: Semaphore,
    connecting: tokio::sync::Mutex<()>,
    connection: Mutex<Option<Connection>>,
}

impl Outgoing {
    /// The cached connection, if it is open and goes to `address`.
    fn usable(&self, address: SocketAddr) -> Option<Connection> {
        let cell = self.connection.lock().unwrap_or_else(PoisonError::into_inner);
        cell.as_ref()
            .filter(|connection| {
                connection.close_reason().is_none() && connection.remote_address() == address
            })
            .cloned()
    }
}

fn transport_parameters(accepted_bidi_streams: u32) -> quinn::TransportConfig {
    let mut parameters = quinn::TransportConfig::default();
    let idle_ms = u32::try_from(MAX_IDLE_TIMEOUT.as_millis()).unwrap_or(u32::MAX);
    parameters
        .max_concurrent_bidi_streams(VarInt::from_u32(accepted_bidi_streams))
        .max_concurrent_uni_streams(VarInt::from_u32(MAX_CONCURRENT_UNI_STREAMS))
        .stream_receive_window(VarInt::from_u32(STREAM_RECEIVE_WINDOW_BYTES))
        .receive_window(VarInt::from_u32(RECEIVE_WINDOW_BYTES))
        .send_window(SEND_WINDOW_BYTES)
        .max_idle_timeout(Some(VarInt::from_u32(idle_ms).into()))
        .keep_alive_interval(Some(KEEP_ALIVE_INTERVAL))
        .datagram_receive_buffer_size(None);
    parameters
}

impl Transport {
    /// Binds the endpoint at `config.listen` and starts accepting connections. Returns the
    /// transport and the channel of requests from peers (at most [`INCOMING_QUEUE`]
    /// waiting). Must run inside a tokio runtime.
    pub fn bind(
        config: TransportConfig,
    ) -> Result<(Transport, mpsc::Receiver<IncomingRequest>), TransportError> {
        let key = PublicKey::from(config.key.verifying_key());
        let setup = |reason: String| TransportError::Setup { key, reason };
        let (certificate, private_key) =
            node_certificate(&config.key).map_err(|error| setup(error.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());

        let mut server_tls = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|error| setup(format!("server TLS: {error}")))?
            .with_client_cert_verifier(Arc::new(NodeClientVerifier::new(config.peers.clone())))
            .with_single_cert(vec![certificate.clone()], private_key.clone_key())
            .map_err(|error| setup(format!("server certificate: {error}")))?;
        server_tls.alpn_protocols = vec![ALPN.to_vec()];
        // No resumption: a resumed session would skip the client-certificate check, and a
        // removed member could come back on an old ticket. No 0-RTT either.
        server_tls.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        server_tls.send_tls13_tickets = 0;
        server_tls.max_early_data_size = 0;
        let server_crypto = QuicServerConfig::try_from(server_tls)
            .map_err(|error| setup(format!("server QUIC TLS: {error}")))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_crypto));
        server
            .transport_config(Arc::new(transport_parameters(MAX_CONCURRENT_BIDI_STREAMS)))
            .max_incoming(config.limits.max_handshakes.max(1))
            .incoming_buffer_size(INCOMING_BUFFER_BYTES)
            .incoming_buffer_size_total(
                INCOMING_BUFFER_BYTES.saturating_mul(config.limits.max_handshakes as u64),
            );

        let mut client_tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|error| setup(format!("client TLS: {error}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NodeServerVerifier::new(config.peers.clone())))
            .with_client_auth_cert(vec![certificate], private_key)
            .map_err(|error| setup(format!("client certificate: {error}")))?;
        client_tls.alpn_protocols = vec![ALPN.to_vec()];
        client_tls.resumption = rustls::client::Resumption::disabled();
        client_tls.enable_early_data = false;
        let client_crypto = QuicClientConfig::try_from(client_tls)
            .map_err(|error| setup(format!("client QUIC TLS: {error}")))?;
        let mut client = quinn::ClientConfig::new(Arc::new(client_crypto));
        // Peers never open streams on a connection this node dialled.
        client.transport_config(Arc::new(transport_parameters(0)));

        let bind_error = |source: io::Error| TransportError::Bind { address: config.listen, error: source };
        let socket = std::net::UdpSocket::bind(config.listen).map_err(bind_error)?;
        let runtime = quinn::default_runtime()
            .ok_or_else(|| setup("no tokio runtime to run the QUIC endpoint in".into()))?;
        let mut endpoint =
            Endpoint::new(restart_keys::endpoint_config(&config.key), Some(server), socket, runtime)
                .map_err(bind_error)?;
        endpoint.set_default_client_config(client);
        let local_addr = endpoint.local_addr().map_err(bind_error)?;

        let (sender, receiver) = mpsc::channel(INCOMING_QUEUE);
        let listener = Arc::new(Listener {
            peers: config.peers,
            limits: config.limits,
            handshakes: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            by_peer: Mutex::new(HashMap::new()),
            requests: sender,
            budget: ReceiveBudget::new(Sizes::default()),
        });
        tokio::spawn(accept_loop(endpoint.clone(), Arc::clone(&listener)));
        tracing::info!(%local_addr, key = %key.short(), "QUIC transport listening");
        let inner = Inner { endpoint, key, local_addr, listener, outgoing: Mutex::new(HashMap::new()) };
        Ok((Transport { inner: Arc::new(inner) }, receiver))
    }

    /// The address the endpoint is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// This node's key, which its certificate carries.
    pub fn key(&self) -> PublicKey {
        self.inner.key
    }

    /// The allow-list the verifiers use.
    pub fn peers(&self) -> &PeerKeys {
        &self.inner.listener.peers
    }

    /// Sends `request` to `peer` at `address` and returns its answer, all within
    /// `timeout`. Reuses the open connection to the peer, or connects (and completes the
    /// hello round trip) first. At most `max_inflight_requests_per_peer` requests to one
    /// peer are outstanding; the others wait for a slot within their timeout.
    pub async fn request(
        &self,
        peer: PublicKey,
        address: SocketAddr,
        request: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        if request.len() > MAX_FRAME_BYTES {
            return Err(TransportError::FrameTooLarge {
                peer,
                kind: FrameKind::Request,
                bytes: request.len() as u64,
                limit: MAX_FRAME_BYTES,
            });
        }
        if !self.inner.listener.peers.contains(&peer) {
            return Err(TransportError::NotMember { peer });
        }
        match tokio::time::timeout(timeout, self.exchange(peer, address, &request)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::TimedOut { peer, after: timeout }),
        }
    }

    /// Replaces the allow-list and closes every connection, both directions, with a key
    /// no longer listed. Returns the keys removed.
    pub fn set_peers(&self, keys: impl IntoIterator<Item = PublicKey>) -> BTreeSet<PublicKey> {
        let removed = self.inner.listener.peers.replace(keys);
        for key in &removed {
            self.disconnect(key);
        }
        removed
    }

    /// Closes every connection with `peer` open now, both directions
    /// ([`code::CLOSE_REMOVED`]). Its outstanding requests fail. Whether it can connect
    /// again is up to the allow-list: remove it there first to cut it off.
    pub fn disconnect(&self, peer: &PublicKey) {
        let reason = b"not a member of this node's network";
        let incoming =
            self.inner.listener.by_peer.lock().unwrap_or_else(PoisonError::into_inner).remove(peer);
        for connection in incoming.into_iter().flatten() {
            connection.close(VarInt::from_u32(code::CLOSE_REMOVED), reason);
        }
        let outgoing = self.inner.outgoing.lock().unwrap_or_else(PoisonError::into_inner).remove(peer);
        if let Some(outgoing) = outgoing {
            if let Some(connection) =
                outgoing.connection.lock().unwrap_or_else(PoisonError::into_inner).take()
            {
                connection.close(VarInt::from_u32(code::CLOSE_REMOVED), reason);
            }
        }
        tracing::info!(peer = %peer.short(), "disconnected");
    }

    /// Closes the endpoint and every connection, and waits until they are closed.
    pub async fn close(&self) {
        self.inner.endpoint.close(VarInt::from_u32(code::CLOSE_SHUTDOWN), b"node shutting down");
        self.inner.endpoint.wait_idle().await;
    }

    fn outgoing(&self, peer: PublicKey) -> Arc<Outgoing> {
        let mut outgoing = self.inner.outgoing.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = outgoing.entry(peer).or_insert_with(|| {
            Arc::new(Outgoing {
                inflight: Semaphore::new(self.inner.listener.limits.max_inflight_requests_per_peer.max(1)),
                connecting: tokio::sync::Mutex::new(()),
                connection: Mutex::new(None),
            })
        });
        Arc::clone(slot)
    }

    async fn exchange(
        &self,
        peer: PublicKey,
        address: SocketAddr,
        request: &[u8],
    ) -> Result<Vec<u8>, TransportError> {
        let outgoing = self.outgoing(peer);
        let _slot = outgoing.inflight.acquire().await.map_err(|_| TransportError::Closed)?;
        let connection = self.connection(&outgoing, peer, address).await?;
        match self.exchange_on(&connection, peer, address, request).await {
            // The peer was restarted since this connection opened: its new life answered with
            // a stateless reset. Once more on a new connection (every request is safe to
            // repeat, spec/node.md §Connections and streams).
            Err(_) if matches!(connection.close_reason(), Some(ConnectionError::Reset)) => {
                tracing::info!(peer = %peer.short(), "connection reset by the peer's new life; reconnecting");
                let connection = self.connection(&outgoing, peer, address).await?;
                self.exchange_on(&connection, peer, address, request).await
            }
            result => result,
        }
    }

    /// One request and its answer on `connection`.
    async fn exchange_on(
        &self,
        connection: &Connection,
        peer: PublicKey,
        address: SocketAddr,
        request: &[u8],
    ) -> Result<Vec<u8>, TransportError> {
        let (mut send, mut recv) =
            connection.open_bi().await.map_err(|error| connection_error(peer, address, error, false))?;
        write_frame(&mut send, request)
            .await
            .map_err(|error| frame_error(peer, address, FrameKind::Request, error))?;
        send.finish().map_err(|error| TransportError::Stream { peer, reason: error.to_string() })?;
        read_frame(&mut recv, MAX_FRAME_BYTES)
            .await
            .map_err(|error| frame_error(peer, address, FrameKind::Answer, error))
    }

    /// The open connection to `peer` at `address`, or a new one.
    async fn connection(
        &self,
        outgoing: &Outgoing,
        peer: PublicKey,
        address: SocketAddr,
    ) -> Result<Connection, TransportError> {
        if let Some(connection) = outgoing.usable(address) {
            return Ok(connection);
        }
        // One handshake per peer at a time; the others wait for it and share it.
        let _connecting = outgoing.connecting.lock().await;
        if let Some(connection) = outgoing.usable(address) {
            return Ok(connection);
        }
        let connection = self.connect(peer, address).await?;
        *outgoing.connection.lock().unwrap_or_else(PoisonError::into_inner) = Some(connection.clone());
        Ok(connection)
    }

    /// Connects to `peer` and completes the hello round trip (see the module docs).
    async fn connect(&self, peer: PublicKey, address: SocketAddr) -> Result<Connection, TransportError> {
        let connecting =
            self.inner.endpoint.connect(address, &node_dns_name(&peer)).map_err(|error| match error {
                quinn::ConnectError::EndpointStopping => TransportError::Closed,
                other => TransportError::Unreachable { peer, address, reason: other.to_string() },
            })?;
        let connection = connecting.await.map_err(|error| connection_error(peer, address, error, true))?;
        // The verifier pinned the key already; check the outcome once more.
        let presented = peer_key(&connection);
        if presented != Some(peer) {
            connection.close(VarInt::from_u32(code::CLOSE_PROTOCOL), b"unexpected key");
            return Err(TransportError::Untrusted {
                peer,
                address,
                reason: format!("the connection carries key {presented:?}"),
            });
        }
        // TLS 1.3: our handshake completed before the server checked our certificate. Do
        // not trust the connection until the server has answered.
        let (mut send, mut recv) =
            connection.open_bi().await.map_err(|error| connection_error(peer, address, error, true))?;
        let hello = async {
            write_frame(&mut send, HELLO).await?;
            send.finish().map_err(|error| FrameError::Io(io::Error::other(error)))?;
            read_frame(&mut recv, HELLO_OK.len()).await
        };
        match hello.await {
            Ok(answer) if answer == HELLO_OK => {
                tracing::debug!(peer = %peer.short(), %address, "connected");
                Ok(connection)
            }
            Ok(answer) => {
                connection.close(VarInt::from_u32(code::CLOSE_PROTOCOL), b"unexpected hello answer");
                Err(TransportError::Malformed {
                    peer,
                    reason: format!("hello answered with {:?}", String::from_utf8_lossy(&answer)),
                })
            }
            Err(error) => Err(frame_error(peer, address, FrameKind::Answer, error)),
        }
    }
}

/// The node key in a connection's verified peer certificate.
fn peer_key(connection: &Connection) -> Option<PublicKey> {
    let identity = connection.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    key_of_certificate(chain.first()?).ok()
}
