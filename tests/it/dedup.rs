//! De-duplication in bounded memory (issue 14): with its memory forced tiny
//! (`TRAILGRAPH_DEDUP_MEMORY`, so buckets and key runs spill at every turn and read-time
//! de-duplication across runs goes through its buckets), ingest writes the same bytes and
//! accounting, and every reader answers the same, as with the default; on the scenarios,
//! testdata/real, a generated corpus with duplicates within and across files, prefixes and
//! partitions, and cases written by several runs with overlapping inputs.

use crate::util::{copy_tree, generate, get_object_record, testdata, write_records};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The forced memory: a few dozen keys in buckets, runs of 64 keys, hundreds of buckets.
const TINY: (&str, &str) = ("TRAILGRAPH_DEDUP_MEMORY", "4096");
const RUN: &str = "20250101T000000Z-0dedup00";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `trailgraph`; returns (exit code, stdout, stderr).
fn tg(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailgraph"))
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(crate::util::root())
        .output()
        .expect("run trailgraph");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file and directory under `dir` (relative path, bytes), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                // Directories too (a run written again leaves no empty one behind).
                out.push((rel + "/", Vec::new()));
                stack.push(p);
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn same_tree(a: &Path, b: &Path, what: &str) {
    let (ta, tb) = (tree(a), tree(b));
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ta), names(&tb), "{what}: files");
    for ((n, x), (_, y)) in ta.iter().zip(&tb) {
        assert!(x == y, "{what}: {n} differs");
    }
}

/// Ingests `inputs` (one run, `-j threads`) into `case` with `envs`; returns the exit code and
/// what it printed.
fn ingest(inputs: &[PathBuf], case: &Path, envs: &[(&str, &str)], threads: &str) -> (i32, String) {
    let mut args = vec!["ingest", "-j", threads, "-o", s(case)];
    args.extend(inputs.iter().map(|p| s(p)));
    let mut env = vec![("TRAILGRAPH_RUN", RUN)];
    env.extend_from_slice(envs);
    let (code, out, err) = tg(&args, &env);
    assert!(code == 0 || code == 1, "ingest failed: {err}");
    (code, (out + &err).replace(s(case), "CASE"))
}

/// One run over `inputs`: the default, the tiny memory, and the tiny memory on one thread
/// write the same case (bytes), print the same, and exit alike. Returns the default case's
/// manifest.
fn ingest_alike(inputs: &[PathBuf], work: &Path, what: &str) -> Value {
    let base = work.join(format!("{what}-default"));
    let want = ingest(inputs, &base, &[], "2");
    for (name, envs, threads) in [("tiny", vec![TINY], "2"), ("tiny-j1", vec![TINY], "1")] {
        let case = work.join(format!("{what}-{name}"));
        let got = ingest(inputs, &case, &envs, threads);
        assert_eq!(got, want, "{what}: ingest {name}: exit code and output");
        same_tree(&base, &case, &format!("{what}: ingest {name}"));
    }
    manifest(&base)
}

fn manifest(case: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(case.join(format!("manifests/{RUN}.json"))).unwrap())
        .unwrap()
}

/// What the readers answer on `input` (logs: through a scratch case; a case: across its runs).
type Answer = (String, i32, String, String);

fn answers(input: &Path, envs: &[(&str, &str)]) -> Vec<Answer> {
    let i = s(input);
    let mut out = Vec::new();
    for args in [
        vec!["summary", i, "--format", "json", "--in-memory-limit", "0"],
        vec!["attribute", i, "--format", "csv", "--in-memory-limit", "0"],
        vec!["sessions", i, "--format", "csv", "--in-memory-limit", "0"],
        vec![
            "query",
            i,
            "--format",
            "csv",
            "--sql",
            "SELECT source_file, record_index, event_id, recipient_account FROM events ORDER BY source_file, record_index",
        ],
        vec![
            "query",
            i,
            "--format",
            "csv",
            "--sql",
            "SELECT source_file, record_index, event_id FROM issuances ORDER BY source_file, record_index",
        ],
    ] {
        let (code, stdout, stderr) = tg(&args, envs);
        out.push((args.join(" ").replace(i, "INPUT"), code, stdout, stderr));
    }
    out
}

fn answers_alike(input: &Path, what: &str) -> Vec<Answer> {
    let want = answers(input, &[]);
    let got = answers(input, &[TINY]);
    for (w, g) in want.iter().zip(&got) {
        assert!(w == g, "{what}: {} differs with the tiny memory", w.0);
    }
    assert!(
        want.iter()
            .all(|(_, code, o, _)| *code <= 1 && !o.is_empty()),
        "{what}: no answer"
    );
    want
}

/// The scenarios and testdata/real, ingested and read through scratch cases.
#[test]
fn fixtures_same_with_tiny_memory() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = testdata("scenarios");
    let real = testdata("real");
    for (what, input) in [("scenarios", &scenarios), ("real", &real)] {
        let m = ingest_alike(std::slice::from_ref(input), dir.path(), what);
        assert!(m["totals"]["events"].as_u64().unwrap() > 0, "{what}: {m}");
        answers_alike(input, what);
    }
}

/// A record as CloudTrail writes it.
fn record(id: &str, account: &str, region: &str, time: &str) -> Value {
    get_object_record(id, Some(account), region, time)
}

/// The same eventID and account with another region or date (not a real delivery, but the
/// rule is by eventID and account alone): the first copy in input order is kept, the others
/// are duplicates, as one set of every key decides. Both the default and the tiny memory find
/// them (the check at the end of the run) and run again.
#[test]
fn keys_of_several_partitions_are_still_one_event() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let a = "111122223333";
    write_records(
        &logs.join("1.json"),
        vec![
            record("x1", a, "us-east-1", "2024-03-01T10:00:00Z"),
            record("x2", a, "us-east-1", "2024-03-01T10:00:01Z"),
            record("x3", a, "us-east-1", "2024-03-01T10:00:02Z"),
        ],
    );
    write_records(
        &logs.join("2.json"),
        vec![
            // x1 in another region, x2 on another day, x3 again in its own partition.
            record("x1", a, "eu-west-1", "2024-03-01T10:00:00Z"),
            record("x2", a, "us-east-1", "2024-03-02T10:00:01Z"),
            record("x3", a, "us-east-1", "2024-03-01T10:00:02Z"),
            // The same id delivered to another account is another event.
            record("x1", "444455556666", "us-east-1", "2024-03-01T10:00:00Z"),
        ],
    );
    let m = ingest_alike(std::slice::from_ref(&logs), dir.path(), "cross");
    assert_eq!(m["totals"]["events"], 4, "{m}");
    assert_eq!(m["totals"]["duplicates"], 3, "{m}");
    let by_input: Vec<(String, u64)> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                i["duplicates"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_input, vec![("1.json".into(), 0), ("2.json".into(), 3)]);
    // Only the first copies' partitions have files.
    let files: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        files
            .iter()
            .all(|f| !f.contains("eu-west-1") && !f.contains("2024-03-02")),
        "{files:?}"
    );
    let ans = answers_alike(&logs, "cross");
    assert!(ans[0].2.contains("\"duplicates\": 3"), "{}", ans[0].2);
}

/// A generated org trail (duplicate deliveries within and across files), one account's logs
/// delivered again under a second prefix (every partition of it met twice, far apart), and a
/// file of copies in other partitions: one run gives the same case with the tiny memory, its
/// counts the generator's; then cases of two runs over overlapping inputs read the same with
/// the tiny memory, and the same as one run over all of it.
#[test]
fn generated_corpus_and_runs_same_with_tiny_memory() {
    let dir = tempfile::tempdir().unwrap();
    let gen = dir.path().join("gen");
    generate(
        &gen,
        &[
            "--records".as_ref(),
            "6000".as_ref(),
            "--seed".as_ref(),
            "7".as_ref(),
            "--accounts".as_ref(),
            "3".as_ref(),
        ],
    );
    let truth: Value =
        serde_json::from_slice(&std::fs::read(gen.join("MANIFEST.json")).unwrap()).unwrap();
    assert!(truth["duplicates"].as_u64().unwrap() > 0, "{truth}");
    let logs = gen.join("AWSLogs");
    let m = ingest_alike(std::slice::from_ref(&logs), dir.path(), "gen");
    assert_eq!(m["totals"]["events"], truth["distinct_events"], "{m}");
    assert_eq!(m["totals"]["duplicates"], truth["duplicates"], "{m}");

    // The second prefix: an account's trail copied beside the organization's.
    let org = std::fs::read_dir(&logs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut accounts: Vec<PathBuf> = std::fs::read_dir(&org)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    accounts.sort();
    let again = dir.path().join("again");
    let account = accounts[0].file_name().unwrap().to_owned();
    copy_tree(&accounts[0], &again.join("AWSLogs").join(&account));
    let copied = tree(&again)
        .iter()
        .filter(|(n, _)| n.ends_with(".gz"))
        .count();
    assert!(copied > 3, "{copied} files copied");
    // Copies in other partitions of a few of its events (the same ids, another region or day).
    let first = tree(&accounts[0])
        .into_iter()
        .find(|(n, _)| n.ends_with(".gz"))
        .unwrap();
    let text = {
        use std::io::Read;
        let mut t = Vec::new();
        flate2::read::MultiGzDecoder::new(&first.1[..])
            .read_to_end(&mut t)
            .unwrap();
        t
    };
    let mut records: Vec<Value> = serde_json::from_slice::<Value>(&text).unwrap()["Records"]
        .as_array()
        .unwrap()
        .iter()
        .take(5)
        .cloned()
        .collect();
    for (k, r) in records.iter_mut().enumerate() {
        if k % 2 == 0 {
            r["awsRegion"] = "ap-south-2".into();
        } else {
            r["eventTime"] = "2031-01-01T00:00:00Z".into();
        }
    }
    write_records(&again.join("zz-crafted.json"), records);
    let inputs = vec![logs.clone(), again.clone()];
    let m2 = ingest_alike(&inputs, dir.path(), "gen-again");
    let dups = |m: &Value| m["totals"]["duplicates"].as_u64().unwrap();
    let events = |m: &Value| m["totals"]["events"].as_u64().unwrap();
    assert_eq!(events(&m2), events(&m), "nothing new in the copies: {m2}");
    assert!(dups(&m2) > dups(&m) + copied as u64, "{m2}");

    // Several runs over overlapping inputs: read-time de-duplication across runs.
    let one = dir.path().join("gen-again-default");
    let two = dir.path().join("two");
    for input in [&again, &logs] {
        let (code, _, err) = tg(&["ingest", "-q", "-o", s(&two), s(input)], &[]);
        assert!(code <= 1, "{err}");
    }
    // Three runs partitioned three ways, over overlapping inputs under other names.
    let again2 = dir.path().join("again2");
    copy_tree(&again, &again2);
    let three = dir.path().join("three");
    for (input, partition) in [
        (&logs, "region"),
        (&again, "account,date"),
        (&again2, "none"),
    ] {
        let (code, _, err) = tg(
            &[
                "ingest",
                "-q",
                "--partition",
                partition,
                "-o",
                s(&three),
                s(input),
            ],
            &[],
        );
        assert!(code <= 1, "{err}");
    }
    let want = answers_alike(&one, "one run");
    let got = answers_alike(&two, "two runs");
    // As one run over everything: the events kept, their attribution.
    for k in [1, 2, 3, 4] {
        assert!(
            want[k] == got[k],
            "two runs: {} differs from one run",
            want[k].0
        );
    }
    let summary: Value = serde_json::from_str(&got[0].2).unwrap();
    assert_eq!(
        summary["records"]["events"],
        events(&m2) as u64,
        "{summary}"
    );
    assert_eq!(summary["records"]["duplicates"], dups(&m2), "{summary}");
    answers_alike(&three, "three runs, other partitions");
}
