//! `trailgraph anomalies` (issue 4): one fixture per detector that fires it and one near miss
//! that must not (testdata/anomalies/, built by testdata/anomalies/build.py, whose
//! expected.json files hold the hand-written expectations); the config file; and what fires
//! on the real logs in testdata/real/.

use crate::util::{ndjson, run, run_ok, testdata};
use serde_json::Value;
use std::path::{Path, PathBuf};
use trailgraph_analysis::anomalies::{default_toml, load_config, parse_config, Config, Severity};

/// Runs `anomalies` over `inputs` with extra args; returns the findings (NDJSON rows).
fn findings<P: AsRef<Path>>(inputs: &[P], extra: &[&str]) -> Vec<Value> {
    let mut args: Vec<String> = vec!["anomalies".into(), "-q".into()];
    args.extend(inputs.iter().map(|p| p.as_ref().display().to_string()));
    args.extend(["--format".into(), "ndjson".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = run(&args);
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "exit code {code:?}; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ndjson(&String::from_utf8(out.stdout).expect("utf-8"))
}

/// The comparable part of a finding.
fn key(f: &Value) -> Value {
    serde_json::json!({
        "kind": f["kind"],
        "subject": f["subject"],
        "origin": f["origin"],
        "first_event_id": f["first_event_id"],
        "time": f["time"],
        "event_ids": f["event_ids"].as_str().unwrap_or("").split(';').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
    })
}

fn of_kind<'a>(v: &'a [Value], kind: &str) -> Vec<&'a Value> {
    v.iter().filter(|f| f["kind"] == kind).collect()
}

/// Checks one fixture directory: fire.json gives exactly the expected findings of its kind
/// (in output order), near_miss.json none.
fn check_fixture(name: &str) {
    let dir = testdata("anomalies").join(name);
    let exp: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let kind = exp["kind"].as_str().unwrap();
    let cfg = dir.join("config.toml");
    let cfg_s = cfg.display().to_string();
    let extra: Vec<&str> = if cfg.exists() {
        vec!["--config", &cfg_s]
    } else {
        vec![]
    };
    let fire = findings(&[dir.join("fire.json")], &extra);
    let got: Vec<Value> = of_kind(&fire, kind).into_iter().map(key).collect();
    let want: Vec<Value> = exp["fire"].as_array().unwrap().clone();
    assert_eq!(
        serde_json::to_string_pretty(&got).unwrap(),
        serde_json::to_string_pretty(&want).unwrap(),
        "{name}/fire.json"
    );
    for f in of_kind(&fire, kind) {
        let e = f["explanation"].as_str().unwrap();
        assert!(
            e.ends_with('.') && !e.contains('\n') && e.len() > 30,
            "one sentence: {e}"
        );
        assert!(!f["severity"].as_str().unwrap().is_empty());
    }
    let near = findings(&[dir.join("near_miss.json")], &extra);
    let got: Vec<Value> = of_kind(&near, kind).into_iter().map(key).collect();
    assert!(got.is_empty(), "{name}/near_miss.json fired: {got:#?}");
}

macro_rules! fixture_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_fixture(stringify!($name));
            }
        )*
    };
}

fixture_tests!(
    role_chain_depth,
    role_cycle,
    workload_credential_exfiltration,
    workload_credential_exfiltration_ranges,
    session_multi_ip,
    assume_role_enumeration,
    first_time_assumption,
    no_mfa_sensitive,
    off_hours,
    external_account_assumption,
    getsessiontoken_then_assume,
    federation_token_persistence,
    api_enumeration_burst,
    long_term_key_new_network,
    console_login_without_mfa,
    persistence_credential_created,
);

fn fixture(name: &str, file: &str) -> PathBuf {
    testdata("anomalies").join(name).join(file)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

// ---------------------------------------------------------------------------------------------
// Output shape

#[test]
fn columns_order_and_severity() {
    let out = run_ok(
        [
            "anomalies",
            "-q",
            fixture("role_cycle", "fire.json").to_str().unwrap(),
            "--format",
            "csv",
        ],
        0,
    );
    let header = out.lines().next().unwrap();
    assert_eq!(
        header,
        "kind,severity,subject,origin,first_event_id,time,event_ids,explanation"
    );
    let rows = findings(&[fixture("role_cycle", "fire.json")], &[]);
    let cyc = of_kind(&rows, "role_cycle");
    assert!(cyc.iter().all(|f| f["severity"] == "high"));
    // Sorted by time.
    let times: Vec<&str> = rows.iter().map(|f| f["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
}

#[test]
fn output_is_deterministic_across_threads_and_input_order() {
    let a = fixture("workload_credential_exfiltration", "fire.json");
    let b = fixture("session_multi_ip", "fire.json");
    let c = fixture("federation_token_persistence", "fire.json");
    let one = run_ok(
        [
            "anomalies",
            "-q",
            "-j",
            "1",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            c.to_str().unwrap(),
            "--format",
            "json",
        ],
        0,
    );
    let two = run_ok(
        [
            "anomalies",
            "-q",
            "-j",
            "3",
            c.to_str().unwrap(),
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--format",
            "json",
        ],
        0,
    );
    assert_eq!(one, two);
}

#[test]
fn case_directory_gives_the_same_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    let inputs = [
        fixture("session_multi_ip", "fire.json"),
        fixture("workload_credential_exfiltration", "fire.json"),
    ];
    let mut args = vec!["ingest".to_string(), "-q".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".into(), case.display().to_string()]);
    run_ok(&args, 0);
    let raw = findings(&inputs, &[]);
    let cased = findings(&[case], &[]);
    assert_eq!(raw, cased);
    assert!(!raw.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Config

#[test]
fn config_defaults() {
    let c = load_config(None).unwrap();
    assert_eq!(c, Config::default());
    assert_eq!(c.role_chain_depth.min_depth, 4);
    assert_eq!(c.session_multi_ip.prefix_len, 16);
    assert_eq!(c.session_multi_ip.window, 600_000);
    assert_eq!(c.api_enumeration_burst.min_failures, 20);
    assert_eq!(c.api_enumeration_burst.min_apis, 15);
    assert_eq!(c.api_enumeration_burst.window, 120_000);
    assert_eq!(c.long_term_key_new_network.ipv4_prefix_len, 16);
    assert_eq!(c.long_term_key_new_network.ipv6_prefix_len, 48);
    assert!(!c.long_term_key_new_network.new_keys);
    assert_eq!(c.persistence_credential_created.severity, Severity::High);
    assert_eq!(c.assume_role_enumeration.max_gap, 300_000);
    assert_eq!(c.assume_role_enumeration.min_failures, 10);
    assert_eq!(c.assume_role_enumeration.min_roles, 5);
    assert_eq!(c.no_mfa_sensitive.roles, ["*Admin*", "BreakGlass*"]);
    assert_eq!(
        c.off_hours
            .windows
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>(),
        ["Mon-Fri 20:00-07:00", "Sat-Sun 00:00-24:00"]
    );
    assert_eq!(c.off_hours.timezone.offset_min, 0);
    assert_eq!(c.baseline_fraction, 0.7);
    assert!(c.baseline_until.is_none());
    assert!(c.workload_credential_exfiltration.aws_ip_ranges.is_none());
    assert_eq!(c.role_cycle.severity, Severity::High);
}

#[test]
fn print_config_round_trips() {
    // No INPUT needed.
    let text = run_ok(["anomalies", "--print-config"], 0);
    assert_eq!(text, default_toml());
    assert_eq!(
        parse_config(&text, "printed", None).unwrap(),
        Config::default()
    );
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "defaults.toml", &text);
    assert_eq!(load_config(Some(&p)).unwrap(), Config::default());
    // Every detector has a section, with enabled and severity.
    for k in trailgraph_analysis::anomalies::KINDS {
        assert!(
            text.contains(&format!("\n[{k}]\nenabled = true\nseverity = ")),
            "{k}"
        );
    }
    // Running with the printed file gives the same findings as no --config.
    let input = fixture("role_chain_depth", "fire.json");
    assert_eq!(
        findings(&[&input], &["--config", p.to_str().unwrap()]),
        findings(&[input], &[])
    );
    // INPUT is still required without --print-config.
    let out = run(["anomalies"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_overrides_thresholds_severity_and_enabled() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "c.toml",
        "[role_chain_depth]\nmin_depth = 3\nseverity = \"critical\"\n[role_cycle]\nenabled = false\n",
    );
    let near = fixture("role_chain_depth", "near_miss.json");
    let got = findings(&[near], &["--config", p.to_str().unwrap()]);
    let depth = of_kind(&got, "role_chain_depth");
    assert_eq!(depth.len(), 1);
    assert_eq!(depth[0]["first_event_id"], "depth-near-3");
    assert_eq!(depth[0]["severity"], "critical");
    let cyc = findings(
        &[fixture("role_cycle", "fire.json")],
        &["--config", p.to_str().unwrap()],
    );
    assert!(of_kind(&cyc, "role_cycle").is_empty());

    // Windows and durations: a 10 min 1 s window catches the session_multi_ip near miss.
    let p = write(
        tmp.path(),
        "w.toml",
        "[session_multi_ip]\nwindow = \"10m1s\"\n",
    );
    let got = findings(
        &[fixture("session_multi_ip", "near_miss.json")],
        &["--config", p.to_str().unwrap()],
    );
    let m = of_kind(&got, "session_multi_ip");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["first_event_id"], "nmip-other");
}

#[test]
fn config_unknown_key_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixture("role_cycle", "fire.json");
    for (text, needle) in [
        (
            "[role_chain_depth]\nmin_dept = 3\n",
            "unknown key `role_chain_depth.min_dept`",
        ),
        (
            "[role_chains]\nmin_depth = 3\n",
            "unknown key `role_chains`",
        ),
        ("bogus = 1\n", "unknown key `bogus`"),
        ("[allow]\nprincipal = []\n", "unknown key `allow.principal`"),
        (
            "[session_multi_ip]\nwindow = \"10x\"\n",
            "`session_multi_ip.window` must be a duration",
        ),
        (
            "[role_chain_depth]\nmin_depth = \"4\"\n",
            "`role_chain_depth.min_depth` must be an integer",
        ),
        (
            "[role_cycle]\nseverity = \"urgent\"\n",
            "`role_cycle.severity` must be one of",
        ),
        (
            "[off_hours]\nwindows = [\"Mon-Fri 8pm-7am\"]\n",
            "`off_hours.windows` entry",
        ),
        (
            "[off_hours]\ntimezone = \"Europe/Berlin\"\n",
            "`off_hours.timezone` must be",
        ),
        (
            "[allow]\naddresses = [\"10.0.0.0/40\"]\n",
            "`allow.addresses` entry",
        ),
        ("[role_chain_depth\n", "invalid TOML at line 1"),
    ] {
        let p = write(tmp.path(), "bad.toml", text);
        let out = run([
            "anomalies",
            input.to_str().unwrap(),
            "--config",
            p.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(&p.display().to_string()),
            "names the file: {err}"
        );
        assert!(err.contains(needle), "{needle:?} in {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn baseline_until_moves_the_learning_period() {
    let near = fixture("first_time_assumption", "near_miss.json");
    assert!(of_kind(&findings(&[&near], &[]), "first_time_assumption").is_empty());
    // Learning period ends one hour earlier: AuditRole at 08:59:59 is now new.
    let got = findings(&[&near], &["--baseline-until", "2024-03-11T08:00:00Z"]);
    let f = of_kind(&got, "first_time_assumption");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["first_event_id"], "nft-audit-1");
    // The same from the config file; the command line wins over the config.
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "b.toml",
        "baseline_until = \"2024-03-11T08:00:00Z\"\n",
    );
    let got = findings(&[&near], &["--config", p.to_str().unwrap()]);
    assert_eq!(of_kind(&got, "first_time_assumption").len(), 1);
    let got = findings(
        &[near],
        &[
            "--config",
            p.to_str().unwrap(),
            "--baseline-until",
            "2024-03-12",
        ],
    );
    assert!(of_kind(&got, "first_time_assumption").is_empty());
}

#[test]
fn allow_lists_and_known_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let ext = fixture("external_account_assumption", "fire.json");
    let p = write(
        tmp.path(),
        "k.toml",
        "[external_account_assumption]\nknown_accounts = [\"999999999999\"]\n",
    );
    assert!(of_kind(
        &findings(&[&ext], &["--config", p.to_str().unwrap()]),
        "external_account_assumption"
    )
    .is_empty());
    let p = write(
        tmp.path(),
        "a.toml",
        "[allow]\naccounts = [\"999999999999\"]\n",
    );
    assert!(of_kind(
        &findings(&[ext], &["--config", p.to_str().unwrap()]),
        "external_account_assumption"
    )
    .is_empty());

    // Principals (glob) drop findings about them.
    let enumf = fixture("assume_role_enumeration", "fire.json");
    let p = write(
        tmp.path(),
        "p.toml",
        "[allow]\nprincipals = [\"arn:aws:iam::111111111111:user/mall*\"]\n",
    );
    assert!(of_kind(
        &findings(&[&enumf], &["--config", p.to_str().unwrap()]),
        "assume_role_enumeration"
    )
    .is_empty());
    // Allow-listed roles are not counted: R5 out leaves 4 distinct roles.
    let p = write(tmp.path(), "r.toml", "[allow]\nroles = [\"R5\"]\n");
    assert!(of_kind(
        &findings(&[enumf], &["--config", p.to_str().unwrap()]),
        "assume_role_enumeration"
    )
    .is_empty());

    // Allow-listed addresses are trusted: the workload's outside uses from 81.2.0.0/16 go.
    let wl = fixture("workload_credential_exfiltration", "fire.json");
    let p = write(
        tmp.path(),
        "ad.toml",
        "[allow]\naddresses = [\"81.2.0.0/16\"]\n",
    );
    let got = findings(&[wl], &["--config", p.to_str().unwrap()]);
    let subjects: Vec<&str> = of_kind(&got, "workload_credential_exfiltration")
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["ASIAWEBCHAIN1XXXXXXX", "ASIAWEB2XXXXXXXXXXXX"]);

    // no_mfa_sensitive patterns are a key too.
    let p = write(
        tmp.path(),
        "m.toml",
        "[no_mfa_sensitive]\nroles = [\"ReadOnly\"]\n",
    );
    let got = findings(
        &[fixture("no_mfa_sensitive", "near_miss.json")],
        &["--config", p.to_str().unwrap()],
    );
    let f = of_kind(&got, "no_mfa_sensitive");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["first_event_id"], "nnomfa-plain");
}

#[test]
fn off_hours_timezone() {
    let tmp = tempfile::tempdir().unwrap();
    // At UTC+01:00, Tue 06:59:59 UTC is 07:59:59 local (not off hours), Tue 19:59:59 UTC is
    // 20:59:59 local (off hours).
    let p = write(
        tmp.path(),
        "tz.toml",
        "[off_hours]\ntimezone = \"+01:00\"\n",
    );
    let fire = findings(
        &[fixture("off_hours", "fire.json")],
        &["--config", p.to_str().unwrap()],
    );
    let ids: Vec<&str> = of_kind(&fire, "off_hours")
        .iter()
        .map(|f| f["first_event_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"off-tue-0659"), "{ids:?}");
    let near = findings(
        &[fixture("off_hours", "near_miss.json")],
        &["--config", p.to_str().unwrap()],
    );
    let ids: Vec<&str> = of_kind(&near, "off_hours")
        .iter()
        .map(|f| f["first_event_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"noff-tue-1959"), "{ids:?}");
}

#[test]
fn aws_ip_ranges_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "r.toml",
        "[workload_credential_exfiltration]\naws_ip_ranges = \"missing.json\"\n",
    );
    let out = run([
        "anomalies",
        fixture("role_cycle", "fire.json").to_str().unwrap(),
        "--config",
        p.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("missing.json") && err.contains("aws_ip_ranges"),
        "{err}"
    );
}

#[test]
fn docs_carry_the_defaults_and_the_example_loads() {
    let root = crate::util::root();
    let md = std::fs::read_to_string(root.join("docs/anomalies.md")).unwrap();
    assert!(
        md.contains(&default_toml()),
        "docs/anomalies.md must embed the --print-config output verbatim"
    );
    for k in trailgraph_analysis::anomalies::KINDS {
        assert!(md.contains(&format!("`{k}`")), "{k} documented");
    }
    let ex = root.join("docs/anomalies.example.toml");
    let c = load_config(Some(&ex)).unwrap();
    assert_ne!(c, Config::default());
}

// ---------------------------------------------------------------------------------------------
// Real logs (testdata/real/): what fires, checked by reading the records.

fn real(d: &str) -> PathBuf {
    testdata("real").join(d)
}

fn summary(v: &[Value]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
                f["first_event_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn s3(k: &str, s: &str, e: &str) -> (String, String, String) {
    (k.into(), s.into(), e.into())
}

/// Invictus (2023-07-10, one hour, one account). With the defaults nothing fires:
/// * the EC2 instance-profile key ASIATFQR7NSC36DZQP7P (instance i-0dbc91f429e48eeed) is used
///   by the attacker from 192.168.10.20, the address bert-jan uses: the dataset anonymised it
///   into RFC 1918 space, and private addresses never count;
/// * bert-jan's denied AssumeRole calls come in two bursts: 3 at 11:54 (1 role), then 10 from
///   12:01:55 to 12:09:27 on 4 roles (gaps up to 3 min 48 s): under min_roles = 5.
///
/// The dataset replays Stratus techniques with bert-jan's key: with the defaults,
/// `persistence_credential_created` fires on the credentials he makes for other users (a login
/// profile for stratus-red-team-nmfalu-gfjyeaypjt at 12:23:06, access keys for
/// stratus-red-team-backdoor-u-user and malicious-iam-user, a login profile for
/// stratus-red-team-login-profile-user), and `console_login_without_mfa` on the nmfalu user's
/// console sign-in 9 s after its password was made (12:23:15, from 192.168.10.20).
/// `api_enumeration_burst` stays quiet: the denied calls repeat one API each
/// (GetPasswordData ×30, DescribeInstanceAttribute ×16); `long_term_key_new_network` too:
/// bert-jan's key is only used from 192.168.10.20 (private).
///
/// With `include_private = true` and `min_roles = 4` the two older detectors fire too, and
/// nothing else does.
#[test]
fn real_invictus() {
    let d = real("invictus-aws-dataset");
    let new_ones = [
        s3(
            "persistence_credential_created",
            "arn:aws:iam::123837392027:user/stratus-red-team-nmfalu-gfjyeaypjt",
            "1170c908-ce8d-4c6f-bc65-cf43aae5235b",
        ),
        s3(
            "console_login_without_mfa",
            "arn:aws:iam::123837392027:user/stratus-red-team-nmfalu-gfjyeaypjt",
            "70e5932e-9022-4b38-837e-ca10dad94eb7",
        ),
        s3(
            "persistence_credential_created",
            "arn:aws:iam::123837392027:user/stratus-red-team-backdoor-u-user",
            "64b7de64-bf53-47ae-b7e3-d30cb1b5136e",
        ),
        s3(
            "persistence_credential_created",
            "arn:aws:iam::123837392027:user/malicious-iam-user",
            "8c282c0b-00d1-4369-95b7-cb50b6eee620",
        ),
        s3(
            "persistence_credential_created",
            "arn:aws:iam::123837392027:user/stratus-red-team-login-profile-user",
            "f0d7bb15-75c8-4770-a500-92d1f71b948c",
        ),
    ];
    let defaults = findings(&[&d], &[]);
    assert_eq!(summary(&defaults), new_ones);
    let bert = "arn:aws:iam::123837392027:user/bert-jan";
    for f in &defaults {
        if f["kind"] == "persistence_credential_created" {
            assert_eq!(f["origin"], bert);
        } else {
            assert_eq!(f["origin"], f["subject"]);
            assert_eq!(f["time"], "2023-07-10T12:23:15Z");
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "lab.toml",
        "[workload_credential_exfiltration]\ninclude_private = true\n[assume_role_enumeration]\nmin_roles = 4\n",
    );
    let got = findings(&[d], &["--config", p.to_str().unwrap()]);
    let mut want = vec![
        s3(
            "workload_credential_exfiltration",
            "ASIATFQR7NSC36DZQP7P",
            "bf68f8c0-590b-4740-ac89-aad0ed5dfe4f",
        ),
        s3(
            "assume_role_enumeration",
            "arn:aws:iam::123837392027:user/bert-jan",
            "851f80ef-dfca-4286-998c-dd8c10885ef4",
        ),
    ];
    want.extend(new_ones);
    assert_eq!(summary(&got), want);
    let ex = &got[0];
    assert_eq!(ex["time"], "2023-07-10T11:57:22Z");
    assert_eq!(ex["origin"], "service:ec2.amazonaws.com");
    // Issuance, the workload's first use (SSM agent from 3.225.16.109), the outside use.
    assert_eq!(
        ex["event_ids"],
        "55e25aa9-7165-446e-aef6-815c7a79a961;6bf8950b-f1ed-439d-8fc8-211645bfbe0f;bf68f8c0-590b-4740-ac89-aad0ed5dfe4f"
    );
    let ex = ex["explanation"].as_str().unwrap();
    assert!(
        ex.contains("i-0dbc91f429e48eeed")
            && ex.contains("192.168.10.20")
            && ex.contains("3.225.16.109")
    );
    let en = &got[1];
    assert_eq!(en["time"], "2023-07-10T12:09:27Z");
    assert_eq!(en["event_ids"].as_str().unwrap().split(';').count(), 10);
    assert_eq!(en["origin"], "arn:aws:iam::123837392027:user/bert-jan");
    assert!(en["explanation"]
        .as_str()
        .unwrap()
        .contains("denied AssumeRole 10 times on 4 distinct roles"));
}

/// Stratus detonations: christophe's AssumeRole pair at Tue 2024-07-30 21:31:15 UTC (two
/// sessions in the same second, SDK retry) is off hours. The stolen instance credentials
/// (ASIAP5CT9NN8EYVU1FXV, orphan i-786a3A8B5C0d92eF4) are only ever used from 18.236.253.47:
/// that is the workload's first address, so without an ip-ranges file nothing fires, and that
/// address is inside the AWS ranges of the test file (an EC2 block), so with it neither.
///
/// The persistence detonations fire `persistence_credential_created` (christophe making an
/// access key for stratus-red-team-backdoor-u-user (iam-backdoor-user) and for
/// malicious-iam-user (iam-create-admin-user), a login profile for
/// stratus-red-team-login-profile-user (iam-create-user-login-profile), a new password for
/// stratus-red-team-update-login-profile-user (iam-update-user-login-profile)), and the
/// console-login-without-mfa detonation fires `console_login_without_mfa`. Each file is its
/// own (anonymised) account, key and address: `long_term_key_new_network` has no key with a
/// history to compare, and the denied calls repeat one API each (no `api_enumeration_burst`).
#[test]
fn real_stratus() {
    let d = real("stratus-red-team-detonation-logs");
    let christophe = |acct: &str| format!("arn:aws:iam::{acct}:user/christophe");
    let want = [
        s3(
            "off_hours",
            "arn:aws:iam::457448411975:user/christophe",
            "d769ddfd-2cda-4cfa-b33f-05d3b886921d",
        ),
        s3(
            "off_hours",
            "arn:aws:iam::457448411975:user/christophe",
            "fd179e25-9f1a-406c-8d7d-62f9d4938ef6",
        ),
        s3(
            "persistence_credential_created",
            "arn:aws:iam::946986569305:user/stratus-red-team-backdoor-u-user",
            "c64c4ded-ef03-4e5c-81eb-153b118d72f2",
        ),
        s3(
            "persistence_credential_created",
            "arn:aws:iam::229654561268:user/malicious-iam-user",
            "94faedcc-0fa4-46e6-9322-022e8e934f04",
        ),
        s3(
            "persistence_credential_created",
            "arn:aws:iam::070411556318:user/stratus-red-team-login-profile-user",
            "d3906a7d-604b-407f-acb6-fc425742821e",
        ),
        s3(
            "console_login_without_mfa",
            "arn:aws:iam::562283505220:user/stratus-red-team-nmfalu-jfzdtsvchl",
            "865d9377-9c6b-4fd7-8aad-725e95f6a140",
        ),
        s3(
            "persistence_credential_created",
            "arn:aws:iam::763751499319:user/stratus-red-team-update-login-profile-user",
            "a46a1a42-9ef1-48d4-9c61-507eb6d4019f",
        ),
    ];
    let got = findings(&[&d], &[]);
    assert_eq!(summary(&got), want);
    for f in &got {
        let subject = f["subject"].as_str().unwrap();
        let acct = subject.split(':').nth(4).unwrap();
        match f["kind"].as_str().unwrap() {
            "persistence_credential_created" => assert_eq!(f["origin"], christophe(acct)),
            "console_login_without_mfa" => {
                assert_eq!(f["origin"], subject);
                assert_eq!(f["time"], "2024-08-02T08:53:24Z");
            }
            _ => {}
        }
    }
    let ranges = fixture("workload_credential_exfiltration_ranges", "config.toml");
    assert_eq!(
        summary(&findings(&[d], &["--config", ranges.to_str().unwrap()])),
        want
    );
    // With a ranges file that does not cover 18.236.0.0/15, the orphan instance session fires
    // on its first event (with a ranges file the first address counts too).
    let steal = real("stratus-red-team-detonation-logs")
        .join("aws.credential-access.ec2-steal-instance-credentials.json");
    let tmp = tempfile::tempdir().unwrap();
    let r = write(
        tmp.path(),
        "r.json",
        r#"{"prefixes":[{"ip_prefix":"52.94.0.0/22"}],"ipv6_prefixes":[]}"#,
    );
    let p = write(
        tmp.path(),
        "c.toml",
        &format!(
            "[workload_credential_exfiltration]\naws_ip_ranges = {:?}\n",
            r.display().to_string()
        ),
    );
    let got = findings(&[steal], &["--config", p.to_str().unwrap()]);
    assert_eq!(
        summary(&got),
        [s3(
            "workload_credential_exfiltration",
            "ASIAP5CT9NN8EYVU1FXV",
            "b379479b-05c9-4c3c-af4b-cbd43acf29e1"
        )]
    );
    assert_eq!(got[0]["origin"], "unknown:ASIAP5CT9NN8EYVU1FXV");
    assert_eq!(got[0]["time"], "2024-08-02T08:23:55Z");
}

/// Cribl sample (2022-01-03, Control Tower account): the Lambda
/// aws-controltower-NotificationForwarder's sessions call KMS and CloudWatch Logs from
/// changing us-west-2 EC2 addresses. Without an ip-ranges file that is what
/// workload_credential_exfiltration says (its first address was 34.222.89.72), and two keys
/// are used from two /16s within a second (session_multi_ip); with the ranges file the
/// workload findings go. kamilo@cribl.io's Identity Center sign-in at Mon 20:23 is off hours.
#[test]
fn real_cribl() {
    let d = real("cribl-aws-cloudtrail-pack");
    let got = findings(&[&d], &[]);
    assert_eq!(
        summary(&got),
        [
            s3(
                "session_multi_ip",
                "ASIAZPERN54NIRJRTDDU",
                "c518cf39-c947-4f76-a84c-78925262f738"
            ),
            s3(
                "workload_credential_exfiltration",
                "ASIAZPERN54NIRJRTDDU",
                "c518cf39-c947-4f76-a84c-78925262f738"
            ),
            s3(
                "workload_credential_exfiltration",
                "ASIAZPERN54NJAXIP2M4",
                "56d7b6c3-d214-4e9e-a153-0171ee457856"
            ),
            s3(
                "session_multi_ip",
                "ASIAZPERN54NJAXIP2M4",
                "0e55194f-220e-4ef0-9f8b-ad5ff8ebb9b1"
            ),
            s3(
                "workload_credential_exfiltration",
                "ASIAZPERN54NMGR2GGP2",
                "f16ed895-d6ec-43c3-970b-42f3eef61a3f"
            ),
            s3(
                "workload_credential_exfiltration",
                "ASIAZPERN54NF3WEUVFK",
                "27c11481-01d1-43e5-aaea-0dcc3ff31550"
            ),
            s3(
                "off_hours",
                "saml:arn:aws:iam::123456789122:saml-provider/AWSSSO_ce8248bbcaf8bb4e_DO_NOT_DELETE:kamilo@cribl.io",
                "38a772c9-ac34-486b-bac6-b01f1bb43293"
            ),
        ]
    );
    assert_eq!(got[0]["origin"], "service:lambda.amazonaws.com");
    let ranges = fixture("workload_credential_exfiltration_ranges", "config.toml");
    let got = findings(&[d], &["--config", ranges.to_str().unwrap()]);
    assert!(of_kind(&got, "workload_credential_exfiltration").is_empty());
    assert_eq!(got.len(), 3);
}

/// OTRF (SSRF on an nginx instance, 2020-09-14): the BankingWAF instance-profile key
/// ASIA5FLZVX4OPVKKVBMX (i-0317f6c6b66ae9c40) lists and reads S3 from 1.2.3.4. It is the
/// workload's only address, so only the ranges file shows it is outside AWS.
#[test]
fn real_otrf() {
    let d = real("otrf-security-datasets");
    assert!(findings(&[&d], &[]).is_empty());
    let ranges = fixture("workload_credential_exfiltration_ranges", "config.toml");
    let got = findings(&[d], &["--config", ranges.to_str().unwrap()]);
    assert_eq!(
        summary(&got),
        [s3(
            "workload_credential_exfiltration",
            "ASIA5FLZVX4OPVKKVBMX",
            "7d91ac29-614a-4af9-af5c-c5a80e63a0bb"
        )]
    );
    assert_eq!(got[0]["time"], "2020-09-14T01:00:04Z");
    assert_eq!(got[0]["origin"], "service:ec2.amazonaws.com");
    assert_eq!(
        got[0]["event_ids"],
        "a3a3dded-7c27-42c0-a42d-891cdd436278;7d91ac29-614a-4af9-af5c-c5a80e63a0bb"
    );
}

#[test]
fn attacker_controlled_names_are_escaped_by_the_renderers() {
    // The workload's session name (chosen by whoever calls AssumeRole) carries a terminal
    // escape sequence: JSON keeps it as data, the table escapes it.
    let text = std::fs::read_to_string(fixture("workload_credential_exfiltration", "fire.json"))
        .unwrap()
        .replace(
            "i-0a1b2c3d4e5f60718",
            "i-0a1b2c3d4e5f60718\\u001b[2J=cmd|' /C calc'!A0",
        );
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "evil.json", &text);
    let rows = findings(&[&p], &[]);
    let ex = of_kind(&rows, "workload_credential_exfiltration");
    assert_eq!(ex.len(), 4);
    assert!(ex
        .iter()
        .any(|f| f["explanation"].as_str().unwrap().contains("\u{1b}[2J=cmd")));
    let table = run_ok(["anomalies", "-q", p.to_str().unwrap()], 0);
    assert!(!table.contains('\u{1b}'), "raw ESC in the table");
}
