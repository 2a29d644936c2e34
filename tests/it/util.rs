//! Test helpers: run the CLI, locate fixtures, make temporary inputs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under testdata/.
pub fn testdata(p: &str) -> PathBuf {
    root().join("testdata").join(p)
}

/// Runs `trailgraph` with `args`; returns the output (never panics on a non-zero exit).
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_trailgraph"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run trailgraph")
}

/// Runs and returns stdout as text, asserting the exit code.
pub fn run_ok<I, S>(args: I, code: i32) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    stdout_of(run(args), code)
}

/// The stdout of a finished run as text, asserting its exit code.
pub fn stdout_of(out: Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Parses NDJSON output.
pub fn ndjson(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid NDJSON line"))
        .collect()
}

/// Gzips bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Copies a file or directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// The files of a scenario directory, excluding expected.json and notes.
pub fn scenario_inputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n != "expected.json" && !n.ends_with(".md")
        })
        .collect();
    v.sort();
    v
}

/// The input files of every scenario (without expected.json and notes).
pub fn all_scenario_inputs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(testdata("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().flat_map(|d| scenario_inputs(d)).collect()
}

/// Whether `cmd` is an executable file in one of the directories of PATH.
pub fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(cmd).is_file()))
}

/// Whether CI is running the tests: the environment variable `CI` is `true` (set by GitHub
/// Actions, GitLab CI and most other services; `.ci/run` installs the optional tools there).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| v == "true")
}

/// Whether the optional system tool `tool` (e.g. `dot`, `chromium`) is on PATH, for a `test`
/// that needs it. When it is missing: with `CI=true` the test fails (CI must run it, a missing
/// tool there is a broken CI image, not a reason to pass); otherwise it prints
/// "`test`: skipped: …" with how to install it (`install`) and returns false, so the caller
/// returns early.
#[track_caller]
pub fn require_tool(test: &str, tool: &str, install: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    assert!(
        !in_ci(),
        "{test}: `{tool}` is not on PATH, and CI=true requires it ({install}; .ci/run installs it)"
    );
    eprintln!("{test}: skipped: `{tool}` is not on PATH ({install})");
    false
}

/// Runs `trailgraph-gen --out OUT ARGS...` (the benches corpus generator) and asserts it
/// succeeded.
pub fn generate(out: &Path, args: &[&std::ffi::OsStr]) {
    let argv = [
        std::ffi::OsStr::new("trailgraph-gen"),
        "--out".as_ref(),
        out.as_os_str(),
    ]
    .into_iter()
    .chain(args.iter().copied());
    if let Err(e) = trailgraph_bench::run(argv) {
        panic!("trailgraph-gen: {e:#}");
    }
}

/// The files under `dir` (any depth) that `keep` accepts, sorted.
pub fn files_below(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if keep(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Writes `records` as a CloudTrail log file (`{"Records": [...]}`) at `path`.
pub fn write_records(path: &Path, records: Vec<serde_json::Value>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap(),
    )
    .unwrap();
}

/// A CloudTrail record of an IAM user's S3 GetObject with these id, recipient account (absent
/// when None), region and time: the event the de-duplication and partition tests vary.
pub fn get_object_record(
    id: &str,
    account: Option<&str>,
    region: &str,
    time: &str,
) -> serde_json::Value {
    let mut r = serde_json::json!({
        "eventVersion": "1.08",
        "eventID": id,
        "eventTime": time,
        "eventName": "GetObject",
        "eventSource": "s3.amazonaws.com",
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLE0000001",
            "principalId": "AIDAEXAMPLE"
        },
    });
    if let Some(a) = account {
        r["recipientAccountId"] = serde_json::Value::String(a.to_string());
    }
    r
}
