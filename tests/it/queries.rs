//! `trailgraph query`: the shipped queries in queries/ against golden outputs, the tidy rules
//! for query files, output formats, and errors.
//!
//! Golden outputs: tests/golden/queries/<name>.csv is the CSV output of queries/<name>.sql over
//! every scenario input in testdata/scenarios/ together (expected.json files left out). After
//! a deliberate change (a query, or attribution), regenerate them and review the diff:
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test --test it queries::
//! git diff tests/golden/queries/
//! ```

use crate::util::{ndjson, root, run, run_ok, scenario_inputs, testdata};
use std::path::PathBuf;

/// Every scenario input file (not expected.json or notes), in a fixed order.
fn scenario_files() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(testdata("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().flat_map(|d| scenario_inputs(d)).collect()
}

/// Names of the .sql files in queries/, sorted.
fn query_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".sql").map(String::from))
        .collect();
    v.sort();
    v
}

fn golden_dir() -> PathBuf {
    root().join("tests/golden/queries")
}

/// `query <scenario files> -q <args>`, asserting exit 0; returns stdout.
fn query(args: &[&str]) -> String {
    let mut a: Vec<std::ffi::OsString> = vec!["query".into(), "-q".into()];
    a.extend(scenario_files().into_iter().map(Into::into));
    a.extend(args.iter().map(Into::into));
    run_ok(a, 0)
}

/// The comment header fields of a query file.
fn header(sql: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in sql.lines() {
        let Some(rest) = line.strip_prefix("--") else {
            break;
        };
        if let Some((k, v)) = rest.trim().split_once(':') {
            if ["title", "description", "columns"].contains(&k) {
                out.push((k.to_string(), v.trim().to_string()));
                continue;
            }
        }
        if rest.starts_with("  ") {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(rest.trim());
            }
        }
    }
    out
}

fn field<'a>(h: &'a [(String, String)], k: &str) -> Option<&'a str> {
    h.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Runs every shipped query over the scenarios and compares with its golden CSV.
#[test]
fn golden_outputs() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let names = query_names();
    assert!(names.len() >= 8, "queries/ ships at least 8 queries");
    let mut failed = Vec::new();
    for name in &names {
        let file = format!("queries/{name}.sql");
        let got = query(&["--file", &file, "--format", "csv"]);
        let golden = golden_dir().join(format!("{name}.csv"));
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            failed.push(format!(
                "{name}: differs from {} at line {} (got {:?}, want {:?})",
                golden.display(),
                line + 1,
                got.lines().nth(line),
                want.lines().nth(line)
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "golden mismatch (UPDATE_GOLDEN=1 cargo test --test it queries:: to regenerate):\n{}",
        failed.join("\n")
    );
}

/// Every query file has a header, a golden output whose header row matches `-- columns:`,
/// ends with a top-level ORDER BY, and is built into the binary (`--list`).
#[test]
fn tidy_query_files() {
    let list = run_ok(["query", "--list"], 0);
    let mut problems = Vec::new();
    for name in query_names() {
        let sql = std::fs::read_to_string(root().join(format!("queries/{name}.sql"))).unwrap();
        let h = header(&sql);
        for k in ["title", "description", "columns"] {
            if field(&h, k).is_none_or(str::is_empty) {
                problems.push(format!("{name}.sql: no `-- {k}:` in the header"));
            }
        }
        let golden = golden_dir().join(format!("{name}.csv"));
        match std::fs::read_to_string(&golden) {
            Err(_) => problems.push(format!("{name}.sql: no golden file {}", golden.display())),
            Ok(g) => {
                let cols: Vec<String> = field(&h, "columns")
                    .unwrap_or("")
                    .split(',')
                    .map(|c| c.trim().to_string())
                    .collect();
                let head: Vec<String> = g
                    .lines()
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(String::from)
                    .collect();
                if cols != head {
                    problems.push(format!(
                        "{name}.sql: `-- columns:` {cols:?} is not the output header {head:?}"
                    ));
                }
            }
        }
        let body: String = sql
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n")
            .to_ascii_uppercase();
        match body.rfind("ORDER BY") {
            Some(i) if !body[i..].contains(')') => {}
            _ => problems.push(format!(
                "{name}.sql: does not end with a top-level ORDER BY"
            )),
        }
        if !list
            .lines()
            .any(|l| l.split_whitespace().next() == Some(&name))
        {
            problems.push(format!(
                "{name}.sql: not in `trailgraph query --list` (add it to QUERIES in src/query.rs)"
            ));
        }
    }
    for e in std::fs::read_dir(golden_dir()).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = n.strip_suffix(".csv") {
            if !root().join(format!("queries/{stem}.sql")).exists() {
                problems.push(format!("golden {n} has no queries/{stem}.sql"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `--list` prints name, title and description of every query.
#[test]
fn list_shows_titles() {
    let list = run_ok(["query", "--list"], 0);
    for name in query_names() {
        let sql = std::fs::read_to_string(root().join(format!("queries/{name}.sql"))).unwrap();
        let title = field(&header(&sql), "title").unwrap().to_string();
        assert!(
            list.contains(&format!("{name}  ")) && list.contains(&title),
            "{name} / {title} missing from --list:\n{list}"
        );
    }
}

/// Shipped queries run from any directory, by bare name or queries/NAME.sql.
#[test]
fn embedded_queries_work_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let want = std::fs::read_to_string(golden_dir().join("cross_account_assumptions.csv")).unwrap();
    for spec in [
        "cross_account_assumptions",
        "cross_account_assumptions.sql",
        "queries/cross_account_assumptions.sql",
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailgraph"))
            .arg("query")
            .arg("-q")
            .args(scenario_files())
            .args(["--file", spec, "--format", "csv"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{spec}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "{spec}");
    }
    // Any .sql file on disk.
    let f = dir.path().join("mine.sql");
    std::fs::write(
        &f,
        "-- my query\nSELECT event_name, COUNT(*) AS n FROM events GROUP BY event_name ORDER BY n DESC, event_name LIMIT 2\n",
    )
    .unwrap();
    let out = query(&["--file", f.to_str().unwrap(), "--format", "csv"]);
    // Counted independently over the scenario files: 39 AssumeRole, 8 DescribeInstances.
    assert_eq!(out, "event_name,n\nAssumeRole,39\nDescribeInstances,8\n");
}

/// Every --format, Parquet included, gives the same rows.
#[test]
fn all_formats() {
    let sql = "SELECT event_id, recipient_account, event_time, origin, depth, read_only FROM attribution ORDER BY event_time, event_id, recipient_account";
    let nd = ndjson(&query(&["--sql", sql, "--format", "ndjson"]));
    assert_eq!(nd.len(), 116);
    let json: serde_json::Value =
        serde_json::from_str(&query(&["--sql", sql, "--format", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap(), &nd);
    let csv = query(&["--sql", sql, "--format", "csv"]);
    assert_eq!(csv.lines().count(), 117);
    assert_eq!(
        csv.lines().next().unwrap(),
        "event_id,recipient_account,event_time,origin,depth,read_only"
    );
    let table = query(&["--sql", sql]);
    assert_eq!(table.lines().count(), 117);
    assert!(table.starts_with("event_id "));
    // Times are ISO text in text formats.
    assert_eq!(nd[0]["event_time"], "2014-07-18T15:06:40Z");
    assert_eq!(nd[0]["depth"], 0);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.parquet");
    query(&[
        "--sql",
        sql,
        "--format",
        "parquet",
        "-o",
        p.to_str().unwrap(),
    ]);
    use polars::prelude::*;
    let df = ParquetReader::new(std::fs::File::open(&p).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 116);
    assert_eq!(
        df.column("event_time").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
    );
    assert_eq!(
        df.column("event_id").unwrap().str().unwrap().get(0),
        nd[0]["event_id"].as_str()
    );
}

/// The documented columns of each table are there, with typed times.
#[test]
fn table_schemas() {
    let cols = |table: &str| -> Vec<String> {
        let csv = query(&[
            "--sql",
            &format!("SELECT * FROM {table} LIMIT 0"),
            "--format",
            "csv",
        ]);
        csv.trim_end().split(',').map(String::from).collect()
    };
    let att = cols("attribution");
    for c in [
        "event_id",
        "event_time",
        "event_name",
        "event_source",
        "recipient_account",
        "aws_region",
        "source_ip",
        "access_key_id",
        "session_id",
        "origin",
        "chain",
        "depth",
        "confidence",
        "source_identity",
        "read_only",
        "error_code",
        "identity_arn",
        "user_agent",
        "source_file",
        "record_index",
    ] {
        assert!(
            att.contains(&c.to_string()),
            "attribution lacks {c}: {att:?}"
        );
    }
    let ses = cols("sessions");
    for c in [
        "session_id",
        "kind",
        "issued_at",
        "expires_at",
        "origin",
        "chain",
        "depth",
        "role_arn",
        "issued_key",
        "mfa",
        "cross_account",
        "events",
        "first_use",
        "last_use",
        "caller_arn",
        "caller_account",
        "parent_session_id",
        "issuance_in_input",
    ] {
        assert!(ses.contains(&c.to_string()), "sessions lacks {c}: {ses:?}");
    }
    assert_eq!(
        cols("anomalies"),
        [
            "kind",
            "severity",
            "subject",
            "origin",
            "first_event_id",
            "time",
            "event_ids",
            "explanation"
        ]
    );
    for raw in [
        "request_parameters",
        "response_elements",
        "additional_event_data",
        "service_event_details",
        "resources",
    ] {
        assert!(cols("events").contains(&raw.to_string()), "{raw}");
    }
    assert!(cols("issuances").contains(&"issued_access_key_id".to_string()));
    // Session times are datetimes: they compare with event times. No event signed by a session
    // precedes its issuance, and the join covers exactly the events the sessions count.
    let out = query(&[
        "--sql",
        "SELECT COUNT(*) AS n, SUM(CASE WHEN a.event_time < s.issued_at THEN 1 ELSE 0 END) AS early, \
         MIN(x.total) AS total \
         FROM sessions s JOIN attribution a ON a.session_id = s.session_id \
         CROSS JOIN (SELECT SUM(events) AS total FROM sessions) x",
        "--format",
        "csv",
    ]);
    assert_eq!(out, "n,early,total\n69,0,69\n");
}

fn fails(args: &[&str]) -> String {
    let mut a: Vec<std::ffi::OsString> = vec!["query".into(), "-q".into()];
    a.extend(
        scenario_inputs(&testdata("scenarios/same_account"))
            .into_iter()
            .map(Into::into),
    );
    a.extend(args.iter().map(Into::into));
    let out = run(a);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

/// Bad invocations and bad SQL: one clear line on stderr, exit 2.
#[test]
fn errors() {
    let e = fails(&["--sql", "SELEC 1"]);
    assert!(e.starts_with("trailgraph: error: query: "), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    let e = fails(&["--sql", "SELECT nope FROM events"]);
    assert!(e.starts_with("trailgraph: error: query: "), "{e}");
    assert!(e.contains("nope"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    let e = fails(&["--sql", "SELECT * FROM no_such_table"]);
    assert!(e.starts_with("trailgraph: error: query: "), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    let e = fails(&[]);
    assert!(e.contains("--sql") && e.contains("--file"), "{e}");
    let e = fails(&["--sql", "SELECT 1", "--file", "x.sql"]);
    assert!(e.contains("cannot be used with"), "{e}");
    let e = fails(&["--file", "no_such_query"]);
    assert!(e.contains("no_such_query") && e.contains("--list"), "{e}");
    let e = fails(&["--sql", "SELECT 1 AS x", "--format", "parquet"]);
    assert!(e.contains("-o"), "{e}");
    // SQL starting with a comment is SQL, not a flag.
    let out = run_ok(
        [
            "query",
            "-q",
            testdata("scenarios/same_account").to_str().unwrap(),
            "--sql",
            "-- count\nSELECT COUNT(*) AS n FROM events",
            "--format",
            "csv",
        ],
        1,
    );
    assert_eq!(out, "n\n7\n");
}

/// A denied cross-account AssumeRole with both copies in the input is one attempt, under the
/// caller-account copy's caller.
#[test]
fn failed_cross_account_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let src = testdata("scenarios/cross_account_both_copies");
    let mut files = Vec::new();
    for f in scenario_inputs(&src) {
        let mut doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for r in doc["Records"].as_array_mut().unwrap() {
            if r["eventName"] == "AssumeRole" {
                r["errorCode"] = "AccessDenied".into();
                r["errorMessage"] =
                    "User: arn:aws:iam::777788889999:user/John is not authorized to perform: \
                     sts:AssumeRole on resource: arn:aws:iam::111122223333:role/EC2-dev"
                        .into();
                r["requestParameters"] = serde_json::Value::Null;
                r["responseElements"] = serde_json::Value::Null;
            }
        }
        let out = dir.path().join(f.file_name().unwrap());
        std::fs::write(&out, doc.to_string()).unwrap();
        files.push(out);
    }
    let mut args: Vec<std::ffi::OsString> = vec!["query".into(), "-q".into()];
    args.extend(files.into_iter().map(Into::into));
    args.extend(
        [
            "--file",
            "failed_assumptions_by_principal",
            "--format",
            "csv",
        ]
        .iter()
        .map(Into::into),
    );
    let out = run_ok(args, 0);
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        rows,
        ["arn:aws:iam::777788889999:user/John,arn:aws:iam::777788889999:user/John,AssumeRole,\
          arn:aws:iam::111122223333:role/EC2-dev,AccessDenied,1,2014-07-18T15:07:39Z,2014-07-18T15:07:39Z"],
        "{out}"
    );
}

/// The `anomalies` table holds exactly what `trailgraph anomalies` reports.
#[test]
fn anomalies_table_matches_command() {
    let input = testdata("anomalies");
    let q = run([
        "query".as_ref(),
        "-q".as_ref(),
        input.as_os_str(),
        "--sql".as_ref(),
        "SELECT * FROM anomalies".as_ref(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    let a = run([
        "anomalies".as_ref(),
        "-q".as_ref(),
        input.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert_eq!(q.status.code(), a.status.code());
    let q = String::from_utf8(q.stdout).unwrap();
    assert!(q.lines().count() > 1, "the anomaly fixtures give findings");
    assert_eq!(q, String::from_utf8(a.stdout).unwrap());
    // The same from a case, whose scan the detectors read a row group at a time.
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let mut args = vec![
        "ingest".as_ref(),
        "-q".as_ref(),
        "-o".as_ref(),
        case.as_os_str(),
    ];
    args.push(input.as_os_str());
    let ingest = run(args);
    assert_eq!(ingest.status.code(), a.status.code());
    let from_case = run([
        "query".as_ref(),
        "-q".as_ref(),
        case.as_os_str(),
        "--sql".as_ref(),
        "SELECT * FROM anomalies".as_ref(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert_eq!(from_case.status.code(), a.status.code());
    assert_eq!(String::from_utf8(from_case.stdout).unwrap(), q);
}

/// Input problems keep their exit code (1), and the query still runs.
#[test]
fn input_problems_exit_1() {
    let out = run([
        "query",
        "-q",
        testdata("scenarios/same_account").to_str().unwrap(),
        "--sql",
        "SELECT COUNT(*) AS n FROM issuances",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "n\n4\n");
}

/// `query` reads a case lazily (the events as a Parquet scan, the attribution spilled a slice at
/// a time and scanned), and log files over `--in-memory-limit` through a scratch case: every
/// shipped query, and every table whole in its own row order (no ORDER BY), gives the bytes of
/// the in-memory path over the same files. The cases are read one row group of one row at a
/// time, and from two parts whose files interleave (their rows are put in canonical order).
#[test]
fn cases_and_scratch_cases_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = scenario_files()
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    let case = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let small_groups = case("groups");
    let mut args = vec!["ingest", "-q", "--row-group-rows", "1", "-o", &small_groups];
    args.extend(files.iter().map(|s| s.as_str()));
    run_ok(args, 0);
    let two_parts = case("parts");
    let odd: Vec<&str> = files
        .iter()
        .skip(1)
        .step_by(2)
        .map(|s| s.as_str())
        .collect();
    for batch in [odd, files.iter().map(|s| s.as_str()).collect()] {
        let mut args = vec!["ingest", "-q", "--row-group-rows", "3", "-o", &two_parts];
        args.extend(batch);
        run_ok(args, 0);
    }
    let mut sqls: Vec<Vec<String>> = query_names()
        .iter()
        .map(|n| vec!["--file".to_string(), format!("queries/{n}.sql")])
        .collect();
    for sql in [
        "SELECT * FROM events",
        "SELECT * FROM issuances",
        "SELECT * FROM sessions",
        "SELECT * FROM attribution",
        "SELECT * FROM anomalies",
        "SELECT event_id, source_file, record_index FROM events WHERE event_name = 'AssumeRole'",
        "SELECT a.event_id, a.origin, e.request_parameters FROM attribution a \
         JOIN events e ON a.event_id = e.event_id AND a.recipient_account = e.recipient_account \
         WHERE a.depth >= 2 ORDER BY a.event_time, a.event_id",
    ] {
        sqls.push(vec!["--sql".to_string(), sql.to_string()]);
    }
    for sql in &sqls {
        let tail: Vec<&str> = sql
            .iter()
            .map(|s| s.as_str())
            .chain(["--format", "csv"])
            .collect();
        let in_memory = query(&tail);
        assert!(in_memory.lines().count() > 1, "{sql:?}: some rows");
        for (what, input) in [
            ("one-row row groups", &small_groups),
            ("two parts", &two_parts),
        ] {
            let mut args = vec!["query", "-q", input.as_str()];
            args.extend(&tail);
            assert_eq!(run_ok(args, 0), in_memory, "{sql:?}: a case of {what}");
        }
        let tmp = tempfile::tempdir().unwrap();
        let mut args = vec![
            "query",
            "-q",
            "--in-memory-limit",
            "0",
            "--row-group-rows",
            "2",
        ];
        args.extend(files.iter().map(|s| s.as_str()));
        args.extend(&tail);
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_trailgraph"));
        c.args(&args).env("TMPDIR", tmp.path());
        assert_eq!(
            crate::util::stdout_of(c.output().unwrap(), 0),
            in_memory,
            "{sql:?}: log files through a scratch case"
        );
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "{sql:?}: temporary files left: {left:?}");
    }
}
