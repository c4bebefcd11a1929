//! Copies of rebuilt libraries, each at a path named by its SHA-256.
//!
//! The dynamic loader keys loaded libraries by path: asked to open a path it has already
//! opened, it hands back the old library even when the file was replaced; and a library file
//! written over in place while loaded changes code that runs. Every build is therefore loaded
//! from a copy whose name is its hash, in a private folder (mode 0700,
//! under the system's temporary folder, `TMPDIR`) made when the first copy is needed and
//! removed when the host goes. The copy is written from the very bytes that were hashed, so
//! the code loaded is the code whose hash is reported. The folder's name carries the server's
//! process id, so the folders of servers that were killed (and could not remove theirs) are
//! removed by the next one that makes its own.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The start of every folder of copies' name, before the process id.
const PREFIX: &str = "kindred-plugins-";

/// The private folder of copies, made on first use.
#[derive(Debug, Default)]
pub(crate) struct LibraryCopies {
    dir: Option<tempfile::TempDir>,
}

impl LibraryCopies {
    /// Writes `bytes` (whose SHA-256 is `sha256`) as plugin `plugin`'s copy and returns its
    /// path; a copy already there for that hash is reused.
    pub(crate) fn copy(&mut self, plugin: &str, sha256: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let dir = match &self.dir {
            Some(dir) => dir.path().to_path_buf(),
            None => {
                remove_abandoned(&std::env::temp_dir());
                let prefix = format!("{PREFIX}{}-", std::process::id());
                let dir = tempfile::Builder::new().prefix(&prefix).tempdir()?;
                let path = dir.path().to_path_buf();
                self.dir = Some(dir);
                path
            }
        };
        let safe_name: String = plugin
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        let path = dir.join(format!("{safe_name}-{sha256}.so"));
        if path.is_file() {
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

/// The process id a folder of copies named `name` belongs to.
fn owner_pid(name: &str) -> Option<i32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

/// Removes, under `temp`, the folders of copies that this user's servers left behind when
/// they were killed: those whose process is gone. Best effort: what cannot be removed stays.
fn remove_abandoned(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else { return };
    let me = rustix::process::getuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else { continue };
        let ours = entry.metadata().is_ok_and(|metadata| {
            use std::os::unix::fs::MetadataExt;
            metadata.is_dir() && metadata.uid() == me
        });
        let alive = rustix::process::Pid::from_raw(pid)
            .is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok());
        if ours
            && !alive
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
        let again = copies.copy("my plugin", "abc123", b"ignored: same hash").unwrap();
        assert_eq!(again, first);
        let second = copies.copy("my plugin", "def456", b"second build").unwrap();
        assert_ne!(second, first);
        assert_eq!(second.parent(), first.parent());
        let dir = first.parent().unwrap().to_path_buf();
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(owner_pid(&name), Some(std::process::id() as i32), "{name}");
        drop(copies);
        assert!(!dir.exists(), "the folder goes with the host");
    }

    #[test]
    fn folders_of_killed_servers_are_removed_and_live_ones_kept() {
        let temp = tempfile::tempdir().unwrap();
        // No process has a pid this large (the kernel's maximum is 2^22).
        let abandoned = temp.path().join(format!("{PREFIX}{}-abc", i32::MAX - 1));
        let live = temp.path().join(format!("{PREFIX}{}-def", std::process::id()));
        let other = temp.path().join("kindred-plugins-notapid");
        for folder in [&abandoned, &live, &other] {
            std::fs::create_dir(folder).unwrap();
            std::fs::write(folder.join("x.so"), b"copy").unwrap();
        }
        remove_abandoned(temp.path());
        assert!(!abandoned.exists());
        assert!(live.exists() && other.exists());
    }
}
