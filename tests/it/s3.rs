//! INPUT from `s3://` and `ingest -o s3://`, against a local S3-compatible server: moto
//! (`python3 -m moto.server`, from PyPI: `.ci/run` installs `moto[server]` into
//! target/moto-venv) started by each test on 127.0.0.1 and a free port. The bucket is filled with
//! boto3 (moto's own dependency), not with trailgraph. Reading a bucket must give the same bytes
//! as reading a local copy of its objects, with the `s3://` URLs in place of the local paths.
//! Without moto the tests say they were skipped, except with `CI=true`, where they fail.

use crate::util::{all_scenario_inputs, copy_tree, gzip, in_ci, root, testdata};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A Python with moto and boto3: $TRAILGRAPH_MOTO_PYTHON, the venv of `.ci/run`, or python3.
fn python() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("TRAILGRAPH_MOTO_PYTHON") {
        candidates.push(p.into());
    }
    candidates.push(root().join("target/moto-venv/bin/python3"));
    candidates.push("python3".into());
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import moto.server, boto3"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A moto server for one test; stopped when dropped (also used by tests/it/scale.rs).
pub(crate) struct Moto {
    child: Child,
    python: PathBuf,
    pub(crate) endpoint: String,
}

impl Moto {
    /// Starts moto (`env`: extra environment of the server), or returns None (the test is
    /// skipped) when moto is not installed; fails under CI=true.
    pub(crate) fn start(test: &str, env: &[(&str, &str)]) -> Option<Moto> {
        let Some(python) = python() else {
            assert!(
                !in_ci(),
                "{test}: moto is not installed, and CI=true requires it (.ci/run installs moto[server] into target/moto-venv)"
            );
            eprintln!(
                "{test}: skipped: moto is not installed (python3 -m pip install 'moto[server]')"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(&python);
        cmd.args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start moto");
        let moto = Moto {
            child,
            python,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // Ready when it accepts connections (moto starts in a second or two).
        for _ in 0..600 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(moto);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{test}: moto did not start on port {port}");
    }

    /// Creates `bucket` and uploads every file under `dir` with its relative path after `prefix`.
    pub(crate) fn upload(&self, bucket: &str, dir: &Path, prefix: &str) {
        const SCRIPT: &str = r#"
import os, sys, boto3
endpoint, bucket, root, prefix = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
    s3.create_bucket(Bucket=bucket)
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        s3.upload_file(p, bucket, prefix + os.path.relpath(p, root).replace(os.sep, "/"))
"#;
        let out = Command::new(&self.python)
            .args(["-c", SCRIPT, &self.endpoint, bucket])
            .arg(dir)
            .arg(prefix)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "upload: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs trailgraph against this server.
    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = aws_free(Command::new(env!("CARGO_BIN_EXE_trailgraph")));
        cmd.args(args)
            .current_dir(root())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cmd` without the AWS settings of the environment running the tests.
pub(crate) fn aws_free(mut cmd: Command) -> Command {
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(|k| k.starts_with("AWS_")) {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A trail bucket's worth of objects: the layout fixture (logs, a digest, an Insights file,
/// Config objects), the scenarios gzip'd into the trail layout, a zip archive, a README, and
/// bad files (a truncated gzip, not JSON).
fn trail(dir: &Path) {
    copy_tree(&testdata("layout"), dir);
    let day = dir.join("AWSLogs/333333333333/CloudTrail/us-east-1/2024/01/01");
    std::fs::create_dir_all(&day).unwrap();
    for (i, f) in all_scenario_inputs().iter().enumerate() {
        let scenario = f.parent().unwrap().file_name().unwrap().to_string_lossy();
        let name = format!("333333333333_CloudTrail_us-east-1_20240101T{i:04}Z_{scenario}.json.gz");
        std::fs::write(day.join(name), gzip(&std::fs::read(f).unwrap())).unwrap();
    }
    let mut zip = zip::ZipWriter::new(std::fs::File::create(day.join("export.zip")).unwrap());
    for f in all_scenario_inputs().iter().take(3) {
        let name = format!(
            "{}-{}",
            f.parent().unwrap().file_name().unwrap().to_string_lossy(),
            f.file_name().unwrap().to_string_lossy()
        );
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&std::fs::read(f).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    std::fs::write(dir.join("README.md"), "not a log\n").unwrap();
    std::fs::copy(
        testdata("hazards/truncated.json.gz"),
        day.join("333333333333_CloudTrail_us-east-1_20240101T2359Z_cut.json.gz"),
    )
    .unwrap();
    std::fs::copy(testdata("hazards/not_json.txt"), day.join("notes.txt")).unwrap();
}

/// The output of a run, with the local path `local` written as the URL `url` (a file's
/// `source_file`, problems), and its exit code.
fn shown(out: &Output, local: &Path, url: &str) -> (i32, String, String) {
    let local = local.to_str().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).replace(local, url);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn plain(out: &Output) -> (i32, String, String) {
    shown(out, Path::new("\u{0}"), "")
}

#[test]
fn s3_input_reads_as_the_local_copy() {
    let Some(moto) = Moto::start("s3_input_reads_as_the_local_copy", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    trail(&data);
    moto.upload("trail-bucket", &data, "data/");
    let url = "s3://trail-bucket/data";
    let local = data.to_str().unwrap();
    for (args, env) in [
        (vec!["attribute", "--format", "ndjson", "-j2"], vec![]),
        (vec!["hunt", "--format", "csv"], vec![]),
        (vec!["who", "--format", "json"], vec![]),
        // Every unit read as a stream a few KiB at a time (ranged reads, zip members by seeking).
        (
            vec!["attribute", "--format", "csv", "-j3"],
            vec![("TRAILGRAPH_STREAM_WINDOW", "4096")],
        ),
    ] {
        let with = |input: &str| {
            let mut a = vec![args[0], input];
            a.extend(&args[1..]);
            if args[0] == "who" {
                a.push("AROAEXAMPLE");
            }
            moto.run_env(&a, &env)
        };
        let from_disk = shown(&with(local), &data, url);
        let from_s3 = plain(&with(url));
        assert!(
            from_disk.1.len() > 100 || args[0] == "who",
            "{args:?}: little output: {from_disk:?}"
        );
        assert_eq!(from_s3, from_disk, "{args:?} {env:?}");
    }
    // The trail layout's rules hold: the digest, Insights and Config objects and the README are
    // skipped and counted, the bad files are problems named by their URL.
    let out = moto.run(&["summary", url, "--format", "json"]);
    let (code, summary, stderr) = plain(&out);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "s3://trail-bucket/data/AWSLogs/333333333333/CloudTrail/us-east-1/2024/01/01/notes.txt"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("_cut.json.gz"), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let text = v.to_string();
    for skipped in ["digest", "insight", "config", "not_a_log"] {
        assert!(text.contains(skipped), "{skipped} in {text}");
    }
    // One object by its key.
    let key =
        "s3://trail-bucket/data/AWSLogs/333333333333/CloudTrail/us-east-1/2024/01/01/export.zip";
    let one = plain(&moto.run(&["attribute", key, "--format", "csv"]));
    let file = data.join("AWSLogs/333333333333/CloudTrail/us-east-1/2024/01/01/export.zip");
    let one_local = shown(
        &moto.run(&["attribute", file.to_str().unwrap(), "--format", "csv"]),
        &data,
        url,
    );
    assert_eq!(one, one_local);
    assert!(one.1.lines().count() > 10, "{}", one.1);
}

#[test]
fn ingest_writes_a_case_to_s3_and_reads_it_back() {
    let Some(moto) = Moto::start("ingest_writes_a_case_to_s3_and_reads_it_back", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    trail(&data);
    moto.upload("trail-bucket", &data, "data/");
    let url = "s3://trail-bucket/data";
    let local_case = tmp.path().join("case");
    let local_case = local_case.to_str().unwrap();
    let ingested = moto.run(&["ingest", data.to_str().unwrap(), "-o", local_case]);
    let (code, first, _) = shown(&ingested, &data, url);
    assert_eq!(code, 1);
    // Ingest from S3 into S3, in two runs (the second adds the files the first did not have).
    let case = "s3://trail-bucket/cases/one";
    let part0 = moto.run(&[
        "ingest",
        "s3://trail-bucket/data/AWSLogs/o-exampleorg1",
        "-o",
        case,
    ]);
    let (code, out, err) = plain(&part0);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("case store: s3://trail-bucket/cases/one (run "),
        "{out}"
    );
    let part1 = plain(&moto.run(&["ingest", url, "-o", case]));
    assert_eq!(part1.0, 1, "{part1:?}");
    assert!(
        part1.1.contains("already in the case") && part1.1.contains("(run "),
        "{part1:?}"
    );
    let again = plain(&moto.run(&["ingest", url, "-o", case]));
    assert!(again.1.starts_with("nothing new to ingest"), "{again:?}");
    // And a case in one run equals the local case.
    let case2 = "s3://trail-bucket/cases/two/";
    let (_, out2, _) = plain(&moto.run(&["ingest", url, "-o", case2]));
    assert_eq!(
        out2.lines().next(),
        first.lines().next(),
        "the same accounting"
    );
    for args in [
        vec!["attribute", "--format", "ndjson"],
        vec!["summary", "--format", "json"],
        vec!["hunt", "--format", "csv"],
    ] {
        let with = |input: &str| {
            let mut a = vec![args[0], input];
            a.extend(&args[1..]);
            moto.run(&a)
        };
        let from_local = shown(&with(local_case), &data, url);
        let (code, out, err) = plain(&with(case2));
        assert_eq!(
            (code, &out, &err),
            (from_local.0, &from_local.1, &from_local.2),
            "{args:?}"
        );
        if args[0] == "attribute" {
            let (_, two_parts, _) = plain(&with(case));
            assert_eq!(two_parts, out, "the case ingested in two runs");
        }
    }
}

#[test]
fn s3_errors_are_one_line() {
    let Some(moto) = Moto::start("s3_errors_are_one_line", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.json"), b"{\"Records\":[]}").unwrap();
    moto.upload("there", tmp.path(), "logs/");
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("http://127.0.0.1:{closed}");
    for (args, env, want) in [
        (
            vec!["attribute", "s3://not-there/x"],
            vec![],
            "s3://not-there/x: no such bucket",
        ),
        (
            vec!["attribute", "s3://there/nothing"],
            vec![],
            "s3://there/nothing: no such object or prefix",
        ),
        (
            vec!["attribute", "s3://Bad_Bucket/x"],
            vec![],
            "s3://Bad_Bucket/x: bad S3 URL",
        ),
        (
            vec!["attribute", "s3://there/logs/"],
            vec![("AWS_ENDPOINT_URL", unreachable.as_str())],
            "s3://there/logs/: cannot reach http://127.0.0.1:",
        ),
        (
            vec![
                "ingest",
                tmp.path().to_str().unwrap(),
                "-o",
                "s3://not-there/case",
            ],
            vec![],
            "s3://not-there/case: no such bucket",
        ),
        (
            vec![
                "ingest",
                tmp.path().to_str().unwrap(),
                "-o",
                "s3://there/logs",
            ],
            vec![],
            "s3://there/logs: exists and is not a trailgraph case",
        ),
    ] {
        let (code, _, err) = plain(&moto.run_env(&args, &env));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("trailgraph: error: {want}")),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // Anonymous requests: a public-read object is read, a private one is refused by the server
    // (so the requests were not signed).
    let public = Command::new(&moto.python)
        .args([
            "-c",
            "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing').put_object(Bucket='there', Key='public/a.json', Body=open(sys.argv[2], 'rb').read(), ACL='public-read')",
            &moto.endpoint,
        ])
        .arg(testdata("scenarios/chain_depth_5/111111111111_CloudTrail_us-east-1_20240301T1210Z_RJoAvGjzVgD6SWRT.json"))
        .output()
        .unwrap();
    assert!(
        public.status.success(),
        "{}",
        String::from_utf8_lossy(&public.stderr)
    );
    let anonymous = |url: &str| plain(&moto.run(&["summary", url, "--no-sign-request"]));
    let (code, out, err) = anonymous("s3://there/public/");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Files      1 read, 0 skipped"), "{out}");
    let (code, _, err) = anonymous("s3://there/logs/");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("s3://there/logs/a.json: cannot read: access denied"),
        "{err}"
    );
}

#[test]
fn s3_access_denied_is_one_line() {
    // moto checks credentials after its first request (the bucket's creation): trailgraph's
    // made-up keys are refused.
    let Some(moto) = Moto::start(
        "s3_access_denied_is_one_line",
        &[("INITIAL_NO_AUTH_ACTION_COUNT", "3")],
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.json"), b"{\"Records\":[]}").unwrap();
    moto.upload("locked", tmp.path(), "logs/");
    let (code, _, err) = plain(&moto.run(&["attribute", "s3://locked/logs"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("trailgraph: error: s3://locked/logs: access denied"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Two `ingest` runs at the same time, over disjoint prefixes, into one S3 case: both land (each
/// uploads its own files and manifest), and the case reads as the logs do.
#[test]
fn concurrent_runs_into_one_s3_case() {
    let Some(moto) = Moto::start("concurrent_runs_into_one_s3_case", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    trail(&data);
    moto.upload("trail-bucket", &data, "data/");
    let url = "s3://trail-bucket/data";
    let mut prefixes: Vec<String> = std::fs::read_dir(data.join("AWSLogs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    prefixes.sort();
    assert!(prefixes.len() >= 2, "{prefixes:?}");
    let case = "s3://trail-bucket/cases/together";
    let (a, b) = prefixes.split_at(1);
    let spawn = |names: &[String]| {
        let mut cmd = aws_free(Command::new(env!("CARGO_BIN_EXE_trailgraph")));
        cmd.arg("ingest").arg("-q");
        for n in names {
            cmd.arg(format!("{url}/AWSLogs/{n}"));
        }
        cmd.args(["-o", case])
            .current_dir(root())
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(a), spawn(b));
    for p in [pa, pb] {
        let out = p.wait_with_output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let local: Vec<String> = prefixes
        .iter()
        .map(|n| data.join("AWSLogs").join(n).to_string_lossy().into_owned())
        .collect();
    for args in [
        vec!["attribute", "--format", "ndjson"],
        vec!["sessions", "--format", "csv"],
    ] {
        let mut from_logs = vec![args[0]];
        from_logs.extend(local.iter().map(|s| s.as_str()));
        from_logs.extend(&args[1..]);
        let want = shown(&moto.run(&from_logs), &data, url);
        let mut from_case = vec![args[0], case];
        from_case.extend(&args[1..]);
        let got = plain(&moto.run(&from_case));
        assert_eq!(got.1, want.1, "{args:?}");
        assert!(!got.1.is_empty());
    }
}
