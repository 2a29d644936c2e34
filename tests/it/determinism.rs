//! Output is a pure function of the input bytes and flags: the same for any thread count and
//! any file creation order.

use crate::util::{copy_tree, run, run_ok, stdout_of, testdata};

fn outputs(input: &str, threads: &str) -> Vec<String> {
    let mut v = Vec::new();
    for (cmd, fmt) in [
        ("attribute", "csv"),
        ("attribute", "ndjson"),
        ("sessions", "csv"),
        ("chains", "json"),
        ("summary", "json"),
    ] {
        v.push(run_ok(
            [cmd, "-q", "-j", threads, "--format", fmt, input],
            0,
        ));
    }
    v
}

#[test]
fn same_output_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    // Real logs and scenarios together, so cross-file linking is exercised.
    copy_tree(
        &testdata("real/stratus-red-team-detonation-logs"),
        &dir.path().join("a"),
    );
    copy_tree(&testdata("scenarios"), &dir.path().join("b"));
    for f in ["LICENSE", "NOTICE", "README.md"] {
        let _ = std::fs::remove_file(dir.path().join("a").join(f));
    }
    for e in std::fs::read_dir(dir.path().join("b")).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            let _ = std::fs::remove_file(p.join("expected.json"));
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }
    let input = dir.path().to_str().unwrap();
    let one = outputs(input, "1");
    let four = outputs(input, "4");
    assert_eq!(one, four);
}

#[test]
fn same_output_any_creation_order() {
    // Copy the same files in opposite orders: directory listing order differs, output must not.
    let src = testdata("real/invictus-aws-dataset");
    let mut names: Vec<_> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for n in &names {
        std::fs::copy(src.join(n), a.path().join(n)).unwrap();
    }
    for n in names.iter().rev() {
        std::fs::copy(src.join(n), b.path().join(n)).unwrap();
    }
    let oa = run_ok(
        [
            "attribute",
            "-q",
            "--format",
            "csv",
            a.path().to_str().unwrap(),
        ],
        0,
    );
    let ob = run_ok(
        [
            "attribute",
            "-q",
            "--format",
            "csv",
            b.path().to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(oa, ob);
}

/// Ingest streams files through chunks of `--row-group-rows` rows (one Parquet row group
/// each): the chunking must not show in any answer, from raw logs or from a case store, for
/// any thread count — including chunks that end inside a file and files with duplicates.
#[test]
fn same_output_any_chunking() {
    let dir = tempfile::tempdir().unwrap();
    let real = testdata("real");
    let dup_a = testdata("hazards/duplicate_delivery_a.json");
    let dup_b = testdata("hazards/duplicate_delivery_b.json");
    let inputs = [
        real.to_str().unwrap(),
        dup_a.to_str().unwrap(),
        dup_b.to_str().unwrap(),
    ];
    let attribute = |extra: &[&str], inputs: &[&str]| {
        let mut args = vec!["attribute", "-q", "--format", "csv"];
        args.extend_from_slice(extra);
        args.extend_from_slice(inputs);
        run_ok(args, 0)
    };
    let reference = attribute(&[], &inputs);
    assert!(reference.lines().count() > 3000, "{}", reference.len());
    for (rows, threads) in [("1", "1"), ("7", "4"), ("500", "2")] {
        let flags = ["--row-group-rows", rows, "-j", threads];
        assert_eq!(
            attribute(&flags, &inputs),
            reference,
            "raw, {rows} rows, -j{threads}"
        );
        let case = dir.path().join(format!("case-{rows}"));
        let case_s = case.to_str().unwrap();
        let mut args = vec!["ingest", "-q", "-o", case_s];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&inputs);
        run_ok(args, 0);
        // A one-part case streams (a slice per row group, runs of 4 × rows, merged).
        assert_eq!(
            attribute(&flags, &[case_s]),
            reference,
            "case, {rows} rows, -j{threads}"
        );
        // The aligned table too (built after the merge, a batch of `rows` rows at a time; the
        // widths from the first 1,000).
        let table = |extra: &[&str], inputs: &[&str]| {
            let mut args = vec!["attribute", "-q", "--format", "table"];
            args.extend_from_slice(extra);
            args.extend_from_slice(inputs);
            run_ok(args, 0)
        };
        assert_eq!(
            table(&flags, &[case_s]),
            table(&[], &inputs),
            "table, {rows} rows"
        );
        let summary = |i: &[&str]| {
            let mut args = vec!["summary", "-q", "--format", "json"];
            args.extend_from_slice(i);
            run_ok(args, 0)
        };
        assert_eq!(summary(&[case_s]), summary(&inputs), "summary, {rows} rows");
    }
}

/// `attribute` on a one-part case streams through it a slice at a time and merges sorted runs;
/// on logs it holds everything (below --in-memory-limit; above, it streams a scratch case).
/// All must write the same bytes, in every streamed format, also
/// when the rows attribution consults across the input (the caller copy of a cross-account
/// call, the Identity Center portal calls) sit in other slices: one-row slices here.
#[test]
fn streamed_attribution_equals_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<String> = crate::util::all_scenario_inputs()
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    for format in ["csv", "json", "ndjson", "table"] {
        let mut args = vec!["attribute", "-q", "--format", format];
        args.extend(inputs.iter().map(|s| s.as_str()));
        let in_memory = run_ok(args, 0);
        assert!(
            in_memory.contains("account:"),
            "a role-account copy is attributed"
        );
        assert!(
            in_memory.contains("saml:"),
            "SAML and Identity Center origins"
        );
        // The case is read a row group at a time; runs hold 4 × --row-group-rows rows.
        for rows in ["1", "3", "65536"] {
            let case = dir.path().join(format!("case-{format}-{rows}"));
            let case_s = case.to_str().unwrap();
            let mut args = vec!["ingest", "-q", "--row-group-rows", rows, "-o", case_s];
            args.extend(inputs.iter().map(|s| s.as_str()));
            run_ok(args, 0);
            let streamed = run_ok(
                [
                    "attribute",
                    "-q",
                    "--row-group-rows",
                    rows,
                    "--format",
                    format,
                    case_s,
                ],
                0,
            );
            assert_eq!(streamed, in_memory, "{format}, row groups of {rows} rows");
        }
        // A case of two parts (a second ingest adds the other files): the parts interleave in
        // file order, and the merge puts rows back in canonical order.
        let case = dir.path().join(format!("case-{format}-parts"));
        let case_s = case.to_str().unwrap();
        let odd: Vec<&str> = inputs
            .iter()
            .skip(1)
            .step_by(2)
            .map(|s| s.as_str())
            .collect();
        for batch in [odd, inputs.iter().map(|s| s.as_str()).collect()] {
            let mut args = vec!["ingest", "-q", "--row-group-rows", "2", "-o", case_s];
            args.extend(batch);
            run_ok(args, 0);
        }
        let runs = std::fs::read_dir(case.join("manifests")).unwrap().count();
        assert_eq!(runs, 2, "two runs");
        let streamed = run_ok(["attribute", "-q", "--format", format, case_s], 0);
        assert_eq!(streamed, in_memory, "{format}, a case of two parts");
        // Log files over --in-memory-limit go through a scratch case in TMPDIR (removed after).
        let tmp = tempfile::tempdir().unwrap();
        let mut args = vec![
            "attribute",
            "-q",
            "--in-memory-limit",
            "0",
            "--row-group-rows",
            "2",
        ];
        args.extend(["--format", format]);
        args.extend(inputs.iter().map(|s| s.as_str()));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailgraph"))
            .args(&args)
            .env("TMPDIR", tmp.path())
            .output()
            .unwrap();
        assert_eq!(
            stdout_of(out, 0),
            in_memory,
            "{format}, logs via a scratch case"
        );
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }
    // Parquet output streams as well: the same frame, whatever the row groups.
    let read = |p: &std::path::Path| {
        use polars::prelude::*;
        ParquetReader::new(std::fs::File::open(p).unwrap())
            .finish()
            .unwrap()
    };
    let mut args = vec!["attribute", "-q", "--format", "parquet", "-o"];
    let mem = dir.path().join("in-memory.parquet");
    args.push(mem.to_str().unwrap());
    args.extend(inputs.iter().map(|s| s.as_str()));
    run_ok(args, 0);
    let in_memory = read(&mem);
    assert!(in_memory.height() > 100, "{}", in_memory.height());
    let case = dir.path().join("case-csv-1");
    let out = dir.path().join("streamed.parquet");
    run_ok(
        [
            "attribute",
            "-q",
            "--row-group-rows",
            "1",
            "--format",
            "parquet",
            "-o",
            out.to_str().unwrap(),
            case.to_str().unwrap(),
        ],
        0,
    );
    let streamed = read(&out);
    assert_eq!(streamed.schema(), in_memory.schema());
    assert!(
        streamed.equals_missing(&in_memory),
        "{streamed}\n{in_memory}"
    );
    // An empty case streams too.
    let empty = dir.path().join("empty");
    let e = testdata("hazards/empty.json");
    run([
        "ingest",
        "-q",
        "-o",
        empty.to_str().unwrap(),
        e.to_str().unwrap(),
    ]);
    for (format, expected) in [("csv", 1), ("json", 1), ("ndjson", 0)] {
        let out = run([
            "attribute",
            "-q",
            "--format",
            format,
            empty.to_str().unwrap(),
        ]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.lines().count(), expected, "{format}: {text:?}");
    }
    let p = dir.path().join("empty.parquet");
    let (p_s, e_s) = (p.to_str().unwrap(), empty.to_str().unwrap());
    // (exit 1: the empty file is an input problem)
    let parquet = ["attribute", "-q", "--format", "parquet", "-o", p_s, e_s];
    run_ok(parquet, 1);
    let df = read(&p);
    assert_eq!((df.height(), df.schema()), (0, in_memory.schema()));
    // A case whose events files are gone (its manifest names them) is a one-line error naming
    // a missing file, not a case without events.
    let gone = dir.path().join("case-csv-3");
    std::fs::remove_dir_all(gone.join("events")).unwrap();
    let out = run(["attribute", "-q", "--format", "csv", gone.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines().count() == 1 && err.contains("events/account=") && err.contains("cannot open"),
        "{err}"
    );
}
