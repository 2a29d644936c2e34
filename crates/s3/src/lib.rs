//! S3 for trailgraph, through `object_store` (the `aws` feature only):
//!
//! - INPUT `s3://bucket/prefix` or `s3://bucket/key`: `install` makes this crate the handler of
//!   trailgraph-log's remote inputs (`trailgraph_log::remote`), which lists a prefix (paginated)
//!   and opens each object as a stream (`ObjectReader`: ranged GETs, resumed at the position
//!   reached when a body breaks off; seeking starts a new range). The log reader then applies
//!   the same selection, ordering and decoding as to local files.
//! - Cases in S3 (a prefix holding a trailgraph `manifest.json`) are copied into a local scratch
//!   directory, removed when the `Guard` is dropped, and read from there.
//! - `ingest -o s3://…`: `with_case` runs the ingest into a local copy and uploads the new and
//!   changed files, the manifest last (multipart for large parts).
//!
//! Credentials, region and endpoint come from the environment as `object_store` reads them
//! (`AmazonS3Builder::from_env`; see the README, "Reading from and writing to S3").

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, RetryConfig,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use trailgraph_log::discover::{CASE_MANIFEST, CASE_RUNS};
use trailgraph_log::remote::{Listing, Object, ReadSeek, Remote};

/// How to reach S3.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Send unsigned (anonymous) requests, as `aws --no-sign-request` does.
    pub no_sign_request: bool,
}

/// Removes the local copies of S3 cases when dropped.
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(s3) = HANDLER.get() {
            drop(s3.scratch.lock().map(|mut s| s.take()));
        }
    }
}

static HANDLER: OnceLock<Arc<S3>> = OnceLock::new();

/// Installs S3 as the handler of remote INPUT (`s3://…`). Nothing is contacted until an
/// `s3://` path is used.
pub fn install(options: Options) -> Guard {
    let s3 = HANDLER.get_or_init(|| Arc::new(S3::new(options)));
    trailgraph_log::remote::install(Box::new(Handler(Arc::clone(s3))));
    Guard(())
}

fn handler() -> Arc<S3> {
    Arc::clone(HANDLER.get_or_init(|| Arc::new(S3::new(Options::default()))))
}

/// Whether `path` is an `s3://` URL.
pub fn is_s3(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.starts_with("s3://"))
}

struct Handler(Arc<S3>);

impl Remote for Handler {
    fn list(&self, url: &str) -> Result<Listing> {
        self.0.list(url)
    }
    fn open(&self, url: &str, size: u64) -> std::io::Result<Box<dyn ReadSeek>> {
        let u = S3Url::parse(url).map_err(|e| std::io::Error::other(format!("{e:#}")))?;
        let store = self
            .0
            .store(&u.bucket)
            .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
        Ok(Box::new(ObjectReader {
            s3: Arc::clone(&self.0),
            store,
            key: u.key()?,
            size,
            pos: 0,
            body: None,
            chunk: Bytes::new(),
            failures: 0,
        }))
    }
}

/// The connection settings: bounded waits, so that an unreachable endpoint is an error, not a
/// hang.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One request, body included; a longer read is resumed by a new ranged request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const MAX_RETRIES: usize = 4;
const RETRY_TIMEOUT: Duration = Duration::from_secs(60);
/// Body failures in a row (with no byte read in between) before a read fails.
const MAX_RESUMES: u32 = 4;
/// Objects copied at once (case parts).
const PARALLEL_COPIES: usize = 8;

/// An `s3://bucket/key` URL.
#[derive(Debug, Clone)]
struct S3Url {
    bucket: String,
    /// The key or prefix, without a leading `/` (may be empty or end in `/`).
    key: String,
}

impl S3Url {
    fn parse(url: &str) -> Result<S3Url> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| anyhow!("{url}: not an s3:// URL"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.');
        if !valid {
            bail!("{url}: bad S3 URL: expected s3://BUCKET/PREFIX with a bucket name of 3 to 63 lowercase letters, digits, '-' or '.'");
        }
        if key.starts_with('/') || key.contains("//") {
            bail!("{url}: bad S3 URL: empty path segment in the key");
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The key as an object path.
    fn key(&self) -> std::io::Result<Key> {
        Key::parse(self.key.trim_end_matches('/'))
            .map_err(|e| std::io::Error::other(format!("{}: bad S3 key: {e}", self.url(&self.key))))
    }
}

struct S3 {
    options: Options,
    rt: OnceLock<std::io::Result<tokio::runtime::Runtime>>,
    stores: Mutex<HashMap<String, Arc<AmazonS3>>>,
    /// Listings already made, by URL (INPUT is discovered more than once by some commands).
    listings: Mutex<HashMap<String, Arc<ListingOf>>>,
    /// Where cases are copied.
    scratch: Mutex<Option<tempfile::TempDir>>,
}

/// A listing and the local copies of its cases.
struct ListingOf {
    objects: Vec<Object>,
    cases: Vec<PathBuf>,
}

impl S3 {
    fn new(options: Options) -> S3 {
        S3 {
            options,
            rt: OnceLock::new(),
            stores: Mutex::new(HashMap::new()),
            listings: Mutex::new(HashMap::new()),
            scratch: Mutex::new(None),
        }
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> std::io::Result<F::Output> {
        let rt = self.rt.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("trailgraph-s3")
                .enable_all()
                .build()
        });
        match rt {
            Ok(rt) => Ok(rt.block_on(f)),
            Err(e) => Err(std::io::Error::other(format!(
                "cannot start the S3 client: {e}"
            ))),
        }
    }

    fn endpoint() -> Option<String> {
        ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    }

    /// The client of `bucket` (one per bucket: the region may differ).
    fn store(&self, bucket: &str) -> Result<Arc<AmazonS3>> {
        if let Some(s) = self.stores.lock().expect("lock").get(bucket) {
            return Ok(Arc::clone(s));
        }
        let endpoint = Self::endpoint();
        let client = ClientOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT)
            .with_allow_http(
                endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://")),
            );
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: MAX_RETRIES,
            retry_timeout: RETRY_TIMEOUT,
        };
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_client_options(client.clone())
            .with_retry(retry);
        if self.options.no_sign_request {
            b = b.with_skip_signature(true);
        }
        let region_set = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()));
        if !region_set && endpoint.is_none() {
            // The bucket's region, from S3 itself (a HEAD request anyone may make).
            let region = self
                .block_on(object_store::aws::resolve_bucket_region(bucket, &client))?
                .map_err(|e| anyhow!("s3://{bucket}: {}", describe(&e)))?;
            b = b.with_region(region);
        }
        let store = Arc::new(
            b.build()
                .map_err(|e| anyhow!("s3://{bucket}: cannot configure S3: {}", one_line(&e)))?,
        );
        self.stores
            .lock()
            .expect("lock")
            .insert(bucket.to_string(), Arc::clone(&store));
        Ok(store)
    }

    fn list(&self, url: &str) -> Result<Listing> {
        let cached = self.listings.lock().expect("lock").get(url).cloned();
        let l = match cached {
            Some(l) => l,
            None => {
                let l = Arc::new(self.list_new(url)?);
                self.listings
                    .lock()
                    .expect("lock")
                    .insert(url.to_string(), Arc::clone(&l));
                l
            }
        };
        Ok(Listing {
            objects: l.objects.clone(),
            cases: l.cases.clone(),
        })
    }

    fn list_new(&self, url: &str) -> Result<ListingOf> {
        let u = S3Url::parse(url)?;
        let store = self.store(&u.bucket)?;
        let prefix = u.key.trim_end_matches('/');
        let prefix_key = (!prefix.is_empty())
            .then(|| Key::parse(prefix))
            .transpose()
            .map_err(|e| anyhow!("{url}: bad S3 key: {e}"))?;
        let metas: Vec<object_store::ObjectMeta> = self
            .block_on(store.list(prefix_key.as_ref()).try_collect())?
            .map_err(|e| anyhow!("{url}: {}", describe(&e)))?;
        if metas.is_empty() {
            if let (Some(k), false) = (&prefix_key, u.key.ends_with('/')) {
                // One object named by its key.
                let meta = self.block_on(store.head(k))?.map_err(|e| match e {
                    object_store::Error::NotFound { .. } => {
                        anyhow!("{url}: no such object or prefix")
                    }
                    e => anyhow!("{url}: {}", describe(&e)),
                })?;
                return Ok(ListingOf {
                    objects: vec![object(&u, &meta)],
                    cases: Vec::new(),
                });
            }
            if prefix_key.is_some() {
                bail!("{url}: no such prefix (no object under it)");
            }
        }
        // Prefixes holding a trailgraph case manifest are cases, as directories are locally.
        let mut case_dirs = BTreeSet::new();
        for m in &metas {
            let key = m.location.as_ref();
            // `manifests/<RUN>.json` (or, of an older format, `manifest.json`).
            let dir = if m.location.filename() == Some(CASE_MANIFEST) {
                Some(&key[..key.len() - CASE_MANIFEST.len()])
            } else {
                run_manifest_case(key)
            };
            if let Some(dir) = dir {
                if !case_dirs.contains(dir) && self.is_case(&store, &u, m)? {
                    case_dirs.insert(dir.to_string());
                }
            }
        }
        // A case inside a case is part of it.
        let outer: Vec<String> = case_dirs
            .iter()
            .filter(|d| {
                !case_dirs
                    .iter()
                    .any(|o| o != *d && d.starts_with(o.as_str()))
            })
            .cloned()
            .collect();
        let mut objects = Vec::new();
        let mut of_case: BTreeMap<&str, Vec<&object_store::ObjectMeta>> = BTreeMap::new();
        for m in &metas {
            let key = m.location.as_ref();
            match outer.iter().find(|d| key.starts_with(d.as_str())) {
                Some(d) => of_case.entry(d.as_str()).or_default().push(m),
                None => objects.push(object(&u, m)),
            }
        }
        let mut cases = Vec::new();
        for (dir, metas) in of_case {
            let local = self.scratch()?.join("in").join(&u.bucket).join(dir);
            self.copy_case(&store, &u, dir, &metas, &local)?;
            cases.push(local);
        }
        Ok(ListingOf { objects, cases })
    }

    /// Whether the manifest object `m` is a trailgraph case manifest.
    fn is_case(&self, store: &AmazonS3, u: &S3Url, m: &object_store::ObjectMeta) -> Result<bool> {
        if m.size == 0 {
            return Ok(false);
        }
        let head = self
            .block_on(store.get_range(&m.location, 0..m.size.min(4096)))?
            .map_err(|e| anyhow!("{}: {}", u.url(m.location.as_ref()), describe(&e)))?;
        Ok(contains(&head, b"\"trailgraph-case\""))
    }

    /// The local scratch directory for copies of cases.
    fn scratch(&self) -> Result<PathBuf> {
        let mut s = self.scratch.lock().expect("lock");
        if s.is_none() {
            *s = Some(
                tempfile::Builder::new()
                    .prefix("trailgraph-s3-")
                    .tempdir()
                    .context("cannot create a scratch directory for S3 cases (TMPDIR)")?,
            );
        }
        Ok(s.as_ref().expect("set").path().to_path_buf())
    }

    /// Copies the objects of the case at `dir` (a key prefix ending in `/`, or empty) into the
    /// local directory `local`.
    fn copy_case(
        &self,
        store: &Arc<AmazonS3>,
        u: &S3Url,
        dir: &str,
        metas: &[&object_store::ObjectMeta],
        local: &Path,
    ) -> Result<()> {
        std::fs::create_dir_all(local)
            .with_context(|| format!("{}: cannot create", local.display()))?;
        let jobs: Vec<(Key, PathBuf)> = metas
            .iter()
            .map(|m| {
                let rel = &m.location.as_ref()[dir.len()..];
                (m.location.clone(), local.join(rel))
            })
            .collect();
        let results: Vec<Result<()>> = self.block_on(
            futures_util::stream::iter(jobs)
                .map(|(key, to)| {
                    let store = Arc::clone(store);
                    let url = u.url(key.as_ref());
                    async move { download(&store, &key, &to, &url).await }
                })
                .buffer_unordered(PARALLEL_COPIES)
                .collect(),
        )?;
        results.into_iter().collect::<Result<Vec<()>>>()?;
        Ok(())
    }
}

/// The case prefix (ending in `/`, or empty) of a run manifest's key
/// (`<case>manifests/<RUN>.json`), or None for any other key.
fn run_manifest_case(key: &str) -> Option<&str> {
    let (dir, name) = key.rsplit_once('/')?;
    let case = dir.strip_suffix(CASE_RUNS)?;
    (name.ends_with(".json") && (case.is_empty() || case.ends_with('/'))).then_some(case)
}

fn object(u: &S3Url, m: &object_store::ObjectMeta) -> Object {
    Object {
        url: u.url(m.location.as_ref()),
        size: m.size,
        mtime: m.last_modified.timestamp(),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Streams one object into a local file.
async fn download(store: &AmazonS3, key: &Key, to: &Path, url: &str) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create", parent.display()))?;
    }
    let r = store
        .get(key)
        .await
        .map_err(|e| anyhow!("{url}: {}", describe(&e)))?;
    let mut file = tokio::io::BufWriter::new(
        tokio::fs::File::create(to)
            .await
            .with_context(|| format!("{}: cannot write", to.display()))?,
    );
    let mut body = r.into_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| anyhow!("{url}: {}", describe(&e)))?;
        file.write_all(&chunk)
            .await
            .with_context(|| format!("{}: cannot write", to.display()))?;
    }
    file.flush()
        .await
        .with_context(|| format!("{}: cannot write", to.display()))?;
    Ok(())
}

/// An object read as a stream of ranged GETs.
struct ObjectReader {
    s3: Arc<S3>,
    store: Arc<AmazonS3>,
    key: Key,
    size: u64,
    pos: u64,
    body: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    /// Bytes received and not yet read.
    chunk: Bytes,
    /// Body failures since the last byte read.
    failures: u32,
}

impl ObjectReader {
    fn fail(&mut self, why: String) -> std::io::Result<()> {
        self.body = None;
        self.failures += 1;
        if self.failures > MAX_RESUMES {
            return Err(std::io::Error::other(why));
        }
        Ok(())
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if !self.chunk.is_empty() {
                let n = buf.len().min(self.chunk.len());
                buf[..n].copy_from_slice(&self.chunk[..n]);
                self.chunk = self.chunk.slice(n..);
                self.pos += n as u64;
                return Ok(n);
            }
            if self.pos >= self.size || buf.is_empty() {
                return Ok(0);
            }
            let body = match &mut self.body {
                Some(b) => b,
                None => {
                    let opts = GetOptions {
                        range: Some(GetRange::Bounded(self.pos..self.size)),
                        ..GetOptions::default()
                    };
                    let got = self.s3.block_on(self.store.get_opts(&self.key, opts))?;
                    match got {
                        Ok(r) => self.body.insert(r.into_stream()),
                        Err(e) => {
                            // object_store has retried the request already.
                            return Err(std::io::Error::other(describe(&e)));
                        }
                    }
                }
            };
            match self.s3.block_on(body.next())? {
                Some(Ok(b)) => {
                    self.chunk = b;
                    self.failures = 0;
                }
                Some(Err(e)) => self.fail(describe(&e))?,
                None => self.fail(format!(
                    "the object ended at byte {} of {}",
                    self.pos, self.size
                ))?,
            }
        }
    }
}

impl Seek for ObjectReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the object",
            )
        })?;
        if pos != self.pos {
            self.body = None;
            self.chunk = Bytes::new();
            self.pos = pos;
        }
        Ok(pos)
    }
}

/// One line for an error's whole chain.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What went wrong, in a few words: the common cases by name, then the error itself.
fn describe(e: &object_store::Error) -> String {
    let text = one_line(e);
    let code = [
        "NoSuchBucket",
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "AllAccessDisabled",
    ]
    .into_iter()
    .find(|c| text.contains(c));
    match (e, code) {
        (_, Some("NoSuchBucket")) => "no such bucket".to_string(),
        (_, Some(c)) => format!("access denied ({c})"),
        (object_store::Error::PermissionDenied { .. }, None)
        | (object_store::Error::Unauthenticated { .. }, None) => {
            format!("access denied: {text}")
        }
        (object_store::Error::NotFound { .. }, None) => "no such object".to_string(),
        _ if text.contains("error sending request")
            || text.contains("onnection refused")
            || text.contains("timed out")
            || text.contains("dns error") =>
        {
            let to = S3::endpoint().unwrap_or_else(|| "S3".to_string());
            format!("cannot reach {to} (after retries): {text}")
        }
        _ => text,
    }
}

/// Runs `f` on a local directory standing for the case at `url` (its run manifests only, or
/// empty for a new case: what input files the case has is all an ingest run needs), then
/// uploads the files `f` added: its run's data files, then its manifest, so that a reader of the
/// prefix never sees a manifest naming files not yet there. Runs on several machines into one
/// prefix each upload their own files (unique names) and manifest: all of them land. Nothing
/// is uploaded when `f` fails or returns `upload = false`.
pub fn with_case<T>(url: &str, f: impl FnOnce(&Path) -> Result<(T, bool)>) -> Result<T> {
    let s3 = handler();
    let u = S3Url::parse(url)?;
    let store = s3.store(&u.bucket)?;
    let dir = u.key.trim_end_matches('/').to_string();
    if dir.is_empty() {
        bail!("{url}: name a prefix for the case (s3://BUCKET/PREFIX)");
    }
    let prefix = format!("{dir}/");
    let metas: Vec<object_store::ObjectMeta> = s3
        .block_on(store.list(Some(&Key::parse(&dir)?)).try_collect())?
        .map_err(|e| anyhow!("{url}: {}", describe(&e)))?;
    let local = s3.scratch()?.join("out").join(&u.bucket).join(&dir);
    std::fs::create_dir_all(&local)
        .with_context(|| format!("{}: cannot create", local.display()))?;
    let mut before: HashMap<PathBuf, (u64, std::time::SystemTime)> = HashMap::new();
    if !metas.is_empty() {
        // A case: its run manifests (an older case: its manifest), and data files of runs
        // (another writer's run may be under way, its manifest not there yet).
        let rel = |m: &object_store::ObjectMeta| m.location.as_ref()[prefix.len()..].to_string();
        let of_case = |r: &str| {
            r == CASE_MANIFEST
                || ["events/", "issuances/", "iam/"]
                    .iter()
                    .any(|d| r.starts_with(d))
                || run_manifest_case(&format!("/{r}")) == Some("/")
        };
        if let Some(other) = metas.iter().find(|m| !of_case(&rel(m))) {
            bail!(
                "{url}: exists and is not a trailgraph case ({} is not of one); choose an empty or new prefix",
                u.url(other.location.as_ref())
            );
        }
        // Only the manifests are copied: they say which input files the case has; the new
        // run's files are uploaded beside the others.
        let refs: Vec<&object_store::ObjectMeta> = metas
            .iter()
            .filter(|m| {
                let r = rel(m);
                r == CASE_MANIFEST || run_manifest_case(&format!("/{r}")) == Some("/")
            })
            .collect();
        s3.copy_case(&store, &u, &prefix, &refs, &local)?;
        for f in files_under(&local)? {
            let m = std::fs::metadata(&f)?;
            before.insert(f, (m.len(), m.modified()?));
        }
    }
    let (out, keep) = f(&local)?;
    if !keep {
        return Ok(out);
    }
    let mut changed: Vec<PathBuf> = files_under(&local)?
        .into_iter()
        .filter(|f| {
            let now = std::fs::metadata(f)
                .ok()
                .map(|m| (m.len(), m.modified().ok()));
            match (before.get(f), now) {
                (Some((len, t)), Some((l, Some(m)))) => *len != l || *t != m,
                _ => true,
            }
        })
        .collect();
    // The run's manifest last, so that a reader never sees a manifest naming files not there.
    let runs = local.join(CASE_RUNS);
    changed.sort_by_key(|f| (f.starts_with(&runs), f.clone()));
    let manifests = changed.iter().filter(|f| f.starts_with(&runs)).count();
    let jobs: Vec<(PathBuf, Key, String)> = changed
        .iter()
        .map(|f| {
            let rel = f
                .strip_prefix(&local)
                .expect("under the case")
                .to_string_lossy()
                .replace('\\', "/");
            let key = format!("{prefix}{rel}");
            Ok((f.clone(), Key::parse(&key)?, u.url(&key)))
        })
        .collect::<Result<_>>()?;
    let (parts, last) = jobs.split_at(jobs.len() - manifests);
    let (parts, last) = (parts.to_vec(), last.to_vec());
    let results: Vec<Result<()>> = s3.block_on(
        futures_util::stream::iter(parts)
            .map(|(from, key, url)| {
                let store: Arc<dyn ObjectStore> = store.clone();
                async move { upload(store, &from, key, &url).await }
            })
            .buffer_unordered(PARALLEL_COPIES)
            .collect(),
    )?;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    for (from, key, url) in last {
        let store: Arc<dyn ObjectStore> = store.clone();
        s3.block_on(upload(store, &from, key, &url))??;
    }
    Ok(out)
}

fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("{}: cannot list", d.display()))? {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    Ok(out)
}

/// Uploads one file: a single PUT when small, a multipart upload (10 MiB parts) when large.
async fn upload(store: Arc<dyn ObjectStore>, from: &Path, key: Key, url: &str) -> Result<()> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(from)
        .await
        .with_context(|| format!("{}: cannot read", from.display()))?;
    let mut w = object_store::buffered::BufWriter::new(store, key);
    let mut buf = vec![0u8; 1 << 20];
    let fail = |e: std::io::Error| anyhow!("{url}: cannot upload: {}", one_line(&e));
    loop {
        let n = file
            .read(&mut buf)
            .await
            .with_context(|| format!("{}: cannot read", from.display()))?;
        if n == 0 {
            break;
        }
        if let Err(e) = w.write_all(&buf[..n]).await {
            let _ = w.abort().await;
            return Err(fail(e));
        }
    }
    w.shutdown().await.map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = S3Url::parse("s3://my-bucket/AWSLogs/1/").unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.key.as_str()),
            ("my-bucket", "AWSLogs/1/")
        );
        assert_eq!(u.url("a/b.json.gz"), "s3://my-bucket/a/b.json.gz");
        let u = S3Url::parse("s3://bucket").unwrap();
        assert_eq!(u.key, "");
        for bad in [
            "s3://",
            "s3://B/x",
            "s3://ab/x",
            "s3://bucket//x",
            "s3://bucket/a//b",
        ] {
            let e = S3Url::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with(bad) && e.contains("bad S3 URL"), "{e}");
        }
    }

    #[test]
    fn reads_resume_and_seek_without_a_server() {
        // A reader past the end reads nothing and asks nothing.
        let s3 = Arc::new(S3::new(Options::default()));
        let store = Arc::new(
            AmazonS3Builder::new()
                .with_bucket_name("bucket")
                .with_region("us-east-1")
                .build()
                .unwrap(),
        );
        let mut r = ObjectReader {
            s3,
            store,
            key: Key::parse("k").unwrap(),
            size: 10,
            pos: 0,
            body: None,
            chunk: Bytes::from_static(b"0123456789"),
            failures: 0,
        };
        let mut b = [0u8; 4];
        assert_eq!(r.read(&mut b).unwrap(), 4);
        assert_eq!(&b, b"0123");
        assert_eq!(r.stream_position().unwrap(), 4);
        assert_eq!(r.seek(SeekFrom::End(0)).unwrap(), 10);
        assert_eq!(r.read(&mut b).unwrap(), 0);
        assert!(r.seek(SeekFrom::Current(-11)).is_err());
    }
}
