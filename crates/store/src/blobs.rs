//! Where materials' contents live: one interface ([`BlobStore`]), keyed by
//! SHA-256, written once and never overwritten. [`FsBlobs`] keeps them in
//! the data folder (`blobs/ab/cd/<sha256>`); [`S3Blobs`] keeps them in an
//! S3-compatible object store (`[blobs] backend = "s3"`).
//!
//! A content arrives as a complete spooled file ([`BlobStore::spool_dir`])
//! whose digest the caller computed while receiving it; it is moved in
//! whole (rename on the same file system, after an fsync), so a crash
//! never leaves half a content under a digest.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub mod s3;
pub use s3::{S3Blobs, S3Settings};

/// A content store keyed by SHA-256 (64 lower-case hex digits).
pub trait BlobStore: Send + Sync {
    /// Where uploads are spooled before [`Self::put`] (on the same file
    /// system as the store, for the rename).
    fn spool_dir(&self) -> &Path;
    /// Takes the complete file at `spooled` as the content `sha256`; when
    /// the content is already there, the file is dropped and the stored one
    /// kept. Returns whether it was new.
    fn put(&self, sha256: &str, spooled: &Path) -> io::Result<bool>;
    /// The content, if stored.
    fn open(&self, sha256: &str) -> io::Result<Option<Box<dyn Read + Send>>>;
    fn exists(&self, sha256: &str) -> io::Result<bool>;
}

/// Whether `s` is a SHA-256 as this store names contents.
pub fn is_digest(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Contents as files under a folder.
#[derive(Debug, Clone)]
pub struct FsBlobs {
    root: PathBuf,
    spool: PathBuf,
}

impl FsBlobs {
    /// Uses (and creates) `root` and `root/spool`.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let spool = root.join("spool");
        fs::create_dir_all(&spool)?;
        Ok(Self { root, spool })
    }

    fn path_of(&self, sha256: &str) -> io::Result<PathBuf> {
        if !is_digest(sha256) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a SHA-256"));
        }
        Ok(self
            .root
            .join(&sha256[0..2])
            .join(&sha256[2..4])
            .join(sha256))
    }
}

impl BlobStore for FsBlobs {
    fn spool_dir(&self) -> &Path {
        &self.spool
    }

    fn put(&self, sha256: &str, spooled: &Path) -> io::Result<bool> {
        let path = self.path_of(sha256)?;
        if path.exists() {
            fs::remove_file(spooled)?;
            return Ok(false);
        }
        let dir = path.parent().expect("a content's folder");
        fs::create_dir_all(dir)?;
        File::open(spooled)?.sync_all()?;
        // Never over an existing content: link, then drop the spooled name
        // (a concurrent upload of the same content loses the race harmlessly).
        match fs::hard_link(spooled, &path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                fs::remove_file(spooled)?;
                return Ok(false);
            }
            Err(_) => {
                // A file system without hard links: rename (same folder tree).
                fs::rename(spooled, &path)?;
                sync_dir(dir);
                return Ok(true);
            }
        }
        fs::remove_file(spooled)?;
        sync_dir(dir);
        Ok(true)
    }

    fn open(&self, sha256: &str) -> io::Result<Option<Box<dyn Read + Send>>> {
        match File::open(self.path_of(sha256)?) {
            Ok(f) => Ok(Some(Box::new(f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn exists(&self, sha256: &str) -> io::Result<bool> {
        Ok(self.path_of(sha256)?.exists())
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn spooled(store: &FsBlobs, name: &str, body: &[u8]) -> PathBuf {
        let p = store.spool_dir().join(name);
        File::create(&p).unwrap().write_all(body).unwrap();
        p
    }

    #[test]
    fn a_content_is_stored_once_and_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("onestop-blobs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = FsBlobs::new(&dir).unwrap();
        let sha = "ab".repeat(32);
        assert!(store.put(&sha, &spooled(&store, "a", b"first")).unwrap());
        let second = spooled(&store, "b", b"second");
        assert!(!store.put(&sha, &second).unwrap());
        assert!(!second.exists(), "the spooled copy is dropped");
        let mut got = String::new();
        store
            .open(&sha)
            .unwrap()
            .unwrap()
            .read_to_string(&mut got)
            .unwrap();
        assert_eq!(got, "first");
        assert!(store.exists(&sha).unwrap());
        assert!(store.open(&"cd".repeat(32)).unwrap().is_none());
        assert!(store.open("../../etc/passwd").is_err());
        assert_eq!(fs::read_dir(store.spool_dir()).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }
}
