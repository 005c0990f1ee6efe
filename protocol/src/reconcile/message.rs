//! The messages of a reconciliation session, and their one byte form: a canonical CBOR map
//! tagged by `kind`, like the node's other messages (spec/reconcile.md §Messages gives each
//! its CDDL). Bulk fields (symbols, items, tags) are single byte strings of fixed-size
//! records, which costs one header per frame instead of one per record.
//!
//! [`Message::decode`] checks the frame's size before anything else, then the CBOR profile,
//! the schema, and each field's length and per-frame limit, so the state machines only see
//! well-formed messages.

use serde::{Deserialize, Serialize};

use super::symbol::CodedSymbol;
use super::{
    Item, ReconcileError, Salt, ESTIMATOR_COUNTERS, ID_BYTES, ITEM_BYTES, MAX_IDS_PER_FRAME,
    MAX_ITEMS_PER_FRAME, MAX_RECONCILE_FRAME_BYTES, MAX_SYMBOLS_PER_FRAME, SYMBOL_BYTES, TAG_BYTES,
};
use crate::cbor;
use crate::id::{byte_string, RecordId};

/// A salted fingerprint of a whole set: the sum modulo 2^128 of its items' keyed digests,
/// 16 bytes big-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint(#[serde(with = "crate::id::fixed_bytes")] pub [u8; 16]);

impl Fingerprint {
    pub(crate) fn of_sum(sum: u128) -> Fingerprint {
        Fingerprint(sum.to_be_bytes())
    }

    pub(crate) fn sum(&self) -> u128 {
        u128::from_be_bytes(self.0)
    }
}

/// One frame of a reconciliation session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Message {
    /// Initiator, first: who it is this session and what its set looks like.
    Hello {
        /// [`super::RECONCILE_VERSION`].
        version: u64,
        /// The initiator's salt.
        salt: Salt,
        /// How many items the initiator holds.
        count: u64,
        /// Its set's fingerprint under the hello key (initiator's salt only).
        fingerprint: Fingerprint,
        /// Its set's [`ESTIMATOR_COUNTERS`] tug-of-war counters under the hello key, each
        /// modulo 2^16 as 2 bytes big-endian.
        #[serde(with = "byte_string")]
        estimator: Vec<u8>,
    },
    /// Responder, first and last: the sets are the same (equal counts and fingerprints).
    Same,
    /// Responder: the next coded symbols of its set. The first carries the responder's
    /// count and fingerprint (under the hello key); later ones carry neither.
    Symbols {
        /// How many items the responder holds (first message only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
        /// The responder's fingerprint under the hello key (first message only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<Fingerprint>,
        /// The index of the first symbol in `symbols`: how many were sent before.
        start: u64,
        /// The symbols, [`SYMBOL_BYTES`] each.
        #[serde(with = "byte_string")]
        symbols: Vec<u8>,
    },
    /// Initiator: the symbols so far do not decode; send this many more.
    More {
        /// How many, 1 to [`MAX_SYMBOLS_PER_FRAME`].
        symbols: u64,
    },
    /// Initiator, once decoded: how many items the responder lacks and the sum of their
    /// hello digests (the first `decoded` only), and the tags of the items the initiator
    /// lacks, whose ids the responder sends back in [`Message::Resolved`].
    Decoded {
        /// How many items the responder lacks (first message only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
        /// The sum of those items' hello digests, as the set fingerprint sums them (first
        /// message only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<Fingerprint>,
        /// Tags of items the initiator lacks, [`TAG_BYTES`] each, ascending across all
        /// `decoded` messages.
        #[serde(with = "byte_string")]
        tags: Vec<u8>,
        /// Whether this is the last `decoded` message.
        done: bool,
    },
    /// Responder: the ids of the tags of the last `decoded`, in its order.
    Resolved {
        /// The ids, [`ID_BYTES`] each.
        #[serde(with = "byte_string")]
        ids: Vec<u8>,
    },
    /// Either side, when the sets differ too much for symbols: its next items in ascending
    /// order. The responder's first also carries its count.
    List {
        /// How many items the responder holds (its first message only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
        /// The items, [`ITEM_BYTES`] each, ascending, continuing the sender's earlier ones.
        #[serde(with = "byte_string")]
        items: Vec<u8>,
        /// Whether the sender has now sent all its items.
        done: bool,
    },
}

impl Message {
    /// The message's `kind`, for errors and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "hello",
            Message::Same => "same",
            Message::Symbols { .. } => "symbols",
            Message::More { .. } => "more",
            Message::Decoded { .. } => "decoded",
            Message::Resolved { .. } => "resolved",
            Message::List { .. } => "list",
        }
    }

    /// The frame: canonical CBOR. Fails only if the message breaks a per-frame limit.
    pub fn encode(&self) -> Result<Vec<u8>, ReconcileError> {
        self.check_shape()?;
        let bytes = cbor::encode(self).map_err(|error| ReconcileError::malformed(error.to_string()))?;
        if bytes.len() > MAX_RECONCILE_FRAME_BYTES {
            return Err(ReconcileError::FrameTooLarge {
                bytes: bytes.len(),
                limit: MAX_RECONCILE_FRAME_BYTES,
            });
        }
        Ok(bytes)
    }

    /// Reads a frame: its size first, then canonical CBOR, the schema (one byte form only),
    /// and each field's length and limit.
    pub fn decode(frame: &[u8]) -> Result<Message, ReconcileError> {
        if frame.len() > MAX_RECONCILE_FRAME_BYTES {
            return Err(ReconcileError::FrameTooLarge {
                bytes: frame.len(),
                limit: MAX_RECONCILE_FRAME_BYTES,
            });
        }
        let malformed = |error: crate::Error| ReconcileError::malformed(error.to_string());
        let message: Message = cbor::decode_typed(frame).map_err(malformed)?;
        message.check_shape()?;
        Ok(message)
    }

    /// Field lengths and per-frame limits.
    fn check_shape(&self) -> Result<(), ReconcileError> {
        match self {
            Message::Hello { estimator, .. } => {
                if estimator.len() != 2 * ESTIMATOR_COUNTERS {
                    return Err(ReconcileError::malformed(format!(
                        "hello: {} estimator bytes, expected {}",
                        estimator.len(),
                        2 * ESTIMATOR_COUNTERS
                    )));
                }
            }
            Message::Same => {}
            Message::Symbols { count, fingerprint, symbols, .. } => {
                if count.is_some() != fingerprint.is_some() {
                    return Err(ReconcileError::malformed("symbols: count and fingerprint go together"));
                }
                let n = packed_len(symbols, SYMBOL_BYTES, "symbols")?;
                limit("symbols in a frame", n, MAX_SYMBOLS_PER_FRAME)?;
            }
            Message::More { symbols } => {
                if *symbols == 0 {
                    return Err(ReconcileError::malformed("more: asks for no symbols"));
                }
                limit(
                    "symbols asked for in a frame",
                    usize::try_from(*symbols).unwrap_or(usize::MAX),
                    MAX_SYMBOLS_PER_FRAME,
                )?;
            }
            Message::Decoded { count, fingerprint, tags, .. } => {
                if count.is_some() != fingerprint.is_some() {
                    return Err(ReconcileError::malformed("decoded: count and fingerprint go together"));
                }
                limit("tags in a frame", packed_len(tags, TAG_BYTES, "tags")?, MAX_IDS_PER_FRAME)?;
            }
            Message::Resolved { ids } => {
                limit("ids in a frame", packed_len(ids, ID_BYTES, "ids")?, MAX_IDS_PER_FRAME)?;
            }
            Message::List { items, .. } => {
                limit("items in a frame", packed_len(items, ITEM_BYTES, "items")?, MAX_ITEMS_PER_FRAME)?;
            }
        }
        Ok(())
    }
}

/// How many records of `unit` bytes `bytes` packs.
fn packed_len(bytes: &[u8], unit: usize, what: &str) -> Result<usize, ReconcileError> {
    if bytes.len() % unit == 0 {
        Ok(bytes.len() / unit)
    } else {
        Err(ReconcileError::malformed(format!("{what}: {} bytes is not a multiple of {unit}", bytes.len())))
    }
}

fn limit(what: &'static str, count: usize, limit: usize) -> Result<(), ReconcileError> {
    if count > limit {
        return Err(ReconcileError::TooMany { what, count: count as u64, limit: limit as u64 });
    }
    Ok(())
}

/// Items packed for the wire.
pub(crate) fn pack_items<'a>(items: impl IntoIterator<Item = &'a Item>) -> Vec<u8> {
    items.into_iter().flat_map(|item| item.to_bytes()).collect()
}

/// Items of a packed field (its length already checked).
pub(crate) fn unpack_items(bytes: &[u8]) -> Vec<Item> {
    bytes
        .chunks_exact(ITEM_BYTES)
        .filter_map(|chunk| chunk.try_into().ok())
        .map(|chunk| Item::from_bytes(&chunk))
        .collect()
}

/// Ids packed for the wire.
pub(crate) fn pack_ids<'a>(ids: impl IntoIterator<Item = &'a RecordId>) -> Vec<u8> {
    ids.into_iter().flat_map(|id| id.0).collect()
}

/// Ids of a packed field (its length already checked).
pub(crate) fn unpack_ids(bytes: &[u8]) -> Vec<RecordId> {
    bytes.chunks_exact(ID_BYTES).filter_map(|chunk| chunk.try_into().ok()).map(RecordId).collect()
}

/// Tags packed for the wire.
pub(crate) fn pack_tags(tags: &[u64]) -> Vec<u8> {
    tags.iter().flat_map(|tag| super::keys::tag_bytes(*tag)).collect()
}

/// Tags of a packed field (its length already checked).
pub(crate) fn unpack_tags(bytes: &[u8]) -> Vec<u64> {
    bytes.chunks_exact(TAG_BYTES).filter_map(|chunk| chunk.try_into().ok()).map(u64::from_be_bytes).collect()
}

/// Symbols packed for the wire.
pub(crate) fn pack_symbols(symbols: &[CodedSymbol]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(symbols.len() * SYMBOL_BYTES);
    for symbol in symbols {
        symbol.write(&mut bytes);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::RecordId;

    fn round_trip(message: Message) {
        let bytes = message.encode().unwrap();
        assert_eq!(Message::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn every_message_round_trips() {
        let salt = Salt([1; 16]);
        round_trip(Message::Hello {
            version: 1,
            salt,
            count: 3,
            fingerprint: Fingerprint([2; 16]),
            estimator: vec![0xff; 2 * ESTIMATOR_COUNTERS],
        });
        round_trip(Message::Same);
        round_trip(Message::Symbols {
            count: Some(9),
            fingerprint: Some(Fingerprint([0; 16])),
            start: 0,
            symbols: vec![7; SYMBOL_BYTES * 2],
        });
        round_trip(Message::Symbols { count: None, fingerprint: None, start: 5, symbols: vec![] });
        round_trip(Message::More { symbols: 10 });
        let item = Item { time: 3, id: RecordId([4; 32]) };
        round_trip(Message::Decoded {
            count: Some(1),
            fingerprint: Some(Fingerprint([3; 16])),
            tags: pack_tags(&[1, 2]),
            done: false,
        });
        round_trip(Message::Decoded { count: None, fingerprint: None, tags: vec![], done: true });
        round_trip(Message::Resolved { ids: pack_ids(&[item.id, item.id]) });
        assert_eq!(unpack_ids(&pack_ids(&[item.id])), vec![item.id]);
        round_trip(Message::List { count: Some(1), items: pack_items(&[item]), done: false });
        assert_eq!(unpack_items(&pack_items(&[item])), vec![item]);
        assert_eq!(unpack_tags(&pack_tags(&[1, u64::MAX])), vec![1, u64::MAX]);
    }

    #[test]
    fn a_hello_is_small() {
        let hello = Message::Hello {
            version: 1,
            salt: Salt([1; 16]),
            count: 1_000_000,
            fingerprint: Fingerprint([2; 16]),
            estimator: vec![0xf0; 2 * ESTIMATOR_COUNTERS],
        };
        let same = Message::Same;
        let total = hello.encode().unwrap().len() + same.encode().unwrap().len();
        assert!(total <= 512, "{total} bytes");
    }

    #[test]
    fn shapes_are_checked() {
        let bad = |message: Message| Message::decode(&cbor::encode(&message).unwrap()).unwrap_err();
        assert!(matches!(
            bad(Message::Symbols { count: None, fingerprint: None, start: 0, symbols: vec![0; 17] }),
            ReconcileError::Malformed { .. }
        ));
        assert!(matches!(
            bad(Message::Symbols {
                count: Some(1),
                fingerprint: None,
                start: 0,
                symbols: vec![0; SYMBOL_BYTES]
            }),
            ReconcileError::Malformed { .. }
        ));
        assert!(matches!(bad(Message::More { symbols: 0 }), ReconcileError::Malformed { .. }));
        assert!(matches!(
            bad(Message::Decoded { count: Some(1), fingerprint: None, tags: vec![], done: true }),
            ReconcileError::Malformed { .. }
        ));
        assert!(matches!(
            bad(Message::Decoded {
                count: None,
                fingerprint: None,
                tags: vec![0; TAG_BYTES - 1],
                done: true
            }),
            ReconcileError::Malformed { .. }
        ));
        let tags = vec![0; (MAX_IDS_PER_FRAME + 1) * TAG_BYTES];
        assert!(matches!(
            bad(Message::Decoded { count: None, fingerprint: None, tags, done: true }),
            ReconcileError::TooMany { what: "tags in a frame", .. }
        ));
        assert!(matches!(
            bad(Message::More { symbols: MAX_SYMBOLS_PER_FRAME as u64 + 1 }),
            ReconcileError::TooMany { .. }
        ));
        assert!(matches!(
            bad(Message::Hello {
                version: 1,
                salt: Salt([0; 16]),
                count: 0,
                fingerprint: Fingerprint([0; 16]),
                estimator: vec![0; 3]
            }),
            ReconcileError::Malformed { .. }
        ));
        // Not canonical: an explicit default would be a second byte form, and unknown kinds
        // and fields are refused.
        assert!(Message::decode(&[0xa0]).is_err());
        assert!(Message::decode(b"\xa1\x64kind\x64nope").is_err());
    }
}
