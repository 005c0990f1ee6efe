//! The allow-list and the two certificate verifiers that enforce it.
//!
//! Both verifiers accept exactly the node certificates ([`super::cert`]) whose key is in
//! the shared [`PeerKeys`], with no intermediates, and check the TLS 1.3 handshake
//! signature against *that* key: the signature is verified over the SubjectPublicKeyInfo
//! rebuilt from the key the allow-list matched, so the certificate parser that found the
//! key and the key that proves possession cannot disagree. The server verifier (used when
//! dialling) also requires the key to be the dialled one: the dialler uses
//! [`node_dns_name`] of the dialled key as server name, and the name is injective in the
//! key. TLS 1.2 is never negotiated (the configurations are TLS 1.3 only) and its
//! signature check refuses.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use kvitt_protocol::PublicKey;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::cert::{ed25519_spki, key_of_certificate, node_dns_name, CertificateError};

/// The keys allowed to connect and to be dialled: the directory's members. Shared between
/// the verifiers and whoever updates it; a change applies to handshakes from then on.
#[derive(Clone, Default)]
pub struct PeerKeys {
    keys: Arc<RwLock<BTreeSet<PublicKey>>>,
}

impl PeerKeys {
    /// A list holding `keys`.
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> PeerKeys {
        PeerKeys { keys: Arc::new(RwLock::new(keys.into_iter().collect())) }
    }

    /// Replaces the list; returns the keys that were listed and are not any more.
    /// Connections already established are not closed (see `Transport::set_peers`).
    pub fn replace(&self, keys: impl IntoIterator<Item = PublicKey>) -> BTreeSet<PublicKey> {
        let new: BTreeSet<PublicKey> = keys.into_iter().collect();
        let mut current = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        let removed = current.difference(&new).copied().collect();
        *current = new;
        removed
    }

    /// Adds one key; false if it was listed already.
    pub fn insert(&self, key: PublicKey) -> bool {
        self.keys.write().unwrap_or_else(PoisonError::into_inner).insert(key)
    }

    /// Removes one key; false if it was not listed.
    pub fn remove(&self, key: &PublicKey) -> bool {
        self.keys.write().unwrap_or_else(PoisonError::into_inner).remove(key)
    }

    /// Whether `key` is listed.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).contains(key)
    }

    /// The listed keys.
    pub fn keys(&self) -> BTreeSet<PublicKey> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl fmt::Debug for PeerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.keys.read().unwrap_or_else(PoisonError::into_inner).iter()).finish()
    }
}

/// A certificate refusal as rustls carries it (the handshake then fails with an alert).
fn refuse(error: CertificateError) -> rustls::Error {
    tracing::debug!(%error, "peer certificate refused");
    rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(Arc::new(Refusal(
        error,
    )))))
}

/// Carries a [`CertificateError`] through rustls, which prints it with `Debug`: this
/// `Debug` is the error's message, so the dialler's error reads as a sentence.
struct Refusal(CertificateError);

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Refusal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// The key of a peer's certificate if it is a listed node certificate with no chain.
fn listed_key(
    peers: &PeerKeys,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Result<PublicKey, CertificateError> {
    if !intermediates.is_empty() {
        return Err(CertificateError::Chain { intermediates: intermediates.len() });
    }
    let key = key_of_certificate(end_entity)?;
    if !peers.contains(&key) {
        return Err(CertificateError::NotMember { key });
    }
    Ok(key)
}

/// Checks a TLS 1.3 handshake signature against the node key the certificate carries.
fn verify_signature(
    algorithms: &WebPkiSupportedAlgorithms,
    message: &[u8],
    certificate: &CertificateDer<'_>,
    signature: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    if signature.scheme != SignatureScheme::ED25519 {
        return Err(rustls::Error::PeerMisbehaved(
            rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme,
        ));
    }
    let key = key_of_certificate(certificate).map_err(refuse)?;
    let spki = SubjectPublicKeyInfoDer::from(ed25519_spki(&key));
    rustls::crypto::verify_tls13_signature_with_raw_key(message, &spki, signature, algorithms)
}

fn tls12_refused() -> rustls::Error {
    rustls::Error::General("kvitt speaks TLS 1.3 only".to_string())
}

/// The ring provider's signature verification algorithms.
fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

/// Verifies the server when this node dials: a listed key, and the dialled one.
#[derive(Debug)]
pub struct NodeServerVerifier {
    peers: PeerKeys,
    algorithms: WebPkiSupportedAlgorithms,
}

impl NodeServerVerifier {
    /// A verifier accepting the keys in `peers`.
    pub fn new(peers: PeerKeys) -> NodeServerVerifier {
        NodeServerVerifier { peers, algorithms: algorithms() }
    }
}

impl ServerCertVerifier for NodeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let key = listed_key(&self.peers, end_entity, intermediates).map_err(refuse)?;
        let dialled = match server_name {
            ServerName::DnsName(name) => name.as_ref() == node_dns_name(&key),
            _ => false,
        };
        if !dialled {
            return Err(refuse(CertificateError::NotDialled {
                presented: key,
                dialled: server_name.to_str().into_owned(),
            }));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _certificate: &CertificateDer<'_>,
        _signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(tls12_refused())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_signature(&self.algorithms, message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// Verifies a connecting client: a listed key. Client authentication is mandatory.
#[derive(Debug)]
pub struct NodeClientVerifier {
    peers: PeerKeys,
    algorithms: WebPkiSupportedAlgorithms,
}

impl NodeClientVerifier {
    /// A verifier accepting the keys in `peers`.
    pub fn new(peers: PeerKeys) -> NodeClientVerifier {
        NodeClientVerifier { peers, algorithms: algorithms() }
    }
}

impl ClientCertVerifier for NodeClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        listed_key(&self.peers, end_entity, intermediates).map_err(refuse)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _certificate: &CertificateDer<'_>,
        _signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(tls12_refused())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_signature(&self.algorithms, message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::cert::node_certificate;
    use ed25519_dalek::SigningKey;

    fn node(seed: u8) -> (PublicKey, CertificateDer<'static>) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        (PublicKey::from(key.verifying_key()), node_certificate(&key).unwrap().0)
    }

    fn name(key: &PublicKey) -> ServerName<'static> {
        ServerName::try_from(node_dns_name(key)).unwrap()
    }

    #[test]
    fn server_verifier_accepts_only_the_dialled_listed_key() {
        let (a, a_certificate) = node(1);
        let (b, b_certificate) = node(2);
        let peers = PeerKeys::new([a, b]);
        let verifier = NodeServerVerifier::new(peers.clone());
        let now = UnixTime::now();
        assert!(verifier.verify_server_cert(&a_certificate, &[], &name(&a), &[], now).is_ok());
        // b is listed, but a was dialled.
        let error = verifier.verify_server_cert(&b_certificate, &[], &name(&a), &[], now).unwrap_err();
        assert!(error.to_string().contains("not the dialled key"), "{error}");
        // A chain is refused.
        let chain = [b_certificate.clone()];
        assert!(verifier.verify_server_cert(&a_certificate, &chain, &name(&a), &[], now).is_err());
        // Removed from the list: refused.
        assert_eq!(peers.replace([b]), BTreeSet::from([a]));
        let error = verifier.verify_server_cert(&a_certificate, &[], &name(&a), &[], now).unwrap_err();
        assert!(error.to_string().contains("allow-list"), "{error}");
    }

    #[test]
    fn client_verifier_accepts_only_listed_keys_and_requires_a_certificate() {
        let (a, a_certificate) = node(1);
        let (_, c_certificate) = node(3);
        let verifier = NodeClientVerifier::new(PeerKeys::new([a]));
        assert!(verifier.client_auth_mandatory());
        assert!(verifier.verify_client_cert(&a_certificate, &[], UnixTime::now()).is_ok());
        assert!(verifier.verify_client_cert(&c_certificate, &[], UnixTime::now()).is_err());
        assert_eq!(verifier.supported_verify_schemes(), vec![SignatureScheme::ED25519]);
    }
}
