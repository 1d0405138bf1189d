//! The pages in memory.
//!
//! **Rule**: a file is read the first time it is asked for, then served from
//! memory. At most once per second per file, a request `stat`s it again: if
//! its size, date or inode changed, it is read again (so an edited page shows
//! up within a second, and the hot path costs no system call). Only what is
//! really a file under the root is ever read: the path is canonicalized
//! (symlinks resolved) and must still start with the canonical root.
//!
//! Files over [`MAX_CACHED_FILE`] bytes, or beyond [`MAX_CACHED_TOTAL`] in
//! all, are not kept: they are streamed from disk each time. Missing files
//! are never remembered (a scan of random names must not fill the memory).

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use protocols::http;

/// Largest file kept in memory.
pub const MAX_CACHED_FILE: u64 = 1024 * 1024;
/// Most bytes kept in memory in all.
pub const MAX_CACHED_TOTAL: usize = 64 * 1024 * 1024;
/// How long a cached page is served without looking at its file again.
pub const REVALIDATE_AFTER: Duration = Duration::from_secs(1);

/// A file read into memory.
#[derive(Debug)]
pub struct Page {
    pub content_type: &'static str,
    /// What follows the blank line: the content, plus `\n` for HTML (the
    /// sheet's rule).
    pub body: Vec<u8>,
    stamp: Stamp,
    /// When the file was last looked at, in ms since the cache's creation.
    checked_ms: AtomicU64,
}

/// A file too big to be kept, opened and ready to stream.
#[derive(Debug)]
pub struct LargeFile {
    pub file: File,
    pub len: u64,
    pub content_type: &'static str,
    /// Whether a `\n` follows the content (HTML).
    pub newline: bool,
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    Page(Arc<Page>),
    Large(LargeFile),
    /// No such file under the root (or a link leading out of it, or a folder).
    Missing,
}

/// What identifies a version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }
}

#[derive(Debug, Default)]
struct Entries {
    pages: HashMap<String, Arc<Page>>,
    bytes: usize,
}

/// The files of one served folder.
#[derive(Debug)]
pub struct PageCache {
    /// Canonical (absolute, no symlink) path of the served folder.
    root: PathBuf,
    entries: RwLock<Entries>,
    epoch: Instant,
}

impl PageCache {
    /// `root` must exist; it is canonicalized here.
    pub fn new(root: &Path) -> io::Result<PageCache> {
        Ok(PageCache {
            root: fs::canonicalize(root)?,
            entries: RwLock::default(),
            epoch: Instant::now(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Looks up `rel`, a path already cleaned by
    /// [`protocols::http::sanitize_target`] (plus a language folder).
    pub fn lookup(&self, rel: &str) -> Lookup {
        let now = self.epoch.elapsed().as_millis() as u64;
        if let Some(page) = self.cached(rel) {
            if now.saturating_sub(page.checked_ms.load(Ordering::Relaxed))
                < REVALIDATE_AFTER.as_millis() as u64
            {
                return Lookup::Page(page);
            }
        }
        self.revalidate(rel, now)
    }

    fn cached(&self, rel: &str) -> Option<Arc<Page>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.pages.get(rel).cloned()
    }

    /// The slow path: stat the file, reuse the cached copy if unchanged,
    /// else read it again.
    fn revalidate(&self, rel: &str, now: u64) -> Lookup {
        let path = self.root.join(rel);
        let stamp = match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Stamp::of(&meta),
            _ => {
                self.forget(rel);
                return Lookup::Missing;
            }
        };
        if let Some(page) = self.cached(rel) {
            if page.stamp == stamp {
                page.checked_ms.store(now, Ordering::Relaxed);
                return Lookup::Page(page);
            }
        }
        match self.load(rel, &path, now) {
            Ok(found) => found,
            Err(_) => {
                self.forget(rel);
                Lookup::Missing
            }
        }
    }

    fn load(&self, rel: &str, path: &Path, now: u64) -> io::Result<Lookup> {
        // A symlink may lead anywhere: only its target's real path counts.
        let real = fs::canonicalize(path)?;
        if !real.starts_with(&self.root) {
            return Ok(Lookup::Missing);
        }
        let mut file = File::open(&real)?;
        // Between the check and the open, a folder on the way may have been
        // swapped for a link leading out: check what was really opened.
        if !opened_beneath(&file, &self.root) {
            return Ok(Lookup::Missing);
        }
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(Lookup::Missing);
        }
        let content_type = http::content_type(rel);
        let newline = http::adds_newline(rel);
        if meta.len() > MAX_CACHED_FILE {
            return Ok(Lookup::Large(LargeFile {
                file,
                len: meta.len(),
                content_type,
                newline,
            }));
        }
        let mut body = Vec::with_capacity(meta.len() as usize + 1);
        file.read_to_end(&mut body)?;
        if newline {
            body.push(b'\n');
        }
        let page = Arc::new(Page {
            content_type,
            body,
            stamp: Stamp::of(&meta),
            checked_ms: AtomicU64::new(now),
        });
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let old = entries.pages.remove(rel).map_or(0, |p| p.body.len());
        entries.bytes -= old;
        if entries.bytes + page.body.len() <= MAX_CACHED_TOTAL {
            entries.bytes += page.body.len();
            entries.pages.insert(rel.to_string(), Arc::clone(&page));
        }
        Ok(Lookup::Page(page))
    }

    fn forget(&self, rel: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(page) = entries.pages.remove(rel) {
            entries.bytes -= page.body.len();
        }
    }
}

/// Whether an open file lies under `root`, by the path the kernel gives
/// for its descriptor. Without `/proc` only the check before the open holds.
fn opened_beneath(file: &File, root: &Path) -> bool {
    use std::os::fd::AsRawFd;
    match fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
        Ok(real) => real.starts_with(root),
        Err(_) => !Path::new("/proc/self/fd").is_dir(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn page(found: Lookup) -> Arc<Page> {
        match found {
            Lookup::Page(p) => p,
            other => panic!("expected a cached page, got {other:?}"),
        }
    }

    #[test]
    fn reads_once_then_sees_edits_after_the_delay() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.html"), "v1").unwrap();
        let cache = PageCache::new(dir.path()).unwrap();
        let first = page(cache.lookup("a.html"));
        assert_eq!(first.body, b"v1\n");
        assert_eq!(first.content_type, "text/html");
        fs::write(dir.path().join("a.html"), "version 2").unwrap();
        // Within the delay the cached copy is served (no system call)...
        assert!(Arc::ptr_eq(&first, &page(cache.lookup("a.html"))));
        // ... after it, the change is seen.
        std::thread::sleep(REVALIDATE_AFTER + Duration::from_millis(50));
        assert_eq!(page(cache.lookup("a.html")).body, b"version 2\n");
        fs::remove_file(dir.path().join("a.html")).unwrap();
        std::thread::sleep(REVALIDATE_AFTER + Duration::from_millis(50));
        assert!(matches!(cache.lookup("a.html"), Lookup::Missing));
    }

    #[test]
    fn links_leading_out_and_folders_are_missing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        fs::write(root.join("in.txt"), "in").unwrap();
        symlink("../secret.txt", root.join("out.txt")).unwrap();
        symlink("in.txt", root.join("alias.txt")).unwrap();
        symlink("..", root.join("up")).unwrap();
        let cache = PageCache::new(&root).unwrap();
        assert!(matches!(cache.lookup("out.txt"), Lookup::Missing));
        assert!(matches!(cache.lookup("up/secret.txt"), Lookup::Missing));
        assert!(matches!(cache.lookup("sub"), Lookup::Missing));
        assert_eq!(page(cache.lookup("alias.txt")).body, b"in");
    }

    #[test]
    fn what_is_opened_is_checked_not_only_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap().join("root");
        fs::create_dir_all(&root).unwrap();
        fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        fs::write(root.join("in.txt"), "in").unwrap();
        let outside = File::open(dir.path().join("secret.txt")).unwrap();
        assert!(!opened_beneath(&outside, &root));
        let inside = File::open(root.join("in.txt")).unwrap();
        assert!(opened_beneath(&inside, &root));
    }

    #[test]
    fn big_files_are_streamed_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![b'x'; MAX_CACHED_FILE as usize + 1];
        fs::write(dir.path().join("big.txt"), &big).unwrap();
        let cache = PageCache::new(dir.path()).unwrap();
        match cache.lookup("big.txt") {
            Lookup::Large(f) => {
                assert_eq!(f.len, big.len() as u64);
                assert!(!f.newline);
            }
            other => panic!("{other:?}"),
        }
    }
}
