//! `trailgraph trust`: configured trust beside observed assumptions (testdata/trust, written by
//! its build.py; the --iam samples of testdata/iam).

use crate::util::{run, run_ok, testdata};
use serde_json::Value;

fn rows(args: &[&str], code: i32) -> Vec<Value> {
    let out = run_ok(args, code);
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}

fn trust_rows() -> Vec<Value> {
    let trail = testdata("trust/trail.json");
    let iam = testdata("trust/iam");
    rows(
        &[
            "trust",
            trail.to_str().unwrap(),
            "--iam",
            iam.to_str().unwrap(),
            "--format",
            "json",
        ],
        0,
    )
}

fn s<'a>(r: &'a Value, k: &str) -> &'a str {
    r[k].as_str().unwrap_or("")
}

fn of<'a>(rows: &'a [Value], role: &str, row: &str) -> Vec<&'a Value> {
    rows.iter()
        .filter(|r| s(r, "role_arn").ends_with(&format!(":role/{role}")) && s(r, "row") == row)
        .collect()
}

#[test]
fn conditions_satisfied_violated_and_missing() {
    let rows = trust_rows();
    let obs = of(&rows, "Conditional", "observed");
    assert_eq!(obs.len(), 1);
    assert_eq!(obs[0]["assumptions"], 12);
    // Allowed: console session with MFA; long-term key with an MFA serial; IPv6 in range;
    // a source identity the policy accepts.
    assert_eq!(s(obs[0], "verdicts"), "allow 4, deny 8");
    let found: Vec<String> = of(&rows, "Conditional", "finding")
        .iter()
        .map(|r| {
            assert_eq!(s(r, "finding"), "assumption_not_explained");
            let d = s(r, "detail");
            d[d.find('(').unwrap() + 1..d.find(':').unwrap()].to_string()
        })
        .collect();
    let mut want = vec![
        "Bool aws", // no MFA key (long-term key) and MFA false: both denied by Bool
        "DateLessThan aws",
        "Null sts",
        "StringEquals sts",
        "StringLike sts",
        "StringNotEqualsIfExists sts",
        "explicit Deny", // outside the address ranges: the Deny with NotIpAddress
    ];
    want.sort();
    let mut got = found.clone();
    got.sort();
    assert_eq!(got, want, "{found:?}");
    let mfa = of(&rows, "Conditional", "finding")
        .into_iter()
        .find(|r| s(r, "detail").contains("Bool aws:MultiFactorAuthPresent"))
        .unwrap();
    assert_eq!(mfa["assumptions"], 2);
}

#[test]
fn an_update_between_two_assumptions_changes_the_verdict() {
    let rows = trust_rows();
    let obs = of(&rows, "Changing", "observed");
    let alice = obs
        .iter()
        .find(|r| s(r, "principal").ends_with("user/alice"))
        .unwrap();
    assert_eq!(s(alice, "verdicts"), "allow 1, deny 1");
    let f = of(&rows, "Changing", "finding");
    assert_eq!(f.len(), 1);
    assert_eq!(s(f[0], "finding"), "assumption_not_explained");
    assert_eq!(s(f[0], "first_time"), "2024-05-01T11:15:00Z");
    assert!(s(f[0], "policy_source").starts_with("UpdateAssumeRolePolicy"));
    // bob, with an MFA serial on his long-term key, satisfies the updated policy.
    let bob = obs
        .iter()
        .find(|r| s(r, "principal").ends_with("user/bob"))
        .unwrap();
    assert_eq!(s(bob, "verdicts"), "allow 1");
}

#[test]
fn a_snapshot_is_rewound_through_later_updates() {
    let rows = trust_rows();
    let obs = of(&rows, "Rewound", "observed");
    let alice = obs
        .iter()
        .find(|r| s(r, "principal").ends_with("user/alice"))
        .unwrap();
    // Before the update the policy is not known: unknown, never unexplained.
    assert_eq!(s(alice, "verdicts"), "unknown 1");
    assert!(of(&rows, "Rewound", "finding").is_empty());
}

#[test]
fn findings_broad_unused_and_session_tags() {
    let rows = trust_rows();
    let open = of(&rows, "OpenRole", "finding");
    assert_eq!(open.len(), 1);
    assert_eq!(s(open[0], "finding"), "broad_trust");
    // A foreign account bounded by an ExternalId is not broad; its caller's identity policy is
    // not in --iam: unknown, not unexplained.
    assert!(of(&rows, "Partner", "finding").is_empty());
    assert_eq!(
        s(of(&rows, "Partner", "observed")[0], "verdicts"),
        "unknown 1"
    );
    let unused = of(&rows, "Unused", "finding");
    assert_eq!(unused.len(), 1);
    assert_eq!(s(unused[0], "finding"), "unused_trust");
    assert_eq!(
        s(unused[0], "principal"),
        "AWS arn:aws:iam::111111111111:user/carol"
    );
    assert!(s(unused[0], "detail").contains("RoleLastUsed 2023-11-02T10:00:00Z"));
    let tagged = of(&rows, "Tagged", "finding");
    assert_eq!(tagged.len(), 1);
    assert!(s(tagged[0], "detail").contains("sts:TagSession"));
}

#[test]
fn bad_iam_files_are_problems_and_the_rest_is_read() {
    let trail = testdata("trust/trail.json");
    let out = run([
        "trust",
        trail.to_str().unwrap(),
        "--iam",
        testdata("trust/bad-iam").to_str().unwrap(),
        "--iam",
        testdata("trust/iam/gaad-111111111111.json")
            .to_str()
            .unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.json: not JSON"), "{err}");
    assert!(
        err.contains("not-iam.json: not a get-account-authorization-details"),
        "{err}"
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.contains("broad_trust"), "the good file was still used");
}

#[test]
fn the_shared_samples_are_read_whole() {
    let trail = testdata("trust/trail.json");
    let out = run([
        "trust",
        trail.to_str().unwrap(),
        "--iam",
        testdata("iam").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    // 78 roles (cloudsplaining) + 4 (cloudmapper); 44 + 2 users.
    assert!(err.contains("2 file(s), 82 role(s), 46 user(s)"), "{err}");
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let bad: Vec<&str> = of(&rows, "bad_role", "finding")
        .iter()
        .map(|r| s(r, "finding"))
        .collect();
    // "AWS": "*" is broad, and unused: nobody assumed it in this input.
    assert_eq!(bad, ["broad_trust", "unused_trust"]);
    // Every configured role has a trusted row.
    let roles: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| s(r, "row") == "trusted")
        .map(|r| s(r, "role_arn"))
        .collect();
    assert!(roles.len() >= 82, "{}", roles.len());
}

#[test]
fn the_same_answer_from_a_case_and_with_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let trail = testdata("trust/trail.json");
    run_ok(
        [
            "ingest",
            trail.to_str().unwrap(),
            "-o",
            case.to_str().unwrap(),
            "-q",
        ],
        0,
    );
    let iam = testdata("trust/iam");
    let a = run_ok(
        [
            "trust",
            trail.to_str().unwrap(),
            "--iam",
            iam.to_str().unwrap(),
            "--format",
            "csv",
        ],
        0,
    );
    let b = run_ok(
        [
            "trust",
            case.to_str().unwrap(),
            "--iam",
            iam.to_str().unwrap(),
            "--format",
            "csv",
            "--threads",
            "1",
        ],
        0,
    );
    assert_eq!(a, b);
}

/// `ingest --iam` keeps the IAM files in the case: `trust`, `whatif` and `report` on the case
/// then read them without `--iam`, with the same answers; ingesting the same file again
/// replaces its copy.
#[test]
fn ingest_keeps_the_iam_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let case = case.to_str().unwrap();
    let trail = testdata("trust/trail.json");
    let iam = testdata("trust/iam");
    let (trail, iam) = (trail.to_str().unwrap(), iam.to_str().unwrap());
    run_ok(["ingest", "-q", trail, "-o", case, "--iam", iam], 0);
    let manifest: Value = last_run_manifest(case);
    let kept = manifest["iam"].as_array().unwrap();
    assert_eq!(kept.len(), 3, "{manifest}");
    for k in kept {
        let stored = k["stored"].as_str().unwrap();
        assert!(std::path::Path::new(case).join(stored).is_file(), "{k}");
    }
    let with = run_ok(["trust", "-q", trail, "--iam", iam, "--format", "csv"], 0);
    let from_case = run_ok(["trust", "-q", case, "--format", "csv"], 0);
    // Only the snapshot's file names differ (the copies in the case).
    let norm = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| {
                l.split(',')
                    .map(|f| if f.contains(".json") { "FILE" } else { f })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    };
    assert_eq!(norm(&from_case), norm(&with));
    assert!(from_case.contains("assumption_not_explained"));
    let w = run_ok(
        [
            "whatif",
            "-q",
            case,
            "--role",
            "Deploy",
            "--require-mfa",
            "--format",
            "csv",
        ],
        0,
    );
    assert!(w.lines().any(|l| l.contains(",deny,")), "{w}");
    let rep = dir.path().join("rep");
    run_ok(
        [
            "report",
            "-q",
            case,
            "--no-rules",
            "-o",
            rep.to_str().unwrap(),
        ],
        0,
    );
    assert!(rep.join("trust.csv").is_file());
    // Again with the same files: their copies are replaced, not added.
    run_ok(["ingest", "-q", trail, "-o", case, "--iam", iam], 0);
    let again: Value = last_run_manifest(case);
    assert_eq!(again["iam"].as_array().unwrap().len(), 3);
}

/// `matched_principal` (observed rows) names the trusted principal of the Allow statement that
/// decided the calls, as the trusted rows write it; `condition_keys` (trusted rows) lists the
/// statement's condition keys. Both come after the columns `trust` had before.
#[test]
fn observed_rows_name_the_principal_that_matched() {
    let rows = trust_rows();
    let trail = testdata("trust/trail.json");
    let iam = testdata("trust/iam");
    let csv = run_ok(
        [
            "trust",
            trail.to_str().unwrap(),
            "--iam",
            iam.to_str().unwrap(),
            "--format",
            "csv",
        ],
        0,
    );
    assert_eq!(
        csv.lines().next().unwrap(),
        "role_arn,row,finding,principal,origin,assumptions,first_time,last_time,verdicts,\
         detail,policy_source,role_last_used,event_id,matched_principal,condition_keys"
    );
    let matched = |role: &str, caller_suffix: &str| -> String {
        let obs = of(&rows, role, "observed");
        let r = obs
            .iter()
            .find(|r| s(r, "principal").ends_with(caller_suffix))
            .unwrap_or_else(|| panic!("{role}: no caller {caller_suffix}"));
        s(r, "matched_principal").to_string()
    };
    // Each caller of Deploy by its own principal: users, the role (any session), the service.
    assert_eq!(
        matched("Deploy", "user/alice"),
        "AWS arn:aws:iam::111111111111:user/alice"
    );
    assert_eq!(
        matched("Deploy", "role/CiRunner"),
        "AWS arn:aws:iam::111111111111:role/CiRunner"
    );
    assert_eq!(
        matched("Deploy", "ec2.amazonaws.com"),
        "Service ec2.amazonaws.com"
    );
    // "AWS": "*" matched bob; a whole account matched the partner's user (verdict unknown).
    assert_eq!(matched("OpenRole", "user/bob"), "AWS *");
    assert_eq!(matched("Partner", "user/pat"), "AWS 222222222222");
    // Denied by a condition: the statement naming the caller still counts.
    assert_eq!(
        matched("Conditional", "user/alice"),
        "AWS arn:aws:iam::111111111111:user/alice"
    );
    // Changing: alice was allowed by the first version only (the latest trusts bob alone);
    // Rewound: alice's call is before any known policy, so nothing matched.
    assert_eq!(
        matched("Changing", "user/alice"),
        "AWS arn:aws:iam::111111111111:user/alice"
    );
    assert!(!of(&rows, "Changing", "trusted")
        .iter()
        .any(|r| s(r, "principal").ends_with("user/alice")));
    assert_eq!(matched("Rewound", "user/alice"), "");
    // Condition keys of the trusted rows, in the order written; none for a bare statement.
    let trusted = |role: &str| -> Vec<String> {
        of(&rows, role, "trusted")
            .iter()
            .map(|r| s(r, "condition_keys").to_string())
            .collect()
    };
    assert_eq!(trusted("Partner"), ["sts:ExternalId"]);
    assert_eq!(trusted("Changing"), ["aws:MultiFactorAuthPresent"]);
    assert_eq!(trusted("Deploy"), ["", "", "", ""]);
    assert!(trusted("Conditional")[0].contains("aws:MultiFactorAuthPresent, aws:CurrentTime"));
    // Findings and trusted rows have no matched principal.
    assert!(rows
        .iter()
        .filter(|r| s(r, "row") != "observed")
        .all(|r| s(r, "matched_principal").is_empty()));
}

/// The manifest of the last ingest run into `case`.
fn last_run_manifest(case: &str) -> Value {
    let mut runs: Vec<_> = std::fs::read_dir(format!("{case}/manifests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    serde_json::from_slice(&std::fs::read(runs.last().unwrap()).unwrap()).unwrap()
}
