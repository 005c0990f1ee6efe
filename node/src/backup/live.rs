//! The ledger's dump of a running node, for the operator's `GET /v1/admin/backup`
//! (crate::api): taken while no write can be applied, into a private spool file, so that
//! writes wait only as long as the ledger takes to read, never for the network.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::store::dump::{dump_store, DumpError, DumpSummary};
use crate::store::group_commit::GroupCommit;

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
        let (dumped, paused) = self.commit.read_still(|store| {
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
        Ok(TakenDump { file, summary, paused })
    }
}
