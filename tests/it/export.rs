//! `trailgraph graph`: DOT (rendered by graphviz when present), GraphML (well-formed XML with
//! declared keys), JSON nodes/links, and Neo4j import CSVs.

use crate::report::{all_scenario_inputs, csv_cells, is_formula, write_payload_fixture};
use crate::util::{on_path, require_tool, run, scenario_inputs, testdata};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn graph(inputs: &[PathBuf], args: &[&str]) -> std::process::Output {
    let mut a: Vec<std::ffi::OsString> = vec!["graph".into(), "-q".into()];
    a.extend(inputs.iter().map(|p| p.as_os_str().to_owned()));
    a.extend(args.iter().map(|s| (*s).into()));
    run(&a)
}

fn graph_ok(inputs: &[PathBuf], args: &[&str]) -> String {
    let o = graph(inputs, args);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "graph {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

fn chain5() -> Vec<PathBuf> {
    scenario_inputs(&testdata("scenarios/chain_depth_5"))
}

#[test]
fn graph_json_has_the_five_hop_path() {
    let out = graph_ok(&chain5(), &["--format", "json"]);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["directed"], true);
    let nodes = v["nodes"].as_array().unwrap();
    let links = v["links"].as_array().unwrap();
    let ids: BTreeSet<&str> = nodes.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), nodes.len(), "node ids are unique");
    for l in links {
        assert!(
            ids.contains(l["source"].as_str().unwrap()),
            "dangling source"
        );
        assert!(
            ids.contains(l["target"].as_str().unwrap()),
            "dangling target"
        );
        assert_eq!(l["type"], "issued");
        assert!(!l["event_ids"].as_array().unwrap().is_empty());
    }
    let alice = "origin:arn:aws:iam::111111111111:user/alice";
    assert!(ids.contains(alice));
    // Follow issued edges from alice: the deepest path is Hop1 → ops/Hop2 → Hop3 → a/b/Hop4 → Hop5.
    let mut kids: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in links {
        kids.entry(l["source"].as_str().unwrap())
            .or_default()
            .push(l["target"].as_str().unwrap());
    }
    let by_id: BTreeMap<&str, &Value> = nodes
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    fn deepest<'a>(n: &'a str, kids: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<&'a str> {
        let mut best = Vec::new();
        for k in kids.get(n).into_iter().flatten() {
            let p = deepest(k, kids);
            if p.len() > best.len() {
                best = p;
            }
        }
        let mut v = vec![n];
        v.extend(best);
        v
    }
    let path = deepest(alice, &kids);
    assert_eq!(path.len(), 6, "origin + 5 sessions: {path:?}");
    let roles: Vec<&str> = path[1..]
        .iter()
        .map(|id| by_id[id]["role_arn"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            "arn:aws:iam::111111111111:role/Hop1",
            "arn:aws:iam::111111111111:role/ops/Hop2",
            "arn:aws:iam::111111111111:role/Hop3",
            "arn:aws:iam::111111111111:role/a/b/Hop4",
            "arn:aws:iam::111111111111:role/Hop5",
        ]
    );
    for (i, id) in path[1..].iter().enumerate() {
        let n = by_id[id];
        assert_eq!(n["type"], "session");
        assert_eq!(n["depth"], i as u64 + 1);
        assert_eq!(n["confidence"], "exact");
        assert_eq!(n["origin"], "arn:aws:iam::111111111111:user/alice");
        for k in [
            "session_id",
            "account",
            "issued_at",
            "issued_key",
            "cross_account",
            "cycle",
            "orphan",
        ] {
            assert!(n.get(k).is_some(), "session attribute {k}");
        }
    }
    let top = by_id[alice];
    assert_eq!(top["type"], "origin");
    assert_eq!(top["kind"], "iam-user");
}

#[test]
fn graph_filters_keep_ancestors() {
    let out = graph_ok(&chain5(), &["--format", "json", "--min-depth", "5"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let sessions: Vec<&Value> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "session")
        .collect();
    assert_eq!(sessions.len(), 5, "the depth-5 session and its 4 ancestors");
    let matched: Vec<&&Value> = sessions.iter().filter(|n| n["matched"] == true).collect();
    assert_eq!(matched.len(), 1);
    assert_eq!(matched[0]["depth"], 5);
    assert_eq!(v["links"].as_array().unwrap().len(), 5);
    // A filter that matches nothing gives an empty graph.
    let out = graph_ok(
        &chain5(),
        &["--format", "json", "--account", "999999999999"],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["nodes"].as_array().unwrap().is_empty());
}

#[test]
fn graph_dot_renders_with_graphviz() {
    let tmp = tempfile::tempdir().unwrap();
    let mut inputs = all_scenario_inputs();
    inputs.push(write_payload_fixture(tmp.path()));
    let dot = graph_ok(&inputs, &["--format", "dot"]);
    assert!(dot.contains("digraph trailgraph {"));
    assert!(dot.trim_end().ends_with('}'));
    assert!(dot.contains("\"origin:arn:aws:iam::111111111111:user/alice\""));
    assert!(dot.contains(" -> "));
    // The payload stays inside its quoted string: quotes escaped.
    assert!(dot.contains("=HYPERLINK(\\\"http://evil.example/x\\\"") || !dot.contains("HYPERLINK"));
    if !require_tool(
        "graph_dot_renders_with_graphviz",
        "dot",
        "Debian: apt-get install -y graphviz",
    ) {
        return;
    }
    let path = tmp.path().join("g.dot");
    std::fs::write(&path, &dot).unwrap();
    let o = Command::new("dot")
        .arg("-Tsvg")
        .arg(&path)
        .output()
        .expect("run dot");
    assert!(
        o.status.success(),
        "dot -Tsvg failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let svg = String::from_utf8_lossy(&o.stdout);
    assert!(svg.contains("<svg"), "dot produced SVG");
    assert!(svg.contains("Hop5"), "the deepest hop is drawn");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("syntax error"),
        "no syntax error"
    );
}

/// A minimal XML well-formedness check: balanced tags, quoted attributes, only the five
/// predefined entities or character references, no raw `<` or `&` in text.
fn check_xml(s: &str) -> Result<usize, String> {
    let b = s.as_bytes();
    let mut stack: Vec<String> = Vec::new();
    let mut i = 0;
    let mut elements = 0;
    let check_text = |t: &str| -> Result<(), String> {
        let mut rest = t;
        while let Some(p) = rest.find('&') {
            let after = &rest[p + 1..];
            let end = after.find(';').ok_or("unterminated entity")?;
            let ent = &after[..end];
            let ok = matches!(ent, "lt" | "gt" | "amp" | "quot" | "apos")
                || (ent.starts_with("#x") && u32::from_str_radix(&ent[2..], 16).is_ok())
                || (ent.starts_with('#') && ent[1..].parse::<u32>().is_ok());
            if !ok {
                return Err(format!("bad entity &{ent};"));
            }
            rest = &after[end + 1..];
        }
        if t.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err("control character".into());
        }
        Ok(())
    };
    while i < b.len() {
        if b[i] == b'<' {
            let end = s[i..].find('>').ok_or("unterminated tag")? + i;
            let tag = &s[i + 1..end];
            if tag.starts_with('?') || tag.starts_with('!') {
                i = end + 1;
                continue;
            }
            if tag.contains('<') {
                return Err(format!("'<' inside tag: {tag}"));
            }
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().ok_or(format!("unexpected </{name}>"))?;
                if open != name.trim() {
                    return Err(format!("</{name}> closes <{open}>"));
                }
            } else {
                elements += 1;
                let self_closing = tag.ends_with('/');
                let body = tag.trim_end_matches('/');
                let name = body
                    .split_whitespace()
                    .next()
                    .ok_or("empty tag")?
                    .to_string();
                // Attributes: name="value" pairs, values without '<'.
                let mut rest = body[name.len()..].trim();
                while !rest.is_empty() {
                    let eq = rest
                        .find('=')
                        .ok_or(format!("attribute without value in <{name}>"))?;
                    let after = rest[eq + 1..].trim_start();
                    let q = after.chars().next().ok_or("missing quote")?;
                    if q != '"' && q != '\'' {
                        return Err(format!("unquoted attribute in <{name}>"));
                    }
                    let close = after[1..].find(q).ok_or("unterminated attribute")?;
                    check_text(&after[1..1 + close])?;
                    rest = after[close + 2..].trim_start();
                }
                if !self_closing {
                    stack.push(name);
                }
            }
            i = end + 1;
        } else {
            let next = s[i..].find('<').map_or(b.len(), |p| p + i);
            let text = &s[i..next];
            if text.contains('>') && text.contains("]]>") {
                return Err("]]> in text".into());
            }
            check_text(text)?;
            if stack.is_empty() && !text.trim().is_empty() {
                return Err("text outside the root element".into());
            }
            i = next;
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements: {stack:?}"));
    }
    Ok(elements)
}

#[test]
fn graph_graphml_is_well_formed_with_declared_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let mut inputs = all_scenario_inputs();
    inputs.push(write_payload_fixture(tmp.path()));
    let xml = graph_ok(&inputs, &["--format", "graphml"]);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    check_xml(&xml).unwrap_or_else(|e| panic!("GraphML not well-formed: {e}"));
    assert!(!xml.contains("<script>"), "payload escaped");
    assert!(xml.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Every <data key> is declared by a <key> for the right domain.
    let mut declared: BTreeSet<String> = BTreeSet::new();
    for line in xml.lines().filter(|l| l.trim_start().starts_with("<key ")) {
        let id = line
            .split("id=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(line.contains("attr.name=") && line.contains("attr.type="));
        declared.insert(id.to_string());
    }
    let mut used = 0;
    for line in xml.lines().filter(|l| l.trim_start().starts_with("<data ")) {
        let k = line
            .split("key=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(declared.contains(k), "undeclared key {k}");
        used += 1;
    }
    assert!(used > 100);
    // Same nodes and edges as the JSON export.
    let json: Value = serde_json::from_str(&graph_ok(&inputs, &["--format", "json"])).unwrap();
    assert_eq!(
        xml.matches("<node id=").count(),
        json["nodes"].as_array().unwrap().len()
    );
    assert_eq!(
        xml.matches("<edge id=").count(),
        json["links"].as_array().unwrap().len()
    );
    // A real XML parser agrees, when python3 is available.
    if on_path("python3") {
        let p = tmp.path().join("g.graphml");
        std::fs::write(&p, &xml).unwrap();
        let o = Command::new("python3")
            .arg("-c")
            .arg("import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); print(len(d.getElementsByTagName('node')), len(d.getElementsByTagName('edge')))")
            .arg(&p)
            .output()
            .expect("python3");
        assert!(
            o.status.success(),
            "python3 xml.dom.minidom rejects the GraphML: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let counts = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            counts.trim(),
            format!(
                "{} {}",
                json["nodes"].as_array().unwrap().len(),
                json["links"].as_array().unwrap().len()
            )
        );
    } else {
        eprintln!("graph_graphml_is_well_formed_with_declared_keys: python3 not on PATH; checked with the built-in checker only");
    }
}

/// Parses a CSV file into rows of cells.
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let header_len = csv_cells(text.lines().next().unwrap()).len();
    let cells = csv_cells(&text);
    assert_eq!(
        cells.len() % header_len,
        0,
        "{}: ragged rows",
        path.display()
    );
    cells.chunks(header_len).map(|c| c.to_vec()).collect()
}

#[test]
fn graph_neo4j_import_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("neo");
    let mut inputs = all_scenario_inputs();
    inputs.push(write_payload_fixture(tmp.path()));
    let out = graph(&inputs, &["--format", "neo4j", "-o", dir.to_str().unwrap()]);
    assert!(matches!(out.status.code(), Some(0) | Some(1)));
    let origins = csv_rows(&dir.join("nodes_origins.csv"));
    let sessions = csv_rows(&dir.join("nodes_sessions.csv"));
    let roles = csv_rows(&dir.join("nodes_roles.csv"));
    let issued = csv_rows(&dir.join("rels_issued.csv"));
    let of_role = csv_rows(&dir.join("rels_of_role.csv"));
    assert_eq!(
        origins[0],
        [
            "id:ID(Node)",
            "origin",
            "kind",
            "account",
            "sessions:long",
            "label",
            ":LABEL"
        ]
    );
    for h in [
        "id:ID(Node)",
        "depth:int",
        "issued_at:datetime",
        "cross_account:boolean",
        "cycle:boolean",
        "orphan:boolean",
        ":LABEL",
    ] {
        assert!(
            sessions[0].iter().any(|c| c == h),
            "nodes_sessions.csv header lacks {h}"
        );
    }
    assert_eq!(
        issued[0],
        [
            ":START_ID(Node)",
            ":END_ID(Node)",
            "kind",
            "confidence",
            "event_ids:string[]",
            "cross_account:boolean",
            ":TYPE"
        ]
    );
    assert_eq!(of_role[0], [":START_ID(Node)", ":END_ID(Node)", ":TYPE"]);
    // Labels and types.
    assert!(origins[1..].iter().all(|r| r.last().unwrap() == "Origin"));
    assert!(sessions[1..].iter().all(|r| r.last().unwrap() == "Session"));
    assert!(roles[1..].iter().all(|r| r.last().unwrap() == "Role"));
    assert!(issued[1..].iter().all(|r| r.last().unwrap() == "ISSUED"));
    // Ids are unique across the shared ID space, and every relationship end exists.
    let mut ids = BTreeSet::new();
    for r in origins[1..].iter().chain(&sessions[1..]).chain(&roles[1..]) {
        assert!(ids.insert(r[0].clone()), "duplicate id {}", r[0]);
    }
    for r in issued[1..].iter().chain(&of_role[1..]) {
        assert!(ids.contains(&r[0]), "missing start {}", r[0]);
        assert!(ids.contains(&r[1]), "missing end {}", r[1]);
    }
    assert_eq!(issued.len(), sessions.len(), "one ISSUED per session");
    // Typed columns hold values of their type.
    let depth = sessions[0].iter().position(|c| c == "depth:int").unwrap();
    assert!(sessions[1..]
        .iter()
        .all(|r| r[depth].parse::<u32>().is_ok()));
    assert!(sessions[1..].iter().any(|r| r[depth] == "5"));
    // No formula cells.
    for r in origins.iter().chain(&sessions).chain(&roles).chain(&issued) {
        for c in r {
            assert!(!is_formula(c), "formula cell {c:?}");
        }
    }
    // Without -o the command refuses (several files).
    let o = graph(&chain5(), &["--format", "neo4j"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("-o DIR"));
}

#[test]
fn graph_help_documents_the_neo4j_import() {
    let o = run(["graph", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("neo4j-admin database import full"));
    assert!(help.contains("--nodes=nodes_origins.csv"));
    assert!(help.contains("--relationships=rels_issued.csv"));
    for f in ["dot", "graphml", "json", "neo4j"] {
        assert!(help.contains(f));
    }
}

#[test]
fn graph_output_is_deterministic() {
    let inputs = all_scenario_inputs();
    for f in ["dot", "graphml", "json"] {
        let a = graph_ok(&inputs, &["--format", f, "-j", "1"]);
        let b = graph_ok(&inputs, &["--format", f, "-j", "2"]);
        assert!(a == b, "{f} output differs between runs");
    }
}
