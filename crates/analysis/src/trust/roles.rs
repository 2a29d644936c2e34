//! Configured trust beside observed assumptions, per role: who may assume it, who did, and the
//! findings `broad_trust`, `unused_trust`, `assumption_not_explained` (issue 16, point 3).

use super::eval::{evaluate, principal_value_matches, Caller, Decision, Tri3, Verdict};
use super::iam::Iam;
use super::observed::{observe, Assumption, Observed};
use super::policy::{Effect, Policy, PrincipalBlock, Principals};
use super::timeline::{role_key, At, Source, Timelines, Version};
use anyhow::Result;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use trailgraph_graph::scan::Scan;
use trailgraph_log::model::{format_time, Millis};

trailgraph_log::column_names!(
    /// The columns of `trust`'s table (docs/trust.md).
    pub mod trust_columns {
        role_arn,
        /// `trusted`, `observed` or `finding`.
        row,
        /// `broad_trust`, `unused_trust`, `assumption_not_explained` (finding rows).
        finding,
        /// The principal: trusted (`AWS arn:…`), the direct caller (observed), or the one the
        /// finding is about.
        principal,
        origin,
        assumptions,
        first_time,
        last_time,
        /// Observed rows: the verdicts of the policy in force at each call (`allow 3, unknown 1`).
        verdicts,
        /// The statement (trusted rows), or why (findings).
        detail,
        /// Where the policy judged comes from (snapshot file, or the change event).
        policy_source,
        role_last_used,
        /// The evidence: the last call (observed) or the first (finding).
        event_id,
        /// Observed rows: the trusted principal(s), written as the trusted rows' `principal`,
        /// of the Allow statement that decided the calls: the one that allowed them, or the one
        /// naming the caller whose condition failed or was unknown; most calls first, `; `
        /// between several (calls judged by different policy versions). Empty when no Allow
        /// statement names the caller.
        matched_principal,
        /// Trusted rows: the condition keys of the statement (`aws:MultiFactorAuthPresent,
        /// sts:ExternalId`), in the order written.
        condition_keys,
    }
);

/// Everything `trust` (and `whatif`) reads: the `--iam` configuration, the observed calls, the
/// policy timelines.
pub struct TrustInput {
    pub iam: Iam,
    pub observed: Observed,
    pub timelines: Timelines,
}

impl TrustInput {
    pub fn new(scan: &Scan, iam: Iam) -> Result<TrustInput> {
        let observed = observe(scan, &iam)?;
        let snapshot: Vec<(String, String, Policy)> = iam
            .roles
            .values()
            .filter_map(|r| Some((r.arn.clone(), r.file.clone(), r.trust.clone()?)))
            .collect();
        let timelines = Timelines::build(snapshot, observed.changes.clone());
        Ok(TrustInput {
            iam,
            observed,
            timelines,
        })
    }

    /// The trust policy of `role_arn` in force at `t`.
    pub fn policy_at(&self, role_arn: &str, t: Millis) -> At<'_> {
        match self.timelines.role(role_arn) {
            Some(tl) => tl.at(t),
            None => At::Missing("no trust policy for this role in --iam or in the logs"),
        }
    }

    /// The verdict of the policy in force at the call's time, and that policy's version.
    pub fn judge(&self, a: &Assumption) -> (Verdict, Option<&Version>) {
        match self.policy_at(&a.role_arn, a.time) {
            At::Policy(v) => (evaluate(&v.policy, &a.context), Some(v)),
            At::Missing(why) => (
                Verdict {
                    decision: Decision::Unknown,
                    statement: None,
                    sid: None,
                    reason: "trust policy".into(),
                    detail: format!("the trust policy in force is not known: {why}"),
                    needs_identity: None,
                },
                None,
            ),
        }
    }
}

/// One row of the table.
#[derive(Default)]
struct Row {
    role_arn: String,
    row: &'static str,
    finding: &'static str,
    principal: String,
    origin: String,
    assumptions: Option<u64>,
    first: Option<Millis>,
    last: Option<Millis>,
    verdicts: String,
    detail: String,
    policy_source: String,
    role_last_used: String,
    event_id: String,
    matched_principal: String,
    condition_keys: String,
}

/// Conditions that bound a broad trust (issue 16: "without an ExternalId or org condition").
const BOUNDING_KEYS: &[&str] = &[
    "sts:externalid",
    "aws:principalorgid",
    "aws:principalorgpaths",
];

/// The table: per role (sorted by ARN), its trusted principals, its observed callers, its
/// findings. `role` keeps only roles whose name (or ARN, for a pattern starting `arn:`)
/// matches the glob.
pub fn trust_frame(input: &TrustInput, role: Option<&str>) -> Result<DataFrame> {
    let mut roles: BTreeMap<(String, String), String> = BTreeMap::new();
    for (k, tl) in &input.timelines.roles {
        roles.insert(k.clone(), tl.arn.clone());
    }
    let mut by_role: BTreeMap<(String, String), Vec<&Assumption>> = BTreeMap::new();
    for a in &input.observed.assumptions {
        if !a.succeeded() {
            continue;
        }
        let Some(k) = role_key(&a.role_arn) else {
            continue;
        };
        roles.entry(k.clone()).or_insert_with(|| a.role_arn.clone());
        by_role.entry(k).or_default().push(a);
    }
    let mut rows = Vec::new();
    for (k, arn) in &roles {
        if let Some(p) = role {
            if !role_matches(p, arn) {
                continue;
            }
        }
        let calls = by_role.get(k).map(Vec::as_slice).unwrap_or(&[]);
        role_rows(input, arn, calls, &mut rows);
    }
    frame(&rows)
}

/// `--role`: a glob on the role name, or on the whole ARN when the pattern starts with `arn:`.
pub fn role_matches(pattern: &str, arn: &str) -> bool {
    let subject = if pattern.starts_with("arn:") {
        arn
    } else {
        trailgraph_log::model::role_name(arn)
    };
    crate::anomalies::glob(pattern, subject)
}

fn role_rows(input: &TrustInput, arn: &str, calls: &[&Assumption], out: &mut Vec<Row>) {
    let configured = input.iam.role(arn);
    let last_used = match configured {
        Some(r) => match (r.last_used, &r.last_used_region) {
            (Some(t), Some(reg)) => format!("{} ({reg})", format_time(t)),
            (Some(t), None) => format_time(t),
            (None, _) => "none recorded".into(),
        },
        None => String::new(),
    };
    let tl = input.timelines.role(arn);
    let current = tl.and_then(|t| t.current());
    let base = || Row {
        role_arn: arn.to_string(),
        role_last_used: last_used.clone(),
        ..Row::default()
    };
    // Who may assume it.
    match current {
        None => out.push(Row {
            row: "trusted",
            detail: "no trust policy known: give the role's IAM configuration with --iam (the logs hold no CreateRole or UpdateAssumeRolePolicy for it)".into(),
            ..base()
        }),
        Some(v) => {
            let mut note = String::new();
            if let Some(t) = tl {
                if t.versions.len() > 1 {
                    note = format!(" ({} versions in the input; this is the latest)", t.versions.len());
                }
                if let Some(d) = &t.snapshot_differs {
                    note.push_str(&format!(" ({d})"));
                }
            }
            for s in &v.policy.statements {
                let described = s.describe();
                let mut keys: Vec<&str> = Vec::new();
                for c in &s.conditions {
                    if !keys.contains(&c.key.as_str()) {
                        keys.push(&c.key);
                    }
                }
                for p in principal_values(&s.principal) {
                    out.push(Row {
                        row: "trusted",
                        principal: p,
                        detail: described.clone(),
                        policy_source: format!("{}{note}", v.source),
                        condition_keys: keys.join(", "),
                        ..base()
                    });
                }
            }
        }
    }
    // Who did: successful calls by (direct caller, origin).
    let mut judged: Vec<(&Assumption, Verdict, Option<&Version>)> = Vec::new();
    for a in calls {
        let (v, ver) = input.judge(a);
        judged.push((a, v, ver));
    }
    let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, (a, _, _)) in judged.iter().enumerate() {
        groups
            .entry((a.caller_principal.as_str(), a.origin.as_str()))
            .or_default()
            .push(i);
    }
    for ((caller, origin), idx) in &groups {
        let mut counts: BTreeMap<Decision, u64> = BTreeMap::new();
        for &i in idx {
            *counts.entry(judged[i].1.decision).or_default() += 1;
        }
        let first = judged[idx[0]].0;
        let last = judged[*idx.last().unwrap_or(&idx[0])].0;
        // The principals that named the caller, most calls first (then first seen).
        let mut matched: Vec<(String, u64)> = Vec::new();
        for &i in idx {
            let (a, v, ver) = &judged[i];
            let Some(p) = ver.and_then(|ver| matched_principal(&ver.policy, v, &a.context.caller))
            else {
                continue;
            };
            match matched.iter_mut().find(|m| m.0 == p) {
                Some(m) => m.1 += 1,
                None => matched.push((p, 1)),
            }
        }
        matched.sort_by_key(|m| std::cmp::Reverse(m.1));
        out.push(Row {
            row: "observed",
            principal: caller.to_string(),
            origin: origin.to_string(),
            assumptions: Some(idx.len() as u64),
            first: Some(first.time),
            last: Some(last.time),
            verdicts: counts
                .iter()
                .map(|(d, n)| format!("{} {n}", d.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            event_id: last.event_id.clone(),
            matched_principal: matched
                .into_iter()
                .map(|m| m.0)
                .collect::<Vec<_>>()
                .join("; "),
            ..base()
        });
    }
    // Findings on the current policy.
    if let Some(v) = current {
        broad_trust(arn, &v.policy, out, &base);
        unused_trust(input, arn, v, calls, out, &base);
    }
    // Observed calls the policy in force does not allow.
    let mut unexplained: BTreeMap<(&str, &str, String, String), Vec<usize>> = BTreeMap::new();
    for (i, (a, v, ver)) in judged.iter().enumerate() {
        if v.decision != Decision::Deny {
            continue;
        }
        let src = ver.map(|x| x.source.to_string()).unwrap_or_default();
        unexplained
            .entry((
                a.caller_principal.as_str(),
                a.origin.as_str(),
                v.reason.clone(),
                src,
            ))
            .or_default()
            .push(i);
    }
    for ((caller, origin, _, src), idx) in unexplained {
        let (a, v, ver) = &judged[idx[0]];
        let hint = match ver.map(|x| &x.source) {
            Some(Source::Snapshot { .. }) => "the policy may have changed since (no UpdateAssumeRolePolicy in the input), or the snapshot is not the policy of that time",
            _ => "the logs may miss a change of the policy, or a Deny depends on a key recorded differently",
        };
        out.push(Row {
            row: "finding",
            finding: "assumption_not_explained",
            principal: caller.to_string(),
            origin: origin.to_string(),
            assumptions: Some(idx.len() as u64),
            first: Some(a.time),
            last: Some(judged[*idx.last().unwrap_or(&idx[0])].0.time),
            verdicts: format!("deny {}", idx.len()),
            detail: format!(
                "succeeded, but the trust policy in force denies it ({}: {}); {hint}",
                v.reason, v.detail
            ),
            policy_source: src,
            event_id: a.event_id.clone(),
            ..base()
        });
    }
}

/// The principal (as `principal_values` writes it) of the Allow statement that decided `v` and
/// names the caller: a direct match before one through the caller's account. None for an
/// explicit Deny, or when no Allow statement names the caller.
fn matched_principal(policy: &Policy, v: &Verdict, caller: &Caller) -> Option<String> {
    let s = policy.statements.get(v.statement?)?;
    if s.effect != Effect::Allow {
        return None;
    }
    match &s.principal {
        PrincipalBlock::Principal(Principals::Any) => Some("*".into()),
        PrincipalBlock::Principal(Principals::Map(m)) => {
            let mut via_account = None;
            for (kind, values) in m {
                for value in values {
                    match principal_value_matches(kind, value, caller) {
                        (Tri3::Yes, false) => return Some(format!("{kind} {value}")),
                        (Tri3::Yes, true) if via_account.is_none() => {
                            via_account = Some(format!("{kind} {value}"))
                        }
                        _ => {}
                    }
                }
            }
            via_account
        }
        b @ PrincipalBlock::NotPrincipal(_) => principal_values(b).into_iter().next(),
        PrincipalBlock::None => None,
    }
}

/// `AWS arn:…`, `Service ec2.amazonaws.com`, `*`, `everyone but AWS arn:…`.
fn principal_values(p: &PrincipalBlock) -> Vec<String> {
    let list = |ps: &Principals| -> Vec<String> {
        match ps {
            Principals::Any => vec!["*".into()],
            Principals::Map(m) => m
                .iter()
                .flat_map(|(k, vs)| vs.iter().map(move |v| format!("{k} {v}")))
                .collect(),
        }
    };
    match p {
        PrincipalBlock::None => vec![String::new()],
        PrincipalBlock::Principal(ps) => list(ps),
        PrincipalBlock::NotPrincipal(ps) => list(ps)
            .into_iter()
            .map(|v| format!("everyone but {v}"))
            .collect(),
    }
}

fn broad_trust(arn: &str, policy: &Policy, out: &mut Vec<Row>, base: &dyn Fn() -> Row) {
    let own = trailgraph_log::model::arn_account(arn).unwrap_or("");
    for (i, s) in policy.statements.iter().enumerate() {
        if s.effect != Effect::Allow {
            continue;
        }
        let bounded = s.conditions.iter().any(|c| {
            let op = c.operator.to_ascii_lowercase();
            BOUNDING_KEYS.contains(&c.key.to_ascii_lowercase().as_str())
                && !op.contains("not")
                && !op.ends_with("ifexists")
                && op != "null"
        });
        if bounded {
            continue;
        }
        let mut broad: Vec<(String, String)> = Vec::new();
        match &s.principal {
            PrincipalBlock::Principal(Principals::Any) => {
                broad.push(("*".into(), "anyone (Principal \"*\")".into()))
            }
            PrincipalBlock::NotPrincipal(ps) => broad.push((
                principal_values(&PrincipalBlock::NotPrincipal(ps.clone())).join("; "),
                "everyone but the listed principals (NotPrincipal with Allow)".into(),
            )),
            PrincipalBlock::Principal(Principals::Map(m)) => {
                for v in m.get("AWS").into_iter().flatten() {
                    if v == "*" {
                        broad.push(("AWS *".into(), "anyone (\"AWS\": \"*\")".into()));
                    } else if let Some(a) = super::eval::principal_account(v) {
                        if a != own {
                            broad.push((
                                format!("AWS {v}"),
                                format!("every principal of the foreign account {a} its own policies allow"),
                            ));
                        }
                    }
                }
            }
            PrincipalBlock::None => {}
        }
        for (p, what) in broad {
            out.push(Row {
                row: "finding",
                finding: "broad_trust",
                principal: p,
                detail: format!(
                    "statement {} trusts {what} without an sts:ExternalId or aws:PrincipalOrgID condition",
                    i + 1
                ),
                ..base()
            });
        }
    }
}

fn unused_trust(
    input: &TrustInput,
    arn: &str,
    v: &Version,
    calls: &[&Assumption],
    out: &mut Vec<Row>,
    base: &dyn Fn() -> Row,
) {
    let mut seen = BTreeSet::new();
    for s in &v.policy.statements {
        if s.effect != Effect::Allow {
            continue;
        }
        let PrincipalBlock::Principal(ps) = &s.principal else {
            continue;
        };
        let values: Vec<(String, String)> = match ps {
            Principals::Any => vec![("AWS".into(), "*".into())],
            Principals::Map(m) => m
                .iter()
                .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
                .collect(),
        };
        for (kind, value) in values {
            if !seen.insert((kind.clone(), value.clone())) {
                continue;
            }
            let mut used = false;
            let mut maybe = false;
            for a in calls {
                match principal_value_matches(&kind, &value, &a.context.caller).0 {
                    Tri3::Yes => {
                        used = true;
                        break;
                    }
                    Tri3::Unknown => maybe = true,
                    Tri3::No => {}
                }
            }
            if used {
                continue;
            }
            let label = match kind.as_str() {
                "Service" => {
                    " (a service principal: its assumptions are logged as AWSService calls)"
                }
                "Federated" => " (an identity provider: its AssumeRoleWithSAML/WebIdentity calls)",
                _ => "",
            };
            let window = match (input.observed.window.0, input.observed.window.1) {
                (Some(a), Some(b)) => format!(" between {} and {}", format_time(a), format_time(b)),
                _ => String::new(),
            };
            let last_used = input
                .iam
                .role(arn)
                .map(|r| match r.last_used {
                    Some(t) => format!("; RoleLastUsed {} (any principal)", format_time(t)),
                    None => "; RoleLastUsed: none recorded".into(),
                })
                .unwrap_or_default();
            out.push(Row {
                row: "finding",
                finding: "unused_trust",
                principal: format!("{kind} {value}"),
                detail: format!(
                    "trusted{label}, never observed assuming the role{window}{}{last_used}",
                    if maybe {
                        " (some callers' identities are not recorded)"
                    } else {
                        ""
                    }
                ),
                policy_source: v.source.to_string(),
                ..base()
            });
        }
    }
}

fn frame(rows: &[Row]) -> Result<DataFrame> {
    use trust_columns as c;
    let s = |f: &dyn Fn(&Row) -> &str| -> Vec<&str> { rows.iter().map(f).collect() };
    let t = |f: &dyn Fn(&Row) -> Option<Millis>| -> Vec<Option<String>> {
        rows.iter().map(|r| f(r).map(format_time)).collect()
    };
    let cols = vec![
        Column::new(c::role_arn.into(), s(&|r| &r.role_arn)),
        Column::new(c::row.into(), s(&|r| r.row)),
        Column::new(c::finding.into(), s(&|r| r.finding)),
        Column::new(c::principal.into(), s(&|r| &r.principal)),
        Column::new(c::origin.into(), s(&|r| &r.origin)),
        Column::new(
            c::assumptions.into(),
            rows.iter().map(|r| r.assumptions).collect::<Vec<_>>(),
        ),
        Column::new(c::first_time.into(), t(&|r| r.first)),
        Column::new(c::last_time.into(), t(&|r| r.last)),
        Column::new(c::verdicts.into(), s(&|r| &r.verdicts)),
        Column::new(c::detail.into(), s(&|r| &r.detail)),
        Column::new(c::policy_source.into(), s(&|r| &r.policy_source)),
        Column::new(c::role_last_used.into(), s(&|r| &r.role_last_used)),
        Column::new(c::event_id.into(), s(&|r| &r.event_id)),
        Column::new(c::matched_principal.into(), s(&|r| &r.matched_principal)),
        Column::new(c::condition_keys.into(), s(&|r| &r.condition_keys)),
    ];
    Ok(DataFrame::new(rows.len(), cols)?)
}
