//! Inputs that are not local files: `s3://bucket/prefix` URLs. This crate knows only that such
//! a path is remote and asks the handler the binary installs (trailgraph-s3) to list it and to
//! open its objects as streams; it links no HTTP or cloud client itself, and a local path never
//! reaches the handler (one prefix test per path).

use anyhow::Result;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The URL schemes handled remotely.
pub const SCHEMES: &[&str] = &["s3://"];

/// A remote object's bytes: read as a stream; seeking starts a ranged read.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// One object of a listing.
#[derive(Debug, Clone)]
pub struct Object {
    /// The object's URL (`s3://bucket/key`): the input's path and display name.
    pub url: String,
    pub size: u64,
    /// Last modification, seconds since the epoch.
    pub mtime: i64,
}

/// What one remote INPUT resolves to.
#[derive(Debug, Default)]
pub struct Listing {
    /// Objects that are not part of a case, in any order.
    pub objects: Vec<Object>,
    /// Cases found under the URL, copied to local directories.
    pub cases: Vec<PathBuf>,
}

/// The handler of remote inputs.
pub trait Remote: Send + Sync {
    /// The objects under `url` (a prefix, or one object), and the cases among them.
    fn list(&self, url: &str) -> Result<Listing>;
    /// Opens one object of a listing.
    fn open(&self, url: &str, size: u64) -> std::io::Result<Box<dyn ReadSeek>>;
}

static REMOTE: OnceLock<Box<dyn Remote>> = OnceLock::new();

/// Installs the handler of remote inputs (once per process; later calls are ignored).
pub fn install(remote: Box<dyn Remote>) {
    let _ = REMOTE.set(remote);
}

/// The URL of `path` when it names a remote input.
pub fn url_of(path: &Path) -> Option<&str> {
    let s = path.to_str()?;
    SCHEMES.iter().any(|p| s.starts_with(p)).then_some(s)
}

fn handler(url: &str) -> std::io::Result<&'static dyn Remote> {
    REMOTE.get().map(|r| &**r).ok_or_else(|| {
        std::io::Error::other(format!(
            "{url}: remote input is not supported by this program"
        ))
    })
}

/// Lists a remote input.
pub fn list(url: &str) -> Result<Listing> {
    handler(url)?.list(url)
}

/// Opens a remote object of `size` bytes.
pub fn open(url: &str, size: u64) -> std::io::Result<Box<dyn ReadSeek>> {
    handler(url)?.open(url, size)
}
