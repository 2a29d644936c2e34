//! `resolve`: the identity map, joined with a case's events as docs/resolve.md says (`apply_map`,
//! the reference the engine's SQL mirrors), gives exactly `attribute`'s attribution (every
//! attribution column, every event), on every scenario, the real logs and generated
//! multi-account corpora (with identities without creationDate, so that validity intervals are
//! exercised); and the map grows with identities, not events.

use crate::util::{files_below, generate, run, scenario_inputs, stdout_of, testdata};
use polars::prelude::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use trailgraph_graph::attribute::attributed;
use trailgraph_graph::resolve::interval;
use trailgraph_log::table::event;

/// Every `*.parquet` file under `dir`, sorted (any case layout).
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    files_below(dir, |p| p.extension().is_some_and(|x| x == "parquet"))
}

fn read_parquet(path: &Path, columns: Option<&[&str]>) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .with_columns(columns.map(|c| c.iter().map(|s| s.to_string()).collect()))
        .finish()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The events of `case` with `columns`.
fn case_events(case: &Path, columns: &[&str]) -> DataFrame {
    let mut acc: Option<DataFrame> = None;
    for f in parquet_files(&case.join("events")) {
        let df = read_parquet(&f, Some(columns));
        acc = Some(match acc {
            None => df,
            Some(a) => a.vstack(&df).unwrap(),
        });
    }
    acc.expect("the case has events")
}

/// Each event of `case` (recipient_account, event_id, event_time) with the attribution the map
/// gives it: its `events.parquet` row if one matches (recipient_account, event_id; nulls match
/// nothing, as in SQL), else the `identities.parquet` row of its identity_sig whose interval
/// [valid_from, valid_to) holds its event_time (null bounds are open), else nulls. Asserts that
/// at most one row of each file matches an event.
pub fn apply_map(case: &Path, map: &Path) -> DataFrame {
    let row = "_row";
    let ev = case_events(
        case,
        &[
            event::recipient_account,
            event::event_id,
            event::event_time,
            event::identity_sig,
        ],
    )
    .with_row_index(row.into(), None)
    .unwrap();
    let ids = read_parquet(&map.join("identities.parquet"), None);
    let per = read_parquet(&map.join("events.parquet"), None);
    let in_interval = (col(interval::valid_from)
        .is_null()
        .or(col(event::event_time).gt_eq(col(interval::valid_from))))
    .and(
        col(interval::valid_to)
            .is_null()
            .or(col(event::event_time).lt(col(interval::valid_to))),
    );
    let prefixed = |p: &str| -> Vec<Expr> {
        let mut v = vec![col(row)];
        v.extend(
            attributed::ALL
                .iter()
                .map(|c| col(*c).alias(format!("{p}{c}"))),
        );
        v
    };
    let by_sig = ev
        .clone()
        .lazy()
        .select([col(row), col(event::identity_sig), col(event::event_time)])
        .join(
            ids.lazy(),
            [col(event::identity_sig)],
            [col(event::identity_sig)],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(in_interval)
        .select(prefixed("i_"))
        .collect()
        .unwrap();
    let by_event = ev
        .clone()
        .lazy()
        .select([
            col(row),
            col(event::recipient_account),
            col(event::event_id),
        ])
        .join(
            per.lazy(),
            [col(event::recipient_account), col(event::event_id)],
            [col(event::recipient_account), col(event::event_id)],
            JoinArgs::new(JoinType::Inner),
        )
        .select(prefixed("p_"))
        .with_column(lit(true).alias("_per_event"))
        .collect()
        .unwrap();
    for (name, df) in [("identities", &by_sig), ("events", &by_event)] {
        let rows = df.column(row).unwrap().as_materialized_series();
        assert_eq!(
            rows.n_unique().unwrap(),
            df.height(),
            "at most one {name} row matches an event"
        );
    }
    let mut out = vec![
        col(event::recipient_account),
        col(event::event_id),
        col(event::event_time),
    ];
    out.extend(attributed::ALL.iter().map(|c| {
        when(col("_per_event").is_not_null())
            .then(col(format!("p_{c}")))
            .otherwise(col(format!("i_{c}")))
            .alias(*c)
    }));
    ev.lazy()
        .join(
            by_event.lazy(),
            [col(row)],
            [col(row)],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            by_sig.lazy(),
            [col(row)],
            [col(row)],
            JoinArgs::new(JoinType::Left),
        )
        .select(out)
        .collect()
        .unwrap()
}

/// The rows of `df` (its columns `cols`) as text, sorted: a multiset to compare.
fn rows_of(df: &DataFrame, cols: &[&str]) -> Vec<String> {
    let df = df.select(cols.iter().copied()).unwrap();
    let mut out: Vec<String> = (0..df.height())
        .map(|i| format!("{:?}", df.get_row(i).unwrap().0))
        .collect();
    out.sort();
    out
}

fn arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs trailgraph, accepting exit 0 or 1 (inputs with skipped records).
fn tg(args: &[String]) -> String {
    let out = run(args);
    let code = out.status.code().unwrap_or(-1);
    let code = if code == 1 { 1 } else { 0 };
    stdout_of(out, code)
}

/// Ingests `inputs` into a case, resolves it, and asserts the map applied to the events equals
/// `attribute` on the case for every event and attribution column (and that the map's columns
/// have attribute's types). Returns resolve.json and the map directory's parent (kept alive).
fn check(inputs: &[PathBuf], what: &str) -> (Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (case, map, attr) = (
        dir.path().join("case"),
        dir.path().join("map"),
        dir.path().join("attr.parquet"),
    );
    let mut ingest: Vec<String> = vec!["ingest".into(), "-q".into()];
    ingest.extend(inputs.iter().map(|p| arg(p)));
    ingest.extend(["-o".into(), arg(&case)]);
    tg(&ingest);
    tg(&[
        "resolve".into(),
        "-q".into(),
        arg(&case),
        "-o".into(),
        arg(&map),
    ]);
    tg(&[
        "attribute".into(),
        "-q".into(),
        arg(&case),
        "--format".into(),
        "parquet".into(),
        "-o".into(),
        arg(&attr),
    ]);
    let expected = read_parquet(&attr, None);
    let got = apply_map(&case, &map);
    assert_eq!(
        got.height(),
        expected.height(),
        "{what}: one answer per event"
    );
    for c in attributed::ALL {
        assert_eq!(
            got.column(c).unwrap().dtype(),
            expected.column(c).unwrap().dtype(),
            "{what}: {c} has attribute's type"
        );
    }
    let mut cols = vec![event::recipient_account, event::event_id, event::event_time];
    cols.extend(attributed::ALL);
    let (g, e) = (rows_of(&got, &cols), rows_of(&expected, &cols));
    let differ: Vec<(&String, &String)> = g.iter().zip(&e).filter(|(a, b)| a != b).collect();
    assert!(
        differ.is_empty(),
        "{what}: {} of {} events differ from attribute; first (map, attribute): {:?}",
        differ.len(),
        e.len(),
        differ.first()
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(map.join("resolve.json")).unwrap()).unwrap();
    assert_eq!(
        json["counts"]["events"].as_u64(),
        Some(expected.height() as u64),
        "{what}: resolve.json counts every event"
    );
    assert_eq!(json["counts"]["unjoinable_event_rows"], 0, "{what}");
    assert_eq!(json["counts"]["conflicting_event_rows"], 0, "{what}");
    (json, dir)
}

fn count(json: &Value, key: &str) -> u64 {
    json["counts"][key].as_u64().unwrap()
}

#[test]
fn map_equals_attribute_on_every_scenario_and_the_real_logs() {
    let mut scenarios = 0;
    let mut per_event = 0;
    for e in std::fs::read_dir(testdata("scenarios")).unwrap() {
        let dir = e.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let (json, _d) = check(&scenario_inputs(&dir), &dir.display().to_string());
        per_event += count(&json, "event_rows");
        scenarios += 1;
    }
    assert!(scenarios >= 20, "{scenarios} scenarios");
    assert!(per_event > 0, "the scenarios have per-event rows");
    let (json, _d) = check(&[testdata("real")], "testdata/real");
    assert!(count(&json, "identities") > 0);
}

/// Writes each `{"Records":[…]}` gzip file under `dir` back after `edit` (records of the file).
fn rewrite_records(dir: &Path, mut edit: impl FnMut(&Path, &mut Vec<Value>)) {
    let files = files_below(dir, |p| p.to_string_lossy().ends_with(".json.gz"));
    for f in files {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&f).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let mut doc: Value = serde_json::from_str(&text).unwrap();
        let mut records = doc["Records"].as_array().unwrap().clone();
        edit(&f, &mut records);
        doc["Records"] = Value::Array(records);
        let mut w = flate2::write::GzEncoder::new(
            std::fs::File::create(&f).unwrap(),
            flate2::Compression::fast(),
        );
        w.write_all(serde_json::to_string(&doc).unwrap().as_bytes())
            .unwrap();
        w.finish().unwrap();
    }
}

/// Drops the creationDate of every `every`-th AssumedRole/FederatedUser action (not STS
/// calls), so that those identities link by key or session ARN within a credential lifetime,
/// at each event's time.
fn drop_creation_dates(corpus: &Path, every: usize) {
    let mut k = 0usize;
    rewrite_records(corpus, |_, records| {
        for r in records.iter_mut() {
            let kind = r["userIdentity"]["type"].as_str().unwrap_or("").to_string();
            if !matches!(kind.as_str(), "AssumedRole" | "FederatedUser")
                || r["eventSource"] == "sts.amazonaws.com"
            {
                continue;
            }
            k += 1;
            if k.is_multiple_of(every) {
                if let Some(a) = r["userIdentity"]["sessionContext"]["attributes"].as_object_mut() {
                    a.remove("creationDate");
                }
            }
        }
    });
}

fn gen(out: &Path, seed: &str, records: &str) -> PathBuf {
    generate(
        out,
        &[
            "--records".as_ref(),
            records.as_ref(),
            "--seed".as_ref(),
            seed.as_ref(),
            "--accounts".as_ref(),
            "3".as_ref(),
        ],
    );
    out.join("AWSLogs")
}

#[test]
fn map_equals_attribute_on_generated_corpora() {
    let dir = tempfile::tempdir().unwrap();
    let mut intervals = 0;
    for (seed, every) in [("3", 0), ("11", 5), ("29", 2)] {
        let corpus = gen(&dir.path().join(seed), seed, "5000");
        if every > 0 {
            drop_creation_dates(&corpus, every);
        }
        let (json, _d) = check(&[corpus], &format!("generated seed {seed}"));
        for key in ["identities", "sessions", "event_rows"] {
            assert!(count(&json, key) > 0, "seed {seed}: {key}");
        }
        let by_reason = &json["counts"]["event_rows_by_reason"];
        assert!(
            by_reason["issuance"].as_u64().unwrap_or(0)
                + by_reason["resource_copy"].as_u64().unwrap_or(0)
                > 0,
            "seed {seed}: per-event rows of issuance events or resource-account copies: {by_reason}"
        );
        if every > 0 {
            // Identities without creationDate: some link at each event's time.
            assert!(count(&json, "time_dependent_identities") > 0, "seed {seed}");
            assert!(count(&json, "interval_rows") > 0, "seed {seed}: {json}");
            intervals += count(&json, "interval_rows");
        }
    }
    assert!(intervals > 0);
}

/// same_sessions.py in Rust: `k` more copies of every action (not STS, sign-in or Identity
/// Center calls, nor cross-account copies) of each file, with fresh eventIDs, in new files.
fn copy_actions(corpus: &Path, k: usize) {
    let mut new_files: Vec<(PathBuf, Vec<Value>)> = Vec::new();
    rewrite_records(corpus, |f, records| {
        let actions: Vec<&Value> = records
            .iter()
            .filter(|r| {
                ![
                    "sts.amazonaws.com",
                    "signin.amazonaws.com",
                    "sso.amazonaws.com",
                ]
                .contains(&r["eventSource"].as_str().unwrap_or(""))
                    && r.get("sharedEventID").is_none()
            })
            .collect();
        for i in 0..k {
            let copies = actions
                .iter()
                .map(|r| {
                    let mut c = (*r).clone();
                    c["eventID"] = format!("copy{i}-{}", r["eventID"].as_str().unwrap()).into();
                    c
                })
                .collect();
            let name = f
                .to_string_lossy()
                .replace(".json.gz", &format!("_copy{i}.json.gz"));
            new_files.push((PathBuf::from(name), copies));
        }
    });
    for (f, records) in new_files {
        let mut w = flate2::write::GzEncoder::new(
            std::fs::File::create(&f).unwrap(),
            flate2::Compression::fast(),
        );
        w.write_all(
            serde_json::to_string(&serde_json::json!({ "Records": records }))
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        w.finish().unwrap();
    }
}

/// The 1×/4× method of benches/same_sessions.py: the same sessions with four times the actions
/// give the same identities map (rows and content) and the same per-event rows, while the
/// events read grow fourfold.
#[test]
fn map_grows_with_identities_not_events() {
    let dir = tempfile::tempdir().unwrap();
    let one = gen(&dir.path().join("one"), "7", "4000");
    drop_creation_dates(&one, 3);
    let four = dir.path().join("four");
    crate::util::copy_tree(&dir.path().join("one"), &four);
    let four = four.join("AWSLogs");
    copy_actions(&four, 3);
    let (j1, d1) = check(&[one], "1x");
    let (j4, d4) = check(&[four], "4x");
    let events = |j: &Value| count(j, "events");
    assert!(
        events(&j4) > 3 * events(&j1),
        "4x has about four times the events: {} vs {}",
        events(&j4),
        events(&j1)
    );
    let ids = |d: &tempfile::TempDir| read_parquet(&d.path().join("map/identities.parquet"), None);
    let per = |d: &tempfile::TempDir| read_parquet(&d.path().join("map/events.parquet"), None);
    assert!(count(&j1, "interval_rows") > 0);
    assert_eq!(ids(&d1).height(), ids(&d4).height(), "identities rows");
    assert!(
        ids(&d1).equals_missing(&ids(&d4)),
        "the same identities map"
    );
    // The per-event rows of issuance events, Identity Center calls and resource-account copies
    // are the same (the copies are none of those); rows of time-dependent events that no
    // interval answers (order, not time, decided them) may be more.
    let reasons = |j: &Value| {
        let mut r = j["counts"]["event_rows_by_reason"].clone();
        r.as_object_mut().unwrap().remove("time_dependent");
        r
    };
    assert_eq!(reasons(&j1), reasons(&j4), "per-event rows by reason");
    let per_event = |d: &tempfile::TempDir| per(d).height() as u64;
    assert_eq!(per_event(&d1), count(&j1, "event_rows"));
    assert!(
        per_event(&d4) <= per_event(&d1) + count(&j4, "time_dependent_events") / 20,
        "per-event rows stay few: {} at 1x, {} at 4x",
        per_event(&d1),
        per_event(&d4)
    );
}

/// INPUT may be log files (read through a scratch case): the same map as from the case.
#[test]
fn resolve_of_logs_equals_resolve_of_their_case() {
    let dir = tempfile::tempdir().unwrap();
    let real = testdata("real");
    let (case, a, b) = (
        dir.path().join("case"),
        dir.path().join("a"),
        dir.path().join("b"),
    );
    tg(&[
        "ingest".into(),
        "-q".into(),
        arg(&real),
        "-o".into(),
        arg(&case),
    ]);
    tg(&[
        "resolve".into(),
        "-q".into(),
        arg(&case),
        "-o".into(),
        arg(&a),
    ]);
    tg(&[
        "resolve".into(),
        "-q".into(),
        arg(&real),
        "-o".into(),
        arg(&b),
    ]);
    for f in ["identities.parquet", "events.parquet"] {
        let (x, y) = (
            read_parquet(&a.join(f), None),
            read_parquet(&b.join(f), None),
        );
        assert!(x.equals_missing(&y), "{f}");
    }
}
