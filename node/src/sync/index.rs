//! The channel index in memory: for each peer, the (time, id) items of the channel this
//! node shares with it, what a reconciliation session with that peer compares.
//!
//! The ledger keeps the same index durably (`chan/` keys, written with each record). This
//! copy is loaded from it once when the node starts ([`ChannelIndex::load`]) and then kept
//! up to date from every committed batch ([`ChannelIndex::note`]), so that a session never
//! scans the ledger: it takes a [`ChannelSnapshot`] (two reference counts and a copy of the
//! few newest items) and sorts it into the session's list on its own thread.
//!
//! Each channel also keeps the hello summaries ([`HelloSummary`]) of its items under the
//! salts this node's hellos to the peer and the peer's hellos to it use, adding every new
//! item to them, so that a session between equal channels hashes nothing. A summary also
//! keeps the channel's first coded symbols (at most a byte an item, and at most
//! [`kvitt_protocol::reconcile::MAX_KEPT_SYMBOLS`] of 16 bytes in memory), so that a
//! session between channels that differ in a few items hashes only those.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use kvitt_protocol::reconcile::{HelloSummary, Item, Salt};
use kvitt_protocol::{PublicKey, RecordId};

use crate::ledger::{keys, LedgerError};
use crate::store::{Batch, Store};

/// Items added since the last merge that make a channel merge them into its sorted list:
/// at least this many, and at least a sixteenth of the sorted list, so that merging costs
/// each insert a bounded, small amount of copying on average.
const MERGE_AT_LEAST: usize = 4096;

/// Whose hello salt a summary is under: each side of a channel rotates its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaltOf {
    /// This node's, in the hellos it sends the peer.
    ThisNode,
    /// The peer's, in the hellos it sends this node.
    Peer,
}

/// The channel of one peer: a sorted list shared with running sessions, the items added
/// since, and hello summaries of all of them.
#[derive(Default)]
struct Channel {
    sorted: Arc<Vec<Item>>,
    /// Shared with snapshots until the next item arrives.
    recent: Arc<BTreeSet<Item>>,
    /// The summary under this node's hello salt for the peer, and under the peer's.
    hellos: [Option<HelloSummary>; 2],
}

impl Channel {
    /// Adds `item` unless the channel holds it.
    fn add(&mut self, item: Item) {
        if self.sorted.binary_search(&item).is_ok() || self.recent.contains(&item) {
            return;
        }
        Arc::make_mut(&mut self.recent).insert(item);
        for hello in self.hellos.iter_mut().flatten() {
            hello.add(&item);
        }
        if self.recent.len() >= MERGE_AT_LEAST.max(self.sorted.len() / 16) {
            self.merge_recent();
        }
    }

    /// Merges the recent items into the sorted list.
    fn merge_recent(&mut self) {
        let recent = std::mem::take(&mut self.recent);
        self.sorted = Arc::new(merged(&self.sorted, &recent));
    }

    fn snapshot(&self) -> ChannelSnapshot {
        ChannelSnapshot { sorted: Arc::clone(&self.sorted), recent: Arc::clone(&self.recent) }
    }
}

/// The items of every channel this node is in, by peer.
#[derive(Default)]
pub struct ChannelIndex {
    channels: BTreeMap<PublicKey, Channel>,
}

/// One channel's items at one moment, cheap to take; [`ChannelSnapshot::into_items`]
/// turns it into the sorted list a session needs.
pub struct ChannelSnapshot {
    sorted: Arc<Vec<Item>>,
    recent: Arc<BTreeSet<Item>>,
}

impl ChannelSnapshot {
    /// How many items.
    pub fn len(&self) -> usize {
        self.sorted.len() + self.recent.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items in strictly ascending (time, id) order, without duplicates. Costs a copy
    /// of the channel only if items arrived since its last merge.
    pub fn into_items(self) -> Arc<Vec<Item>> {
        if self.recent.is_empty() {
            return self.sorted;
        }
        Arc::new(merged(&self.sorted, &self.recent))
    }
}

/// `sorted` and `recent`, both ascending without duplicates, merged.
fn merged(sorted: &[Item], recent: &BTreeSet<Item>) -> Vec<Item> {
    let mut out = Vec::with_capacity(sorted.len() + recent.len());
    let (mut old, mut new) = (sorted.iter().peekable(), recent.iter().peekable());
    loop {
        let next = match (old.peek(), new.peek()) {
            (Some(a), Some(b)) if a < b => old.next().copied(),
            (Some(a), Some(b)) if a == b => {
                new.next();
                old.next().copied()
            }
            (Some(_), Some(_)) | (None, Some(_)) => new.next().copied(),
            (Some(_), None) => old.next().copied(),
            (None, None) => return out,
        };
        out.extend(next);
    }
}

impl ChannelIndex {
    /// Reads every channel's items from the ledger's `chan/` keys, in one pass
    /// ([`Store::visit`]).
    pub fn load(store: &dyn Store) -> Result<ChannelIndex, LedgerError> {
        let mut index = ChannelIndex::default();
        let mut malformed = None;
        store.visit(keys::CHANNEL_PREFIX, None, None, &mut |key, _| {
            let Some((peer, item)) = parse_channel_key(key) else {
                malformed = Some(LedgerError::Damaged {
                    key: format!("chan/{}", hex::encode(key.get(5..).unwrap_or_default())),
                    why: "not a peer key, a time and a record id".into(),
                });
                return ControlFlow::Break(());
            };
            // Keys come in (peer, time, id) order: each channel's list is built sorted.
            Arc::make_mut(&mut index.channels.entry(peer).or_default().sorted).push(item);
            ControlFlow::Continue(())
        })?;
        if let Some(error) = malformed {
            return Err(error);
        }
        // Grown by doubling: up to half of each list would be room never used (200 MB at
        // 10M items), held for as long as the node runs.
        for channel in index.channels.values_mut() {
            Arc::make_mut(&mut channel.sorted).shrink_to_fit();
        }
        Ok(index)
    }

    /// Takes note of the channel keys a committed batch inserted.
    pub fn note(&mut self, batch: &Batch) {
        for (key, value) in batch.operations() {
            if value.is_none() {
                continue;
            }
            if let Some((peer, item)) = parse_channel_key(key) {
                self.channels.entry(peer).or_default().add(item);
            }
        }
    }

    /// The channel shared with `peer` as it is now (empty if none).
    pub fn snapshot(&self, peer: &PublicKey) -> ChannelSnapshot {
        self.channels.get(peer).map_or_else(|| Channel::default().snapshot(), Channel::snapshot)
    }

    /// The channel shared with `peer` as it is now, its recent items merged into its sorted
    /// list first (kept so, so that the next caller finds them merged): for a caller that
    /// runs its sessions on this thread, like the simulator, where a snapshot would merge
    /// the same items again for every session until the index merges them itself.
    pub fn items(&mut self, peer: &PublicKey) -> Arc<Vec<Item>> {
        let Some(channel) = self.channels.get_mut(peer) else {
            return Arc::default();
        };
        if !channel.recent.is_empty() {
            channel.merge_recent();
        }
        Arc::clone(&channel.sorted)
    }

    /// The hello summary of the channel shared with `peer` under `salt`, `whose` salt it
    /// is, as the channel is now, with the channel's first coded symbols. Kept up to date
    /// from then on; a new salt of the same side replaces the old one, and a summary the
    /// channel has outgrown ([`HelloSummary::outgrown`]) is made again (each costs one hash
    /// of every item).
    pub fn hello(&mut self, peer: &PublicKey, whose: SaltOf, salt: Salt) -> HelloSummary {
        let channel = self.channels.entry(*peer).or_default();
        let slot = match whose {
            SaltOf::ThisNode => 0,
            SaltOf::Peer => 1,
        };
        let kept = channel
            .hellos
            .get(slot)
            .and_then(Option::as_ref)
            .filter(|kept| kept.salt() == salt && !kept.outgrown());
        if let Some(kept) = kept {
            return kept.clone();
        }
        let computed = HelloSummary::of(&channel.snapshot().into_items(), salt);
        if let Some(kept) = channel.hellos.get_mut(slot) {
            *kept = Some(computed.clone());
        }
        computed
    }

    /// Items in all channels (an item in two channels counts twice), counting duplicates
    /// not yet merged away.
    pub fn len(&self) -> usize {
        self.channels.values().map(|channel| channel.sorted.len() + channel.recent.len()).sum()
    }

    /// Whether no channel holds an item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The peer and item of a `chan/` key, if it is one.
fn parse_channel_key(key: &[u8]) -> Option<(PublicKey, Item)> {
    let tail = key.strip_prefix(keys::CHANNEL_PREFIX)?;
    let peer = PublicKey(tail.get(..32)?.try_into().ok()?);
    let time = u64::from_be_bytes(tail.get(32..40)?.try_into().ok()?);
    let id = RecordId(tail.get(40..)?.try_into().ok()?);
    Some((peer, Item { time, id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn item(time: u64, byte: u8) -> Item {
        Item { time, id: RecordId([byte; 32]) }
    }

    fn insert(batch: &mut Batch, peer: &PublicKey, item: Item) {
        batch.insert(keys::channel(peer, item.time, &item.id), Vec::new());
    }

    #[test]
    fn an_index_loaded_from_the_ledger_equals_one_kept_from_its_batches() {
        let (a, b) = (PublicKey([1; 32]), PublicKey([2; 32]));
        let store = MemoryStore::new();
        let mut kept = ChannelIndex::default();
        // Out of order, with a repeat (a receipt placed again when a second claim takes it),
        // and enough to merge at least once.
        let mut expected_a = Vec::new();
        for round in 0..3u64 {
            let mut batch = Batch::new();
            for n in (0..3000u64).rev() {
                let item = Item { time: n % 97, id: RecordId([(n % 251) as u8; 32]) };
                insert(&mut batch, &a, item);
                expected_a.push(item);
            }
            insert(&mut batch, &b, item(round, 9));
            batch.insert(b"rec/unrelated".to_vec(), b"x".to_vec());
            store.apply(&batch).unwrap();
            kept.note(&batch);
        }
        expected_a.sort_unstable();
        expected_a.dedup();
        let loaded = ChannelIndex::load(&store).unwrap();
        assert_eq!(loaded.channels[&a].sorted.capacity(), loaded.channels[&a].sorted.len(), "no spare room");
        for index in [&kept, &loaded] {
            assert_eq!(*index.snapshot(&a).into_items(), expected_a);
            assert_eq!(*index.snapshot(&b).into_items(), vec![item(0, 9), item(1, 9), item(2, 9)]);
            assert!(index.snapshot(&PublicKey([3; 32])).into_items().is_empty());
        }
    }

    #[test]
    fn kept_hello_summaries_stay_those_of_the_channel_as_items_arrive_again_and_again() {
        let (a, b) = (PublicKey([1; 32]), PublicKey([2; 32]));
        let (ours, theirs, third) = (Salt([1; 16]), Salt([2; 16]), Salt([3; 16]));
        let mut index = ChannelIndex::default();
        index.hello(&a, SaltOf::ThisNode, ours);
        index.hello(&a, SaltOf::Peer, theirs);
        for round in 0..3u64 {
            let mut batch = Batch::new();
            // Repeats within a batch, across batches and after merges.
            for n in (0..3000u64).rev() {
                insert(&mut batch, &a, Item { time: n % 97, id: RecordId([(n % 251) as u8; 32]) });
                insert(&mut batch, &b, item(round, 9));
            }
            index.note(&batch);
            for (whose, salt) in [(SaltOf::ThisNode, ours), (SaltOf::Peer, theirs)] {
                let kept = index.hello(&a, whose, salt);
                let fresh = HelloSummary::of(&index.snapshot(&a).into_items(), salt);
                assert_eq!(format!("{kept:?}"), format!("{fresh:?}"));
                assert_eq!(summary_bytes(&kept), summary_bytes(&fresh), "round {round}");
            }
        }
        assert_eq!(index.items(&a), index.snapshot(&a).into_items());
        // The peer's new salt takes the place of its old one; this node's stays.
        index.hello(&a, SaltOf::Peer, third);
        let salts = index.channels[&a].hellos.iter().map(|kept| kept.as_ref().map(HelloSummary::salt));
        assert_eq!(salts.collect::<Vec<_>>(), [Some(ours), Some(third)]);
    }

    #[test]
    fn a_summary_the_channel_has_outgrown_is_made_again_with_more_symbols() {
        let a = PublicKey([1; 32]);
        let salt = Salt([1; 16]);
        let mut index = ChannelIndex::default();
        let small = index.hello(&a, SaltOf::ThisNode, salt);
        let mut batch = Batch::new();
        for n in 0..20_000u32 {
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&n.to_be_bytes());
            insert(&mut batch, &a, Item { time: u64::from(n), id: RecordId(id) });
        }
        index.note(&batch);
        let grown = index.hello(&a, SaltOf::ThisNode, salt);
        assert!(!grown.outgrown());
        assert!(grown.kept_bytes() > 2 * small.kept_bytes());
        assert_eq!(grown.kept_bytes(), HelloSummary::of(&index.snapshot(&a).into_items(), salt).kept_bytes());
    }

    /// What a hello under `kept` would say: its frame, built by an initiator over no items
    /// but the summary's own (the count check passes only for the summary's count).
    fn summary_bytes(kept: &HelloSummary) -> Vec<u8> {
        let items: Vec<Item> = (0..kept.count()).map(|n| Item { time: n, id: RecordId([0; 32]) }).collect();
        let mut initiator = kvitt_protocol::reconcile::Initiator::with_hello(&items, kept.clone()).unwrap();
        initiator.start().unwrap()
    }

    #[test]
    fn merging_keeps_order_and_drops_repeats() {
        let sorted = vec![item(1, 1), item(2, 2), item(4, 4)];
        let recent = BTreeSet::from([item(5, 5), item(2, 2), item(0, 0), item(3, 3)]);
        assert_eq!(
            merged(&sorted, &recent),
            vec![item(0, 0), item(1, 1), item(2, 2), item(3, 3), item(4, 4), item(5, 5)]
        );
    }

    #[test]
    fn a_key_that_is_not_a_channel_key_is_not_an_item() {
        assert!(parse_channel_key(b"rec/abc").is_none());
        assert!(parse_channel_key(&keys::channel(&PublicKey([1; 32]), 7, &RecordId([2; 32]))).is_some());
        let mut short = keys::channel(&PublicKey([1; 32]), 7, &RecordId([2; 32]));
        short.pop();
        assert!(parse_channel_key(&short).is_none());
    }

    #[test]
    fn a_ledger_with_a_malformed_channel_key_is_not_loaded_but_named() {
        let dir = tempfile::tempdir().unwrap();
        let sled = crate::store::SledStore::open(&dir.path().join("ledger"), 8 << 20).unwrap();
        let memory = MemoryStore::new();
        let stores: [&dyn Store; 2] = [&sled, &memory];
        for store in stores {
            let mut batch = Batch::new();
            insert(&mut batch, &PublicKey([1; 32]), item(0, 1));
            let mut short = keys::channel(&PublicKey([2; 32]), 7, &RecordId([2; 32]));
            short.pop();
            batch.insert(short, Vec::new());
            insert(&mut batch, &PublicKey([3; 32]), item(0, 1));
            store.apply(&batch).unwrap();
            match ChannelIndex::load(store) {
                Err(LedgerError::Damaged { key, .. }) => assert!(key.starts_with("chan/0202"), "{key}"),
                other => panic!("{:?}", other.map(|index| index.len())),
            }
        }
    }
}
