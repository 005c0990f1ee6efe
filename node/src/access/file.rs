//! DIR/access.json: the node's people, API tokens and pending sign-in links, every secret
//! as its hash only (super::secret). Private (0600), replaced atomically (temp file,
//! fsync, rename), and changed only under an exclusive lock on DIR/access.lock, since the
//! running node (consuming a sign-in link) and `kvitt user|token` (another process) both
//! write it.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::CallerRole;

/// The file's name in a data directory.
pub const ACCESS_FILE: &str = "access.json";
/// The lock file beside it.
pub const ACCESS_LOCK_FILE: &str = "access.lock";
/// Largest access.json the node reads: about 10,000 people and tokens.
pub const MAX_ACCESS_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A person who signs in to the web app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Their reference, as their records name them.
    pub person: String,
    /// What they may do.
    pub role: CallerRole,
    /// When they were added (Unix seconds).
    pub created: i64,
    /// When they were revoked (Unix seconds); a revoked user signs in no more and their
    /// sessions end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<i64>,
}

/// An API token, by its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// A short public name for listing and revoking it (not part of the secret).
    pub id: String,
    /// SHA-256 of the token (hex).
    pub hash: String,
    /// Who holds it.
    pub person: String,
    /// What they may do with it.
    pub role: CallerRole,
    /// When it was made (Unix seconds).
    pub created: i64,
    /// When it stops working (Unix seconds); `None`: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// Whether it was revoked.
    #[serde(default)]
    pub revoked: bool,
}

/// A one-time sign-in link not yet used, by its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// SHA-256 of the link's secret (hex).
    pub hash: String,
    /// Whom it signs in.
    pub person: String,
    /// When it stops working (Unix seconds).
    pub expires: i64,
}

/// What access.json holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessFile {
    /// People of the web app.
    #[serde(default)]
    pub users: Vec<User>,
    /// API tokens.
    #[serde(default)]
    pub tokens: Vec<Token>,
    /// Sign-in links not yet used.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// Why access.json could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AccessFileError {
    /// The file system refused.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// The file is not an access file.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AccessFileError + '_ {
    move |error| AccessFileError::Io { path: path.to_owned(), error }
}

impl AccessFile {
    /// Reads DIR/access.json; a missing file is an empty one.
    pub fn load(data: &Path) -> Result<AccessFile, AccessFileError> {
        let path = data.join(ACCESS_FILE);
        let bytes = match fs::metadata(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(AccessFile::default()),
            Err(error) => return Err(AccessFileError::Io { path, error }),
            Ok(metadata) if metadata.len() > MAX_ACCESS_FILE_BYTES => {
                let message = format!("{} bytes, over the limit of {MAX_ACCESS_FILE_BYTES}", metadata.len());
                return Err(AccessFileError::Invalid { path, message });
            }
            Ok(_) => fs::read(&path).map_err(io(&path))?,
        };
        serde_json::from_slice(&bytes)
            .map_err(|error| AccessFileError::Invalid { path: path.clone(), message: error.to_string() })
    }

    /// Replaces DIR/access.json with this one: a private temporary file, fsynced, renamed
    /// over it, and the folder fsynced, so a crash leaves the old file or the new one.
    fn save(&self, data: &Path) -> Result<(), AccessFileError> {
        let path = data.join(ACCESS_FILE);
        let text = serde_json::to_vec_pretty(self)
            .map_err(|error| AccessFileError::Invalid { path: path.clone(), message: error.to_string() })?;
        crate::permissions::replace_private(&path, &text)
            .map_err(|failure| AccessFileError::Io { path: failure.path, error: failure.error })
    }

    /// Reads, changes and writes DIR/access.json under its lock; `change` decides from the
    /// file as it is now (not as some earlier read saw it). Nothing is written if `change`
    /// fails.
    pub fn update<T, E: From<AccessFileError>>(
        data: &Path,
        change: impl FnOnce(&mut AccessFile) -> Result<T, E>,
    ) -> Result<T, E> {
        let lock_path = data.join(ACCESS_LOCK_FILE);
        let lock = crate::permissions::private_file()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        fs2::FileExt::lock_exclusive(&lock).map_err(io(&lock_path))?;
        let mut file = AccessFile::load(data)?;
        let answer = change(&mut file)?;
        file.save(data)?;
        // The lock goes with the descriptor.
        drop(lock);
        Ok(answer)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_file_is_private_replaced_whole_and_an_oversized_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(AccessFile::load(dir.path()).unwrap(), AccessFile::default());
        AccessFile::update(dir.path(), |file| {
            file.links.push(Link { hash: "h".into(), person: "anna".into(), expires: 9 });
            Ok::<_, AccessFileError>(())
        })
        .unwrap();
        let path = dir.path().join(ACCESS_FILE);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(AccessFile::load(dir.path()).unwrap().links.len(), 1);
        assert!(!dir.path().join("access.json.tmp").exists());

        // A change that fails writes nothing.
        let failed: Result<(), AccessFileError> = AccessFile::update(dir.path(), |file| {
            file.links.clear();
            Err(AccessFileError::Invalid { path: PathBuf::new(), message: "no".into() })
        });
        assert!(failed.is_err());
        assert_eq!(AccessFile::load(dir.path()).unwrap().links.len(), 1);

        fs::write(&path, vec![b' '; MAX_ACCESS_FILE_BYTES as usize + 1]).unwrap();
        let error = AccessFile::load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("over the limit"), "{error}");
        fs::write(&path, vec![b' '; MAX_ACCESS_FILE_BYTES as usize]).unwrap();
        assert!(matches!(AccessFile::load(dir.path()), Err(AccessFileError::Invalid { .. })), "not JSON");
    }
}
