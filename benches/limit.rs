//! `trailgraph-limit`: the machine's decompress-plus-parse limit on a corpus, the yardstick of
//! the ingest target (issue #2: ingest at >= 0.8x this).
//!
//! It does only what any CloudTrail reader must: gunzip every `*.json.gz` under the given
//! directories (with trailgraph's own `decode::gunzip`: flate2 with the zlib-rs backend,
//! straight into the buffer, the fastest way we have) and deserialise every record of
//! its `{"Records":[...]}` into a borrowed serde struct holding the fields trailgraph keeps
//! (request parameters and response elements as raw JSON). Files run in parallel on rayon's
//! pool (`RAYON_NUM_THREADS`). Nothing is normalised, stored or written.
//!
//! ```text
//! trailgraph-limit DIR...    # prints: files, records, seconds, records/s
//! ```

use rayon::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[allow(dead_code, non_snake_case)]
struct Doc<'a> {
    #[serde(borrow)]
    Records: Vec<Rec<'a>>,
}

type S<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
#[allow(dead_code, non_snake_case)]
struct Rec<'a> {
    #[serde(borrow)]
    eventVersion: S<'a>,
    #[serde(borrow)]
    userIdentity: Option<Ident<'a>>,
    #[serde(borrow)]
    eventTime: S<'a>,
    #[serde(borrow)]
    eventSource: S<'a>,
    #[serde(borrow)]
    eventName: S<'a>,
    #[serde(borrow)]
    awsRegion: S<'a>,
    #[serde(borrow)]
    sourceIPAddress: S<'a>,
    #[serde(borrow)]
    userAgent: S<'a>,
    #[serde(borrow)]
    errorCode: S<'a>,
    #[serde(borrow)]
    errorMessage: S<'a>,
    #[serde(borrow)]
    requestParameters: Option<&'a RawValue>,
    #[serde(borrow)]
    responseElements: Option<&'a RawValue>,
    #[serde(borrow)]
    requestID: S<'a>,
    #[serde(borrow)]
    eventID: S<'a>,
    readOnly: Option<bool>,
    #[serde(borrow)]
    eventType: S<'a>,
    #[serde(borrow)]
    recipientAccountId: S<'a>,
    #[serde(borrow)]
    sharedEventID: S<'a>,
    #[serde(borrow)]
    eventCategory: S<'a>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct Ident<'a> {
    #[serde(borrow, rename = "type")]
    kind: S<'a>,
    #[serde(borrow)]
    principal_id: S<'a>,
    #[serde(borrow)]
    arn: S<'a>,
    #[serde(borrow)]
    account_id: S<'a>,
    #[serde(borrow)]
    access_key_id: S<'a>,
    #[serde(borrow)]
    user_name: S<'a>,
    #[serde(borrow)]
    invoked_by: S<'a>,
    #[serde(borrow)]
    session_context: Option<Ctx<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct Ctx<'a> {
    #[serde(borrow)]
    session_issuer: Option<Issuer<'a>>,
    #[serde(borrow)]
    attributes: Option<Attrs<'a>>,
    #[serde(borrow)]
    source_identity: S<'a>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct Issuer<'a> {
    #[serde(borrow, rename = "type")]
    kind: S<'a>,
    #[serde(borrow)]
    principal_id: S<'a>,
    #[serde(borrow)]
    arn: S<'a>,
    #[serde(borrow)]
    account_id: S<'a>,
    #[serde(borrow)]
    user_name: S<'a>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct Attrs<'a> {
    #[serde(borrow)]
    creation_date: S<'a>,
    #[serde(borrow)]
    mfa_authenticated: S<'a>,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.to_string_lossy().ends_with(".json.gz") {
            out.push(p);
        }
    }
}

fn one(p: &Path) -> usize {
    let raw = std::fs::read(p).unwrap_or_default();
    let mut text = Vec::new();
    if trailgraph_log::decode::gunzip(&raw, u64::MAX, &mut text).is_err() {
        return 0;
    }
    match serde_json::from_slice::<Doc>(&text) {
        Ok(d) => d.Records.len(),
        Err(_) => 0,
    }
}

fn main() {
    let dirs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        eprintln!("usage: trailgraph-limit DIR...");
        std::process::exit(2);
    }
    let mut files = Vec::new();
    for d in &dirs {
        walk(d, &mut files);
    }
    files.sort();
    let t0 = std::time::Instant::now();
    let records: usize = files.par_iter().map(|p| one(p)).sum();
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "files {} records {} seconds {:.3} records/s {:.0}",
        files.len(),
        records,
        secs,
        records as f64 / secs
    );
}
