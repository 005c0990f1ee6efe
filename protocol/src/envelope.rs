//! The signed envelope every record travels in, its signing input and its id.
//!
//! ```text
//! envelope = { "v": 1, "type": "receipt", "body": {...}, "signer": bstr .size 32, "sig": bstr .size 64 }
//! signing input = "kvitt/1/" || type || 0x00 || canonical CBOR of body
//! id = SHA-256(envelope bytes)
//! ```
//!
//! The type name in the signing input separates domains: a signature over a receipt can
//! never verify as a claim event. A [`Signed<T>`] exists only if its bytes are canonical,
//! its signature verifies strictly and its body passes every rule of `T`. The one
//! exception in name only is [`AnyRecord::decode_trusted`], for bytes a node verified in
//! full when it accepted them and reads back under their id (their hash).

use std::fmt;

use ciborium::value::Value;
use ed25519_dalek::{Signer, SigningKey};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cbor;
use crate::error::{Error, ErrorCode, Result};
use crate::id::{PublicKey, RecordId, Signature};

/// The envelope version this implementation writes and reads.
pub const VERSION: u64 = 1;

/// The kinds of record, by their name on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// A cash-register receipt, signed by the merchant.
    Receipt,
    /// An expense claim, signed by the agency.
    Claim,
    /// A status change of a claim, signed by the party that made it.
    ClaimEvent,
    /// The network's member list, signed by the operator.
    Directory,
    /// Two conflicting records from one signer, signed by the node that found them.
    Evidence,
    /// The buyer of a receipt signed without one, signed by the receipt's merchant.
    Assignment,
}

impl RecordType {
    /// Every record type.
    pub const ALL: [RecordType; 6] = [
        RecordType::Receipt,
        RecordType::Claim,
        RecordType::ClaimEvent,
        RecordType::Directory,
        RecordType::Evidence,
        RecordType::Assignment,
    ];

    /// The name in the envelope's `type` field and in the signing input.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Receipt => "receipt",
            RecordType::Claim => "claim",
            RecordType::ClaimEvent => "claim_event",
            RecordType::Directory => "directory",
            RecordType::Evidence => "evidence",
            RecordType::Assignment => "assignment",
        }
    }

    /// The type with this wire name.
    pub fn parse(name: &str) -> Option<RecordType> {
        RecordType::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The largest envelope of this type, in bytes.
    pub fn max_bytes(self) -> usize {
        use crate::limits::*;
        match self {
            RecordType::Receipt => MAX_RECEIPT_BYTES,
            RecordType::Claim => MAX_CLAIM_BYTES,
            RecordType::ClaimEvent => MAX_CLAIM_EVENT_BYTES,
            RecordType::Directory => MAX_DIRECTORY_BYTES,
            RecordType::Evidence => MAX_EVIDENCE_BYTES,
            RecordType::Assignment => MAX_ASSIGNMENT_BYTES,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record body: its wire type and the rules its content must obey.
pub trait Record: Serialize + DeserializeOwned + Clone + fmt::Debug {
    /// The envelope type this body travels under.
    const TYPE: RecordType;

    /// Checks every rule of this record that needs nothing beyond the record itself.
    /// Paths in errors are relative to the body (`lines[3].vat`).
    fn validate(&self) -> Result<()>;
}

/// The bytes an ed25519 signature covers: `"kvitt/1/" || type || 0x00 || body`.
pub fn signing_input(kind: RecordType, body_bytes: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(16 + body_bytes.len());
    input.extend_from_slice(format!("kvitt/{VERSION}/").as_bytes());
    input.extend_from_slice(kind.as_str().as_bytes());
    input.push(0);
    input.extend_from_slice(body_bytes);
    input
}

/// A verified record: canonical bytes, their id, the signer, and the valid body.
#[derive(Clone)]
pub struct Signed<T> {
    bytes: Vec<u8>,
    id: RecordId,
    signer: PublicKey,
    body: T,
}

impl<T: Record> Signed<T> {
    /// Validates `body`, signs it with `key` and builds its canonical envelope.
    pub fn sign(body: T, key: &SigningKey) -> Result<Signed<T>> {
        body.validate().map_err(|error| error.within("body"))?;
        let body_value = cbor::to_value(&body)?;
        let signature = key.sign(&signing_input(T::TYPE, &cbor::encode_value(&body_value)));
        let signer = PublicKey::from(key.verifying_key());
        let bytes = envelope_bytes(T::TYPE, body_value, &signer, &Signature(signature.to_bytes()))?;
        if bytes.len() > T::TYPE.max_bytes() {
            return Err(size_error(T::TYPE, bytes.len()));
        }
        Ok(Signed { id: RecordId::of(&bytes), bytes, signer, body })
    }

    /// Decodes and verifies a record of type `T`, refusing anything else.
    pub fn decode(bytes: &[u8]) -> Result<Signed<T>> {
        if bytes.len() > T::TYPE.max_bytes() {
            return Err(size_error(T::TYPE, bytes.len()));
        }
        let envelope = Envelope::decode(bytes)?;
        if envelope.kind != T::TYPE {
            return Err(Error::new(
                ErrorCode::RecordType,
                "type",
                format!("a {} record where a {} was expected", envelope.kind, T::TYPE),
            ));
        }
        envelope.into_signed(bytes)
    }

    /// The canonical envelope bytes, exactly as signed and stored.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The record's id.
    pub fn id(&self) -> RecordId {
        self.id
    }

    /// The key that signed the record.
    pub fn signer(&self) -> PublicKey {
        self.signer
    }

    /// The record's body.
    pub fn body(&self) -> &T {
        &self.body
    }
}

impl<T> fmt::Debug for Signed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signed({} by {})", self.id.short(), self.signer.short())
    }
}

impl<T> PartialEq for Signed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl<T> Eq for Signed<T> {}

fn size_error(kind: RecordType, size: usize) -> Error {
    Error::new(ErrorCode::RecordSize, "", format!("{size} bytes, limit {} for a {kind}", kind.max_bytes()))
}

fn envelope_bytes(
    kind: RecordType,
    body: Value,
    signer: &PublicKey,
    signature: &Signature,
) -> Result<Vec<u8>> {
    let map = Value::Map(vec![
        (Value::Text("v".into()), Value::Integer(VERSION.into())),
        (Value::Text("type".into()), Value::Text(kind.as_str().into())),
        (Value::Text("body".into()), body),
        (Value::Text("signer".into()), Value::Bytes(signer.0.to_vec())),
        (Value::Text("sig".into()), Value::Bytes(signature.0.to_vec())),
    ]);
    cbor::encode(&map)
}

/// An envelope whose encoding and shape are checked but whose body is not yet typed.
struct Envelope {
    kind: RecordType,
    body: Value,
    signer: PublicKey,
    signature: Signature,
}

impl Envelope {
    fn decode(bytes: &[u8]) -> Result<Envelope> {
        let value = cbor::decode(bytes)?;
        let shape = |why: String| Error::new(ErrorCode::EnvelopeShape, "", why);
        let Value::Map(entries) = value else {
            return Err(shape("the envelope is not a map".into()));
        };
        let mut fields: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
        for (key, item) in entries {
            let Value::Text(key) = key else {
                return Err(shape("an envelope key is not a text".into()));
            };
            fields.insert(key, item);
        }
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        if names != ["body", "sig", "signer", "type", "v"] {
            return Err(shape(format!("fields {names:?}, expected body, sig, signer, type, v")));
        }
        let mut take = |name: &str| fields.remove(name).unwrap_or(Value::Bool(false));
        let version = match take("v") {
            Value::Integer(version) => i128::from(version),
            _ => return Err(Error::new(ErrorCode::EnvelopeShape, "v", "not an integer")),
        };
        if version != i128::from(VERSION) {
            return Err(Error::new(
                ErrorCode::UnsupportedVersion,
                "v",
                format!("version {version}, this node speaks {VERSION}"),
            ));
        }
        let kind = match take("type") {
            Value::Text(name) => RecordType::parse(&name).ok_or_else(|| {
                Error::new(ErrorCode::RecordType, "type", format!("unknown record type {name:?}"))
            })?,
            _ => return Err(Error::new(ErrorCode::EnvelopeShape, "type", "not a text")),
        };
        let body = take("body");
        let signer = fixed::<32>(take("signer"), "signer").map(PublicKey)?;
        let signature = fixed::<64>(take("sig"), "sig").map(Signature)?;
        Ok(Envelope { kind, body, signer, signature })
    }

    fn into_signed<T: Record>(self, bytes: &[u8]) -> Result<Signed<T>> {
        self.into_checked(bytes, SignatureCheck::Verify)
    }

    fn into_checked<T: Record>(self, bytes: &[u8], check: SignatureCheck) -> Result<Signed<T>> {
        if bytes.len() > self.kind.max_bytes() {
            return Err(size_error(self.kind, bytes.len()));
        }
        let body: T = cbor::from_value(&self.body).map_err(|error| error.within("body"))?;
        cbor::check_round_trip(&body, &self.body).map_err(|error| error.within("body"))?;
        if check == SignatureCheck::Verify {
            let key = self.signer.verifying_key().map_err(|error| error.within("signer"))?;
            let body_bytes = cbor::encode_value(&self.body);
            let signature = ed25519_dalek::Signature::from_bytes(&self.signature.0);
            key.verify_strict(&signing_input(self.kind, &body_bytes), &signature).map_err(|_| {
                Error::new(
                    ErrorCode::BadSignature,
                    "sig",
                    format!("does not verify under signer {}", self.signer.short()),
                )
            })?;
        }
        body.validate().map_err(|error| error.within("body"))?;
        Ok(Signed { bytes: bytes.to_vec(), id: RecordId::of(bytes), signer: self.signer, body })
    }
}

/// Whether decoding checks the envelope's ed25519 signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SignatureCheck {
    /// Verify it strictly: for every byte that comes from outside.
    Verify,
    /// Skip it: only for bytes whose id shows they are ones verified before
    /// ([`AnyRecord::decode_trusted`]).
    Skip,
}

fn fixed<const N: usize>(value: Value, field: &str) -> Result<[u8; N]> {
    match value {
        Value::Bytes(bytes) => <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
            Error::new(ErrorCode::EnvelopeShape, field, format!("{} bytes, expected {N}", bytes.len()))
        }),
        _ => Err(Error::new(ErrorCode::EnvelopeShape, field, "not a byte string")),
    }
}

/// A verified record of any type, for code that receives bytes without knowing the type.
// A receipt is larger than an event, but records are built once and moved rarely; boxing
// every variant would cost an allocation per decode for nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnyRecord {
    /// A receipt.
    Receipt(Signed<crate::receipt::Receipt>),
    /// An expense claim.
    Claim(Signed<crate::claim::Claim>),
    /// A claim event.
    ClaimEvent(Signed<crate::event::ClaimEvent>),
    /// A directory.
    Directory(Signed<crate::directory::Directory>),
    /// Equivocation evidence.
    Evidence(Signed<crate::evidence::Evidence>),
    /// A receipt's buyer, assigned after signing.
    Assignment(Signed<crate::assignment::Assignment>),
}

impl AnyRecord {
    /// Decodes and verifies a record of whatever type its envelope names.
    pub fn decode(bytes: &[u8]) -> Result<AnyRecord> {
        AnyRecord::decode_with(bytes, true, SignatureCheck::Verify)
    }

    /// Decodes a record that was verified in full before, without checking its signature
    /// again: the size, the canonical encoding, the envelope, the typed body and its rules
    /// are checked as by [`AnyRecord::decode`], the ed25519 signature of the envelope is not
    /// (records that evidence holds are still verified in full).
    ///
    /// Only for bytes the caller already knows to be ones that passed [`AnyRecord::decode`]
    /// (or were signed here), because their SHA-256 equals an id recorded when they did: a
    /// node's own ledger, which stores each accepted record under its id and checks the hash
    /// on every read. Verifying the signature again there cost a third of the simulator's
    /// CPU and proves nothing the hash does not. Never use it for bytes from a peer, a client or
    /// a file: those go through [`AnyRecord::decode`].
    pub fn decode_trusted(bytes: &[u8]) -> Result<AnyRecord> {
        AnyRecord::decode_with(bytes, true, SignatureCheck::Skip)
    }

    /// Decodes a record that equivocation evidence holds: as [`AnyRecord::decode`], but an
    /// evidence record is refused as soon as its envelope is read, before its body, so that
    /// evidence cannot nest evidence and decoding never recurses more than once.
    pub(crate) fn decode_conflicting(bytes: &[u8]) -> Result<AnyRecord> {
        AnyRecord::decode_with(bytes, false, SignatureCheck::Verify)
    }

    fn decode_with(bytes: &[u8], evidence_allowed: bool, check: SignatureCheck) -> Result<AnyRecord> {
        if bytes.len() > crate::limits::MAX_RECORD_BYTES {
            return Err(Error::new(
                ErrorCode::RecordSize,
                "",
                format!("{} bytes, limit {} for any record", bytes.len(), crate::limits::MAX_RECORD_BYTES),
            ));
        }
        let envelope = Envelope::decode(bytes)?;
        if envelope.kind == RecordType::Evidence && !evidence_allowed {
            return Err(Error::new(ErrorCode::NotConflicting, "type", "evidence cannot hold evidence"));
        }
        Ok(match envelope.kind {
            RecordType::Receipt => AnyRecord::Receipt(envelope.into_checked(bytes, check)?),
            RecordType::Claim => AnyRecord::Claim(envelope.into_checked(bytes, check)?),
            RecordType::ClaimEvent => AnyRecord::ClaimEvent(envelope.into_checked(bytes, check)?),
            RecordType::Directory => AnyRecord::Directory(envelope.into_checked(bytes, check)?),
            RecordType::Evidence => AnyRecord::Evidence(envelope.into_checked(bytes, check)?),
            RecordType::Assignment => AnyRecord::Assignment(envelope.into_checked(bytes, check)?),
        })
    }

    /// The record's type.
    pub fn kind(&self) -> RecordType {
        match self {
            AnyRecord::Receipt(_) => RecordType::Receipt,
            AnyRecord::Claim(_) => RecordType::Claim,
            AnyRecord::ClaimEvent(_) => RecordType::ClaimEvent,
            AnyRecord::Directory(_) => RecordType::Directory,
            AnyRecord::Evidence(_) => RecordType::Evidence,
            AnyRecord::Assignment(_) => RecordType::Assignment,
        }
    }

    /// The record's id.
    pub fn id(&self) -> RecordId {
        match self {
            AnyRecord::Receipt(record) => record.id(),
            AnyRecord::Claim(record) => record.id(),
            AnyRecord::ClaimEvent(record) => record.id(),
            AnyRecord::Directory(record) => record.id(),
            AnyRecord::Evidence(record) => record.id(),
            AnyRecord::Assignment(record) => record.id(),
        }
    }

    /// The canonical envelope bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            AnyRecord::Receipt(record) => record.bytes(),
            AnyRecord::Claim(record) => record.bytes(),
            AnyRecord::ClaimEvent(record) => record.bytes(),
            AnyRecord::Directory(record) => record.bytes(),
            AnyRecord::Evidence(record) => record.bytes(),
            AnyRecord::Assignment(record) => record.bytes(),
        }
    }

    /// The signer's key.
    pub fn signer(&self) -> PublicKey {
        match self {
            AnyRecord::Receipt(record) => record.signer(),
            AnyRecord::Claim(record) => record.signer(),
            AnyRecord::ClaimEvent(record) => record.signer(),
            AnyRecord::Directory(record) => record.signer(),
            AnyRecord::Evidence(record) => record.signer(),
            AnyRecord::Assignment(record) => record.signer(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ClaimEvent;

    /// A claim event's envelope around `body` (a map with text keys), correctly signed.
    fn signed_event(body: Vec<(&str, Value)>) -> Result<Signed<ClaimEvent>> {
        let key = SigningKey::from_bytes(&[7; 32]);
        let body = cbor::to_value(&Value::Map(
            body.into_iter().map(|(name, item)| (Value::Text(name.into()), item)).collect(),
        ))?;
        let signature = key.sign(&signing_input(RecordType::ClaimEvent, &cbor::encode_value(&body)));
        let signer = PublicKey::from(key.verifying_key());
        Signed::decode(&envelope_bytes(
            RecordType::ClaimEvent,
            body,
            &signer,
            &Signature(signature.to_bytes()),
        )?)
    }

    #[test]
    fn a_trusted_decode_skips_only_the_signature() {
        let claim = RecordId::of(b"claim");
        let event = signed_event(vec![
            ("claim", Value::Bytes(claim.as_bytes().to_vec())),
            ("at", Value::Text("2026-05-06T10:05:00+02:00".into())),
            (
                "actor",
                Value::Map(vec![
                    (Value::Text("person".into()), Value::Text("emp-1".into())),
                    (Value::Text("role".into()), Value::Text("employee".into())),
                ]),
            ),
            ("action", Value::Map(vec![(Value::Text("kind".into()), Value::Text("submitted".into()))])),
        ])
        .unwrap();
        let trusted = AnyRecord::decode_trusted(event.bytes()).unwrap();
        assert_eq!(trusted, AnyRecord::decode(event.bytes()).unwrap());
        // Flip the first byte of the signature: the 64-byte string after the key "sig".
        let mut forged = event.bytes().to_vec();
        let header = b"\x63sig\x58\x40";
        let at = forged.windows(header.len()).position(|window| window == header).unwrap() + header.len();
        forged[at] ^= 1;
        assert_eq!(AnyRecord::decode(&forged).unwrap_err().code(), ErrorCode::BadSignature);
        assert_eq!(AnyRecord::decode_trusted(&forged).unwrap().id(), RecordId::of(&forged));
        // Everything else is still checked: a truncated envelope is refused.
        let truncated = event.bytes().get(..event.bytes().len() - 1).unwrap();
        assert!(AnyRecord::decode_trusted(truncated).is_err());
    }

    #[test]
    fn a_variant_without_fields_refuses_extra_fields() {
        let text = |text: &str| Value::Text(text.into());
        let actor = Value::Map(vec![(text("person"), text("emp-1")), (text("role"), text("employee"))]);
        let body = |action: Value| {
            vec![
                ("claim", Value::Bytes(vec![7; 32])),
                ("at", text("2026-05-06T10:05:00+02:00")),
                ("actor", actor.clone()),
                ("action", action),
            ]
        };
        assert!(signed_event(body(Value::Map(vec![(text("kind"), text("submitted"))]))).is_ok());
        let extra =
            Value::Map(vec![(text("kind"), text("submitted")), (text("extra"), Value::Integer(1.into()))]);
        let error = signed_event(body(extra)).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::Schema, "body.action.extra"));
    }
}
