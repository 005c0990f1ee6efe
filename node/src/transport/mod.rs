//! The node's QUIC transport: request and response frames between authenticated peers.
//!
//! Bytes in, bytes out. What the frames mean is the node core's business; this module
//! only proves who sent them and bounds how many and how large.
//!
//! - **One endpoint per node** ([`Transport`]) both listens and dials, over quinn 0.11 and
//!   rustls 0.23 with the ring provider, TLS 1.3 only, ALPN [`ALPN`] (`kvitt/1`).
//! - **Mutual authentication pinned to node keys.** Each node presents a self-signed X.509
//!   certificate carrying its ed25519 node key ([`cert`]), the same key that signs its
//!   records. Both sides' verifiers ([`verify`]) accept exactly the keys in a shared
//!   allow-list ([`PeerKeys`], the directory's members) and check the handshake signature
//!   against that key; the dialler also checks that the key is the one it dialled. Dates,
//!   issuers and certificate signatures are not what is trusted: the key is.
//! - **One exchange per stream.** The dialler opens a bidirectional stream, writes one
//!   frame (4-byte big-endian length, then the payload; at most [`MAX_FRAME_BYTES`]),
//!   finishes its side and reads one frame back. The receiver checks the length before
//!   reading the payload, and hands `(peer, bytes, reply)` to the node as an
//!   [`IncomingRequest`] on a bounded channel.
//!
//! # The TLS 1.3 client-authentication trap
//!
//! In TLS 1.3 the client finishes its handshake before the server has checked the
//! client's certificate, so a client whose key the server refuses still sees `connect()`
//! succeed; the refusal arrives afterwards as a connection close. A client that sent its
//! request straight away would learn of the refusal only as a lost stream, or not at
//! all. So a new connection is not used until one transport-level round trip has
//! completed: the dialler sends the frame [`HELLO`] on the connection's first stream and
//! the server answers [`HELLO_OK`] only after accepting the client's certificate (and
//! checking that the key is still listed). A refused client gets
//! [`TransportError::Refused`] from [`Transport::request`], promptly and never a hang,
//! and its request is never sent. The hello never reaches the node's request channel.
//!
//! # Removing a peer
//!
//! [`PeerKeys::replace`] changes who may complete a *new* handshake; connections already
//! established stay open. [`Transport::set_peers`] replaces the list and also closes every
//! connection (both directions) with a key no longer listed, and [`Transport::disconnect`]
//! closes one peer's connections: use these when the directory removes a member.
//!
//! # Limits
//!
//! Everything from the network is bounded by a named constant below: frame size, streams
//! per connection (QUIC flow control enforces [`MAX_CONCURRENT_BIDI_STREAMS`]), flow-control
//! windows, requests in flight per peer on the dialling side, handshakes in progress and
//! connections open on the listening side (beyond [`RETRY_ABOVE_HANDSHAKES`] handshakes in
//! progress, a client must prove its address with a QUIC Retry first), bytes of requests
//! buffered, each peer's share of them and of the streams receiving at once,
//! and every wait has a timeout.

mod budget;
pub mod cert;
mod endpoint;
mod errors;
mod frame;
mod restart_keys;
pub mod runtime_link;
pub mod verify;

use std::net::SocketAddr;
use std::time::Duration;

use kvitt_protocol::PublicKey;

pub use cert::{key_of_certificate, node_certificate, node_dns_name, CertificateError, NODE_DNS_SUFFIX};
pub use endpoint::{IncomingRequest, Limits, Transport, TransportConfig};
pub use verify::PeerKeys;

/// The ALPN protocol id: the transport and message version. A peer that does not offer it
/// is refused during the handshake.
pub const ALPN: &[u8] = b"kvitt/1";

/// The first frame a dialler sends on a new connection (see the module documentation).
pub const HELLO: &[u8] = b"kvitt/1 hello";

/// The server's answer to [`HELLO`]: the connection is established and trusted both ways.
pub const HELLO_OK: &[u8] = b"kvitt/1 ok";

/// Largest frame payload, request or answer, in bytes; checked from the length prefix
/// before the payload is read.
pub const MAX_FRAME_BYTES: usize = kvitt_protocol::limits::MAX_MESSAGE_BYTES;

/// Bidirectional streams (exchanges) a peer may have open on one connection to this node
/// at once; QUIC flow control enforces it. Outgoing connections accept no streams at all.
pub const MAX_CONCURRENT_BIDI_STREAMS: u32 = 64;

/// Unidirectional streams a peer may open: none, the protocol does not use them.
pub const MAX_CONCURRENT_UNI_STREAMS: u32 = 0;

/// Bytes a peer may send on one stream ahead of this node reading them.
pub const STREAM_RECEIVE_WINDOW_BYTES: u32 = 1024 * 1024;

/// Bytes a peer may send on one connection, all streams together, ahead of this node
/// reading them.
pub const RECEIVE_WINDOW_BYTES: u32 = 8 * 1024 * 1024;

/// Bytes this node buffers for sending on one connection before writes wait.
pub const SEND_WINDOW_BYTES: u64 = 8 * 1024 * 1024;

/// A connection with no traffic for this long is closed (keep-alives prevent it while
/// both ends are up).
pub const MAX_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Interval of keep-alive packets on an idle connection.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Requests this node has outstanding to one peer at once; further requests wait for a
/// slot (within their own timeout). Half of [`MAX_CONCURRENT_BIDI_STREAMS`], so that this
/// limit, not the peer's stream credit (which the hello stream also uses, and which comes
/// back only once the peer has seen a stream fully closed), is what makes requests wait.
pub const MAX_INFLIGHT_REQUESTS_PER_PEER: usize = 32;

/// Established incoming connections at once (handshakes in progress count too); further
/// connection attempts are refused.
pub const MAX_INCOMING_CONNECTIONS: usize = 1024;

/// Incoming connections from one peer at once; when a new one is established the oldest
/// beyond this is closed (a restarted peer's old connection would otherwise linger until
/// its idle timeout).
pub const MAX_CONNECTIONS_PER_PEER: usize = 4;

/// Incoming handshakes in progress at once; further connection attempts are refused.
pub const MAX_HANDSHAKES: usize = 256;

/// Once this many incoming handshakes are in progress, a client whose address is not yet
/// validated is sent a QUIC Retry (`Incoming::retry`) and must prove its address first.
pub const RETRY_ABOVE_HANDSHAKES: usize = 32;

/// Bytes quinn buffers for one incoming connection attempt before this node handles it
/// (the protocol sends no 0-RTT data, so little is needed).
pub const INCOMING_BUFFER_BYTES: u64 = 64 * 1024;

/// Time a handshake may take, from the first packet to the verified certificate.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time the dialler has, once connected, to send its [`HELLO`].
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Time a peer has to deliver a whole request frame once it opened the stream.
pub const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes of requests this node holds for all peers together: payloads being received and
/// requests waiting for their answers. Reserved as bytes arrive, never as lengths are
/// announced (spec/node.md §Framing); a stream whose next bytes do not fit waits, and QUIC flow
/// control holds back its sender.
pub const MAX_BUFFERED_REQUEST_BYTES: usize = 128 * 1024 * 1024;

/// One peer's share of [`MAX_BUFFERED_REQUEST_BYTES`]: its streams, over all its
/// connections, together hold at most this many bytes, so that one peer cannot take the
/// budget from the others.
pub const PEER_BUFFERED_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// Request streams receiving their payload at once, all peers together: as many frames of
/// [`MAX_FRAME_BYTES`] as [`MAX_BUFFERED_REQUEST_BYTES`] holds, so that each can finish.
/// Streams beyond wait for a slot after their length prefix, holding no budget.
pub const MAX_READING_STREAMS: usize = MAX_BUFFERED_REQUEST_BYTES / MAX_FRAME_BYTES;

/// Request streams of one peer receiving their payload at once: as many frames of
/// [`MAX_FRAME_BYTES`] as [`PEER_BUFFERED_REQUEST_BYTES`] holds. A peer's slow streams
/// take at most these of the [`MAX_READING_STREAMS`].
pub const MAX_READING_STREAMS_PER_PEER: usize = PEER_BUFFERED_REQUEST_BYTES / MAX_FRAME_BYTES;

/// A request stream receiving its payload that gets no byte for this long is cut
/// ([`code::STREAM_STALLED`]), and its slot and bytes go to others. Waiting for budget does
/// not count: that is this node's doing, not the peer's.
pub const REQUEST_STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes a request's buffer holds at first, and the budget it reserves for them; the
/// buffer doubles each time it is full, up to the frame's announced length, so a length
/// prefix alone never costs more.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Requests waiting in the channel to the node before the transport waits for room.
pub const INCOMING_QUEUE: usize = 256;

/// Stream and connection error codes this transport sends, as QUIC application error codes.
pub mod code {
    /// Stream: the frame's announced length exceeds the receiver's [`super::MAX_FRAME_BYTES`].
    pub const STREAM_FRAME_TOO_LARGE: u32 = 1;
    /// Stream: the node had no answer (it is shutting down or dropped the request).
    pub const STREAM_NO_ANSWER: u32 = 2;
    /// Stream: the request frame did not arrive within [`super::REQUEST_READ_TIMEOUT`].
    pub const STREAM_READ_TIMEOUT: u32 = 3;
    /// Stream: the frame was malformed (truncated, or bytes after it).
    pub const STREAM_MALFORMED: u32 = 4;
    /// Stream: the node's answer exceeds [`super::MAX_FRAME_BYTES`] and was not sent.
    pub const STREAM_ANSWER_TOO_LARGE: u32 = 5;
    /// Stream: no byte of the request frame arrived for [`super::REQUEST_STALL_TIMEOUT`].
    pub const STREAM_STALLED: u32 = 6;

    /// Connection: closed on shutdown.
    pub const CLOSE_SHUTDOWN: u32 = 0;
    /// Connection: the peer's key is not (or no longer) in this node's allow-list.
    pub const CLOSE_REMOVED: u32 = 1;
    /// Connection: the peer broke the transport protocol (no or wrong [`super::HELLO`]).
    pub const CLOSE_PROTOCOL: u32 = 2;
    /// Connection: superseded by newer connections from the same peer
    /// ([`super::MAX_CONNECTIONS_PER_PEER`]).
    pub const CLOSE_SUPERSEDED: u32 = 3;

    /// What a stream code this transport sends means, for error messages.
    pub fn stream_meaning(code: u64) -> &'static str {
        match u32::try_from(code) {
            Ok(STREAM_FRAME_TOO_LARGE) => "the frame exceeds the receiver's limit",
            Ok(STREAM_NO_ANSWER) => "the node had no answer",
            Ok(STREAM_READ_TIMEOUT) => "the frame did not arrive in time",
            Ok(STREAM_MALFORMED) => "the frame was malformed",
            Ok(STREAM_ANSWER_TOO_LARGE) => "the answer exceeds the frame limit",
            Ok(STREAM_STALLED) => "the frame stalled",
            _ => "unknown stream code",
        }
    }
}

/// Which frame of an exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// The dialler's frame.
    Request,
    /// The listener's frame.
    Answer,
}

impl std::fmt::Display for FrameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FrameKind::Request => "request",
            FrameKind::Answer => "answer",
        })
    }
}

/// Why the transport could not carry an exchange.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The UDP socket could not be bound (or no tokio runtime is running).
    #[error("cannot listen on {address}: {error}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// This node's key could not be made into its certificate and TLS configuration.
    #[error("cannot set up TLS for node key {}: {reason}", .key.short())]
    Setup {
        /// This node's key.
        key: PublicKey,
        /// What failed.
        reason: String,
    },
    /// The peer is not in this node's allow-list, so it is not dialled.
    #[error("{} is not in this node's allow-list; not dialled", .peer.short())]
    NotMember {
        /// The peer asked for.
        peer: PublicKey,
    },
    /// A frame is larger than [`MAX_FRAME_BYTES`]: a request is refused before anything is
    /// sent; an answer is refused from its length prefix, before its payload is read.
    #[error("{kind} of {bytes} bytes for {} exceeds the frame limit of {limit} bytes", .peer.short())]
    FrameTooLarge {
        /// The peer of the exchange.
        peer: PublicKey,
        /// Request or answer.
        kind: FrameKind,
        /// Its size (for an answer, the size its length prefix announced).
        bytes: u64,
        /// The limit.
        limit: usize,
    },
    /// No connection could be made: nothing answered at the address, or it cannot be dialled.
    #[error("cannot reach {} at {address}: {reason}", .peer.short())]
    Unreachable {
        /// The peer dialled.
        peer: PublicKey,
        /// Where.
        address: SocketAddr,
        /// What happened.
        reason: String,
    },
    /// The peer's node refused this node: our key is not (or no longer) in its allow-list,
    /// or it does not speak [`ALPN`].
    #[error("{} at {address} refused this node: {reason}", .peer.short())]
    Refused {
        /// The peer dialled.
        peer: PublicKey,
        /// Where.
        address: SocketAddr,
        /// What it said.
        reason: String,
    },
    /// The node at the address is not trusted: its certificate does not carry the dialled
    /// key, the key is not in the allow-list, or it is not a kvitt node certificate.
    #[error("the node at {address} is not a trusted {}: {reason}", .peer.short())]
    Untrusted {
        /// The peer dialled.
        peer: PublicKey,
        /// Where.
        address: SocketAddr,
        /// Why its certificate was refused.
        reason: String,
    },
    /// The peer refused a new connection because it is at its connection limit.
    #[error("{} at {address} refused the connection: it is at its connection limit", .peer.short())]
    Busy {
        /// The peer dialled.
        peer: PublicKey,
        /// Where.
        address: SocketAddr,
    },
    /// The connection broke during the exchange.
    #[error("connection to {} at {address} lost: {error}", .peer.short())]
    ConnectionLost {
        /// The peer.
        peer: PublicKey,
        /// Where.
        address: SocketAddr,
        /// What quinn reported.
        error: quinn::ConnectionError,
    },
    /// The peer abandoned the exchange with a stream code (see [`code`]).
    #[error("{} abandoned the exchange: {meaning} (stream code {code})", .peer.short())]
    Abandoned {
        /// The peer.
        peer: PublicKey,
        /// The QUIC application error code.
        code: u64,
        /// What the code means.
        meaning: &'static str,
    },
    /// The peer broke the framing (truncated frame, bytes after it, a wrong hello answer).
    #[error("{} broke the framing: {reason}", .peer.short())]
    Malformed {
        /// The peer.
        peer: PublicKey,
        /// What was wrong.
        reason: String,
    },
    /// The stream failed in a way none of the above describes.
    #[error("the stream to {} failed: {reason}", .peer.short())]
    Stream {
        /// The peer.
        peer: PublicKey,
        /// What quinn reported.
        reason: String,
    },
    /// The exchange did not complete within its timeout (waiting for a slot, connecting,
    /// or waiting for the answer).
    #[error("no answer from {} within {after:?}", .peer.short())]
    TimedOut {
        /// The peer.
        peer: PublicKey,
        /// The timeout.
        after: Duration,
    },
    /// This transport has been closed.
    #[error("the transport is closed")]
    Closed,
}
