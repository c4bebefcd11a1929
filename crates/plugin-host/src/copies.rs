//! Copies of rebuilt libraries, each at a path named by its SHA-256.
//!
//! The dynamic loader keys loaded libraries by path: asked to open a path it has already
//! opened, it hands back the old library even when the file was replaced; and a library file
//! written over in place while loaded changes code that runs. Every build is therefore loaded
//! from a copy whose name is its hash, in a private folder (mode 0700,
//! under the system's temporary folder, `TMPDIR`) made when the first copy is needed and
//! removed when the host goes. The copy is written from the very bytes that were hashed, so
//! the code loaded is the code whose hash is reported.

use std::io::Write;
use std::path::PathBuf;

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
                let dir = tempfile::Builder::new().prefix("kindred-plugins-").tempdir()?;
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
        drop(copies);
        assert!(!dir.exists(), "the folder goes with the host");
    }
}
