//! One simulated node: the production [`NodeCore`] over a [`MemoryStore`], the real
//! [`ChannelIndex`] kept from its committed batches, and what the driver must remember
//! between steps: effects waiting for the next simulated fsync, requests waiting for an
//! answer, wake-ups. A crash drops all of that and what the store had not synced.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kvitt_node::core::{CoreConfig, Deferred, ExchangeId, NodeCore, ReplyId, RetryPolicy, StartError};
use kvitt_node::store::{MemoryStore, Store, ValuePool};
use kvitt_node::sync::ChannelIndex;
use kvitt_protocol::directory::Directory;
use kvitt_protocol::{PublicKey, Signed};

use crate::cast::Party;

/// A node of the simulation.
pub struct SimNode {
    /// Who it is.
    pub party: Party,
    /// The core; `None` while the node is down.
    pub core: Option<NodeCore>,
    /// Its ledger, which outlives crashes.
    pub store: Arc<MemoryStore>,
    /// The channel index, rebuilt from the store at each start.
    pub index: ChannelIndex,
    /// Counts starts: events addressed to an earlier life are dropped.
    pub life: u64,
    /// Effects to carry out at the next completed fsync.
    pub waiting: Vec<Deferred>,
    /// Whether a batch was applied since the last sync.
    pub dirty: bool,
    /// When the fsync in flight completes.
    pub fsync_at: Option<i64>,
    /// Requests sent and not yet answered.
    pub exchanges: BTreeSet<ExchangeId>,
    /// Peer requests being handled: who asked, their exchange id, and their life then.
    pub peer_replies: BTreeMap<ReplyId, (usize, ExchangeId, u64)>,
    /// Wake-ups scheduled.
    pub wakes: BTreeSet<i64>,
}

impl SimNode {
    /// A node over an empty store, started; the store shares its large values (records)
    /// with the other nodes' through `pool`.
    pub fn new(
        party: Party,
        config: CoreConfig,
        directory: &Signed<Directory>,
        pool: &Arc<ValuePool>,
    ) -> Result<SimNode, StartError> {
        SimNode::over(party, Arc::new(MemoryStore::with_pool(pool.clone())), config, directory)
    }

    /// A node over `store` (a copy of a real node's ledger, say), started.
    pub fn over(
        party: Party,
        store: Arc<MemoryStore>,
        config: CoreConfig,
        directory: &Signed<Directory>,
    ) -> Result<SimNode, StartError> {
        let mut node = SimNode {
            party,
            core: None,
            store,
            index: ChannelIndex::default(),
            life: 0,
            waiting: Vec::new(),
            dirty: false,
            fsync_at: None,
            exchanges: BTreeSet::new(),
            peer_replies: BTreeMap::new(),
            wakes: BTreeSet::new(),
        };
        node.start(config, directory)?;
        Ok(node)
    }

    /// The core settings of a simulated node: its retry jitter and its entropy seeded from
    /// the run, its reconciliation every `reconcile_interval`.
    pub fn core_config(
        operator: PublicKey,
        seed: u64,
        reconcile_interval: std::time::Duration,
    ) -> CoreConfig {
        let mut entropy = [0u8; 32];
        for (index, chunk) in entropy.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes());
        }
        CoreConfig {
            operator,
            retry: RetryPolicy::default(),
            delivery_batch: 256,
            seed,
            entropy,
            reconcile_interval,
            reference_rates: None,
            policy: Default::default(),
            // Merchants and agencies use it; an SSC never does (spec/routing.md).
            uncollected_days: kvitt_node::core::DEFAULT_UNCOLLECTED_DAYS,
            routing_key: Some(crate::workload::cards::SIM_ROUTING_KEY),
        }
    }

    /// Starts a new core over the store, as `kvitt run` does after a restart.
    pub fn start(&mut self, config: CoreConfig, directory: &Signed<Directory>) -> Result<(), StartError> {
        let store: Arc<dyn Store> = self.store.clone();
        let core = NodeCore::start(self.party.identity.clone(), config, directory.clone(), store)?;
        self.index = ChannelIndex::load(self.store.as_ref())?;
        self.core = Some(core);
        self.life += 1;
        Ok(())
    }

    /// `kill -9`: the core and everything in flight are gone, and so is whatever the
    /// store had not synced.
    pub fn crash(&mut self) {
        self.core = None;
        self.store.crash();
        self.waiting.clear();
        self.dirty = false;
        self.fsync_at = None;
        self.exchanges.clear();
        self.peer_replies.clear();
        self.wakes.clear();
        self.life += 1;
    }

    /// Whether the node is running.
    pub fn is_up(&self) -> bool {
        self.core.is_some()
    }
}
