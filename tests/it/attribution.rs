//! Attribution: every scenario of testdata/scenarios gives exactly its expected.json, and the
//! real logs attribute sessions to their true origins.

use crate::util::{all_scenario_inputs, generate, ndjson, run, run_ok, scenario_inputs, testdata};
use serde_json::Value;
use std::collections::BTreeMap;

const COLUMNS: &str = "event_id,event_time,event_name,event_source,recipient_account,aws_region,source_ip,access_key_id,session_id,origin,chain,depth,confidence,source_identity";

fn attribute(inputs: &[std::path::PathBuf]) -> Vec<Value> {
    let mut args: Vec<String> = vec![
        "attribute".into(),
        "-q".into(),
        "--format".into(),
        "ndjson".into(),
    ];
    args.extend(inputs.iter().map(|p| p.to_string_lossy().into_owned()));
    ndjson(&run_ok(&args, 0))
}

fn by_key(rows: &[Value]) -> BTreeMap<(String, String), &Value> {
    rows.iter()
        .map(|r| {
            (
                (
                    r["event_id"].as_str().unwrap().to_string(),
                    r["recipient_account"].as_str().unwrap_or("").to_string(),
                ),
                r,
            )
        })
        .collect()
}

#[test]
fn every_scenario_matches_expected() {
    let mut n = 0;
    for e in std::fs::read_dir(testdata("scenarios")).unwrap() {
        let dir = e.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let expected: Vec<Value> =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let got = attribute(&scenario_inputs(&dir));
        assert_eq!(
            got.len(),
            expected.len(),
            "{name}: one row per distinct event"
        );
        let got = by_key(&got);
        for exp in &expected {
            let key = (
                exp["event_id"].as_str().unwrap().to_string(),
                exp["recipient_account"].as_str().unwrap().to_string(),
            );
            let g = got
                .get(&key)
                .unwrap_or_else(|| panic!("{name}: no row for {key:?}"));
            for f in ["origin", "chain", "depth", "confidence", "source_identity"] {
                assert_eq!(g[f], exp[f], "{name}: {key:?} field {f}");
            }
            n += 1;
        }
    }
    assert!(n >= 100, "all scenarios checked ({n} events)");
}

#[test]
fn attribute_columns_exactly() {
    let input = scenario_inputs(&testdata("scenarios/same_account"))[0]
        .to_string_lossy()
        .into_owned();
    let out = run_ok(["attribute", "-q", "--format", "csv", &input], 0);
    assert_eq!(out.lines().next().unwrap(), COLUMNS);
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("a.parquet");
    run_ok(
        [
            "attribute",
            "-q",
            "--format",
            "parquet",
            "-o",
            pq.to_str().unwrap(),
            &input,
        ],
        0,
    );
    assert!(std::fs::metadata(&pq).unwrap().len() > 100);
    // Parquet needs -o.
    let out = run(["attribute", "-q", "--format", "parquet", &input]);
    assert_eq!(out.status.code(), Some(2));
}

/// All scenarios read together link the same as each alone (no cross-talk between sessions).
#[test]
fn scenarios_together() {
    let all = attribute(&all_scenario_inputs());
    let all = by_key(&all);
    for e in std::fs::read_dir(testdata("scenarios")).unwrap() {
        let dir = e.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let expected: Vec<Value> =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        for exp in expected {
            let key = (
                exp["event_id"].as_str().unwrap().to_string(),
                exp["recipient_account"].as_str().unwrap().to_string(),
            );
            assert_eq!(all[&key]["origin"], exp["origin"], "{key:?}");
            assert_eq!(all[&key]["chain"], exp["chain"], "{key:?}");
        }
    }
}

/// Invictus: the EC2 instance-profile credentials used from an outside address attribute to
/// `service:ec2.amazonaws.com`, with the instance id as the session name.
#[test]
fn real_invictus_stolen_instance_credentials() {
    let rows = attribute(&[testdata("real/invictus-aws-dataset")]);
    assert!(rows.len() == 2900);
    let stolen: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["chain"]
                .as_str()
                .unwrap()
                .ends_with("role/stratus-red-team-ec2-steal-credentials-role")
        })
        .collect();
    assert!(!stolen.is_empty());
    for r in &stolen {
        assert_eq!(r["origin"], "service:ec2.amazonaws.com");
        assert_eq!(r["depth"], 1);
        assert_eq!(r["confidence"], "exact");
    }
    let outside: Vec<&&Value> = stolen
        .iter()
        .filter(|r| r["source_ip"] != "ec2.amazonaws.com" && r["source_ip"] != "AWS Internal")
        .collect();
    assert!(!outside.is_empty(), "uses from an outside address exist");
    let key = outside[0]["access_key_id"].as_str().unwrap();
    let who: Value = serde_json::from_str(&run_ok(
        [
            "who",
            "-q",
            "--format",
            "json",
            testdata("real/invictus-aws-dataset").to_str().unwrap(),
            key,
        ],
        0,
    ))
    .unwrap();
    let hops = &who["matches"][0]["provenance"]["hops"];
    assert!(
        hops[0]["session_name"].as_str().unwrap().starts_with("i-"),
        "{hops}"
    );
    assert_eq!(
        who["matches"][0]["provenance"]["origin"],
        "service:ec2.amazonaws.com"
    );
    // Every session whose issuance is in the data has a known origin.
    let sessions = ndjson(&run_ok(
        [
            "sessions",
            "-q",
            "--format",
            "ndjson",
            testdata("real").to_str().unwrap(),
        ],
        0,
    ));
    for s in &sessions {
        if s["kind"] != "(issuance not in input)" {
            assert!(
                !s["origin"].as_str().unwrap().starts_with("unknown:"),
                "{s}"
            );
        }
    }
}

/// Stratus: AssumeRole by IAM user christophe (Example A/A2), GetFederationToken (Example K),
/// and the orphan stolen instance session (Example L).
#[test]
fn real_stratus_examples() {
    let rows = attribute(&[testdata("real/stratus-red-team-detonation-logs")]);
    let k = by_key(&rows);
    let a2 = k[&(
        "4839af5e-7b6a-4353-a5ef-41febc9a9fa8".to_string(),
        "321848314756".to_string(),
    )];
    assert_eq!(a2["origin"], "arn:aws:iam::321848314756:user/christophe");
    assert_eq!(
        a2["chain"],
        "arn:aws:iam::321848314756:role/stratus-red-team-get-usr-data-role"
    );
    assert_eq!(a2["confidence"], "exact");
    let kf = k[&(
        "91529247-c4c4-4793-afc8-d70bbcfe9d19".to_string(),
        "742491224508".to_string(),
    )];
    assert_eq!(
        kf["origin"],
        "arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user"
    );
    assert_eq!(kf["depth"], 0);
    let l = k[&(
        "b379479b-05c9-4c3c-af4b-cbd43acf29e1".to_string(),
        "017622104382".to_string(),
    )];
    assert_eq!(l["origin"], "unknown:ASIAP5CT9NN8EYVU1FXV");
    assert_eq!(
        l["chain"],
        "arn:aws:iam::017622104382:role/stratus-red-team-ec2-steal-credentials-role"
    );
    assert_eq!(l["confidence"], "unknown");
}

#[test]
fn who_answers_and_unknown_ids() {
    let dir = testdata("scenarios/chain_depth_5");
    let rows = attribute(&scenario_inputs(&dir));
    let deepest = rows
        .iter()
        .max_by_key(|r| r["depth"].as_u64().unwrap())
        .unwrap();
    assert_eq!(deepest["depth"], 5);
    let id = deepest["event_id"].as_str().unwrap();
    let inputs: Vec<String> = scenario_inputs(&dir)
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let with = |extra: &[&str]| -> Vec<String> {
        let mut v = vec!["who".to_string(), "-q".into()];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.extend(inputs.iter().cloned());
        v
    };
    let mut a = with(&[]);
    a.push(id.into());
    let text = run_ok(&a, 0);
    assert!(
        text.contains(&format!("WHO: {}", deepest["origin"].as_str().unwrap())),
        "{text}"
    );
    assert_eq!(
        text.matches("proof: eventID").count(),
        5,
        "every hop cites its issuance: {text}"
    );
    let mut a = with(&["--format", "json"]);
    a.push(id.into());
    let v: Value = serde_json::from_str(&run_ok(&a, 0)).unwrap();
    assert_eq!(
        v["matches"][0]["provenance"]["hops"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // By the signing key too.
    let mut a = with(&[]);
    a.push(deepest["access_key_id"].as_str().unwrap().into());
    run_ok(&a, 0);
    let mut a = with(&[]);
    a.push("no-such-id".into());
    let out = run(&a);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-id"));
}

#[test]
fn trace_blast_radius() {
    let dir = testdata("scenarios/chain_depth_5");
    let rows = attribute(&scenario_inputs(&dir));
    let origin = rows.iter().find(|r| r["depth"] == 5).unwrap()["origin"]
        .as_str()
        .unwrap()
        .to_string();
    let inputs: Vec<String> = scenario_inputs(&dir)
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let args = |extra: &[&str], target: &str| -> Vec<String> {
        let mut v = vec!["trace".to_string(), "-q".into()];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.extend(inputs.iter().cloned());
        v.push(target.to_string());
        v
    };
    let v: Value = serde_json::from_str(&run_ok(args(&["--format", "json"], &origin), 0)).unwrap();
    assert_eq!(v["sessions"].as_array().unwrap().len(), 5);
    assert_eq!(v["roles"].as_array().unwrap().len(), 5);
    let n = rows
        .iter()
        .filter(|r| r["origin"] == origin.as_str())
        .count();
    assert_eq!(
        v["events"], n as u64,
        "every action of the origin, direct or through roles"
    );
    let text = run_ok(args(&[], &origin), 0);
    assert!(text.contains("timeline"));
    let out = run(args(&[], "arn:aws:iam::1:user/nobody"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn sessions_and_chains_filters() {
    let all: Vec<String> = all_scenario_inputs()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let list = |cmd: &str, extra: &[&str]| -> Vec<Value> {
        let mut v = vec![
            cmd.to_string(),
            "-q".into(),
            "--format".into(),
            "ndjson".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.extend(all.iter().cloned());
        ndjson(&run_ok(&v, 0))
    };
    let deep = list("sessions", &["--min-depth", "3"]);
    assert!(!deep.is_empty());
    assert!(deep.iter().all(|s| s["depth"].as_u64().unwrap() >= 3));
    let cross = list("sessions", &["--cross-account"]);
    assert!(!cross.is_empty());
    assert!(cross.iter().all(|s| s["cross_account"] == true));
    let chains = list("chains", &[]);
    assert!(chains.iter().any(|c| c["depth"] == 5));
    assert!(
        chains.iter().any(|c| c["cycle"] == true),
        "the role_cycle scenario is reported as a cycle"
    );
}

/// The benches generator's ground truth (origin, chain, depth, confidence per event) agrees
/// 100% with `attribute` on a small generated corpus: chains up to depth 6, cross-account pairs,
/// SAML/Identity Center, OIDC, EC2/Lambda, GetSessionToken, GetFederationToken, AssumeRoot,
/// console SwitchRole, orphans, recycled keys, delayed and duplicated delivery.
#[test]
fn generated_corpus_agrees_with_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let truth = dir.path().join("truth.ndjson");
    generate(
        &corpus,
        &[
            "--records".as_ref(),
            "6000".as_ref(),
            "--seed".as_ref(),
            "11".as_ref(),
            "--truth".as_ref(),
            truth.as_os_str(),
        ],
    );
    let rows = attribute(&[corpus.join("AWSLogs")]);
    let got = by_key(&rows);
    let expected: Vec<Value> = ndjson(&std::fs::read_to_string(&truth).unwrap());
    assert_eq!(got.len(), expected.len(), "one row per distinct event");
    let mut bad = Vec::new();
    for t in &expected {
        let key = (
            t["event_id"].as_str().unwrap().to_string(),
            t["recipient_account"].as_str().unwrap().to_string(),
        );
        let g = got.get(&key).unwrap_or_else(|| panic!("missing {key:?}"));
        if ["origin", "chain", "depth", "confidence"]
            .iter()
            .any(|f| g[*f] != t[*f])
        {
            bad.push((t.clone(), (*g).clone()));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} disagree; first: {:?}",
        bad.len(),
        expected.len(),
        bad.first()
    );
    // The corpus really exercises the hard cases.
    let depth = expected
        .iter()
        .map(|t| t["depth"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(depth >= 4, "chains of depth {depth}");
    for c in ["exact", "inferred", "unknown"] {
        assert!(
            expected.iter().any(|t| t["confidence"] == c),
            "{c} links present"
        );
    }
    for o in ["saml:", "oidc:", "service:", "unknown:", "account:"] {
        assert!(
            expected
                .iter()
                .any(|t| t["origin"].as_str().unwrap().starts_with(o)),
            "{o} origins present"
        );
    }
}

/// `who` on a case store builds the graph only from the issuances on the matched chain; it must
/// answer exactly like `who` on the raw logs (whole graph), across the tricky scenarios.
#[test]
fn who_on_case_equals_who_on_raw_logs() {
    let inputs: Vec<String> = all_scenario_inputs()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case").to_string_lossy().into_owned();
    let mut args = vec!["ingest".to_string(), "-q".into(), "-o".into(), case.clone()];
    args.extend(inputs.iter().cloned());
    run_ok(&args, 0);
    let mut ids: Vec<String> = Vec::new();
    for sc in [
        "identity_center",
        "cross_account_both_copies",
        "cross_account_role_copy_only",
        "console_switch_role",
        "assume_root",
        "get_federation_token",
        "get_session_token",
        "recycled_key",
        "role_cycle",
        "orphan_session",
        "chain_depth_5",
        "saml",
        "oidc",
        "ec2_service",
    ] {
        let expected: Vec<Value> = serde_json::from_slice(
            &std::fs::read(testdata(&format!("scenarios/{sc}/expected.json"))).unwrap(),
        )
        .unwrap();
        ids.extend(
            expected
                .iter()
                .map(|e| e["event_id"].as_str().unwrap().to_string()),
        );
    }
    let raw_rows = attribute(&all_scenario_inputs());
    // Keys and session ids too.
    for r in raw_rows
        .iter()
        .filter(|r| r["depth"].as_u64().unwrap() >= 2)
        .take(5)
    {
        ids.push(r["access_key_id"].as_str().unwrap().to_string());
        ids.push(r["session_id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        let mut on_raw = vec![
            "who".to_string(),
            "-q".into(),
            "--format".into(),
            "json".into(),
        ];
        on_raw.extend(inputs.iter().cloned());
        on_raw.push(id.clone());
        let on_case = vec![
            "who".to_string(),
            "-q".into(),
            "--format".into(),
            "json".into(),
            case.clone(),
            id.clone(),
        ];
        let a = run(&on_raw);
        let b = run(&on_case);
        assert_eq!(a.status.code(), b.status.code(), "{id}");
        assert_eq!(
            String::from_utf8_lossy(&a.stdout),
            String::from_utf8_lossy(&b.stdout),
            "who {id}"
        );
    }
}

/// Two sessions of one role with the same session name, each used by an identical identity
/// without a creationDate or key (so linked by session ARN within the credential lifetime):
/// the same identity attributes to alice in the first lifetime and to bob in the second. An
/// attribution memoised by identity alone would give both to alice.
#[test]
fn same_identity_without_creation_date_follows_the_time() {
    let acct = "111122223333";
    let issue = |user: &str, at: &str, key: &str, expires: &str, id: &str| {
        serde_json::json!({
            "eventVersion": "1.08", "eventTime": at, "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRole", "awsRegion": "us-east-1", "eventID": id,
            "eventType": "AwsApiCall", "recipientAccountId": acct,
            "userIdentity": {"type": "IAMUser", "accountId": acct, "userName": user,
                "arn": format!("arn:aws:iam::{acct}:user/{user}"),
                "principalId": format!("AIDA{}", user.to_uppercase()),
                "accessKeyId": format!("AKIA{}", user.to_uppercase())},
            "requestParameters": {"roleArn": format!("arn:aws:iam::{acct}:role/Ops"),
                "roleSessionName": "ops"},
            "responseElements": {
                "assumedRoleUser": {"arn": format!("arn:aws:sts::{acct}:assumed-role/Ops/ops"),
                    "assumedRoleId": "AROAOPS:ops"},
                "credentials": {"accessKeyId": key, "expiration": expires}}
        })
    };
    let use_at = |at: &str, id: &str| {
        serde_json::json!({
            "eventVersion": "1.08", "eventTime": at, "eventSource": "s3.amazonaws.com",
            "eventName": "ListBuckets", "awsRegion": "us-east-1", "eventID": id,
            "eventType": "AwsApiCall", "recipientAccountId": acct,
            "userIdentity": {"type": "AssumedRole", "accountId": acct,
                "arn": format!("arn:aws:sts::{acct}:assumed-role/Ops/ops"),
                "principalId": "AROAOPS:ops",
                "sessionContext": {"sessionIssuer": {"type": "Role",
                    "arn": format!("arn:aws:iam::{acct}:role/Ops"), "accountId": acct}}}
        })
    };
    let records = serde_json::json!({"Records": [
        issue("alice", "2024-05-01T10:00:00Z", "ASIAALICE0000000001", "2024-05-01T11:00:00Z", "i1"),
        use_at("2024-05-01T10:30:00Z", "u1"),
        issue("bob", "2024-05-01T12:00:00Z", "ASIABOB000000000002", "2024-05-01T13:00:00Z", "i2"),
        use_at("2024-05-01T12:30:00Z", "u2"),
    ]});
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("log.json");
    std::fs::write(&f, records.to_string()).unwrap();
    let rows = attribute(&[f]);
    let origin = |id: &str| {
        rows.iter()
            .find(|r| r["event_id"] == id)
            .unwrap_or_else(|| panic!("no row for {id}"))["origin"]
            .clone()
    };
    assert_eq!(origin("u1"), format!("arn:aws:iam::{acct}:user/alice"));
    assert_eq!(origin("u2"), format!("arn:aws:iam::{acct}:user/bob"));
}

/// An exact link (issued key and creationDate) also needs an identity type that can act with
/// the session: a key that GetSessionToken issued, seen in a role session's identity (a forged
/// or garbled record), does not make that role session the IAM user's.
#[test]
fn exact_key_match_of_another_kind_does_not_link() {
    let acct = "111122223333";
    let key = "ASIAGST0000000000001";
    let records = serde_json::json!({"Records": [
        {
            "eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z",
            "eventSource": "sts.amazonaws.com", "eventName": "GetSessionToken",
            "awsRegion": "us-east-1", "eventID": "gst", "eventType": "AwsApiCall",
            "recipientAccountId": acct,
            "userIdentity": {"type": "IAMUser", "accountId": acct, "userName": "alice",
                "arn": format!("arn:aws:iam::{acct}:user/alice"), "principalId": "AIDAALICE",
                "accessKeyId": "AKIAALICE"},
            "responseElements": {"credentials": {"accessKeyId": key,
                "expiration": "2024-05-01T22:00:00Z"}}
        },
        {
            "eventVersion": "1.08", "eventTime": "2024-05-01T10:05:00Z",
            "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
            "awsRegion": "us-east-1", "eventID": "user", "eventType": "AwsApiCall",
            "recipientAccountId": acct,
            "userIdentity": {"type": "IAMUser", "accountId": acct, "userName": "alice",
                "arn": format!("arn:aws:iam::{acct}:user/alice"), "principalId": "AIDAALICE",
                "accessKeyId": key,
                "sessionContext": {"attributes": {"creationDate": "2024-05-01T10:00:00Z"}}}
        },
        {
            "eventVersion": "1.08", "eventTime": "2024-05-01T10:06:00Z",
            "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
            "awsRegion": "us-east-1", "eventID": "role", "eventType": "AwsApiCall",
            "recipientAccountId": acct,
            "userIdentity": {"type": "AssumedRole", "accountId": acct,
                "arn": format!("arn:aws:sts::{acct}:assumed-role/Ops/ops"),
                "principalId": "AROAOPS:ops", "accessKeyId": key,
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "accountId": acct,
                        "arn": format!("arn:aws:iam::{acct}:role/Ops")},
                    "attributes": {"creationDate": "2024-05-01T10:00:00Z"}}}
        }
    ]});
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("log.json");
    std::fs::write(&f, records.to_string()).unwrap();
    let rows = attribute(&[f]);
    let row = |id: &str| rows.iter().find(|r| r["event_id"] == id).unwrap().clone();
    let alice = format!("arn:aws:iam::{acct}:user/alice");
    assert_eq!(row("user")["origin"], alice.as_str());
    assert_eq!(row("user")["confidence"], "exact");
    assert_ne!(row("role")["origin"], alice.as_str());
    assert_eq!(row("role")["origin"], format!("unknown:{key}").as_str());
    assert_eq!(
        row("role")["chain"],
        format!("arn:aws:iam::{acct}:role/Ops").as_str()
    );
}

/// One session reached by an exact link (its key) and by an inferred one (its session ARN and
/// creationDate, another key: console SwitchRole): each event keeps its own link's confidence,
/// in either order.
#[test]
fn one_session_exact_and_inferred_links() {
    let acct = "111122223333";
    let key = "ASIAOPS0000000000001";
    let arn = format!("arn:aws:sts::{acct}:assumed-role/Ops/ops");
    let issue = serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z",
        "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "awsRegion": "us-east-1",
        "eventID": "issue", "eventType": "AwsApiCall", "recipientAccountId": acct,
        "userIdentity": {"type": "IAMUser", "accountId": acct, "userName": "alice",
            "arn": format!("arn:aws:iam::{acct}:user/alice"), "principalId": "AIDAALICE",
            "accessKeyId": "AKIAALICE"},
        "requestParameters": {"roleArn": format!("arn:aws:iam::{acct}:role/Ops"),
            "roleSessionName": "ops"},
        "responseElements": {"assumedRoleUser": {"arn": arn, "assumedRoleId": "AROAOPS:ops"},
            "credentials": {"accessKeyId": key, "expiration": "2024-05-01T11:00:00Z"}}
    });
    let use_with = |id: &str, at: &str, k: &str| {
        serde_json::json!({
            "eventVersion": "1.08", "eventTime": at, "eventSource": "s3.amazonaws.com",
            "eventName": "ListBuckets", "awsRegion": "us-east-1", "eventID": id,
            "eventType": "AwsApiCall", "recipientAccountId": acct,
            "userIdentity": {"type": "AssumedRole", "accountId": acct, "arn": arn,
                "principalId": "AROAOPS:ops", "accessKeyId": k,
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "accountId": acct,
                        "arn": format!("arn:aws:iam::{acct}:role/Ops")},
                    "attributes": {"creationDate": "2024-05-01T10:00:00Z"}}}
        })
    };
    for order in [["a", "b"], ["b", "a"]] {
        let at = |id: &str| {
            if id == order[0] {
                "2024-05-01T10:01:00Z"
            } else {
                "2024-05-01T10:02:00Z"
            }
        };
        let records = serde_json::json!({"Records": [
            issue,
            use_with("a", at("a"), key),
            use_with("b", at("b"), "ASIACONSOLE000000002"),
        ]});
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("log.json");
        std::fs::write(&f, records.to_string()).unwrap();
        let rows = attribute(&[f]);
        let row = |id: &str| rows.iter().find(|r| r["event_id"] == id).unwrap().clone();
        for id in ["a", "b"] {
            assert_eq!(
                row(id)["origin"],
                format!("arn:aws:iam::{acct}:user/alice").as_str()
            );
        }
        assert_eq!(row("a")["confidence"], "exact", "order {order:?}");
        assert_eq!(row("b")["confidence"], "inferred", "order {order:?}");
    }
}
