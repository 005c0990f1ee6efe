//! How the endpoint turns quinn's and the framing's errors into [`TransportError`]s: which
//! failures are a refusal by the peer, a busy peer, a lost connection or a bad frame.

use std::io;
use std::net::SocketAddr;

use kvitt_protocol::PublicKey;
use quinn::{ConnectionError, TransportErrorCode, VarInt};

use super::frame::FrameError;
use super::{code, FrameKind, TransportError};

/// Whether `code` is a TLS alert carried as a QUIC CRYPTO_ERROR (0x100–0x1ff, RFC 9001 §4.8).
fn is_crypto_error(code: TransportErrorCode) -> bool {
    (0x100..0x200).contains(&u64::from(code))
}

/// What a quinn connection error means for an exchange with `peer`.
pub(super) fn connection_error(
    peer: PublicKey,
    address: SocketAddr,
    error: ConnectionError,
    connecting: bool,
) -> TransportError {
    match &error {
        // The peer's TLS stack refused us (typically our certificate) with an alert.
        ConnectionError::ConnectionClosed(close) if is_crypto_error(close.error_code) => {
            TransportError::Refused { peer, address, reason: error.to_string() }
        }
        ConnectionError::ConnectionClosed(close)
            if close.error_code == TransportErrorCode::CONNECTION_REFUSED =>
        {
            TransportError::Busy { peer, address }
        }
        ConnectionError::ApplicationClosed(close)
            if close.error_code == VarInt::from_u32(code::CLOSE_REMOVED) =>
        {
            TransportError::Refused { peer, address, reason: error.to_string() }
        }
        // Our TLS stack refused the peer: our verifier's reason is in the message.
        ConnectionError::TransportError(local) if is_crypto_error(local.code) => {
            TransportError::Untrusted { peer, address, reason: local.reason.clone() }
        }
        ConnectionError::TimedOut if connecting => {
            TransportError::Unreachable { peer, address, reason: "no answer to the handshake".to_string() }
        }
        ConnectionError::LocallyClosed => TransportError::Closed,
        _ => TransportError::ConnectionLost { peer, address, error },
    }
}

/// What a frame error means for an exchange with `peer`.
pub(super) fn frame_error(
    peer: PublicKey,
    address: SocketAddr,
    kind: FrameKind,
    error: FrameError,
) -> TransportError {
    match error {
        FrameError::TooLarge { bytes, limit } => TransportError::FrameTooLarge { peer, kind, bytes, limit },
        FrameError::Truncated { expected, received } => TransportError::Malformed {
            peer,
            reason: format!("{kind} frame ends after {received} of {expected} bytes"),
        },
        FrameError::Trailing => {
            TransportError::Malformed { peer, reason: format!("bytes after the {kind} frame") }
        }
        FrameError::Stalled { after } => TransportError::TimedOut { peer, after },
        FrameError::Io(error) => stream_error(peer, address, error),
    }
}

/// Unpacks the quinn error inside a stream's `io::Error`.
fn stream_error(peer: PublicKey, address: SocketAddr, error: io::Error) -> TransportError {
    let reason = error.to_string();
    let inner = error.into_inner();
    let inner = inner.as_deref();
    let abandoned = |code: VarInt| TransportError::Abandoned {
        peer,
        code: code.into_inner(),
        meaning: code::stream_meaning(code.into_inner()),
    };
    if let Some(read) = inner.and_then(|inner| inner.downcast_ref::<quinn::ReadError>()) {
        match read {
            quinn::ReadError::Reset(code) => return abandoned(*code),
            quinn::ReadError::ConnectionLost(lost) => {
                return connection_error(peer, address, lost.clone(), false)
            }
            _ => {}
        }
    }
    if let Some(write) = inner.and_then(|inner| inner.downcast_ref::<quinn::WriteError>()) {
        match write {
            quinn::WriteError::Stopped(code) => return abandoned(*code),
            quinn::WriteError::ConnectionLost(lost) => {
                return connection_error(peer, address, lost.clone(), false)
            }
            _ => {}
        }
    }
    TransportError::Stream { peer, reason }
}
