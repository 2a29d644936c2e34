//! `trailgraph report`: files written, self-contained HTML, escaping of attacker-controlled
//! strings, determinism, and rendering in headless Chromium.

use crate::util::{require_tool, root, run, scenario_inputs, testdata};
use std::path::{Path, PathBuf};

/// Every file `report` writes.
pub const REPORT_FILES: [&str; 19] = [
    "report.html",
    "report.md",
    "summary.json",
    "sessions.csv",
    "sessions.json",
    "chains.csv",
    "chains.json",
    "anomalies.csv",
    "anomalies.json",
    "hunt.csv",
    "hunt.json",
    "hunt_origins.csv",
    "hunt_origins.json",
    "origins.csv",
    "origins.json",
    "timeline.csv",
    "timeline.json",
    "coverage.csv",
    "coverage.json",
];

/// The input files of every scenario (without expected.json), so no file is skipped.
pub fn all_scenario_inputs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(testdata("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().flat_map(|d| scenario_inputs(d)).collect()
}

/// Runs `report` over `inputs` into `out`; returns the exit code (0 or 1 expected).
fn report(inputs: &[PathBuf], out: &Path, extra: &[&str]) -> i32 {
    let mut args: Vec<std::ffi::OsString> = vec!["report".into(), "-q".into()];
    args.extend(inputs.iter().map(|p| p.as_os_str().to_owned()));
    args.push("-o".into());
    args.push(out.as_os_str().to_owned());
    args.extend(extra.iter().map(|s| (*s).into()));
    let o = run(&args);
    let code = o.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "report exit code {code}; stderr:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    code
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The HTML loads nothing over the network: no remote src/href, no @import, no url(http…).
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "@import", "url(http", "url(//", "<link", "<iframe", "<object", "<embed",
    ] {
        assert!(!lower.contains(bad), "HTML contains {bad:?}");
    }
    for attr in [
        "src=",
        "href=",
        "xlink:href=",
        "srcset=",
        "action=",
        "poster=",
    ] {
        for (i, _) in lower.match_indices(attr) {
            let v = lower[i + attr.len()..].trim_start_matches(['"', '\'', ' ']);
            assert!(
                !(v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//")),
                "remote resource: {}",
                &html[i..(i + 80).min(html.len())]
            );
        }
    }
    // Scripts, if any, are inline.
    assert!(!lower.contains("<script src"), "external script");
    assert!(
        lower.contains("content-security-policy"),
        "the page declares a CSP forbidding fetches"
    );
}

fn assert_all_files(dir: &Path) {
    for f in REPORT_FILES {
        let p = dir.join(f);
        assert!(p.is_file(), "{} missing", p.display());
        if f.ends_with(".json") {
            let v: serde_json::Value = serde_json::from_str(&read(&p))
                .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", p.display()));
            assert!(v.is_array() || v.is_object());
        }
    }
    assert!(std::fs::metadata(dir.join("report.html")).unwrap().len() > 1000);
}

#[test]
fn report_over_scenarios() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rep");
    report(&all_scenario_inputs(), &out, &[]);
    assert_all_files(&out);
    let html = read(&out.join("report.html"));
    let md = read(&out.join("report.md"));
    assert_self_contained(&html);
    // The five parts.
    for part in [
        "The input and its gaps",
        "Who is behind the role sessions",
        "Anomalies",
        "Activity per origin",
        "Timeline of important events",
    ] {
        assert!(html.contains(part), "HTML lacks {part:?}");
        assert!(md.contains(part), "Markdown lacks {part:?}");
    }
    assert!(html.contains("<svg class=\"chains\""), "chains picture");
    // Expected origins, in the page, the Markdown and the tables.
    for o in [
        "arn:aws:iam::111111111111:user/alice",
        "arn:aws:iam::111111111111:user/dave",
        "service:ec2.amazonaws.com",
    ] {
        assert!(html.contains(o), "HTML lacks origin {o}");
        assert!(md.contains(o), "Markdown lacks origin {o}");
        assert!(
            read(&out.join("origins.csv")).contains(o),
            "origins.csv lacks {o}"
        );
    }
    // The 5-hop chain is drawn to its end, and the cross-account AssumeRoot hop is marked.
    assert!(html.contains(">Hop5<"), "deepest hop drawn");
    assert!(html.contains("node role cross"), "cross-account hop marked");
    // Tables: the sessions listing matches `trailgraph sessions`.
    let sessions: Vec<serde_json::Value> =
        serde_json::from_str(&read(&out.join("sessions.json"))).unwrap();
    assert!(sessions.iter().any(|s| s["depth"] == 5));
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(summary["report"]["max_depth"], 5);
    assert!(summary["coverage"]["days_present"].as_u64().unwrap() > 0);
    // Timeline: issuances, mutating calls and denials are there, with attribution.
    let tl = read(&out.join("timeline.csv"));
    assert!(tl.starts_with("event_time,category,event_name"));
    for c in [",issuance,", ",mutating,", ",denied,"] {
        assert!(tl.contains(c), "timeline lacks {c}");
    }
}

#[test]
fn report_over_real_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rep");
    report(&[testdata("real")], &out, &[]);
    assert_all_files(&out);
    let html = read(&out.join("report.html"));
    assert_self_contained(&html);
    for o in [
        "arn:aws:iam::123837392027:user/bert-jan",
        "service:config.amazonaws.com",
    ] {
        assert!(html.contains(o), "HTML lacks origin {o}");
    }
    // The Hunt section: hits rolled up to the IAM users behind them, with the rules' authors.
    assert!(html.contains(r#"<section id="hunt">"#));
    let by: Vec<serde_json::Value> =
        serde_json::from_str(&read(&out.join("hunt_origins.json"))).unwrap();
    assert!(by
        .iter()
        .any(|r| r["origin"] == "arn:aws:iam::123837392027:user/bert-jan"
            && r["highest_level"] == "high"));
    let hits: Vec<serde_json::Value> = serde_json::from_str(&read(&out.join("hunt.json"))).unwrap();
    assert!(hits
        .iter()
        .all(|h| h["rule_author"].as_str().is_some_and(|a| !a.is_empty())));
    assert!(
        html.contains("Ivan Saakov"),
        "the rule authors are credited"
    );
    // Without rules: no Hunt tables, and the page says so.
    let bare = tmp.path().join("bare");
    report(&[testdata("real")], &bare, &["--no-rules"]);
    assert!(!bare.join("hunt.csv").exists() && !bare.join("hunt_origins.json").exists());
    assert!(read(&bare.join("report.html")).contains("Sigma rules were not run"));
    // Without --iam: no trust tables; the Trust section says how to get it.
    assert!(!out.join("trust.csv").exists());
    assert!(html.contains("No IAM configuration was given"));
    // Gaps between the datasets' days are reported.
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert!(summary["coverage"]["days_missing"].as_i64().unwrap() > 0);
    assert!(html.contains("day(s) without any event"));
    // The accounting of the input is on the page.
    let files_read = summary["files"]["read"].as_u64().unwrap();
    assert!(html.contains(&format!(
        "<td>Files read</td><td class=\"num\">{}</td>",
        files_read
    )));
}

const SCRIPT: &str = "<script>alert(1)</script>";
const FORMULA: &str = "=HYPERLINK(\"http://evil.example/x\",\"click me\")";

/// A small trail where the session name, the user agent, an error message and a request
/// parameter are attacker-controlled payloads. Returns the file.
pub fn write_payload_fixture(dir: &Path) -> PathBuf {
    let issued = "2024-05-01T10:00:00Z";
    let session_arn = format!("arn:aws:sts::111111111111:assumed-role/Evil/{SCRIPT}");
    let records = serde_json::json!({"Records": [
        {
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEPAYLOAD01",
                "arn": "arn:aws:iam::111111111111:user/mallory", "accountId": "111111111111",
                "accessKeyId": "AKIAEXAMPLEPAYLOAD01", "userName": "mallory"},
            "eventTime": issued, "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
            "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": FORMULA,
            "requestParameters": {"roleArn": "arn:aws:iam::111111111111:role/Evil",
                "roleSessionName": SCRIPT, "durationSeconds": 3600},
            "responseElements": {"credentials": {"accessKeyId": "ASIAEXAMPLEPAYLOAD01",
                    "sessionToken": "x", "expiration": "May 1, 2024, 11:00:00 AM"},
                "assumedRoleUser": {"assumedRoleId": format!("AROAEXAMPLEPAYLOAD01:{SCRIPT}"),
                    "arn": session_arn}},
            "eventID": "00000000-0000-4000-8000-000000000001", "readOnly": true,
            "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111111111111", "eventCategory": "Management"
        },
        {
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole",
                "principalId": format!("AROAEXAMPLEPAYLOAD01:{SCRIPT}"),
                "arn": session_arn, "accountId": "111111111111",
                "accessKeyId": "ASIAEXAMPLEPAYLOAD01",
                "sessionContext": {"sessionIssuer": {"type": "Role",
                        "principalId": "AROAEXAMPLEPAYLOAD01",
                        "arn": "arn:aws:iam::111111111111:role/Evil",
                        "accountId": "111111111111", "userName": "Evil"},
                    "attributes": {"creationDate": issued, "mfaAuthenticated": "false"}}},
            "eventTime": "2024-05-01T10:05:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": "DeleteBucket", "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.7", "userAgent": FORMULA,
            "errorCode": "AccessDenied", "errorMessage": format!("denied {SCRIPT} {FORMULA}"),
            "requestParameters": {"bucketName": SCRIPT},
            "eventID": "00000000-0000-4000-8000-000000000002", "readOnly": false,
            "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111111111111", "eventCategory": "Management"
        },
        {
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole",
                "principalId": format!("AROAEXAMPLEPAYLOAD01:{SCRIPT}"),
                "arn": session_arn, "accountId": "111111111111",
                "accessKeyId": "ASIAEXAMPLEPAYLOAD01",
                "sessionContext": {"sessionIssuer": {"type": "Role",
                        "principalId": "AROAEXAMPLEPAYLOAD01",
                        "arn": "arn:aws:iam::111111111111:role/Evil",
                        "accountId": "111111111111", "userName": "Evil"},
                    "attributes": {"creationDate": issued, "mfaAuthenticated": "false"}}},
            "eventTime": "2024-05-01T10:06:00Z", "eventSource": "iam.amazonaws.com",
            "eventName": "CreateUser", "awsRegion": SCRIPT,
            "sourceIPAddress": FORMULA, "userAgent": FORMULA,
            "requestParameters": {"userName": FORMULA},
            "eventID": "00000000-0000-4000-8000-000000000003", "readOnly": false,
            "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111111111111", "eventCategory": "Management"
        }
    ]});
    let p = dir.join("111111111111_CloudTrail_us-east-1_20240501T1010Z_payload.json");
    std::fs::write(&p, serde_json::to_vec_pretty(&records).unwrap()).unwrap();
    p
}

/// CSV fields, parsed (RFC 4180), to check what a spreadsheet would see in each cell.
pub fn csv_cells(text: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            ',' | '\n' => {
                cells.push(std::mem::take(&mut cur));
                at_start = true;
            }
            c => {
                cur.push(c);
                at_start = false;
            }
        }
    }
    if !cur.is_empty() {
        cells.push(cur);
    }
    cells
}

/// Would a spreadsheet evaluate this cell? (`-1` is a number, not a formula.)
pub fn is_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '@', '\t', '\r'])
        || (cell.starts_with('-') && cell.parse::<f64>().is_err())
}

#[test]
fn report_escapes_attacker_strings() {
    let tmp = tempfile::tempdir().unwrap();
    let input = write_payload_fixture(tmp.path());
    let out = tmp.path().join("rep");
    report(&[input], &out, &[]);
    assert_all_files(&out);
    let html = read(&out.join("report.html"));
    let md = read(&out.join("report.md"));
    assert_self_contained(&html);
    // The raw payloads never appear; their escaped forms do (so they were rendered).
    for (name, text) in [("report.html", &html), ("report.md", &md)] {
        assert!(
            !text.contains(SCRIPT),
            "{name} contains the raw <script> payload"
        );
        assert!(!text.contains("<script"), "{name} contains a <script tag");
        assert!(!text.contains(FORMULA), "{name} contains the raw formula");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("=HYPERLINK(&quot;http://evil.example/x&quot;"));
    // No Markdown table row is broken by the payloads: every row has as many cells as its
    // header.
    let mut expect: Option<usize> = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let cells = line.replace("\\|", "").matches('|').count();
            match expect {
                None => expect = Some(cells),
                Some(n) => assert_eq!(n, cells, "broken Markdown row: {line}"),
            }
        } else {
            expect = None;
        }
    }
    // CSV: no cell a spreadsheet would run as a formula; the payload is there, neutralised.
    let mut seen_formula = false;
    for f in REPORT_FILES.iter().filter(|f| f.ends_with(".csv")) {
        // (`<script>` is inert in CSV; what matters there is formula injection.)
        let text = read(&out.join(f));
        for cell in csv_cells(&text) {
            assert!(!is_formula(&cell), "{f}: formula cell {cell:?}");
            if cell == format!("'{FORMULA}") {
                seen_formula = true;
            }
        }
    }
    assert!(
        seen_formula,
        "the user agent payload is in the CSV tables, neutralised"
    );
    // JSON keeps the exact values (JSON-escaped).
    let tl: Vec<serde_json::Value> =
        serde_json::from_str(&read(&out.join("timeline.json"))).unwrap();
    assert!(tl.iter().any(|e| e["user_agent"] == FORMULA));
}

#[test]
fn report_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut inputs = all_scenario_inputs();
    inputs.push(write_payload_fixture(tmp.path()));
    report(&inputs, &a, &["-j", "1"]);
    report(&inputs, &b, &["-j", "2"]);
    for f in REPORT_FILES {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{f} differs between two runs");
    }
}

#[test]
fn report_without_sessions_or_events() {
    // One read-only call by an IAM user: no sessions, so no chains; the page still renders
    // every section and says what is missing.
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("one.json");
    std::fs::write(
        &p,
        r#"{"Records":[{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAONLYONE000000001","arn":"arn:aws:iam::111111111111:user/solo","accountId":"111111111111","accessKeyId":"AKIAONLYONE000000001","userName":"solo"},"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.1","userAgent":"aws-cli","eventID":"00000000-0000-4000-8000-0000000000aa","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111111111111"}]}"#,
    )
    .unwrap();
    let out = tmp.path().join("rep");
    report(&[p], &out, &[]);
    assert_all_files(&out);
    let html = read(&out.join("report.html"));
    assert!(html.contains("No sessions in the input"));
    assert!(html.contains("arn:aws:iam::111111111111:user/solo"));
    // The write-only-trail warning: no role assumption at all in the input.
    assert!(html.contains("no AssumeRole"));
    let findings: Vec<serde_json::Value> =
        serde_json::from_str(&read(&out.join("anomalies.json"))).unwrap();
    if findings.is_empty() {
        assert!(html.contains("No findings"));
        assert!(read(&out.join("report.md")).contains("No findings"));
    }
}

#[test]
fn report_renders_in_headless_chromium() {
    if !require_tool(
        "report_renders_in_headless_chromium",
        "chromium",
        "Debian: apt-get install -y chromium",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rep");
    report(&[testdata("real")], &out, &[]);
    let png = tmp.path().join("report.png");
    let o = std::process::Command::new(root().join("scripts/render-report.sh"))
        .arg(out.join("report.html"))
        .arg(&png)
        .output()
        .expect("run scripts/render-report.sh");
    assert!(
        o.status.success(),
        "render-report.sh failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(
        bytes.len() > 10_000,
        "screenshot too small: {} bytes",
        bytes.len()
    );
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    // The PNG is 1400 x 2000 (IHDR width and height).
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (1400, 2000));
}

/// With `--iam`, the Trust section puts each role's policy beside the observed assumptions,
/// marks unused trusts and unexplained assumptions, and writes `trust.csv|json` as `trust` does.
#[test]
fn report_with_iam_has_the_trust_section() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rep");
    let trail = testdata("trust/trail.json");
    let iam = testdata("trust/iam");
    report(
        std::slice::from_ref(&trail),
        &out,
        &["--no-rules", "--iam", iam.to_str().unwrap()],
    );
    let html = read(&out.join("report.html"));
    assert_self_contained(&html);
    assert!(html.contains(r#"<section id="trust">"#));
    assert!(html.contains("arn:aws:iam::111111111111:role/Changing"));
    assert!(html.contains("not explained by the policy"));
    assert!(html.contains("never observed"));
    // One picture per role (9 in the fixture): principals beside callers, marks on them.
    assert_eq!(html.matches(r#"<svg class="chains trust""#).count(), 9);
    let svg_of = |role: &str| -> &str {
        let at = html
            .find(&format!("role/{role}</span>"))
            .unwrap_or_else(|| panic!("no role {role}"));
        let a = at + html[at..].find("<svg").unwrap();
        &html[a..a + html[a..].find("</svg>").unwrap()]
    };
    // Unused: carol on Unused, dashed and labelled; bob, who used it, is not.
    let unused = svg_of("Unused");
    assert_eq!(unused.matches(r#"class="tedge unused""#).count(), 1);
    assert!(unused.contains(">never used<"));
    // Not explained: Changing's alice, allowed only by the earlier version, in the lane of no
    // principal of the latest policy, with a red edge and its verdicts.
    let changing = svg_of("Changing");
    assert!(changing.contains(">not in the latest policy<"));
    assert!(changing.contains(">⚠ not explained<"));
    assert!(
        changing.contains(r#"<text class="elabel v-deny""#)
            && changing.contains(">allow 1, deny 1<")
    );
    // Unknown (the partner account's identity policy is not given): amber; broad: flagged.
    assert!(svg_of("Partner").contains(r#"class="oedge v-unknown""#));
    assert!(svg_of("OpenRole").contains(">⚠ broad<"));
    // Deploy: every caller allowed, each in the lane of its principal, origins drawn.
    let deploy = svg_of("Deploy");
    assert_eq!(deploy.matches(r#"class="oedge v-allow""#).count(), 4);
    assert!(deploy.contains(">ASIAEXAMPLEBUILD42<"));
    assert!(!deploy.contains("never used") && !deploy.contains("not explained"));
    let md = read(&out.join("report.md"));
    assert!(md.contains("## 5. Trust"));
    assert!(md.contains("**broad_trust**"));
    // The compact text form of the picture.
    assert!(md.contains("- trusted **AWS arn:aws:iam::111111111111:user/carol** [never used]"));
    assert!(md.contains(
        "  - assumed by arn:aws:iam::111111111111:user/alice — 2 assumptions · \
         2024-05-01T11:05:00Z .. 2024-05-01T11:15:00Z [⚠ not explained, allow 1, deny 1]"
    ));
    assert!(md.contains("    - origin unknown:ASIAEXAMPLEBUILD42\n"));
    // The table is `trust`'s.
    let o = run([
        "trust",
        "-q",
        trail.to_str().unwrap(),
        "--iam",
        iam.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(
        read(&out.join("trust.csv")),
        String::from_utf8(o.stdout).unwrap()
    );
}

/// The Trust pictures on real logs with the shared IAM samples: roles capped at 60 (the rest
/// named in a note), roles the logs created drawn with their policy, roles without a known
/// policy drawn with the placeholder.
#[test]
fn report_trust_pictures_on_real_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rep");
    report(
        &[testdata("real")],
        &out,
        &["--no-rules", "--iam", testdata("iam").to_str().unwrap()],
    );
    let html = read(&out.join("report.html"));
    assert_self_contained(&html);
    let roles: std::collections::BTreeSet<String> = read(&out.join("trust.csv"))
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert!(roles.len() > 60, "{} roles", roles.len());
    assert_eq!(html.matches(r#"<svg class="chains trust""#).count(), 60);
    assert!(html.contains(&format!(
        "{} more role(s) in <code>trust.csv</code>",
        roles.len() - 60
    )));
    // Roles with findings come first; the sample's privilege-escalation role is drawn with its
    // ten trusted principals, none ever used.
    let first = html.find(r#"<svg class="chains trust""#).unwrap();
    let head = &html[html[..first].rfind(r#"<div class="finding"#).unwrap()..first];
    assert!(head.starts_with(r#"<div class="finding">"#) && head.contains("c-anomaly"));
    let at = html
        .find("role/privesc-high-priv-service-role</span>")
        .expect("the privesc role is drawn");
    let a = at + html[at..].find("<svg").unwrap();
    let svg = &html[a..a + html[a..].find("</svg>").unwrap()];
    assert_eq!(svg.matches(">never used<").count(), 10);
    // Roles without a known policy (the logs' service roles) are after the 60 shown; the
    // Markdown lists every role.
    let md = read(&out.join("report.md"));
    assert_eq!(md.matches("\n### arn:").count(), roles.len());
    assert!(md.contains(
        "- *no trust policy known*\n  - assumed by config.amazonaws.com — 98 assumptions"
    ));
}

/// A trust policy is configuration, or comes from CreateRole events in the logs: its principal
/// and condition strings are escaped in the picture like any log string.
#[test]
fn report_trust_picture_escapes_hostile_principals() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = write_payload_fixture(tmp.path());
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": [
            format!("arn:aws:iam::111111111111:user/{SCRIPT}"),
            format!("arn:aws:sts::111111111111:assumed-role/Evil/{SCRIPT}"),
            "arn:aws:iam::111111111111:user/mallory"]},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {format!("aws:RequestTag/{SCRIPT}"): FORMULA}}}]});
    let iam = tmp.path().join("get-role.json");
    std::fs::write(
        &iam,
        serde_json::to_vec(&serde_json::json!({"Role": {
            "Arn": "arn:aws:iam::111111111111:role/Evil", "RoleName": "Evil", "Path": "/",
            "RoleId": "AROAEXAMPLEPAYLOAD01", "CreateDate": "2024-01-01T00:00:00Z",
            "AssumeRolePolicyDocument": policy}}))
        .unwrap(),
    )
    .unwrap();
    let out = tmp.path().join("rep");
    report(
        &[trail],
        &out,
        &["--no-rules", "--iam", iam.to_str().unwrap()],
    );
    let html = read(&out.join("report.html"));
    let md = read(&out.join("report.md"));
    assert_self_contained(&html);
    for (name, text) in [("report.html", &html), ("report.md", &md)] {
        assert!(!text.contains(SCRIPT), "{name} contains the raw payload");
        assert!(!text.contains("<script"), "{name} contains a <script tag");
    }
    let at = html
        .find(r#"<svg class="chains trust""#)
        .expect("a trust picture");
    let svg = &html[at..at + html[at..].find("</svg>").unwrap()];
    // In the tooltips in full, escaped; the boxes show them shortened.
    assert!(svg.contains("arn:aws:iam::111111111111:user/&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(svg.contains("assumed-role/Evil/&lt;script&gt;"));
    assert!(svg.contains("aws:RequestTag/&lt;script&gt;"));
    // mallory's call is allowed by her own principal: the other two are never used.
    assert_eq!(svg.matches(">never used<").count(), 2);
    assert!(
        md.contains("**AWS arn:aws:iam::111111111111:user/&lt;script&gt;alert(1)&lt;/script&gt;**")
    );
}

/// With --iam the pictures are the same bytes whatever the thread count.
#[test]
fn report_with_iam_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let inputs = [testdata("trust/trail.json"), testdata("real")];
    let iam = [testdata("trust/iam"), testdata("iam")];
    let args = |j: &'static str| -> Vec<String> {
        let mut v: Vec<String> = vec!["--no-rules".into(), "-j".into(), j.into(), "--iam".into()];
        v.extend(iam.iter().map(|p| p.to_str().unwrap().to_string()));
        v
    };
    let (x, y) = (args("1"), args("2"));
    report(
        &inputs,
        &a,
        &x.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    report(
        &inputs,
        &b,
        &y.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for f in ["report.html", "report.md", "trust.csv"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs between -j 1 and -j 2"
        );
    }
    assert!(read(&a.join("report.html")).contains(r#"<svg class="chains trust""#));
}
