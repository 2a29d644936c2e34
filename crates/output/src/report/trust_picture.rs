//! The picture of one role's trust (issue 16, point 5): the role in the middle, on the left the
//! principals its latest trust policy names, on the right the direct callers observed assuming
//! it and, further right, the origin behind each. The rows are lanes: each trusted principal
//! shares its band with the callers it matched (`matched_principal` of `trust`), so what *could*
//! assume the role and what *did* line up; callers no principal of the latest policy names sit
//! in a last lane beside a placeholder. Unused trusts, broad trusts, Deny statements, unexplained
//! assumptions and deny/unknown verdicts are marked. Capped per side with "+N more" nodes (every
//! row is in trust.csv); deterministic (a function of the role's rows, in their order).

use super::data::{Observed, RoleTrust, Trusted};
use super::picture::{node_text, origin_labels, role_display};
use super::{fit, fit_middle, h, md};
use std::fmt::Write;
use trailgraph_log::model::{arn_account, arn_resource, origin_kind, parse_time};

/// At most this many principal nodes (the "+N more" node included).
pub(crate) const MAX_PRINCIPALS: usize = 12;
/// At most this many caller nodes (the "+N more" node included).
pub(crate) const MAX_CALLERS: usize = 12;
/// Origin nodes per caller (the "+N more" node included), reduced to keep within `MAX_ROWS`.
const MAX_ORIGINS_PER_CALLER: usize = 3;
const MAX_ROWS: usize = 24;

/// Which column a node is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Col {
    #[default]
    Principal,
    Caller,
    Origin,
}

/// One drawn node (a principal, a caller, an origin, a placeholder or a "+N more").
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    pub col: Col,
    /// Row of its centre (fractional for nodes spanning rows).
    pub y: f64,
    /// CSS classes of its group (`node p-user unused`).
    pub class: String,
    pub label: String,
    pub sub: String,
    /// Tooltip: the full text.
    pub title: String,
    /// (class, text) drawn on the right of the box.
    pub badges: Vec<(&'static str, String)>,
    /// Class of the edge to the role (principals, callers) or to its caller (origins); empty:
    /// no edge.
    pub edge: &'static str,
    /// Text on the edge (callers: the verdicts when not all allow).
    pub edge_label: String,
    /// Origins: their caller's node.
    pub parent: Option<usize>,
    /// A "+N more" or placeholder node (no row of its own in the Markdown form).
    pub aside: bool,
}

/// A band of rows: one trusted principal (or the placeholder) and the callers it matched.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lane {
    pub principal: Option<usize>,
    pub callers: Vec<usize>,
    pub first_row: f64,
    pub rows: f64,
}

/// The laid-out picture of one role.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustPicture {
    pub role_label: String,
    /// Lines under the role's name (account, policy, last used).
    pub role_lines: Vec<String>,
    pub role_title: String,
    pub nodes: Vec<Node>,
    pub lanes: Vec<Lane>,
    pub rows: f64,
    pub principals_total: usize,
    pub principals_shown: usize,
    pub callers_total: usize,
    pub callers_shown: usize,
    /// (caller, origin) pairs in all, and drawn.
    pub origins_total: usize,
    pub origins_shown: usize,
}

impl TrustPicture {
    /// Something was left out.
    pub fn capped(&self) -> bool {
        self.principals_shown < self.principals_total
            || self.callers_shown < self.callers_total
            || self.origins_shown < self.origins_total
    }
}

/// The verdicts of a caller's calls, summed over its origins.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    allow: u64,
    deny: u64,
    unknown: u64,
}

impl Counts {
    /// Adds `allow 3, deny 1` (as `trust` writes `verdicts`).
    fn add(&mut self, verdicts: &str) {
        for part in verdicts.split(", ") {
            let Some((d, n)) = part.split_once(' ') else {
                continue;
            };
            let n: u64 = n.parse().unwrap_or(0);
            match d {
                "allow" => self.allow += n,
                "deny" => self.deny += n,
                "unknown" => self.unknown += n,
                _ => {}
            }
        }
    }
    fn text(&self) -> String {
        [
            ("allow", self.allow),
            ("deny", self.deny),
            ("unknown", self.unknown),
        ]
        .iter()
        .filter(|p| p.1 > 0)
        .map(|(d, n)| format!("{d} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
    }
    /// 0 all allowed, 1 some unknown, 2 some denied.
    fn severity(&self) -> u8 {
        if self.deny > 0 {
            2
        } else if self.unknown > 0 {
            1
        } else {
            0
        }
    }
}

/// One direct caller, its origins gathered.
struct Caller<'a> {
    name: &'a str,
    rows: Vec<&'a Observed>,
    calls: u64,
    first: &'a str,
    last: &'a str,
    counts: Counts,
    /// Principals that named it, most calls first.
    matched: Vec<&'a str>,
    unexplained: bool,
}

fn callers(r: &RoleTrust) -> Vec<Caller<'_>> {
    let mut out: Vec<Caller> = Vec::new();
    for o in &r.observed {
        let i = match out.iter().position(|c| c.name == o.caller) {
            Some(i) => i,
            None => {
                out.push(Caller {
                    name: &o.caller,
                    rows: Vec::new(),
                    calls: 0,
                    first: &o.first,
                    last: &o.last,
                    counts: Counts::default(),
                    matched: Vec::new(),
                    unexplained: r
                        .findings
                        .iter()
                        .any(|f| f.kind == "assumption_not_explained" && f.principal == o.caller),
                });
                out.len() - 1
            }
        };
        let c = &mut out[i];
        c.rows.push(o);
        c.calls += o.assumptions;
        c.counts.add(&o.verdicts);
        let t = |s: &str| parse_time(s).unwrap_or(i64::MIN);
        if t(&o.first) < t(c.first) {
            c.first = &o.first;
        }
        if t(&o.last) > t(c.last) {
            c.last = &o.last;
        }
    }
    for c in &mut out {
        // Matched principals over the origins, the row with most calls first.
        let mut rows = c.rows.clone();
        rows.sort_by_key(|o| std::cmp::Reverse(o.assumptions));
        for o in rows {
            for m in &o.matched {
                if !c.matched.contains(&m.as_str()) {
                    c.matched.push(m);
                }
            }
        }
        // Origins with most calls first.
        c.rows.sort_by(|a, b| {
            b.assumptions
                .cmp(&a.assumptions)
                .then(a.origin.cmp(&b.origin))
        });
    }
    out
}

/// `2024-05-03 07:30`.
fn minute(t: &str) -> String {
    t.get(..16).unwrap_or(t).replacen('T', " ", 1)
}

/// `2024-05-03 07:30`, `2024-05-03 07:30–15:00`, `2024-05-01 → 2024-06-02`.
fn span(first: &str, last: &str) -> String {
    let (a, b) = (minute(first), minute(last));
    if a == b {
        a
    } else if a.get(..10) == b.get(..10) {
        format!("{a}–{}", b.get(11..).unwrap_or(""))
    } else {
        format!(
            "{} → {}",
            a.get(..10).unwrap_or(&a),
            b.get(..10).unwrap_or(&b)
        )
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Short names of well-known condition keys (the tooltip has the statement).
fn key_short(k: &str) -> String {
    match k.to_ascii_lowercase().as_str() {
        "sts:externalid" => "ExternalId".into(),
        "aws:multifactorauthpresent" | "aws:multifactorauthage" => "MFA".into(),
        "aws:principalorgid" => "OrgID".into(),
        "aws:principalorgpaths" => "OrgPaths".into(),
        "aws:sourceip" => "SourceIp".into(),
        "aws:currenttime" | "aws:epochtime" => "time".into(),
        "sts:rolesessionname" => "SessionName".into(),
        "sts:sourceidentity" => "SourceIdentity".into(),
        "aws:principalarn" => "PrincipalArn".into(),
        _ => {
            // `token.actions.githubusercontent.com:sub` → `sub`; `aws:RequestTag/team` → as is.
            let tail = k.rsplit_once(':').map_or(k, |(_, t)| t);
            tail.to_string()
        }
    }
}

/// Condition keys that bound who may assume a role, shown first.
const NOTABLE: [&str; 5] = ["ExternalId", "MFA", "OrgID", "OrgPaths", "SourceIp"];

/// The conditions of a statement, short and within `room` characters: `if MFA, ExternalId`,
/// `if ExternalId, MFA +8` (the well-known bounding keys first).
fn conditions_short(keys: &[String], room: usize) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let mut v: Vec<String> = Vec::new();
    for k in keys {
        let s = key_short(k);
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v.sort_by_key(|k| NOTABLE.iter().position(|n| n == k).unwrap_or(NOTABLE.len()));
    let mut out = String::from("if");
    for (i, k) in v.iter().enumerate() {
        let rest = v.len() - i - 1;
        let more = if rest > 0 {
            format!(" +{rest}")
        } else {
            String::new()
        };
        let sep = if i == 0 { " " } else { ", " };
        if i > 0 && out.chars().count() + sep.len() + k.chars().count() + more.len() > room {
            let _ = write!(out, " +{}", v.len() - i);
            return out;
        }
        out.push_str(sep);
        out.push_str(k);
    }
    out
}

/// `snapshot gaad.json`, `UpdateAssumeRolePolicy 2024-05-01 11:10` (+ `2 versions`) from a
/// `policy_source` (`snapshot DIR/gaad.json`, `UpdateAssumeRolePolicy <id> at <time> (…)`).
fn source_short(src: &str) -> Vec<String> {
    let (head, note) = match src.split_once(" (") {
        Some((h, n)) => (h, n.trim_end_matches(')')),
        None => (src, ""),
    };
    let mut out = vec![if let Some(f) = head.strip_prefix("snapshot ") {
        format!("snapshot {}", f.rsplit(['/', '\\']).next().unwrap_or(f))
    } else if let Some((ev, at)) = head.split_once(" at ") {
        format!("{} {}", ev.split_once(' ').map_or(ev, |x| x.0), minute(at))
    } else {
        head.to_string()
    }];
    if let Some(n) = note.split_once(" in the input") {
        out.push(n.0.to_string());
    }
    out
}

/// (label, kind line, CSS class) of a trusted principal as `trust` writes it.
fn principal_labels(p: &str, role_account: &str) -> (String, String, &'static str) {
    if p == "*" || p == "AWS *" {
        return ("* (anyone)".into(), "any principal".into(), "p-any");
    }
    if let Some(rest) = p.strip_prefix("everyone but ") {
        return (
            format!(
                "everyone but {}",
                rest.split_once(' ').map_or(rest, |x| x.1)
            ),
            "NotPrincipal".into(),
            "p-any",
        );
    }
    let (kind, value) = p.split_once(' ').unwrap_or(("", p));
    match kind {
        "AWS" => {
            if let Some(acct) = trailgraph_analysis::trust::eval::principal_account(value) {
                let kind = if acct != role_account {
                    "foreign account (all of it)"
                } else {
                    "own account (all of it)"
                };
                return (format!("account {acct}"), kind.into(), "p-account");
            }
            let acct = arn_account(value).unwrap_or("");
            match arn_resource(value) {
                Some(res) if res.starts_with("user/") => (
                    res.rsplit('/').next().unwrap_or(res).to_string(),
                    format!("IAM user · {acct}"),
                    "p-user",
                ),
                Some(res) if res.starts_with("role/") => {
                    (role_display(value), format!("role · {acct}"), "p-role")
                }
                Some(res) if res.starts_with("assumed-role/") => (
                    res.trim_start_matches("assumed-role/").to_string(),
                    format!("role session · {acct}"),
                    "p-role",
                ),
                Some(res) => (res.to_string(), format!("AWS · {acct}"), "p-user"),
                None => (
                    value.to_string(),
                    "AWS principal (unique id)".into(),
                    "p-user",
                ),
            }
        }
        "Service" => (value.to_string(), "AWS service".into(), "p-service"),
        "Federated" => {
            if let Some((_, name)) = value.split_once(":saml-provider/") {
                (name.to_string(), "SAML provider".into(), "p-fed")
            } else if let Some((_, host)) = value.split_once(":oidc-provider/") {
                (host.to_string(), "OIDC provider".into(), "p-fed")
            } else {
                (value.to_string(), "web identity provider".into(), "p-fed")
            }
        }
        _ => (value.to_string(), kind.to_string(), "p-user"),
    }
}

/// (label, kind line) of a direct caller as `trust` writes it.
fn caller_labels(c: &str) -> (String, &'static str) {
    match arn_resource(c) {
        Some(res) if c.contains(":saml-provider/") => (
            res.trim_start_matches("saml-provider/").to_string(),
            "SAML provider",
        ),
        Some(res) if c.contains(":oidc-provider/") => (
            res.trim_start_matches("oidc-provider/").to_string(),
            "OIDC provider",
        ),
        Some(res) if res.starts_with("user/") => (
            res.rsplit('/').next().unwrap_or(res).to_string(),
            "IAM user",
        ),
        Some(res) if res.starts_with("role/") => (role_display(c), "role session"),
        Some("root") => ("root".into(), "root user"),
        Some(res) => (res.to_string(), "principal"),
        None if c.ends_with(".amazonaws.com") || c.ends_with(".amazonaws.com.cn") => {
            (c.to_string(), "AWS service")
        }
        None => (c.to_string(), "caller"),
    }
}

/// Does a finding's principal name this trusted principal? (`*` is written `AWS *` in
/// `unused_trust`, several NotPrincipal values are joined by `; ` in `broad_trust`.)
fn finding_names(finding: &str, p: &str) -> bool {
    finding == p
        || (p == "*" && finding == "AWS *")
        || (p.starts_with("everyone but ") && finding.split("; ").any(|f| f == p))
}

/// Builds the picture of `r` (its rows in `trust`'s order).
pub(crate) fn build(r: &RoleTrust) -> TrustPicture {
    let role_account = arn_account(&r.role_arn).unwrap_or("");
    let mut pic = TrustPicture {
        role_label: role_display(&r.role_arn),
        role_title: r.role_arn.clone(),
        principals_total: r.trusted.len(),
        ..TrustPicture::default()
    };
    pic.role_lines.push(format!("account {role_account}"));
    if !r.policy_source.is_empty() {
        let mut short = source_short(&r.policy_source).into_iter();
        pic.role_lines
            .push(format!("policy: {}", short.next().unwrap_or_default()));
        pic.role_lines.extend(short);
        let _ = write!(pic.role_title, "\ntrust policy: {}", r.policy_source);
    } else {
        pic.role_lines.push("no trust policy known".into());
    }
    if !r.last_used.is_empty() {
        let used = match parse_time(r.last_used.get(..20).unwrap_or("")) {
            Some(_) => minute(&r.last_used),
            None => r.last_used.clone(),
        };
        pic.role_lines.push(format!("last used: {used}"));
        let _ = write!(pic.role_title, "\nRoleLastUsed: {}", r.last_used);
    }
    let cs = callers(r);
    pic.callers_total = cs.len();
    pic.origins_total = cs.iter().map(|c| c.rows.len()).sum();

    // Callers shown: the most severe first, then the busiest.
    let mut order: Vec<usize> = (0..cs.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&cs[a], &cs[b]);
        (y.unexplained, y.counts.severity(), y.calls)
            .cmp(&(x.unexplained, x.counts.severity(), x.calls))
            .then_with(|| x.name.cmp(y.name))
    });
    let keep_c = if cs.len() > MAX_CALLERS {
        MAX_CALLERS - 1
    } else {
        cs.len()
    };
    let hidden_c: Vec<usize> = order[keep_c..].to_vec();
    let mut shown_c: Vec<usize> = order[..keep_c].to_vec();
    pic.callers_shown = shown_c.len();

    // Principals shown: those matching a shown caller, broad or Deny ones, then the others;
    // drawn in the policy's order.
    let is_lane = |t: &Trusted| !t.deny;
    let used_by_shown = |i: usize| {
        shown_c.iter().any(|&c| {
            cs[c]
                .matched
                .iter()
                .any(|m| *m == r.trusted[i].principal && is_lane(&r.trusted[i]))
        })
    };
    let broad = |i: usize| {
        r.findings.iter().any(|f| {
            f.kind == "broad_trust" && finding_names(&f.principal, &r.trusted[i].principal)
        })
    };
    let unused = |i: usize| {
        r.findings.iter().any(|f| {
            f.kind == "unused_trust" && finding_names(&f.principal, &r.trusted[i].principal)
        })
    };
    let mut porder: Vec<usize> = (0..r.trusted.len()).collect();
    porder.sort_by_key(|&i| (!used_by_shown(i), !(broad(i) || r.trusted[i].deny), i));
    let keep_p = if r.trusted.len() > MAX_PRINCIPALS {
        MAX_PRINCIPALS - 1
    } else {
        r.trusted.len()
    };
    let mut shown_p: Vec<usize> = porder[..keep_p].to_vec();
    shown_p.sort_unstable();
    let hidden_p = r.trusted.len() - shown_p.len();
    pic.principals_shown = shown_p.len();

    // Lanes: each shown Allow principal with the shown callers whose first matched principal
    // it is; then the callers no shown principal names.
    let lane_of = |c: &Caller| -> Option<usize> {
        c.matched.iter().find_map(|m| {
            shown_p
                .iter()
                .copied()
                .find(|&i| r.trusted[i].principal == *m && is_lane(&r.trusted[i]))
        })
    };
    // Callers in a lane: most calls first, then by name.
    shown_c.sort_by(|&a, &b| {
        cs[b]
            .calls
            .cmp(&cs[a].calls)
            .then_with(|| cs[a].name.cmp(cs[b].name))
    });
    let mut lanes: Vec<(Option<usize>, Vec<usize>)> =
        shown_p.iter().map(|&i| (Some(i), Vec::new())).collect();
    let mut other: Vec<usize> = Vec::new();
    for &c in &shown_c {
        match lane_of(&cs[c]) {
            Some(p) => {
                let k = shown_p.iter().position(|&i| i == p).expect("shown");
                lanes[k].1.push(c);
            }
            None => other.push(c),
        }
    }
    if !other.is_empty() || r.trusted.is_empty() {
        lanes.push((None, other));
    }

    // Origins per caller: as many as fit the row budget.
    let fixed = lanes.iter().filter(|l| l.1.is_empty()).count()
        + usize::from(hidden_p > 0 || !hidden_c.is_empty());
    let rows_with = |k: usize| -> usize {
        fixed
            + shown_c
                .iter()
                .map(|&c| cs[c].rows.len().clamp(1, k))
                .sum::<usize>()
    };
    let per_caller = (1..=MAX_ORIGINS_PER_CALLER)
        .rev()
        .find(|&k| rows_with(k) <= MAX_ROWS)
        .unwrap_or(1);

    // Place the lanes.
    let mut row = 0.0f64;
    for (p, lane_callers) in lanes {
        let first_row = row;
        let mut callers_idx = Vec::new();
        for &c in &lane_callers {
            let ci = caller_node(&mut pic, &cs[c], r, &mut row, per_caller);
            callers_idx.push(ci);
        }
        if lane_callers.is_empty() {
            row += 1.0;
        }
        let mid = (first_row + row - 1.0) / 2.0;
        let pi = match p {
            Some(i) => principal_node(
                &mut pic,
                &r.trusted[i],
                role_account,
                unused(i),
                broad(i),
                mid,
            ),
            None => {
                let (label, sub, title) = if r.trusted.is_empty() {
                    (
                        "no trust policy known".to_string(),
                        "give the role's IAM configuration (--iam)".to_string(),
                        if r.no_policy.is_empty() {
                            "no trust policy known".to_string()
                        } else {
                            r.no_policy.clone()
                        },
                    )
                } else {
                    (
                        "not in the latest policy".to_string(),
                        "an earlier version, or not trusted".to_string(),
                        "These callers are named by no principal of the latest trust policy: an earlier version of the policy allowed them, or none did (see the verdicts)".to_string(),
                    )
                };
                pic.nodes.push(Node {
                    col: Col::Principal,
                    y: mid,
                    class: "node p-none".into(),
                    label,
                    sub,
                    title,
                    aside: true,
                    ..Node::default()
                });
                pic.nodes.len() - 1
            }
        };
        pic.lanes.push(Lane {
            principal: Some(pi),
            callers: callers_idx,
            first_row,
            rows: row - first_row,
        });
        row += 0.3;
    }
    // What was left out, on one last row.
    if hidden_p > 0 || !hidden_c.is_empty() {
        let first_row = row;
        let mut lane = Lane {
            first_row,
            rows: 1.0,
            ..Lane::default()
        };
        if hidden_p > 0 {
            let left: Vec<&str> = porder[keep_p..]
                .iter()
                .map(|&i| r.trusted[i].principal.as_str())
                .collect();
            let unused_n = porder[keep_p..].iter().filter(|&&i| unused(i)).count();
            pic.nodes.push(Node {
                col: Col::Principal,
                y: row,
                class: "node more".into(),
                label: format!("+{hidden_p} more principals"),
                sub: if unused_n > 0 {
                    format!("{unused_n} never used · see trust.csv")
                } else {
                    "see trust.csv".into()
                },
                title: format!("Not drawn (all in trust.csv):\n{}", left.join("\n")),
                edge: "tedge more",
                aside: true,
                ..Node::default()
            });
            lane.principal = Some(pic.nodes.len() - 1);
        }
        if !hidden_c.is_empty() {
            let calls: u64 = hidden_c.iter().map(|&c| cs[c].calls).sum();
            let left: Vec<&str> = hidden_c.iter().map(|&c| cs[c].name).collect();
            pic.nodes.push(Node {
                col: Col::Caller,
                y: row,
                class: "node more".into(),
                label: format!("+{} more callers", hidden_c.len()),
                sub: format!(
                    "{} · see trust.csv",
                    plural(calls, "assumption", "assumptions")
                ),
                title: format!("Not drawn (all in trust.csv):\n{}", left.join("\n")),
                edge: "oedge more",
                aside: true,
                ..Node::default()
            });
            lane.callers.push(pic.nodes.len() - 1);
        }
        pic.lanes.push(lane);
        row += 1.3;
    }
    pic.rows = (row - 0.3).max(1.0);
    pic
}

fn principal_node(
    pic: &mut TrustPicture,
    t: &Trusted,
    role_account: &str,
    unused: bool,
    broad: bool,
    y: f64,
) -> usize {
    let (label, kind, pclass) = principal_labels(&t.principal, role_account);
    let mut sub = kind;
    if t.deny {
        sub = format!("Deny · {sub}");
    }
    let room = SUB_CHARS.saturating_sub(sub.chars().count() + 3).max(14);
    let conds = conditions_short(&t.condition_keys, room);
    if !conds.is_empty() {
        let _ = write!(sub, " · {conds}");
    }
    let mut class = format!("node {pclass}");
    let mut badges = Vec::new();
    let mut title = format!("{}\n{}", t.principal, t.statement);
    let mut edge = "tedge";
    if t.deny {
        class.push_str(" deny");
        badges.push(("b-deny", "deny".to_string()));
        edge = "tedge deny";
    }
    if broad {
        class.push_str(" broad");
        badges.push(("b-anom", "⚠ broad".to_string()));
        title.push_str("\nbroad_trust: no sts:ExternalId or aws:PrincipalOrgID condition");
    }
    if unused {
        class.push_str(" unused");
        badges.push(("b-unused", "never used".to_string()));
        title.push_str("\nunused_trust: never observed assuming the role in the input");
        edge = "tedge unused";
    }
    pic.nodes.push(Node {
        col: Col::Principal,
        y,
        class,
        label,
        sub,
        title,
        badges,
        edge,
        ..Node::default()
    });
    pic.nodes.len() - 1
}

/// Places a caller and its origins from row `*row` on; returns the caller's node.
fn caller_node(
    pic: &mut TrustPicture,
    c: &Caller,
    r: &RoleTrust,
    row: &mut f64,
    per_caller: usize,
) -> usize {
    let (label, kind) = caller_labels(c.name);
    let ci = pic.nodes.len();
    let sev = c.counts.severity();
    let mut class = "node caller".to_string();
    let mut badges = Vec::new();
    if c.unexplained {
        class.push_str(" flagged");
        badges.push(("b-anom", "⚠ not explained".to_string()));
    }
    let latest: Vec<&str> = r.trusted.iter().map(|t| t.principal.as_str()).collect();
    let mut title = format!(
        "{}\n{kind}\n{} · {} .. {}\nverdicts of the policy in force: {}",
        c.name,
        plural(c.calls, "assumption", "assumptions"),
        c.first,
        c.last,
        c.counts.text()
    );
    if c.matched.is_empty() {
        title.push_str("\nno Allow statement names this caller");
    }
    for m in &c.matched {
        let _ = write!(
            title,
            "\nnamed by: {m}{}",
            if latest.contains(m) {
                ""
            } else {
                " (not in the latest policy)"
            }
        );
    }
    if c.unexplained {
        title.push_str("\nassumption_not_explained: succeeded, but the policy in force denies it");
    }
    let (edge, edge_label) = match sev {
        2 => ("oedge v-deny", c.counts.text()),
        1 => ("oedge v-unknown", c.counts.text()),
        _ => ("oedge v-allow", String::new()),
    };
    pic.nodes.push(Node {
        col: Col::Caller,
        class,
        label,
        sub: format!("{}× · {}", c.calls, span(c.first, c.last)),
        title,
        badges,
        edge,
        edge_label,
        ..Node::default()
    });
    let first = *row;
    let n = c.rows.len();
    let keep = if n > per_caller { per_caller - 1 } else { n };
    for o in &c.rows[..keep] {
        let (olabel, osub) = origin_labels(&o.origin);
        let sub = if n > 1 {
            format!("{osub} · {}×", o.assumptions)
        } else {
            osub
        };
        pic.nodes.push(Node {
            col: Col::Origin,
            y: *row,
            class: format!("node origin k-{}", origin_kind(&o.origin)),
            label: olabel,
            sub,
            title: format!(
                "origin {}\n{} · {} .. {}\nverdicts: {}",
                o.origin,
                plural(o.assumptions, "assumption", "assumptions"),
                o.first,
                o.last,
                o.verdicts
            ),
            edge: "edge",
            parent: Some(ci),
            ..Node::default()
        });
        pic.origins_shown += 1;
        *row += 1.0;
    }
    if keep < n {
        let rest = &c.rows[keep..];
        let calls: u64 = rest.iter().map(|o| o.assumptions).sum();
        pic.nodes.push(Node {
            col: Col::Origin,
            y: *row,
            class: "node more".into(),
            label: format!("+{} more origins", rest.len()),
            sub: format!(
                "{} · see trust.csv",
                plural(calls, "assumption", "assumptions")
            ),
            title: format!(
                "Not drawn (all in trust.csv):\n{}",
                rest.iter()
                    .map(|o| o.origin.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            edge: "edge more",
            parent: Some(ci),
            aside: true,
            ..Node::default()
        });
        *row += 1.0;
    }
    if n == 0 {
        *row += 1.0;
    }
    pic.nodes[ci].y = (first + *row - 1.0) / 2.0;
    ci
}

// --- SVG -------------------------------------------------------------------------------------

const ROW_H: f64 = 46.0;
const BOX_H: f64 = 36.0;
const PAD: f64 = 8.0;
const P_W: f64 = 300.0;
const G1: f64 = 50.0;
const R_W: f64 = 200.0;
const G2: f64 = 100.0;
const C_W: f64 = 260.0;
const G3: f64 = 36.0;
const O_W: f64 = 240.0;
/// Characters of a principal's sub-label.
const SUB_CHARS: usize = ((P_W - 14.0) / SUB_PX) as usize;
/// Width of a sub-label character (10.5 px sans), generously.
const SUB_PX: f64 = 5.9;
const P_X: f64 = PAD;
const R_X: f64 = P_X + P_W + G1;
const C_X: f64 = R_X + R_W + G2;
const O_X: f64 = C_X + C_W + G3;
const WIDTH: f64 = O_X + O_W + PAD;

fn col_x(c: Col) -> (f64, f64) {
    match c {
        Col::Principal => (P_X, P_W),
        Col::Caller => (C_X, C_W),
        Col::Origin => (O_X, O_W),
    }
}

/// `s` in lines of at most `n` characters, broken after `-`, `_`, `/` or `.` where one is in the
/// second half of a line.
fn wrap(s: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: Vec<char> = s.chars().collect();
    while rest.len() > n {
        let cut = rest[n / 2..n]
            .iter()
            .rposition(|c| matches!(c, '-' | '_' | '/' | '.'))
            .map_or(n, |i| n / 2 + i + 1);
        out.push(rest[..cut].iter().collect());
        rest.drain(..cut);
    }
    out.push(rest.into_iter().collect());
    out
}

/// The picture as an inline `<svg>` element (no external references).
pub(crate) fn svg(p: &TrustPicture) -> String {
    let height = p.rows * ROW_H + 2.0 * PAD;
    let cy = |y: f64| PAD + y * ROW_H + ROW_H / 2.0;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="chains trust" viewBox="0 0 {WIDTH:.0} {height:.0}" width="{WIDTH:.0}" height="{height:.0}" role="img" aria-label="Trust of {}: trusted principals on the left, observed callers and their origins on the right">"#,
        h(&p.role_label)
    );
    // Bands per lane, alternating.
    for (i, l) in p.lanes.iter().enumerate() {
        if i % 2 == 0 {
            let _ = write!(
                o,
                r#"<rect class="band" x="0" y="{:.1}" width="{WIDTH:.0}" height="{:.1}"/>"#,
                PAD + l.first_row * ROW_H - 4.0,
                l.rows * ROW_H + 8.0
            );
        }
    }
    // Edges first, boxes on top.
    for n in &p.nodes {
        if n.edge.is_empty() {
            continue;
        }
        let y = cy(n.y);
        match (n.col, n.parent) {
            (Col::Principal, _) => {
                let _ = write!(
                    o,
                    r#"<path class="{}" d="M{:.1} {y:.1} L{R_X:.1} {y:.1}"/>"#,
                    n.edge,
                    P_X + P_W
                );
            }
            (Col::Caller, _) => {
                let _ = write!(
                    o,
                    r#"<path class="{}" d="M{:.1} {y:.1} L{C_X:.1} {y:.1}"/>"#,
                    n.edge,
                    R_X + R_W
                );
                if !n.edge_label.is_empty() {
                    let _ = write!(
                        o,
                        r#"<text class="elabel {}" x="{:.1}" y="{:.1}">{}</text>"#,
                        n.edge.trim_start_matches("oedge "),
                        R_X + R_W + G2 / 2.0,
                        y - 5.0,
                        h(&fit(&n.edge_label, 20))
                    );
                }
            }
            (Col::Origin, Some(pi)) => {
                let (x1, y1) = (C_X + C_W, cy(p.nodes[pi].y));
                let (x2, y2) = (O_X, y);
                let _ = write!(
                    o,
                    r#"<path class="{}" d="M{x1:.1} {y1:.1} C{:.1} {y1:.1} {:.1} {y2:.1} {x2:.1} {y2:.1}"/>"#,
                    n.edge,
                    x1 + G3 / 2.0,
                    x2 - G3 / 2.0
                );
            }
            (Col::Origin, None) => {}
        }
    }
    // The role, spanning every row.
    let (ry, rh) = (PAD + 2.0, (p.rows * ROW_H - 4.0).max(BOX_H));
    let _ = write!(
        o,
        r#"<g class="node trole"><title>{}</title><rect class="box" x="{R_X:.1}" y="{ry:.1}" width="{R_W:.0}" height="{rh:.1}" rx="8"/>"#,
        h(&p.role_title)
    );
    // As many lines as fit, centred: the name (over up to three lines when the box is tall
    // enough), then the role's lines.
    let fit_lines = (((rh - 8.0) / 15.0).floor() as usize).max(1);
    let name_chars = ((R_W - 18.0) / 7.6) as usize;
    let wrapped = wrap(&p.role_label, name_chars.max(8));
    let wanted = wrapped.len();
    let name_lines = wanted
        .min(3)
        .min(fit_lines.saturating_sub(p.role_lines.len()).max(1));
    let mut name: Vec<String> = wrapped.into_iter().take(name_lines).collect();
    if name_lines < wanted {
        // One line cut in the middle instead (keeps the distinctive end of the name).
        name = vec![fit_middle(&p.role_label, name_chars)];
    }
    let lines: Vec<&String> = p
        .role_lines
        .iter()
        .take(fit_lines.saturating_sub(name.len()))
        .collect();
    let total = name.len() + lines.len();
    let top = ry + rh / 2.0 - (total as f64 * 15.0) / 2.0 + 11.0;
    for (i, l) in name.iter().enumerate() {
        let _ = write!(
            o,
            r#"<text class="l1" x="{:.1}" y="{:.1}">{}</text>"#,
            R_X + 10.0,
            top + 15.0 * i as f64,
            h(l)
        );
    }
    for (i, l) in lines.iter().enumerate() {
        let _ = write!(
            o,
            r#"<text class="l2" x="{:.1}" y="{:.1}">{}</text>"#,
            R_X + 10.0,
            top + 15.0 * (name.len() + i) as f64,
            h(&fit(l, ((R_W - 16.0) / SUB_PX) as usize))
        );
    }
    o.push_str("</g>");
    for n in &p.nodes {
        let (x, w) = col_x(n.col);
        let y = cy(n.y) - BOX_H / 2.0;
        let _ = write!(
            o,
            r#"<g class="{}"><title>{}</title><rect class="box" x="{x:.1}" y="{y:.1}" width="{w:.0}" height="{BOX_H:.0}" rx="6"/>"#,
            n.class,
            h(&n.title)
        );
        node_text(
            &mut o,
            (x, y, w),
            (&n.badges, 6.2),
            (&n.label, n.col != Col::Origin),
            (&n.sub, SUB_PX),
        );
    }
    o.push_str("</svg>");
    o
}

/// The picture as a nested Markdown list: per lane the principal, the callers it matched, the
/// origins behind them.
pub(crate) fn markdown(p: &TrustPicture, r: &RoleTrust) -> String {
    let mut o = String::new();
    let marks = |n: &Node| -> String {
        let mut v: Vec<String> = n.badges.iter().map(|b| b.1.clone()).collect();
        if !n.edge_label.is_empty() {
            v.push(n.edge_label.clone());
        }
        if v.is_empty() {
            String::new()
        } else {
            format!(" [{}]", md(&v.join(", ")))
        }
    };
    let first_line = |n: &Node| n.title.lines().next().unwrap_or("").to_string();
    for l in &p.lanes {
        let mut depth = 0;
        if let Some(pi) = l.principal {
            let n = &p.nodes[pi];
            let text = if n.aside {
                format!("*{}*", md(&n.label))
            } else {
                let stmt = n.title.lines().nth(1).unwrap_or("");
                let cond = stmt.split_once(" if ").map(|x| x.1).unwrap_or("");
                format!(
                    "trusted **{}**{}",
                    md(&first_line(n)),
                    if cond.is_empty() || n.class.contains("deny") {
                        if n.class.contains("deny") {
                            format!(" ({})", md(stmt))
                        } else {
                            String::new()
                        }
                    } else {
                        format!(" (if {})", md(cond))
                    }
                )
            };
            let _ = writeln!(o, "- {text}{}", marks(n));
            depth = 1;
        }
        for &ci in &l.callers {
            let n = &p.nodes[ci];
            let ind = "  ".repeat(depth);
            if n.aside {
                let _ = writeln!(o, "{ind}- {} ({})", md(&n.label), md(&n.sub));
                continue;
            }
            let _ = writeln!(
                o,
                "{ind}- assumed by {} — {}{}",
                md(&first_line(n)),
                md(n.title.lines().nth(2).unwrap_or("")),
                marks(n)
            );
            let origins: Vec<&Node> = p.nodes.iter().filter(|x| x.parent == Some(ci)).collect();
            let own = |on: &Node| first_line(on).strip_prefix("origin ") == Some(&first_line(n));
            if origins.len() == 1 && !origins[0].aside && own(origins[0]) {
                // The caller is its own origin (an IAM user, root).
                continue;
            }
            for on in &origins {
                if on.aside {
                    let _ = writeln!(o, "{ind}  - {} ({})", md(&on.label), md(&on.sub));
                } else if origins.len() == 1 {
                    let _ = writeln!(o, "{ind}  - {}", md(&first_line(on)));
                } else {
                    let count = on.title.lines().nth(1).unwrap_or("");
                    let _ = writeln!(
                        o,
                        "{ind}  - {} — {}",
                        md(&first_line(on)),
                        md(count.split(" · ").next().unwrap_or(""))
                    );
                }
            }
        }
    }
    if p.capped() {
        let _ = writeln!(
            o,
            "\nDrawn: {} of {} principals, {} of {} callers, {} of {} origins; every row is in `trust.csv` (role {}).",
            p.principals_shown,
            p.principals_total,
            p.callers_shown,
            p.callers_total,
            p.origins_shown,
            p.origins_total,
            md(&r.role_arn)
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::data::TrustFinding;

    const ROLE: &str = "arn:aws:iam::111111111111:role/Deploy";

    fn user(u: &str) -> String {
        format!("arn:aws:iam::111111111111:user/{u}")
    }

    fn trusted(p: &str, keys: &[&str]) -> Trusted {
        Trusted {
            principal: p.to_string(),
            statement: format!("Allow {p} (sts:AssumeRole)"),
            deny: false,
            condition_keys: keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn observed(caller: &str, origin: &str, n: u64, verdicts: &str, matched: &[&str]) -> Observed {
        Observed {
            caller: caller.to_string(),
            origin: origin.to_string(),
            assumptions: n,
            first: "2024-05-01T10:00:00Z".into(),
            last: "2024-05-02T11:30:00Z".into(),
            verdicts: verdicts.to_string(),
            matched: matched.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn finding(kind: &str, principal: &str) -> TrustFinding {
        TrustFinding {
            kind: kind.into(),
            principal: principal.into(),
            origin: String::new(),
            detail: "why".into(),
        }
    }

    fn node<'a>(p: &'a TrustPicture, label: &str) -> &'a Node {
        p.nodes
            .iter()
            .find(|n| n.label == label)
            .unwrap_or_else(|| panic!("no node {label:?}"))
    }

    /// The role of the trust fixture's scenario: alice allowed, carol never used, bob allowed
    /// by an earlier version only and denied now (not explained), a service through two origins.
    fn role() -> RoleTrust {
        let alice = format!("AWS {}", user("alice"));
        let carol = format!("AWS {}", user("carol"));
        RoleTrust {
            role_arn: ROLE.into(),
            trusted: vec![
                trusted(&alice, &["aws:MultiFactorAuthPresent", "sts:ExternalId"]),
                trusted(&carol, &[]),
                trusted("Service ec2.amazonaws.com", &[]),
            ],
            observed: vec![
                observed(&user("alice"), &user("alice"), 3, "allow 3", &[&alice]),
                observed(
                    &user("bob"),
                    &user("bob"),
                    2,
                    "allow 1, deny 1",
                    &[&format!("AWS {}", user("bob"))],
                ),
                observed(
                    "ec2.amazonaws.com",
                    "service:ec2.amazonaws.com",
                    5,
                    "allow 5",
                    &["Service ec2.amazonaws.com"],
                ),
                observed(
                    "ec2.amazonaws.com",
                    "unknown:ASIAEXAMPLE",
                    1,
                    "unknown 1",
                    &["Service ec2.amazonaws.com"],
                ),
            ],
            findings: vec![
                finding("unused_trust", &carol),
                finding("assumption_not_explained", &user("bob")),
            ],
            policy_source: "snapshot iam/gaad.json".into(),
            last_used: "none recorded".into(),
            ..RoleTrust::default()
        }
    }

    #[test]
    fn callers_line_up_with_the_principal_that_matched_them() {
        let r = role();
        let p = build(&r);
        let lane_of = |label: &str| {
            let i = p.nodes.iter().position(|n| n.label == label).unwrap();
            p.lanes
                .iter()
                .position(|l| l.principal == Some(i) || l.callers.contains(&i))
                .unwrap()
        };
        // Principal alice and caller alice share a lane.
        let find = |label: &str, col: Col| {
            p.nodes
                .iter()
                .position(|n| n.label == label && n.col == col)
                .unwrap()
        };
        let (pa, ca) = (find("alice", Col::Principal), find("alice", Col::Caller));
        assert!(p
            .lanes
            .iter()
            .any(|l| l.principal == Some(pa) && l.callers.contains(&ca)));
        assert_eq!(
            lane_of("ec2.amazonaws.com"),
            p.lanes
                .iter()
                .position(|l| l.principal.is_some_and(|i| p.nodes[i].sub == "AWS service"))
                .unwrap()
        );
        // bob is named by no principal of the latest policy: the placeholder's lane.
        assert_eq!(lane_of("bob"), lane_of("not in the latest policy"));
        // The service's two origins are both drawn, under it.
        let ec2 = p
            .nodes
            .iter()
            .position(|n| n.label == "ec2.amazonaws.com" && n.col == Col::Caller)
            .unwrap();
        assert_eq!(p.nodes.iter().filter(|n| n.parent == Some(ec2)).count(), 2);
        assert_eq!(p.nodes[ec2].sub, "6× · 2024-05-01 → 2024-05-02");
        // Conditions summarised on the principal, well-known keys first.
        let a = &p.nodes[pa];
        assert!(a.sub.ends_with("if ExternalId, MFA"), "{}", a.sub);
        assert!(!p.capped());
    }

    #[test]
    fn unused_trusts_and_unexplained_assumptions_are_marked() {
        let p = build(&role());
        let carol = node(&p, "carol");
        assert!(carol.class.contains("unused"));
        assert_eq!(carol.edge, "tedge unused");
        assert!(carol.badges.iter().any(|b| b.1 == "never used"));
        let bob = node(&p, "bob");
        assert!(bob.class.contains("flagged"));
        assert!(bob.badges.iter().any(|b| b.1 == "⚠ not explained"));
        assert_eq!(bob.edge, "oedge v-deny");
        assert_eq!(bob.edge_label, "allow 1, deny 1");
        // An unknown verdict is amber; an all-allow caller has no label.
        let ec2 = p
            .nodes
            .iter()
            .find(|n| n.label == "ec2.amazonaws.com" && n.col == Col::Caller)
            .unwrap();
        assert_eq!(
            (ec2.edge, ec2.edge_label.as_str()),
            ("oedge v-unknown", "allow 5, unknown 1")
        );
        let alice = p
            .nodes
            .iter()
            .find(|n| n.label == "alice" && n.col == Col::Caller)
            .unwrap();
        assert_eq!(
            (alice.edge, alice.edge_label.as_str()),
            ("oedge v-allow", "")
        );
        let svg = svg(&p);
        assert!(svg.contains(r#"class="tedge unused""#));
        assert!(svg.contains(r#"<text class="elabel v-deny""#));
        assert!(svg.contains(">never used<") && svg.contains(">⚠ not explained<"));
        let md = markdown(&p, &role());
        assert!(md.contains("[never used]"), "{md}");
        assert!(md.contains("⚠ not explained, allow 1, deny 1"), "{md}");
    }

    #[test]
    fn broad_trusts_deny_statements_and_kinds_are_distinct() {
        let mut r = role();
        r.trusted.push(trusted("AWS *", &[]));
        r.trusted
            .push(trusted("AWS 222222222222", &["sts:ExternalId"]));
        r.trusted.push(Trusted {
            deny: true,
            ..trusted("*", &["aws:SourceIp"])
        });
        r.trusted.push(trusted(
            "Federated arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com",
            &["token.actions.githubusercontent.com:sub"],
        ));
        r.findings.push(finding("broad_trust", "AWS *"));
        let p = build(&r);
        let any: Vec<&Node> = p.nodes.iter().filter(|n| n.label == "* (anyone)").collect();
        assert_eq!(any.len(), 2);
        assert!(any[0].class.contains("p-any broad"));
        assert!(any[0].badges.iter().any(|b| b.1 == "⚠ broad"));
        assert!(any[1].class.contains("deny") && any[1].edge == "tedge deny");
        assert_eq!(any[1].sub, "Deny · any principal · if SourceIp");
        let acct = node(&p, "account 222222222222");
        assert!(acct.class.contains("p-account"));
        assert_eq!(acct.sub, "foreign account (all of it) · if ExternalId");
        let gh = node(&p, "token.actions.githubusercontent.com");
        assert_eq!(gh.sub, "OIDC provider · if sub");
        assert!(gh.class.contains("p-fed"));
    }

    #[test]
    fn without_a_known_policy_callers_sit_beside_a_placeholder() {
        let r = RoleTrust {
            role_arn: ROLE.into(),
            no_policy: "no trust policy known: give the role's IAM configuration".into(),
            observed: vec![observed(
                "config.amazonaws.com",
                "service:config.amazonaws.com",
                98,
                "unknown 98",
                &[],
            )],
            ..RoleTrust::default()
        };
        let p = build(&r);
        assert_eq!(p.lanes.len(), 1);
        let l = &p.lanes[0];
        assert_eq!(p.nodes[l.principal.unwrap()].label, "no trust policy known");
        assert_eq!(p.nodes[l.callers[0]].edge, "oedge v-unknown");
        assert!(p.role_lines.contains(&"no trust policy known".to_string()));
    }

    #[test]
    fn long_role_names_wrap_at_separators() {
        assert_eq!(
            wrap("privesc-high-priv-service-role", 23),
            ["privesc-high-priv-", "service-role"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("short", 23), ["short"]);
    }

    #[test]
    fn capped_with_more_nodes() {
        let mut r = RoleTrust {
            role_arn: ROLE.into(),
            policy_source: "snapshot gaad.json".into(),
            ..RoleTrust::default()
        };
        for i in 0..20 {
            r.trusted
                .push(trusted(&format!("AWS {}", user(&format!("u{i:02}"))), &[]));
        }
        for i in 0..30 {
            let m = format!("AWS {}", user(&format!("u{i:02}")));
            for k in 0..4 {
                r.observed.push(observed(
                    &user(&format!("u{i:02}")),
                    &format!("arn:aws:iam::111111111111:user/o{i:02}{k}"),
                    30 - i as u64,
                    "allow 1",
                    &[&m],
                ));
            }
        }
        let p = build(&r);
        let count = |c: Col| p.nodes.iter().filter(|n| n.col == c).count();
        assert_eq!(count(Col::Principal), MAX_PRINCIPALS);
        assert_eq!(count(Col::Caller), MAX_CALLERS);
        assert_eq!((p.principals_shown, p.principals_total), (11, 20));
        assert_eq!((p.callers_shown, p.callers_total), (11, 30));
        assert!(p.capped());
        // The busiest callers are drawn, with the principals that matched them.
        let more_c = node(&p, "+19 more callers");
        assert!(more_c.title.contains(&user("u29")) && !more_c.title.contains(&user("u00")));
        assert!(more_c.sub.contains("see trust.csv"));
        let more_p = node(&p, "+9 more principals");
        assert!(more_p.title.contains("u11") && !more_p.title.contains("u10"));
        // Every drawn caller is in the lane of its principal, none in a placeholder lane.
        assert!(!p.nodes.iter().any(|n| n.class == "node p-none"));
        // Origins per caller reduced to stay within the row budget, with "+N more origins".
        assert!(p.rows <= (MAX_ROWS as f64) + 0.3 * p.lanes.len() as f64);
        assert!(p.nodes.iter().any(|n| n.label == "+3 more origins"));
        let svg = svg(&p);
        assert!(svg.contains(">+19 more callers<") && svg.contains(">+9 more principals<"));
        let md = markdown(&p, &r);
        assert!(md.contains("+19 more callers") && md.contains("every row is in `trust.csv`"));
        // The same rows give the same bytes.
        assert_eq!(svg, super::svg(&build(&r.clone())));
    }

    #[test]
    fn hostile_strings_are_escaped() {
        const X: &str = "<script>alert(1)</script>\u{202e}&\"'";
        let mut r = role();
        r.trusted.push(trusted(
            &format!("AWS arn:aws:iam::111111111111:user/{X}"),
            &[&format!("aws:RequestTag/{X}")],
        ));
        r.observed.push(observed(
            &format!("arn:aws:iam::111111111111:role/{X}"),
            &format!("saml:arn:aws:iam::111111111111:saml-provider/{X}:{X}"),
            1,
            "deny 1",
            &[],
        ));
        r.findings.push(finding(
            "assumption_not_explained",
            &format!("arn:aws:iam::111111111111:role/{X}"),
        ));
        r.role_arn = format!("arn:aws:iam::111111111111:role/{X}");
        let p = build(&r);
        let svg = svg(&p);
        assert!(
            !svg.contains("<script") && !svg.contains('\u{202e}'),
            "{svg}"
        );
        assert!(svg.contains("&lt;script&gt;"));
        // Tooltips hold the full strings, escaped.
        assert!(svg.contains(&format!("arn:aws:iam::111111111111:user/{}", h(X))));
        let md = markdown(&p, &r);
        assert!(
            !md.contains("<script") && md.contains("&lt;script&gt;"),
            "{md}"
        );
    }
}
