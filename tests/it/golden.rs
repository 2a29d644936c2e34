//! Golden files: what users see, byte for byte. The stdout of `who`, `trace`, `summary` and
//! `graph`, and the `report.md` written by `report`, over the bundled real logs
//! (testdata/real) and two scenarios: chain_depth_5 (alice through five roles) and
//! cross_account_both_copies (a cross-account AssumeRole with the caller's and the role
//! account's copy of every call).
//!
//! tests/golden/<area>/<input>-<what>.<ext> holds the expected output of each case in
//! `cases()`. After a deliberate change (wording, layout, attribution), regenerate them and
//! review the diff:
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test --test it golden::
//! git diff tests/golden/
//! ```
//!
//! Determinism: every output is made twice, with `-j 1` and `-j 2`, and the two must be
//! identical before they are compared with the golden file (the CLI promises that output does
//! not depend on the thread count).
//!
//! Paths: inputs are given relative to the repository root, where `util::run` starts the CLI.
//! `who` prints its evidence as `<input path>#<record>` and report.md lists its inputs as given,
//! so absolute paths would tie the golden files to the checkout's location. Nothing else in these
//! outputs depends on where or when they are made (see `report_md`).

use crate::util::{root, run, scenario_inputs, testdata};
use std::path::PathBuf;

/// The bundled real logs, as in the README's examples. Their README/LICENSE/NOTICE files are
/// read and skipped as `not_a_log` (not a problem: exit 0), but they are counted: an edit of
/// testdata/real/README.md changes the byte counts in summary/real.json.
const REAL: &str = "testdata/real";

/// The input files of testdata/scenarios/`name`, relative to the repository root, sorted;
/// expected.json and notes are left out (they are not logs).
fn scenario(name: &str) -> Vec<String> {
    scenario_inputs(&testdata(&format!("scenarios/{name}")))
        .iter()
        .map(|p| {
            p.strip_prefix(root())
                .expect("scenario inside the repository")
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// How a case's output is made.
enum Make {
    /// The stdout of `trailgraph SUBCOMMAND ARGS...`.
    Stdout(Vec<String>),
    /// report.md of `trailgraph report INPUTS... -o DIR`.
    ReportMd(Vec<String>),
}

struct Case {
    /// The golden file, relative to tests/golden/; its first component is the area.
    golden: String,
    make: Make,
}

/// `sub INPUTS... EXTRA...` as an argument list.
fn cmd(sub: &str, inputs: &[String], extra: &[&str]) -> Vec<String> {
    let mut v = vec![sub.to_string()];
    v.extend(inputs.iter().cloned());
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// The inputs: the short name used in golden file names, and the input paths.
fn inputs() -> [(&'static str, Vec<String>); 3] {
    [
        ("real", vec![REAL.to_string()]),
        ("chain_depth_5", scenario("chain_depth_5")),
        (
            "cross_account_both_copies",
            scenario("cross_account_both_copies"),
        ),
    ]
}

/// Every golden case. The ids come from the data:
/// - real: a GetCallerIdentity with a stolen EC2 instance key (README example, origin
///   `unknown:`), a key and a session ARN that bert-jan assumed (the session name is shared by
///   two sessions issued at the same second, so `who` shows both), and christophe's blast
///   radius in 321848314756 (the whole of bert-jan's is 250 KB of text, 1.1 MB of JSON);
/// - chain_depth_5: the depth-5 event, the Hop5 key and session ARN, alice;
/// - cross_account_both_copies: RunInstances in the role account, the session's key and ARN,
///   John.
///
/// The real graph is bert-jan's part (`--origin`): the whole graph is 225 KB of DOT and 340 KB
/// of GraphML, too much to review.
fn cases() -> Vec<Case> {
    let who_ids: [(&str, [&str; 3]); 3] = [
        (
            "real",
            [
                "b379479b-05c9-4c3c-af4b-cbd43acf29e1",
                "ASIATFQR7NSC2632JLFK",
                "arn:aws:sts::123837392027:assumed-role/stratus-red-team-get-usr-data-role/aws-go-sdk-1688990565286187801",
            ],
        ),
        (
            "chain_depth_5",
            [
                "c54d999f-3d2d-4ced-bc95-264ec4185e17",
                "ASIARTXV5AHD3C7ARSXO",
                "arn:aws:sts::111111111111:assumed-role/Hop5/alice-hop5",
            ],
        ),
        (
            "cross_account_both_copies",
            [
                "6fd29841-be97-44ca-9074-bda542e4459d",
                "ASIARTX3GSDSSZNINU4H",
                "arn:aws:sts::111122223333:assumed-role/EC2-dev/John-EC2-dev",
            ],
        ),
    ];
    let trace_targets = [
        (
            "real",
            "christophe",
            "arn:aws:iam::321848314756:user/christophe",
        ),
        (
            "chain_depth_5",
            "alice",
            "arn:aws:iam::111111111111:user/alice",
        ),
        (
            "cross_account_both_copies",
            "john",
            "arn:aws:iam::777788889999:user/John",
        ),
    ];
    let graph_filters: [(&str, &str, &[&str]); 3] = [
        (
            "real",
            "real-bert-jan",
            &["--origin", "arn:aws:iam::123837392027:user/bert-jan"],
        ),
        ("chain_depth_5", "chain_depth_5", &[]),
        (
            "cross_account_both_copies",
            "cross_account_both_copies",
            &[],
        ),
    ];
    let input = |name: &str| -> Vec<String> {
        inputs()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .unwrap()
    };
    let mut v = Vec::new();
    for (name, ids) in who_ids {
        for (what, id) in ["event", "key", "session-arn"].into_iter().zip(ids) {
            for (ext, fmt) in [("txt", "table"), ("json", "json")] {
                v.push(Case {
                    golden: format!("who/{name}-{what}.{ext}"),
                    make: Make::Stdout(cmd("who", &input(name), &[id, "--format", fmt])),
                });
            }
        }
    }
    for (name, who, target) in trace_targets {
        for (ext, fmt) in [("txt", "table"), ("json", "json")] {
            v.push(Case {
                golden: format!("trace/{name}-{who}.{ext}"),
                make: Make::Stdout(cmd("trace", &input(name), &[target, "--format", fmt])),
            });
        }
    }
    for (name, files) in inputs() {
        for (ext, fmt) in [("txt", "table"), ("json", "json")] {
            v.push(Case {
                golden: format!("summary/{name}.{ext}"),
                make: Make::Stdout(cmd("summary", &files, &["--format", fmt])),
            });
        }
    }
    for (name, stem, filter) in graph_filters {
        for fmt in ["dot", "graphml"] {
            let mut extra = filter.to_vec();
            extra.extend(["--format", fmt]);
            v.push(Case {
                golden: format!("graph/{stem}.{fmt}"),
                make: Make::Stdout(cmd("graph", &input(name), &extra)),
            });
        }
    }
    // whatif on the trust fixtures: every reading of the flags in one run (MFA with both
    // readings, an address range, business hours in a named time zone), a service denied, a
    // failed call listed.
    let whatif = [
        "whatif",
        "testdata/trust/trail.json",
        "--iam",
        "testdata/trust/iam",
        "--role",
        "Deploy",
        "--require-mfa",
        "--source-ip",
        "203.0.113.0/24",
        "--hours",
        "Mon-Fri 08:00-18:00",
        "--timezone",
        "Europe/Berlin",
    ];
    for (ext, fmt) in [("txt", "table"), ("json", "json")] {
        let mut args: Vec<String> = whatif.iter().map(|s| s.to_string()).collect();
        args.extend(["--format".to_string(), fmt.to_string()]);
        v.push(Case {
            golden: format!("whatif/deploy.{ext}"),
            make: Make::Stdout(args),
        });
    }
    for (name, files) in inputs() {
        v.push(Case {
            golden: format!("report/{name}.md"),
            make: Make::ReportMd(files),
        });
    }
    v
}

fn golden_root() -> PathBuf {
    root().join("tests/golden")
}

/// `args` with `-q -j THREADS` after the subcommand.
fn with_threads(args: &[String], threads: &str) -> Vec<String> {
    let mut v = vec![args[0].clone(), "-q".into(), "-j".into(), threads.into()];
    v.extend(args[1..].iter().cloned());
    v
}

/// Runs `args` with `-j threads`; returns stdout, asserting exit 0.
fn stdout(args: &[String], threads: &str) -> Vec<u8> {
    let args = with_threads(args, threads);
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "trailgraph {}: exit code; stderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// report.md of `report INPUTS -o <temp dir> -j threads`, asserting exit 0. report.md holds no
/// time of day and no output path (the report is documented to be byte-identical across runs),
/// so nothing is normalised; the output directory is a fresh temporary one on every run, and is
/// checked to be absent, so a change that prints it fails here with this message and not as a
/// puzzling golden diff.
fn report_md(inputs: &[String], threads: &str) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("report");
    let mut args = vec!["report".to_string()];
    args.extend(inputs.iter().cloned());
    args.extend(["-o".to_string(), dir.to_str().unwrap().to_string()]);
    stdout(&args, threads);
    let md = std::fs::read(dir.join("report.md")).expect("report.md written");
    let text = String::from_utf8_lossy(&md);
    assert!(
        !text.contains(tmp.path().to_str().unwrap()),
        "report.md names its temporary output directory {}",
        tmp.path().display()
    );
    md
}

fn make(m: &Make, threads: &str) -> Vec<u8> {
    match m {
        Make::Stdout(args) => stdout(args, threads),
        Make::ReportMd(inputs) => report_md(inputs, threads),
    }
}

/// Where `got` and `want` first differ, for the failure message.
fn first_difference(got: &[u8], want: &[u8]) -> String {
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let line = got[..at].iter().filter(|&&b| b == b'\n').count();
    let text = |b: &[u8]| -> String {
        String::from_utf8_lossy(b)
            .split_inclusive('\n')
            .nth(line)
            .unwrap_or("<end of output>")
            .to_string()
    };
    format!(
        "first difference at byte {at}, line {} ({} bytes, golden {}):\n    got:  {:?}\n    want: {:?}",
        line + 1,
        got.len(),
        want.len(),
        text(got),
        text(want)
    )
}

/// Makes every case of `area` (twice, with 1 and 2 threads) and compares it with its golden
/// file, or rewrites the golden file under UPDATE_GOLDEN.
fn check_area(area: &str) {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.golden.split('/').next() == Some(area))
        .collect();
    assert!(!cases.is_empty(), "no golden case for {area}");
    let mut failed = Vec::new();
    for case in &cases {
        let one = make(&case.make, "1");
        let two = make(&case.make, "2");
        if one != two {
            failed.push(format!(
                "{}: not deterministic, -j 1 and -j 2 differ: {}",
                case.golden,
                first_difference(&two, &one)
            ));
            continue;
        }
        let path = golden_root().join(&case.golden);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &one).unwrap();
            continue;
        }
        match std::fs::read(&path) {
            Err(e) => failed.push(format!("{}: {e}", path.display())),
            Ok(want) if want == one => {}
            Ok(want) => failed.push(format!(
                "{}: {}",
                case.golden,
                first_difference(&one, &want)
            )),
        }
    }
    assert!(
        failed.is_empty(),
        "golden mismatch (if the change is deliberate: UPDATE_GOLDEN=1 cargo test --test it golden::, then review git diff tests/golden/):\n{}",
        failed.join("\n")
    );
}

#[test]
fn who() {
    check_area("who");
}

/// The timeline is pinned as printed today: in input order (file, then record), which is not
/// time order (the Stratus files are newest first, and the cross-account scenario lists the role
/// account's file first).
#[test]
fn trace() {
    check_area("trace");
}

#[test]
fn summary() {
    check_area("summary");
}

#[test]
fn graph() {
    check_area("graph");
}

#[test]
fn report() {
    check_area("report");
}

#[test]
fn whatif() {
    check_area("whatif");
}

/// Every file in the areas' directories belongs to a case (no stale golden file after a case
/// is renamed or dropped).
#[test]
fn no_stale_golden_files() {
    let cases: Vec<String> = cases().into_iter().map(|c| c.golden).collect();
    let areas: std::collections::BTreeSet<&str> =
        cases.iter().filter_map(|g| g.split('/').next()).collect();
    let mut stale = Vec::new();
    for area in areas {
        for e in std::fs::read_dir(golden_root().join(area)).unwrap() {
            let rel = format!("{area}/{}", e.unwrap().file_name().to_string_lossy());
            if !cases.contains(&rel) {
                stale.push(rel);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "golden files without a case in tests/it/golden.rs (delete them): {stale:?}"
    );
}
