//! The outbox index of a ledger written before there was one.
//!
//! Since the index (`keys::queued`), a record is queued at most once per peer. A ledger
//! from before it may hold many entries of one record for one peer: every reconciliation,
//! restart and "peer is back" queued the whole undelivered backlog again (2.1 M entries
//! for 236 k receipts after a kill loop). On start, before the core runs, the node walks
//! each peer's outbox once in sequence order, keeps the oldest entry of each record,
//! indexes it, and removes the others; then it notes that the outbox is indexed, and
//! never walks it again.

use std::collections::BTreeSet;

use super::{keys, Ledger, LedgerError, MAX_SCAN_ENTRIES};
use crate::store::Batch;

/// The metadata key noting that every outbox entry is indexed (value `1`).
pub const OUTBOX_INDEXED: &str = "outbox-indexed";

/// What indexing an outbox found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxIndexReport {
    /// Whether the outbox was walked (false: it was indexed already).
    pub walked: bool,
    /// Entries kept (one per record and peer).
    pub kept: u64,
    /// Entries removed because an older entry queues the same record for the same peer.
    pub removed: u64,
}

impl Ledger {
    /// Indexes the outbox of a ledger written before the outbox index, removing the
    /// repeated entries, in batches of one page each, then syncs. Safe to stop anywhere
    /// and run again: an entry already indexed is kept.
    pub fn index_outbox(&self) -> Result<OutboxIndexReport, LedgerError> {
        let mut report = OutboxIndexReport::default();
        if self.meta(OUTBOX_INDEXED)?.is_some() {
            return Ok(report);
        }
        report.walked = true;
        for peer in self.outbox_peers()? {
            let mut after = None;
            loop {
                let page = self.outbox_after(&peer, after, MAX_SCAN_ENTRIES)?;
                let Some((last, _)) = page.last() else {
                    break;
                };
                after = Some(*last);
                let mut batch = Batch::new();
                let mut in_page = BTreeSet::new();
                for (sequence, record) in page {
                    let index = keys::queued(&peer, &record);
                    let queued_earlier = match self.store.get(&index)? {
                        Some(value) if value.as_slice() != sequence.to_be_bytes() => {
                            let earlier = <[u8; 8]>::try_from(value.as_slice()).map(u64::from_be_bytes);
                            match earlier {
                                Ok(earlier) => self.store.get(&keys::outbox(&peer, earlier))?.is_some(),
                                Err(_) => false,
                            }
                        }
                        _ => false,
                    };
                    if queued_earlier || !in_page.insert(record) {
                        batch.remove(keys::outbox(&peer, sequence));
                        report.removed = report.removed.saturating_add(1);
                    } else {
                        batch.insert(index, sequence.to_be_bytes().to_vec());
                        report.kept = report.kept.saturating_add(1);
                    }
                }
                self.store.apply(&batch)?;
            }
        }
        let mut done = Batch::new();
        done.insert(keys::meta(OUTBOX_INDEXED), vec![1]);
        self.store.apply(&done)?;
        self.store.sync()?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kvitt_protocol::{PublicKey, RecordId};

    use super::*;
    use crate::store::{MemoryStore, Store};

    #[test]
    fn an_outbox_from_before_the_index_keeps_one_entry_per_record_and_peer_in_order() {
        let store = Arc::new(MemoryStore::new());
        let (agency, ssc) = (PublicKey([1; 32]), PublicKey([2; 32]));
        let records: Vec<RecordId> = (0..3u8).map(|n| RecordId::of(&[n])).collect();
        // Queued four times over for the agency, as five reconciliations did; once for the
        // SSC. More entries than one page, so the walk crosses pages.
        let mut batch = Batch::new();
        let mut sequence = 0u64;
        for _ in 0..(MAX_SCAN_ENTRIES / 3 + 2) {
            for record in &records {
                batch.insert(keys::outbox(&agency, sequence), record.as_bytes().to_vec());
                sequence += 1;
            }
        }
        batch.insert(keys::outbox(&ssc, sequence), records[1].as_bytes().to_vec());
        store.apply(&batch).unwrap();
        let ledger = Ledger::new(store.clone());
        let report = ledger.index_outbox().unwrap();
        assert_eq!(report.kept, 4);
        assert_eq!(report.removed, sequence - 3);
        assert_eq!(
            ledger.outbox(&agency, 100).unwrap(),
            vec![(0, records[0]), (1, records[1]), (2, records[2])]
        );
        assert_eq!(ledger.outbox(&ssc, 100).unwrap(), vec![(sequence, records[1])]);
        assert_eq!(
            store.get(&keys::queued(&agency, &records[2])).unwrap(),
            Some(2u64.to_be_bytes().to_vec())
        );
        // Done once: a second start does not walk it again.
        assert!(!ledger.index_outbox().unwrap().walked);
    }

    #[test]
    fn an_indexing_stopped_half_way_is_finished_by_the_next_start() {
        let store = Arc::new(MemoryStore::new());
        let peer = PublicKey([1; 32]);
        let record = RecordId::of(b"r");
        let mut batch = Batch::new();
        for sequence in 0..3u64 {
            batch.insert(keys::outbox(&peer, sequence), record.as_bytes().to_vec());
        }
        // The first page was indexed (entry 0 kept, 1 removed) before a crash; 2 was not.
        batch.remove(keys::outbox(&peer, 1));
        batch.insert(keys::queued(&peer, &record), 0u64.to_be_bytes().to_vec());
        store.apply(&batch).unwrap();
        let ledger = Ledger::new(store);
        let report = ledger.index_outbox().unwrap();
        assert_eq!((report.kept, report.removed), (1, 1));
        assert_eq!(ledger.outbox(&peer, 10).unwrap(), vec![(0, record)]);
    }
}
