//! Delivery: per-peer outboxes in the ledger, sent in batches, retried with exponential
//! backoff and jitter until the peer acknowledges (or refuses for good).
//!
//! The outbox entries are durable, so delivery resumes after a restart; only the backoff
//! timers live in memory and start afresh. One request per peer is in flight at a time,
//! which keeps a peer's records in the order they were written (a claim's receipts before
//! the claim, the claim before its events).

use std::collections::{BTreeMap, BTreeSet};

use kvitt_protocol::directory::Directory;
use kvitt_protocol::limits::{MAX_DELIVERY_RECORD_BYTES, MAX_RECORDS_PER_DELIVERY};
use kvitt_protocol::wire::{RecordBytes, RefusalCode, RequestBody, Response, ResponseBody, Verdict};
use kvitt_protocol::{PublicKey, RecordId, Signed};

use super::ExceptionNote;
use super::{Effect, ExchangeId, Step};
use crate::ledger::{keys, Ledger, LedgerError};
use crate::store::Batch;

/// How deliveries back off: `initial_ms × 2^(attempt−1)`, capped at `max_ms`, then
/// scaled by a random factor in [0.5, 1.0] so that peers do not retry in lockstep.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Wait after the first failure, in milliseconds.
    pub initial_ms: i64,
    /// Longest wait, in milliseconds.
    pub max_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy { initial_ms: 250, max_ms: 60_000 }
    }
}

/// The metadata key of the next outbox sequence number.
const SEQUENCE_META: &str = "outbox-sequence";

pub(super) struct Outbox {
    policy: RetryPolicy,
    rng: u64,
    peers: BTreeMap<PublicKey, PeerDelivery>,
}

#[derive(Default)]
struct PeerDelivery {
    /// The request in flight and the outbox entries it carries.
    in_flight: Option<(ExchangeId, Vec<(u64, RecordId)>)>,
    /// Failures since the last success.
    attempt: u32,
    /// Not before this time (ms).
    next_at_ms: i64,
    /// Whether the ledger may hold entries for this peer.
    pending: bool,
}

impl Outbox {
    /// The outbox state for the peers that have entries in the ledger.
    pub(super) fn load(ledger: &Ledger, policy: RetryPolicy, seed: u64) -> Result<Outbox, LedgerError> {
        let peers = ledger
            .outbox_peers()?
            .into_iter()
            .map(|peer| (peer, PeerDelivery { pending: true, ..PeerDelivery::default() }))
            .collect();
        Ok(Outbox { policy, rng: seed ^ 0x9e37_79b9_7f4a_7c15, peers })
    }

    /// Whether nothing is waiting to be delivered or acknowledged.
    #[cfg(test)]
    pub(super) fn is_idle(&self) -> bool {
        self.peers.is_empty()
    }

    /// Adds `record` to `peer`'s outbox in this step's batch, unless it is queued for
    /// `peer` already: one entry per record and peer, whatever queues it (a push, an
    /// approval, each reconciliation that finds the peer lacking it while its delivery is
    /// still waiting). The outbox index (`keys::queued`) says which records are queued.
    pub(super) fn enqueue(
        &mut self,
        step: &mut Step,
        peer: PublicKey,
        record: RecordId,
    ) -> Result<(), LedgerError> {
        self.peers.entry(peer).or_default().pending = true;
        let index = keys::queued(&peer, &record);
        if Self::indexed_entry_queues(step, &peer, &record, step.ledger.store().get(&index)?)? {
            return Ok(());
        }
        let sequence = step.ledger.counter(SEQUENCE_META)?;
        let next = step.ledger.next_counter(SEQUENCE_META)?;
        let mut batch = Batch::new();
        batch.insert(keys::outbox(&peer, sequence), record.as_bytes().to_vec());
        batch.insert(index, sequence.to_be_bytes().to_vec());
        batch.insert(keys::meta(SEQUENCE_META), next.to_be_bytes().to_vec());
        step.write(&batch)
    }

    /// Whether the entry the outbox index names (`indexed`, a sequence) still queues
    /// `record`: an index key whose entry is gone (a damaged or badly restored ledger) must
    /// not keep the record from being queued again.
    fn indexed_entry_queues(
        step: &Step,
        peer: &PublicKey,
        record: &RecordId,
        indexed: Option<Vec<u8>>,
    ) -> Result<bool, LedgerError> {
        let Some(sequence) = indexed.and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok()) else {
            return Ok(false);
        };
        Self::entry_queues(step, peer, u64::from_be_bytes(sequence), record)
    }

    /// Whether `peer`'s outbox entry `sequence` still queues `record`.
    fn entry_queues(
        step: &Step,
        peer: &PublicKey,
        sequence: u64,
        record: &RecordId,
    ) -> Result<bool, LedgerError> {
        let entry = step.ledger.store().get(&keys::outbox(peer, sequence))?;
        Ok(entry.is_some_and(|queued| queued.as_slice() == record.as_bytes()))
    }

    /// Removes an outbox entry and its index key in `batch`.
    fn dequeue(batch: &mut Batch, peer: &PublicKey, sequence: u64, record: &RecordId) {
        batch.remove(keys::outbox(peer, sequence));
        batch.remove(keys::queued(peer, record));
    }

    /// Sends what is due; asks to be woken for what is not.
    pub(super) fn poll(
        &mut self,
        step: &mut Step,
        directory: &Signed<Directory>,
        next_exchange: &mut ExchangeId,
    ) {
        let now = step.now_ms();
        let mut wake: Option<i64> = None;
        let mut drained = BTreeSet::new();
        for (peer, delivery) in &mut self.peers {
            if !delivery.pending || delivery.in_flight.is_some() {
                continue;
            }
            if delivery.next_at_ms > now {
                wake = Some(wake.map_or(delivery.next_at_ms, |at| at.min(delivery.next_at_ms)));
                continue;
            }
            let entries = match step.ledger.outbox(peer, MAX_RECORDS_PER_DELIVERY) {
                Ok(entries) => entries,
                Err(error) => {
                    tracing::error!(%error, "outbox unreadable");
                    continue;
                }
            };
            if entries.is_empty() {
                drained.insert(*peer);
                continue;
            }
            let (entries, records) = Self::fill_delivery(step, peer, entries);
            if entries.is_empty() {
                continue;
            }
            let exchange = *next_exchange;
            *next_exchange += 1;
            delivery.in_flight = Some((exchange, entries));
            let request = kvitt_protocol::wire::Request {
                directory_version: directory.body().version,
                body: RequestBody::Deliver { records },
            };
            step.send(*peer, exchange, request);
        }
        for peer in drained {
            self.peers.remove(&peer);
        }
        if let Some(at) = wake {
            step.effects.push(Effect::WakeAt(at));
        }
    }

    /// The records of `entries` that fit one delivery ([`MAX_DELIVERY_RECORD_BYTES`],
    /// at least one), with the entries they answer. An entry whose record the ledger lacks
    /// cannot ever be sent: it is removed and kept as an exception, so that it does not
    /// hold up the rest of the peer's outbox.
    fn fill_delivery(
        step: &mut Step,
        peer: &PublicKey,
        entries: Vec<(u64, RecordId)>,
    ) -> (Vec<(u64, RecordId)>, Vec<RecordBytes>) {
        let mut carried = Vec::with_capacity(entries.len());
        let mut records = Vec::with_capacity(entries.len());
        let mut bytes_total = 0usize;
        let mut lost = Batch::new();
        for (sequence, id) in entries {
            match step.ledger.store().get(&keys::record(&id)) {
                Ok(Some(bytes)) => {
                    if !records.is_empty() && bytes_total + bytes.len() > MAX_DELIVERY_RECORD_BYTES {
                        break;
                    }
                    bytes_total += bytes.len();
                    records.push(RecordBytes(bytes));
                    carried.push((sequence, id));
                }
                Ok(None) => {
                    tracing::error!(peer = %peer.short(), id = %id.short(), "outbox names a record the ledger lacks; dropped from the outbox");
                    Self::dequeue(&mut lost, peer, sequence, &id);
                    lost.insert(keys::exception(&id), ExceptionNote::LostFromOutbox.bare().into_bytes());
                }
                Err(error) => {
                    tracing::error!(%error, "outbox record unreadable; delivery waits");
                    break;
                }
            }
        }
        if !lost.is_empty() {
            if let Err(error) = step.write(&lost) {
                tracing::error!(%error, "could not drop lost outbox entries");
            }
        }
        (carried, records)
    }

    /// Settles the outbox entries a peer answered for.
    pub(super) fn answer(
        &mut self,
        step: &mut Step,
        peer: PublicKey,
        exchange: ExchangeId,
        answer: Result<Response, super::ExchangeError>,
    ) {
        let Some(delivery) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some((sent, entries)) = delivery.in_flight.take_if(|(sent, _)| *sent == exchange) else {
            return;
        };
        debug_assert_eq!(sent, exchange);
        let results = match answer {
            Ok(Response { body: ResponseBody::Delivered { results }, .. })
                if results.len() == entries.len() =>
            {
                results
            }
            Ok(response) => {
                tracing::warn!(peer = %peer.short(), ?response.body, "peer did not acknowledge the delivery");
                self.back_off(peer, step.now_ms());
                return;
            }
            Err(error) => {
                tracing::info!(peer = %peer.short(), %error, "delivery failed; will retry");
                self.back_off(peer, step.now_ms());
                return;
            }
        };
        let mut batch = Batch::new();
        let mut retry = false;
        for ((sequence, id), verdict) in entries.iter().zip(results) {
            // A sequence number taken by a step whose write was refused is taken again by
            // the next: settle only the entries that still queue what was delivered.
            match Self::entry_queues(step, &peer, *sequence, id) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    tracing::error!(%error, "outbox unreadable; the delivery is settled later");
                    retry = true;
                    continue;
                }
            }
            match verdict {
                Verdict::Stored { .. } | Verdict::Duplicate { .. } => {
                    Self::dequeue(&mut batch, &peer, *sequence, id)
                }
                Verdict::Refused { refusal } if refusal.retry => {
                    tracing::info!(peer = %peer.short(), id = %id.short(), %refusal, "peer asks to retry later");
                    retry = true;
                }
                Verdict::Refused { refusal } => {
                    let exception = refusal.code == RefusalCode::Equivocation;
                    tracing::warn!(peer = %peer.short(), id = %id.short(), %refusal, "peer refused a record for good");
                    Self::dequeue(&mut batch, &peer, *sequence, id);
                    batch.insert(
                        keys::exception(id),
                        ExceptionNote::RefusedByPeer.text(&refusal).into_bytes(),
                    );
                    if exception {
                        tracing::error!(id = %id.short(), "this node's own record conflicts with another it signed");
                    }
                }
            }
        }
        if let Err(error) = step.write(&batch) {
            tracing::error!(%error, "could not settle the outbox");
        }
        if retry {
            self.back_off(peer, step.now_ms());
        } else if let Some(delivery) = self.peers.get_mut(&peer) {
            delivery.attempt = 0;
            delivery.next_at_ms = 0;
        }
    }

    /// `peer` was just heard from (it sent a request, or a session with it finished): what
    /// waits for it goes at once instead of after its backoff.
    pub(super) fn peer_is_back(&mut self, peer: &PublicKey) {
        if let Some(delivery) = self.peers.get_mut(peer) {
            delivery.attempt = 0;
            delivery.next_at_ms = 0;
        }
    }

    /// After a step whose writes were refused (a full disk): what the step decided from
    /// writes it saw in its overlay did not happen. A peer it took for drained (its
    /// settlement was refused) still has entries in the ledger: every peer with entries is
    /// pending again, and every pending peer backs off as after a failed delivery. Returns
    /// when the earliest of them is due, for the driver's timer: no step asked for it.
    pub(super) fn write_refused(&mut self, ledger: &Ledger, now_ms: i64) -> Option<i64> {
        match ledger.outbox_peers() {
            Ok(peers) => {
                for peer in peers {
                    self.peers.entry(peer).or_default().pending = true;
                }
            }
            Err(error) => tracing::error!(%error, "outbox unreadable after a refused write"),
        }
        let peers: Vec<PublicKey> = self.peers.keys().copied().collect();
        for peer in peers {
            self.back_off(peer, now_ms);
        }
        self.peers.values().filter(|delivery| delivery.pending).map(|delivery| delivery.next_at_ms).min()
    }

    fn back_off(&mut self, peer: PublicKey, now_ms: i64) {
        let jitter = self.next_random();
        let policy = &self.policy;
        let Some(delivery) = self.peers.get_mut(&peer) else {
            return;
        };
        delivery.attempt = delivery.attempt.saturating_add(1);
        let exponent = delivery.attempt.saturating_sub(1).min(30);
        let base = policy.initial_ms.saturating_mul(1i64 << exponent).min(policy.max_ms);
        // Scale into [0.5, 1.0] of the base, from 16 bits of randomness.
        let scaled =
            base / 2 + (base / 2).saturating_mul(i64::from((jitter >> 48) as u16)) / i64::from(u16::MAX);
        delivery.next_at_ms = now_ms.saturating_add(scaled.max(1));
    }

    /// splitmix64: a small, seeded generator, so a simulation replays its jitter exactly.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Outbox {
    /// Deliveries to `peer` that failed since its last success (0: it answers).
    pub(super) fn failures(&self, peer: &PublicKey) -> u32 {
        self.peers.get(peer).map_or(0, |delivery| delivery.attempt)
    }
}
