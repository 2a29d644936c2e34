//! `trailgraph graph`: export the identity/session graph as DOT, GraphML, JSON or Neo4j CSV.
//!
//! Nodes are origins (the person or workload at the top of a chain) and sessions (one per
//! issued temporary key); each session has one `issued` edge from whoever issued it: its
//! parent session, or its origin. Neo4j output adds role nodes and `OF_ROLE` edges. Node ids
//! are `origin:<origin>` and `session:<session id>`; nodes and edges come in a fixed order
//! (origins by name, sessions by issuance time and id), so the output is deterministic.
//! Strings from the logs are escaped for each format (`escape::dot`, `escape::xml`,
//! `escape::csv_field`; JSON by serde).

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use trailgraph_analysis::answer::{self, SessionFilter};
use trailgraph_graph::graph::{Link, Session};
use trailgraph_log::escape::{csv_field, dot, xml};
use trailgraph_log::model::{format_time, origin, role_name, Confidence, OriginKind};

/// The Neo4j import command, for `--help` and the message after writing.
pub const NEO4J_IMPORT: &str = "neo4j-admin database import full \\
    --nodes=nodes_origins.csv --nodes=nodes_sessions.csv --nodes=nodes_roles.csv \\
    --relationships=rels_issued.csv --relationships=rels_of_role.csv \\
    --multiline-fields=true --overwrite-destination neo4j";

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Graphml,
    Json,
    Neo4j,
}

/// An origin node.
#[derive(Debug, Clone)]
pub struct OriginNode {
    pub id: String,
    pub origin: String,
    pub kind: OriginKind,
    pub account: Option<String>,
    pub sessions: u64,
}

/// A session node.
#[derive(Debug, Clone)]
pub struct SessionNode<'a> {
    pub id: String,
    pub s: &'a Session,
    pub depth: usize,
    pub cross_account: bool,
    pub events: u64,
    /// Accepted by the filters (false: an ancestor kept to connect the chain).
    pub matched: bool,
}

/// An `issued` edge.
#[derive(Debug, Clone)]
pub struct Edge {
    pub source: String,
    pub target: String,
    pub kind: Option<&'static str>,
    pub confidence: Confidence,
    pub event_ids: Vec<String>,
    pub cross_account: bool,
}

/// A role node (Neo4j only).
#[derive(Debug, Clone)]
pub struct RoleNode {
    pub id: String,
    pub arn: String,
    pub account: Option<String>,
    pub sessions: Vec<String>,
}

/// The graph to export, in output order.
pub struct ExportGraph<'a> {
    pub origins: Vec<OriginNode>,
    pub sessions: Vec<SessionNode<'a>>,
    pub edges: Vec<Edge>,
    pub roles: Vec<RoleNode>,
}

fn link_confidence(s: &Session) -> Confidence {
    match &s.caller {
        Link::Session(_, c) | Link::Origin(_, c) => *c,
    }
}

impl<'a> ExportGraph<'a> {
    pub fn build(sessions: &'a [Session], events: &[u64], f: &SessionFilter) -> ExportGraph<'a> {
        // Matching sessions plus their ancestors.
        let mut keep = vec![false; sessions.len()];
        let mut matched = vec![false; sessions.len()];
        for (i, s) in sessions.iter().enumerate() {
            if f.accepts(s) {
                matched[i] = true;
                let mut cur = i;
                let mut guard = 0;
                while !keep[cur] {
                    keep[cur] = true;
                    match sessions[cur].parent {
                        Some(p) if guard < sessions.len() => {
                            cur = p;
                            guard += 1;
                        }
                        _ => break,
                    }
                }
            }
        }
        let mut idx: Vec<usize> = (0..sessions.len()).filter(|&i| keep[i]).collect();
        idx.sort_by(|&a, &b| {
            let (x, y) = (&sessions[a], &sessions[b]);
            (x.issued_at, &x.id, a).cmp(&(y.issued_at, &y.id, b))
        });
        // Unique node ids (session ids are unique in practice; suffix on a collision).
        let mut ids: Vec<Option<String>> = vec![None; sessions.len()];
        let mut used: BTreeSet<String> = BTreeSet::new();
        for &i in &idx {
            let base = format!("session:{}", sessions[i].id);
            let mut id = base.clone();
            let mut n = 2;
            while !used.insert(id.clone()) {
                id = format!("{base}#{n}");
                n += 1;
            }
            ids[i] = Some(id);
        }
        let mut origin_sessions: BTreeMap<&str, u64> = BTreeMap::new();
        let mut out_sessions = Vec::with_capacity(idx.len());
        let mut edges = Vec::with_capacity(idx.len());
        let mut roles: BTreeMap<&str, RoleNode> = BTreeMap::new();
        for &i in &idx {
            let s = &sessions[i];
            *origin_sessions.entry(s.origin.as_str()).or_default() += 1;
            let id = ids[i].clone().expect("kept");
            let cross = answer::is_cross_account(s);
            out_sessions.push(SessionNode {
                id: id.clone(),
                s,
                depth: s.chain.len(),
                cross_account: cross,
                events: events.get(i).copied().unwrap_or(0),
                matched: matched[i],
            });
            let source = match s.parent.and_then(|p| ids[p].clone()) {
                Some(p) => p,
                None => format!("origin:{}", s.origin),
            };
            edges.push(Edge {
                source,
                target: id.clone(),
                kind: s.kind.map(|k| k.as_str()),
                confidence: link_confidence(s),
                event_ids: s
                    .issuance
                    .iter()
                    .filter_map(|e| e.event_id.clone())
                    .collect(),
                cross_account: cross,
            });
            if let Some(r) = &s.role_arn {
                roles
                    .entry(r.as_str())
                    .or_insert_with(|| RoleNode {
                        id: format!("role:{r}"),
                        arn: r.clone(),
                        account: trailgraph_log::model::arn_account(r).map(String::from),
                        sessions: Vec::new(),
                    })
                    .sessions
                    .push(id);
            }
        }
        let origins = origin_sessions
            .into_iter()
            .map(|(o, n)| OriginNode {
                id: format!("origin:{o}"),
                origin: o.to_string(),
                kind: OriginKind::of(o),
                account: origin::account_of(o).map(String::from),
                sessions: n,
            })
            .collect();
        ExportGraph {
            origins,
            sessions: out_sessions,
            edges,
            roles: roles.into_values().collect(),
        }
    }
}

/// A short display label for an origin.
fn origin_label(o: &OriginNode) -> String {
    let o_ = o.origin.as_str();
    match o.kind {
        OriginKind::IamUser
        | OriginKind::Root
        | OriginKind::FederatedUser
        | OriginKind::Principal => {
            format!(
                "{}\n{}",
                trailgraph_log::model::arn_resource(o_).unwrap_or(o_),
                o.account.as_deref().unwrap_or("")
            )
        }
        OriginKind::Service => {
            // Every leading `service:`, as the label always did (`origin::parse_service`
            // takes one).
            let prefix = OriginKind::Service.prefix().expect("a prefixed kind");
            o_.trim_start_matches(prefix).to_string()
        }
        _ => o_.to_string(),
    }
}

/// A short display label for a session.
fn session_label(n: &SessionNode) -> String {
    let s = n.s;
    let what = match (&s.role_arn, s.kind) {
        (Some(r), _) => role_name(r).to_string(),
        (None, Some(k)) => k.as_str().to_string(),
        (None, None) => "session".to_string(),
    };
    let mut l = what;
    if let Some(name) = &s.session_name {
        l.push_str(&format!(" / {name}"));
    }
    l.push_str(&format!(
        "\n{} · {}",
        s.account.as_deref().unwrap_or("?"),
        s.issued_at
            .map(format_time)
            .unwrap_or_else(|| "issued ?".to_string())
    ));
    l
}

fn session_attrs(n: &SessionNode) -> Vec<(&'static str, AttrVal)> {
    let s = n.s;
    let opt = |v: &Option<String>| AttrVal::Str(v.clone());
    vec![
        ("type", AttrVal::Str(Some("session".into()))),
        (
            "label",
            AttrVal::Str(Some(session_label(n).replace('\n', " · "))),
        ),
        ("session_id", AttrVal::Str(Some(s.id.clone()))),
        ("kind", AttrVal::Str(s.kind.map(|k| k.as_str().to_string()))),
        ("role_arn", opt(&s.role_arn)),
        ("account", opt(&s.account)),
        ("session_name", opt(&s.session_name)),
        ("session_arn", opt(&s.session_arn)),
        ("issued_at", AttrVal::Time(s.issued_at)),
        ("expires_at", AttrVal::Time(s.expiration)),
        ("issued_key", opt(&s.issued_key)),
        ("origin", AttrVal::Str(Some(s.origin.clone()))),
        ("chain", AttrVal::Str(Some(s.chain.join(">")))),
        ("depth", AttrVal::Int(n.depth as i64)),
        (
            "confidence",
            AttrVal::Str(Some(s.confidence.as_str().to_string())),
        ),
        ("cross_account", AttrVal::Bool(n.cross_account)),
        ("cycle", AttrVal::Bool(s.cycle)),
        ("orphan", AttrVal::Bool(s.orphan)),
        ("mfa", AttrVal::Bool(s.mfa)),
        ("source_identity", opt(&s.source_identity)),
        ("source_ip", opt(&s.source_ip)),
        ("events", AttrVal::Long(n.events)),
        ("matched", AttrVal::Bool(n.matched)),
    ]
}

fn origin_attrs(o: &OriginNode) -> Vec<(&'static str, AttrVal)> {
    vec![
        ("type", AttrVal::Str(Some("origin".into()))),
        (
            "label",
            AttrVal::Str(Some(origin_label(o).replace('\n', " · "))),
        ),
        ("origin", AttrVal::Str(Some(o.origin.clone()))),
        ("kind", AttrVal::Str(Some(o.kind.as_str().to_string()))),
        ("account", AttrVal::Str(o.account.clone())),
        ("sessions", AttrVal::Long(o.sessions)),
    ]
}

fn edge_attrs(e: &Edge) -> Vec<(&'static str, AttrVal)> {
    vec![
        ("type", AttrVal::Str(Some("issued".into()))),
        ("kind", AttrVal::Str(e.kind.map(String::from))),
        (
            "confidence",
            AttrVal::Str(Some(e.confidence.as_str().to_string())),
        ),
        ("event_ids", AttrVal::Str(Some(e.event_ids.join(";")))),
        ("cross_account", AttrVal::Bool(e.cross_account)),
    ]
}

/// An attribute value.
#[derive(Debug, Clone)]
enum AttrVal {
    Str(Option<String>),
    Time(Option<i64>),
    Int(i64),
    Long(u64),
    Bool(bool),
}

impl AttrVal {
    fn text(&self) -> Option<String> {
        match self {
            AttrVal::Str(s) => s.clone(),
            AttrVal::Time(t) => t.map(format_time),
            AttrVal::Int(i) => Some(i.to_string()),
            AttrVal::Long(i) => Some(i.to_string()),
            AttrVal::Bool(b) => Some(b.to_string()),
        }
    }
    fn json(&self) -> Value {
        match self {
            AttrVal::Str(s) => json!(s),
            AttrVal::Time(t) => json!(t.map(format_time)),
            AttrVal::Int(i) => json!(i),
            AttrVal::Long(i) => json!(i),
            AttrVal::Bool(b) => json!(b),
        }
    }
    fn graphml_type(&self) -> &'static str {
        match self {
            AttrVal::Str(_) | AttrVal::Time(_) => "string",
            AttrVal::Int(_) => "int",
            AttrVal::Long(_) => "long",
            AttrVal::Bool(_) => "boolean",
        }
    }
}

// --- DOT -------------------------------------------------------------------------------------

fn dot_origin_style(kind: OriginKind) -> &'static str {
    match kind {
        OriginKind::Service => r##"fillcolor="#f1f5f9", color="#64748b""##,
        OriginKind::Unknown | OriginKind::Account => {
            r##"fillcolor="#ffedd5", color="#c2410c", style="filled,dashed""##
        }
        OriginKind::Saml | OriginKind::Oidc | OriginKind::IdentityCenter => {
            r##"fillcolor="#ccfbf1", color="#0f766e""##
        }
        OriginKind::Root => r##"fillcolor="#fef3c7", color="#b45309""##,
        _ => r##"fillcolor="#dbeafe", color="#2563eb""##,
    }
}

pub fn write_dot(g: &ExportGraph, w: &mut dyn Write) -> Result<()> {
    writeln!(
        w,
        "// trailgraph identity/session graph: {} origin(s), {} session(s), {} issued edge(s)",
        g.origins.len(),
        g.sessions.len(),
        g.edges.len()
    )?;
    writeln!(w, "digraph trailgraph {{")?;
    writeln!(
        w,
        "  graph [rankdir=LR, fontname=\"Helvetica\", nodesep=0.25, ranksep=0.7];"
    )?;
    writeln!(
        w,
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, fillcolor=\"#ffffff\", color=\"#94a3b8\"];"
    )?;
    writeln!(
        w,
        "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#64748b\"];"
    )?;
    let attrs = |v: &[(&str, AttrVal)]| -> String {
        v.iter()
            .filter(|(k, _)| *k != "label")
            .filter_map(|(k, a)| a.text().map(|t| format!("{k}=\"{}\"", dot(&t))))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for o in &g.origins {
        let style = dot_origin_style(o.kind);
        writeln!(
            w,
            "  \"{}\" [label=\"{}\", shape=ellipse, style=filled, {style}, tooltip=\"{}\", {}];",
            dot(&o.id),
            dot(&origin_label(o)),
            dot(&o.origin),
            attrs(&origin_attrs(o))
        )?;
    }
    for n in &g.sessions {
        let mut style = Vec::new();
        if n.s.cycle {
            style.push("color=\"#dc2626\", penwidth=2");
        }
        if n.s.orphan {
            style.push("style=\"rounded,filled,dashed\", fillcolor=\"#fff7ed\"");
        } else if n.cross_account {
            style.push("fillcolor=\"#f5f3ff\"");
        }
        if !n.matched {
            style.push("fontcolor=\"#64748b\"");
        }
        let extra = if style.is_empty() {
            String::new()
        } else {
            format!("{}, ", style.join(", "))
        };
        writeln!(
            w,
            "  \"{}\" [label=\"{}\", {extra}tooltip=\"{}\", {}];",
            dot(&n.id),
            dot(&session_label(n)),
            dot(&n.s.id),
            attrs(&session_attrs(n))
        )?;
    }
    for e in &g.edges {
        let mut style = Vec::new();
        if e.cross_account {
            style.push("color=\"#7c3aed\", penwidth=2");
        }
        match e.confidence {
            Confidence::Exact => {}
            Confidence::Inferred => style.push("style=dashed"),
            Confidence::Unknown => style.push("style=dotted"),
        }
        let extra = if style.is_empty() {
            String::new()
        } else {
            format!("{}, ", style.join(", "))
        };
        writeln!(
            w,
            "  \"{}\" -> \"{}\" [label=\"{}\", {extra}{}];",
            dot(&e.source),
            dot(&e.target),
            dot(&format!(
                "{}{}",
                e.kind.unwrap_or("issuance not in input"),
                if e.cross_account {
                    " (cross-account)"
                } else {
                    ""
                }
            )),
            attrs(&edge_attrs(e))
        )?;
    }
    writeln!(w, "}}")?;
    Ok(())
}

// --- GraphML ---------------------------------------------------------------------------------

/// GraphML keys of node attributes (origins and sessions), with their types.
pub(crate) const NODE_KEYS: [(&str, &str); 24] = [
    ("type", "string"),
    ("label", "string"),
    ("origin", "string"),
    ("kind", "string"),
    ("account", "string"),
    ("sessions", "long"),
    ("session_id", "string"),
    ("role_arn", "string"),
    ("session_name", "string"),
    ("session_arn", "string"),
    ("issued_at", "string"),
    ("expires_at", "string"),
    ("issued_key", "string"),
    ("chain", "string"),
    ("depth", "int"),
    ("confidence", "string"),
    ("cross_account", "boolean"),
    ("cycle", "boolean"),
    ("orphan", "boolean"),
    ("mfa", "boolean"),
    ("source_identity", "string"),
    ("source_ip", "string"),
    ("events", "long"),
    ("matched", "boolean"),
];

/// GraphML keys of edge attributes.
pub(crate) const EDGE_KEYS: [(&str, &str); 5] = [
    ("type", "string"),
    ("kind", "string"),
    ("confidence", "string"),
    ("event_ids", "string"),
    ("cross_account", "boolean"),
];

/// XML text: `escape::xml`, and the two non-characters XML 1.0 also forbids dropped.
fn x(s: &str) -> String {
    xml(s).replace(['\u{FFFE}', '\u{FFFF}'], "")
}

pub fn write_graphml(g: &ExportGraph, w: &mut dyn Write) -> Result<()> {
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">"#
    )?;
    // A <key> for every attribute a node or an edge can carry.
    for (k, t) in NODE_KEYS {
        writeln!(
            w,
            r#"  <key id="n_{k}" for="node" attr.name="{k}" attr.type="{t}"/>"#
        )?;
    }
    for (k, t) in EDGE_KEYS {
        writeln!(
            w,
            r#"  <key id="e_{k}" for="edge" attr.name="{k}" attr.type="{t}"/>"#
        )?;
    }
    writeln!(w, r#"  <graph id="trailgraph" edgedefault="directed">"#)?;
    let data = |w: &mut dyn Write, prefix: &str, attrs: &[(&str, AttrVal)]| -> Result<()> {
        let keys: &[(&str, &str)] = if prefix == "n" {
            &NODE_KEYS
        } else {
            &EDGE_KEYS
        };
        for (k, v) in attrs {
            debug_assert!(
                keys.contains(&(*k, v.graphml_type())),
                "GraphML key {k} not declared"
            );
            if let Some(t) = v.text() {
                writeln!(w, r#"      <data key="{prefix}_{k}">{}</data>"#, x(&t))?;
            }
        }
        Ok(())
    };
    for o in &g.origins {
        writeln!(w, r#"    <node id="{}">"#, x(&o.id))?;
        data(w, "n", &origin_attrs(o))?;
        writeln!(w, "    </node>")?;
    }
    for n in &g.sessions {
        writeln!(w, r#"    <node id="{}">"#, x(&n.id))?;
        data(w, "n", &session_attrs(n))?;
        writeln!(w, "    </node>")?;
    }
    for (i, e) in g.edges.iter().enumerate() {
        writeln!(
            w,
            r#"    <edge id="e{i}" source="{}" target="{}">"#,
            x(&e.source),
            x(&e.target)
        )?;
        data(w, "e", &edge_attrs(e))?;
        writeln!(w, "    </edge>")?;
    }
    writeln!(w, "  </graph>")?;
    writeln!(w, "</graphml>")?;
    Ok(())
}

// --- JSON ------------------------------------------------------------------------------------

pub fn write_json(g: &ExportGraph, w: &mut dyn Write) -> Result<()> {
    let obj = |id: &str, attrs: Vec<(&str, AttrVal)>| -> Value {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!(id));
        for (k, v) in attrs {
            m.insert(k.into(), v.json());
        }
        Value::Object(m)
    };
    write!(w, "{{\"directed\":true,\"nodes\":[")?;
    let mut first = true;
    let mut sep = |w: &mut dyn Write| -> Result<()> {
        w.write_all(if first { b"\n  " } else { b",\n  " })?;
        first = false;
        Ok(())
    };
    for o in &g.origins {
        sep(w)?;
        serde_json::to_writer(&mut *w, &obj(&o.id, origin_attrs(o)))?;
    }
    for n in &g.sessions {
        sep(w)?;
        serde_json::to_writer(&mut *w, &obj(&n.id, session_attrs(n)))?;
    }
    write!(w, "\n],\"links\":[")?;
    for (i, e) in g.edges.iter().enumerate() {
        w.write_all(if i == 0 { b"\n  " } else { b",\n  " })?;
        let mut m = serde_json::Map::new();
        m.insert("source".into(), json!(e.source));
        m.insert("target".into(), json!(e.target));
        for (k, v) in edge_attrs(e) {
            m.insert(k.into(), v.json());
        }
        m.insert("event_ids".into(), json!(e.event_ids));
        serde_json::to_writer(&mut *w, &Value::Object(m))?;
    }
    writeln!(w, "\n]}}")?;
    Ok(())
}

// --- Neo4j -----------------------------------------------------------------------------------

fn csv_line(w: &mut dyn Write, fields: &[String]) -> Result<()> {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f).into_owned()).collect();
    writeln!(w, "{}", line.join(","))?;
    Ok(())
}

fn create(dir: &Path, name: &str) -> Result<std::io::BufWriter<std::fs::File>> {
    let p = dir.join(name);
    Ok(std::io::BufWriter::new(
        std::fs::File::create(&p).with_context(|| format!("{}: cannot create", p.display()))?,
    ))
}

pub fn write_neo4j(g: &ExportGraph, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let t = |v: Option<String>| v.unwrap_or_default();
    let mut w = create(dir, "nodes_origins.csv")?;
    csv_line(
        &mut w,
        &[
            "id:ID(Node)",
            "origin",
            "kind",
            "account",
            "sessions:long",
            "label",
            ":LABEL",
        ]
        .map(String::from),
    )?;
    for o in &g.origins {
        csv_line(
            &mut w,
            &[
                o.id.clone(),
                o.origin.clone(),
                o.kind.to_string(),
                t(o.account.clone()),
                o.sessions.to_string(),
                origin_label(o).replace('\n', " · "),
                "Origin".into(),
            ],
        )?;
    }
    w.flush()?;

    let mut w = create(dir, "nodes_sessions.csv")?;
    csv_line(
        &mut w,
        &[
            "id:ID(Node)",
            "session_id",
            "kind",
            "role_arn",
            "role_name",
            "account",
            "session_name",
            "session_arn",
            "issued_at:datetime",
            "expires_at:datetime",
            "issued_key",
            "origin",
            "chain",
            "depth:int",
            "confidence",
            "cross_account:boolean",
            "cycle:boolean",
            "orphan:boolean",
            "mfa:boolean",
            "source_identity",
            "source_ip",
            "events:long",
            "matched:boolean",
            ":LABEL",
        ]
        .map(String::from),
    )?;
    for n in &g.sessions {
        let s = n.s;
        csv_line(
            &mut w,
            &[
                n.id.clone(),
                s.id.clone(),
                t(s.kind.map(|k| k.as_str().to_string())),
                t(s.role_arn.clone()),
                t(s.role_arn.as_deref().map(|r| role_name(r).to_string())),
                t(s.account.clone()),
                t(s.session_name.clone()),
                t(s.session_arn.clone()),
                t(s.issued_at.map(format_time)),
                t(s.expiration.map(format_time)),
                t(s.issued_key.clone()),
                s.origin.clone(),
                s.chain.join(">"),
                n.depth.to_string(),
                s.confidence.as_str().to_string(),
                n.cross_account.to_string(),
                s.cycle.to_string(),
                s.orphan.to_string(),
                s.mfa.to_string(),
                t(s.source_identity.clone()),
                t(s.source_ip.clone()),
                n.events.to_string(),
                n.matched.to_string(),
                "Session".into(),
            ],
        )?;
    }
    w.flush()?;

    let mut w = create(dir, "nodes_roles.csv")?;
    csv_line(
        &mut w,
        &[
            "id:ID(Node)",
            "arn",
            "name",
            "account",
            "sessions:long",
            ":LABEL",
        ]
        .map(String::from),
    )?;
    for r in &g.roles {
        csv_line(
            &mut w,
            &[
                r.id.clone(),
                r.arn.clone(),
                role_name(&r.arn).to_string(),
                t(r.account.clone()),
                r.sessions.len().to_string(),
                "Role".into(),
            ],
        )?;
    }
    w.flush()?;

    let mut w = create(dir, "rels_issued.csv")?;
    csv_line(
        &mut w,
        &[
            ":START_ID(Node)",
            ":END_ID(Node)",
            "kind",
            "confidence",
            "event_ids:string[]",
            "cross_account:boolean",
            ":TYPE",
        ]
        .map(String::from),
    )?;
    for e in &g.edges {
        csv_line(
            &mut w,
            &[
                e.source.clone(),
                e.target.clone(),
                t(e.kind.map(String::from)),
                e.confidence.as_str().to_string(),
                e.event_ids.join(";"),
                e.cross_account.to_string(),
                "ISSUED".into(),
            ],
        )?;
    }
    w.flush()?;

    let mut w = create(dir, "rels_of_role.csv")?;
    csv_line(
        &mut w,
        &[":START_ID(Node)", ":END_ID(Node)", ":TYPE"].map(String::from),
    )?;
    for r in &g.roles {
        for s in &r.sessions {
            csv_line(&mut w, &[s.clone(), r.id.clone(), "OF_ROLE".into()])?;
        }
    }
    w.flush()?;
    Ok(())
}
