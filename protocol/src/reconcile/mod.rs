//! Set reconciliation between two peers' ledgers, sans I/O: bytes in, bytes out.
//!
//! Each peer holds a set of [`Item`]s (a record's time and id), ordered by (time, id). A
//! session ends with each side knowing exactly which ids the other has that it lacks
//! ([`Outcome::have`]) and which it lacks that the other has ([`Outcome::need`]).
//! spec/reconcile.md is the normative description; this module is its reference.
//!
//! How, in one paragraph: the [`Initiator`] opens with a salted fingerprint of its whole set
//! and a 128-counter difference estimator ([`Message::Hello`], about 350 bytes). Equal sets
//! end there, in one round trip. Otherwise the [`Responder`], the first to know how large
//! the difference is likely to be, answers with Rateless IBLT coded symbols
//! (Yang, Gilad, Alizadeh, "Practical Rateless Set Reconciliation", SIGCOMM 2024), as many
//! as the estimate says the difference needs. The initiator subtracts its own symbols,
//! peels, asks for more if it must, and once decoded sends how many items the responder
//! lacks (with the sum of their digests) and the tags of those it lacks; the responder
//! answers with those items' ids, and both check the result against each other's
//! fingerprints. When the sets differ in most of their
//! items (one empty, or disjoint), or the symbols run out, both stream their sorted item
//! lists instead: bounded and exact for every input.
//!
//! ```
//! use kvitt_protocol::reconcile::{Initiator, Item, Need, Responder, Salt, Step};
//! use kvitt_protocol::RecordId;
//!
//! let item = |time: u64, byte: u8| Item { time, id: RecordId([byte; 32]) };
//! let ours = vec![item(10, 1), item(20, 2), item(30, 3)];
//! let theirs = vec![item(10, 1), item(30, 3), item(40, 4)];
//!
//! let mut initiator = Initiator::new(&ours, Salt([7; 16])).unwrap();
//! let mut responder = Responder::new(&theirs).unwrap();
//! let mut to_responder = initiator.start().unwrap();
//! let (mut ours_done, mut theirs_done) = (None, None);
//! while ours_done.is_none() {
//!     let to_initiator = match responder.receive(&to_responder).unwrap() {
//!         Step::Send(bytes) => bytes,
//!         Step::Done { last, outcome } => {
//!             theirs_done = Some(outcome);
//!             match last {
//!                 Some(bytes) => bytes,
//!                 None => break,
//!             }
//!         }
//!     };
//!     match initiator.receive(&to_initiator).unwrap() {
//!         Step::Send(bytes) => to_responder = bytes,
//!         Step::Done { last, outcome } => {
//!             ours_done = Some(outcome);
//!             if let Some(bytes) = last {
//!                 if let Step::Done { outcome, .. } = responder.receive(&bytes).unwrap() {
//!                     theirs_done = Some(outcome);
//!                 }
//!             }
//!         }
//!     }
//! }
//! let (ours_done, theirs_done) = (ours_done.unwrap(), theirs_done.unwrap());
//! assert_eq!(ours_done.have, vec![RecordId([2; 32])]);
//! assert_eq!(ours_done.need, Need::Ids(vec![RecordId([4; 32])]));
//! assert_eq!(Some(theirs_done.have.as_slice()), ours_done.need.ids());
//! // The responder learns how many it lacks; the initiator sends those records.
//! assert_eq!(theirs_done.need, Need::Count(ours_done.have.len() as u64));
//! ```

use serde::{Deserialize, Serialize};

use crate::id::RecordId;

mod error;
mod estimator;
mod hello;
mod initiator;
mod keys;
mod list;
mod lookup;
mod mapping;
mod message;
mod responder;
mod siphash;
mod symbol;
mod transfer;

pub use error::ReconcileError;
pub use hello::{HelloSummary, MAX_KEPT_SYMBOLS};
pub use initiator::Initiator;
pub use message::{Fingerprint, Message};
pub use responder::Responder;

/// Largest frame (one encoded [`Message`]) either side sends or accepts, in bytes. Checked
/// before a frame is decoded.
pub const MAX_RECONCILE_FRAME_BYTES: usize = 256 * 1024;

/// Most items in one side's set, and most a peer may claim to hold. Bounds the memory of a
/// session (at most about 80 bytes an item: hello digests until the session key is known,
/// then tags, checksums, index sequences and the tag index) and the rounds a list exchange
/// takes. A larger ledger has to be reconciled in time ranges, one session each.
pub const MAX_RECONCILE_ITEMS: usize = 1 << 21;

/// Most coded symbols one session sends (24 bytes each in the initiator's memory): enough
/// for about 750,000 differences. A session that has used them all without decoding falls
/// back to exchanging lists.
pub const MAX_RECONCILE_SYMBOLS: usize = 1 << 20;

/// Most coded symbols in one [`Message::Symbols`] frame, and most one [`Message::More`]
/// may ask for: 16,000 × 12 bytes stays under [`MAX_RECONCILE_FRAME_BYTES`].
pub const MAX_SYMBOLS_PER_FRAME: usize = 16_000;

/// Most items (40 bytes each) in one [`Message::List`]: 6,000 × 40 bytes stays under
/// [`MAX_RECONCILE_FRAME_BYTES`].
pub const MAX_ITEMS_PER_FRAME: usize = 6_000;

/// Most ids (32 bytes each) in one [`Message::Resolved`], and so most tags (8 bytes each)
/// in one [`Message::Decoded`], which the resolved answers id for tag: 8,000 × 32 bytes
/// stays under [`MAX_RECONCILE_FRAME_BYTES`].
pub const MAX_IDS_PER_FRAME: usize = 8_000;

/// Most messages the initiator sends in one session (its hello included), which bounds the
/// responder's too. Derived from the worst honest session: the hello, every coded symbol
/// the session may send, then a list exchange of the largest set, plus two.
pub const MAX_RECONCILE_ROUNDS: usize = 4
    + MAX_RECONCILE_SYMBOLS.div_ceil(MAX_SYMBOLS_PER_FRAME)
    + MAX_RECONCILE_ITEMS.div_ceil(MAX_ITEMS_PER_FRAME);

// Frames at their count limits fit the byte limit, with room for the map around them, and
// a decoded exchange (whose full frames carry MAX_IDS_PER_FRAME tags) never needs more
// rounds than the largest list exchange.
const _: () = assert!(MAX_SYMBOLS_PER_FRAME * SYMBOL_BYTES + 256 <= MAX_RECONCILE_FRAME_BYTES);
const _: () = assert!(MAX_ITEMS_PER_FRAME * ITEM_BYTES + 256 <= MAX_RECONCILE_FRAME_BYTES);
const _: () = assert!(MAX_IDS_PER_FRAME * ID_BYTES + 256 <= MAX_RECONCILE_FRAME_BYTES);
const _: () = assert!(
    MAX_RECONCILE_SYMBOLS.div_ceil(MAX_IDS_PER_FRAME) <= MAX_RECONCILE_ITEMS.div_ceil(MAX_ITEMS_PER_FRAME)
);

/// The version of the reconciliation protocol this module speaks, sent in the hello.
pub const RECONCILE_VERSION: u64 = 1;

/// Counters in the difference estimator of [`Message::Hello`] (a format constant); each
/// travels as 2 bytes.
pub const ESTIMATOR_COUNTERS: usize = 128;

/// Bytes of one item in a list: its time as 8 bytes big-endian, then its 32-byte id.
pub const ITEM_BYTES: usize = 40;

/// Bytes of one id.
pub const ID_BYTES: usize = 32;

/// Bytes of one item's tag on the wire (see spec/reconcile.md §Keys).
pub const TAG_BYTES: usize = 8;

/// Bytes of one coded symbol on the wire: tag sum (8), checksum sum (4).
pub const SYMBOL_BYTES: usize = 12;

/// One element of a reconciled set: a record's time (seconds since the Unix epoch) and its
/// id. Items order by time, then id. The id names the item (a record has one time, in the
/// record): hashes and outcomes are of ids, and the time only orders lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Item {
    /// The record's time in seconds since 1970-01-01T00:00:00Z.
    pub time: u64,
    /// The record's id.
    pub id: RecordId,
}

impl Item {
    /// The 40-byte wire form: time big-endian, then the id.
    pub fn to_bytes(&self) -> [u8; ITEM_BYTES] {
        let mut bytes = [0u8; ITEM_BYTES];
        for (to, from) in bytes.iter_mut().zip(self.time.to_be_bytes().iter().chain(self.id.0.iter())) {
            *to = *from;
        }
        bytes
    }

    /// The item of a 40-byte wire form.
    pub fn from_bytes(bytes: &[u8; ITEM_BYTES]) -> Item {
        let (time, id) = bytes.split_at(8);
        let mut time_bytes = [0u8; 8];
        time_bytes.copy_from_slice(time);
        let mut id_bytes = [0u8; 32];
        id_bytes.copy_from_slice(id);
        Item { time: u64::from_be_bytes(time_bytes), id: RecordId(id_bytes) }
    }
}

/// The initiator's 16 random bytes, sent in its hello: every hash of the session is keyed
/// with them (spec/reconcile.md §Keys and hashes), so no one who made records without
/// knowing them can have chosen items whose hashes collide. The crate has no randomness of
/// its own: the caller draws them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Salt(#[serde(with = "crate::id::fixed_bytes")] pub [u8; 16]);

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Salt({})", hex::encode(self.0))
    }
}

/// What a finished session found: the difference between the two sets, from this side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Ids this side holds and the peer lacks, ascending.
    pub have: Vec<RecordId>,
    /// What this side learnt of the ids the peer holds and it lacks.
    pub need: Need,
}

/// What a side learnt of the ids it lacks: the ids, or (the responder of a session that
/// decoded coded symbols) only how many. That responder is told the count and the sum of
/// the ids' hello digests, which it checks against the fingerprints, not the ids
/// themselves: the initiator, which knows them, sends the records, and sending the ids as
/// well would cost 32 bytes each (spec/reconcile.md §The session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// The ids, ascending: what the initiator learns, and either side of a list exchange.
    Ids(Vec<RecordId>),
    /// How many ids: what the responder learns after coded symbols.
    Count(u64),
}

impl Default for Need {
    /// Nothing needed, known as such.
    fn default() -> Need {
        Need::Ids(Vec::new())
    }
}

impl Need {
    /// How many ids this side lacks.
    pub fn count(&self) -> u64 {
        match self {
            Need::Ids(ids) => ids.len() as u64,
            Need::Count(count) => *count,
        }
    }

    /// The ids this side lacks, if it learnt them.
    pub fn ids(&self) -> Option<&[RecordId]> {
        match self {
            Need::Ids(ids) => Some(ids),
            Need::Count(_) => None,
        }
    }
}

impl Outcome {
    /// Sorts `have` (and `need`'s ids) and drops any id in both (a peer that lists an id we
    /// hold at another time: the id names the item).
    fn new(mut have: Vec<RecordId>, need: Need) -> Outcome {
        have.sort_unstable();
        let Need::Ids(mut need) = need else {
            return Outcome { have, need };
        };
        need.sort_unstable();
        if !have.is_empty() && !need.is_empty() {
            let both: std::collections::HashSet<RecordId> =
                have.iter().filter(|id| need.binary_search(id).is_ok()).copied().collect();
            if !both.is_empty() {
                have.retain(|id| !both.contains(id));
                need.retain(|id| !both.contains(id));
            }
        }
        Outcome { have, need: Need::Ids(need) }
    }
}

/// What to do after handing a session the peer's frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes (one frame) to the peer and hand its answer to `receive`.
    Send(Vec<u8>),
    /// The session is over: send `last` to the peer if there is one (it expects no answer),
    /// and here is the outcome.
    Done {
        /// The final frame for the peer, if it still needs one to finish.
        last: Option<Vec<u8>>,
        /// The difference this side found.
        outcome: Outcome,
    },
}

/// Checks that `items` is strictly ascending (a set in (time, id) order) and within
/// [`MAX_RECONCILE_ITEMS`].
fn check_local_items(items: &[Item]) -> Result<(), ReconcileError> {
    if items.len() > MAX_RECONCILE_ITEMS {
        return Err(ReconcileError::TooMany {
            what: "local items",
            count: items.len() as u64,
            limit: MAX_RECONCILE_ITEMS as u64,
        });
    }
    match items.windows(2).position(|pair| matches!(pair, [a, b] if a >= b)) {
        Some(index) => Err(ReconcileError::LocalUnsorted { index: index + 1 }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_order_by_time_then_id_and_round_trip_their_bytes() {
        let a = Item { time: 1, id: RecordId([9; 32]) };
        let b = Item { time: 2, id: RecordId([0; 32]) };
        let c = Item { time: 2, id: RecordId([1; 32]) };
        assert!(a < b && b < c);
        assert_eq!(Item::from_bytes(&c.to_bytes()), c);
        assert_eq!(c.to_bytes()[..8], 2u64.to_be_bytes());
    }

    #[test]
    fn local_items_must_be_strictly_ascending() {
        let a = Item { time: 1, id: RecordId([1; 32]) };
        let b = Item { time: 1, id: RecordId([2; 32]) };
        assert_eq!(check_local_items(&[a, b]), Ok(()));
        assert_eq!(check_local_items(&[a, b, b]), Err(ReconcileError::LocalUnsorted { index: 2 }));
        assert_eq!(check_local_items(&[b, a]), Err(ReconcileError::LocalUnsorted { index: 1 }));
    }

    #[test]
    fn the_round_limit_covers_the_worst_honest_session() {
        // hello + every symbol frame + a list exchange of the largest set, plus slack.
        let symbol_frames = MAX_RECONCILE_SYMBOLS.div_ceil(MAX_SYMBOLS_PER_FRAME);
        let list_frames = MAX_RECONCILE_ITEMS.div_ceil(MAX_ITEMS_PER_FRAME);
        assert_eq!((symbol_frames, list_frames), (66, 350));
        assert_eq!(MAX_RECONCILE_ROUNDS, 420);
    }
}
