//! The house rules of ARCHITECTURE.md that the compiler does not check: the crates form a
//! pipeline whose imports only go down it, no module imports back into a module that imports it,
//! and a few dependencies stay in the one place that owns them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::{files_below, root};

/// The workspace's crates in pipeline order; a crate may depend only on crates before it.
const PIPELINE: &[(&str, &str)] = &[
    ("trailgraph-log", "crates/log"),
    // S3 for INPUT and cases: installed by the binary as trailgraph-log's remote handler.
    ("trailgraph-s3", "crates/s3"),
    ("trailgraph-store", "crates/store"),
    ("trailgraph-graph", "crates/graph"),
    ("trailgraph-analysis", "crates/analysis"),
    ("trailgraph-output", "crates/output"),
    ("trailgraph", "."),
];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_below(dir, |p| p.extension().is_some_and(|x| x == "rs"))
}

/// The source with `#[cfg(test)] mod … { … }` blocks removed (tests may import anything).
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let brace = after.find('{');
        let semi = after.find(';');
        match (brace, semi) {
            (Some(b), Some(s)) if s < b => {
                // `#[cfg(test)] mod tests;`: the file itself is skipped by name below.
                rest = &after[s + 1..];
            }
            (Some(b), _) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (j, c) in after[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + j + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &after[end..];
            }
            _ => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The top-level module of `file` within `src` (`a.rs` and `a/**` are module `a`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let m = first.trim_end_matches(".rs").to_string();
    (!matches!(m.as_str(), "main" | "lib" | "tests")).then_some(m)
}

/// Module → the modules of the same crate it names as `crate::m` (non-test code).
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let files = rust_files(src);
    for f in &files {
        if let Some(m) = module_of(src, f) {
            g.entry(m).or_default();
        }
    }
    let modules: BTreeSet<String> = g.keys().cloned().collect();
    for f in &files {
        let Some(m) = module_of(src, f) else { continue };
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = without_tests(&std::fs::read_to_string(f).unwrap());
        let mut deps = BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                deps.insert(name);
            }
            // `crate::{a, b::c}`
            if text[i + 7..].starts_with('{') {
                let group = &text[i + 8..i + 8 + text[i + 8..].find('}').unwrap_or(0)];
                for part in group.split(',') {
                    let name: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    deps.insert(name);
                }
            }
        }
        let entry = g.get_mut(&m).unwrap();
        entry.extend(deps.into_iter().filter(|d| d != &m && modules.contains(d)));
    }
    g
}

/// The modules on a cycle of `g` (each strongly connected component of more than one module).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Reachability by repeated search: the graphs have a dozen nodes.
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for d in &g[&n] {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> = g.keys().map(|m| (m, reach(m))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for m in g.keys() {
        let comp: Vec<String> = g
            .keys()
            .filter(|o| *o == m || (reaches[m].contains(*o) && reaches[*o].contains(m)))
            .cloned()
            .collect();
        if comp.len() > 1 && !out.contains(&comp) {
            out.push(comp);
        }
    }
    out
}

#[test]
fn no_import_cycle_between_modules() {
    let mut found = Vec::new();
    for (name, dir) in PIPELINE {
        let src = root().join(dir).join("src");
        for c in cycles(&module_graph(&src)) {
            found.push(format!("{name}: {}", c.join(" <-> ")));
        }
    }
    assert!(found.is_empty(), "import cycles: {found:#?}");
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::b::X;\n").unwrap();
    std::fs::create_dir(dir.path().join("b")).unwrap();
    std::fs::write(
        dir.path().join("b/mod.rs"),
        "use crate::{c, a::Y};\n#[cfg(test)]\nmod t { use crate::d; }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("c.rs"), "").unwrap();
    std::fs::write(dir.path().join("d.rs"), "use crate::a;\n").unwrap();
    let g = module_graph(dir.path());
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".to_string()]]);
    assert!(!g["b"].contains("d"), "test modules do not count");
}

/// The trailgraph crates a crate's Cargo.toml depends on (normal dependencies).
fn workspace_deps(dir: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(dir).join("Cargo.toml")).unwrap();
    let section = text
        .split("\n[dependencies]\n")
        .nth(1)
        .map(|s| s.split("\n[").next().unwrap_or(""))
        .unwrap_or("");
    section
        .lines()
        .filter_map(|l| l.split(['.', ' ', '=']).next())
        .filter(|n| n.starts_with("trailgraph-"))
        .map(String::from)
        .collect()
}

#[test]
fn crates_depend_only_down_the_pipeline() {
    for (i, (name, dir)) in PIPELINE.iter().enumerate() {
        let earlier: Vec<&str> = PIPELINE[..i].iter().map(|(n, _)| *n).collect();
        for d in workspace_deps(dir) {
            assert!(
                earlier.contains(&d.as_str()),
                "{name} depends on {d}, which is not before it in the pipeline {earlier:?}"
            );
        }
    }
}

/// The files under `dirs` whose non-test code contains `needle`, relative to the root.
fn files_containing(dirs: &[&str], needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for d in dirs {
        for f in rust_files(&root().join(d)) {
            if f.file_name().is_some_and(|n| n == "tests.rs") {
                continue; // a `#[cfg(test)] mod tests;` file
            }
            let text = without_tests(&std::fs::read_to_string(&f).unwrap());
            if text.contains(needle) {
                let rel = f.strip_prefix(root()).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

#[test]
fn dependencies_stay_where_they_belong() {
    let all = ["src", "crates"];
    // Every unsafe block and every use of the pinned polars internals in one module.
    for needle in [
        "unsafe ",
        "polars_arrow::",
        "polars_parquet::",
        "polars_buffer::",
    ] {
        assert_eq!(
            files_containing(&all, needle),
            ["crates/store/src/pinned.rs"],
            "{needle}"
        );
    }
    assert_eq!(
        files_containing(&all, "petgraph::"),
        ["crates/graph/src/graph.rs"]
    );
    assert_eq!(files_containing(&all, "clap::"), ["src/cli.rs"]);
    // The log-reading crate builds without polars, clap or petgraph.
    let log = std::fs::read_to_string(root().join("crates/log/Cargo.toml")).unwrap();
    for dep in ["polars", "clap", "petgraph"] {
        assert!(
            !log.contains(&format!("\n{dep}")),
            "trailgraph-log depends on {dep}"
        );
    }
}

/// The (file, line) of every match of `find` in the non-test code under `dirs`, except in
/// the files listed in `owners`.
fn literal_uses(dirs: &[&str], owners: &[&str], find: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for d in dirs {
        for f in rust_files(&root().join(d)) {
            let rel = f
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if f.file_name().is_some_and(|n| n == "tests.rs") || owners.contains(&rel.as_str()) {
                continue;
            }
            let text = without_tests(&std::fs::read_to_string(&f).unwrap());
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if find(code) {
                    out.push(format!("{rel}:{} {}", n + 1, line.trim()));
                }
            }
        }
    }
    out
}

/// `code` has `open` followed by a quoted lower-case identifier (`.s("event_id")`).
fn quoted_name_after(code: &str, open: &str) -> bool {
    code.match_indices(open).any(|(i, _)| {
        let rest = &code[i + open.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        !name.is_empty() && rest[name.len()..].starts_with('"')
    })
}

#[test]
fn columns_are_named_by_their_constants() {
    // A column is looked up through the constant its schema declares (`table::event::event_id`,
    // `attribute::attributed::origin`, `answer::session_columns::…`), never by a literal.
    let lookups = [
        ".s(\"",
        ".t(\"",
        ".u(\"",
        ".b(\"",
        ".i(\"",
        ".column(\"",
        "col(\"",
        "get(\"",
        "row_str(ev, \"",
    ];
    let found = literal_uses(&["src", "crates"], &[], |code| {
        lookups.iter().any(|o| quoted_name_after(code, o))
    });
    assert!(
        found.is_empty(),
        "columns named by literal:\n{}",
        found.join("\n")
    );
    assert!(quoted_name_after("c.s(\"event_id\")", ".s(\""));
    assert!(!quoted_name_after("c.s(\"Event Id\")", ".s(\""));
}

#[test]
fn origin_strings_are_built_and_parsed_in_one_place() {
    // `model::origin` and `OriginKind` are the only code that knows the origin prefixes.
    let prefixes = ["service:", "unknown:", "saml:", "oidc:", "idc:", "account:"];
    let found = literal_uses(&["src", "crates"], &["crates/log/src/model.rs"], |code| {
        prefixes.iter().any(|p| {
            code.match_indices(&format!("\"{p}")).any(|(i, _)| {
                // A label such as "unknown: issuance not in input" is prose, not an origin.
                !code[i + 1 + p.len()..].starts_with(' ')
            })
        })
    });
    assert!(
        found.is_empty(),
        "origin prefixes outside model:\n{}",
        found.join("\n")
    );
}
