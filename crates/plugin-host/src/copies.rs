//! Copies of plugin libraries, each at a path named by its SHA-256.
//!
//! The dynamic loader keys loaded libraries by path: asked to open a path it has already
//! opened, it hands back the old library even when the file was replaced; and a library file
//! written over in place while loaded changes code that runs. Every build is therefore loaded
//! from a copy whose name is its hash, in a private folder (mode 0700, under the system's
//! temporary folder, `TMPDIR`) made when the first copy is needed and removed when the host
//! goes. The copy is written from the very bytes that were hashed, so the code loaded is the
//! code whose hash is reported. The host holds a lock on a file in its folder for as long as
//! it lives; the folders whose lock nobody holds were left by killed servers and are removed by
//! the next one that makes its own (a lock, unlike a process id, is seen across containers).

use std::fs::{File, Permissions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The start of every folder of copies' name.
const PREFIX: &str = "kindred-plugins-";
/// The file whose lock says a folder is in use.
const LOCK: &str = ".in-use";
/// A folder without its lock file this old was abandoned while being made.
const UNLOCKED_GRACE: Duration = Duration::from_secs(3600);

/// The folder of copies, and the lock that says it is in use.
#[derive(Debug)]
struct Folder {
    dir: tempfile::TempDir,
    _lock: File,
}

/// The private folder of copies, made on first use.
#[derive(Debug, Default)]
pub(crate) struct LibraryCopies {
    folder: Option<Folder>,
}

/// Makes a folder of copies: 0700, with its lock held.
fn make_folder() -> std::io::Result<Folder> {
    let dir = tempfile::Builder::new().prefix(PREFIX).permissions(Permissions::from_mode(0o700)).tempdir()?;
    let lock = File::create(dir.path().join(LOCK))?;
    lock.lock()?;
    Ok(Folder { dir, _lock: lock })
}

impl LibraryCopies {
    /// Writes `bytes` (whose SHA-256 is `sha256`) as plugin `plugin`'s copy and returns its
    /// path; a copy already there with those very bytes is reused.
    pub(crate) fn copy(&mut self, plugin: &str, sha256: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        // A folder removed under the host (by hand) is made again.
        if self.folder.as_ref().is_none_or(|folder| !folder.dir.path().is_dir()) {
            remove_abandoned(&std::env::temp_dir());
            self.folder = Some(make_folder()?);
        }
        let dir = match &self.folder {
            Some(folder) => folder.dir.path().to_path_buf(),
            None => return Err(std::io::Error::other("no folder for copies")),
        };
        let safe_name: String = plugin
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        let path = dir.join(format!("{safe_name}-{sha256}.so"));
        if std::fs::read(&path).is_ok_and(|existing| existing == bytes) {
            return Ok(path);
        }
        // Written beside and renamed, so a copy is never seen half written.
        let mut partial = tempfile::NamedTempFile::new_in(&dir)?;
        partial.write_all(bytes)?;
        partial.as_file().sync_all()?;
        partial.persist(&path).map_err(|error| error.error)?;
        Ok(path)
    }
}

/// Whether the folder of copies at `folder` is abandoned: nobody holds its lock, or it never
/// got one and is old.
fn abandoned(folder: &Path) -> bool {
    match File::open(folder.join(LOCK)) {
        Ok(lock) => match lock.try_lock() {
            Ok(()) => true,
            Err(_) => false,
        },
        Err(_) => std::fs::metadata(folder).and_then(|metadata| metadata.modified()).is_ok_and(|modified| {
            SystemTime::now().duration_since(modified).unwrap_or_default() > UNLOCKED_GRACE
        }),
    }
}

/// Removes, under `temp`, the folders of copies that this user's servers left behind when
/// they were killed. Best effort: what cannot be removed stays.
fn remove_abandoned(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else { return };
    let me = rustix::process::getuid().as_raw();
    for entry in entries.flatten() {
        let named = entry.file_name().to_str().is_some_and(|name| name.starts_with(PREFIX));
        // The entry itself, not what a symbolic link points at.
        let ours = entry.metadata().is_ok_and(|metadata| metadata.is_dir() && metadata.uid() == me);
        if named
            && ours
            && abandoned(&entry.path())
            && let Err(error) = std::fs::remove_dir_all(entry.path())
        {
            tracing::debug!(folder = %entry.path().display(), %error, "cannot remove abandoned plugin copies");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_named_by_its_hash_and_reused() {
        let mut copies = LibraryCopies::default();
        let first = copies.copy("my plugin", "abc123", b"first build").unwrap();
        assert!(first.file_name().unwrap().to_str().unwrap() == "my_plugin-abc123.so");
        assert_eq!(std::fs::read(&first).unwrap(), b"first build");
        let dir = first.parent().unwrap().to_path_buf();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700, "private");
        let again = copies.copy("my plugin", "abc123", b"first build").unwrap();
        assert_eq!(again, first);
        // A file under the copy's name with other bytes is written over, never trusted.
        std::fs::write(&first, b"planted").unwrap();
        copies.copy("my plugin", "abc123", b"first build").unwrap();
        assert_eq!(std::fs::read(&first).unwrap(), b"first build");
        let second = copies.copy("my plugin", "def456", b"second build").unwrap();
        assert_ne!(second, first);
        assert_eq!(second.parent(), first.parent());
        assert!(!abandoned(&dir), "the host holds its folder's lock");
        drop(copies);
        assert!(!dir.exists(), "the folder goes with the host");
    }

    #[test]
    fn folders_of_killed_servers_are_removed_and_live_ones_kept() {
        let temp = tempfile::tempdir().unwrap();
        let abandoned_folder = temp.path().join(format!("{PREFIX}killed"));
        std::fs::create_dir(&abandoned_folder).unwrap();
        File::create(abandoned_folder.join(LOCK)).unwrap();
        let live = temp.path().join(format!("{PREFIX}live"));
        std::fs::create_dir(&live).unwrap();
        let held = File::create(live.join(LOCK)).unwrap();
        held.lock().unwrap();
        let being_made = temp.path().join(format!("{PREFIX}new"));
        std::fs::create_dir(&being_made).unwrap();
        let other = temp.path().join("not-ours");
        std::fs::create_dir(&other).unwrap();
        remove_abandoned(temp.path());
        assert!(!abandoned_folder.exists());
        assert!(live.exists() && being_made.exists() && other.exists());
        drop(held);
    }
}
