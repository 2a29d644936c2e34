//! Which inputs there are, and in which order: log files (recursively, sorted by path) and case
//! directories written by `trailgraph ingest`. Reads no file contents except a case manifest's
//! presence; knows the S3 trail layout well enough to skip digest, Insights and Config objects
//! by path (spec 2.1.1). A remote INPUT (`s3://…`) is listed by the handler of `remote`, and its
//! objects follow the same rules.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// One input file.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    /// The path as shown to the user and stored in the case (stable for the same arguments).
    pub display: String,
    pub size: u64,
    /// Modification time, seconds since the epoch (0 when unavailable).
    pub mtime: i64,
    /// Set when the path alone says this is not an event log (digest, Insights, Config).
    pub skip: Option<SkipReason>,
}

/// Why a whole file is not read as events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    Digest,
    Insight,
    Config,
    /// README, LICENSE, NOTICE, Markdown, .DS_Store: never logs.
    NotALog,
    Empty,
    NotJson,
    NotCloudTrail,
    TooLarge,
    Unreadable,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Digest => "digest",
            SkipReason::Insight => "insight",
            SkipReason::Config => "config",
            SkipReason::NotALog => "not_a_log",
            SkipReason::Empty => "empty",
            SkipReason::NotJson => "not_json",
            SkipReason::NotCloudTrail => "not_cloudtrail",
            SkipReason::TooLarge => "too_large",
            SkipReason::Unreadable => "unreadable",
        }
    }
    /// Expected objects of a trail bucket: counted, but not a problem.
    pub(crate) fn is_benign(self) -> bool {
        matches!(
            self,
            SkipReason::Digest | SkipReason::Insight | SkipReason::Config
        )
    }
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Digest => "CloudTrail digest file (integrity validation), not events",
            SkipReason::Insight => "CloudTrail Insights file, not API events",
            SkipReason::Config => "AWS Config object in the trail bucket",
            SkipReason::NotALog => "documentation file (README, LICENSE, NOTICE, Markdown)",
            SkipReason::Empty => "empty file",
            SkipReason::NotJson => "not JSON (nor gzip or zip of JSON)",
            SkipReason::NotCloudTrail => "JSON, but no CloudTrail records in it",
            SkipReason::TooLarge => "decompressed size exceeds --max-decompressed (gzip bomb?)",
            SkipReason::Unreadable => "could not be read",
        }
    }
}

/// What the INPUT arguments resolve to.
#[derive(Debug, Default)]
pub struct Inputs {
    pub files: Vec<InputFile>,
    pub cases: Vec<PathBuf>,
}

/// The file that marked a directory as a trailgraph case store before case format 3 (such a
/// case is still recognised, to be refused with what to do).
pub const CASE_MANIFEST: &str = "manifest.json";

/// The directory of a case's run manifests (`manifests/<RUN>.json`, case format 3): its
/// presence marks a directory as a trailgraph case store.
pub const CASE_RUNS: &str = "manifests";

/// Is `dir` a case directory written by `trailgraph ingest`?
pub fn is_case_dir(dir: &Path) -> bool {
    if dir.join(CASE_RUNS).is_dir() {
        return true;
    }
    let m = dir.join(CASE_MANIFEST);
    match std::fs::read(&m) {
        Ok(bytes) => {
            let head = &bytes[..bytes.len().min(4096)];
            memchr::memmem::find(head, b"\"trailgraph-case\"").is_some()
        }
        Err(_) => false,
    }
}

/// Resolves INPUT arguments into sorted log files and case directories.
pub fn discover(roots: &[PathBuf]) -> Result<Inputs> {
    let mut out = Inputs::default();
    if roots.is_empty() {
        bail!("no INPUT given: name log files, directories, or a case directory made by `trailgraph ingest`");
    }
    for root in roots {
        if let Some(url) = crate::remote::url_of(root) {
            let listing = crate::remote::list(url)?;
            for o in listing.objects {
                out.files.push(InputFile {
                    skip: skip_by_path(&o.url),
                    path: PathBuf::from(&o.url),
                    display: o.url,
                    size: o.size,
                    mtime: o.mtime,
                });
            }
            out.cases.extend(listing.cases);
            continue;
        }
        let meta = std::fs::metadata(root)
            .with_context(|| format!("{}: cannot read input", root.display()))?;
        if meta.is_dir() {
            if is_case_dir(root) {
                out.cases.push(root.clone());
            } else {
                let before = (out.files.len(), out.cases.len());
                let mut above = Vec::new();
                walk(root, &mut out, &mut above)?;
                if (out.files.len(), out.cases.len()) == before {
                    warn_empty(root);
                }
            }
        } else {
            out.files.push(input_file(root, &meta));
        }
    }
    out.files.sort_by(|a, b| a.display.cmp(&b.display));
    out.files.dedup_by(|a, b| a.display == b.display);
    out.cases.sort();
    out.cases.dedup();
    Ok(out)
}

/// Says once per process (a command may resolve its INPUT more than once) that a directory
/// given as INPUT holds no file: not an error (an empty day is a day), but never silent.
fn warn_empty(root: &Path) {
    static WARNED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if !warned.iter().any(|w| w == root) {
        warned.push(root.to_path_buf());
        eprintln!(
            "warning: {}: no files in this directory or below it",
            crate::escape::term(&root.to_string_lossy())
        );
    }
}

/// Walks `dir` in name order. A symbolic link to a directory is followed (a trail synced or
/// mounted elsewhere and linked in is read like a copy), except one that leads back into a
/// directory being walked (a loop); `above` holds those directories, canonical.
fn walk(dir: &Path, out: &mut Inputs, above: &mut Vec<PathBuf>) -> Result<()> {
    let canonical = std::fs::canonicalize(dir)
        .with_context(|| format!("{}: cannot list directory", dir.display()))?;
    if above.contains(&canonical) {
        return Ok(());
    }
    above.push(canonical);
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list directory", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        // A symbolic link is followed to what it names (a file or a directory).
        let is_dir = if ft.is_symlink() {
            std::fs::metadata(&path).is_ok_and(|m| m.is_dir())
        } else {
            ft.is_dir()
        };
        if is_dir {
            if is_case_dir(&path) {
                out.cases.push(path);
            } else {
                walk(&path, out, above)?;
            }
        } else if let Ok(meta) = std::fs::metadata(&path) {
            if meta.is_file() {
                out.files.push(input_file(&path, &meta));
            }
        }
    }
    above.pop();
    Ok(())
}

fn input_file(path: &Path, meta: &std::fs::Metadata) -> InputFile {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let display = path.to_string_lossy().into_owned();
    InputFile {
        skip: skip_by_path(&display),
        path: path.to_path_buf(),
        display,
        size: meta.len(),
        mtime,
    }
}

/// Path-based skips for objects of a trail bucket that are not event logs.
pub(crate) fn skip_by_path(p: &str) -> Option<SkipReason> {
    let parts: Vec<&str> = p.split(['/', '\\']).collect();
    if parts.contains(&"CloudTrail-Digest") {
        return Some(SkipReason::Digest);
    }
    if parts.contains(&"CloudTrail-Insight") {
        return Some(SkipReason::Insight);
    }
    let name = parts.last().copied().unwrap_or("");
    if name == "ConfigWritabilityCheckFile" {
        return Some(SkipReason::Config);
    }
    let upper = name.to_ascii_uppercase();
    if ["README", "LICENSE", "LICENCE", "NOTICE", "COPYING"]
        .iter()
        .any(|d| {
            upper == *d
                || upper.starts_with(&format!("{d}."))
                || upper.starts_with(&format!("{d}-"))
        })
        || upper.ends_with(".MD")
        || name == ".DS_Store"
    {
        return Some(SkipReason::NotALog);
    }
    if let Some(i) = parts.iter().position(|c| *c == "AWSLogs") {
        // AWSLogs/[o-xxxx/]<acct>/Config/...
        let rest = &parts[i + 1..];
        let rest = if rest.first().is_some_and(|c| c.starts_with("o-")) {
            &rest[1..]
        } else {
            rest
        };
        if rest.len() > 2 && rest[1] == "Config" {
            return Some(SkipReason::Config);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn layout_skips() {
        assert_eq!(
            skip_by_path("b/AWSLogs/o-abc/111/CloudTrail-Digest/us-east-1/2024/01/01/x.json.gz"),
            Some(SkipReason::Digest)
        );
        assert_eq!(
            skip_by_path("AWSLogs/111/CloudTrail-Insight/us-east-1/2024/01/01/x.json.gz"),
            Some(SkipReason::Insight)
        );
        assert_eq!(
            skip_by_path("AWSLogs/111/Config/ConfigWritabilityCheckFile"),
            Some(SkipReason::Config)
        );
        assert_eq!(
            skip_by_path("AWSLogs/o-x/111/Config/us-east-1/2024/x.json.gz"),
            Some(SkipReason::Config)
        );
        assert_eq!(
            skip_by_path("AWSLogs/111/CloudTrail/us-east-1/2024/01/01/x.json.gz"),
            None
        );
    }

    /// A symbolic link to a directory is walked like the directory; one back up the tree (a
    /// loop) is not.
    #[cfg(unix)]
    #[test]
    fn directory_symlinks_followed_without_loops() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("d");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("a.json"), b"{}").unwrap();
        std::os::unix::fs::symlink(&d, t.path().join("l")).unwrap();
        std::os::unix::fs::symlink(t.path(), d.join("loop")).unwrap();
        let got = discover(&[t.path().to_path_buf()]).unwrap();
        let names: Vec<String> = got
            .files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(t.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["d/a.json", "l/a.json"]);
    }
}
