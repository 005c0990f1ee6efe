//! The channel index in memory: for each peer, the (time, id) items of the channel this
//! node shares with it, what a reconciliation session with that peer compares.
//!
//! The ledger keeps the same index durably (`chan/` keys, written with each record). This
//! copy is loaded from it once when the node starts ([`ChannelIndex::load`]) and then kept
//! up to date from every committed batch ([`ChannelIndex::note`]), so that a session never
//! scans the ledger: it takes a [`ChannelSnapshot`] (two reference counts and a copy of the
//! few newest items) and sorts it into the session's list on its own thread.

use std::collections::BTreeMap;
use std::sync::Arc;

use kvitt_protocol::reconcile::Item;
use kvitt_protocol::{PublicKey, RecordId};

use crate::ledger::{keys, LedgerError, MAX_SCAN_ENTRIES};
use crate::store::{Batch, Store};

/// Items added since the last merge that make a channel merge them into its sorted list:
/// at least this many, and at least a sixteenth of the sorted list, so that merging costs
/// each insert a bounded, small amount of copying on average.
const MERGE_AT_LEAST: usize = 4096;

/// The channel of one peer: a sorted list shared with running sessions, and the items
/// added since, in arrival order.
#[derive(Default)]
struct Channel {
    sorted: Arc<Vec<Item>>,
    recent: Vec<Item>,
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
    recent: Vec<Item>,
}

impl ChannelSnapshot {
    /// The items in strictly ascending (time, id) order, without duplicates. Costs a copy
    /// of the channel only if items arrived since its last merge.
    pub fn into_items(self) -> Arc<Vec<Item>> {
        if self.recent.is_empty() {
            return self.sorted;
        }
        Arc::new(merged(&self.sorted, self.recent))
    }
}

/// `sorted` (ascending, no duplicates) merged with `recent` (any order, maybe duplicates).
fn merged(sorted: &[Item], mut recent: Vec<Item>) -> Vec<Item> {
    recent.sort_unstable();
    recent.dedup();
    let mut out = Vec::with_capacity(sorted.len() + recent.len());
    let (mut old, mut new) = (sorted.iter().peekable(), recent.into_iter().peekable());
    loop {
        let next = match (old.peek(), new.peek()) {
            (Some(a), Some(b)) if **a < *b => old.next().copied(),
            (Some(a), Some(b)) if **a == *b => {
                new.next();
                old.next().copied()
            }
            (Some(_), Some(_)) | (None, Some(_)) => new.next(),
            (Some(_), None) => old.next().copied(),
            (None, None) => return out,
        };
        out.extend(next);
    }
}

impl ChannelIndex {
    /// Reads every channel's items from the ledger's `chan/` keys, in pages.
    pub fn load(store: &dyn Store) -> Result<ChannelIndex, LedgerError> {
        let mut index = ChannelIndex::default();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = store.scan(keys::CHANNEL_PREFIX, after.as_deref(), MAX_SCAN_ENTRIES)?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            for (key, _) in &page {
                let (peer, item) = parse_channel_key(key).ok_or_else(|| LedgerError::Damaged {
                    key: format!("chan/{}", hex::encode(key.get(5..).unwrap_or_default())),
                    why: "not a peer key, a time and a record id".into(),
                })?;
                // Keys come in (peer, time, id) order: each channel's list is built sorted.
                Arc::make_mut(&mut index.channels.entry(peer).or_default().sorted).push(item);
            }
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
                let channel = self.channels.entry(peer).or_default();
                channel.recent.push(item);
                if channel.recent.len() >= MERGE_AT_LEAST.max(channel.sorted.len() / 16) {
                    let recent = std::mem::take(&mut channel.recent);
                    channel.sorted = Arc::new(merged(&channel.sorted, recent));
                }
            }
        }
    }

    /// The channel shared with `peer` as it is now (empty if none).
    pub fn snapshot(&self, peer: &PublicKey) -> ChannelSnapshot {
        match self.channels.get(peer) {
            Some(channel) => {
                ChannelSnapshot { sorted: Arc::clone(&channel.sorted), recent: channel.recent.clone() }
            }
            None => ChannelSnapshot { sorted: Arc::default(), recent: Vec::new() },
        }
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
        for index in [&kept, &loaded] {
            assert_eq!(*index.snapshot(&a).into_items(), expected_a);
            assert_eq!(*index.snapshot(&b).into_items(), vec![item(0, 9), item(1, 9), item(2, 9)]);
            assert!(index.snapshot(&PublicKey([3; 32])).into_items().is_empty());
        }
    }

    #[test]
    fn merging_keeps_order_and_drops_repeats() {
        let sorted = vec![item(1, 1), item(2, 2), item(4, 4)];
        let recent = vec![item(5, 5), item(2, 2), item(0, 0), item(3, 3), item(5, 5)];
        assert_eq!(
            merged(&sorted, recent),
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
}
