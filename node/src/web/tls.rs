//! HTTPS for the client API and web app: `kvitt run --tls-cert PEM --tls-key PEM` serves
//! the listener over TLS (rustls on the ring provider, as the QUIC transport uses).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The certificate chain and private key files (PEM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the TLS files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no PEM of its kind.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the pair (a key that is not the certificate's, say).
    #[error("the TLS certificate and key: {0}")]
    Config(rustls::Error),
}

impl TlsFiles {
    /// A TLS acceptor serving HTTP/1.1 with this certificate and key.
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let file_error = |path: &PathBuf| {
            let path = path.clone();
            move |error: rustls::pki_types::pem::Error| TlsError::File { path, message: error.to_string() }
        };
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .map_err(file_error(&self.cert))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(file_error(&self.cert))?;
        if chain.is_empty() {
            return Err(TlsError::File { path: self.cert.clone(), message: "no CERTIFICATE in it".into() });
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(file_error(&self.key))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Config)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_pair_is_served_and_a_missing_or_wrong_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        assert!(TlsFiles { cert: cert.clone(), key: key.clone() }.acceptor().is_ok());
        let error = TlsFiles { cert: key.clone(), key: key.clone() }.acceptor().err().unwrap().to_string();
        assert!(error.starts_with(&key.display().to_string()), "{error}");
        let missing = dir.path().join("none.pem");
        let error = TlsFiles { cert, key: missing.clone() }.acceptor().err().unwrap().to_string();
        assert!(error.starts_with(&missing.display().to_string()), "{error}");
    }
}
