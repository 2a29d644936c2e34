//! The text renderings of `who`, `trace`, `summary` and `whatif`: one renderer per answer, reading its
//! typed struct. Every string from the logs goes through `trailgraph_log::escape::term`; a
//! missing value prints as `-`.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::{Result, Write};
use trailgraph_analysis::answer::{Trace, TraceSession, WhoAnswer, WhoMatch};
use trailgraph_analysis::summary::{self, Summary};
use trailgraph_analysis::trust::whatif::{other_label, summary as whatif_summary};
use trailgraph_analysis::trust::{Hardening, RoleWhatif};
use trailgraph_log::escape::term;
use trailgraph_log::model::{format_time, Millis};

/// A string as terminal-safe text, `-` when missing.
fn t(v: &Option<String>) -> Cow<'_, str> {
    v.as_deref().map_or(Cow::Borrowed("-"), term)
}

/// A time as `2024-03-01T12:00:00Z`, `-` when missing.
fn time(v: Option<Millis>) -> String {
    v.map_or_else(|| "-".to_string(), format_time)
}

/// A number, `-` when missing.
fn num(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |n| n.to_string())
}

/// Renders a `who` answer as a readable tree.
pub fn write_who(a: &WhoAnswer, out: &mut dyn Write) -> Result<()> {
    for (n, m) in a.matches.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let event = match m {
            WhoMatch::Event { event, .. } => Some(("event", event)),
            WhoMatch::Principal { example_event, .. } => Some(("example event", example_event)),
            WhoMatch::Session { .. } => None,
        };
        if let Some((what, ev)) = event {
            writeln!(
                out,
                "{what} {} {} by {} in account {} ({}) at {}",
                t(&ev.event_id),
                t(&ev.event_name),
                t(&ev.identity_arn),
                t(&ev.recipient_account),
                t(&ev.aws_region),
                time(ev.event_time)
            )?;
            writeln!(
                out,
                "  from {}  user agent {}  key {}",
                t(&ev.source_ip),
                t(&ev.user_agent),
                t(&ev.access_key_id)
            )?;
            writeln!(
                out,
                "  evidence: {}#{}",
                t(&ev.source_file),
                num(ev.record_index)
            )?;
        }
        let prov = m.provenance();
        writeln!(
            out,
            "WHO: {}   (confidence {}, depth {})",
            term(&prov.origin),
            prov.confidence.as_str(),
            prov.depth
        )?;
        if let Some(si) = &prov.source_identity {
            writeln!(out, "  sourceIdentity: {}", term(si))?;
        }
        writeln!(out, "{}", term(&prov.origin))?;
        for (d, h) in prov.hops.iter().enumerate() {
            let ind = "   ".repeat(d);
            let orphan = !h.issuance_in_input;
            let what = if orphan {
                "session whose issuance is not in the input".to_string()
            } else {
                format!(
                    "{} at {}",
                    h.kind.map_or("-", |k| k.as_str()),
                    time(h.issued_at)
                )
            };
            writeln!(out, "{ind}└─ {what} → {}", t(&h.role_arn))?;
            if orphan {
                writeln!(
                    out,
                    "{ind}     session {}  key {}  issued at {} (creationDate on its events)",
                    t(&h.session_name),
                    t(&h.issued_key),
                    time(h.issued_at)
                )?;
                continue;
            }
            writeln!(
                out,
                "{ind}     session {}  key {}  expires {}",
                t(&h.session_name),
                t(&h.issued_key),
                time(h.expires_at)
            )?;
            writeln!(
                out,
                "{ind}     caller {} from {}  user agent {}",
                t(&h.caller.arn),
                t(&h.source_ip),
                t(&h.user_agent)
            )?;
            writeln!(
                out,
                "{ind}     MFA {}  sourceIdentity {}  link {}{}",
                if h.mfa { "yes" } else { "no" },
                t(&h.source_identity),
                h.link.as_str(),
                if h.cycle {
                    "  (role repeats higher in the chain)"
                } else {
                    ""
                }
            )?;
            for e in &h.evidence {
                writeln!(
                    out,
                    "{ind}     proof: eventID {} (account {}) in {}#{}",
                    t(&e.event_id),
                    t(&e.recipient_account),
                    t(&e.source_file),
                    e.record_index
                )?;
            }
        }
    }
    Ok(())
}

/// Renders a trace as text: the session tree, what it reached, and the timeline.
pub fn write_trace(v: &Trace, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "TRACE {}", term(&v.target))?;
    writeln!(out, "sessions ({}):", v.sessions.len())?;
    // The ids as printed: a session whose parent is not among them is a root.
    let ids: BTreeSet<String> = v
        .sessions
        .iter()
        .map(|s| term(&s.session_id).into_owned())
        .collect();
    fn walk(
        out: &mut dyn Write,
        sessions: &[TraceSession],
        parent: Option<&str>,
        depth: usize,
        ids: &BTreeSet<String>,
    ) -> Result<()> {
        for s in sessions {
            let p = s.parent.as_deref();
            let is_root = parent.is_none() && p.is_none_or(|p| !ids.contains(p));
            if (parent.is_none() && is_root) || (parent.is_some() && p == parent) {
                writeln!(
                    out,
                    "{}└─ {} → {} in {} at {} ({}{})",
                    "   ".repeat(depth),
                    term(&s.session_id),
                    t(&s.role_arn),
                    t(&s.account),
                    time(s.issued_at),
                    s.confidence.as_str(),
                    if s.cross_account {
                        ", cross-account"
                    } else {
                        ""
                    }
                )?;
                walk(out, sessions, Some(&s.session_id), depth + 1, ids)?;
            }
        }
        Ok(())
    }
    walk(out, &v.sessions, None, 0, &ids)?;
    let list = |set: &BTreeSet<String>| {
        set.iter()
            .map(|s| term(s).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "accounts reached: {}", list(&v.accounts))?;
    writeln!(out, "roles reached: {}", list(&v.roles))?;
    writeln!(
        out,
        "timeline ({} events, {} mutating, marked *):",
        v.events, v.mutating_events
    )?;
    v.timeline.for_each(|e| {
        writeln!(
            out,
            "  {} {} {}:{} {} {} from {}{}",
            if e.mutating { "*" } else { " " },
            time(e.event_time),
            t(&e.event_source).trim_end_matches(".amazonaws.com"),
            t(&e.event_name),
            t(&e.recipient_account),
            t(&e.aws_region),
            t(&e.source_ip),
            match &e.error_code {
                None => String::new(),
                Some(c) => format!(" [{}]", term(c)),
            }
        )?;
        Ok(())
    })
}

/// Renders a summary as the text table of `trailgraph summary`.
pub fn write_summary(sum: &Summary, out: &mut dyn Write) -> Result<()> {
    let s = &sum.stats;
    writeln!(
        out,
        "Files      {} read, {} skipped",
        s.files_read, s.files_skipped
    )?;
    for (k, v) in &s.files_skipped_by_reason {
        writeln!(out, "             {v:>8}  skipped: {k}")?;
    }
    writeln!(
        out,
        "Records    {} read = {} events + {} duplicates + {} skipped",
        s.records_read, s.events, s.duplicates, s.records_skipped
    )?;
    for (k, v) in &s.records_skipped_by_reason {
        writeln!(out, "             {v:>8}  skipped: {}", term(k))?;
    }
    if s.non_record_objects > 0 {
        writeln!(
            out,
            "           (also {} JSON objects beside the records that are not CloudTrail records, e.g. exporter metadata)",
            s.non_record_objects
        )?;
    }
    writeln!(
        out,
        "Data       {:.1} MB stored, {:.1} MB decompressed",
        s.bytes_stored as f64 / 1e6,
        s.bytes_raw as f64 / 1e6
    )?;
    writeln!(
        out,
        "Time       {} .. {}",
        sum.first.map(format_time).unwrap_or_else(|| "-".into()),
        sum.last.map(format_time).unwrap_or_else(|| "-".into())
    )?;
    let list =
        |out: &mut dyn Write, title: &str, v: &[(String, u64)], limit: usize| -> Result<()> {
            writeln!(out, "{title}")?;
            for (k, n) in v.iter().take(limit) {
                let k = if k.is_empty() { "(none)" } else { k };
                writeln!(out, "  {n:>10}  {}", term(k))?;
            }
            if v.len() > limit {
                writeln!(out, "  {:>10}  … {} more", "", v.len() - limit)?;
            }
            Ok(())
        };
    list(
        out,
        &format!("Accounts ({})", sum.accounts.len()),
        &sum.accounts,
        20,
    )?;
    list(
        out,
        &format!("Regions ({})", sum.regions.len()),
        &sum.regions,
        20,
    )?;
    list(out, "Event types", &sum.event_types, 20)?;
    list(out, "Top event names", &sum.top_event_names, summary::TOP)?;
    list(out, "Top principals", &sum.top_principals, summary::TOP)?;
    writeln!(out, "Issuances (events; failed in brackets)")?;
    for (k, n) in &sum.issuances {
        writeln!(out, "  {n:>10}  {k} ({} failed)", sum.issuances_failed[k])?;
    }
    for w in &sum.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

/// Renders `whatif`: what is added, then per role the summary, the calls that would be denied or
/// unknown, the failed calls (not judged), and the hardened policy ready to apply.
pub fn write_whatif(
    roles: &[RoleWhatif],
    h: &Hardening,
    window: (Option<Millis>, Option<Millis>),
    out: &mut dyn Write,
) -> Result<()> {
    writeln!(
        out,
        "what if every Allow statement of the trust policy also required:"
    )?;
    for d in h.describe() {
        writeln!(out, "  {}", term(&d))?;
    }
    if let Some(hours) = &h.hours {
        writeln!(
            out,
            "note: {} cannot be expressed in a trust policy (aws:CurrentTime compares absolute dates only, no weekday or time of day): trailgraph evaluates it, and the hardened policies below do not contain it",
            term(&hours.label())
        )?;
    }
    if roles.is_empty() {
        writeln!(out, "\nno role matches --role")?;
    }
    for r in roles {
        writeln!(out, "\n{}", term(&r.arn))?;
        for line in whatif_summary(r, h, window) {
            writeln!(out, "  {}", term(&line))?;
        }
        let flagged: Vec<_> = r
            .calls
            .iter()
            .filter(|j| {
                j.verdict
                    .as_ref()
                    .is_some_and(|v| v.decision.as_str() != "allow")
                    || j.other.is_some()
            })
            .collect();
        if !flagged.is_empty() {
            writeln!(out, "  denied, unknown, or differing between MFA readings:")?;
            for j in flagged {
                let v = j.verdict.as_ref().expect("judged");
                writeln!(
                    out,
                    "    {}  {:<7}  {}  caller {}  origin {}  from {}  event {}",
                    format_time(j.call.time),
                    v.decision.as_str(),
                    term(&v.reason),
                    t(&j.call.caller_arn),
                    term(&j.call.origin),
                    t(&j.call.source_ip),
                    term(&j.call.event_id)
                )?;
                if let Some(o) = &j.other {
                    writeln!(out, "      other MFA reading: {}", term(&other_label(h, o)))?;
                }
            }
        }
        let failed: Vec<_> = r.calls.iter().filter(|j| j.verdict.is_none()).collect();
        if !failed.is_empty() {
            writeln!(out, "  failed assumptions (not judged):")?;
            for j in failed {
                writeln!(
                    out,
                    "    {}  {}  caller {}  from {}  event {}",
                    format_time(j.call.time),
                    t(&j.call.error_code),
                    t(&j.call.caller_arn),
                    t(&j.call.source_ip),
                    term(&j.call.event_id)
                )?;
            }
        }
        match &r.hardened {
            Err(why) => writeln!(out, "  hardened trust policy: none ({})", term(why))?,
            Ok((source, policy)) => {
                let name = trailgraph_log::model::role_name(&r.arn);
                writeln!(
                    out,
                    "  hardened trust policy (the latest policy, {}, with the conditions added; apply with aws iam update-assume-role-policy --role-name {} --policy-document file://trust-policy.json):",
                    term(source),
                    term(name)
                )?;
                let text = serde_json::to_string_pretty(policy).map_err(std::io::Error::other)?;
                // serde_json escapes control characters inside strings; bidi overrides are
                // escaped line by line.
                for line in text.lines() {
                    writeln!(out, "{}", term(line))?;
                }
            }
        }
    }
    Ok(())
}
