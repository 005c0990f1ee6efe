//! The conformance client's own QUIC link, written from spec/node.md §Transport: a raw
//! quinn endpoint whose TLS offers what a check asks (another ALPN, no certificate) and
//! whose streams carry whatever bytes a check writes, which a `Transport` never would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kvitt_protocol::PublicKey;
use quinn::crypto::rustls::QuicClientConfig;

use crate::transport::verify::NodeServerVerifier;
use crate::transport::{node_certificate, node_dns_name, PeerKeys, HELLO, HELLO_OK, MAX_FRAME_BYTES};

/// How long a check waits for a handshake or an answer before it fails.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// Who connects to whom, and how.
pub struct Dial<'a> {
    /// The node under test.
    pub peer: SocketAddr,
    /// Its node key, pinned.
    pub peer_key: PublicKey,
    /// This side's node key; `None` presents no certificate.
    pub key: Option<&'a SigningKey>,
    /// The ALPN protocol ids offered.
    pub alpn: &'a [u8],
}

/// How an attempt to connect, or an exchange, ended when it did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The TLS handshake failed with this alert (RFC 8446 §6), as QUIC reports it.
    #[error("TLS alert {0}")]
    Alert(u8),
    /// The connection closed with this application code (node.md §Application error codes).
    #[error("connection closed with application code {0}")]
    Closed(u64),
    /// The listener reset the stream with this application code.
    #[error("stream reset with code {0}")]
    Reset(u64),
    /// Nothing came in time.
    #[error("no answer within {CHECK_TIMEOUT:?}")]
    TimedOut,
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}

impl From<quinn::ConnectionError> for LinkError {
    fn from(error: quinn::ConnectionError) -> LinkError {
        // A TLS alert travels as the crypto error code 0x0100 + alert (RFC 9001 §4.8).
        let crypto = |code: u64| match code.checked_sub(0x100) {
            Some(alert) if alert <= 0xff => LinkError::Alert(alert as u8),
            _ => LinkError::Other(format!("transport error code {code:#x}")),
        };
        match error {
            quinn::ConnectionError::TransportError(error) => crypto(u64::from(error.code)),
            quinn::ConnectionError::ConnectionClosed(close) => crypto(u64::from(close.error_code)),
            quinn::ConnectionError::ApplicationClosed(close) => {
                LinkError::Closed(close.error_code.into_inner())
            }
            quinn::ConnectionError::TimedOut => LinkError::TimedOut,
            other => LinkError::Other(other.to_string()),
        }
    }
}

/// An open connection and the endpoint it runs on.
pub struct Link {
    /// Kept for as long as the connection is used.
    _endpoint: quinn::Endpoint,
    connection: quinn::Connection,
}

impl Link {
    /// Connects as `dial` says and waits for the handshake to be confirmed: with TLS 1.3 the
    /// client may finish before the server judges its certificate, so a refusal can come
    /// just after the handshake; a short wait for it makes the outcome deterministic.
    pub async fn connect(dial: &Dial<'_>) -> Result<Link, LinkError> {
        let verifier = NodeServerVerifier::new(PeerKeys::new([dial.peer_key]));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|error| LinkError::Other(error.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut tls = match dial.key {
            Some(key) => {
                let (certificate, private_key) =
                    node_certificate(key).map_err(|error| LinkError::Other(error.to_string()))?;
                builder
                    .with_client_auth_cert(vec![certificate], private_key)
                    .map_err(|error| LinkError::Other(error.to_string()))?
            }
            None => builder.with_no_client_auth(),
        };
        tls.alpn_protocols = vec![dial.alpn.to_vec()];
        let quic = QuicClientConfig::try_from(tls).map_err(|error| LinkError::Other(error.to_string()))?;
        let local: SocketAddr =
            if dial.peer.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
        let mut endpoint =
            quinn::Endpoint::client(local).map_err(|error| LinkError::Other(error.to_string()))?;
        endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
        let connecting = endpoint
            .connect(dial.peer, &node_dns_name(&dial.peer_key))
            .map_err(|error| LinkError::Other(error.to_string()))?;
        let connection =
            tokio::time::timeout(CHECK_TIMEOUT, connecting).await.map_err(|_| LinkError::TimedOut)??;
        if let Ok(closed) = tokio::time::timeout(Duration::from_millis(300), connection.closed()).await {
            return Err(closed.into());
        }
        Ok(Link { _endpoint: endpoint, connection })
    }

    /// Connects as `dial` says and completes the hello (node.md §Connection setup).
    pub async fn connect_with_hello(dial: &Dial<'_>) -> Result<Link, LinkError> {
        let link = Link::connect(dial).await?;
        let answer = link.exchange(HELLO).await?;
        if answer != HELLO_OK {
            return Err(LinkError::Other(format!(
                "hello answered with {:?}",
                String::from_utf8_lossy(&answer)
            )));
        }
        Ok(link)
    }

    /// Sends `payload` as one frame on a new stream and reads the one answer frame.
    pub async fn exchange(&self, payload: &[u8]) -> Result<Vec<u8>, LinkError> {
        let length =
            u32::try_from(payload.len()).map_err(|_| LinkError::Other("payload over 4 GiB".into()))?;
        self.exchange_raw(&[&length.to_be_bytes()[..], payload].concat()).await
    }

    /// Writes `bytes` as they are (a length prefix is the caller's business), finishes the
    /// stream and reads one answer frame.
    pub async fn exchange_raw(&self, bytes: &[u8]) -> Result<Vec<u8>, LinkError> {
        let exchange = async {
            let (mut send, mut receive) = self.connection.open_bi().await?;
            // The listener may reset the stream before reading it all; its code is the answer.
            let written = send.write_all(bytes).await;
            if written.is_ok() {
                let _ = send.finish();
            }
            let mut prefix = [0u8; 4];
            match receive.read_exact(&mut prefix).await {
                Ok(()) => {}
                Err(quinn::ReadExactError::ReadError(quinn::ReadError::Reset(code))) => {
                    return Err(LinkError::Reset(code.into_inner()))
                }
                Err(quinn::ReadExactError::ReadError(quinn::ReadError::ConnectionLost(error))) => {
                    return Err(error.into())
                }
                Err(error) => return Err(LinkError::Other(error.to_string())),
            }
            let length = u32::from_be_bytes(prefix) as usize;
            if length > MAX_FRAME_BYTES {
                return Err(LinkError::Other(format!(
                    "answer frame of {length} bytes, over MAX_FRAME_BYTES"
                )));
            }
            let mut answer = vec![0u8; length];
            receive.read_exact(&mut answer).await.map_err(|error| LinkError::Other(error.to_string()))?;
            Ok(answer)
        };
        tokio::time::timeout(CHECK_TIMEOUT, exchange).await.map_err(|_| LinkError::TimedOut)?
    }
}
