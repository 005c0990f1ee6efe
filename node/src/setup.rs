//! Setting a node up: `kvitt init` (key, configuration, first token), API tokens, and the
//! operator's directory work (`kvitt directory add/remove/publish/import`).
//!
//! The operator keeps the next directory as a draft, `DIR/directory-draft.toml`, in the
//! data directory of the node holding `operator.key` (the SSC's, as `kvitt init --role
//! ssc` sets up). `publish` signs the draft as the next version and writes it to
//! `DIR/directory.cbor`; other nodes take it with `kvitt directory import` or learn it from
//! their peers, since every message carries the sender's directory version.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::{PublicKey, Signed};
use serde::{Deserialize, Serialize};

use crate::config::{
    self, ConfigError, NodeConfig, CONFIG_FILE, DEFAULT_API_PORT, DEFAULT_PEER_PORT, DIRECTORY_FILE,
    NODE_KEY_FILE, OPERATOR_KEY_FILE,
};
use crate::core::CallerRole;

/// The operator's draft of the next directory.
pub const DRAFT_FILE: &str = "directory-draft.toml";

/// The network name a new operator's draft starts with unless told otherwise.
pub const DEFAULT_NETWORK: &str = "kvitt";

/// Why setting up failed; nothing was changed unless the message says so.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A file could not be read or written, or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The member described is not valid (the protocol's own check).
    #[error("{0}")]
    Member(kvitt_protocol::Error),
    /// The options contradict each other or miss something.
    #[error("{0}")]
    Usage(String),
    /// A directory offered for import or publication is not acceptable.
    #[error("{0}")]
    Directory(String),
    /// The stopped node's core could not be asked to judge a directory.
    #[error(transparent)]
    Offline(Box<crate::offline::OfflineError>),
}

impl From<crate::offline::OfflineError> for SetupError {
    fn from(error: crate::offline::OfflineError) -> SetupError {
        SetupError::Offline(Box::new(error))
    }
}

/// Largest directory file `kvitt directory import` reads: a directory record at its limit.
pub const MAX_DIRECTORY_FILE_BYTES: usize = kvitt_protocol::limits::MAX_DIRECTORY_BYTES;

/// What `kvitt init` needs.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The node's part.
    pub role: MemberRole,
    /// Organisation number.
    pub org: String,
    /// Organisation name.
    pub name: String,
    /// The network's name (the operator chooses it; others take it from the directory).
    pub network: String,
    /// Where the node listens for peers (UDP).
    pub listen: SocketAddr,
    /// Where peers reach it, as the directory should list it (`host:port`).
    pub address: String,
    /// Where the client API listens (TCP, loopback by default).
    pub api: SocketAddr,
    /// The operator key directories must be signed by; `None` makes this node the
    /// operator (SSC only): a new operator key is created beside the node key.
    pub operator_key: Option<PublicKey>,
}

impl InitOptions {
    /// Options with the default ports for a node of `role`.
    pub fn new(role: MemberRole, org: &str, name: &str) -> InitOptions {
        InitOptions {
            role,
            org: org.into(),
            name: name.into(),
            network: DEFAULT_NETWORK.into(),
            listen: SocketAddr::from(([0, 0, 0, 0], DEFAULT_PEER_PORT)),
            address: format!("127.0.0.1:{DEFAULT_PEER_PORT}"),
            api: SocketAddr::from(([127, 0, 0, 1], DEFAULT_API_PORT)),
            operator_key: None,
        }
    }
}

/// What `kvitt init` made.
#[derive(Clone, Debug)]
pub struct Initialised {
    /// This node as the directory should list it.
    pub member: Member,
    /// The operator key the node trusts.
    pub operator_key: PublicKey,
    /// Whether this node holds the operator key.
    pub is_operator: bool,
    /// The token of the node's operator (person `operator`) for the client API.
    pub operator_token: String,
}

/// The operator's draft: the network's name and the members of the next version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// The network's name.
    pub network: String,
    /// The members, in order.
    #[serde(default)]
    pub members: Vec<Member>,
}

/// A new random API token: 32 random bytes in hex.
pub fn new_token() -> String {
    crate::access::secret::new_secret()
}

/// `kvitt init`: creates `data` (if needed) with a new node key (mode 0600), the
/// configuration and an operator token. An SSC given no operator key becomes the
/// network's operator: it also gets `operator.key` and a draft directory listing itself.
/// Refuses to touch a directory that already holds a node.
pub fn init(data: &Path, options: &InitOptions) -> Result<Initialised, SetupError> {
    if data.join(NODE_KEY_FILE).exists() {
        return Err(ConfigError::AlreadyInitialised(data.to_owned()).into());
    }
    let is_operator = options.operator_key.is_none();
    if is_operator && options.role != MemberRole::Ssc {
        return Err(SetupError::Usage(
            "only the SSC operates the network: give --operator-key (the operator's public key, hex)".into(),
        ));
    }
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let member = Member {
        role: options.role,
        org: options.org.clone(),
        name: options.name.clone(),
        key: PublicKey::from(key.verifying_key()),
        addresses: vec![options.address.clone()],
        serves: Vec::new(),
    };
    member.validate().map_err(SetupError::Member)?;
    crate::permissions::create_private_dir(data)
        .map_err(|source| ConfigError::Io { path: data.to_owned(), error: source })?;
    config::write_key(&data.join(NODE_KEY_FILE), &key)?;
    let operator_key = match options.operator_key {
        Some(operator) => operator,
        None => {
            let operator = SigningKey::generate(&mut rand_core::OsRng);
            config::write_key(&data.join(OPERATOR_KEY_FILE), &operator)?;
            save_draft(data, &Draft { network: options.network.clone(), members: vec![member.clone()] })?;
            PublicKey::from(operator.verifying_key())
        }
    };
    let config = NodeConfig::new(
        options.role,
        options.org.clone(),
        options.name.clone(),
        options.network.clone(),
        (options.listen, options.api),
        operator_key,
    );
    config.save(data)?;
    let (operator_token, _) = add_token(data, "operator", CallerRole::Operator)?;
    Ok(Initialised { member, operator_key, is_operator, operator_token })
}

/// Adds an API token for `person` in `role` to the node's access.json (hashed) and
/// returns it with its id; the token is shown only now. A person may hold tokens in
/// several roles (an approver who also claims expenses, say). A running node sees it at
/// its next request.
pub fn add_token(data: &Path, person: &str, role: CallerRole) -> Result<(String, String), SetupError> {
    // Only into a node's data directory.
    NodeConfig::load(data)?;
    crate::access::add_token(data, person, role, time::OffsetDateTime::now_utc().unix_timestamp()).map_err(
        |error| match error {
            crate::access::AccessError::Person(why) => SetupError::Usage(format!("--person: {why}")),
            other => SetupError::Usage(other.to_string()),
        },
    )
}

fn draft_path(data: &Path) -> PathBuf {
    data.join(DRAFT_FILE)
}

/// Reads the operator's draft; a data directory without `operator.key` has none.
pub fn load_draft(data: &Path) -> Result<Draft, SetupError> {
    if !data.join(OPERATOR_KEY_FILE).exists() {
        return Err(SetupError::Usage(format!(
            "{} holds no operator key: run directory commands in the operator's (SSC's) data directory",
            data.display()
        )));
    }
    let path = draft_path(data);
    let text =
        fs::read_to_string(&path).map_err(|source| ConfigError::Io { path: path.clone(), error: source })?;
    toml::from_str(&text).map_err(|error| ConfigError::Invalid { path, message: error.to_string() }.into())
}

fn save_draft(data: &Path, draft: &Draft) -> Result<(), SetupError> {
    let path = draft_path(data);
    let text = toml::to_string_pretty(draft)
        .map_err(|error| ConfigError::Invalid { path: path.clone(), message: error.to_string() })?;
    write_atomically(&path, text.as_bytes())
}

/// Replaces `path` with `bytes`, whole or not at all (see [`crate::permissions::replace_private`]).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SetupError> {
    crate::permissions::replace_private(path, bytes)
        .map_err(|failure| SetupError::Config(ConfigError::Io { path: failure.path, error: failure.error }))
}

/// Adds (or replaces, by key) a member in the draft. An agency is served by the draft's
/// SSC when there is exactly one.
pub fn add_member(data: &Path, member: Member) -> Result<Draft, SetupError> {
    member.validate().map_err(SetupError::Member)?;
    let mut draft = load_draft(data)?;
    if let Some(other) =
        draft.members.iter().find(|existing| existing.org == member.org && existing.key != member.key)
    {
        return Err(SetupError::Usage(format!(
            "organisation {} is already a member with key {}; remove it first",
            member.org,
            other.key.short()
        )));
    }
    let agency = (member.role == MemberRole::Agency).then(|| member.org.clone());
    match draft.members.iter_mut().find(|existing| existing.key == member.key) {
        Some(existing) => *existing = member,
        None => draft.members.push(member),
    }
    if let Some(agency) = agency {
        let mut sscs = draft.members.iter_mut().filter(|member| member.role == MemberRole::Ssc);
        if let (Some(ssc), None) = (sscs.next(), sscs.next()) {
            if !ssc.serves.contains(&agency) {
                ssc.serves.push(agency);
            }
        }
    }
    save_draft(data, &draft)?;
    Ok(draft)
}

/// Removes the member with `key` from the draft (and from any SSC's `serves`). The next
/// published version cuts it off.
pub fn remove_member(data: &Path, key: &PublicKey) -> Result<Draft, SetupError> {
    let mut draft = load_draft(data)?;
    let Some(position) = draft.members.iter().position(|member| member.key == *key) else {
        return Err(SetupError::Usage(format!("no member with key {key} in the draft")));
    };
    let removed = draft.members.remove(position);
    if removed.role == MemberRole::Agency && !draft.members.iter().any(|member| member.org == removed.org) {
        for member in &mut draft.members {
            member.serves.retain(|agency| *agency != removed.org);
        }
    }
    save_draft(data, &draft)?;
    Ok(draft)
}

/// Signs the draft as the next version (one above the directory in `DIR/directory.cbor`,
/// or 1), checks it as every node will, and writes it to `DIR/directory.cbor`.
pub fn publish(data: &Path, issued_at: String) -> Result<Signed<Directory>, SetupError> {
    let draft = load_draft(data)?;
    let operator = config::read_key(&data.join(OPERATOR_KEY_FILE))?;
    let current = crate::daemon::read_directory(data).ok();
    let version = current.as_ref().map_or(1, |current| current.body().version.saturating_add(1));
    let directory = Directory { network: draft.network, version, issued_at, members: draft.members };
    let signed = Signed::sign(directory, &operator)
        .map_err(|error| SetupError::Directory(format!("the draft is not a valid directory: {error}")))?;
    write_atomically(&data.join(DIRECTORY_FILE), signed.bytes())?;
    Ok(signed)
}

/// Takes a signed directory from `file` into a node's data directory: it must be at most
/// [`MAX_DIRECTORY_FILE_BYTES`], signed by the node's operator key, of its network, list
/// this node, and be newer than the one in `directory.cbor`; the node judges it again when
/// it next starts, as any directory offered (core `NodeCore::start`: one of a version its
/// ledger holds another directory of is caught then as equivocation).
///
/// A directory of the version in `directory.cbor` but another content is the operator
/// signing two directories with one number: the stopped node's core judges it now
/// ([`crate::offline`]), which keeps both as evidence (listed by `kvitt exceptions`, sent
/// to the members when the node runs), and the import is refused; `directory.cbor` stays.
pub fn import(data: &Path, file: &Path) -> Result<Signed<Directory>, SetupError> {
    let config = NodeConfig::load(data)?;
    let own_key = PublicKey::from(config::read_key(&data.join(NODE_KEY_FILE))?.verifying_key());
    let bytes = read_bounded(file, MAX_DIRECTORY_FILE_BYTES)?;
    let directory = Signed::<Directory>::decode(&bytes).map_err(|error| {
        SetupError::Directory(format!("{}: not a signed directory: {error}", file.display()))
    })?;
    if directory.signer() != config.operator_key {
        return Err(SetupError::Directory(format!(
            "{} is signed by {}, not by this node's operator {}",
            file.display(),
            directory.signer().short(),
            config.operator_key.short()
        )));
    }
    if directory.body().network != config.network {
        return Err(SetupError::Directory(format!(
            "{} is for network {:?}; this node is in {:?}",
            file.display(),
            directory.body().network,
            config.network
        )));
    }
    if directory.body().member_by_key(&own_key).is_none() {
        return Err(SetupError::Directory(format!(
            "{} (version {}) does not list this node ({}): a node cannot run on a directory without \
             its own key; ask the operator to add it",
            file.display(),
            directory.body().version,
            own_key.short()
        )));
    }
    if let Ok(current) = crate::daemon::read_directory(data) {
        let version = directory.body().version;
        if version == current.body().version && directory.id() != current.id() {
            return Err(judge_conflict(data, file, &directory, &current));
        }
        if version <= current.body().version {
            return Err(SetupError::Directory(format!(
                "{} is version {version}; this node already holds version {}",
                file.display(),
                current.body().version
            )));
        }
    }
    write_atomically(&data.join(DIRECTORY_FILE), directory.bytes())?;
    Ok(directory)
}

/// The stopped node's core judges `directory`, another of the version of `current`: it
/// keeps both as evidence. The error says so (or why the core could not be asked).
fn judge_conflict(
    data: &Path,
    file: &Path,
    directory: &Signed<Directory>,
    current: &Signed<Directory>,
) -> SetupError {
    let request = crate::core::ClientRequest::InstallDirectory { bytes: directory.bytes().to_vec() };
    match crate::offline::ask_as_operator(data, request) {
        Err(error) => error.into(),
        Ok(Ok(_)) => SetupError::Directory(format!(
            "{} conflicts with the directory this node holds, yet the node took it: report this",
            file.display()
        )),
        Ok(Err(refusal)) => SetupError::Directory(format!(
            "{} is another version {} than the one this node holds ({} here, {} there): the operator \
             signed two directories with one number. The node refused it ({}: {}); `kvitt exceptions` \
             lists the evidence, and directory.cbor is unchanged",
            file.display(),
            directory.body().version,
            current.id().short(),
            directory.id().short(),
            refusal.code,
            refusal.message
        )),
    }
}

/// The bytes of `file`, refused if over `limit` (never read past it: the file may be a
/// device or a pipe without end).
fn read_bounded(file: &Path, limit: usize) -> Result<Vec<u8>, SetupError> {
    use std::io::Read;
    let io = |source| SetupError::Config(ConfigError::Io { path: file.to_owned(), error: source });
    let mut bytes = Vec::new();
    fs::File::open(file)
        .and_then(|opened| opened.take(limit as u64 + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.len() > limit {
        return Err(SetupError::Directory(format!(
            "{} is over the limit of {limit} bytes for a directory",
            file.display()
        )));
    }
    Ok(bytes)
}

/// The configuration file of a data directory, for messages.
pub fn config_path(data: &Path) -> PathBuf {
    data.join(CONFIG_FILE)
}

#[cfg(test)]
mod tests;
