//! After a real run: each node's sled ledger, opened once its process has stopped and
//! copied into a [`MemoryStore`], with a core started over the copy as `kvitt run` would,
//! so that the deterministic mode's checks ([`crate::check`]) read the real ledgers.

use std::sync::Arc;

use kvitt_node::config::LEDGER_DIR;
use kvitt_node::ledger::MAX_SCAN_ENTRIES;
use kvitt_node::store::{Batch, MemoryStore, SledStore, Store};
use kvitt_protocol::PublicKey;

use super::nodes::RealNode;
use crate::cast::Cast;
use crate::config::FaultMix;
use crate::net::Network;
use crate::node::SimNode;
use crate::rng::SimRng;
use crate::world::World;

/// Sled's cache while copying, bytes.
const COPY_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// A copy of the ledger in `node`'s data directory.
fn copy(node: &RealNode) -> Result<MemoryStore, String> {
    let path = node.data.join(LEDGER_DIR);
    let opened = SledStore::open(&path, COPY_CACHE_BYTES)
        .map_err(|error| format!("{}'s ledger {} would not open: {error}", node.name, path.display()))?;
    let memory = MemoryStore::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = opened
            .scan(b"", after.as_deref(), MAX_SCAN_ENTRIES)
            .map_err(|error| format!("reading {}: {error}", path.display()))?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = Some(last.clone());
        let mut batch = Batch::new();
        for (key, value) in page {
            batch.insert(key, value);
        }
        memory.apply(&batch).map_err(|error| error.to_string())?;
    }
    memory.sync().map_err(|error| error.to_string())?;
    Ok(memory)
}

/// The world of copies of `network`'s ledgers, each under the directory its node holds.
pub fn world(cast: &Cast, network: &[RealNode]) -> Result<World, String> {
    let operator = PublicKey::from(cast.operator.verifying_key());
    let mut nodes = Vec::new();
    for (party, node) in cast.parties.iter().zip(network) {
        let directory = kvitt_node::daemon::read_directory(&node.data).map_err(|error| error.to_string())?;
        let store = Arc::new(copy(node)?);
        let sim = SimNode::over(
            party.clone(),
            store,
            SimNode::core_config(operator, 0, kvitt_node::core::DEFAULT_RECONCILE_INTERVAL),
            &directory,
        )
        .map_err(|error| format!("{}: a core over its ledger does not start: {error}", node.name))?;
        nodes.push(sim);
    }
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis()),
    )
    .unwrap_or(0);
    Ok(World::new(nodes, Network::new(FaultMix::None.faults()), SimRng::new(0), now_ms))
}
