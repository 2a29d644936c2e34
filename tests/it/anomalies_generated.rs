//! `trailgraph anomalies` on a corpus from `trailgraph-gen --anomalies`: a clean background plus
//! one injected case of each detector. Every expected finding is reported (recall) and nothing
//! else is (precision), compared on (kind, subject, first_event_id). The same corpus read from a
//! case of two parts with small row groups (the detectors see it a slice at a time) gives the
//! same bytes.

use crate::util::{generate, ndjson, run_ok};
use std::collections::BTreeSet;

const KINDS: [&str; 15] = [
    "role_chain_depth",
    "role_cycle",
    "workload_credential_exfiltration",
    "session_multi_ip",
    "assume_role_enumeration",
    "first_time_assumption",
    "no_mfa_sensitive",
    "off_hours",
    "external_account_assumption",
    "getsessiontoken_then_assume",
    "federation_token_persistence",
    "api_enumeration_burst",
    "long_term_key_new_network",
    "console_login_without_mfa",
    "persistence_credential_created",
];

type Key = (String, String, String);

fn keys(rows: &[serde_json::Value]) -> BTreeSet<Key> {
    rows.iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("kind"), s("subject"), s("first_event_id"))
        })
        .collect()
}

#[test]
fn generated_anomalies_full_recall_and_precision() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let expected_path = dir.path().join("anomalies.ndjson");
    generate(
        &corpus,
        &[
            "--records".as_ref(),
            "4000".as_ref(),
            "--seed".as_ref(),
            "17".as_ref(),
            "--anomalies".as_ref(),
            expected_path.as_os_str(),
        ],
    );
    let expected_rows = ndjson(&std::fs::read_to_string(&expected_path).unwrap());
    let expected = keys(&expected_rows);
    assert_eq!(expected.len(), expected_rows.len(), "no duplicate truth");
    for k in KINDS {
        assert!(
            expected.iter().any(|e| e.0 == k),
            "{k} is injected: {expected:#?}"
        );
    }
    let config = corpus.join("anomalies.toml");
    assert!(corpus.join("ip-ranges.json").exists());
    let text = run_ok(
        [
            "anomalies".as_ref(),
            corpus.join("AWSLogs").as_os_str(),
            "--config".as_ref(),
            config.as_os_str(),
            "--format".as_ref(),
            "ndjson".as_ref(),
            "-q".as_ref(),
        ],
        0,
    );
    // Streamed: a case of two parts (the second adds the rest) with row groups of 97 rows.
    let case = dir.path().join("case");
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let mut stack = vec![corpus.join("AWSLogs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 2, "{files:?}");
    for batch in [&files[..files.len() / 2], &files[..]] {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "ingest".as_ref(),
            "-q".as_ref(),
            "--row-group-rows".as_ref(),
            "97".as_ref(),
            "-o".as_ref(),
            case.as_os_str(),
        ];
        args.extend(batch.iter().map(|p| p.as_os_str()));
        run_ok(args, 0);
    }
    let streamed = run_ok(
        [
            "anomalies".as_ref(),
            case.as_os_str(),
            "--config".as_ref(),
            config.as_os_str(),
            "--format".as_ref(),
            "ndjson".as_ref(),
            "-q".as_ref(),
        ],
        0,
    );
    assert_eq!(
        streamed, text,
        "the same findings from a case read by row groups"
    );
    let got_rows = ndjson(&text);
    let got = keys(&got_rows);
    let missed: Vec<&Key> = expected.difference(&got).collect();
    let extra: Vec<&serde_json::Value> = got_rows
        .iter()
        .filter(|r| !expected.contains(&keys(std::slice::from_ref(r)).pop_first().unwrap()))
        .collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "recall {}/{}, precision {}/{}\nmissed: {missed:#?}\nextra: {extra:#?}",
        expected.len() - missed.len(),
        expected.len(),
        got.len() - extra.len(),
        got.len()
    );
}
