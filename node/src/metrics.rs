//! The node's Prometheus metrics, kept at the I/O layer.
//!
//! The core is sans-I/O and holds no registry: the driver (crate::runtime) counts what its
//! effects and inputs show (answers, deliveries, refusals, ledger batches), the group
//! commit times its writes and fsyncs, the client API counts its requests, and a scrape samples what
//! is cheaper to read than to count (open exceptions, the outbox). They are served in the
//! OpenMetrics text format on their own listener (`metrics_addr` of config.toml, `kvitt
//! run --metrics`), never on the client API, so a scraper needs no token.
//!
//! | series | kind | labels | what |
//! |---|---|---|---|
//! | `kvitt_receipts_pushed_total` | counter | `duplicate` | receipts a till pushed, signed and made durable |
//! | `kvitt_records_received_total` | counter | | records peers delivered to this node (before judging them) |
//! | `kvitt_records_delivered_total` | counter | `outcome` (stored, duplicate) | records a peer acknowledged |
//! | `kvitt_refusals_total` | counter | `to` (client, peer), `code` | refusals this node answered, by code |
//! | `kvitt_delivery_seconds` | histogram | | one delivery request, sent to answered |
//! | `kvitt_outbox_depth` | gauge | `peer` | entries queued for a peer |
//! | `kvitt_outbox_oldest_seconds` | gauge | `peer` | age of a peer's oldest entry (since it was queued, or since the start for entries the node found at start) |
//! | `kvitt_ledger_write_seconds` | histogram | | one write of a commit group to the ledger's file, before its fsync (sled's batch write and flush) |
//! | `kvitt_fsync_seconds` | histogram | | one fsync of the ledger |
//! | `kvitt_commit_group_batches` | histogram | | ledger batches one fsync made durable |
//! | `kvitt_reconcile_sessions_total` | counter | `side`, `result` (ok, failed) | reconciliation sessions ended |
//! | `kvitt_reconcile_bytes_total` | counter | `direction` (sent, received) | bytes of reconciliation frames |
//! | `kvitt_api_requests_total` | counter | `method`, `route`, `status` | client API requests, by route template |
//! | `kvitt_open_exceptions` | gauge | | exceptions open (duplicates, equivocation…), sampled at each scrape |

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use kvitt_protocol::PublicKey;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::Batch;

/// The content type of [`Metrics::encode`]'s text.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Most outbox entries per peer whose queueing time is kept; a deeper outbox counts on
/// ([`OutboxAges`]) but its later entries' times are not kept, so the memory stays bounded.
pub const MAX_TRACKED_OUTBOX_ENTRIES: usize = 100_000;

type Labels = Vec<(&'static str, String)>;
type Counters = Family<Labels, Counter>;
type Gauges = Family<Labels, Gauge>;

/// Every series of one node, and their registry.
pub struct Metrics {
    registry: Registry,
    receipts_pushed: Counters,
    records_received: Counter,
    records_delivered: Counters,
    refusals: Counters,
    delivery_seconds: Histogram,
    outbox_depth: Gauges,
    outbox_oldest_seconds: Gauges,
    ledger_write_seconds: Histogram,
    fsync_seconds: Histogram,
    commit_group_batches: Histogram,
    reconcile_sessions: Counters,
    reconcile_bytes: Counters,
    api_requests: Counters,
    open_exceptions: Gauge,
    outbox: Mutex<OutboxAges>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every series at zero, registered under the `kvitt_` prefix.
    pub fn new() -> Metrics {
        let seconds = || Histogram::new(exponential_buckets(0.000_25, 2.0, 16));
        let mut metrics = Metrics {
            registry: Registry::with_prefix("kvitt"),
            receipts_pushed: Counters::default(),
            records_received: Counter::default(),
            records_delivered: Counters::default(),
            refusals: Counters::default(),
            delivery_seconds: seconds(),
            outbox_depth: Gauges::default(),
            outbox_oldest_seconds: Gauges::default(),
            ledger_write_seconds: seconds(),
            fsync_seconds: seconds(),
            commit_group_batches: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            reconcile_sessions: Counters::default(),
            reconcile_bytes: Counters::default(),
            api_requests: Counters::default(),
            open_exceptions: Gauge::default(),
            outbox: Mutex::new(OutboxAges::default()),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "receipts_pushed",
            "Receipts pushed by tills, signed and durable",
            metrics.receipts_pushed.clone(),
        );
        registry.register("records_received", "Records delivered by peers", metrics.records_received.clone());
        registry.register(
            "records_delivered",
            "Records peers acknowledged",
            metrics.records_delivered.clone(),
        );
        registry.register("refusals", "Refusals answered, by code", metrics.refusals.clone());
        registry.register(
            "delivery_seconds",
            "One delivery request, sent to answered",
            metrics.delivery_seconds.clone(),
        );
        registry.register("outbox_depth", "Outbox entries queued per peer", metrics.outbox_depth.clone());
        registry.register(
            "outbox_oldest_seconds",
            "Age of each peer's oldest outbox entry",
            metrics.outbox_oldest_seconds.clone(),
        );
        registry.register(
            "ledger_write_seconds",
            "One write of a commit group to the ledger's file, before its fsync",
            metrics.ledger_write_seconds.clone(),
        );
        registry.register("fsync_seconds", "One fsync of the ledger", metrics.fsync_seconds.clone());
        registry.register(
            "commit_group_batches",
            "Ledger batches made durable by one fsync",
            metrics.commit_group_batches.clone(),
        );
        registry.register(
            "reconcile_sessions",
            "Reconciliation sessions ended",
            metrics.reconcile_sessions.clone(),
        );
        registry.register(
            "reconcile_bytes",
            "Bytes of reconciliation frames",
            metrics.reconcile_bytes.clone(),
        );
        registry.register(
            "api_requests",
            "Client API requests, by route template and status",
            metrics.api_requests.clone(),
        );
        registry.register(
            "open_exceptions",
            "Exceptions open, sampled at each scrape",
            metrics.open_exceptions.clone(),
        );
        metrics
    }

    /// A receipt a till pushed was answered as stored (`duplicate`: it was already).
    pub fn receipt_pushed(&self, duplicate: bool) {
        self.receipts_pushed.get_or_create(&vec![("duplicate", duplicate.to_string())]).inc();
    }

    /// A peer delivered `count` records.
    pub fn records_received(&self, count: usize) {
        self.records_received.inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// A peer acknowledged a delivered record (`outcome`: stored or duplicate).
    pub fn record_delivered(&self, outcome: &'static str) {
        self.records_delivered.get_or_create(&vec![("outcome", outcome.to_owned())]).inc();
    }

    /// This node refused a request or record of a client or peer (`to`) with `code`.
    pub fn refused(&self, to: &'static str, code: &str) {
        self.refusals.get_or_create(&vec![("to", to.to_owned()), ("code", code.to_owned())]).inc();
    }

    /// A delivery request took `elapsed`, sent to answered (or failed).
    pub fn delivery_took(&self, elapsed: Duration) {
        self.delivery_seconds.observe(elapsed.as_secs_f64());
    }

    /// One write of a commit group to the ledger's file took `elapsed` (its fsync follows).
    pub fn ledger_write_took(&self, elapsed: Duration) {
        self.ledger_write_seconds.observe(elapsed.as_secs_f64());
    }

    /// One fsync took `elapsed` and made `batches` ledger batches durable.
    pub fn fsync_took(&self, elapsed: Duration, batches: u64) {
        self.fsync_seconds.observe(elapsed.as_secs_f64());
        // Group sizes are whole numbers, exact as f64 far beyond any real group.
        self.commit_group_batches.observe(batches as f64);
    }

    /// A reconciliation session ended; its frames' bytes each way, if it got that far.
    pub fn reconcile_ended(&self, side: &'static str, bytes: Option<(usize, usize)>) {
        let result = if bytes.is_some() { "ok" } else { "failed" };
        self.reconcile_sessions
            .get_or_create(&vec![("side", side.to_owned()), ("result", result.to_owned())])
            .inc();
        if let Some((sent, received)) = bytes {
            for (direction, count) in [("sent", sent), ("received", received)] {
                self.reconcile_bytes
                    .get_or_create(&vec![("direction", direction.to_owned())])
                    .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
            }
        }
    }

    /// The client API answered `method` on the route template `route` with `status`.
    pub fn api_request(&self, method: &str, route: &str, status: u16) {
        self.api_requests
            .get_or_create(&vec![
                ("method", method.to_owned()),
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    /// The number of open exceptions, as sampled now.
    pub fn set_open_exceptions(&self, open: usize) {
        self.open_exceptions.set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// The outbox entries a ledger batch queues or removes.
    pub fn note_batch(&self, batch: &Batch, now: Instant) {
        self.outbox().note(batch, now);
    }

    /// Outbox entries found in the ledger at start (their age counts from `now`).
    pub fn outbox_found(&self, peer: PublicKey, sequences: impl IntoIterator<Item = u64>, now: Instant) {
        self.outbox().found(peer, sequences, now);
    }

    /// The registry's text (OpenMetrics), with the outbox gauges taken at `now`.
    pub fn encode(&self, now: Instant) -> String {
        self.outbox().publish(&self.outbox_depth, &self.outbox_oldest_seconds, now);
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn outbox(&self) -> MutexGuard<'_, OutboxAges> {
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// When each outbox entry was queued, per peer, learnt from the ledger batches the
/// driver applies (`out/<peer><sequence>` keys inserted and removed).
#[derive(Debug, Default)]
struct OutboxAges {
    peers: BTreeMap<PublicKey, PeerOutbox>,
    /// Every peer that had entries since the start, so an emptied outbox reads 0 (a
    /// directory's members at most).
    known: BTreeSet<PublicKey>,
}

#[derive(Debug, Default)]
struct PeerOutbox {
    /// Entries whose time is kept, by sequence.
    queued: BTreeMap<u64, Instant>,
    /// Entries beyond [`MAX_TRACKED_OUTBOX_ENTRIES`], counted only.
    untracked: usize,
}

/// The prefix of outbox keys (crate::ledger::keys::outbox).
const OUTBOX_PREFIX: &[u8] = b"out/";

/// The peer and sequence of an outbox key.
fn outbox_entry(key: &[u8]) -> Option<(PublicKey, u64)> {
    let rest = key.strip_prefix(OUTBOX_PREFIX)?;
    let peer = <[u8; 32]>::try_from(rest.get(..32)?).ok()?;
    let sequence = <[u8; 8]>::try_from(rest.get(32..)?).ok()?;
    Some((PublicKey(peer), u64::from_be_bytes(sequence)))
}

impl OutboxAges {
    fn note(&mut self, batch: &Batch, now: Instant) {
        for (key, value) in batch.operations() {
            let Some((peer, sequence)) = outbox_entry(key) else { continue };
            match value {
                Some(_) => self.found(peer, [sequence], now),
                None => {
                    if let Some(outbox) = self.peers.get_mut(&peer) {
                        if outbox.queued.remove(&sequence).is_none() {
                            outbox.untracked = outbox.untracked.saturating_sub(1);
                        }
                        if outbox.queued.is_empty() && outbox.untracked == 0 {
                            self.peers.remove(&peer);
                        }
                    }
                }
            }
        }
    }

    fn found(&mut self, peer: PublicKey, sequences: impl IntoIterator<Item = u64>, now: Instant) {
        self.known.insert(peer);
        let outbox = self.peers.entry(peer).or_default();
        for sequence in sequences {
            if outbox.queued.contains_key(&sequence) {
                continue;
            }
            if outbox.queued.len() < MAX_TRACKED_OUTBOX_ENTRIES {
                outbox.queued.insert(sequence, now);
            } else {
                outbox.untracked = outbox.untracked.saturating_add(1);
            }
        }
    }

    fn publish(&mut self, depth: &Gauges, oldest: &Gauges, now: Instant) {
        for peer in &self.known {
            let labels = vec![("peer", peer.short())];
            let (count, age) = self.peers.get(peer).map_or((0, Duration::ZERO), |outbox| {
                let first = outbox.queued.values().min().copied().unwrap_or(now);
                (outbox.queued.len().saturating_add(outbox.untracked), now.saturating_duration_since(first))
            });
            depth.get_or_create(&labels).set(i64::try_from(count).unwrap_or(i64::MAX));
            oldest.get_or_create(&labels).set(i64::try_from(age.as_secs()).unwrap_or(i64::MAX));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox_key(peer: &PublicKey, sequence: u64) -> Vec<u8> {
        crate::ledger::keys::outbox(peer, sequence)
    }

    #[test]
    fn the_outbox_gauges_follow_the_batches_and_an_emptied_outbox_reads_zero() {
        let metrics = Metrics::new();
        let peer = PublicKey([7; 32]);
        let start = Instant::now();
        let mut queue = Batch::new();
        queue.insert(outbox_key(&peer, 1), vec![0; 32]);
        queue.insert(outbox_key(&peer, 2), vec![0; 32]);
        queue.insert(b"rec/other".to_vec(), vec![1]);
        metrics.note_batch(&queue, start);
        let text = metrics.encode(start + Duration::from_secs(30));
        let short = peer.short();
        assert!(text.contains(&format!("kvitt_outbox_depth{{peer=\"{short}\"}} 2")), "{text}");
        assert!(text.contains(&format!("kvitt_outbox_oldest_seconds{{peer=\"{short}\"}} 30")), "{text}");
        let mut acknowledged = Batch::new();
        acknowledged.remove(outbox_key(&peer, 1));
        acknowledged.remove(outbox_key(&peer, 2));
        metrics.note_batch(&acknowledged, start);
        let text = metrics.encode(start + Duration::from_secs(31));
        assert!(text.contains(&format!("kvitt_outbox_depth{{peer=\"{short}\"}} 0")), "{text}");
        let queued_and_acknowledged = Metrics::new();
        queued_and_acknowledged.note_batch(&queue, start);
        queued_and_acknowledged.note_batch(&acknowledged, start);
        let text = queued_and_acknowledged.encode(start);
        assert!(text.contains(&format!("kvitt_outbox_depth{{peer=\"{short}\"}} 0")), "{text}");
        assert!(text.contains(&format!("kvitt_outbox_oldest_seconds{{peer=\"{short}\"}} 0")), "{text}");
    }

    #[test]
    fn an_outbox_deeper_than_the_tracked_limit_is_counted_whole() {
        let mut ages = OutboxAges::default();
        let peer = PublicKey([1; 32]);
        let now = Instant::now();
        let over = MAX_TRACKED_OUTBOX_ENTRIES as u64 + 5;
        ages.found(peer, 0..over, now);
        let outbox = &ages.peers[&peer];
        assert_eq!(outbox.queued.len(), MAX_TRACKED_OUTBOX_ENTRIES);
        assert_eq!(outbox.untracked, 5);
        let mut batch = Batch::new();
        batch.remove(outbox_key(&peer, over - 1));
        ages.note(&batch, now);
        assert_eq!(ages.peers[&peer].untracked, 4);
    }

    /// The metric families a registry's text declares (`# TYPE kvitt_x counter`).
    fn families(text: &str) -> BTreeSet<String> {
        text.lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|line| line.split(' ').next())
            .map(str::to_owned)
            .collect()
    }

    /// The `kvitt_…` names `text` mentions, without the suffixes of a family's samples.
    fn mentioned(text: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for (start, _) in text.match_indices("kvitt_") {
            let name: String =
                text[start..].chars().take_while(|char| char.is_ascii_lowercase() || *char == '_').collect();
            let family = ["_bucket", "_sum", "_count", "_total"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            names.insert(family.to_owned());
        }
        names
    }

    #[test]
    fn the_dashboard_and_the_operations_guide_show_every_family_and_no_other() {
        // A family with labels shows only once a series of it exists: touch each.
        let metrics = Metrics::new();
        metrics.receipt_pushed(false);
        metrics.records_received(1);
        metrics.record_delivered("stored");
        metrics.refused("peer", "receipt.sum");
        metrics.delivery_took(Duration::from_millis(1));
        metrics.fsync_took(Duration::from_millis(1), 1);
        metrics.ledger_write_took(Duration::from_millis(1));
        metrics.reconcile_ended("responder", Some((1, 1)));
        metrics.api_request("GET", "/healthz", 200);
        metrics.outbox_found(PublicKey([2; 32]), [1], Instant::now());
        let families = families(&metrics.encode(Instant::now()));
        assert_eq!(families.len(), 14, "{families:?}");
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../deploy/grafana-dashboard.json")).unwrap();
        let queries: String = dashboard["panels"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|panel| panel["targets"].as_array().unwrap())
            .map(|target| target["expr"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(mentioned(&queries), families, "deploy/grafana-dashboard.json");
        let guide = include_str!("../../docs/operations.md");
        let table = guide.split("### Metrics").nth(1).unwrap().split("### What to watch").next().unwrap();
        assert_eq!(mentioned(table), families, "docs/operations.md §Metrics");
    }

    #[test]
    fn counters_carry_their_labels_in_the_text() {
        let metrics = Metrics::new();
        metrics.receipt_pushed(false);
        metrics.refused("client", "receipt.sum");
        metrics.api_request("POST", "/v1/receipts", 201);
        metrics.fsync_took(Duration::from_millis(2), 3);
        metrics.reconcile_ended("initiator", Some((100, 50)));
        let text = metrics.encode(Instant::now());
        for series in [
            "kvitt_receipts_pushed_total{duplicate=\"false\"} 1",
            "kvitt_refusals_total{to=\"client\",code=\"receipt.sum\"} 1",
            "kvitt_api_requests_total{method=\"POST\",route=\"/v1/receipts\",status=\"201\"} 1",
            "kvitt_fsync_seconds_count 1",
            "kvitt_commit_group_batches_sum 3.0",
            "kvitt_reconcile_sessions_total{side=\"initiator\",result=\"ok\"} 1",
            "kvitt_reconcile_bytes_total{direction=\"sent\"} 100",
            "kvitt_open_exceptions 0",
        ] {
            assert!(text.contains(series), "{series} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
