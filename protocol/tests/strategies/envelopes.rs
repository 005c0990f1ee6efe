//! Keys and hand-made envelopes.

use std::sync::LazyLock;

use ciborium::value::Value;
use ed25519_dalek::{Signer, SigningKey};
use kvitt_protocol::envelope::signing_input;
use kvitt_protocol::{cbor, PublicKey, RecordType};
use serde::Serialize;

/// A signing key from a counter: cheap, and distinct for distinct counters.
pub fn counter_key(counter: u64) -> SigningKey {
    let mut seed = [0x5a; 32];
    seed[..8].copy_from_slice(&counter.to_le_bytes());
    SigningKey::from_bytes(&seed)
}

/// The public key of [`counter_key`].
pub fn counter_public(counter: u64) -> PublicKey {
    PublicKey::from(counter_key(counter).verifying_key())
}

/// Public keys of `counter_key(0..2001)`, enough for the largest directory plus one.
pub static KEY_POOL: LazyLock<Vec<PublicKey>> = LazyLock::new(|| (0..2001).map(counter_public).collect());

/// The envelope around `body` (a value in the profile), signed by `key` as a `kind`
/// record, without `Signed::sign`'s validation or size check.
pub fn forge_value(kind: RecordType, body: Value, key: &SigningKey) -> Vec<u8> {
    let body = cbor::to_value(&body).unwrap();
    let signature = key.sign(&signing_input(kind, &cbor::encode_value(&body)));
    let text = |text: &str| Value::Text(text.into());
    let envelope = Value::Map(vec![
        (text("v"), Value::Integer(1.into())),
        (text("type"), text(kind.as_str())),
        (text("body"), body),
        (text("signer"), Value::Bytes(key.verifying_key().to_bytes().to_vec())),
        (text("sig"), Value::Bytes(signature.to_bytes().to_vec())),
    ]);
    cbor::encode(&envelope).unwrap()
}

/// [`forge_value`] of a typed body.
pub fn forge<T: Serialize>(kind: RecordType, body: &T, key: &SigningKey) -> Vec<u8> {
    forge_value(kind, cbor::to_value(body).unwrap(), key)
}

/// The fields of an envelope, read with ciborium alone (not the crate's decoder).
pub fn envelope_field(envelope: &[u8], name: &str) -> Value {
    let value: Value = ciborium::from_reader(envelope).unwrap();
    let Value::Map(entries) = value else { panic!("the envelope is not a map") };
    entries.into_iter().find(|(key, _)| key.as_text() == Some(name)).map(|(_, item)| item).unwrap()
}

/// The bytes of the body as they stand inside an envelope.
pub fn body_bytes(envelope: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(&envelope_field(envelope, "body"), &mut bytes).unwrap();
    bytes
}
