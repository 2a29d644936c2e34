//! `trailgraph whatif`: the observed assumptions of the fixture role Deploy (testdata/trust,
//! written by its build.py) judged against its trust policy hardened with each flag. Deploy's
//! policy allows every call; the calls satisfy, violate or lack each key:
//!
//! | event | caller | MFA | address | external id | time (UTC) |
//! |---|---|---|---|---|---|
//! | 26 | alice, console | true | 203.0.113.10 | deploy-1 | Fri 07:30 |
//! | 27 | alice, long-term key | absent | 198.51.100.20 | absent | Fri 15:00 |
//! | 28 | bob, key with MFA serial | true | 203.0.113.10 | wrong | Fri 16:30 |
//! | 29 | bob, console | false | 198.51.100.21 | absent | Fri 17:00 |
//! | 30 | CiRunner session (chained) | false | 198.51.100.22 | absent | Sat 10:00 |
//! | 31 | ec2.amazonaws.com | absent | a service name | absent | Fri 09:00 |
//! | 32 | carol, AccessDenied | | | | Fri 12:00 |

use crate::util::{run_ok, testdata};
use serde_json::Value;
use std::collections::BTreeMap;

fn trail() -> String {
    testdata("trust/trail.json").to_str().unwrap().to_string()
}

fn iam() -> String {
    testdata("trust/iam").to_str().unwrap().to_string()
}

/// `whatif` on Deploy with `flags`, as JSON rows.
fn rows_with(iam: &str, flags: &[&str]) -> Vec<Value> {
    let t = trail();
    let mut args = vec!["whatif", "-q", &t, "--iam", iam, "--role", "Deploy"];
    args.extend_from_slice(flags);
    args.extend(["--format", "json"]);
    serde_json::from_str(&run_ok(args, 0)).unwrap()
}

fn rows(flags: &[&str]) -> Vec<Value> {
    rows_with(&iam(), flags)
}

fn s<'a>(r: &'a Value, k: &str) -> &'a str {
    r[k].as_str().unwrap_or("")
}

/// event number (the last digits of the id) → "verdict reason".
fn verdicts(rows: &[Value]) -> BTreeMap<u32, String> {
    rows.iter()
        .map(|r| {
            let n: u32 = s(r, "event_id")
                .rsplit('-')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let v = format!("{} {}", s(r, "verdict"), s(r, "reason"));
            (n, v.trim().to_string())
        })
        .collect()
}

fn want(pairs: &[(u32, &str)]) -> BTreeMap<u32, String> {
    pairs.iter().map(|(n, v)| (*n, v.to_string())).collect()
}

#[test]
fn require_mfa_and_both_readings() {
    let bool_ = rows(&["--require-mfa"]);
    let mfa = "deny Bool aws:MultiFactorAuthPresent";
    assert_eq!(
        verdicts(&bool_),
        want(&[
            (26, "allow"),
            (27, mfa),
            (28, "allow"),
            (29, mfa),
            (30, mfa),
            (31, mfa),
            (32, ""),
        ])
    );
    // Where the key is absent (a long-term key without MFA serial; a service), BoolIfExists
    // lets the call through: the other reading says so, and only there.
    let other: BTreeMap<u32, String> = bool_
        .iter()
        .map(|r| {
            let n: u32 = s(r, "event_id")
                .rsplit('-')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            (n, s(r, "other_reading").to_string())
        })
        .filter(|(_, o)| !o.is_empty())
        .collect();
    assert_eq!(
        other,
        want(&[
            (27, "allow with BoolIfExists"),
            (31, "allow with BoolIfExists")
        ])
    );
    let if_exists = rows(&["--require-mfa=if-exists"]);
    let mfa = "deny BoolIfExists aws:MultiFactorAuthPresent";
    assert_eq!(
        verdicts(&if_exists),
        want(&[
            (26, "allow"),
            (27, "allow"),
            (28, "allow"),
            (29, mfa),
            (30, mfa),
            (31, "allow"),
            (32, ""),
        ])
    );
    for r in &if_exists {
        let n = s(r, "event_id");
        let o = s(r, "other_reading");
        if n.ends_with("27") || n.ends_with("31") {
            assert!(o.starts_with("deny with Bool"), "{r}");
        } else {
            assert_eq!(o, "", "{r}");
        }
    }
}

#[test]
fn source_ip_external_id_org_and_principals() {
    let ip = "deny IpAddress aws:SourceIp";
    assert_eq!(
        verdicts(&rows(&["--source-ip", "203.0.113.0/24,2001:db8::/32"])),
        want(&[
            (26, "allow"),
            (27, ip),
            (28, "allow"),
            (29, ip),
            (30, ip),
            (31, "unknown aws:SourceIp"), // a service name is no address
            (32, ""),
        ])
    );
    let ext = "deny StringEquals sts:ExternalId";
    assert_eq!(
        verdicts(&rows(&["--external-id", "deploy-1"])),
        want(&[
            (26, "allow"),
            (27, ext), // absent
            (28, ext), // wrong
            (29, ext),
            (30, ext),
            (31, ext),
            (32, ""),
        ])
    );
    let org = "deny StringEquals aws:PrincipalOrgID";
    assert_eq!(
        verdicts(&rows(&["--principal-org-id", "o-acme12345"])),
        want(&[
            (26, "allow"),
            (27, "allow"),
            (28, "allow"),
            (29, "allow"),
            (30, "allow"),
            (31, org), // a service has no principal account
            (32, ""),
        ])
    );
    assert_eq!(
        verdicts(&rows(&["--principal-org-id", "o-other"]))[&26],
        org
    );
    // Without the Organizations file the caller's organisation cannot be told: unknown.
    let gaad = testdata("trust/iam/gaad-111111111111.json");
    let no_org = verdicts(&rows_with(
        gaad.to_str().unwrap(),
        &["--principal-org-id", "o-acme12345"],
    ));
    assert_eq!(no_org[&27], "unknown aws:PrincipalOrgID");
    // Principals are matched against the direct caller: the CiRunner session by its role.
    let p = "deny ArnLike aws:PrincipalArn";
    let got = rows(&[
        "--principals",
        "arn:aws:iam::111111111111:user/alice,arn:aws:iam::111111111111:role/CiRunner",
    ]);
    assert_eq!(
        verdicts(&got),
        want(&[
            (26, "allow"),
            (27, "allow"),
            (28, p),
            (29, p),
            (30, "allow"),
            (31, p),
            (32, ""),
        ])
    );
    let ci = got
        .iter()
        .find(|r| s(r, "event_id").ends_with("30"))
        .unwrap();
    assert!(
        s(ci, "caller_arn").contains(":assumed-role/CiRunner/"),
        "{ci}"
    );
    assert_ne!(s(ci, "origin"), s(ci, "caller_arn"));
}

#[test]
fn hours_with_a_time_zone() {
    let h = "deny --hours Mon-Fri 08:00-18:00";
    // Europe/Berlin is UTC+2 in May: 07:30Z is 09:30, 16:30Z is 18:30.
    let berlin = verdicts(&rows(&[
        "--hours",
        "Mon-Fri 08:00-18:00",
        "--timezone",
        "Europe/Berlin",
    ]));
    let b = format!("{h} (Europe/Berlin)");
    assert_eq!(
        berlin,
        want(&[
            (26, "allow"),
            (27, "allow"),
            (28, &b),
            (29, &b),
            (30, &b), // Saturday
            (31, "allow"),
            (32, ""),
        ])
    );
    let utc = verdicts(&rows(&["--hours", "Mon-Fri 08:00-18:00"]));
    let u = format!("{h} (UTC)");
    assert_eq!(utc[&26], u);
    assert_eq!(utc[&28], "allow");
    // The text says plainly that it has no IAM form, and the policy does not contain it.
    let t = trail();
    let i = iam();
    let text = run_ok(
        [
            "whatif",
            "-q",
            &t,
            "--iam",
            &i,
            "--role",
            "Deploy",
            "--hours",
            "Mon-Fri 08:00-18:00",
        ],
        0,
    );
    assert!(
        text.contains("cannot be expressed in a trust policy"),
        "{text}"
    );
    let policy = hardened_policy(&text);
    assert!(!policy.to_string().contains("CurrentTime"), "{policy}");
}

/// The hardened policy printed after the summary: from a line `{` to the line `}`.
fn hardened_policy(text: &str) -> Value {
    let start = text.find("\n{\n").expect("a policy") + 1;
    let end = start + text[start..].find("\n}\n").expect("its end") + 2;
    serde_json::from_str(&text[start..end]).unwrap()
}

#[test]
fn the_hardened_policy_applied_gives_the_same_verdicts_in_trust() {
    let t = trail();
    let i = iam();
    let flags = [
        "--require-mfa",
        "--source-ip",
        "203.0.113.0/24,198.51.100.20",
        "--principals",
        "arn:aws:iam::111111111111:user/*,arn:aws:iam::111111111111:role/CiRunner",
    ];
    let mut args = vec!["whatif", "-q", &t, "--iam", &i, "--role", "Deploy"];
    args.extend_from_slice(&flags);
    let text = run_ok(args, 0);
    let policy = hardened_policy(&text);
    assert_eq!(
        policy["Statement"][0]["Condition"]["Bool"]["aws:MultiFactorAuthPresent"],
        "true"
    );
    // The summary says the service is denied too.
    assert!(
        text.contains("denies the service principal ec2.amazonaws.com"),
        "{text}"
    );
    assert!(text.contains("failed assumptions (not judged)"), "{text}");
    // Apply it: a get-role file read before the snapshot (the first role met is kept).
    let dir = tempfile::tempdir().unwrap();
    let get_role = dir.path().join("get-role-deploy.json");
    let doc = serde_json::json!({"Role": {
        "RoleName": "Deploy", "Path": "/", "Arn": "arn:aws:iam::111111111111:role/Deploy",
        "RoleId": "AROAEXAMPLEDEPLOY", "CreateDate": "2024-01-01T00:00:00Z",
        "AssumeRolePolicyDocument": policy}});
    std::fs::write(&get_role, doc.to_string()).unwrap();
    let mut args = vec!["whatif", "-q", &t, "--iam", &i, "--role", "Deploy"];
    args.extend_from_slice(&flags);
    args.extend(["--format", "json"]);
    let judged: Vec<Value> = serde_json::from_str(&run_ok(args, 0)).unwrap();
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for r in &judged {
        if !s(r, "verdict").is_empty() {
            *counts.entry(s(r, "verdict").to_string()).or_default() += 1;
        }
    }
    assert!(counts.len() >= 2, "{counts:?}");
    let g = get_role.to_str().unwrap();
    let trust: Vec<Value> = serde_json::from_str(&run_ok(
        [
            "trust", "-q", &t, "--iam", g, &i, "--role", "Deploy", "--format", "json",
        ],
        0,
    ))
    .unwrap();
    let mut from_trust: BTreeMap<String, u32> = BTreeMap::new();
    for r in trust.iter().filter(|r| s(r, "row") == "trusted") {
        assert!(
            s(r, "policy_source").contains("get-role-deploy.json"),
            "{r}"
        );
    }
    for r in trust.iter().filter(|r| s(r, "row") == "observed") {
        for part in s(r, "verdicts").split(", ") {
            let (v, n) = part.split_once(' ').unwrap();
            *from_trust.entry(v.to_string()).or_default() += n.parse::<u32>().unwrap();
        }
    }
    assert_eq!(from_trust, counts);
}

#[test]
fn bad_flags_are_one_line_errors() {
    let t = trail();
    let i = iam();
    for (flags, says) in [
        (vec![], "nothing to add"),
        (vec!["--source-ip", "300.1.2.3/8"], "not an address"),
        (vec!["--hours", "Mon-Fri 8-18"], "clock"),
        (
            vec![
                "--hours",
                "Mon-Fri 08:00-18:00",
                "--timezone",
                "Mars/Olympus",
            ],
            "unknown time zone",
        ),
        (vec!["--principals", "alice"], "not an ARN"),
        (vec!["--principal-org-id", "acme"], "organisation id"),
    ] {
        let mut args = vec!["whatif", "-q", &t, "--iam", &i, "--role", "Deploy"];
        args.extend(flags.iter().copied());
        let out = crate::util::run(&args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flags:?}: {err}");
    }
}
