//! Who may use a node: its people (who sign in to the web app with one-time links) and its
//! API tokens, kept in DIR/access.json ([`file`]) as hashes only ([`secret`]).
//!
//! `kvitt user …` and `kvitt token …` change the file while the node runs; the node's
//! [`Access`] looks at the file's identity (inode, size, modification time) on each request
//! and reads it again when it changed, so a revocation holds from the next request on,
//! without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::config::TokenConfig;
use crate::core::{Caller, CallerRole};

pub mod file;
pub mod secret;

pub use file::{AccessFile, AccessFileError, Link, Token, User, ACCESS_FILE};

/// How long a sign-in link works after it is made, in seconds.
pub const LINK_VALIDITY_SECS: i64 = 15 * 60;
/// How long a token `--data DIR --as PERSON` mints for one command works, in seconds.
pub const COMMAND_TOKEN_VALIDITY_SECS: i64 = 10 * 60;
/// Characters of a token's hash that name it in `kvitt token list|revoke`.
const TOKEN_ID_CHARS: usize = 12;

/// Why a change to the node's people or tokens was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// access.json could not be read or written.
    #[error(transparent)]
    File(#[from] AccessFileError),
    /// A person's reference a record could not carry.
    #[error("--person: {0}")]
    Person(String),
    /// No such (active) user.
    #[error("{0} is not a user of this node (see `kvitt user list`)")]
    NoUser(String),
    /// The user exists already.
    #[error("{0} is a user already; `kvitt user link {0}` makes a new sign-in link")]
    UserExists(String),
    /// No such token.
    #[error("no token {0} (see `kvitt token list`)")]
    NoToken(String),
    /// The person holds no user or token in the roles a command needs.
    #[error("{person} has no user or token in {file}; people: {people}")]
    NoGrant {
        /// Who was named.
        person: String,
        /// The access file looked at.
        file: String,
        /// Who has a user or token, comma separated (or "none").
        people: String,
    },
}

/// Why a sign-in link did not sign anyone in.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// Not a link of this node, or used already.
    #[error("the sign-in link is unknown or was used already")]
    Unknown,
    /// Made more than [`LINK_VALIDITY_SECS`] ago.
    #[error("the sign-in link has expired")]
    Expired,
    /// Its person was revoked since.
    #[error("the person was revoked")]
    Revoked,
}

fn check_person(person: &str) -> Result<(), AccessError> {
    if person.trim().is_empty() {
        return Err(AccessError::Person("must name someone".into()));
    }
    // People sign events as `actor.person`: a text records take (≤ 64 bytes, no control or
    // bidirectional formatting characters), refused here rather than at their first decision.
    kvitt_protocol::fields::check_text("person", person, kvitt_protocol::limits::MAX_CODE_BYTES)
        .map_err(|error| AccessError::Person(error.to_string()))
}

fn active_user<'a>(file: &'a mut AccessFile, person: &str) -> Option<&'a mut User> {
    file.users.iter_mut().find(|user| user.person == person && user.revoked.is_none())
}

/// Adds a person who signs in to the web app, and returns a sign-in link secret for them.
pub fn add_user(data: &Path, person: &str, role: CallerRole, now: i64) -> Result<String, AccessError> {
    check_person(person)?;
    AccessFile::update(data, |file| {
        if active_user(file, person).is_some() {
            return Err(AccessError::UserExists(person.into()));
        }
        file.users.retain(|user| user.person != person);
        file.users.push(User { person: person.into(), role, created: now, revoked: None });
        Ok(push_link(file, person, now))
    })
}

fn push_link(file: &mut AccessFile, person: &str, now: i64) -> String {
    file.links.retain(|link| link.expires > now);
    let secret = secret::new_secret();
    file.links.push(Link {
        hash: secret::hash(&secret),
        person: person.into(),
        expires: now + LINK_VALIDITY_SECS,
    });
    secret
}

/// A new one-time sign-in link secret for an active user (earlier ones keep working
/// until used or expired).
pub fn new_link(data: &Path, person: &str, now: i64) -> Result<String, AccessError> {
    AccessFile::update(data, |file| {
        active_user(file, person).ok_or_else(|| AccessError::NoUser(person.into()))?;
        Ok(push_link(file, person, now))
    })
}

/// Revokes a user: no more sign-ins, their sessions end (the web app checks the user on
/// every request), their links are dropped.
pub fn revoke_user(data: &Path, person: &str, now: i64) -> Result<(), AccessError> {
    AccessFile::update(data, |file| {
        let user = active_user(file, person).ok_or_else(|| AccessError::NoUser(person.into()))?;
        user.revoked = Some(now);
        file.links.retain(|link| link.person != person);
        Ok(())
    })
}

/// Uses a sign-in link: it is removed whether it works or not, and signs its user in if
/// it is still valid at `now` (valid through `expires - 1`).
pub fn consume_link(data: &Path, secret: &str, now: i64) -> Result<Result<Caller, LinkRefusal>, AccessError> {
    let hash = secret::hash(secret);
    AccessFile::update(data, |file| {
        let Some(position) = file.links.iter().position(|link| link.hash == hash) else {
            return Ok(Err(LinkRefusal::Unknown));
        };
        let link = file.links.remove(position);
        if now >= link.expires {
            return Ok(Err(LinkRefusal::Expired));
        }
        Ok(match active_user(file, &link.person) {
            Some(user) => Ok(Caller { person: user.person.clone(), role: user.role }),
            None => Err(LinkRefusal::Revoked),
        })
    })
}

fn push_token(
    file: &mut AccessFile,
    person: &str,
    role: CallerRole,
    now: i64,
    expires: Option<i64>,
) -> String {
    let secret = secret::new_secret();
    let hash = secret::hash(&secret);
    let id = hash.chars().take(TOKEN_ID_CHARS).collect();
    file.tokens.push(Token { id, hash, person: person.into(), role, created: now, expires, revoked: false });
    secret
}

/// Adds an API token for `person` in `role`; returns the token (shown once, kept hashed)
/// and its id.
pub fn add_token(
    data: &Path,
    person: &str,
    role: CallerRole,
    now: i64,
) -> Result<(String, String), AccessError> {
    check_person(person)?;
    AccessFile::update(data, |file| {
        let secret = push_token(file, person, role, now, None);
        Ok((secret.clone(), file.tokens.last().map(|token| token.id.clone()).unwrap_or_default()))
    })
}

/// Revokes the token with this id.
pub fn revoke_token(data: &Path, id: &str) -> Result<(), AccessError> {
    AccessFile::update(data, |file| {
        let token = file
            .tokens
            .iter_mut()
            .find(|token| token.id == id && !token.revoked)
            .ok_or_else(|| AccessError::NoToken(id.into()))?;
        token.revoked = true;
        Ok(())
    })
}

/// For `kvitt … --data DIR --as PERSON`: a token for the first role of `roles` the person
/// holds (as a user or by a lasting token), working for [`COMMAND_TOKEN_VALIDITY_SECS`].
/// Expired tokens of earlier commands are dropped.
pub fn command_token(
    data: &Path,
    person: &str,
    roles: &[CallerRole],
    now: i64,
) -> Result<String, AccessError> {
    AccessFile::update(data, |file| {
        file.tokens.retain(|token| token.expires.is_none_or(|expires| expires > now));
        let held: Vec<CallerRole> = file
            .users
            .iter()
            .filter(|user| user.person == person && user.revoked.is_none())
            .map(|user| user.role)
            .chain(
                file.tokens
                    .iter()
                    .filter(|token| token.person == person && !token.revoked && token.expires.is_none())
                    .map(|token| token.role),
            )
            .collect();
        let role = roles.iter().find(|role| held.contains(role)).or(held.first()).copied();
        let Some(role) = role else {
            let mut people: Vec<&str> = file.users.iter().map(|user| user.person.as_str()).collect();
            people.extend(file.tokens.iter().filter(|t| t.expires.is_none()).map(|t| t.person.as_str()));
            people.dedup();
            return Err(AccessError::NoGrant {
                person: person.into(),
                file: data.join(ACCESS_FILE).display().to_string(),
                people: if people.is_empty() { "none".into() } else { people.join(", ") },
            });
        };
        Ok(push_token(file, person, role, now, Some(now + COMMAND_TOKEN_VALIDITY_SECS)))
    })
}

/// Moves the plain-text tokens of an older config.toml into access.json (hashed) and
/// rewrites config.toml without them; returns how many moved. access.json is written
/// first, so a crash between the two leaves them in both, and the next start moves none
/// twice (a token whose hash is there already is skipped).
pub fn migrate_config_tokens(data: &Path, now: i64) -> Result<usize, AccessError> {
    let mut config = crate::config::NodeConfig::load(data).map_err(|error| AccessFileError::Invalid {
        path: data.join("config.toml"),
        message: error.to_string(),
    })?;
    if config.tokens.is_empty() {
        return Ok(0);
    }
    let moved = config.tokens.len();
    import_tokens(data, &config.tokens, now)?;
    config.tokens.clear();
    config.save(data).map_err(|error| AccessFileError::Invalid {
        path: data.join("config.toml"),
        message: error.to_string(),
    })?;
    Ok(moved)
}

/// Adds plain tokens to access.json, hashed, skipping any whose hash is there already.
pub fn import_tokens(data: &Path, tokens: &[TokenConfig], now: i64) -> Result<(), AccessError> {
    AccessFile::update(data, |file| {
        for TokenConfig { token, person, role } in tokens {
            let hash = secret::hash(token);
            if !file.tokens.iter().any(|held| held.hash == hash) {
                let id = hash.chars().take(TOKEN_ID_CHARS).collect();
                file.tokens.push(Token {
                    id,
                    hash,
                    person: person.clone(),
                    role: *role,
                    created: now,
                    expires: None,
                    revoked: false,
                });
            }
        }
        Ok(())
    })
}

/// The identity of access.json as last read: a rename or write changes it.
type Stamp = Option<(u64, u64, SystemTime)>;

fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some((inode, metadata.len(), metadata.modified().ok()?))
}

struct Loaded {
    stamp: Stamp,
    file: Arc<AccessFile>,
}

/// The node's view of its people and tokens, read again whenever access.json changed.
pub struct Access {
    data: Option<PathBuf>,
    loaded: RwLock<Loaded>,
}

impl Access {
    /// The people and tokens of DIR/access.json.
    pub fn open(data: &Path) -> Result<Access, AccessError> {
        let path = data.join(ACCESS_FILE);
        let loaded = Loaded { stamp: stamp(&path), file: Arc::new(AccessFile::load(data)?) };
        Ok(Access { data: Some(data.to_owned()), loaded: RwLock::new(loaded) })
    }

    /// Fixed tokens held in memory only (tests and in-process nodes without a data
    /// directory): hashed like the file's, never read again.
    pub fn fixed(tokens: &[TokenConfig]) -> Access {
        let tokens = tokens
            .iter()
            .map(|token| {
                let hash = secret::hash(&token.token);
                Token {
                    id: hash.chars().take(TOKEN_ID_CHARS).collect(),
                    hash,
                    person: token.person.clone(),
                    role: token.role,
                    created: 0,
                    expires: None,
                    revoked: false,
                }
            })
            .collect();
        let file = AccessFile { tokens, ..AccessFile::default() };
        Access { data: None, loaded: RwLock::new(Loaded { stamp: None, file: Arc::new(file) }) }
    }

    /// The node's data directory, if the people and tokens come from one.
    pub fn data(&self) -> Option<&Path> {
        self.data.as_deref()
    }

    /// The file as it is now: read again if it changed since last time (a file that
    /// cannot be read keeps the last good view, logged).
    pub fn current(&self) -> Arc<AccessFile> {
        let Some(data) = &self.data else {
            return self.snapshot();
        };
        let now = stamp(&data.join(ACCESS_FILE));
        if self.loaded.read().map(|loaded| loaded.stamp == now).unwrap_or(false) {
            return self.snapshot();
        }
        match AccessFile::load(data) {
            Ok(file) => {
                let file = Arc::new(file);
                if let Ok(mut loaded) = self.loaded.write() {
                    *loaded = Loaded { stamp: now, file: Arc::clone(&file) };
                }
                file
            }
            Err(error) => {
                tracing::error!(%error, "could not read the access file again; keeping the last one read");
                self.snapshot()
            }
        }
    }

    fn snapshot(&self) -> Arc<AccessFile> {
        match self.loaded.read() {
            Ok(loaded) => Arc::clone(&loaded.file),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().file),
        }
    }

    /// The caller an API token names, if it is valid at `now`.
    pub fn token_caller(&self, token: &str, now: i64) -> Option<Caller> {
        let hash = secret::hash(token);
        self.current()
            .tokens
            .iter()
            .find(|held| {
                held.hash == hash && !held.revoked && held.expires.is_none_or(|expires| now < expires)
            })
            .map(|held| Caller { person: held.person.clone(), role: held.role })
    }

    /// The active user `person`, if there is one (single sign-on maps a claim of the
    /// identity provider to a person here: crate::web::oidc).
    pub fn active_user(&self, person: &str) -> Option<Caller> {
        self.current()
            .users
            .iter()
            .find(|user| user.person == person && user.revoked.is_none())
            .map(|user| Caller { person: user.person.clone(), role: user.role })
    }

    /// Whether `caller` is still an active user (the web app asks on every request).
    pub fn is_active_user(&self, caller: &Caller) -> bool {
        self.current()
            .users
            .iter()
            .any(|user| user.person == caller.person && user.role == caller.role && user.revoked.is_none())
    }
}

#[cfg(test)]
mod tests;
