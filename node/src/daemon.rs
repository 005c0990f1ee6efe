//! Runs a node from its data directory: the sled ledger and group commit, the core and its
//! driver, the QUIC transport and the client API, wired together. `kvitt run` and the
//! demo both start nodes this way.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kvitt_protocol::directory::Directory;
use kvitt_protocol::{PublicKey, Signed};
use tokio::task::JoinHandle;

use crate::config::{self, ConfigError, NodeConfig, DIRECTORY_FILE, LEDGER_DIR, NODE_KEY_FILE};
use crate::core::{CoreConfig, Identity, NodeCore, RetryPolicy};
use crate::handle::NodeHandle;
use crate::store::group_commit::GroupCommit;
use crate::store::{SledStore, Store, StoreError};
use crate::transport::{runtime_link, PeerKeys, Transport, TransportConfig, TransportError};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The data directory's key or configuration is missing or invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// `policy.toml` is unreadable or wrong, or is given to a node that is no agency.
    #[error("{0}")]
    Policy(#[from] crate::policy::PolicyError),
    /// `rates.json` is unreadable or not a valid reference-rates table.
    #[error("{path}: {message}")]
    Rates {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `directory.cbor` is missing or is not a signed directory.
    #[error("{path}: {message}")]
    Directory {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The ledger could not be opened.
    #[error("ledger {path}: {source}")]
    Ledger {
        /// The ledger folder.
        path: PathBuf,
        /// What sled said.
        source: StoreError,
    },
    /// The core refused to start (for instance, the directory does not list this node).
    #[error("{0}")]
    Core(String),
    /// The QUIC endpoint could not start.
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// The client API could not listen.
    #[error("client API on {address}: {source}")]
    Api {
        /// The configured address.
        address: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
}

/// A node that is running: its handle for in-process clients, and where it listens.
pub struct RunningNode {
    /// The node key.
    pub key: PublicKey,
    /// The configuration it started with.
    pub config: NodeConfig,
    /// In-process client access (the API uses the same handle).
    pub handle: NodeHandle,
    /// Where peers reach it (QUIC over UDP).
    pub peer_address: SocketAddr,
    /// Where clients reach it (HTTP).
    pub api_address: SocketAddr,
    /// Set if the ledger was damaged on start: where it was moved and why. The node
    /// started with an empty ledger and must recover from its peers.
    pub damaged: Option<(PathBuf, String)>,
    /// What the start-up checksum scan of every record found.
    pub checksums: crate::ledger::ChecksumReport,
    transport: Transport,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningNode {
    /// Stops serving: closes the QUIC endpoint (peers see the connection close) and the API.
    /// Everything acknowledged is already on disk.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.transport.close().await;
    }
}

/// Reads the signed directory a data directory starts from.
pub fn read_directory(data: &Path) -> Result<Signed<Directory>, RunError> {
    let path = data.join(DIRECTORY_FILE);
    let bytes = std::fs::read(&path).map_err(|error| RunError::Directory {
        path: path.clone(),
        message: format!("{error} (the operator's `kvitt directory publish` writes it)"),
    })?;
    Signed::<Directory>::decode(&bytes)
        .map_err(|error| RunError::Directory { path, message: format!("not a signed directory: {error}") })
}

/// The reference rates in `DIR/rates.json`, or `None` if there is no such file (the node
/// then books foreign items without checking their rates, and says so).
fn read_rates(data: &Path) -> Result<Option<kvitt_protocol::books::ReferenceRates>, RunError> {
    let path = data.join(crate::config::RATES_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(file = %path.display(), "no reference rates: foreign items are booked without a rate check");
            return Ok(None);
        }
        Err(error) => return Err(RunError::Rates { path, message: error.to_string() }),
    };
    let rates = kvitt_protocol::books::ReferenceRates::from_json(&text)
        .map_err(|error| RunError::Rates { path: path.clone(), message: error.to_string() })?;
    tracing::info!(file = %path.display(), "reference rates loaded");
    Ok(Some(rates))
}

/// Starts the node whose data directory is `data`, on the current tokio runtime.
pub async fn start(data: &Path) -> Result<RunningNode, RunError> {
    let config = NodeConfig::load(data)?;
    let signing_key = config::read_key(&data.join(NODE_KEY_FILE))?;
    let directory = read_directory(data)?;
    let policy = crate::policy::Policy::load_for(data, config.role)?;
    let ledger_path = data.join(LEDGER_DIR);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let opened = SledStore::open(&ledger_path, config.cache_mib.saturating_mul(1024 * 1024), now)
        .map_err(|source| RunError::Ledger { path: ledger_path.clone(), source })?;
    if let Some((aside, reason)) = &opened.damaged {
        tracing::error!(
            aside = %aside.display(),
            %reason,
            "the ledger was damaged and has been moved aside; starting empty, recover from peers"
        );
    }
    let store: Arc<dyn Store> = Arc::new(opened.store);
    let checked = std::time::Instant::now();
    let (_, report) = crate::ledger::Floor::survey(
        store.as_ref(),
        &crate::core::Identity {
            signing_key: signing_key.clone(),
            org: config.org.clone(),
            role: config.role,
        }
        .key(),
    )
    .map_err(|error| RunError::Core(format!("checking the ledger: {error}")))?;
    if report.damaged.is_empty() {
        tracing::info!(records = report.records, bytes = report.bytes, took = ?checked.elapsed(), "ledger checked");
    } else {
        // Not fatal: reads of these records fail with a precise error, the rest of the
        // ledger serves, and reconciliation with peers can bring intact copies back.
        tracing::error!(
            damaged = report.damaged.len(),
            first = %report.damaged.first().map(String::as_str).unwrap_or(""),
            records = report.records,
            "the ledger holds records whose bytes do not match their checksum"
        );
    }
    let commit =
        Arc::new(GroupCommit::start(Arc::clone(&store)).map_err(|error| RunError::Core(error.to_string()))?);
    let identity = Identity { signing_key: signing_key.clone(), org: config.org.clone(), role: config.role };
    let key = identity.key();
    let core_config = CoreConfig {
        operator: config.operator_key,
        retry: RetryPolicy::default(),
        delivery_batch: kvitt_protocol::limits::MAX_RECORDS_PER_DELIVERY,
        seed: rand_core::RngCore::next_u64(&mut rand_core::OsRng),
        reference_rates: read_rates(data)?,
        policy,
    };
    let core = NodeCore::start(identity, core_config, directory, store)
        .map_err(|error| RunError::Core(error.to_string()))?;
    let members = PeerKeys::new(core.directory().body().members.iter().map(|member| member.key));
    let (transport, requests) = Transport::bind(TransportConfig::new(config.listen, signing_key, members))?;
    let runtime = crate::runtime::RuntimeConfig {
        reconcile_interval: config.reconcile_interval(),
        ..crate::runtime::RuntimeConfig::default()
    };
    let (handle, inbox) = crate::runtime::spawn_with(core, commit, Arc::new(transport.clone()), runtime);
    let forward = runtime_link::forward(requests, inbox);

    let listener = tokio::net::TcpListener::bind(config.api)
        .await
        .map_err(|source| RunError::Api { address: config.api, source })?;
    let api_address =
        listener.local_addr().map_err(|source| RunError::Api { address: config.api, source })?;
    let router = crate::api::router(handle.clone(), &config.tokens);
    let api = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the client API stopped");
        }
    });
    tracing::info!(
        key = %key.short(),
        role = ?config.role,
        org = %config.org,
        peers = %transport.local_addr(),
        api = %api_address,
        "node running"
    );
    Ok(RunningNode {
        key,
        peer_address: transport.local_addr(),
        api_address,
        damaged: opened.damaged,
        checksums: report,
        config,
        handle,
        transport,
        tasks: vec![forward, api],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_rates_are_read_from_rates_json_if_there_is_one_and_a_bad_one_is_named() {
        let data = tempfile::tempdir().unwrap();
        assert!(read_rates(data.path()).unwrap().is_none(), "no file: no table, no check");
        let path = data.path().join(crate::config::RATES_FILE);
        std::fs::write(&path, kvitt_protocol::books::EXAMPLE_RATES_JSON).unwrap();
        assert_eq!(
            read_rates(data.path()).unwrap(),
            Some(kvitt_protocol::books::ReferenceRates::example().unwrap())
        );
        let broken =
            kvitt_protocol::books::EXAMPLE_RATES_JSON.replacen("\"version\": 1", "\"version\": 9", 1);
        assert_ne!(broken, kvitt_protocol::books::EXAMPLE_RATES_JSON, "the example has a version field");
        std::fs::write(&path, broken).unwrap();
        let error = read_rates(data.path()).unwrap_err().to_string();
        assert!(error.starts_with(&path.display().to_string()) && error.contains("version 9"), "{error}");
    }
}
