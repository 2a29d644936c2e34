use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use trailgraph_log::ingest::{Ingested, Problem, Stats};
use trailgraph_log::table::{EventBatch, IssuanceBatch, Kind};

pub(crate) const CASE_FORMAT: &str = "trailgraph-case";
/// 2: the events table has the raw `response_elements`, `additional_event_data`,
/// `service_event_details` and `resources` columns (what `hunt` evaluates rules on).
pub(crate) const CASE_VERSION: u32 = 2;

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
    pub part: u32,
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

/// `manifest.json` of a case directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub tool_version: String,
    pub parts: u32,
    pub totals: Stats,
    pub inputs: Vec<ManifestInput>,
    pub problems: Vec<ManifestProblem>,
    pub schema: std::collections::BTreeMap<String, Vec<ManifestColumn>>,
    /// IAM configuration files kept with the case (`ingest --iam`), as copied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iam: Vec<ManifestIam>,
}

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
            parts: 0,
            totals: Stats::default(),
            inputs: Vec::new(),
            problems: Vec::new(),
            schema,
            iam: Vec::new(),
        }
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

    /// Records one ingest run as part `part`.
    pub fn add_run(&mut self, ing: &Ingested, part: u32) {
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
                part,
            });
        }
        self.problems
            .extend(ing.problems.iter().map(|p| ManifestProblem {
                file: p.file.clone(),
                position: p.position.clone(),
                reason: p.reason.clone(),
            }));
        self.parts = self.parts.max(part + 1);
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

/// Reads `manifest.json` of a case directory.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let p = dir.join(trailgraph_log::discover::CASE_MANIFEST);
    let text =
        std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
    let m: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a trailgraph case manifest", p.display()))?;
    if m.format != CASE_FORMAT {
        bail!("{}: not a trailgraph case manifest", p.display());
    }
    if m.version < CASE_VERSION {
        bail!(
            "{}: case format version {} was written by an older trailgraph and lacks columns this one reads (format {}); run `trailgraph ingest` on the logs again",
            p.display(),
            m.version,
            CASE_VERSION
        );
    }
    if m.version > CASE_VERSION {
        bail!(
            "{}: case format version {} is newer than this trailgraph understands ({})",
            p.display(),
            m.version,
            CASE_VERSION
        );
    }
    Ok(m)
}

/// Writes the manifest of `dir` (atomically replaced).
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let p = dir.join(trailgraph_log::discover::CASE_MANIFEST);
    let tmp = dir.join("manifest.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(manifest)? + "\n")
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, &p).with_context(|| format!("{}: cannot write", p.display()))?;
    Ok(())
}
