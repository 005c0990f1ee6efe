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

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use ciborium::value::Value;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
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
        // The body is encoded once: the signature covers these bytes, and the envelope
        // is laid out around the same bytes.
        let body_bytes = cbor::encode(&body)?;
        let signature = key.sign(&signing_input(T::TYPE, &body_bytes));
        let signer = PublicKey::from(key.verifying_key());
        let bytes = envelope_bytes(T::TYPE, &body_bytes, &signer, &Signature(signature.to_bytes()));
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
        let envelope = Envelope::read(bytes)?;
        if envelope.kind != T::TYPE {
            let error = Error::new(
                ErrorCode::RecordType,
                "type",
                format!("a {} record where a {} was expected", envelope.kind, T::TYPE),
            );
            return Err(envelope.unless_earlier(bytes, error));
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

/// The canonical envelope of `body_bytes` (a canonical body), laid out directly: its five
/// keys in the order of their encodings (`v`, `sig`, `body`, `type`, `signer`), the
/// layout [`Envelope::split`] reads. Every record type's name is shorter than 24 bytes,
/// so its text head is one byte.
fn envelope_bytes(kind: RecordType, body_bytes: &[u8], signer: &PublicKey, signature: &Signature) -> Vec<u8> {
    let name = kind.as_str().as_bytes();
    let mut bytes = Vec::with_capacity(HEAD_TO_SIGNATURE.len() + 64 + body_bytes.len() + 64);
    bytes.extend_from_slice(HEAD_TO_SIGNATURE);
    bytes.extend_from_slice(&signature.0);
    bytes.extend_from_slice(BODY_KEY);
    bytes.extend_from_slice(body_bytes);
    bytes.extend_from_slice(TYPE_KEY);
    bytes.push(0x60 | name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(SIGNER_KEY);
    bytes.extend_from_slice(&signer.0);
    bytes
}

/// An envelope whose shape is checked but whose body is not yet typed.
struct Envelope<'a> {
    kind: RecordType,
    body: Body<'a>,
    signer: PublicKey,
    signature: Signature,
}

/// The body of an [`Envelope`], as far as it is checked.
enum Body<'a> {
    /// The body's bytes in an envelope laid out canonically ([`Envelope::split`]): steps
    /// 2–7 of §Decoding are checked over them together with the body's type, in one pass.
    Unread(&'a [u8]),
    /// The body of an envelope that passed steps 2–8 by the ordered checks.
    Value(Value),
}

/// The data items of an envelope outside its body: the map, five keys, four values.
const ENVELOPE_ITEMS: usize = 10;

/// The canonical envelope up to its signature: `{"v": 1, "sig": h'…'` (64 bytes follow).
const HEAD_TO_SIGNATURE: &[u8] = b"\xa5\x61v\x01\x63sig\x58\x40";

/// The key that follows the signature in the canonical envelope; the body follows it.
const BODY_KEY: &[u8] = b"\x64body";

/// The key before the record type's name.
const TYPE_KEY: &[u8] = b"\x64type";

/// The key of the signer and the head of its 32 bytes, which end the envelope.
const SIGNER_KEY: &[u8] = b"\x66signer\x58\x20";

impl<'a> Envelope<'a> {
    /// Reads an envelope by its canonical layout ([`Envelope::split`]) or, when it does not
    /// have it, by the ordered checks of steps 2–8.
    fn read(bytes: &'a [u8]) -> Result<Envelope<'a>> {
        match Envelope::split(bytes) {
            Some(envelope) => Ok(envelope),
            None => Envelope::decode(bytes),
        }
    }

    /// The envelope, if `bytes` has the layout of a canonical one: the keys in their order
    /// (`v`, `sig`, `body`, `type`, `signer`), `v` 1, a known type, and a signature and key
    /// of their sizes. The body between is not read: whether the whole is canonical is
    /// settled with the body's type. No record type's name ends another's, so the end of
    /// the bytes tells the type, and the body lies where a canonical envelope has it.
    fn split(bytes: &'a [u8]) -> Option<Envelope<'a>> {
        let rest = bytes.strip_prefix(HEAD_TO_SIGNATURE)?;
        let (signature, rest) = rest.split_first_chunk::<64>()?;
        let rest = rest.strip_prefix(BODY_KEY)?;
        let (rest, signer) = rest.split_last_chunk::<32>()?;
        let rest = rest.strip_suffix(SIGNER_KEY)?;
        let (kind, body) = RecordType::ALL.into_iter().find_map(|kind| {
            let name = kind.as_str();
            let rest = rest.strip_suffix(name.as_bytes())?.strip_suffix(&[0x60 | name.len() as u8])?;
            Some((kind, rest.strip_suffix(TYPE_KEY)?))
        })?;
        Some(Envelope {
            kind,
            body: Body::Unread(body),
            signer: PublicKey(*signer),
            signature: Signature(*signature),
        })
    }

    /// `error`, found after step 8, unless steps 2–8 find one first: an envelope read by
    /// [`Envelope::split`] has not had its body checked yet.
    fn unless_earlier(&self, bytes: &[u8], error: Error) -> Error {
        match self.body {
            Body::Unread(_) => Envelope::decode(bytes).err().unwrap_or(error),
            Body::Value(_) => error,
        }
    }

    /// Steps 2–8 by the ordered checks.
    fn decode(bytes: &[u8]) -> Result<Envelope<'static>> {
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
        let body = Body::Value(take("body"));
        let signer = fixed::<32>(take("signer"), "signer").map(PublicKey)?;
        let signature = fixed::<64>(take("sig"), "sig").map(Signature)?;
        Ok(Envelope { kind, body, signer, signature })
    }

    fn into_signed<T: Record>(self, bytes: &[u8]) -> Result<Signed<T>> {
        self.into_checked(bytes, Checks::All(&mut SignerKeys::default()))
    }

    /// Steps 9–13 (and 2–7 over a body not read yet).
    fn into_checked<T: Record>(self, bytes: &[u8], check: Checks) -> Result<Signed<T>> {
        if bytes.len() > self.kind.max_bytes() {
            return Err(self.unless_earlier(bytes, size_error(self.kind, bytes.len())));
        }
        let (body, body_bytes): (T, Cow<'_, [u8]>) = match self.body {
            Body::Unread(body_bytes) => match cbor::from_canonical(body_bytes, 2, ENVELOPE_ITEMS) {
                Ok(body) => (body, Cow::Borrowed(body_bytes)),
                // Not the canonical body of a T: the ordered checks name the first error.
                // They read the same type (one layout, one type name), and give a value body.
                Err(cbor::Refused) => return Envelope::decode(bytes)?.into_checked(bytes, check),
            },
            Body::Value(value) => {
                let body: T = cbor::from_value(&value).map_err(|error| error.within("body"))?;
                cbor::check_round_trip(&body, &value).map_err(|error| error.within("body"))?;
                (body, Cow::Owned(cbor::encode_value(&value)))
            }
        };
        let Checks::All(keys) = check else {
            return Ok(Signed { bytes: bytes.to_vec(), id: RecordId::of(bytes), signer: self.signer, body });
        };
        let key = keys.decode(self.signer).map_err(|error| error.within("signer"))?;
        let signature = ed25519_dalek::Signature::from_bytes(&self.signature.0);
        key.verify_strict(&signing_input(self.kind, &body_bytes), &signature).map_err(|_| {
            Error::new(
                ErrorCode::BadSignature,
                "sig",
                format!("does not verify under signer {}", self.signer.short()),
            )
        })?;
        body.validate().map_err(|error| error.within("body"))?;
        Ok(Signed { bytes: bytes.to_vec(), id: RecordId::of(bytes), signer: self.signer, body })
    }
}

/// How much of a record decoding checks.
enum Checks<'k> {
    /// Every step, the signature strictly: for every byte that comes from outside. The
    /// signer's key is decoded through `keys`, once for all the records of a batch.
    All(&'k mut SignerKeys),
    /// Every step up to the typed body (encoding, envelope, schema), neither the signature
    /// nor the rules: only for bytes whose id shows they are ones that passed every step
    /// before ([`AnyRecord::decode_trusted`]).
    Stored,
}

/// The signers' keys decoded so far (step 11), so that a batch decodes each signer's once:
/// a delivery mostly holds one signer's records, and decoding a key costs a seventh of
/// checking a signature. Only keys that decoded are kept, at most one per record.
#[derive(Default)]
struct SignerKeys(HashMap<PublicKey, VerifyingKey>);

impl SignerKeys {
    fn decode(&mut self, signer: PublicKey) -> Result<VerifyingKey> {
        if let Some(key) = self.0.get(&signer) {
            return Ok(*key);
        }
        let key = signer.verifying_key()?;
        self.0.insert(signer, key);
        Ok(key)
    }
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
        AnyRecord::decode_with(bytes, true, Checks::All(&mut SignerKeys::default()), |bytes| {
            Envelope::read(bytes)
        })
    }

    /// Decodes the records of a batch (a peer's delivery), each as [`AnyRecord::decode`]
    /// would, with the same verdicts in the same order; each signer's key is decoded once
    /// for the batch rather than once per record.
    ///
    /// ed25519-dalek's `verify_batch` is not used: its equation is cofactorless, so a
    /// signer can make a signature that `verify_strict` refuses (its R has a small-order
    /// component) and that the batch accepts with a chance of up to one half per attempt.
    /// Refusing such an R up front takes a scalar multiplication per signature, which costs
    /// more than the batch saves (see `cargo bench -p kvitt-protocol --bench records`).
    pub fn decode_batch<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Vec<Result<AnyRecord>> {
        let mut keys = SignerKeys::default();
        records
            .into_iter()
            .map(|bytes| {
                AnyRecord::decode_with(bytes, true, Checks::All(&mut keys), |bytes| Envelope::read(bytes))
            })
            .collect()
    }

    /// Decodes a record that was verified in full before, without checking its signature
    /// or its rules again: the size, the canonical encoding, the envelope and the typed body
    /// are checked as by [`AnyRecord::decode`]; the ed25519 signature and the rules of the
    /// body (for evidence, the records it holds) are not.
    ///
    /// Only for bytes the caller already knows to be ones that passed [`AnyRecord::decode`]
    /// (or were signed here), because their SHA-256 equals an id recorded when they did: a
    /// node's own ledger, which stores each accepted record under its id and checks the hash
    /// on every read. Verifying the signature again there cost a third of the simulator's
    /// CPU and proves nothing the hash does not; nor do the rules, a function of the bytes
    /// alone. Never use it for bytes from a peer, a client or
    /// a file: those go through [`AnyRecord::decode`].
    pub fn decode_trusted(bytes: &[u8]) -> Result<AnyRecord> {
        AnyRecord::decode_with(bytes, true, Checks::Stored, |bytes| Envelope::read(bytes))
    }

    /// Decodes a record that equivocation evidence holds: as [`AnyRecord::decode`], but an
    /// evidence record is refused as soon as its envelope is read, before its body, so that
    /// evidence cannot nest evidence and decoding never recurses more than once.
    pub(crate) fn decode_conflicting(bytes: &[u8]) -> Result<AnyRecord> {
        AnyRecord::decode_with(bytes, false, Checks::All(&mut SignerKeys::default()), |bytes| {
            Envelope::read(bytes)
        })
    }

    /// Decodes with the envelope read by `read`: [`Envelope::read`], or in tests the
    /// ordered checks alone, to compare the two.
    fn decode_with(
        bytes: &[u8],
        evidence_allowed: bool,
        check: Checks,
        read: fn(&[u8]) -> Result<Envelope<'_>>,
    ) -> Result<AnyRecord> {
        if bytes.len() > crate::limits::MAX_RECORD_BYTES {
            return Err(Error::new(
                ErrorCode::RecordSize,
                "",
                format!("{} bytes, limit {} for any record", bytes.len(), crate::limits::MAX_RECORD_BYTES),
            ));
        }
        let envelope = read(bytes)?;
        if envelope.kind == RecordType::Evidence && !evidence_allowed {
            let error = Error::new(ErrorCode::NotConflicting, "type", "evidence cannot hold evidence");
            return Err(envelope.unless_earlier(bytes, error));
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
mod tests;
