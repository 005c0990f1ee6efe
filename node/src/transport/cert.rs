//! The node certificate: a self-signed X.509 certificate carrying the node's ed25519 key.
//!
//! Profile (what [`node_certificate`] writes and [`key_of_certificate`] insists on):
//! - subjectPublicKeyInfo: ed25519 (RFC 8410, OID 1.3.101.112, no parameters), the node key
//!   that also signs its records;
//! - subjectAltName: one DNS name, [`node_dns_name`] of that key; the subject is
//!   CN=[`NODE_COMMON_NAME`] (verifiers do not read it);
//! - self-signed with the same key; serial number from a hash of the key (rcgen's
//!   default), so the certificate is deterministic for a given key;
//! - validity 2020-01-01T00:00:00Z to 9999-12-31T23:59:59Z (RFC 5280's "no well-defined
//!   expiration"). The key, not the dates or the signature, is what peers pin: the
//!   verifiers ignore the validity period and the certificate's own signature, and check
//!   the TLS handshake signature against the key the directory lists.
//!
//! A stock TLS client can connect to a node by trusting its certificate as a root and
//! checking the name [`node_dns_name`]; it must present a certificate of this profile for
//! its own key.

use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use kvitt_protocol::PublicKey;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

/// The subject's common name. Not the node name: that has 66 characters, beyond X.520's
/// 64 for a common name, which tools such as OpenSSL refuse to write. Verifiers do not
/// read the subject.
pub const NODE_COMMON_NAME: &str = "kvitt node";

/// The DNS suffix of node names. `.invalid` (RFC 6761) never resolves: the name is a pin,
/// never an address.
pub const NODE_DNS_SUFFIX: &str = "kvitt.invalid";

/// The DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410 §4): SEQUENCE {
/// SEQUENCE { OID 1.3.101.112 }, BIT STRING of 33 bytes, no unused bits }, then the key.
const ED25519_SPKI_PREFIX: [u8; 12] =
    [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// Why a certificate is not accepted as a peer's node certificate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The bytes are not one DER X.509 certificate.
    #[error("not an X.509 certificate: {reason}")]
    Malformed {
        /// What the parser said.
        reason: String,
    },
    /// The certificate's key is not ed25519.
    #[error("the certificate's key is {algorithm}, not ed25519 (1.3.101.112)")]
    NotEd25519 {
        /// The key algorithm's OID.
        algorithm: String,
    },
    /// The ed25519 key is not a valid public key (not canonical, or weak).
    #[error("the certificate's ed25519 key is not usable: {reason}")]
    InvalidKey {
        /// Why.
        reason: String,
    },
    /// The certificate does not name its key's DNS name in its subjectAltName.
    #[error("the certificate's subjectAltName does not contain {expected}")]
    MissingName {
        /// The name it should carry.
        expected: String,
    },
    /// A chain was presented; a node presents exactly its own certificate.
    #[error("{intermediates} intermediate certificate(s) presented; a node presents only its own")]
    Chain {
        /// How many certificates followed the node's.
        intermediates: usize,
    },
    /// The key is not in this node's allow-list.
    #[error("key {} is not in this node's allow-list", .key.short())]
    NotMember {
        /// The presented key.
        key: PublicKey,
    },
    /// The server's key is not the key that was dialled.
    #[error("the server's key {} is not the dialled key (server name {dialled})", .presented.short())]
    NotDialled {
        /// The key the server presented.
        presented: PublicKey,
        /// The server name the dialler used.
        dialled: String,
    },
    /// This node's own certificate could not be made.
    #[error("cannot make this node's certificate: {reason}")]
    Create {
        /// What failed.
        reason: String,
    },
}

/// The DNS name that pins `key`: the 32 key bytes in base32 (RFC 4648 alphabet, lower
/// case, no padding: 52 characters, one DNS label) followed by `.kvitt.invalid`.
pub fn node_dns_name(key: &PublicKey) -> String {
    format!("{}.{NODE_DNS_SUFFIX}", base32_lower(key.as_bytes()))
}

/// RFC 4648 base32 in lower case, without padding.
fn base32_lower(bytes: &[u8]) -> String {
    fn symbol(value: u16) -> char {
        let value = (value & 31) as u8; // five bits
        char::from(if value < 26 { b'a' + value } else { b'2' + (value - 26) })
    }
    let mut text = String::with_capacity((bytes.len() * 8).div_ceil(5));
    let mut buffer: u16 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(symbol(buffer >> bits));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        text.push(symbol(buffer << (5 - bits)));
    }
    text
}

/// This node's certificate and private key (PKCS#8) for TLS, from its node key.
pub fn node_certificate(
    key: &SigningKey,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), CertificateError> {
    let create = |reason: String| CertificateError::Create { reason };
    let pkcs8 = key.to_pkcs8_der().map_err(|error| create(format!("PKCS#8 encoding: {error}")))?;
    let pkcs8 = PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec());
    let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519)
        .map_err(|error| create(format!("key pair: {error}")))?;
    let name = node_dns_name(&PublicKey::from(key.verifying_key()));
    let mut params = rcgen::CertificateParams::new(vec![name.clone()])
        .map_err(|error| create(format!("name: {error}")))?;
    let mut subject = rcgen::DistinguishedName::new();
    subject.push(rcgen::DnType::CommonName, NODE_COMMON_NAME);
    params.distinguished_name = subject;
    params.not_before = time::macros::datetime!(2020-01-01 00:00:00 UTC);
    params.not_after = time::macros::datetime!(9999-12-31 23:59:59 UTC);
    let certificate = params.self_signed(&key_pair).map_err(|error| create(format!("signing: {error}")))?;
    Ok((certificate.der().clone(), PrivateKeyDer::Pkcs8(pkcs8)))
}

/// The node key a certificate carries, if it is a node certificate of the profile above:
/// one DER certificate, an ed25519 key that is canonical and not weak, and the key's
/// [`node_dns_name`] in its subjectAltName. Validity dates and the certificate's own
/// signature are not checked: the TLS handshake proves possession of the key.
pub fn key_of_certificate(certificate: &CertificateDer<'_>) -> Result<PublicKey, CertificateError> {
    let (rest, parsed) = X509Certificate::from_der(certificate.as_ref())
        .map_err(|error| CertificateError::Malformed { reason: error.to_string() })?;
    if !rest.is_empty() {
        return Err(CertificateError::Malformed {
            reason: format!("{} bytes after the certificate", rest.len()),
        });
    }
    let info = parsed.public_key();
    // The whole SubjectPublicKeyInfo must be the one canonical ed25519 encoding: this also
    // refuses parameters, other algorithms and odd lengths.
    let key = info
        .raw
        .strip_prefix(&ED25519_SPKI_PREFIX)
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(PublicKey)
        .ok_or_else(|| CertificateError::NotEd25519 { algorithm: info.algorithm.algorithm.to_id_string() })?;
    key.verifying_key().map_err(|error| CertificateError::InvalidKey { reason: error.to_string() })?;
    let expected = node_dns_name(&key);
    let named = parsed
        .subject_alternative_name()
        .map_err(|error| CertificateError::Malformed { reason: format!("subjectAltName: {error}") })?
        .is_some_and(|names| {
            names
                .value
                .general_names
                .iter()
                .any(|name| matches!(name, GeneralName::DNSName(dns) if *dns == expected))
        });
    if !named {
        return Err(CertificateError::MissingName { expected });
    }
    Ok(key)
}

/// The DER SubjectPublicKeyInfo of an ed25519 key.
pub(crate) fn ed25519_spki(key: &PublicKey) -> Vec<u8> {
    let mut spki = Vec::with_capacity(ED25519_SPKI_PREFIX.len() + 32);
    spki.extend_from_slice(&ED25519_SPKI_PREFIX);
    spki.extend_from_slice(key.as_bytes());
    spki
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        // RFC 4648 §10, lower-cased, padding removed.
        let vectors = [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ];
        for (input, output) in vectors {
            assert_eq!(base32_lower(input.as_bytes()), output, "{input:?}");
        }
    }

    #[test]
    fn node_dns_name_is_one_52_character_label_under_the_suffix() {
        for seed in 0..=255u8 {
            let key = PublicKey::from(signing_key(seed).verifying_key());
            let name = node_dns_name(&key);
            let (label, suffix) = name.split_once('.').unwrap();
            assert_eq!(suffix, NODE_DNS_SUFFIX);
            assert_eq!(label.len(), 52);
            assert!(label.len() <= 63);
            assert!(label.bytes().all(|byte| byte.is_ascii_lowercase() || (b'2'..=b'7').contains(&byte)));
            // Accepted as a DNS name by rustls (quinn's `connect` needs one).
            rustls::pki_types::ServerName::try_from(name.clone()).unwrap();
        }
        assert_ne!(
            node_dns_name(&PublicKey::from(signing_key(1).verifying_key())),
            node_dns_name(&PublicKey::from(signing_key(2).verifying_key()))
        );
    }

    #[test]
    fn certificate_carries_the_node_key_and_is_deterministic() {
        let key = signing_key(7);
        let (certificate, _) = node_certificate(&key).unwrap();
        assert_eq!(key_of_certificate(&certificate).unwrap(), PublicKey::from(key.verifying_key()));
        let (again, _) = node_certificate(&key).unwrap();
        assert_eq!(certificate, again);
        let (_, parsed) = X509Certificate::from_der(certificate.as_ref()).unwrap();
        assert_eq!(parsed.validity().not_after.to_datetime().year(), 9999);
    }

    #[test]
    fn non_ed25519_certificate_is_refused() {
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["example.kvitt.invalid".to_string()]).unwrap();
        let certificate = params.self_signed(&key_pair).unwrap();
        let error = key_of_certificate(certificate.der()).unwrap_err();
        assert_eq!(error, CertificateError::NotEd25519 { algorithm: "1.2.840.10045.2.1".to_string() });
    }

    #[test]
    fn ed25519_certificate_without_the_key_name_is_refused() {
        let key = signing_key(9);
        let pkcs8 = PrivatePkcs8KeyDer::from(key.to_pkcs8_der().unwrap().as_bytes().to_vec());
        let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519).unwrap();
        let params = rcgen::CertificateParams::new(vec!["someone-else.kvitt.invalid".to_string()]).unwrap();
        let certificate = params.self_signed(&key_pair).unwrap();
        let expected = node_dns_name(&PublicKey::from(key.verifying_key()));
        assert_eq!(
            key_of_certificate(certificate.der()).unwrap_err(),
            CertificateError::MissingName { expected }
        );
    }

    #[test]
    fn garbage_and_trailing_bytes_are_refused() {
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x01, 0x01, 0xff]);
        assert!(matches!(key_of_certificate(&garbage), Err(CertificateError::Malformed { .. })));
        let (certificate, _) = node_certificate(&signing_key(3)).unwrap();
        let mut longer = certificate.to_vec();
        longer.push(0);
        assert!(matches!(
            key_of_certificate(&CertificateDer::from(longer)),
            Err(CertificateError::Malformed { .. })
        ));
    }
}
