//! `report.md`: the report's content as Markdown. Every string from the logs goes through
//! `md` (pipes, backticks, brackets and backslashes escaped, `<` `>` as entities, newlines
//! flattened), so a table cell can neither break the table nor inject HTML. Renders the
//! report's model (`data::Model`) and nothing else.

use super::data::{
    day_str, gap_str, Category, Model, WhoView, COVERAGE_ROWS, EVIDENCE_ROWS, FINDINGS_SHOWN,
    HUNT_ORIGIN_ROWS, ORIGIN_ROWS, PROBLEMS_SHOWN,
};
use super::picture;
use super::trust_picture;
use super::{fit, md};
use anyhow::Result;
use std::fmt::Write as _;
use std::io::Write;
use trailgraph_log::model::{format_time, IssuanceKind};

fn opt_time(t: Option<i64>) -> String {
    t.map(format_time).unwrap_or_else(|| "–".into())
}

/// A string from the logs, empty when missing.
fn txt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn who(a: &WhoView) -> String {
    let mut s = md(&fit(&a.label, 40));
    if let Some(role) = &a.role {
        let _ = write!(s, " → {}", md(&fit(role, 40)));
        if a.depth > 1 {
            let _ = write!(s, " (depth {})", a.depth);
        }
    }
    if a.confidence != trailgraph_log::model::Confidence::Exact {
        let _ = write!(s, " ({})", a.confidence.as_str());
    }
    s
}

pub fn write(m: &Model, w: &mut dyn Write) -> Result<()> {
    let pic = &m.picture;
    let mut o = String::with_capacity(128 << 10);
    let (first, last) = m.time_range();
    let s = &m.summary.stats;
    let _ = writeln!(
        o,
        "# trailgraph report: who is behind these AWS API calls?\n"
    );
    let _ = writeln!(
        o,
        "Events from **{}** to **{}**: {} event(s) in {} file(s) read.\n",
        opt_time(first),
        opt_time(last),
        m.events,
        s.files_read
    );
    let _ = writeln!(
        o,
        "Input: {}{}\n",
        m.inputs
            .iter()
            .take(6)
            .map(|p| md(&p.display().to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        if m.inputs.len() > 6 {
            format!(" and {} more", m.inputs.len() - 6)
        } else {
            String::new()
        }
    );
    let missing = m.missing_days;
    o.push_str("| Events | Sessions | Chained | Origins | Deepest chain | Cross-account sessions | Findings | Accounts | Regions | Days with events | Missing days | Input problems |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        m.events,
        m.sessions,
        m.chained_sessions,
        m.origins.len(),
        m.max_depth,
        m.cross_account_sessions,
        m.findings.len(),
        m.summary.accounts.len(),
        m.summary.regions.len(),
        m.all_days.len(),
        missing,
        m.summary.problems.len()
    );

    // 1. Input.
    o.push_str("## 1. The input and its gaps\n\n");
    for wn in &m.summary.warnings {
        let _ = writeln!(o, "> **Warning:** {}\n", md(wn));
    }
    o.push_str("| Files and records | Count |\n|---|---:|\n");
    let _ = writeln!(o, "| Files read | {} |", s.files_read);
    let _ = writeln!(o, "| Files skipped | {} |", s.files_skipped);
    for (k, v) in &s.files_skipped_by_reason {
        let _ = writeln!(o, "| — skipped: {} | {v} |", md(k));
    }
    let _ = writeln!(o, "| Records read | {} |", s.records_read);
    let _ = writeln!(o, "| — distinct events | {} |", s.events);
    let _ = writeln!(o, "| — duplicates | {} |", s.duplicates);
    let _ = writeln!(o, "| — records skipped | {} |", s.records_skipped);
    for (k, v) in &s.records_skipped_by_reason {
        let _ = writeln!(o, "| — skipped: {} | {v} |", md(k));
    }
    if s.non_record_objects > 0 {
        let _ = writeln!(
            o,
            "| Non-record JSON objects (exporter metadata) | {} |",
            s.non_record_objects
        );
    }
    o.push_str("\n| Credential issuance | Events | Failed |\n|---|---:|---:|\n");
    for k in IssuanceKind::ALL {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            k.as_str(),
            m.summary.issuances.get(k.as_str()).copied().unwrap_or(0),
            m.summary
                .issuances_failed
                .get(k.as_str())
                .copied()
                .unwrap_or(0)
        );
    }
    o.push('\n');
    o.push_str("### Days with events, per account and region\n\n");
    if m.coverage.is_empty() {
        o.push_str("No events.\n\n");
    } else {
        let _ = writeln!(
            o,
            "From {} to {}: {} day(s) with events, {} day(s) without any event.\n",
            day_str(m.all_days[0]),
            day_str(*m.all_days.last().expect("non-empty")),
            m.all_days.len(),
            missing
        );
        o.push_str("| Account | Region | Events | First day | Last day | Days with events | Missing days | Gaps |\n|---|---|---:|---|---|---:|---:|---|\n");
        for c in m.coverage.iter().take(COVERAGE_ROWS) {
            let g = c.gaps();
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {}{} |",
                md(&c.account),
                md(&c.region),
                c.events,
                c.first().map(day_str).unwrap_or_default(),
                c.last().map(day_str).unwrap_or_default(),
                c.days.len(),
                c.missing(),
                g.iter()
                    .take(4)
                    .map(|&x| gap_str(x))
                    .collect::<Vec<_>>()
                    .join(", "),
                if g.len() > 4 {
                    format!(", … {} more", g.len() - 4)
                } else {
                    String::new()
                }
            );
        }
        if m.coverage.len() > COVERAGE_ROWS {
            let _ = writeln!(
                o,
                "\n{} more rows in `coverage.csv`.",
                m.coverage.len() - COVERAGE_ROWS
            );
        }
        o.push('\n');
    }
    let p = &m.summary.problems;
    if p.is_empty() {
        o.push_str("No problems reading the input.\n\n");
    } else {
        let _ = writeln!(
            o,
            "### Input problems ({})\n\n| File | Where | Problem |\n|---|---|---|",
            p.len()
        );
        for pr in p.iter().take(PROBLEMS_SHOWN) {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                md(&pr.file),
                md(&pr.position),
                md(&pr.reason)
            );
        }
        if p.len() > PROBLEMS_SHOWN {
            let _ = writeln!(
                o,
                "\n… and {} more (all in `summary.json`).",
                p.len() - PROBLEMS_SHOWN
            );
        }
        o.push('\n');
    }

    // 2. Chains.
    o.push_str("## 2. Who is behind the role sessions\n\n");
    if pic.nodes.is_empty() {
        o.push_str("No sessions in the input: there are no chains to show.\n\n");
    } else {
        o.push_str("Origins, and under each the role sessions it led to, hop by hop (sessions reached the same way are grouped). ⇄ marks a cross-account hop, ⚠ sessions with findings, ↺ a role cycle.\n\n");
        o.push_str(&picture::markdown(pic));
        let _ = writeln!(
            o,
            "\nShown: {} of {} origins with sessions, {} of {} sessions. Every chain is in `chains.csv`, every session in `sessions.csv`.\n",
            pic.origins_shown, pic.origins_total, pic.sessions_shown, pic.sessions_total
        );
    }

    // 3. Anomalies.
    o.push_str("## 3. Anomalies\n\n");
    if m.findings.is_empty() {
        o.push_str("No findings: the anomaly detectors found nothing in this input.\n\n");
    } else {
        let _ = writeln!(
            o,
            "{} finding(s): {}.\n",
            m.findings.len(),
            m.finding_kinds
                .iter()
                .map(|((k, sev), n)| format!("{} ({}) × {n}", md(k), md(sev)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for v in m.findings.iter().take(FINDINGS_SHOWN) {
            let f = &v.finding;
            let _ = writeln!(
                o,
                "### {} ({}) at {}\n\n{}\n\n- Subject: {}\n- Origin: {}\n- Sessions: {}\n",
                md(f.kind.as_str()),
                md(f.severity.as_str()),
                opt_time(f.time),
                md(&f.explanation),
                md(&f.subject),
                md(&f.origin),
                if v.sessions.is_empty() {
                    "–".to_string()
                } else {
                    v.sessions
                        .iter()
                        .take(8)
                        .map(|s| md(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
            o.push_str(
                "| Time | Event | Account | Who | Event ID | Source |\n|---|---|---|---|---|---|\n",
            );
            for e in v.evidence.iter().take(EVIDENCE_ROWS) {
                let _ = writeln!(o, "| {} |", evidence_cells(e));
            }
            if v.evidence_found > EVIDENCE_ROWS {
                let _ = writeln!(
                    o,
                    "\n{} evidence events in all; see `anomalies.csv`.",
                    v.evidence_found
                );
            }
            o.push('\n');
        }
        if m.findings.len() > FINDINGS_SHOWN {
            let _ = writeln!(
                o,
                "… and {} more findings in `anomalies.csv`.\n",
                m.findings.len() - FINDINGS_SHOWN
            );
        }
    }

    // 4. Hunt.
    hunt(m, &mut o);

    // 5. Trust.
    trust(m, &mut o);

    // 6. Origins.
    o.push_str("## 6. Activity per origin\n\n");
    o.push_str("| Origin | Kind | Events | Mutating | Denied | Sessions | Chained | Max depth | Roles | Accounts | Cross-account | Findings | First seen | Last seen |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    for r in m.origins.iter().take(ORIGIN_ROWS) {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&r.origin),
            r.kind,
            r.events,
            r.mutating,
            r.denied,
            r.sessions,
            r.chained,
            r.max_depth,
            r.roles.len(),
            r.accounts.len(),
            r.cross_account,
            r.findings,
            opt_time(r.first),
            opt_time(r.last)
        );
    }
    if m.origins.len() > ORIGIN_ROWS {
        let _ = writeln!(
            o,
            "\n{} less active origins are in `origins.csv`.",
            m.origins.len() - ORIGIN_ROWS
        );
    }
    o.push('\n');

    // 7. Timeline.
    o.push_str("## 7. Timeline of important events\n\n");
    let tl = &m.timeline;
    let (counts, items, left_out) = (&tl.counts, &tl.shown, &tl.left_out);
    let _ = writeln!(
        o,
        "{} important event(s): {}.{}\n",
        tl.total,
        Category::ALL
            .iter()
            .map(|c| format!("{} {}", counts.get(c).copied().unwrap_or(0), c.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
        if left_out.is_empty() {
            String::new()
        } else {
            format!(
                " Shown: the {} most important; left out: {}. All are in `timeline.csv`.",
                items.len(),
                left_out
                    .iter()
                    .map(|(c, n)| format!("{n} {}", c.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if !items.is_empty() {
        o.push_str("| Time (UTC) | What | Event | Account / region | Who | Source IP | User agent | Error / note | Event ID |\n|---|---|---|---|---|---|---|---|---|\n");
        for t in items {
            let e = &t.event;
            let errnote = [e.error_code.as_deref(), t.note.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
            let _ = writeln!(
                o,
                "| {} | {} | {}:{} | {} {} | {} | {} | {} | {} | {} |",
                opt_time(e.time),
                t.category.as_str(),
                md(txt(&e.event_source).trim_end_matches(".amazonaws.com")),
                md(txt(&e.event_name)),
                md(txt(&e.recipient_account)),
                md(txt(&e.aws_region)),
                who(&e.who),
                md(&fit(txt(&e.source_ip), 40)),
                md(&fit(txt(&e.user_agent), 40)),
                md(&fit(&errnote, 90)),
                md(txt(&e.event_id))
            );
        }
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "---\n\nMade by trailgraph {}. Times are UTC. Tables: `sessions`, `chains`, `anomalies`, `origins`, `timeline`, `coverage` (.csv and .json) and `summary.json`.",
        env!("CARGO_PKG_VERSION")
    );
    w.write_all(o.as_bytes())?;
    Ok(())
}

/// An evidence event as table cells: time, event, account, who, event id, source.
fn evidence_cells(e: &super::data::EventView) -> String {
    format!(
        "{} | {}:{} | {} | {} | {} | {}#{}",
        opt_time(e.time),
        md(txt(&e.event_source).trim_end_matches(".amazonaws.com")),
        md(txt(&e.event_name)),
        md(txt(&e.recipient_account)),
        who(&e.who),
        md(txt(&e.event_id)),
        md(txt(&e.source_file)),
        e.record_index.unwrap_or(0)
    )
}

fn level(l: &str) -> &str {
    if l.is_empty() {
        "none"
    } else {
        l
    }
}

fn hunt(m: &Model, o: &mut String) {
    o.push_str("## 4. Hunt: Sigma rules, by who is behind them\n\n");
    let Some(hv) = &m.hunt else {
        o.push_str("Sigma rules were not run (`--no-rules`).\n\n");
        return;
    };
    if hv.hits == 0 {
        let _ = writeln!(
            o,
            "No hits: none of the {} Sigma rule(s) evaluated matched an event.\n",
            hv.rules.len()
        );
        return;
    }
    let _ = writeln!(
        o,
        "{} hit(s) of {} of the {} Sigma rule(s) evaluated ({} skipped as not for CloudTrail or below --min-level, {} with problems), on the events of {} origin(s), each attributed to the origin at the top of its role chain. Every hit is in `hunt.csv`, the roll-up in `hunt_origins.csv`.\n",
        hv.hits,
        hv.by_rule.len(),
        hv.rules.len(),
        hv.skipped,
        hv.problems,
        hv.by_origin.len()
    );
    o.push_str("### Per origin\n\n| Origin | Highest | Hits | Rules hit | Accounts | First | Last |\n|---|---|---:|---|---|---|---|\n");
    for r in hv.by_origin.iter().take(HUNT_ORIGIN_ROWS) {
        let titles: Vec<String> = r.rules.iter().map(|&k| md(&hv.rules[k].title)).collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md(&r.origin),
            level(r.highest_level),
            r.hits,
            titles.join("; "),
            md(&r.accounts.join(" ")),
            opt_time(r.first),
            opt_time(r.last)
        );
    }
    if hv.by_origin.len() > HUNT_ORIGIN_ROWS {
        let _ = writeln!(
            o,
            "\n… and {} more origins in `hunt_origins.csv`.",
            hv.by_origin.len() - HUNT_ORIGIN_ROWS
        );
    }
    o.push_str(
        "\n### Per rule\n\n| Rule | Level | Hits | Origins | Author |\n|---|---|---:|---:|---|\n",
    );
    for &(k, n, origins) in &hv.by_rule {
        let r = &hv.rules[k];
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            md(&r.title),
            level(r.level),
            n,
            origins,
            md(&r.author)
        );
    }
    let _ = writeln!(
        o,
        "\n### Hits\n\n{}, most severe first, then in time order.\n",
        if hv.hits > hv.shown.len() as u64 {
            format!("The {} most severe of {} hits", hv.shown.len(), hv.hits)
        } else {
            format!("All {} hits", hv.hits)
        }
    );
    o.push_str("| Level | Rule | Time | Event | Account | Who | Event ID | Source |\n|---|---|---|---|---|---|---|---|\n");
    for (k, e) in &hv.shown {
        let r = &hv.rules[*k];
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            level(r.level),
            md(&r.title),
            evidence_cells(e)
        );
    }
    o.push('\n');
}

fn trust(m: &Model, o: &mut String) {
    o.push_str("## 5. Trust: who may assume each role, and who did\n\n");
    let Some(roles) = &m.trust else {
        o.push_str("No IAM configuration was given: with `--iam` (get-account-authorization-details, get-role, list-roles, Organizations list-accounts) this section puts each role's trust policy beside the observed assumptions (see docs/trust.md).\n\n");
        return;
    };
    let _ = writeln!(
        o,
        "{} role(s), {} with findings; every row is in `trust.csv`.\n",
        roles.len(),
        roles.iter().filter(|r| !r.findings.is_empty()).count()
    );
    for r in roles {
        let _ = writeln!(o, "### {}\n", md(&r.role_arn));
        if !r.last_used.is_empty() {
            let _ = writeln!(o, "Last used: {}\n", md(&r.last_used));
        }
        if r.trusted.is_empty() && !r.no_policy.is_empty() {
            let _ = writeln!(o, "{}\n", md(&r.no_policy));
        }
        o.push_str(&trust_picture::markdown(&r.picture, r));
        for f in &r.findings {
            let _ = writeln!(
                o,
                "\n- **{}** {}{}: {}",
                md(&f.kind),
                md(&f.principal),
                if f.origin.is_empty() || f.origin == f.principal {
                    String::new()
                } else {
                    format!(" (origin {})", md(&f.origin))
                },
                md(&f.detail)
            );
        }
        o.push('\n');
    }
}
