//! One client request to a stopped node: its core, started over its ledger without
//! network or API, takes the request as any other and writes what it decides. For the
//! operator's commands on a data directory (`kvitt directory import`) that must be judged
//! exactly as the running node judges: a conflicting directory becomes evidence, and
//! deliveries it queues go out when the node next runs.

use std::path::Path;
use std::sync::Arc;

use kvitt_protocol::wire::Refusal;

use crate::config::{self, NodeConfig, LEDGER_DIR, NODE_KEY_FILE};
use crate::core::{
    Caller, CallerRole, ClientRequest, ClientResponse, CoreConfig, Deferred, Effect, Identity, Input,
    NodeCore, RetryPolicy,
};
use crate::store::Store;

/// Why a stopped node could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The data directory's key, configuration or directory is missing or invalid.
    #[error(transparent)]
    Run(#[from] crate::daemon::RunError),
    /// The ledger could not be opened: most likely the node is running and holds it.
    #[error(
        "cannot open the ledger {path} ({why}); if the node is running, stop it first, or give the \
         request to the running node through its client API"
    )]
    Ledger {
        /// The ledger folder.
        path: std::path::PathBuf,
        /// What sled said.
        why: String,
    },
    /// The core could not start on this ledger, or could not write.
    #[error("{0}")]
    Core(String),
}

/// Asks the core of the stopped node in `data` as its operator, applies what it writes,
/// and returns its answer.
pub fn ask_as_operator(
    data: &Path,
    request: ClientRequest,
) -> Result<Result<ClientResponse, Refusal>, OfflineError> {
    let config = NodeConfig::load(data).map_err(crate::daemon::RunError::from)?;
    let signing_key = config::read_key(&data.join(NODE_KEY_FILE)).map_err(crate::daemon::RunError::from)?;
    let directory = crate::daemon::read_directory(data)?;
    let path = data.join(LEDGER_DIR);
    let identity = Identity { signing_key, org: config.org.clone(), role: config.role };
    // Opened as `kvitt run` opens it: under the data directory's lock (a running node
    // holds it), judged against its floor, and kept in step with the floor as it writes.
    let opened = crate::store::ledger_start::open_ledger(
        data,
        config.sled_settings(),
        &identity.key(),
        time::OffsetDateTime::now_utc(),
    )
    .map_err(|error| OfflineError::Ledger { path: path.clone(), why: error.to_string() })?;
    let store: Arc<dyn Store> = opened.store.clone();
    let core_config = CoreConfig {
        operator: config.operator_key,
        retry: RetryPolicy::default(),
        delivery_batch: kvitt_protocol::limits::MAX_RECORDS_PER_DELIVERY,
        seed: 0,
        // It runs one request and no session.
        entropy: [0; 32],
        reconcile_interval: crate::core::DEFAULT_RECONCILE_INTERVAL,
        reference_rates: None,
        policy: crate::policy::Policy::default(),
        uncollected_days: crate::core::DEFAULT_UNCOLLECTED_DAYS,
        routing_key: None,
    };
    let mut core = NodeCore::start(identity, core_config, directory, Arc::clone(&store))
        .map_err(|error| OfflineError::Core(error.to_string()))?;
    let caller = Caller { person: "operator".into(), role: CallerRole::Operator };
    let effects = core.handle(time::OffsetDateTime::now_utc(), Input::Client { reply: 0, caller, request });
    let mut answer = None;
    for effect in effects {
        match effect {
            Effect::Write(batch) => {
                store.apply(&batch).map_err(|error| OfflineError::Core(error.to_string()))?
            }
            Effect::WhenDurable(effects) => {
                store.sync().map_err(|error| OfflineError::Core(error.to_string()))?;
                let found = effects.into_iter().find_map(|effect| match effect {
                    Deferred::ToClient { result, .. } => Some(result),
                    _ => None,
                });
                answer = answer.or(found);
            }
            // Peers hear of it when the node runs: what it owes them is in its outbox.
            _ => {}
        }
    }
    answer.ok_or_else(|| OfflineError::Core("the core gave no answer".into()))
}
