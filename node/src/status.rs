//! What the driver knows of the node's state that a readiness probe asks about
//! (crate::api::health), kept where the probe can read it without a step of the core:
//! whether the ledger is recovering, whether the last ledger write was refused for want of
//! space, and how to measure the disk against its floor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crate::store::DiskWatch;

/// The node's state as its driver last saw it.
#[derive(Default)]
pub struct NodeStatus {
    recovering: AtomicBool,
    write_refused_disk_full: AtomicBool,
    disk: OnceLock<DiskWatch>,
}

impl NodeStatus {
    /// Whether the ledger is recovering (the node signs nothing until `kvitt recover`).
    pub fn recovering(&self) -> bool {
        self.recovering.load(Ordering::Relaxed)
    }

    /// Notes whether the core is recovering, after each of its steps.
    pub fn set_recovering(&self, recovering: bool) {
        self.recovering.store(recovering, Ordering::Relaxed);
    }

    /// Whether the last ledger batch was refused because the disk is at its floor.
    pub fn write_refused_disk_full(&self) -> bool {
        self.write_refused_disk_full.load(Ordering::Relaxed)
    }

    /// Notes whether the last ledger batch was refused for want of space.
    pub fn set_write_refused_disk_full(&self, refused: bool) {
        self.write_refused_disk_full.store(refused, Ordering::Relaxed);
    }

    /// How to measure the ledger's disk, once the daemon has guarded its store.
    pub fn disk(&self) -> Option<&DiskWatch> {
        self.disk.get()
    }

    /// Sets how to measure the ledger's disk (the first call wins: one node, one ledger).
    pub fn watch_disk(&self, watch: DiskWatch) {
        let _ = self.disk.set(watch);
    }
}
