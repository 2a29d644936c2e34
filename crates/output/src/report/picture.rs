//! The picture of the chains: origins on the left, the sessions they started to the right by
//! depth. Sessions are grouped by their path (origin → role → role …), so a node is "these N
//! sessions of role R reached this way". Laid out deterministically as a tree; capped to a
//! readable size with a note of what was left out.

use super::data::OriginRow;
use super::{fit, fit_middle, h};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::fmt::Write;
use trailgraph_graph::graph::SessionGraph;
use trailgraph_log::model::{arn_account, arn_resource, origin, role_name, Confidence, OriginKind};

/// At most this many origins are drawn.
pub(crate) const MAX_ORIGINS: usize = 18;
/// At most this many rows (leaves) in the whole picture.
pub(crate) const MAX_ROWS: usize = 72;
/// At most this many rows per origin.
const MAX_ROWS_PER_ORIGIN: usize = 16;
/// Hop columns drawn (deeper sessions are counted on the last drawn node).
pub(crate) const MAX_COLS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Origin,
    Role,
    More,
}

/// One drawn node.
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub col: usize,
    /// Vertical position in rows (fractional for parents).
    pub y: f64,
    pub parent: Option<usize>,
    pub label: String,
    pub sub: String,
    /// Full text for the tooltip and the Markdown tree.
    pub title: String,
    /// Origin kind (for origins).
    pub origin_kind: &'static str,
    pub account: Option<String>,
    pub sessions: u64,
    pub events: u64,
    pub findings: u64,
    pub cross_account: bool,
    pub cycle: bool,
    pub confidence: Confidence,
    /// Sessions below this node that are not drawn (depth cap).
    pub deeper: u64,
    /// Index of the origin group this node belongs to.
    pub group: usize,
}

/// The laid-out picture.
pub(crate) struct Picture {
    pub nodes: Vec<Node>,
    pub rows: f64,
    pub cols: usize,
    pub origins_total: usize,
    pub origins_shown: usize,
    pub sessions_total: u64,
    pub sessions_shown: u64,
    /// (first row, last row) of each origin group.
    pub groups: Vec<(f64, f64)>,
}

/// A group of sessions with the same path from the origin.
#[derive(Debug, Clone)]
struct TNode {
    label: String,
    role: Option<String>,
    account: Option<String>,
    sessions: u64,
    events: u64,
    findings: BTreeSet<u32>,
    cross: bool,
    cycle: bool,
    orphan: bool,
    confidence: Confidence,
    children: Vec<usize>,
    /// Sessions in this subtree (this node included).
    subtree: u64,
    /// Findings in this subtree.
    subtree_findings: u64,
}

/// The hop a session adds, as shown: its role, or its kind for sessions without a role.
fn hop_label(s: &trailgraph_graph::graph::Session) -> String {
    match (&s.role_arn, s.kind) {
        (Some(r), _) => r.clone(),
        (None, Some(k)) => format!("({} session)", k.as_str()),
        (None, None) => "(session)".to_string(),
    }
}

/// Two display lines and a tooltip for an origin string.
pub(crate) fn origin_labels(o: &str) -> (String, String) {
    match OriginKind::of(o) {
        OriginKind::Service => (
            origin::parse_service(o).unwrap_or("").to_string(),
            "AWS service".into(),
        ),
        OriginKind::Unknown => {
            let k = origin::parse_unknown(o).unwrap_or("");
            (
                if k.is_empty() {
                    "(no key)".into()
                } else {
                    k.to_string()
                },
                "unknown: issuance not in input".into(),
            )
        }
        kind @ (OriginKind::Saml | OriginKind::Oidc) => {
            let (prov, subj, kind) = match kind {
                OriginKind::Saml => {
                    let (p, s) = origin::parse_saml(o).unwrap_or_default();
                    (p, s, "SAML")
                }
                _ => {
                    let (p, s) = origin::parse_oidc(o).unwrap_or_default();
                    (p, s, "OIDC")
                }
            };
            let pname = role_name(prov).to_string();
            (
                if subj.is_empty() {
                    pname.clone()
                } else {
                    subj.to_string()
                },
                format!("{kind} · {pname}"),
            )
        }
        OriginKind::IdentityCenter => {
            let (_, user) = origin::parse_identity_center(o).unwrap_or_default();
            (user.to_string(), "Identity Center user".into())
        }
        OriginKind::Account => {
            let (acct, pid) = origin::parse_account(o).unwrap_or_default();
            (
                if pid.is_empty() {
                    acct.to_string()
                } else {
                    pid.to_string()
                },
                format!("account {acct} (caller copy missing)"),
            )
        }
        OriginKind::Root => (
            "root".into(),
            format!("root user · {}", arn_account(o).unwrap_or("")),
        ),
        OriginKind::IamUser => (
            arn_resource(o)
                .unwrap_or(o)
                .trim_start_matches("user/")
                .to_string(),
            format!("IAM user · {}", arn_account(o).unwrap_or("")),
        ),
        OriginKind::FederatedUser => (
            arn_resource(o).unwrap_or(o).to_string(),
            format!("federated user · {}", arn_account(o).unwrap_or("")),
        ),
        _ => (
            arn_resource(o).unwrap_or(o).to_string(),
            arn_account(o).unwrap_or("").to_string(),
        ),
    }
}

/// What the picture is drawn from (all indexed by session, except the origins).
pub struct Inputs<'a> {
    pub graph: &'a SessionGraph,
    /// Events signed per session.
    pub session_events: &'a [u64],
    /// Per session: the findings whose evidence touches it.
    pub session_findings: &'a [Vec<u32>],
    pub cross_account: &'a [bool],
    pub origins: &'a [OriginRow],
    /// Origin string → index in `origins`.
    pub origin_index: &'a FxHashMap<String, usize>,
}

/// Builds the picture (part of the report's model).
pub fn build(m: &Inputs) -> Picture {
    let sessions = &m.graph.sessions;
    // Sessions per origin, in index order.
    let mut by_origin: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, s) in sessions.iter().enumerate() {
        by_origin.entry(s.origin.as_str()).or_default().push(i);
    }
    let sessions_total = sessions.len() as u64;
    // Rank origins: with findings first, then by activity, then by name.
    let mut ranked: Vec<(&str, u64, u64)> = by_origin
        .keys()
        .map(|&o| {
            let row = m.origin_index.get(o).map(|&i| &m.origins[i]);
            let f = by_origin[o]
                .iter()
                .map(|&s| m.session_findings[s].len() as u64)
                .sum::<u64>()
                + row.map_or(0, |r| r.findings);
            (o, f, row.map_or(0, |r| r.activity()))
        })
        .collect();
    ranked.sort_by(|a, b| {
        (b.1 > 0)
            .cmp(&(a.1 > 0))
            .then_with(|| b.2.cmp(&a.2))
            .then_with(|| a.0.cmp(b.0))
    });
    let origins_total = ranked.len();

    let mut pic = Picture {
        nodes: Vec::new(),
        rows: 0.0,
        cols: 0,
        origins_total,
        origins_shown: 0,
        sessions_total,
        sessions_shown: 0,
        groups: Vec::new(),
    };
    let mut row = 0.0f64;
    for (origin, _, _) in ranked {
        if pic.origins_shown >= MAX_ORIGINS {
            break;
        }
        let tree = origin_tree(m, &by_origin[origin]);
        // The widest fan-out that keeps this origin within its row budget.
        let budget = MAX_ROWS_PER_ORIGIN.min(MAX_ROWS.saturating_sub(row.ceil() as usize));
        let Some(fan) = [6usize, 4, 3, 2, 1]
            .into_iter()
            .find(|&k| leaves(&tree, None, k, 1) <= budget)
        else {
            continue;
        };
        let first_row = row;
        let (label, sub) = origin_labels(origin);
        let orow = m.origin_index.get(origin).map(|&i| &m.origins[i]);
        let top: Vec<usize> = roots(&tree);
        let oi = pic.nodes.len();
        pic.nodes.push(Node {
            kind: NodeKind::Origin,
            col: 0,
            y: 0.0,
            parent: None,
            label,
            sub,
            title: format!(
                "{origin}\n{} session(s), {} event(s)",
                by_origin[origin].len(),
                orow.map_or(0, |r| r.events)
            ),
            origin_kind: trailgraph_log::model::origin_kind(origin),
            account: None,
            sessions: by_origin[origin].len() as u64,
            events: orow.map_or(0, |r| r.events),
            findings: orow.map_or(0, |r| r.findings),
            cross_account: false,
            cycle: false,
            confidence: Confidence::Exact,
            deeper: 0,
            group: 0,
        });
        let ys = place(&tree, &top, oi, 1, fan, &mut row, &mut pic);
        pic.nodes[oi].y = mid(&ys, &mut row);
        pic.origins_shown += 1;
        pic.sessions_shown += by_origin[origin].len() as u64
            - pic.nodes[oi..]
                .iter()
                .filter(|n| n.kind == NodeKind::More)
                .map(|n| n.sessions)
                .sum::<u64>()
            - pic.nodes[oi..].iter().map(|n| n.deeper).sum::<u64>();
        let group = pic.groups.len();
        for n in &mut pic.nodes[oi..] {
            n.group = group;
        }
        pic.groups.push((first_row, row));
        row += 0.35;
    }
    pic.rows = (row - 0.35).max(0.0);
    pic.cols = pic.nodes.iter().map(|n| n.col).max().unwrap_or(0);
    pic
}

fn mid(ys: &[f64], row: &mut f64) -> f64 {
    match (ys.first(), ys.last()) {
        (Some(a), Some(b)) => (a + b) / 2.0,
        _ => {
            let y = *row;
            *row += 1.0;
            y
        }
    }
}

/// The session groups of one origin, as a forest (index 0.. = nodes; roots have no parent).
struct Tree {
    nodes: Vec<TNode>,
    parent: Vec<Option<usize>>,
}

fn roots(t: &Tree) -> Vec<usize> {
    let mut v: Vec<usize> = (0..t.nodes.len())
        .filter(|&i| t.parent[i].is_none())
        .collect();
    sort_children(t, &mut v);
    v
}

fn sort_children(t: &Tree, v: &mut [usize]) {
    v.sort_by(|&a, &b| {
        let (x, y) = (&t.nodes[a], &t.nodes[b]);
        y.subtree_findings
            .cmp(&x.subtree_findings)
            .then_with(|| y.subtree.cmp(&x.subtree))
            .then_with(|| x.label.cmp(&y.label))
    });
}

fn origin_tree(m: &Inputs, sess: &[usize]) -> Tree {
    let sessions = &m.graph.sessions;
    let mut t = Tree {
        nodes: Vec::new(),
        parent: Vec::new(),
    };
    let mut key: FxHashMap<(Option<usize>, String), usize> = FxHashMap::default();
    let mut node_of: FxHashMap<usize, usize> = FxHashMap::default();
    for &s in sess {
        // Walk down the ancestry (top first), creating groups as needed.
        let mut parent: Option<usize> = None;
        for a in m.graph.ancestry(s) {
            if let Some(&n) = node_of.get(&a) {
                parent = Some(n);
                continue;
            }
            let se = &sessions[a];
            let label = hop_label(se);
            let n = *key.entry((parent, label.clone())).or_insert_with(|| {
                t.nodes.push(TNode {
                    label: label.clone(),
                    role: se.role_arn.clone(),
                    account: se.account.clone(),
                    sessions: 0,
                    events: 0,
                    findings: BTreeSet::new(),
                    cross: false,
                    cycle: false,
                    orphan: false,
                    confidence: Confidence::Exact,
                    children: Vec::new(),
                    subtree: 0,
                    subtree_findings: 0,
                });
                t.parent.push(parent);
                if let Some(p) = parent {
                    let idx = t.nodes.len() - 1;
                    t.nodes[p].children.push(idx);
                }
                t.nodes.len() - 1
            });
            let tn = &mut t.nodes[n];
            tn.sessions += 1;
            tn.events += m.session_events[a];
            tn.findings.extend(m.session_findings[a].iter().copied());
            tn.cross |= m.cross_account[a];
            tn.cycle |= se.cycle;
            tn.orphan |= se.orphan;
            tn.confidence = tn.confidence.min(se.confidence);
            if tn.sessions == 1 {
                tn.confidence = se.confidence;
            }
            node_of.insert(a, n);
            parent = Some(n);
        }
    }
    // Subtree totals (children always come after their parents).
    for i in (0..t.nodes.len()).rev() {
        let (s, f) = (t.nodes[i].sessions, t.nodes[i].findings.len() as u64);
        t.nodes[i].subtree += s;
        t.nodes[i].subtree_findings += f;
        if let Some(p) = t.parent[i] {
            let (ss, sf) = (t.nodes[i].subtree, t.nodes[i].subtree_findings);
            t.nodes[p].subtree += ss;
            t.nodes[p].subtree_findings += sf;
        }
    }
    for i in 0..t.nodes.len() {
        let mut c = std::mem::take(&mut t.nodes[i].children);
        sort_children(&t, &mut c);
        t.nodes[i].children = c;
    }
    t
}

/// Rows needed to draw `kids` (or the roots) with at most `fan` children per node.
fn leaves(t: &Tree, kids: Option<&[usize]>, fan: usize, col: usize) -> usize {
    let owned;
    let kids = match kids {
        Some(k) => k,
        None => {
            owned = roots(t);
            &owned
        }
    };
    if kids.is_empty() {
        return 1;
    }
    let shown = if kids.len() > fan {
        fan - 1
    } else {
        kids.len()
    };
    let mut n = if kids.len() > shown { 1 } else { 0 };
    for &k in &kids[..shown] {
        let c = &t.nodes[k].children;
        n += if c.is_empty() || col >= MAX_COLS {
            1
        } else {
            leaves(t, Some(c), fan, col + 1)
        };
    }
    n
}

/// Places `kids` (children of drawn node `parent`) in column `col`; returns their rows.
#[allow(clippy::too_many_arguments)]
fn place(
    t: &Tree,
    kids: &[usize],
    parent: usize,
    col: usize,
    fan: usize,
    row: &mut f64,
    pic: &mut Picture,
) -> Vec<f64> {
    let mut ys = Vec::new();
    let shown = if kids.len() > fan {
        fan - 1
    } else {
        kids.len()
    };
    for &k in &kids[..shown] {
        let tn = &t.nodes[k];
        let idx = pic.nodes.len();
        let (label, sub) = match &tn.role {
            Some(r) if tn.label == *r => (
                role_display(r),
                format!(
                    "{} · {} session{}",
                    tn.account.as_deref().unwrap_or("?"),
                    tn.sessions,
                    if tn.sessions == 1 { "" } else { "s" }
                ),
            ),
            _ => (
                tn.label.clone(),
                format!(
                    "{} · {} session{}",
                    tn.account.as_deref().unwrap_or("?"),
                    tn.sessions,
                    if tn.sessions == 1 { "" } else { "s" }
                ),
            ),
        };
        let deeper = if col >= MAX_COLS {
            tn.subtree - tn.sessions
        } else {
            0
        };
        let mut title = format!(
            "{}\naccount {}\n{} session(s), {} event(s), confidence {}",
            tn.label,
            tn.account.as_deref().unwrap_or("?"),
            tn.sessions,
            tn.events,
            tn.confidence.as_str()
        );
        if tn.cross {
            title.push_str("\ncross-account hop");
        }
        if tn.cycle {
            title.push_str("\nrole already higher in the chain (cycle)");
        }
        if tn.orphan {
            title.push_str("\nissuance not in the input");
        }
        if !tn.findings.is_empty() {
            let _ = write!(title, "\n{} finding(s)", tn.findings.len());
        }
        if deeper > 0 {
            let _ = write!(title, "\n{deeper} deeper session(s) not drawn");
        }
        pic.nodes.push(Node {
            kind: NodeKind::Role,
            col,
            y: 0.0,
            parent: Some(parent),
            label,
            sub,
            title,
            origin_kind: "",
            account: tn.account.clone(),
            sessions: tn.sessions,
            events: tn.events,
            findings: tn.findings.len() as u64,
            cross_account: tn.cross,
            cycle: tn.cycle,
            confidence: tn.confidence,
            deeper,
            group: 0,
        });
        let y = if tn.children.is_empty() || col >= MAX_COLS {
            let y = *row;
            *row += 1.0;
            y
        } else {
            let cy = place(t, &tn.children, idx, col + 1, fan, row, pic);
            mid(&cy, row)
        };
        pic.nodes[idx].y = y;
        ys.push(y);
    }
    if kids.len() > shown {
        let rest = &kids[shown..];
        let sessions: u64 = rest.iter().map(|&k| t.nodes[k].subtree).sum();
        let findings: u64 = rest.iter().map(|&k| t.nodes[k].subtree_findings).sum();
        let y = *row;
        *row += 1.0;
        pic.nodes.push(Node {
            kind: NodeKind::More,
            col,
            y,
            parent: Some(parent),
            label: format!("+{} more role paths", rest.len()),
            sub: format!("{sessions} session{}", if sessions == 1 { "" } else { "s" }),
            title: format!(
                "{} more paths with {sessions} session(s) not drawn; see chains.csv",
                rest.len()
            ),
            origin_kind: "",
            account: None,
            sessions,
            events: 0,
            findings,
            cross_account: false,
            cycle: false,
            confidence: Confidence::Exact,
            deeper: 0,
            group: 0,
        });
        ys.push(y);
    }
    ys
}

/// A role ARN as shown in a box: its name with a short path (`ops/Hop2`), the name alone
/// when the path is long (`aws-reserved/sso.amazonaws.com/…`), `root (AssumeRoot)` for
/// AssumeRoot.
pub(crate) fn role_display(r: &str) -> String {
    match arn_resource(r) {
        Some("root") => "root (AssumeRoot)".to_string(),
        Some(res) => {
            let p = res.strip_prefix("role/").unwrap_or(res);
            if p.chars().count() <= 28 {
                p.to_string()
            } else {
                role_name(r).to_string()
            }
        }
        None => r.to_string(),
    }
}

// --- SVG -------------------------------------------------------------------------------------

const ROW_H: f64 = 46.0;
const BOX_H: f64 = 36.0;
const ORIGIN_W: f64 = 250.0;
/// Role boxes are as wide as fits the page (up to a limit), at least this wide.
const BOX_W_MIN: f64 = 204.0;
const BOX_W_MAX: f64 = 330.0;
/// The width the picture is laid out for (it scales down to the page when wider).
const PAGE_W: f64 = 1268.0;
const GAP: f64 = 44.0;
const PAD: f64 = 8.0;
/// Between the two panels when a narrow picture is split in two.
const PANEL_GAP: f64 = 36.0;

/// Column geometry: x and width of each column.
struct Geo {
    box_w: f64,
}

impl Geo {
    /// Geometry for `cols` hop columns in a panel `page` wide.
    fn new(cols: usize, page: f64) -> Geo {
        let box_w = if cols == 0 {
            BOX_W_MIN
        } else {
            ((page - 2.0 * PAD - ORIGIN_W - cols as f64 * GAP) / cols as f64)
                .clamp(BOX_W_MIN, BOX_W_MAX)
                .floor()
        };
        Geo { box_w }
    }
    fn x(&self, col: usize) -> f64 {
        if col == 0 {
            PAD
        } else {
            PAD + ORIGIN_W + GAP + (col - 1) as f64 * (self.box_w + GAP)
        }
    }
    fn w(&self, col: usize) -> f64 {
        if col == 0 {
            ORIGIN_W
        } else {
            self.box_w
        }
    }
}

/// The picture as an inline `<svg>` element (no external references).
pub fn svg(p: &Picture) -> String {
    let half = (PAGE_W - PANEL_GAP) / 2.0;
    let narrow = Geo::new(p.cols, half);
    let two_fit = narrow.x(p.cols) + narrow.w(p.cols) + PAD <= half;
    let g = if two_fit {
        narrow
    } else {
        Geo::new(p.cols, PAGE_W)
    };
    let col_w = |c| g.w(c);
    let panel_w = g.x(p.cols) + col_w(p.cols) + PAD;
    // A narrow picture (shallow chains) is split into two panels side by side, origin groups
    // flowing from the bottom of the left panel to the top of the right one.
    let mut off: Vec<(f64, f64)> = vec![(0.0, 0.0); p.groups.len()];
    let mut rows = p.rows;
    let mut width = panel_w;
    if p.groups.len() >= 2 && two_fit {
        let best = (1..p.groups.len())
            .map(|k| {
                let left = p.groups[k - 1].1;
                let right = p.rows - p.groups[k].0;
                (left.max(right), k)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        if let Some((r, k)) = best {
            if r < p.rows {
                rows = r;
                width = 2.0 * panel_w + PANEL_GAP;
                let dy = p.groups[k].0 * ROW_H;
                for o in &mut off[k..] {
                    *o = (panel_w + PANEL_GAP, -dy);
                }
            }
        }
    }
    let col_x = |c: usize, grp: usize| g.x(c) + off[grp].0;
    let height = rows * ROW_H + PAD * 2.0;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="chains" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="Role chains: origins on the left, sessions to the right by depth">"#
    );
    let cy = |y: f64, grp: usize| PAD + y * ROW_H + ROW_H / 2.0 + off[grp].1;
    // Bands per origin group, alternating within each panel.
    let mut shade = true;
    for (i, (a, b)) in p.groups.iter().enumerate() {
        if i > 0 && off[i] != off[i - 1] {
            shade = true;
        }
        if shade {
            let _ = write!(
                o,
                r#"<rect class="band" x="{:.1}" y="{:.1}" width="{panel_w:.0}" height="{:.1}"/>"#,
                off[i].0,
                PAD + a * ROW_H - 4.0 + off[i].1,
                (b - a) * ROW_H + 8.0
            );
        }
        shade = !shade;
    }
    // Edges first, boxes on top.
    for n in &p.nodes {
        let Some(pi) = n.parent else { continue };
        let pn = &p.nodes[pi];
        let (x1, y1) = (col_x(pn.col, pn.group) + col_w(pn.col), cy(pn.y, pn.group));
        let (x2, y2) = (col_x(n.col, n.group), cy(n.y, n.group));
        let cls = if n.cross_account {
            "edge cross"
        } else if n.kind == NodeKind::More {
            "edge more"
        } else if n.confidence == Confidence::Inferred {
            "edge inferred"
        } else {
            "edge"
        };
        let _ = write!(
            o,
            r#"<path class="{cls}" d="M{x1:.1} {y1:.1} C{:.1} {y1:.1} {:.1} {y2:.1} {x2:.1} {y2:.1}"/>"#,
            x1 + GAP / 2.0,
            x2 - GAP / 2.0
        );
    }
    for n in &p.nodes {
        let (x, y) = (col_x(n.col, n.group), cy(n.y, n.group) - BOX_H / 2.0);
        let w = col_w(n.col);
        let mut cls = match n.kind {
            NodeKind::Origin => format!("node origin k-{}", n.origin_kind),
            NodeKind::Role => "node role".to_string(),
            NodeKind::More => "node more".to_string(),
        };
        if n.kind == NodeKind::Role {
            match n.confidence {
                Confidence::Exact => {}
                Confidence::Inferred => cls.push_str(" inferred"),
                Confidence::Unknown => cls.push_str(" unknown"),
            }
            if n.cross_account {
                cls.push_str(" cross");
            }
        }
        if n.findings > 0 && n.kind != NodeKind::More {
            cls.push_str(" flagged");
        }
        let _ = write!(o, r#"<g class="{cls}"><title>{}</title>"#, h(&n.title));
        let _ = write!(
            o,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.0}" height="{BOX_H:.0}" rx="6"/>"#
        );
        if n.cross_account {
            let _ = write!(
                o,
                r#"<rect class="xbar" x="{x:.1}" y="{y:.1}" width="5" height="{BOX_H:.0}" rx="2"/>"#
            );
        }
        // Badges on the right.
        let mut badges: Vec<(&str, String)> = Vec::new();
        if n.findings > 0 && n.kind != NodeKind::More {
            badges.push(("b-anom", format!("⚠ {}", n.findings)));
        }
        if n.cycle {
            badges.push(("b-cycle", "↺".into()));
        }
        if n.cross_account {
            badges.push(("b-cross", "⇄".into()));
        }
        if n.deeper > 0 {
            badges.push(("b-deep", format!("+{}", n.deeper)));
        }
        node_text(
            &mut o,
            (x, y, w),
            (&badges, 7.0),
            (&n.label, n.kind != NodeKind::Origin),
            (&n.sub, 6.3),
        );
    }
    o.push_str("</svg>");
    o
}

/// Draws the text of a node's box at `(x, y)` of width `w` (`BOX_H` high): its badges
/// right-aligned (`(class, text)`, `px` per character), its label (cut in the middle when
/// `middle`, for role names; else at the end) and its sub-label (`px` per character), escaped,
/// and closes the node's `<g>`.
pub(crate) fn node_text(
    o: &mut String,
    (x, y, w): (f64, f64, f64),
    (badges, badge_px): (&[(&str, String)], f64),
    (label, middle): (&str, bool),
    (sub, sub_px): (&str, f64),
) {
    let mut bx = x + w - 4.0;
    let mut badge_w = 0.0;
    for (bc, text) in badges.iter().rev() {
        let bw = 8.0 + badge_px * text.chars().count() as f64;
        bx -= bw;
        badge_w += bw + 2.0;
        let _ = write!(
            o,
            r#"<rect class="badge {bc}" x="{bx:.1}" y="{:.1}" width="{bw:.0}" height="14" rx="7"/><text class="btext" x="{:.1}" y="{:.1}">{}</text>"#,
            y + 3.0,
            bx + bw / 2.0,
            y + 13.5,
            h(text)
        );
        bx -= 2.0;
    }
    let chars = ((w - 16.0 - badge_w) / 7.6).max(6.0) as usize;
    let sub_chars = ((w - 14.0) / sub_px) as usize;
    let label = if middle {
        fit_middle(label, chars)
    } else {
        fit(label, chars)
    };
    let _ = write!(
        o,
        r#"<text class="l1" x="{:.1}" y="{:.1}">{}</text><text class="l2" x="{:.1}" y="{:.1}">{}</text></g>"#,
        x + 9.0,
        y + 15.0,
        h(&label),
        x + 9.0,
        y + 29.0,
        h(&fit(sub, sub_chars))
    );
}

/// The picture as a nested Markdown list.
pub(crate) fn markdown(p: &Picture) -> String {
    let mut o = String::new();
    let mut kids: Vec<Vec<usize>> = vec![Vec::new(); p.nodes.len()];
    for (i, n) in p.nodes.iter().enumerate() {
        if let Some(pi) = n.parent {
            kids[pi].push(i);
        }
    }
    fn walk(p: &Picture, kids: &[Vec<usize>], i: usize, depth: usize, o: &mut String) {
        let n = &p.nodes[i];
        let mut marks = Vec::new();
        if n.cross_account {
            marks.push("⇄ cross-account".to_string());
        }
        if n.findings > 0 && n.kind != NodeKind::More {
            marks.push(format!("⚠ {} finding(s)", n.findings));
        }
        if n.cycle {
            marks.push("↺ cycle".to_string());
        }
        if n.kind == NodeKind::Role && n.confidence != Confidence::Exact {
            marks.push(format!("confidence {}", n.confidence.as_str()));
        }
        if n.deeper > 0 {
            marks.push(format!("+{} deeper sessions", n.deeper));
        }
        let first = n.title.lines().next().unwrap_or("");
        let text = match n.kind {
            NodeKind::Origin => format!(
                "**{}** — {} session(s), {} event(s)",
                super::md(first),
                n.sessions,
                n.events
            ),
            NodeKind::Role => format!(
                "{} ({}) — {} session(s), {} event(s)",
                super::md(first),
                super::md(n.account.as_deref().unwrap_or("?")),
                n.sessions,
                n.events
            ),
            NodeKind::More => format!("{} — {}", super::md(&n.label), super::md(&n.sub)),
        };
        let _ = write!(o, "{}- {text}", "  ".repeat(depth));
        if !marks.is_empty() {
            let _ = write!(
                o,
                " [{}]",
                marks.join(", ").replace('[', "(").replace(']', ")")
            );
        }
        o.push('\n');
        for &k in &kids[i] {
            walk(p, kids, k, depth + 1, o);
        }
    }
    for (i, n) in p.nodes.iter().enumerate() {
        if n.parent.is_none() {
            walk(p, &kids, i, 0, &mut o);
        }
    }
    o
}
