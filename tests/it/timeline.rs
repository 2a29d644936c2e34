//! `trailgraph timeline`: Timesketch JSONL and CSV, checked field by field and against the
//! scenarios' expected attribution.

use crate::util::{ndjson, run, run_ok, scenario_inputs, testdata};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

const FIELDS: [&str; 27] = [
    "message",
    "datetime",
    "timestamp_desc",
    "timestamp",
    "data_type",
    "event_id",
    "event_name",
    "event_source",
    "event_type",
    "aws_region",
    "recipient_account",
    "source_ip",
    "user_agent",
    "error_code",
    "error_message",
    "read_only",
    "identity_type",
    "identity_arn",
    "access_key_id",
    "origin",
    "chain",
    "depth",
    "confidence",
    "session_id",
    "source_identity",
    "source_file",
    "record_index",
];

fn scenario_files() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(testdata("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().flat_map(|d| scenario_inputs(d)).collect()
}

fn timeline(extra: &[&str]) -> String {
    let mut a: Vec<std::ffi::OsString> = vec!["timeline".into(), "-q".into()];
    a.extend(scenario_files().into_iter().map(Into::into));
    a.extend(extra.iter().map(Into::into));
    run_ok(a, 0)
}

/// Milliseconds since the epoch of `2024-03-01T12:00:00Z` / `…:00.123Z` (UTC only).
fn iso_millis(s: &str) -> i64 {
    let (date, time) = s.strip_suffix('Z').unwrap().split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    ((days * 86400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1000) + frac.parse::<i64>().unwrap()
}

#[test]
fn jsonl_fields_and_attribution() {
    let rows = ndjson(&timeline(&[]));
    // One row per distinct event.
    assert_eq!(rows.len(), 116);
    let mut last = i64::MIN;
    for r in &rows {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut want = FIELDS.to_vec();
        want.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(r["timestamp_desc"], "Event Time");
        assert_eq!(r["data_type"], "aws:cloudtrail:event");
        let dt = r["datetime"].as_str().unwrap();
        assert!(dt.ends_with('Z'), "{dt}");
        let ts = r["timestamp"].as_i64().unwrap();
        assert_eq!(ts, iso_millis(dt) * 1000, "{dt}");
        assert!(ts >= last, "rows are in time order");
        last = ts;
        let msg = r["message"].as_str().unwrap();
        assert!(msg.starts_with(r["origin"].as_str().unwrap()), "{msg}");
        assert!(msg.contains(r["event_name"].as_str().unwrap()), "{msg}");
    }
    // Every row agrees with the scenario's expected attribution.
    let mut expected: HashMap<(String, String), Value> = HashMap::new();
    for e in std::fs::read_dir(testdata("scenarios")).unwrap() {
        let p = e.unwrap().path().join("expected.json");
        if let Ok(t) = std::fs::read_to_string(&p) {
            for o in serde_json::from_str::<Vec<Value>>(&t).unwrap() {
                let k = (
                    o["event_id"].as_str().unwrap().to_string(),
                    o["recipient_account"].as_str().unwrap().to_string(),
                );
                expected.insert(k, o);
            }
        }
    }
    assert_eq!(expected.len(), rows.len());
    for r in &rows {
        let k = (
            r["event_id"].as_str().unwrap().to_string(),
            r["recipient_account"].as_str().unwrap().to_string(),
        );
        let e = &expected[&k];
        for f in ["origin", "chain", "depth", "confidence", "source_identity"] {
            assert_eq!(r[f], e[f], "{f} of {k:?}");
        }
    }
    // One known event: alice's GetSecretValue five hops down (chain_depth_5).
    let r = rows
        .iter()
        .find(|r| r["event_id"] == "c54d999f-3d2d-4ced-bc95-264ec4185e17")
        .unwrap();
    assert_eq!(
        r["message"],
        "arn:aws:iam::111111111111:user/alice via Hop1>Hop2>Hop3>Hop4>Hop5: \
         secretsmanager:GetSecretValue in 111111111111 us-east-1 from 203.0.113.10"
    );
    assert_eq!(r["origin"], "arn:aws:iam::111111111111:user/alice");
    assert_eq!(r["depth"], 5);
    assert_eq!(r["confidence"], "exact");
    assert_eq!(r["source_identity"], "alice@example.com");
    assert!(r["chain"]
        .as_str()
        .unwrap()
        .ends_with(">arn:aws:iam::111111111111:role/Hop5"));
    assert!(r["session_id"].as_str().unwrap().starts_with("ASIA"));
    assert_eq!(r["read_only"], true);
    // A failed call says so; an AssumeRoot hop reads root@<account>.
    assert!(rows.iter().any(|r| r["message"]
        .as_str()
        .unwrap()
        .ends_with("failed: AccessDenied")));
    assert!(rows
        .iter()
        .any(|r| r["message"].as_str().unwrap().starts_with(
            "arn:aws:iam::111111111111:user/admin via JohnDoe>root@222222222222: s3:"
        )));
}

/// A minimal CSV reader (RFC 4180 quoting) for the checks below.
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut f = String::new();
    let mut q = false;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match (q, c) {
            (true, '"') if it.peek() == Some(&'"') => {
                f.push('"');
                it.next();
            }
            (true, '"') => q = false,
            (true, c) => f.push(c),
            (false, '"') => q = true,
            (false, ',') => row.push(std::mem::take(&mut f)),
            (false, '\n') => {
                row.push(std::mem::take(&mut f));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => f.push(c),
        }
    }
    rows
}

#[test]
fn csv_matches_jsonl() {
    let rows = ndjson(&timeline(&[]));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    let out = timeline(&["--format", "csv", "-o", p.to_str().unwrap()]);
    assert!(out.is_empty(), "-o writes the file only");
    let csv = parse_csv(&std::fs::read_to_string(&p).unwrap());
    assert_eq!(csv[0], FIELDS);
    assert_eq!(csv.len() - 1, rows.len());
    for (c, j) in csv[1..].iter().zip(&rows) {
        for (k, v) in FIELDS.iter().zip(c) {
            let want = match &j[*k] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(v, &want, "{k}");
        }
    }
}

/// Attacker-controlled strings: formula injection neutralised in CSV, control characters
/// made visible in the message, JSON stays valid.
#[test]
fn hostile_strings() {
    let dir = tempfile::tempdir().unwrap();
    let rec = serde_json::json!({"Records": [{
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111111111111:user/mallory",
                         "accountId": "111111111111", "accessKeyId": "AKIAEXAMPLEEXAMPLE12", "userName": "mallory"},
        "eventTime": "2024-05-01T10:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "=HYPERLINK(\"http://x\")",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "1.2.3.4\u{1b}[2J",
        "userAgent": "@SUM(A1)",
        "eventID": "11111111-2222-3333-4444-555555555555",
        "eventType": "AwsApiCall",
        "readOnly": false,
        "recipientAccountId": "111111111111"
    }]});
    let f = dir
        .path()
        .join("111111111111_CloudTrail_us-east-1_20240501T1000Z_abc.json");
    std::fs::write(&f, rec.to_string()).unwrap();
    let out = run_ok(
        ["timeline", "-q", f.to_str().unwrap(), "--format", "csv"],
        0,
    );
    let row = &parse_csv(&out)[1];
    let at = |k: &str| &row[FIELDS.iter().position(|f| *f == k).unwrap()];
    assert_eq!(at("event_name"), "'=HYPERLINK(\"http://x\")");
    assert_eq!(at("user_agent"), "'@SUM(A1)");
    assert!(
        at("message").contains("from 1.2.3.4\\u{1b}[2J"),
        "{}",
        at("message")
    );
    let j = ndjson(&run_ok(["timeline", "-q", f.to_str().unwrap()], 0));
    assert_eq!(j[0]["event_name"], "=HYPERLINK(\"http://x\")");
    assert_eq!(j[0]["source_ip"], "1.2.3.4\u{1b}[2J");
    assert_eq!(
        j[0]["message"],
        "arn:aws:iam::111111111111:user/mallory: s3:=HYPERLINK(\"http://x\") in 111111111111 us-east-1 from 1.2.3.4\\u{1b}[2J"
    );
}

#[test]
fn bad_format_is_rejected() {
    let out = run(["timeline", "-q", "--format", "xml", "x"]);
    assert_eq!(out.status.code(), Some(2));
}
