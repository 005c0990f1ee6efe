//! A node's files are private to its user: the node key, access.json with its people and tokens,
//! the ledger with every receipt and claim, the directory, SIE files and logs. Data
//! directories are created `0700` and files `0600`; the commands run with a umask of
//! `0077`, so what sled and the exports create later is private too; and on start a node
//! tightens what an older version (or a copy) left readable to others, saying so.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Mode of a data directory and the folders in it: the owner only.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of every file a node writes: the owner reads and writes.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// The permission bits a private file or folder must not have: any for group or others.
const OTHERS_BITS: u32 = 0o077;
/// Most entries [`tighten`] looks at in a data directory (sled keeps few files; a larger
/// tree is not a node's and is left alone past this many).
pub const MAX_TIGHTENED_ENTRIES: usize = 100_000;

/// Makes every file and folder the process creates from now on private (umask `0077`).
pub fn restrict_umask() {
    #[cfg(unix)]
    {
        rustix::process::umask(rustix::fs::Mode::from_bits_truncate(OTHERS_BITS));
    }
}

/// Creates `path` and its missing parents as private folders.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(PRIVATE_DIR_MODE);
    }
    builder.create(path)
}

/// Options that create a file readable and writable by its owner only.
pub fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(PRIVATE_FILE_MODE);
    }
    options
}

/// Writes `bytes` to `path` as a private file: a new one is created `0600`, and one that
/// was there loses its group and other permissions.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = private_file().write(true).create(true).truncate(true).open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & OTHERS_BITS != 0 {
            file.set_permissions(fs::Permissions::from_mode(mode & !OTHERS_BITS))?;
        }
    }
    io::Write::write_all(&mut file, bytes)
}

/// A file operation that failed, with the file it failed on.
#[derive(Debug)]
pub struct FileFailure {
    /// The file or folder concerned.
    pub path: PathBuf,
    /// What the operating system said.
    pub error: io::Error,
}

/// Replaces `path` with `bytes` so that a crash or power loss leaves either the old file or
/// the new one, never a mix: a private temporary file beside it (`<name>.tmp`), fsynced,
/// renamed over it, and the folder fsynced so the rename itself survives.
pub fn replace_private(path: &Path, bytes: &[u8]) -> Result<(), FileFailure> {
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |error| FileFailure { path, error }
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    // A temporary file a crash left behind goes first, so the new one is created private.
    match fs::remove_file(&temporary) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(failed(&temporary)(error)),
        _ => {}
    }
    {
        let mut file =
            private_file().write(true).create_new(true).open(&temporary).map_err(failed(&temporary))?;
        io::Write::write_all(&mut file, bytes).map_err(failed(&temporary))?;
        file.sync_all().map_err(failed(&temporary))?;
    }
    fs::rename(&temporary, path).map_err(failed(path))?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::File::open(folder).and_then(|folder| folder.sync_all()).map_err(failed(folder))
}

/// Takes group and other permissions away from `data` and everything in it (not
/// following symbolic links), and returns what it changed.
pub fn tighten(data: &Path) -> io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    let mut pending = vec![data.to_owned()];
    let mut looked = 0usize;
    while let Some(path) = pending.pop() {
        looked += 1;
        if looked > MAX_TIGHTENED_ENTRIES {
            break;
        }
        let metadata = fs::symlink_metadata(&path)?;
        if metadata.is_dir() {
            for entry in fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode();
            if !metadata.file_type().is_symlink() && mode & OTHERS_BITS != 0 {
                fs::set_permissions(&path, fs::Permissions::from_mode(mode & !OTHERS_BITS))?;
                changed.push(path);
            }
        }
    }
    Ok(changed)
}

/// Makes a node's data directory private before it starts: what [`tighten`] changed is
/// logged as a warning each (a failure too; it does not stop the node).
pub fn secure_data_dir(data: &Path) {
    match tighten(data) {
        Ok(changed) => {
            for path in changed {
                tracing::warn!(path = %path.display(), "was readable by other users; made private (0600/0700)");
            }
        }
        Err(error) => {
            tracing::warn!(data = %data.display(), %error, "could not make the data directory private")
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn what_others_could_read_is_made_private_and_named() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("node");
        create_private_dir(&data.join("ledger")).unwrap();
        assert_eq!((mode(&data), mode(&data.join("ledger"))), (0o700, 0o700));
        let mut file = private_file().write(true).create_new(true).open(data.join("config.toml")).unwrap();
        io::Write::write_all(&mut file, b"x").unwrap();
        assert_eq!(mode(&data.join("config.toml")), 0o600);
        assert!(tighten(&data).unwrap().is_empty(), "nothing to change");

        // As an older kvitt left them: a world-readable ledger in a 0755 folder.
        fs::write(data.join("ledger/db"), b"records").unwrap();
        fs::set_permissions(data.join("ledger/db"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(data.join("ledger"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o750)).unwrap();
        // An export over a file others could read leaves it private.
        fs::write(data.join("old.se"), b"old").unwrap();
        fs::set_permissions(data.join("old.se"), fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&data.join("old.se"), b"new").unwrap();
        assert_eq!(
            (mode(&data.join("old.se")), fs::read(data.join("old.se")).unwrap()),
            (0o600, b"new".to_vec())
        );
        write_private(&data.join("new.se"), b"new").unwrap();
        assert_eq!(mode(&data.join("new.se")), 0o600);
        let mut changed = tighten(&data).unwrap();
        changed.sort();
        assert_eq!(changed, [data.clone(), data.join("ledger"), data.join("ledger/db")]);
        assert_eq!(
            (mode(&data), mode(&data.join("ledger")), mode(&data.join("ledger/db"))),
            (0o700, 0o700, 0o600)
        );
    }

    #[test]
    fn a_replaced_file_is_whole_private_and_leaves_no_temporary_behind() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("config.toml");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        // What a crash between writing and renaming left, readable by others.
        fs::write(root.path().join("config.toml.tmp"), b"half").unwrap();
        fs::set_permissions(root.path().join("config.toml.tmp"), fs::Permissions::from_mode(0o644)).unwrap();

        replace_private(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600);
        assert!(!root.path().join("config.toml.tmp").exists());

        let missing = root.path().join("no-such-folder/config.toml");
        let failure = replace_private(&missing, b"x").unwrap_err();
        assert_eq!(failure.path, root.path().join("no-such-folder/config.toml.tmp"));
        assert_eq!(failure.error.kind(), io::ErrorKind::NotFound);
    }
}
