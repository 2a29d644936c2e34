//! Every analysis reads the events a slice at a time (`trailgraph_graph::scan`): from log files
//! held in memory in one slice, from a case a row group at a time, from a case of several parts
//! whose row groups interleave in file order, and from log files over `--in-memory-limit`
//! through a scratch case. All four must give the same bytes, also with one-row slices, where
//! every per-session, per-key and per-pair state crosses slice boundaries.

use crate::util::{all_scenario_inputs, run_ok, stdout_of, testdata};
use std::path::Path;

/// The four ways of reading the same input, as argument lists to put before a command's own.
struct Ways {
    _dir: tempfile::TempDir,
    logs: Vec<String>,
    case_small_groups: String,
    case_two_parts: String,
}

fn ways() -> Ways {
    let mut logs: Vec<String> = all_scenario_inputs()
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    logs.push(
        testdata("real/stratus-red-team-detonation-logs")
            .to_str()
            .unwrap()
            .to_string(),
    );
    ways_of(logs)
}

/// The log files of the anomaly detectors' fixtures: each fires its detector, or just misses.
fn anomaly_fixtures() -> Vec<String> {
    let mut logs = Vec::new();
    for e in std::fs::read_dir(testdata("anomalies")).unwrap() {
        let d = e.unwrap().path();
        for f in ["fire.json", "near_miss.json"] {
            if d.join(f).is_file() {
                logs.push(d.join(f).to_str().unwrap().to_string());
            }
        }
    }
    logs.sort();
    logs
}

fn ways_of(logs: Vec<String>) -> Ways {
    let dir = tempfile::tempdir().unwrap();
    let case = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let case_small_groups = case("groups");
    let mut args = vec![
        "ingest",
        "-q",
        "--row-group-rows",
        "1",
        "-o",
        &case_small_groups,
    ];
    args.extend(logs.iter().map(|s| s.as_str()));
    run_ok(args, 0);
    // A second ingest adds the other half: two parts whose row groups interleave.
    let case_two_parts = case("parts");
    let odd: Vec<&str> = logs.iter().skip(1).step_by(2).map(|s| s.as_str()).collect();
    for batch in [odd, logs.iter().map(|s| s.as_str()).collect()] {
        let mut args = vec![
            "ingest",
            "-q",
            "--row-group-rows",
            "3",
            "-o",
            &case_two_parts,
        ];
        args.extend(batch);
        run_ok(args, 0);
    }
    assert_eq!(
        std::fs::read_dir(Path::new(&case_two_parts).join("manifests"))
            .unwrap()
            .count(),
        2
    );
    Ways {
        _dir: dir,
        logs,
        case_small_groups,
        case_two_parts,
    }
}

/// `trailgraph CMD ARGS INPUT... TAIL...` the four ways; all must equal the in-memory output,
/// which is returned.
fn same_four_ways(w: &Ways, cmd: &[&str], tail: &[&str]) -> String {
    let go = |pre: &[&str], inputs: &[&str], tmp: Option<&Path>| {
        let mut args: Vec<&str> = cmd.to_vec();
        args.push("-q");
        args.extend_from_slice(pre);
        args.extend_from_slice(inputs);
        args.extend_from_slice(tail);
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_trailgraph"));
        c.args(&args);
        if let Some(t) = tmp {
            c.env("TMPDIR", t);
        }
        stdout_of(c.output().unwrap(), 0)
    };
    let logs: Vec<&str> = w.logs.iter().map(|s| s.as_str()).collect();
    let in_memory = go(&[], &logs, None);
    assert!(!in_memory.trim().is_empty(), "{cmd:?}: some output");
    let what = format!("{cmd:?} {tail:?}");
    assert_eq!(
        go(&[], &[&w.case_small_groups], None),
        in_memory,
        "{what}: a case read one row at a time"
    );
    assert_eq!(
        go(&[], &[&w.case_two_parts], None),
        in_memory,
        "{what}: a case of two parts"
    );
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(
        go(
            &["--in-memory-limit", "0", "--row-group-rows", "2"],
            &logs,
            Some(tmp.path())
        ),
        in_memory,
        "{what}: logs through a scratch case"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    in_memory
}

/// `trust` and `whatif` on the trust fixtures (policy changes in the logs, assumptions chained
/// through a session, a failed call) the four ways.
#[test]
fn trust_and_whatif_give_the_same_answers_streamed() {
    // A second log file, so that the case of two parts has two.
    let w = ways_of(vec![
        testdata("trust/trail.json").to_str().unwrap().to_string(),
        all_scenario_inputs()[0].to_str().unwrap().to_string(),
    ]);
    let iam = testdata("trust/iam");
    let iam = iam.to_str().unwrap();
    let t = same_four_ways(&w, &["trust", "--format", "csv"], &["--iam", iam]);
    assert!(t.contains("assumption_not_explained"), "{t}");
    let flags = [
        "--iam",
        iam,
        "--role",
        "*",
        "--require-mfa",
        "--source-ip",
        "203.0.113.0/24",
        "--hours",
        "Mon-Fri 08:00-18:00",
        "--timezone",
        "Europe/Berlin",
    ];
    same_four_ways(&w, &["whatif"], &flags);
    let rows = same_four_ways(&w, &["whatif", "--format", "ndjson"], &flags);
    assert!(rows.contains("\"verdict\":\"deny\""), "{rows}");
}

#[test]
fn analyses_give_the_same_answers_streamed() {
    let w = ways();
    let sessions = same_four_ways(&w, &["sessions", "--format", "csv"], &[]);
    same_four_ways(&w, &["chains", "--format", "json"], &[]);
    same_four_ways(&w, &["summary", "--format", "json"], &[]);
    same_four_ways(&w, &["graph", "--format", "dot"], &[]);
    same_four_ways(&w, &["graph", "--format", "graphml"], &[]);
    same_four_ways(&w, &["timeline"], &[]);
    same_four_ways(&w, &["timeline", "--format", "csv"], &[]);
    let hits = same_four_ways(&w, &["hunt", "--format", "csv"], &[]);
    assert!(hits.lines().count() > 5, "{hits}");
    same_four_ways(&w, &["hunt", "--by", "origin", "--format", "json"], &[]);
    // trace of an origin five roles deep, of an issued key, of a long-term key.
    let alice = "arn:aws:iam::111111111111:user/alice";
    let t = same_four_ways(&w, &["trace"], &[alice]);
    assert!(t.contains("timeline ("), "{t}");
    same_four_ways(&w, &["trace", "--format", "json"], &[alice]);
    let issued: Vec<&str> = sessions
        .lines()
        .flat_map(|l| l.split(','))
        .filter(|f| f.starts_with("ASIA") && !f.contains('@'))
        .take(3)
        .collect();
    assert!(!issued.is_empty());
    for key in &issued {
        same_four_ways(&w, &["trace"], &[key]);
        same_four_ways(&w, &["who", "--format", "json"], &[key]);
    }
    let longterm = run_ok(
        {
            let mut a = vec!["attribute", "-q", "--format", "csv"];
            a.extend(w.logs.iter().map(|s| s.as_str()));
            a
        },
        0,
    );
    let akia = longterm
        .split([',', '\n'])
        .find(|f| f.starts_with("AKIA"))
        .expect("a long-term key in the input")
        .to_string();
    same_four_ways(&w, &["trace"], &[&akia]);
    same_four_ways(&w, &["who"], &[&akia]);
    // anomalies: here the chain, caller and session detectors fire; on the detectors'
    // fixtures the ones that follow events do too (state per key, session and workload
    // across slices, time order across parts), with and without AWS's ranges.
    same_four_ways(&w, &["anomalies", "--format", "csv"], &[]);
    let fx = ways_of(anomaly_fixtures());
    let found = same_four_ways(&fx, &["anomalies", "--format", "ndjson"], &[]);
    for kind in [
        "session_multi_ip",
        "workload_credential_exfiltration",
        "federation_token_persistence",
        "assume_role_enumeration",
        "external_account_assumption",
    ] {
        assert!(
            found.contains(&format!("\"kind\":\"{kind}\"")),
            "{kind}: {found}"
        );
    }
    same_four_ways(&fx, &["anomalies"], &[]);
    let ranges = testdata("anomalies/workload_credential_exfiltration_ranges/config.toml");
    let with_ranges = same_four_ways(
        &fx,
        &["anomalies", "--format", "json"],
        &["--config", ranges.to_str().unwrap()],
    );
    assert!(
        with_ranges.contains("outside the AWS ranges"),
        "{with_ranges}"
    );
}

/// `report` writes a directory: every file must be the same four ways, but for the list of
/// INPUT paths it shows (the case ways name the case).
#[test]
fn report_is_the_same_streamed() {
    let w = ways();
    let dir = tempfile::tempdir().unwrap();
    let logs: Vec<&str> = w.logs.iter().map(|s| s.as_str()).collect();
    let report = |name: &str, pre: &[&str], inputs: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec!["report", "-q"];
        args.extend_from_slice(pre);
        args.extend_from_slice(inputs);
        args.extend(["-o", out.to_str().unwrap()]);
        let tmp = tempfile::tempdir().unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_trailgraph"))
            .args(&args)
            .env("TMPDIR", tmp.path())
            .output()
            .unwrap();
        stdout_of(o, 0);
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "temporary files left"
        );
        let mut files = std::collections::BTreeMap::new();
        for e in std::fs::read_dir(&out).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            let text = if name == "summary.json" {
                let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
                v.as_object_mut().unwrap().remove("inputs");
                v.to_string()
            } else {
                text.lines()
                    .filter(|l| !l.starts_with("<p>Input: ") && !l.starts_with("Input: "))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            files.insert(name, text);
        }
        files
    };
    let in_memory = report("memory", &[], &logs);
    assert!(in_memory.len() >= 14, "{:?}", in_memory.keys());
    assert!(in_memory["timeline.csv"].lines().count() > 100);
    for (name, pre, inputs) in [
        ("groups", vec![], vec![w.case_small_groups.as_str()]),
        ("parts", vec![], vec![w.case_two_parts.as_str()]),
        (
            "scratch",
            vec!["--in-memory-limit", "0", "--row-group-rows", "2"],
            logs.clone(),
        ),
    ] {
        let got = report(name, &pre, &inputs);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            in_memory.keys().collect::<Vec<_>>()
        );
        for (file, text) in &in_memory {
            assert!(got[file] == *text, "{name}: {file} differs");
        }
    }
}
