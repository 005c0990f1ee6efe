//! The ledger's dump of a running node, for the operator's `GET /v1/admin/backup`
//! (crate::api): taken while no write can be applied, into a private spool file, so that
//! writes wait only as long as the ledger takes to read, never for the network.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::store::dump::{dump_store, DumpError, DumpSummary};
use crate::store::group_commit::{GroupCommit, Ticket};
use crate::store::StoreError;

/// A running node's ledger, ready to be dumped.
pub struct LiveDump {
    commit: Arc<GroupCommit>,
    spool: PathBuf,
}

/// One dump of a running node's ledger.
pub struct TakenDump {
    /// The dump, at its first byte; an unnamed file, gone once closed.
    pub file: File,
    /// What it holds.
    pub summary: DumpSummary,
    /// How long writes waited while the ledger was read.
    pub paused: Duration,
    /// The last batch the dump holds: [`LiveDump::durable`] waits for it.
    pub covers: Ticket,
}

impl LiveDump {
    /// The ledger behind `commit`; dumps are spooled in `spool` (the data directory: on
    /// the ledger's own private file system, never in a shared /tmp).
    pub fn new(commit: Arc<GroupCommit>, spool: PathBuf) -> LiveDump {
        LiveDump { commit, spool }
    }

    /// Dumps the ledger as one state: every write waits until it is read.
    pub fn take(&self) -> Result<TakenDump, DumpError> {
        let file = tempfile::tempfile_in(&self.spool)?;
        let out = BufWriter::with_capacity(1 << 20, file);
        let ((dumped, paused), covers) = self.commit.read_still(|store| {
            let started = Instant::now();
            (dump_store(store, out), started.elapsed())
        });
        let (summary, out) = dumped?;
        let mut file = out.into_inner().map_err(|error| DumpError::Io(error.into_error()))?;
        file.seek(SeekFrom::Start(0))?;
        tracing::info!(
            entries = summary.entries,
            bytes = summary.bytes,
            ?paused,
            "ledger dumped for a backup"
        );
        Ok(TakenDump { file, summary, paused, covers })
    }

    /// Waits until everything `taken` holds is durable in the node's own ledger, so that a
    /// backup never holds a batch a crash of the node could still undo (a receipt it
    /// would then sign again, differently, under the same serial).
    pub async fn durable(&self, taken: &TakenDump) -> Result<(), StoreError> {
        self.commit.durable(taken.covers).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::dump::verify_dump;
    use crate::store::{Batch, MemoryStore, Store};

    #[tokio::test]
    async fn a_dump_is_handed_out_only_once_the_node_cannot_lose_what_it_holds() {
        let store = Arc::new(MemoryStore::new());
        let commit = Arc::new(GroupCommit::start(store.clone()).unwrap());
        let spool = tempfile::tempdir().unwrap();
        let live = LiveDump::new(Arc::clone(&commit), spool.path().to_owned());
        let mut batch = Batch::new();
        batch.insert(b"rec/1".to_vec(), b"applied, maybe not yet synced".to_vec());
        commit.apply(&batch).unwrap();
        let taken = live.take().unwrap();
        live.durable(&taken).await.unwrap();
        // A crash now keeps only what was synced: everything the dump holds.
        store.crash();
        assert_eq!(store.scan(b"", None, 10).unwrap().len() as u64, taken.summary.entries);
        assert_eq!(verify_dump(&taken.file).unwrap(), taken.summary);
        assert!(std::fs::read_dir(spool.path()).unwrap().next().is_none(), "the spool file has no name");
    }
}
