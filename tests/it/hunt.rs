//! `trailgraph hunt` (issue 15): Sigma rules over every event, each hit with the origin behind
//! it; rules from files and folders or the shipped ones; problems reported, never fatal.

use crate::util::{ndjson, run, run_ok, testdata};
use std::path::Path;

const DEEP_RULE: &str = "title: Secret read
id: 5f0c8a61-0d7b-4a43-9d55-2b1f3c9a7e01
author: trailgraph tests
status: test
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: secretsmanager.amazonaws.com
    eventName: GetSecretValue
  condition: selection
level: high
tags:
  - attack.credential-access
";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// A hit made five roles down a chain is attributed to the IAM user at the top, with the
/// chain, its depth and the rule's author; the roll-up per origin counts it.
#[test]
fn hit_carries_the_origin_behind_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let rule = write(dir.path(), "secret.yml", DEEP_RULE);
    let input = testdata("scenarios/chain_depth_5/111111111111_CloudTrail_us-east-1_20240301T1210Z_RJoAvGjzVgD6SWRT.json");
    let out = run_ok(
        [
            "hunt",
            "-q",
            input.to_str().unwrap(),
            "--rules",
            &rule,
            "--format",
            "ndjson",
        ],
        0,
    );
    let hits = ndjson(&out);
    let deep: Vec<_> = hits.iter().filter(|h| h["depth"] == 5).collect();
    assert!(!deep.is_empty(), "{out}");
    for h in &deep {
        assert_eq!(h["origin"], "arn:aws:iam::111111111111:user/alice");
        assert_eq!(h["rule_title"], "Secret read");
        assert_eq!(h["rule_author"], "trailgraph tests");
        assert_eq!(h["level"], "high");
        assert_eq!(h["tags"], "attack.credential-access");
        assert_eq!(h["event_name"], "GetSecretValue");
        assert!(h["chain"].as_str().unwrap().ends_with("role/Hop5"), "{h}");
        assert!(h["session_id"].as_str().unwrap().starts_with("ASIA"), "{h}");
    }
    // Column order as documented.
    let csv = run_ok(
        [
            "hunt",
            "-q",
            input.to_str().unwrap(),
            "--rules",
            &rule,
            "--format",
            "csv",
        ],
        0,
    );
    assert_eq!(
        csv.lines().next().unwrap(),
        "rule_id,rule_title,rule_author,level,tags,event_id,event_time,event_name,event_source,\
         recipient_account,aws_region,source_ip,session_id,origin,chain,depth,confidence"
    );
    assert_eq!(csv.lines().count(), hits.len() + 1);
    let by = ndjson(&run_ok(
        [
            "hunt",
            "-q",
            input.to_str().unwrap(),
            "--rules",
            &rule,
            "--by",
            "origin",
            "--format",
            "ndjson",
        ],
        0,
    ));
    let alice = by
        .iter()
        .find(|r| r["origin"] == "arn:aws:iam::111111111111:user/alice")
        .expect("alice rolled up");
    let alice_hits = hits
        .iter()
        .filter(|h| h["origin"] == "arn:aws:iam::111111111111:user/alice")
        .count();
    assert_eq!(alice["hits"], alice_hits as u64);
    assert_eq!(alice["rules"], 1);
    assert_eq!(alice["highest_level"], "high");
    assert_eq!(alice["accounts"], "111111111111");
}

/// A broken rule file is a problem (exit 1, named on stderr) and the other rules still run;
/// with --strict it is fatal. A rule path that does not exist is a one-line error.
#[test]
fn rule_problems_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secret.yml", DEEP_RULE);
    write(dir.path(), "broken.yaml", "title: [oops\n");
    std::fs::create_dir(dir.path().join("windows")).unwrap();
    write(
        &dir.path().join("windows"),
        "proc.yml",
        "title: w\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    Image: x\n  condition: s\n",
    );
    let input = testdata("scenarios/chain_depth_5/111111111111_CloudTrail_us-east-1_20240301T1210Z_RJoAvGjzVgD6SWRT.json");
    let rules = dir.path().to_str().unwrap();
    let out = run([
        "hunt",
        input.to_str().unwrap(),
        "--rules",
        rules,
        "--format",
        "ndjson",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.yaml"), "{err}");
    assert!(err.contains("1 rule(s) evaluated, 1 skipped"), "{err}");
    assert!(!ndjson(&String::from_utf8_lossy(&out.stdout)).is_empty());
    let strict = run([
        "hunt",
        "-q",
        "--strict",
        input.to_str().unwrap(),
        "--rules",
        rules,
    ]);
    assert_eq!(strict.status.code(), Some(2));
    // --list-rules (no INPUT needed) says why each rule is or is not evaluated.
    let list = run_ok(
        ["hunt", "--list-rules", "--rules", rules, "--format", "csv"],
        0,
    );
    assert!(list.contains("evaluated,"), "{list}");
    assert!(
        list.contains("skipped,") && list.contains("product: windows"),
        "{list}"
    );
    assert!(
        list.contains("problem,") && list.contains("broken.yaml"),
        "{list}"
    );
    let missing = run([
        "hunt",
        "-q",
        input.to_str().unwrap(),
        "--rules",
        "/no/such/rules",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("/no/such/rules"), "{err}");
}

/// The shipped rules are used without --rules: every SigmaHQ rule is evaluated, none skipped,
/// and the same hits come out whatever the thread count.
#[test]
fn shipped_rules_and_determinism() {
    let list = run_ok(["hunt", "--list-rules", "--format", "csv"], 0);
    let evaluated = list.lines().filter(|l| l.starts_with("evaluated,")).count();
    assert!(evaluated >= 39, "{list}");
    assert!(!list
        .lines()
        .any(|l| l.starts_with("skipped,") || l.starts_with("problem,")));
    let real = testdata("real");
    let one = run_ok(
        [
            "hunt",
            "-q",
            "-j",
            "1",
            real.to_str().unwrap(),
            "--format",
            "csv",
        ],
        0,
    );
    let two = run_ok(
        [
            "hunt",
            "-q",
            "-j",
            "2",
            real.to_str().unwrap(),
            "--format",
            "csv",
        ],
        0,
    );
    assert_eq!(one, two);
    assert!(one.contains("AWS CloudTrail Important Change"), "{one}");
}

/// Every output format holds the same hits in the same order (text formats are rendered as
/// the hits are met, the aligned table and Parquet are rebuilt from kept cells): JSON and
/// NDJSON give the same objects, CSV the same rows, Parquet the same values and the table one
/// line per hit; from a case (several slices, merged by time, only the columns the rules need
/// read) as from the logs (held in memory, every column): the same hits.
#[test]
fn every_format_holds_the_same_hits() {
    let real = testdata("real");
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    run_ok(
        [
            "ingest",
            "-q",
            real.to_str().unwrap(),
            "-o",
            case.to_str().unwrap(),
        ],
        0,
    );
    let mut seen: Vec<Vec<serde_json::Value>> = Vec::new();
    for input in [real.clone(), case] {
        let input = input.to_str().unwrap();
        let nd = ndjson(&run_ok(["hunt", "-q", input, "--format", "ndjson"], 0));
        seen.push(nd.clone());
        assert!(nd.len() > 100, "{}", nd.len());
        let json: Vec<serde_json::Value> =
            serde_json::from_str(&run_ok(["hunt", "-q", input, "--format", "json"], 0)).unwrap();
        assert_eq!(json, nd);
        let csv = run_ok(["hunt", "-q", input, "--format", "csv"], 0);
        let first: Vec<String> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        assert_eq!(first.len(), nd.len());
        for (c, n) in first.iter().zip(&nd) {
            assert_eq!(Some(c.as_str()), n["rule_id"].as_str());
        }
        let table = run_ok(["hunt", "-q", input, "--format", "table"], 0);
        assert_eq!(table.lines().count(), nd.len() + 1);
        let p = dir.path().join("hits.parquet");
        run_ok(
            [
                "hunt",
                "-q",
                input,
                "--format",
                "parquet",
                "-o",
                p.to_str().unwrap(),
            ],
            0,
        );
        use polars::prelude::*;
        let df = ParquetReader::new(std::fs::File::open(&p).unwrap())
            .finish()
            .unwrap();
        assert_eq!(df.height(), nd.len());
        for (name, key) in [("event_id", "event_id"), ("origin", "origin")] {
            let col = df.column(name).unwrap().str().unwrap();
            for (i, n) in nd.iter().enumerate() {
                assert_eq!(col.get(i), n[key].as_str(), "{name} row {i}");
            }
        }
        // Times typed in Parquet, the same instants as the text formats write.
        let times = df
            .column("event_time")
            .unwrap()
            .datetime()
            .unwrap()
            .physical();
        for (i, n) in nd.iter().enumerate() {
            let text = times.get(i).map(trailgraph_log::model::format_time);
            assert_eq!(
                text.as_deref(),
                n["event_time"].as_str(),
                "event_time row {i}"
            );
        }
        let depth = df.column("depth").unwrap().u32().unwrap();
        for (i, n) in nd.iter().enumerate() {
            assert_eq!(
                depth.get(i).map(u64::from),
                n["depth"].as_u64(),
                "depth row {i}"
            );
        }
    }
    assert_eq!(seen[0], seen[1], "from the logs and from the case");
}

/// `--min-level` keeps exactly the hits of the rules at that level or above, in the same order
/// as the full run, and lists the other rules as skipped with the reason.
#[test]
fn min_level_keeps_the_rules_at_or_above_it() {
    let real = testdata("real");
    let real = real.to_str().unwrap();
    let all = ndjson(&run_ok(["hunt", "-q", real, "--format", "ndjson"], 0));
    let medium = ndjson(&run_ok(
        [
            "hunt",
            "-q",
            real,
            "--format",
            "ndjson",
            "--min-level",
            "medium",
        ],
        0,
    ));
    let kept: Vec<&serde_json::Value> = all
        .iter()
        .filter(|h| ["medium", "high", "critical"].contains(&h["level"].as_str().unwrap()))
        .collect();
    assert!(
        !medium.is_empty() && medium.len() < all.len(),
        "{} of {}",
        medium.len(),
        all.len()
    );
    assert_eq!(medium.iter().collect::<Vec<_>>(), kept);
    let list = run_ok(
        [
            "hunt",
            "--list-rules",
            "--format",
            "csv",
            "--min-level",
            "high",
        ],
        0,
    );
    let skipped: Vec<&str> = list.lines().filter(|l| l.starts_with("skipped,")).collect();
    assert!(
        skipped
            .iter()
            .any(|l| l.ends_with("level medium is below --min-level high")),
        "{list}"
    );
    assert!(
        skipped.iter().all(|l| l.contains("below --min-level high")),
        "{list}"
    );
    let bad = run(["hunt", "--list-rules", "--min-level", "severe"]);
    assert_eq!(bad.status.code(), Some(2));
    // No shipped rule is critical: nothing left to evaluate is a one-line error saying why.
    let none = run(["hunt", "--list-rules", "--min-level", "critical"]);
    assert_eq!(none.status.code(), Some(2));
    let err = String::from_utf8_lossy(&none.stderr);
    // "(N skipped, N below --min-level critical, 0 with problems; …)": every rule skipped for
    // its level.
    let counts = err
        .split_once('(')
        .and_then(|(_, r)| r.split_once(" below --min-level critical"))
        .map(|(c, _)| c.to_string())
        .unwrap_or_default();
    let (skipped, below) = counts.split_once(" skipped, ").unwrap_or(("", "?"));
    assert!(!skipped.is_empty() && skipped == below, "{err}");
}

/// `report --min-level` evaluates the same rules as `hunt --min-level`: its `hunt.csv` holds
/// the same hits.
#[test]
fn report_min_level_matches_hunt() {
    let real = testdata("real");
    let real = real.to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("report");
    run_ok(
        [
            "report",
            "-q",
            real,
            "-o",
            dir.to_str().unwrap(),
            "--min-level",
            "high",
        ],
        0,
    );
    let hunt = run_ok(
        ["hunt", "-q", real, "--format", "csv", "--min-level", "high"],
        0,
    );
    let written = std::fs::read_to_string(dir.join("hunt.csv")).unwrap();
    assert_eq!(written, hunt);
    assert!(written.lines().count() > 1, "{written}");
    assert!(written
        .lines()
        .skip(1)
        .all(|l| !l.contains(",medium,") && !l.contains(",low,")));
}
