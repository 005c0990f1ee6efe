//! Group commit: many writers, one fsync.
//!
//! Writers `apply` their batch and get a ticket. Two dedicated threads make tickets
//! durable, in a pipeline of two stages: the write thread hands everything applied to the
//! file system (`Store::write_out`: the staged batches into sled and sled's flush), and
//! the commit thread fsyncs (`Store::sync_written`) and then marks every ticket written
//! before that fsync began as durable. While one fsync runs, the next group is written,
//! and new batches queue up behind it and share the fsync after; so an acknowledgement
//! waits about one write and one fsync, not a whole write-flush-fsync cycle in progress
//! and then its own, and the rate of acknowledgements is not capped at the fsync rate but
//! at how many records one fsync can carry. The write thread writes a group only once the
//! commit thread has taken the one before it: never two groups waiting for one fsync,
//! which would cost a flush each and buy nothing. `apply` must be quick and never wait for
//! a sync in flight: the sled store therefore only stages a batch on `apply` and writes
//! the staged batches into sled on the write thread (super::staged); otherwise sled's
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

/// What runs once a ticket is durable, with `Err` if syncing failed first: sends the
/// answers held for it ([`GroupCommit::when_durable`]).
pub type WhenDurable = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// The group committer of one store.
pub struct GroupCommit {
    shared: Arc<Shared>,
    durable: watch::Receiver<Progress>,
    /// The write thread, then the commit thread: joined in that order.
    threads: Vec<JoinHandle<()>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Progress {
    DurableUpTo(u64),
    Failed(String),
}

struct Shared {
    store: Arc<dyn Store>,
    state: Mutex<State>,
    /// Wakes the write thread: a batch applied, a group taken by the commit thread, a stop.
    work: Condvar,
    /// Wakes the commit thread: a group written, the write thread gone.
    written: Condvar,
    progress: watch::Sender<Progress>,
    /// Where each fsync's time and group size are counted, once the node has set it.
    metrics: OnceLock<Arc<Metrics>>,
}

#[derive(Default)]
struct State {
    /// Tickets handed out.
    applied: u64,
    /// Tickets the write thread has handed to the file system.
    written: u64,
    /// Tickets the commit thread has taken into an fsync (running or done).
    taken: u64,
    /// Tickets on stable storage.
    durable: u64,
    stats: CommitStats,
    /// Set by the drop: the threads finish what was applied, then return.
    stopping: bool,
    /// A write or an fsync failed (or a thread panicked): the threads return at once.
    failed: bool,
    /// The write thread has returned: nothing more will be written.
    writer_gone: bool,
    /// What runs once its ticket is durable, in the order registered.
    waiting: std::collections::VecDeque<(u64, WhenDurable)>,
}

impl GroupCommit {
    /// Starts the sync thread for `store`.
    pub fn start(store: Arc<dyn Store>) -> std::io::Result<GroupCommit> {
        let (progress, durable) = watch::channel(Progress::DurableUpTo(0));
        let shared = Arc::new(Shared {
            store,
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            written: Condvar::new(),
            progress,
            metrics: OnceLock::new(),
        });
        let mut threads = Vec::with_capacity(2);
        for (name, stage) in [("kvitt-write", Shared::write as fn(&Shared)), ("kvitt-commit", Shared::commit)]
        {
            let worker = Arc::clone(&shared);
            let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
                // Should a thread panic, waiters must hear of it rather than wait forever.
                let _failed = FailOnPanic(&worker);
                stage(&worker);
            });
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(error) => {
                    // The drop stops and joins the thread already started.
                    drop(GroupCommit { shared, durable, threads });
                    return Err(error);
                }
            }
        }
        Ok(GroupCommit { shared, durable, threads })
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

    /// Runs `then` once `ticket` is durable, on the commit thread as the fsync that made
    /// it so returns (at once, here, if it already is), or with the error once syncing
    /// failed: an answer held for its write is sent without a task waiting for each, nor a
    /// hop through one. Registered in ticket order (one driver does), each runs as soon as
    /// its ticket is durable; out of order, one may wait for a later ticket, never run early.
    /// `then` runs on the commit thread: keep it to sending.
    pub fn when_durable(&self, ticket: Ticket, then: WhenDurable) {
        let mut state = self.shared.lock();
        let now = if state.failed {
            Err(StoreError::Closed)
        } else if ticket.0 <= state.durable {
            Ok(())
        } else {
            state.waiting.push_back((ticket.0, then));
            return;
        };
        drop(state);
        then(now);
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
        // The write thread first writes everything applied, and the commit thread then
        // syncs everything written, so nothing applied is left unsynced.
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Marks syncing failed if a commit thread unwinds from a panic, and stops the other one.
struct FailOnPanic<'a>(&'a Shared);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail("a thread of the ledger's group commit panicked".into());
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Says syncing failed, for good, and stops both threads.
    fn fail(&self, why: String) {
        // Under the lock, as the commit thread's progress: a progress sent after this
        // would hide the failure.
        let mut state = self.lock();
        state.failed = true;
        self.progress.send_replace(Progress::Failed(why));
        let waiting = std::mem::take(&mut state.waiting);
        drop(state);
        self.work.notify_one();
        self.written.notify_one();
        for (_, then) in waiting {
            then(Err(StoreError::Closed));
        }
    }

    /// The write thread: hands each group applied to the file system, once the commit
    /// thread has taken the group before it, until stopped with nothing left to write.
    fn write(&self) {
        loop {
            let target = {
                let mut state = self.lock();
                loop {
                    let idle = state.applied == state.written || state.taken < state.written;
                    if state.failed || (state.stopping && state.applied == state.written) {
                        state.writer_gone = true;
                        drop(state);
                        self.written.notify_one();
                        return;
                    }
                    if !idle {
                        break state.applied;
                    }
                    state = self.work.wait(state).unwrap_or_else(PoisonError::into_inner);
                }
            };
            let started = std::time::Instant::now();
            let wrote = self.store.write_out();
            if let Some(metrics) = self.metrics.get() {
                metrics.ledger_write_took(started.elapsed());
            }
            if let Err(error) = wrote {
                // A write that failed is as a failed fsync (below): never retried.
                tracing::error!(%error, "writing the ledger failed: nothing more is acknowledged, the node stops");
                self.fail(format!("writing the ledger failed: {error}"));
                return;
            }
            self.lock().written = target;
            self.written.notify_one();
        }
    }

    /// The commit thread: fsyncs each group written and marks it durable, until the write
    /// thread is gone with nothing left to sync.
    fn commit(&self) {
        loop {
            let (target, group) = {
                let mut state = self.lock();
                while state.written == state.durable && !state.writer_gone && !state.failed {
                    state = self.written.wait(state).unwrap_or_else(PoisonError::into_inner);
                }
                if state.written == state.durable || state.failed {
                    return;
                }
                state.taken = state.written;
                (state.written, state.written - state.durable)
            };
            // The write thread may write the next group while this fsync runs.
            self.work.notify_one();
            let started = std::time::Instant::now();
            let synced = self.store.sync_written();
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
                self.fail(format!("fsync of the ledger failed: {error}"));
                return;
            }
            let mut state = self.lock();
            if state.failed {
                // The write thread failed meanwhile: the node stops, and the failure stands.
                return;
            }
            state.durable = target;
            state.stats.syncs += 1;
            self.progress.send_replace(Progress::DurableUpTo(target));
            let ready = state.waiting.iter().take_while(|(ticket, _)| *ticket <= target).count();
            let ready: Vec<_> = state.waiting.drain(..ready).collect();
            drop(state);
            for (_, then) in ready {
                then(Ok(()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::*;
    use crate::store::MemoryStore;

    /// A memory store whose two halves of a sync fail on demand, and whose fsync waits
    /// while the test holds `gate`.
    #[derive(Default)]
    struct Halves {
        inner: MemoryStore,
        fail_write: AtomicBool,
        fail_sync: AtomicBool,
        writes: AtomicU64,
        gate: Mutex<()>,
    }

    impl Store for Halves {
        crate::store::forward_reads!(inner);
        fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
            self.inner.apply(batch)
        }
        fn sync(&self) -> Result<(), StoreError> {
            self.write_out()?;
            self.sync_written()
        }
        fn write_out(&self) -> Result<(), StoreError> {
            if self.fail_write.load(Ordering::SeqCst) {
                return Err(StoreError::Io {
                    path: "ledger".into(),
                    error: std::io::Error::other("no space"),
                });
            }
            self.writes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn sync_written(&self) -> Result<(), StoreError> {
            drop(self.gate.lock().unwrap_or_else(PoisonError::into_inner));
            if self.fail_sync.load(Ordering::SeqCst) {
                return Err(StoreError::Io { path: "ledger".into(), error: std::io::Error::other("EIO") });
            }
            self.inner.sync()
        }
    }

    fn one_batch(key: &[u8]) -> Batch {
        let mut batch = Batch::new();
        batch.insert(key.to_vec(), b"v".to_vec());
        batch
    }

    /// Registers an answer for `ticket`; the receiver hears how it ended.
    fn answer(commit: &GroupCommit, ticket: Ticket) -> std::sync::mpsc::Receiver<Result<(), String>> {
        let (sender, receiver) = std::sync::mpsc::channel();
        commit.when_durable(
            ticket,
            Box::new(move |synced| {
                let _ = sender.send(synced.map_err(|error| error.to_string()));
            }),
        );
        receiver
    }

    #[test]
    fn an_answer_waits_for_the_fsync_that_follows_its_write() {
        let store = Arc::new(Halves::default());
        let commit = GroupCommit::start(store.clone()).unwrap();
        let gate = store.gate.lock().unwrap();
        let ticket = commit.apply(&one_batch(b"k")).unwrap();
        let answered = answer(&commit, ticket);
        // Written out, its fsync held at the gate: not answered, and a crash would lose it.
        for _ in 0..5_000 {
            if store.writes.load(Ordering::SeqCst) > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(store.writes.load(Ordering::SeqCst), 1, "written out");
        assert!(answered.try_recv().is_err(), "not answered before its fsync");
        assert_eq!(store.inner.unsynced_batches(), 1);
        drop(gate);
        assert_eq!(answered.recv().unwrap(), Ok(()));
        assert_eq!(store.inner.unsynced_batches(), 0);
        // Registered once durable: answered at once.
        assert_eq!(answer(&commit, ticket).recv().unwrap(), Ok(()));
    }

    #[test]
    fn a_failed_write_or_fsync_answers_every_waiting_one_with_the_error_and_takes_nothing_more() {
        for (fail, why) in [(0, "writing the ledger failed"), (1, "fsync of the ledger failed")] {
            let store = Arc::new(Halves::default());
            [&store.fail_write, &store.fail_sync][fail].store(true, Ordering::SeqCst);
            let commit = GroupCommit::start(store.clone()).unwrap();
            let ticket = commit.apply(&one_batch(b"k")).unwrap();
            let answered = answer(&commit, ticket);
            assert!(answered.recv().unwrap().is_err(), "{why}");
            let failure = commit.failure().unwrap();
            assert!(failure.starts_with(why), "{failure}");
            assert!(matches!(commit.apply(&one_batch(b"later")), Err(StoreError::Closed)));
            assert!(answer(&commit, ticket).recv().unwrap().is_err(), "registered after the failure");
            assert_eq!(store.inner.unsynced_batches(), 1, "never made durable");
        }
    }

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
