//! A node's data directory: its key, its configuration, its ledger.
//!
//! ```text
//! DIR/node.key       the node's ed25519 secret seed (32 bytes, mode 0600)
//! DIR/operator.key   the network operator's key (SSC only, mode 0600)
//! DIR/config.toml    role, organisation, addresses, operator public key
//! DIR/access.json    people, API tokens, sign-in links, as hashes (crate::access)
//! DIR/directory.cbor the signed directory the node starts from (until a newer one arrives)
//! DIR/policy.toml    the agency's expense policy (optional; spec/policy.md)
//! DIR/rates.json     the reference exchange rates an SSC checks (optional; spec/books.md)
//! DIR/ledger/        the sled ledger
//! ```

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::PublicKey;
use serde::{Deserialize, Serialize};

use crate::core::CallerRole;

/// The file names inside a data directory.
pub const NODE_KEY_FILE: &str = "node.key";
/// The operator's key file (SSC nodes).
pub const OPERATOR_KEY_FILE: &str = "operator.key";
/// The configuration file.
pub const CONFIG_FILE: &str = "config.toml";
/// The directory the node starts from.
pub const DIRECTORY_FILE: &str = "directory.cbor";
/// The reference exchange rates an SSC checks foreign claim items against (optional;
/// spec/books.md §Reference rates).
pub const RATES_FILE: &str = "rates.json";
/// The network's routing key, 64 hex digits (optional; merchants and agencies;
/// spec/routing.md).
pub const ROUTING_KEY_FILE: &str = "routing.key";
/// The sled ledger.
pub const LEDGER_DIR: &str = "ledger";

/// Default QUIC port.
pub const DEFAULT_PEER_PORT: u16 = 7400;
/// Default client API port.
pub const DEFAULT_API_PORT: u16 = 8400;

/// What `config.toml` holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// merchant, agency or ssc.
    pub role: MemberRole,
    /// Organisation number.
    pub org: String,
    /// Organisation name.
    pub name: String,
    /// The network's name (as its directory says).
    pub network: String,
    /// Where peers reach this node (QUIC, UDP).
    pub listen: SocketAddr,
    /// Where clients reach this node (HTTP); loopback unless there is a reason.
    pub api: SocketAddr,
    /// Where a Prometheus scraper reaches the node's metrics (HTTP, `GET /metrics`, no
    /// token: crate::metrics); none unless set. `kvitt run --metrics` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_addr: Option<SocketAddr>,
    /// The operator key every directory must be signed by (hex).
    pub operator_key: PublicKey,
    /// sled's cache, in MiB.
    #[serde(default = "default_cache_mib")]
    pub cache_mib: u64,
    /// Whether the ledger this node makes at its first start keeps its pages compressed by
    /// zstd (crate::store::SledSettings): a fifth of the disk, for more CPU a receipt. A
    /// ledger made before keeps what it was made with.
    #[serde(default)]
    pub compress_ledger: bool,
    /// The free space, in MiB, the node keeps on the file system of its ledger: a write
    /// that would leave less is refused (`node.disk_full`) until space is freed
    /// (crate::store::SpaceGuard). 0 turns the check off.
    #[serde(default = "default_disk_floor_mib")]
    pub disk_floor_mib: u64,
    /// How often the node reconciles its ledger with each peer, in seconds (from
    /// `MIN_RECONCILE_INTERVAL` to `MAX_RECONCILE_INTERVAL` in crate::sync).
    #[serde(default = "default_reconcile_interval_secs")]
    pub reconcile_interval_secs: u64,
    /// At a merchant: days after its sale that a receipt no one collected by its code is
    /// deleted, its serial kept (spec/codes.md §Uncollected receipts); from
    /// [`MIN_UNCOLLECTED_DAYS`] to [`MAX_UNCOLLECTED_DAYS`].
    #[serde(default = "default_uncollected_days")]
    pub uncollected_days: u32,
    /// Plain-text bearer tokens as older versions kept them: a node moves them into
    /// access.json, hashed, when it starts (crate::access::migrate_config_tokens), and
    /// config.toml is written without them from then on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<TokenConfig>,
    /// Single sign-on to the web app through the organisation's OpenID Connect provider
    /// (`[oidc]`: issuer, client_id, client_secret, redirect_url, claim); none unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<crate::web::oidc::OidcConfig>,
}

impl NodeConfig {
    /// What the node asks of sled for its ledger: `cache_mib`, and `compress_ledger` for a
    /// ledger made now.
    pub fn sled_settings(&self) -> crate::store::SledSettings {
        crate::store::SledSettings {
            cache_bytes: self.cache_mib.saturating_mul(1024 * 1024),
            compress_new: self.compress_ledger,
        }
    }
}

fn default_cache_mib() -> u64 {
    crate::store::DEFAULT_CACHE_BYTES / (1024 * 1024)
}

fn default_disk_floor_mib() -> u64 {
    crate::store::DEFAULT_DISK_FLOOR_BYTES / (1024 * 1024)
}

/// Fewest days a merchant keeps an uncollected receipt: long enough for an employee back
/// from a trip.
pub const MIN_UNCOLLECTED_DAYS: u32 = 7;
/// Most days: the seven years of the accounting act, and a year more.
pub const MAX_UNCOLLECTED_DAYS: u32 = 8 * 366;

fn default_uncollected_days() -> u32 {
    crate::core::DEFAULT_UNCOLLECTED_DAYS
}

fn default_reconcile_interval_secs() -> u64 {
    crate::sync::DEFAULT_RECONCILE_INTERVAL.as_secs()
}

/// One plain-text bearer token of an older config.toml: who holds it and in which role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The secret the caller sends as `Authorization: Bearer …`.
    pub token: String,
    /// The person or till.
    pub person: String,
    /// What they may do.
    pub role: CallerRole,
}

/// Why a data directory could not be set up or read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said (in the message, not a `source()`: the chain says it once).
        error: std::io::Error,
    },
    /// config.toml is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `init` would overwrite an existing node.
    #[error("{0} already holds a node (node.key exists); choose another --data directory")]
    AlreadyInitialised(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError + '_ {
    move |error| ConfigError::Io { path: path.to_owned(), error }
}

/// Writes a new secret key file readable by the owner only (0600), refusing to overwrite.
pub fn write_key(path: &Path, key: &SigningKey) -> Result<(), ConfigError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(hex::encode(key.to_bytes()).as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Reads a key file written by [`write_key`].
pub fn read_key(path: &Path) -> Result<SigningKey, ConfigError> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    let bytes = hex::decode(text.trim()).ok().and_then(|bytes| <[u8; 32]>::try_from(bytes).ok()).ok_or_else(
        || ConfigError::Invalid {
            path: path.to_owned(),
            message: "not a 32-byte ed25519 seed in hex".into(),
        },
    )?;
    Ok(SigningKey::from_bytes(&bytes))
}

impl NodeConfig {
    /// A node's configuration with the defaults config.toml gives a missing key: no
    /// metrics listener, no single sign-on, no tokens. `kvitt init`, the simulator and the
    /// tests start from here and set what differs, so a new key is defaulted in one place.
    pub fn new(
        role: MemberRole,
        org: String,
        name: String,
        network: String,
        (listen, api): (SocketAddr, SocketAddr),
        operator_key: PublicKey,
    ) -> NodeConfig {
        NodeConfig {
            role,
            org,
            name,
            network,
            listen,
            api,
            metrics_addr: None,
            operator_key,
            cache_mib: default_cache_mib(),
            compress_ledger: false,
            disk_floor_mib: default_disk_floor_mib(),
            reconcile_interval_secs: default_reconcile_interval_secs(),
            uncollected_days: default_uncollected_days(),
            oidc: None,
            tokens: Vec::new(),
        }
    }

    /// Reads `DIR/config.toml`.
    pub fn load(data: &Path) -> Result<NodeConfig, ConfigError> {
        let path = data.join(CONFIG_FILE);
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        let config: NodeConfig = toml::from_str(&text)
            .map_err(|error| ConfigError::Invalid { path: path.clone(), message: error.to_string() })?;
        let (min, max) = (crate::sync::MIN_RECONCILE_INTERVAL, crate::sync::MAX_RECONCILE_INTERVAL);
        if !(min.as_secs()..=max.as_secs()).contains(&config.reconcile_interval_secs) {
            let message = format!(
                "reconcile_interval_secs = {} is outside {}..={}",
                config.reconcile_interval_secs,
                min.as_secs(),
                max.as_secs()
            );
            return Err(ConfigError::Invalid { path, message });
        }
        if let Some(message) = config.oidc.as_ref().and_then(|oidc| oidc.check().err()) {
            return Err(ConfigError::Invalid { path, message });
        }
        if !(MIN_UNCOLLECTED_DAYS..=MAX_UNCOLLECTED_DAYS).contains(&config.uncollected_days) {
            let message = format!(
                "uncollected_days = {} is outside {MIN_UNCOLLECTED_DAYS}..={MAX_UNCOLLECTED_DAYS}",
                config.uncollected_days
            );
            return Err(ConfigError::Invalid { path, message });
        }
        Ok(config)
    }

    /// How often the node reconciles with each peer.
    pub fn reconcile_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.reconcile_interval_secs)
    }

    /// The free space the node keeps on its ledger's file system, in bytes (0: unchecked).
    pub fn disk_floor_bytes(&self) -> u64 {
        self.disk_floor_mib.saturating_mul(1024 * 1024)
    }

    /// Writes `DIR/config.toml` (mode 0600, as every file of a node).
    pub fn save(&self, data: &Path) -> Result<(), ConfigError> {
        let path = data.join(CONFIG_FILE);
        let text = toml::to_string_pretty(self)
            .map_err(|error| ConfigError::Invalid { path: path.clone(), message: error.to_string() })?;
        let header =
            "# kvitt node configuration (see `kvitt init --help`). People and tokens: access.json.\n";
        let bytes = [header.as_bytes(), text.as_bytes()].concat();
        crate::permissions::replace_private(&path, &bytes)
            .map_err(|failure| ConfigError::Io { path: failure.path, error: failure.error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        let key = SigningKey::from_bytes(&[7; 32]);
        write_key(&path, &key).unwrap();
        assert_eq!(read_key(&path).unwrap().to_bytes(), key.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(matches!(write_key(&path, &key), Err(ConfigError::Io { .. })));
        fs::write(&path, "not hex").unwrap();
        assert!(matches!(read_key(&path), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn config_round_trips_and_names_a_bad_field() {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig {
            metrics_addr: Some("127.0.0.1:9402".parse().unwrap()),
            cache_mib: 64,
            compress_ledger: true,
            disk_floor_mib: 0,
            reconcile_interval_secs: 90,
            tokens: vec![TokenConfig {
                token: "t0k3n".into(),
                person: "emp-1".into(),
                role: CallerRole::Employee,
            }],
            ..NodeConfig::new(
                MemberRole::Agency,
                "202100-5489".into(),
                "Skatteverket".into(),
                "kvitt-demo".into(),
                ("127.0.0.1:7402".parse().unwrap(), "127.0.0.1:8402".parse().unwrap()),
                PublicKey::from(SigningKey::from_bytes(&[1; 32]).verifying_key()),
            )
        };
        config.save(dir.path()).unwrap();
        assert_eq!(NodeConfig::load(dir.path()).unwrap(), config);
        let text = fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap().replace("agency", "bank");
        fs::write(dir.path().join(CONFIG_FILE), text).unwrap();
        let error = NodeConfig::load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("role") || error.contains("bank"), "{error}");
    }

    #[test]
    fn a_new_config_has_the_defaults_of_a_config_toml_that_omits_every_optional_key() {
        let operator_key = PublicKey::from(SigningKey::from_bytes(&[1; 32]).verifying_key());
        let text = format!(
            "role = \"merchant\"\norg = \"556016-0680\"\nname = \"Kaffe AB\"\nnetwork = \"n\"\n\
             listen = \"127.0.0.1:7401\"\napi = \"127.0.0.1:8401\"\noperator_key = \"{}\"\n",
            hex::encode(operator_key.as_bytes())
        );
        let read: NodeConfig = toml::from_str(&text).unwrap();
        let new = NodeConfig::new(
            MemberRole::Merchant,
            "556016-0680".into(),
            "Kaffe AB".into(),
            "n".into(),
            ("127.0.0.1:7401".parse().unwrap(), "127.0.0.1:8401".parse().unwrap()),
            operator_key,
        );
        assert_eq!(new, read);
    }

    #[test]
    fn the_operations_guide_names_every_key_of_config_toml() {
        let config = NodeConfig {
            oidc: Some(crate::web::oidc::OidcConfig {
                issuer: "https://idp.example".into(),
                client_id: "kvitt".into(),
                client_secret: "s".into(),
                redirect_url: "https://kvitt.example/oidc/callback".into(),
                claim: crate::web::oidc::OidcClaim::Email,
            }),
            role: MemberRole::Ssc,
            org: "202100-6255".into(),
            name: "SSC".into(),
            network: "n".into(),
            listen: "127.0.0.1:7400".parse().unwrap(),
            api: "127.0.0.1:8400".parse().unwrap(),
            metrics_addr: Some("127.0.0.1:9400".parse().unwrap()),
            operator_key: PublicKey::from(SigningKey::from_bytes(&[1; 32]).verifying_key()),
            cache_mib: default_cache_mib(),
            compress_ledger: false,
            disk_floor_mib: default_disk_floor_mib(),
            reconcile_interval_secs: default_reconcile_interval_secs(),
            uncollected_days: crate::core::DEFAULT_UNCOLLECTED_DAYS,
            tokens: vec![TokenConfig { token: "t".into(), person: "p".into(), role: CallerRole::Operator }],
        };
        let toml::Value::Table(table) = toml::Value::try_from(&config).unwrap() else {
            panic!("not a table")
        };
        let guide = include_str!("../../docs/operations.md");
        let mut keys: Vec<String> = table.keys().cloned().collect();
        keys.extend(["token", "person", "role"].map(|key| format!("tokens.{key}")));
        keys.extend(
            ["issuer", "client_id", "client_secret", "redirect_url", "claim"]
                .map(|key| format!("oidc.{key}")),
        );
        assert_eq!(keys.len(), 23);
        for key in keys {
            let row = match key.as_str() {
                "tokens" => "| `[[tokens]]` |".to_owned(),
                "oidc" => "| `[oidc]` |".to_owned(),
                _ => format!("| `{key}` |"),
            };
            assert!(guide.contains(&row), "docs/operations.md has no row for {key}");
        }
        for (key, default) in [
            ("cache_mib", default_cache_mib()),
            ("disk_floor_mib", default_disk_floor_mib()),
            ("reconcile_interval_secs", default_reconcile_interval_secs()),
            ("uncollected_days", u64::from(default_uncollected_days())),
        ] {
            let row = guide.lines().find(|line| line.starts_with(&format!("| `{key}` |"))).unwrap();
            assert!(
                row.contains(&format!("| `{default}` |")),
                "docs/operations.md: {key} defaults to {default}: {row}"
            );
        }
    }

    #[test]
    fn an_oidc_table_that_is_not_valid_is_refused_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let text = "role = \"agency\"\norg = \"202100-6255\"\nname = \"A\"\nnetwork = \"n\"\n\
                    listen = \"127.0.0.1:7400\"\napi = \"127.0.0.1:8400\"\n\
                    operator_key = \"0101010101010101010101010101010101010101010101010101010101010101\"\n\
                    [oidc]\nissuer = \"https://idp.example\"\nclient_id = \"k\"\nclient_secret = \"s\"\n";
        let load = |redirect: &str| {
            fs::write(dir.path().join(CONFIG_FILE), format!("{text}redirect_url = \"{redirect}\"\n"))
                .unwrap();
            NodeConfig::load(dir.path())
        };
        let loaded = load("https://kvitt.example/oidc/callback").unwrap();
        assert_eq!(loaded.oidc.unwrap().claim, crate::web::oidc::OidcClaim::Email, "email unless set");
        let error = load("https://kvitt.example/elsewhere").unwrap_err().to_string();
        assert!(error.ends_with("oidc.redirect_url: its path must be /oidc/callback"), "{error}");
    }

    #[test]
    fn the_reconcile_interval_defaults_to_a_minute_and_is_refused_outside_its_limits() {
        let dir = tempfile::tempdir().unwrap();
        let base = "role = \"merchant\"\norg = \"556677-8899\"\nname = \"M\"\nnetwork = \"n\"\n\
                    listen = \"127.0.0.1:7400\"\napi = \"127.0.0.1:8400\"\n\
                    operator_key = \"0101010101010101010101010101010101010101010101010101010101010101\"\n";
        let load = |extra: &str| {
            fs::write(dir.path().join(CONFIG_FILE), format!("{base}{extra}")).unwrap();
            NodeConfig::load(dir.path())
        };
        assert_eq!(load("").unwrap().reconcile_interval(), crate::sync::DEFAULT_RECONCILE_INTERVAL);
        assert_eq!(load("").unwrap().metrics_addr, None, "no metrics listener unless asked for");
        assert_eq!(load("").unwrap().disk_floor_bytes(), crate::store::DEFAULT_DISK_FLOOR_BYTES);
        assert_eq!(load("disk_floor_mib = 1\n").unwrap().disk_floor_bytes(), 1024 * 1024);
        for edge in [crate::sync::MIN_RECONCILE_INTERVAL, crate::sync::MAX_RECONCILE_INTERVAL] {
            let config = load(&format!("reconcile_interval_secs = {}\n", edge.as_secs())).unwrap();
            assert_eq!(config.reconcile_interval(), edge);
        }
        for outside in [
            crate::sync::MIN_RECONCILE_INTERVAL.as_secs() - 1,
            crate::sync::MAX_RECONCILE_INTERVAL.as_secs() + 1,
        ] {
            let error = load(&format!("reconcile_interval_secs = {outside}\n")).unwrap_err().to_string();
            assert!(error.contains(&format!("reconcile_interval_secs = {outside} is outside")), "{error}");
        }
        // Uncollected receipts: 90 days unless set, within 7 ..= 2928.
        assert_eq!(load("").unwrap().uncollected_days, 90);
        for edge in [MIN_UNCOLLECTED_DAYS, MAX_UNCOLLECTED_DAYS] {
            assert_eq!(load(&format!("uncollected_days = {edge}\n")).unwrap().uncollected_days, edge);
        }
        for outside in [MIN_UNCOLLECTED_DAYS - 1, MAX_UNCOLLECTED_DAYS + 1] {
            let error = load(&format!("uncollected_days = {outside}\n")).unwrap_err().to_string();
            assert!(error.contains(&format!("uncollected_days = {outside} is outside")), "{error}");
        }
    }
}
