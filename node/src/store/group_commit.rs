//! Group commit: many writers, one fsync.
//!
//! Writers `apply` their batch and get a ticket; a dedicated thread runs `Store::sync`
//! whenever tickets are waiting and then marks every ticket applied before that sync as
//! durable. While one sync runs, new batches queue up and share the next one, so the
//! rate of acknowledgements is not capped at the fsync rate (4.6k/s here) but at how many
//! records one fsync can carry. That needs `apply` to be quick and never to wait for a
//! sync in flight: the sled store therefore only stages a batch on `apply` and writes the
//! staged batches into sled on this thread, inside `sync` (super::staged); otherwise sled's
//! flush lock stalls the applying core for every flush and each fsync carries one batch.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::{Batch, Store, StoreError};
use crate::metrics::Metrics;

/// A position in the order of applied batches; durable once `durable()` says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// Counters for benchmarks and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Batches applied.
    pub batches: u64,
    /// fsyncs run.
    pub syncs: u64,
}

/// The group committer of one store.
pub struct GroupCommit {
    shared: Arc<Shared>,
    durable: watch::Receiver<Progress>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Progress {
    DurableUpTo(u64),
    Failed(String),
}

struct Shared {
    store: Arc<dyn Store>,
    state: Mutex<State>,
    work: Condvar,
    progress: watch::Sender<Progress>,
    /// Where each fsync's time and group size are counted, once the node has set it.
    metrics: OnceLock<Arc<Metrics>>,
}

#[derive(Default)]
struct State {
    applied: u64,
    durable: u64,
    stats: CommitStats,
    stopping: bool,
}

impl GroupCommit {
    /// Starts the sync thread for `store`.
    pub fn start(store: Arc<dyn Store>) -> std::io::Result<GroupCommit> {
        let (progress, durable) = watch::channel(Progress::DurableUpTo(0));
        let shared = Arc::new(Shared {
            store,
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            progress,
            metrics: OnceLock::new(),
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("kvitt-commit".into()).spawn(move || {
            // Should the thread panic, waiters must hear of it rather than wait forever.
            let _failed = FailOnPanic(&worker);
            worker.run();
        })?;
        Ok(GroupCommit { shared, durable, thread: Some(thread) })
    }

    /// Applies `batch` now (visible to reads at once) and returns its ticket.
    pub fn apply(&self, batch: &Batch) -> Result<Ticket, StoreError> {
        // Holding the lock across apply keeps ticket order equal to apply order.
        let mut state = self.shared.lock();
        if let Progress::Failed(_) = *self.durable.borrow() {
            return Err(StoreError::Closed);
        }
        self.shared.store.apply(batch)?;
        state.applied += 1;
        state.stats.batches += 1;
        let ticket = Ticket(state.applied);
        drop(state);
        self.shared.work.notify_one();
        Ok(ticket)
    }

    /// Runs `read` over the store while no batch can be applied, so that it sees one state
    /// of the ledger, between two batches (a backup's dump, crate::backup); with the ticket
    /// of the last batch it saw, durable once [`GroupCommit::durable`] says so. Every
    /// write of a running node waits meanwhile: keep `read` to reading.
    pub fn read_still<T>(&self, read: impl FnOnce(&dyn Store) -> T) -> (T, Ticket) {
        let state = self.shared.lock();
        (read(self.shared.store.as_ref()), Ticket(state.applied))
    }

    /// A ticket covering everything applied so far (for "durable up to now").
    pub fn current(&self) -> Ticket {
        Ticket(self.shared.lock().applied)
    }

    /// Waits until the batch of `ticket` is on stable storage.
    pub async fn durable(&self, ticket: Ticket) -> Result<(), StoreError> {
        let mut receiver = self.durable.clone();
        let progress = receiver
            .wait_for(|progress| match progress {
                Progress::DurableUpTo(done) => *done >= ticket.0,
                Progress::Failed(_) => true,
            })
            .await
            .map_err(|_| StoreError::Closed)?
            .clone();
        match progress {
            Progress::DurableUpTo(_) => Ok(()),
            Progress::Failed(_) => Err(StoreError::Closed),
        }
    }

    /// Why syncing stopped, if it failed; the node must stop acknowledging then.
    pub fn failure(&self) -> Option<String> {
        match &*self.durable.borrow() {
            Progress::Failed(why) => Some(why.clone()),
            Progress::DurableUpTo(_) => None,
        }
    }

    /// Waits until syncing fails; why. Never returns while syncs succeed.
    pub async fn failed(&self) -> String {
        let mut receiver = self.durable.clone();
        let failed = match receiver.wait_for(|progress| matches!(progress, Progress::Failed(_))).await {
            Ok(progress) => progress.clone(),
            // The sender lives as long as this committer: it cannot be dropped while this waits.
            Err(_) => Progress::DurableUpTo(0),
        };
        match failed {
            Progress::Failed(why) => why,
            Progress::DurableUpTo(_) => std::future::pending().await,
        }
    }

    /// Counts every later fsync's time and group size in `metrics` (the first call wins).
    pub fn count_into(&self, metrics: Arc<Metrics>) {
        let _ = self.shared.metrics.set(metrics);
    }

    /// Batches applied and fsyncs run so far.
    pub fn stats(&self) -> CommitStats {
        self.shared.lock().stats
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            // The thread finishes its last sync first, so nothing applied is left unsynced.
            let _ = thread.join();
        }
    }
}

/// Marks syncing failed if the commit thread unwinds from a panic.
struct FailOnPanic<'a>(&'a Shared);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.progress.send_replace(Progress::Failed("the ledger's commit thread panicked".into()));
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self) {
        loop {
            let (target, group) = {
                let mut state = self.lock();
                while state.applied == state.durable && !state.stopping {
                    state = self.work.wait(state).unwrap_or_else(PoisonError::into_inner);
                }
                if state.applied == state.durable {
                    return;
                }
                (state.applied, state.applied - state.durable)
            };
            let started = std::time::Instant::now();
            let synced = self.store.sync();
            if let Some(metrics) = self.metrics.get() {
                metrics.fsync_took(started.elapsed(), group);
            }
            if let Err(error) = synced {
                // Never retried. After a failed fsync the kernel may already have dropped
                // the dirty pages it could not write and marked them clean, so a second
                // fsync can succeed without the data being on disk ("fsyncgate", 2018):
                // PostgreSQL since 12 therefore panics on a failed fsync
                // (data_sync_retry = off) and recovers from its log on restart. Likewise
                // this node acknowledges nothing more and stops (crate::fatal); on restart
                // sled recovers from what is really on disk, and peers send again what
                // was not acknowledged.
                tracing::error!(%error, "fsync of the ledger failed: nothing more is acknowledged, the node stops");
                self.progress.send_replace(Progress::Failed(format!("fsync of the ledger failed: {error}")));
                return;
            }
            let mut state = self.lock();
            state.durable = target;
            state.stats.syncs += 1;
            self.progress.send_replace(Progress::DurableUpTo(target));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn a_ticket_is_durable_only_after_a_sync_and_survives_a_crash() {
        let store = Arc::new(MemoryStore::new());
        let commit = GroupCommit::start(store.clone()).unwrap();
        let mut batch = Batch::new();
        batch.insert(b"k".to_vec(), b"v".to_vec());
        let ticket = commit.apply(&batch).unwrap();
        commit.durable(ticket).await.unwrap();
        store.crash();
        assert_eq!(store.get(b"k").unwrap(), Some(b"v".to_vec()));
    }

    #[test]
    fn a_still_read_holds_back_every_apply_until_it_ends() {
        let store = Arc::new(MemoryStore::new());
        let commit = Arc::new(GroupCommit::start(store.clone()).unwrap());
        let (started, writer) = {
            let commit = Arc::clone(&commit);
            let (started, wait) = std::sync::mpsc::channel();
            let writer = std::thread::spawn(move || {
                wait.recv().unwrap();
                let mut batch = Batch::new();
                batch.insert(b"during".to_vec(), b"v".to_vec());
                commit.apply(&batch).unwrap();
            });
            (started, writer)
        };
        let (seen, _) = commit.read_still(|store| {
            started.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
            store.get(b"during").unwrap()
        });
        assert_eq!(seen, None, "the apply waited for the read");
        writer.join().unwrap();
        assert_eq!(store.get(b"during").unwrap(), Some(b"v".to_vec()));
    }

    #[tokio::test]
    async fn every_acknowledged_batch_of_many_writers_is_durable() {
        let store = Arc::new(MemoryStore::new());
        let commit = Arc::new(GroupCommit::start(store.clone()).unwrap());
        let metrics = Arc::new(Metrics::new());
        commit.count_into(Arc::clone(&metrics));
        let mut writers = Vec::new();
        for writer in 0..8u32 {
            let commit = Arc::clone(&commit);
            writers.push(tokio::spawn(async move {
                for index in 0..200u32 {
                    let mut batch = Batch::new();
                    batch.insert([writer.to_be_bytes(), index.to_be_bytes()].concat(), b"v".to_vec());
                    let ticket = commit.apply(&batch).unwrap();
                    commit.durable(ticket).await.unwrap();
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        let stats = commit.stats();
        assert_eq!(stats.batches, 1600);
        assert!(stats.syncs >= 1);
        let text = metrics.encode(std::time::Instant::now());
        assert!(text.contains(&format!("kvitt_fsync_seconds_count {}", stats.syncs)), "{text}");
        assert!(text.contains("kvitt_commit_group_batches_sum 1600.0"), "{text}");
        store.crash();
        assert_eq!(store.scan(b"", None, 10_000).unwrap().len(), 1600);
    }
}
