use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use trailgraph_log::ingest::{Ingested, Problem, Stats};
use trailgraph_log::table::{EventBatch, IssuanceBatch, Kind};

pub(crate) const CASE_FORMAT: &str = "trailgraph-case";
/// 2: the events table has the raw `response_elements`, `additional_event_data`,
/// `service_event_details` and `resources` columns (what `hunt` evaluates rules on).
/// 3: one manifest per ingest run (`manifests/<RUN>.json`, naming the run's files), the
/// events files partitioned Hive-style (`events/account=…/region=…/date=…/part-<RUN>-<SEQ>`).
pub(crate) const CASE_VERSION: u32 = 3;

/// One input file as recorded in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestInput {
    pub path: String,
    pub size: u64,
    pub mtime: i64,
    pub records_read: u64,
    pub events: u64,
    pub duplicates: u64,
    pub records_skipped: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
}

/// A data file an ingest run wrote, relative to the case directory (`events/…`,
/// `issuances/…`, `/`-separated), with its rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestFile {
    pub path: String,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestProblem {
    pub file: String,
    pub position: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub dtype: String,
}

/// The manifest of one ingest run (`manifests/<RUN>.json`), or, as `read_manifest` returns it,
/// the merged view of every run of a case: their files, inputs and problems in run order, the
/// totals summed, and the rows that de-duplication across runs drops (see `merge`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub tool_version: String,
    /// The run that wrote this manifest (`YYYYMMDDTHHMMSSZ-<8 hex>`); in a merged view, the
    /// last run.
    pub run: String,
    /// The partition columns of the run's events files, outermost first (empty: none).
    pub partition: Vec<String>,
    pub totals: Stats,
    pub inputs: Vec<ManifestInput>,
    pub problems: Vec<ManifestProblem>,
    /// The data files of the run (of every run, in a merged view), sorted by path within a run.
    pub files: Vec<ManifestFile>,
    pub schema: std::collections::BTreeMap<String, Vec<ManifestColumn>>,
    /// IAM configuration files kept with the case (`ingest --iam`), as copied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iam: Vec<ManifestIam>,
    /// The runs merged into this view, in order (empty for one run's own manifest).
    #[serde(skip)]
    pub runs: Vec<String>,
    /// Rows of the data files that de-duplication across runs drops.
    #[serde(skip)]
    pub(crate) dropped: std::sync::Arc<Dropped>,
}

/// Rows (0-based, ascending) that readers skip, by data file path (as in `ManifestFile`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Dropped(pub(crate) std::collections::BTreeMap<String, Vec<u32>>);

/// An IAM configuration file kept in the case directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestIam {
    /// Where it is, relative to the case directory (`iam/…`).
    pub stored: String,
    /// The path it was read from.
    pub source: String,
    pub bytes: u64,
}

impl Manifest {
    pub fn new() -> Manifest {
        let mut schema = std::collections::BTreeMap::new();
        schema.insert("events".to_string(), schema_doc(EventBatch::SCHEMA));
        schema.insert("issuances".to_string(), schema_doc(IssuanceBatch::SCHEMA));
        Manifest {
            format: CASE_FORMAT.into(),
            version: CASE_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            run: String::new(),
            partition: Vec::new(),
            totals: Stats::default(),
            inputs: Vec::new(),
            problems: Vec::new(),
            files: Vec::new(),
            schema,
            iam: Vec::new(),
            runs: Vec::new(),
            dropped: Default::default(),
        }
    }

    /// The manifest of a scratch case (see `write::scratch_case`): its two files.
    pub fn scratch() -> Manifest {
        let mut m = Manifest::new();
        m.files = TABLES
            .iter()
            .map(|t| ManifestFile {
                path: format!("{t}/{}", part_name(0)),
                rows: 0,
            })
            .collect();
        m
    }

    /// The data files of `table` (`events` or `issuances`), in manifest order.
    pub fn files_of<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a ManifestFile> + 'a {
        self.files.iter().filter(move |f| {
            f.path
                .strip_prefix(table)
                .is_some_and(|r| r.starts_with('/'))
        })
    }

    /// The rows of data file `path` that readers skip (duplicates of rows of other runs).
    pub(crate) fn dropped_rows(&self, path: &str) -> &[u32] {
        self.dropped.0.get(path).map_or(&[], |v| &v[..])
    }

    pub fn stats(&self) -> Stats {
        self.totals.clone()
    }

    pub fn problems(&self) -> Vec<Problem> {
        self.problems
            .iter()
            .map(|p| Problem {
                file: p.file.clone(),
                position: p.position.clone(),
                reason: p.reason.clone(),
            })
            .collect()
    }

    /// Records one ingest run's inputs, problems and totals.
    pub fn add_run(&mut self, ing: &Ingested) {
        self.totals.add(&ing.stats);
        for f in &ing.files {
            self.inputs.push(ManifestInput {
                path: f.display.clone(),
                size: f.size,
                mtime: f.mtime,
                records_read: f.records_read,
                events: f.rows as u64 - f.duplicates,
                duplicates: f.duplicates,
                records_skipped: f.records_skipped(),
                skip_reason: f.skip.map(|r| r.as_str().to_string()),
            });
        }
        self.problems
            .extend(ing.problems.iter().map(|p| ManifestProblem {
                file: p.file.clone(),
                position: p.position.clone(),
                reason: p.reason.clone(),
            }));
    }
}

impl Default for Manifest {
    fn default() -> Self {
        Self::new()
    }
}

pub(crate) fn schema_doc(schema: &[(&str, Kind)]) -> Vec<ManifestColumn> {
    schema
        .iter()
        .map(|(n, k)| ManifestColumn {
            name: n.to_string(),
            dtype: match k {
                Kind::Str => "string",
                Kind::Time => "timestamp[ms, UTC]",
                Kind::Int => "int64",
                Kind::Bool => "bool",
                Kind::U64 => "uint64",
            }
            .to_string(),
        })
        .collect()
}

pub(crate) fn part_name(part: u32) -> String {
    format!("part-{part:05}.parquet")
}

/// The two tables of a case, as the directories they are stored in.
pub(crate) const TABLES: [&str; 2] = ["events", "issuances"];

/// The error for a directory with a `manifest.json` of an older (or other) format.
pub(crate) fn old_case(dir: &Path) -> anyhow::Error {
    let p = dir.join(trailgraph_log::discover::CASE_MANIFEST);
    let head = || -> Result<(String, u32)> {
        let text = std::fs::read_to_string(&p)
            .with_context(|| format!("{}: not a trailgraph case (no manifests/)", dir.display()))?;
        #[derive(Deserialize)]
        struct Head {
            format: String,
            version: u32,
        }
        let h: Head = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a trailgraph case manifest", p.display()))?;
        Ok((h.format, h.version))
    };
    match head() {
        Ok((format, version)) => match check_version(&p, &format, version) {
            Err(e) => e,
            Ok(()) => anyhow::anyhow!("{}: has no manifests/ directory", dir.display()),
        },
        Err(e) => e,
    }
}

pub(crate) fn check_version(p: &Path, format: &str, version: u32) -> Result<()> {
    if format != CASE_FORMAT {
        bail!("{}: not a trailgraph case manifest", p.display());
    }
    if version < CASE_VERSION {
        bail!(
            "{}: case format version {} was written by an older trailgraph and lacks columns this one reads (format {}); run `trailgraph ingest` on the logs again",
            p.display(),
            version,
            CASE_VERSION
        );
    }
    if version > CASE_VERSION {
        bail!(
            "{}: case format version {} is newer than this trailgraph understands ({})",
            p.display(),
            version,
            CASE_VERSION
        );
    }
    Ok(())
}

/// A `/`-separated path that stays inside the case directory.
pub(crate) fn safe_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains('\\')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Writes the manifest of run `manifest.run` into `dir/manifests/` (atomically: under a
/// temporary name, then renamed), the last step of an ingest run.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let runs_dir = dir.join(trailgraph_log::discover::CASE_RUNS);
    std::fs::create_dir_all(&runs_dir)
        .with_context(|| format!("{}: cannot create", runs_dir.display()))?;
    let p = runs_dir.join(format!("{}.json", manifest.run));
    let tmp = runs_dir.join(format!("{}.json.tmp", manifest.run));
    std::fs::write(&tmp, serde_json::to_string_pretty(manifest)? + "\n")
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, &p).with_context(|| format!("{}: cannot write", p.display()))?;
    Ok(())
}

/// A new run id: the UTC time (`YYYYMMDDTHHMMSSZ`, so runs sort by time) and 8 random hex
/// digits (so runs on several machines never collide). `TRAILGRAPH_RUN` sets it (tests).
pub fn new_run_id() -> Result<String> {
    if let Ok(r) = std::env::var("TRAILGRAPH_RUN") {
        if r.is_empty()
            || !r
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            bail!("TRAILGRAPH_RUN={r}: a run id is letters, digits, '-' and '_'");
        }
        return Ok(r);
    }
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // RandomState is seeded from the OS's randomness; the time and process id make two
    // states of one process differ too.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(now.as_nanos());
    h.write_u32(std::process::id());
    let stamp = trailgraph_log::model::format_time(now.as_millis() as i64);
    // 2024-07-31T19:52:33Z or with .mmm → 20240731T195233Z
    let digits: String = stamp
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    Ok(format!("{digits}Z-{:08x}", h.finish() as u32))
}
