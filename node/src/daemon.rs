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
use crate::store::ledger_start::{self, Finding, LedgerStartError};
use crate::store::{SpaceGuard, Store};
use crate::transport::{runtime_link, PeerKeys, Transport, TransportConfig, TransportError};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The data directory's key or configuration is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `policy.toml` is unreadable or wrong, or is given to a node that is no agency.
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    /// `rates.json` is unreadable or not a valid reference-rates table.
    #[error("{path}: {message}")]
    Rates {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `routing.key` is unreadable or not 64 hex digits.
    #[error("{path}: {message}")]
    RoutingKey {
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
    #[error("ledger {path}: {error}")]
    Ledger {
        /// The ledger folder.
        path: PathBuf,
        /// What went wrong.
        error: LedgerStartError,
    },
    /// The core refused to start (for instance, the directory does not list this node).
    #[error("{0}")]
    Core(String),
    /// config.toml's `[oidc]` single sign-on could not be set up (crate::web::oidc).
    #[error("{0}")]
    Oidc(String),
    /// The QUIC endpoint could not start.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The metrics listener could not listen.
    #[error("metrics listener on {address}: {error}")]
    Metrics {
        /// The configured address.
        address: SocketAddr,
        /// What the system said.
        error: std::io::Error,
    },
    /// access.json, or the TLS certificate or key, could not be read.
    #[error("{0}")]
    Access(String),
    /// The client API could not listen.
    #[error("client API on {address}: {error}")]
    Api {
        /// The configured address.
        address: SocketAddr,
        /// What the system said.
        error: std::io::Error,
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
    /// Where clients reach it (HTTP, or HTTPS with [`StartOptions::tls`]).
    pub api_address: SocketAddr,
    /// Where a scraper reaches its metrics (HTTP `GET /metrics`), if it serves them.
    pub metrics_address: Option<SocketAddr>,
    /// `http` or `https`: how the API and web app are served.
    pub scheme: &'static str,
    /// What the start found of the ledger: sound, new, or damaged and moved aside (the
    /// node then recovers: it signs nothing until `kvitt recover`).
    pub ledger: Finding,
    /// What the start-up checksum scan of every record found.
    pub checksums: crate::ledger::ChecksumReport,
    /// The data directory's lock, held while the node runs.
    _lock: std::fs::File,
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
fn read_rates(data: &Path) -> Result<Option<kvitt_books::ReferenceRates>, RunError> {
    let path = data.join(crate::config::RATES_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(file = %path.display(), "no reference rates: foreign items are booked without a rate check");
            return Ok(None);
        }
        Err(error) => return Err(RunError::Rates { path, message: error.to_string() }),
    };
    let rates = kvitt_books::ReferenceRates::from_json(&text)
        .map_err(|error| RunError::Rates { path: path.clone(), message: error.to_string() })?;
    tracing::info!(file = %path.display(), "reference rates loaded");
    Ok(Some(rates))
}

/// The network's routing key from `DIR/routing.key`, if the operator put one there
/// (merchants and agencies; spec/routing.md).
fn read_routing_key(data: &Path) -> Result<Option<kvitt_protocol::routing::RoutingKey>, RunError> {
    let path = data.join(crate::config::ROUTING_KEY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(RunError::RoutingKey { path, message: error.to_string() }),
    };
    let key = kvitt_protocol::routing::RoutingKey::from_hex(&text)
        .map_err(|error| RunError::RoutingKey { path: path.clone(), message: error.detail().to_owned() })?;
    tracing::info!(file = %path.display(), "routing key loaded: receipts may be routed by card");
    Ok(Some(key))
}

/// How `kvitt run` serves beyond what config.toml says.
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// Serve the client API and web app over HTTPS with this certificate chain and key.
    pub tls: Option<crate::web::tls::TlsFiles>,
    /// Serve the metrics on this address rather than config.toml's `metrics_addr`
    /// (`kvitt run --metrics`).
    pub metrics: Option<SocketAddr>,
}

/// Starts the node whose data directory is `data`, on the current tokio runtime.
pub async fn start(data: &Path) -> Result<RunningNode, RunError> {
    start_with(data, &StartOptions::default()).await
}

/// Starts the node whose data directory is `data` with `options`.
pub async fn start_with(data: &Path, options: &StartOptions) -> Result<RunningNode, RunError> {
    let config = NodeConfig::load(data)?;
    crate::permissions::secure_data_dir(data);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let moved = crate::access::migrate_config_tokens(data, now)
        .map_err(|error| RunError::Access(error.to_string()))?;
    let mut config = if moved > 0 { NodeConfig::load(data)? } else { config };
    if options.metrics.is_some() {
        config.metrics_addr = options.metrics;
    }
    if moved > 0 {
        tracing::warn!(moved, "moved the plain-text tokens of config.toml into access.json, hashed");
    }
    let access =
        Arc::new(crate::access::Access::open(data).map_err(|error| RunError::Access(error.to_string()))?);
    let tls = match &options.tls {
        Some(files) => Some(files.acceptor().map_err(|error| RunError::Access(error.to_string()))?),
        None => None,
    };
    let signing_key = config::read_key(&data.join(NODE_KEY_FILE))?;
    let directory = read_directory(data)?;
    let policy = crate::policy::Policy::load_for(data, config.role)?;
    let ledger_path = data.join(LEDGER_DIR);
    let identity = Identity { signing_key: signing_key.clone(), org: config.org.clone(), role: config.role };
    let key = identity.key();
    let checked = std::time::Instant::now();
    // The channel index is read while the start surveys the ledger, on the other core.
    let (opened, channels) = ledger_start::open_ledger_with(
        data,
        config.sled_settings(),
        &key,
        time::OffsetDateTime::now_utc(),
        crate::sync::ChannelIndex::load,
    )
    .map_err(|error| RunError::Ledger { path: ledger_path.clone(), error })?;
    log_ledger_start(&opened.finding, &opened.checksums, checked.elapsed());
    let store: Arc<dyn Store> = opened.store.clone();
    let outbox = crate::ledger::Ledger::new(Arc::clone(&store))
        .index_outbox()
        .map_err(|error| RunError::Core(format!("indexing the outbox: {error}")))?;
    if outbox.removed > 0 {
        tracing::warn!(
            kept = outbox.kept,
            removed = outbox.removed,
            "the outbox queued records more than once; one entry each is kept"
        );
    }
    let claimants = crate::ledger::Ledger::new(Arc::clone(&store))
        .index_claimants()
        .map_err(|error| RunError::Core(format!("indexing the claims by claimant: {error}")))?;
    if claimants > 0 {
        tracing::info!(claims = claimants, "indexed the claims of a ledger from before the claimant index");
    }
    // From here on, a write that would leave less than the floor free is refused.
    let guard = SpaceGuard::new(store, &ledger_path, config.disk_floor_bytes());
    let disk = guard.watch();
    let store: Arc<dyn Store> = Arc::new(guard);
    let commit =
        Arc::new(GroupCommit::start(Arc::clone(&store)).map_err(|error| RunError::Core(error.to_string()))?);
    let core_config = CoreConfig {
        operator: config.operator_key,
        retry: RetryPolicy::default(),
        delivery_batch: kvitt_protocol::limits::MAX_RECORDS_PER_DELIVERY,
        seed: rand_core::RngCore::next_u64(&mut rand_core::OsRng),
        entropy: {
            let mut entropy = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut entropy);
            entropy
        },
        reconcile_interval: config.reconcile_interval(),
        reference_rates: read_rates(data)?,
        policy,
        uncollected_days: config.uncollected_days,
        routing_key: read_routing_key(data)?,
    };
    let core = NodeCore::start(identity, core_config, directory, store)
        .map_err(|error| RunError::Core(error.to_string()))?;
    let members = PeerKeys::new(core.directory().body().members.iter().map(|member| member.key));
    let (transport, requests) = Transport::bind(TransportConfig::new(config.listen, signing_key, members))?;
    let backups = Arc::new(crate::backup::LiveDump::new(Arc::clone(&commit), data.to_owned()));
    // A new or damaged ledger was not read alongside its survey: read as it is now.
    let channels = channels.unwrap_or_else(|| crate::sync::ChannelIndex::load(core.store()));
    let runtime = crate::runtime::RuntimeConfig::default();
    let (handle, inbox) =
        crate::runtime::spawn_with_index(core, commit, Arc::new(transport.clone()), runtime, channels);
    handle.serve_backups(backups);
    handle.status().watch_disk(disk);
    let forward = runtime_link::forward(requests, inbox);
    let mut tasks = vec![forward];
    let metrics_address = match config.metrics_addr {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|error| RunError::Metrics { address, error })?;
            let bound = listener.local_addr().map_err(|error| RunError::Metrics { address, error })?;
            let limits = crate::api::serve::ServeLimits::for_open_files(None);
            let router = crate::api::metrics_router(handle.clone());
            tasks.push(tokio::spawn(crate::api::serve::serve(listener, router, limits)));
            Some(bound)
        }
        None => None,
    };

    let listener = tokio::net::TcpListener::bind(config.api)
        .await
        .map_err(|source| RunError::Api { address: config.api, error: source })?;
    let api_address =
        listener.local_addr().map_err(|source| RunError::Api { address: config.api, error: source })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let settings = crate::web::WebSettings {
        secure_cookies: tls.is_some(),
        node_name: config.name.clone(),
        node_role: config.role,
        oidc: config.oidc.clone(),
    };
    let router = crate::web::app(handle.clone(), access, settings).map_err(RunError::Oidc)?;
    tasks.push(tokio::spawn(crate::api::serve::start(listener, router, tls)));
    tracing::info!(
        key = %key.short(),
        role = ?config.role,
        org = %config.org,
        peers = %transport.local_addr(),
        api = %api_address,
        metrics = %metrics_address.map_or_else(|| "off".to_owned(), |address| address.to_string()),
        web = %format!("{scheme}://{api_address}/"),
        "node running"
    );
    Ok(RunningNode {
        key,
        peer_address: transport.local_addr(),
        api_address,
        metrics_address,
        scheme,
        ledger: opened.finding,
        checksums: opened.checksums,
        _lock: opened.lock,
        config,
        handle,
        transport,
        tasks,
    })
}

/// Says what the start found of the ledger: loudly if it was damaged.
fn log_ledger_start(finding: &Finding, checksums: &crate::ledger::ChecksumReport, took: std::time::Duration) {
    match finding {
        Finding::New => tracing::info!("new ledger"),
        Finding::Sound => {
            tracing::info!(
                records = checksums.records,
                bytes = checksums.bytes,
                ?took,
                "ledger checked against its floor"
            )
        }
        Finding::FloorStarted => tracing::warn!(
            records = checksums.records,
            "the ledger had no floor yet (a node from before floors were kept): it is kept from now on"
        ),
        Finding::Recovering => {
            tracing::error!("the ledger is recovering: this node signs nothing until `kvitt recover` has run")
        }
        Finding::Damaged { aside, damage, salvaged } => tracing::error!(
            aside = %aside.as_deref().map_or("(gone)".into(), |aside| aside.display().to_string()),
            %damage,
            salvaged,
            "the ledger was damaged: moved aside (kept), what could be read copied into a new one; this node \
             signs nothing until `kvitt recover` has fetched its records back from its peers"
        ),
        Finding::FloorLost(why) => tracing::error!(
            %why,
            "the ledger's floor is lost: this node signs nothing until `kvitt recover` has checked its ledger \
             against its peers"
        ),
    }
    if !checksums.damaged.is_empty() {
        // Not counted in the floor: a ledger holding them is short of it and was moved aside.
        tracing::error!(
            damaged = checksums.damaged.len(),
            first = %checksums.damaged.first().map(String::as_str).unwrap_or(""),
            records = checksums.records,
            "the ledger held records whose bytes do not match their checksum"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_rates_are_read_from_rates_json_if_there_is_one_and_a_bad_one_is_named() {
        let data = tempfile::tempdir().unwrap();
        assert!(read_rates(data.path()).unwrap().is_none(), "no file: no table, no check");
        let path = data.path().join(crate::config::RATES_FILE);
        std::fs::write(&path, kvitt_books::EXAMPLE_RATES_JSON).unwrap();
        assert_eq!(read_rates(data.path()).unwrap(), Some(kvitt_books::ReferenceRates::example().unwrap()));
        let broken = kvitt_books::EXAMPLE_RATES_JSON.replacen("\"version\": 1", "\"version\": 9", 1);
        assert_ne!(broken, kvitt_books::EXAMPLE_RATES_JSON, "the example has a version field");
        std::fs::write(&path, broken).unwrap();
        let error = read_rates(data.path()).unwrap_err().to_string();
        assert!(error.starts_with(&path.display().to_string()) && error.contains("version 9"), "{error}");
    }
}
