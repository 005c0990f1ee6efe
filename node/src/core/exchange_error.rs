//! Why a request this core sent got no response: what the driver hands back in
//! [`super::Input::Answer`] instead of one. The core only logs it, backs off and retries,
//! but each failure is a variant so that drivers (the tokio runtime, the simulator) say
//! the same thing the same way.

use std::net::SocketAddr;
use std::time::Duration;

use kvitt_protocol::PublicKey;

/// A request to a peer that got no response.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The ledger failed before what the request carries was durable: it was not sent.
    #[error("not sent, the ledger failed: {0}")]
    NotDurable(std::sync::Arc<crate::store::StoreError>),
    /// The step that made the request could not write to the ledger (a full disk): the
    /// request may carry a record that was never stored, so it was not sent.
    #[error("not sent, the ledger refused the step's write: {0}")]
    WriteRefused(String),
    /// None of the peer's directory addresses resolves (or the peer has none).
    #[error("no address of {} in the directory resolves ({addresses:?})", peer.short())]
    NoAddress {
        /// The peer.
        peer: PublicKey,
        /// Its addresses in the directory.
        addresses: Vec<String>,
    },
    /// The request could not be encoded.
    #[error("could not encode the request: {0}")]
    Encode(kvitt_protocol::Error),
    /// The peer did not answer within the driver's timeout.
    #[error("no answer{} within {within:?}", from.map(|address| format!(" from {address}")).unwrap_or_default())]
    NoAnswer {
        /// Where the request went, when the driver dials addresses.
        from: Option<SocketAddr>,
        /// How long the driver waited.
        within: Duration,
    },
    /// The connection or stream failed. The core knows no QUIC: the transport's own typed
    /// error (crate::transport::TransportError) arrives as its text.
    #[error("{0}")]
    Link(String),
    /// The answer is not a valid response.
    #[error("undecodable answer: {0}")]
    Undecodable(kvitt_protocol::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_reads_as_the_drivers_said_it_before() {
        let timeout = ExchangeError::NoAnswer {
            from: Some(([127, 0, 0, 1], 7000).into()),
            within: Duration::from_secs(10),
        };
        assert_eq!(timeout.to_string(), "no answer from 127.0.0.1:7000 within 10s");
        let timeout = ExchangeError::NoAnswer { from: None, within: Duration::from_millis(10_000) };
        assert_eq!(timeout.to_string(), "no answer within 10s");
        assert_eq!(ExchangeError::Link("closed".into()).to_string(), "closed");
        let error = kvitt_protocol::Error::new(kvitt_protocol::ErrorCode::Malformed, "", "x");
        assert!(ExchangeError::Undecodable(error).to_string().starts_with("undecodable answer: "));
    }
}
