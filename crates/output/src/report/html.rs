//! `report.html`: one self-contained page. Inline CSS and SVG only; a Content-Security-Policy
//! forbids every fetch and every script, so the page stays inert even if a string slipped
//! through unescaped. Every string from the logs goes through `h` (text and attributes).
//! Renders the report's model (`data::Model`) and nothing else.

use super::data::{
    day_str, gap_str, Category, Model, WhoView, COVERAGE_ROWS, EVIDENCE_ROWS, FINDINGS_SHOWN,
    HUNT_ORIGIN_ROWS, ORIGIN_ROWS, PROBLEMS_SHOWN,
};
use super::picture::{self, origin_labels, Picture};
use super::trust_picture;
use super::{fit, h};
use anyhow::Result;
use std::fmt::Write as _;
use std::io::Write;
use trailgraph_log::model::{format_time, IssuanceKind};

/// Account/region rows drawn in the coverage strip.
pub(crate) const STRIP_ROWS: usize = 16;

const CSS: &str = r#"
:root{--ink:#0f172a;--muted:#475569;--faint:#94a3b8;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;
--blue:#2563eb;--red:#dc2626;--amber:#b45309;--purple:#7c3aed;--teal:#0f766e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 -apple-system,"Segoe UI","Liberation Sans",Arial,"Helvetica Neue","DejaVu Sans",sans-serif}
header{background:#0f172a;color:#e2e8f0;padding:22px 32px 16px}
header .brand{font-size:12px;letter-spacing:.14em;text-transform:uppercase;color:#93c5fd;font-weight:700}
header h1{margin:4px 0 6px;font-size:26px;color:#fff;font-weight:700}
header p{margin:2px 0;color:#cbd5e1}
header b{color:#fff}
nav{margin-top:10px;display:flex;gap:6px;flex-wrap:wrap}
nav a{color:#e2e8f0;text-decoration:none;border:1px solid #334155;border-radius:14px;padding:2px 11px;font-size:12.5px}
main{max-width:1360px;margin:0 auto;padding:0 24px 40px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(104px,1fr));gap:10px;margin:18px 0 6px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:9px 12px}
.tile .n{font-size:22px;font-weight:700;line-height:1.2}
.tile .t{font-size:11.5px;color:var(--muted);line-height:1.3}
.tile.bad{border-color:#fecaca;background:#fef2f2}.tile.bad .n{color:var(--red)}
.tile.warn{border-color:#fde68a;background:#fffbeb}.tile.warn .n{color:var(--amber)}
.tile.good .n{color:#15803d}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 20px 18px;margin:16px 0}
h2{font-size:19px;margin:0 0 10px}
h3{font-size:14.5px;margin:14px 0 6px;color:#1e293b}
.note{color:var(--muted);font-size:12.5px;margin:6px 0}
.warnbox{background:#fffbeb;border:1px solid #fde68a;border-left:5px solid #f59e0b;border-radius:8px;padding:8px 12px;margin:8px 0;color:#78350f}
.ok{background:#f0fdf4;border:1px solid #bbf7d0;border-left:5px solid #22c55e;border-radius:8px;padding:8px 12px;color:#14532d;margin:8px 0}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:18px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:5px 8px;white-space:nowrap;background:#f8fafc}
td{border-bottom:1px solid #f1f5f9;padding:4px 8px;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:hover td{background:#f8fafc}
code,.mono{font-family:"DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace;font-size:11.5px}
.wrap{overflow-wrap:anywhere}
.nw{white-space:nowrap}
.sub{display:block;color:var(--muted);font-size:11px}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:12.5px;margin:6px 0}
.kv dt{color:var(--muted)}.kv dd{margin:0}
.muted{color:var(--muted)}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:11.5px;font-weight:600;white-space:nowrap}
.c-anomaly{background:#fee2e2;color:#991b1b}.c-denied{background:#ffedd5;color:#9a3412}
.c-sign-in{background:#e0f2fe;color:#075985}.c-issuance{background:#ede9fe;color:#5b21b6}
.c-mutating{background:#f1f5f9;color:#334155}
.sev-critical,.sev-high{background:#dc2626;color:#fff}.sev-medium{background:#f59e0b;color:#fff}
.sev-low,.sev-info{background:#e2e8f0;color:#334155}
.finding{border:1px solid #fecaca;border-left:5px solid var(--red);border-radius:8px;padding:8px 14px;margin:10px 0;background:#fffafa}
.finding p{margin:4px 0}
.finding h3{margin:6px 0 2px;font-size:13px}
.finding .head{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.finding .kind{font-weight:700}
.finding.quiet{border-color:var(--line);border-left-color:#2563eb;background:var(--card)}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:12px;color:var(--muted);margin:4px 0 10px}
.legend span.sw{display:inline-block;width:18px;height:12px;border-radius:3px;vertical-align:-1px;margin-right:5px;border:1.5px solid}
.legend span.ln{display:inline-block;width:22px;height:0;border-top:2.5px solid;vertical-align:3px;margin-right:5px}
.scroll{overflow-x:auto}
svg.chains{max-width:100%;height:auto;display:block}
svg.chains .band{fill:#f8fafc}
svg.chains .edge{fill:none;stroke:#94a3b8;stroke-width:1.6}
svg.chains .edge.inferred{stroke-dasharray:5 3}
svg.chains .edge.more{stroke-dasharray:2 3;stroke:#cbd5e1}
svg.chains .edge.cross{stroke:#7c3aed;stroke-width:2.6}
svg.chains .node rect{fill:#fff;stroke:#94a3b8;stroke-width:1.3}
svg.chains .node.origin rect{fill:#dbeafe;stroke:#2563eb}
svg.chains .node.k-root rect{fill:#fef3c7;stroke:#b45309}
svg.chains .node.k-saml rect,svg.chains .node.k-oidc rect,svg.chains .node.k-identity-center rect{fill:#ccfbf1;stroke:#0f766e}
svg.chains .node.k-service rect{fill:#f1f5f9;stroke:#64748b}
svg.chains .node.k-unknown rect,svg.chains .node.k-account rect{fill:#ffedd5;stroke:#c2410c;stroke-dasharray:4 2}
svg.chains .node.role.inferred rect{stroke-dasharray:4 2}
svg.chains .node.role.unknown rect{stroke:#c2410c;stroke-dasharray:4 2;fill:#fff7ed}
svg.chains .node.more rect{fill:#f8fafc;stroke:#cbd5e1;stroke-dasharray:2 2}
svg.chains .node.flagged rect{fill:#fee2e2;stroke:#dc2626;stroke-width:2.2}
svg.chains .node rect.xbar{fill:#7c3aed;stroke:none}
svg.chains .node rect.badge{stroke:none}
svg.chains .node rect.b-anom{fill:#dc2626}svg.chains .node rect.b-cycle{fill:#d97706}
svg.chains .node rect.b-cross{fill:#7c3aed}svg.chains .node rect.b-deep{fill:#64748b}
svg.chains .l1{font-size:12.5px;font-weight:600;fill:#0f172a}
svg.chains .l2{font-size:10.5px;fill:#475569}
svg.chains .btext{font-size:10px;font-weight:700;fill:#fff;text-anchor:middle}
svg.trust .node.trole rect.box{fill:#eff6ff;stroke:#1d4ed8;stroke-width:2}
svg.trust .node.p-user rect.box,svg.trust .node.p-role rect.box{fill:#dbeafe;stroke:#2563eb}
svg.trust .node.p-account rect.box{fill:#fef3c7;stroke:#b45309}
svg.trust .node.p-any rect.box{fill:#fee2e2;stroke:#dc2626}
svg.trust .node.p-service rect.box{fill:#f1f5f9;stroke:#64748b}
svg.trust .node.p-fed rect.box{fill:#ccfbf1;stroke:#0f766e}
svg.trust .node.p-none rect.box{fill:#fff;stroke:#cbd5e1;stroke-dasharray:4 3}
svg.trust .node.p-none .l1{font-style:italic;fill:#64748b;font-weight:500}
svg.trust .node.deny rect.box{stroke:#991b1b;stroke-width:2.2}
svg.trust .node.unused rect.box{fill:#f8fafc;stroke:#94a3b8;stroke-dasharray:5 3}
svg.trust .node.unused .l1,svg.trust .node.unused .l2{fill:#64748b}
svg.trust .node.caller rect.box{fill:#fff;stroke:#64748b}
svg.trust .node.caller.flagged rect.box{fill:#fee2e2;stroke:#dc2626;stroke-width:2.2}
svg.trust .node rect.b-deny{fill:#991b1b}svg.trust .node rect.b-unused{fill:#64748b}
svg.trust .tedge{fill:none;stroke:#2563eb;stroke-width:1.8}
svg.trust .tedge.unused{stroke:#94a3b8;stroke-dasharray:5 4}
svg.trust .tedge.deny{stroke:#991b1b;stroke-dasharray:2 3}
svg.trust .tedge.more,svg.trust .oedge.more{stroke:#cbd5e1;stroke-dasharray:2 3}
svg.trust .oedge{fill:none;stroke-width:2.2}
svg.trust .oedge.v-allow{stroke:#16a34a}
svg.trust .oedge.v-deny{stroke:#dc2626;stroke-width:2.6}
svg.trust .oedge.v-unknown{stroke:#d97706;stroke-dasharray:6 3}
svg.trust .elabel{font-size:10.5px;font-weight:600;text-anchor:middle}
svg.trust .elabel.v-deny{fill:#b91c1c}svg.trust .elabel.v-unknown{fill:#b45309}
svg.strip .lab{font-size:10.5px;fill:#334155}
svg.strip .axis{font-size:10.5px;fill:#64748b}
svg.strip .gap{fill:#fee2e2}
svg.strip .d1{fill:#93c5fd}svg.strip .d2{fill:#3b82f6}svg.strip .d3{fill:#1d4ed8}
svg.strip .rule{stroke:#e2e8f0}
footer{color:var(--muted);font-size:12px;text-align:center;margin:22px 0}
details summary{cursor:pointer;color:var(--blue);font-size:13px;margin:6px 0}
"#;

fn num(n: impl std::fmt::Display) -> String {
    // Thousands separators for readability.
    let s = n.to_string();
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// `2024-03-01 12:00:00` (UTC; milliseconds when present).
fn opt_time(t: Option<i64>) -> String {
    t.map(|t| {
        format_time(t)
            .replacen('T', " ", 1)
            .trim_end_matches('Z')
            .to_string()
    })
    .unwrap_or_else(|| "–".into())
}

/// Escaped, shortened text with the full text in a tooltip.
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        h(s).into_owned()
    } else {
        format!(r#"<span title="{}">{}</span>"#, h(s), h(&fit(s, n)))
    }
}

pub fn write(m: &Model, w: &mut dyn Write) -> Result<()> {
    let mut o = String::with_capacity(256 << 10);
    let (first, last) = m.time_range();
    let range = match (first, last) {
        (Some(a), Some(b)) => format!("{} .. {}", format_time(a), format_time(b)),
        _ => "no events".into(),
    };
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>trailgraph report: {}</title>
<style>{CSS}</style>
</head>
<body>
"#,
        h(&range)
    );
    header(m, &range, &mut o);
    o.push_str("<main>\n");
    tiles(m, &mut o);
    input_section(m, &mut o);
    chains_section(&m.picture, &mut o);
    anomalies_section(m, &mut o);
    hunt_section(m, &mut o);
    trust_section(m, &mut o);
    origins_section(m, &mut o);
    timeline_section(m, &mut o);
    let _ = write!(
        o,
        r#"<footer>Made by trailgraph {} from the input named above. Times are UTC. The tables behind this page: <code>sessions</code>, <code>chains</code>, <code>anomalies</code>, <code>hunt</code>, <code>hunt_origins</code>, <code>trust</code> (with <code>--iam</code>), <code>origins</code>, <code>timeline</code>, <code>coverage</code> (.csv and .json) and <code>summary.json</code>, next to this file.</footer>
</main>
</body>
</html>
"#,
        env!("CARGO_PKG_VERSION")
    );
    w.write_all(o.as_bytes())?;
    Ok(())
}

fn header(m: &Model, range: &str, o: &mut String) {
    let inputs: Vec<String> = m.inputs.iter().map(|p| p.display().to_string()).collect();
    let shown: Vec<String> = inputs
        .iter()
        .take(6)
        .map(|p| format!("<code>{}</code>", short(p, 80)))
        .collect();
    let more = if inputs.len() > 6 {
        format!(" and {} more", inputs.len() - 6)
    } else {
        String::new()
    };
    let _ = write!(
        o,
        r##"<header>
<div class="brand">trailgraph report</div>
<h1>Who is behind these AWS API calls?</h1>
<p>Events from <b>{}</b> · {} event(s) in {} file(s) read</p>
<p>Input: {}{more}</p>
<nav><a href="#input">1 · Input and gaps</a><a href="#chains">2 · Role chains</a><a href="#anomalies">3 · Anomalies</a><a href="#hunt">4 · Hunt</a><a href="#trust">5 · Trust</a><a href="#origins">6 · Activity per origin</a><a href="#timeline">7 · Timeline</a></nav>
</header>
"##,
        h(range),
        num(m.events),
        num(m.summary.stats.files_read),
        shown.join(", "),
    );
}

fn tiles(m: &Model, o: &mut String) {
    let s = &m.summary.stats;
    let (sessions, chained, missing) = (m.sessions, m.chained_sessions, m.missing_days);
    let skipped = s.files_skipped + s.records_skipped;
    let tiles: Vec<(String, String, &str)> = vec![
        (num(m.events), "events".into(), ""),
        (
            num(sessions),
            format!("sessions ({} chained)", num(chained)),
            "",
        ),
        (
            num(m.origins.len()),
            format!("origins ({} with sessions)", num(m.origins_with_sessions())),
            "",
        ),
        (num(m.max_depth), "deepest chain (hops)".into(), ""),
        (
            num(m.cross_account_sessions),
            "cross-account sessions".into(),
            "",
        ),
        (
            num(m.findings.len()),
            "anomaly findings".into(),
            if m.findings.is_empty() { "good" } else { "bad" },
        ),
        match &m.hunt {
            Some(hv) => (
                num(hv.hits),
                format!(
                    "Sigma hits ({} origin(s), {} rule(s))",
                    num(hv.by_origin.len()),
                    num(hv.by_rule.len())
                ),
                if hv.hits == 0 { "good" } else { "bad" },
            ),
            None => ("–".into(), "Sigma hits (rules not run)".into(), ""),
        },
        (num(m.summary.accounts.len()), "accounts".into(), ""),
        (num(m.summary.regions.len()), "regions".into(), ""),
        (
            num(m.all_days.len()),
            format!("days with events ({} missing)", num(missing)),
            if missing > 0 { "warn" } else { "" },
        ),
        (
            num(m.summary.problems.len()),
            format!(
                "input problems ({} file(s), {} record(s) skipped)",
                num(s.files_skipped),
                num(s.records_skipped)
            ),
            if m.summary.problems.is_empty() && skipped == 0 {
                "good"
            } else {
                "warn"
            },
        ),
    ];
    o.push_str(r#"<div class="tiles">"#);
    for (n, t, cls) in tiles {
        let _ = write!(
            o,
            r#"<div class="tile {cls}"><div class="n">{n}</div><div class="t">{}</div></div>"#,
            h(&t)
        );
    }
    o.push_str("</div>\n");
}

fn input_section(m: &Model, o: &mut String) {
    let s = &m.summary.stats;
    o.push_str(r#"<section id="input"><h2>1 · The input and its gaps</h2>"#);
    for wn in &m.summary.warnings {
        let _ = write!(o, r#"<div class="warnbox"><b>Warning:</b> {}</div>"#, h(wn));
    }
    o.push_str(r#"<div class="grid2"><div><h3>Files and records</h3><table>"#);
    let mut row = |k: &str, v: String| {
        let _ = write!(o, r#"<tr><td>{k}</td><td class="num">{v}</td></tr>"#);
    };
    row("Files read", num(s.files_read));
    row("Files skipped", num(s.files_skipped));
    for (k, v) in &s.files_skipped_by_reason {
        row(&format!("&nbsp;&nbsp;skipped: {}", h(k)), num(v));
    }
    row("Records read", num(s.records_read));
    row("&nbsp;&nbsp;= distinct events", num(s.events));
    row("&nbsp;&nbsp;+ duplicates", num(s.duplicates));
    row("&nbsp;&nbsp;+ records skipped", num(s.records_skipped));
    for (k, v) in &s.records_skipped_by_reason {
        row(
            &format!("&nbsp;&nbsp;&nbsp;&nbsp;skipped: {}", h(k)),
            num(v),
        );
    }
    if s.non_record_objects > 0 {
        row(
            "Non-record JSON objects (exporter metadata)",
            num(s.non_record_objects),
        );
    }
    row(
        "Data stored / decompressed",
        format!(
            "{:.1} MB / {:.1} MB",
            s.bytes_stored as f64 / 1e6,
            s.bytes_raw as f64 / 1e6
        ),
    );
    o.push_str("</table></div><div><h3>Credential issuances (STS)</h3><table><tr><th>Call</th><th class=\"num\">events</th><th class=\"num\">failed</th></tr>");
    for k in IssuanceKind::ALL {
        let n = m.summary.issuances.get(k.as_str()).copied().unwrap_or(0);
        let f = m
            .summary
            .issuances_failed
            .get(k.as_str())
            .copied()
            .unwrap_or(0);
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            k.as_str(),
            num(n),
            num(f)
        );
    }
    o.push_str("</table>");
    let _ = write!(
        o,
        r#"<p class="note">{} account(s), {} region(s). Event types: {}.</p></div></div>"#,
        num(m.summary.accounts.len()),
        num(m.summary.regions.len()),
        m.summary
            .event_types
            .iter()
            .map(|(k, n)| format!("{} {}", h(k), num(n)))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Coverage.
    o.push_str("<h3>Days with events, per account and region</h3>");
    if m.coverage.is_empty() {
        o.push_str(r#"<p class="note">No events.</p>"#);
    } else {
        let (gaps, missing) = (&m.gaps, m.missing_days);
        let _ = write!(
            o,
            r#"<p class="note">From {} to {}: {} day(s) with events, {} day(s) without any event{}. Below, each row is one account and region; a blue tick is a day with events, a red stretch is missing days between its first and last day.</p>"#,
            day_str(m.all_days[0]),
            day_str(*m.all_days.last().expect("non-empty")),
            num(m.all_days.len()),
            num(missing),
            if gaps.is_empty() {
                String::new()
            } else {
                format!(
                    " (gaps: {}{})",
                    gaps.iter()
                        .take(5)
                        .map(|&g| gap_str(g))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if gaps.len() > 5 {
                        format!(", … {} more", gaps.len() - 5)
                    } else {
                        String::new()
                    }
                )
            }
        );
        strip(m, o);
        o.push_str(r#"<details><summary>Coverage table</summary><table><tr><th>Account</th><th>Region</th><th class="num">Events</th><th>First day</th><th>Last day</th><th class="num">Days with events</th><th class="num">Missing days</th><th>Gaps</th></tr>"#);
        for c in m.coverage.iter().take(COVERAGE_ROWS) {
            let gaps = c.gaps();
            let _ = write!(
                o,
                r#"<tr><td class="mono">{}</td><td>{}</td><td class="num">{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}{}</td></tr>"#,
                h(&c.account),
                h(&c.region),
                num(c.events),
                c.first().map(day_str).unwrap_or_default(),
                c.last().map(day_str).unwrap_or_default(),
                num(c.days.len()),
                num(c.missing()),
                gaps.iter()
                    .take(4)
                    .map(|&g| gap_str(g))
                    .collect::<Vec<_>>()
                    .join(", "),
                if gaps.len() > 4 {
                    format!(", … {} more", gaps.len() - 4)
                } else {
                    String::new()
                }
            );
        }
        o.push_str("</table>");
        if m.coverage.len() > COVERAGE_ROWS {
            let _ = write!(
                o,
                r#"<p class="note">{} more account/region rows in <code>coverage.csv</code>.</p>"#,
                num(m.coverage.len() - COVERAGE_ROWS)
            );
        }
        o.push_str("</details>");
    }

    // Problems.
    let p = &m.summary.problems;
    if p.is_empty() {
        o.push_str(r#"<p class="ok">No problems reading the input.</p>"#);
    } else {
        let _ = write!(
            o,
            r#"<details{}><summary>{} input problem(s)</summary><table><tr><th>File</th><th>Where</th><th>Problem</th></tr>"#,
            if p.len() <= 10 { " open" } else { "" },
            num(p.len())
        );
        for pr in p.iter().take(PROBLEMS_SHOWN) {
            let _ = write!(
                o,
                r#"<tr><td class="mono wrap">{}</td><td>{}</td><td>{}</td></tr>"#,
                h(&pr.file),
                h(&pr.position),
                h(&pr.reason)
            );
        }
        o.push_str("</table>");
        if p.len() > PROBLEMS_SHOWN {
            let _ = write!(
                o,
                r#"<p class="note">… and {} more (all in <code>summary.json</code>).</p>"#,
                num(p.len() - PROBLEMS_SHOWN)
            );
        }
        o.push_str("</details>");
    }
    o.push_str("</section>\n");
}

/// Coverage strip chart: one row per account/region, days on a shared axis.
fn strip(m: &Model, o: &mut String) {
    let first = m.all_days[0];
    let last = *m.all_days.last().expect("non-empty");
    let span = (last - first + 1) as f64;
    let (lab_w, chart_w, row_h) = (250.0, 1000.0, 13.0);
    // Busiest rows first when capped, shown sorted by account and region.
    let mut rows: Vec<usize> = (0..m.coverage.len()).collect();
    if rows.len() > STRIP_ROWS {
        rows.sort_by(|&a, &b| {
            m.coverage[b]
                .events
                .cmp(&m.coverage[a].events)
                .then(a.cmp(&b))
        });
        rows.truncate(STRIP_ROWS);
        rows.sort_unstable();
    }
    let height = rows.len() as f64 * row_h + 22.0;
    let width = lab_w + chart_w + 10.0;
    let _ = write!(
        o,
        r#"<div class="scroll"><svg class="strip" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" style="max-width:100%;height:auto">"#
    );
    let x = |d: i64| lab_w + (d - first) as f64 / span * chart_w;
    let cell = (chart_w / span).max(2.0);
    for (i, &ci) in rows.iter().enumerate() {
        let c = &m.coverage[ci];
        let y = i as f64 * row_h;
        let _ = write!(
            o,
            r#"<line class="rule" x1="{lab_w}" x2="{:.0}" y1="{:.1}" y2="{:.1}"/><text class="lab" x="0" y="{:.1}">{}</text>"#,
            lab_w + chart_w,
            y + row_h - 0.5,
            y + row_h - 0.5,
            y + 10.5,
            h(&fit(&format!("{} {}", c.account, c.region), 38))
        );
        for g in c.gaps() {
            let _ = write!(
                o,
                r#"<rect class="gap" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>missing: {}</title></rect>"#,
                x(g.0),
                y + 1.5,
                (x(g.1) - x(g.0) + cell).max(1.0),
                row_h - 3.0,
                h(&gap_str(g))
            );
        }
        for &(d, n) in &c.days {
            let cls = if n >= 1000 {
                "d3"
            } else if n >= 30 {
                "d2"
            } else {
                "d1"
            };
            let _ = write!(
                o,
                r#"<rect class="{cls}" x="{:.1}" y="{:.1}" width="{cell:.1}" height="{:.1}"><title>{} {} {}: {} event(s)</title></rect>"#,
                x(d),
                y + 1.5,
                row_h - 3.0,
                h(&c.account),
                h(&c.region),
                day_str(d),
                n
            );
        }
    }
    // Axis: first, middle and last day.
    let ay = rows.len() as f64 * row_h + 15.0;
    let ticks: Vec<i64> = if last - first >= 2 {
        vec![first, first + (last - first) / 2, last]
    } else {
        vec![first, last]
    };
    let mut prev = None;
    for (i, t) in ticks.into_iter().enumerate() {
        if prev == Some(t) {
            continue;
        }
        prev = Some(t);
        let anchor = match i {
            0 => "start",
            1 if last - first >= 2 => "middle",
            _ => "end",
        };
        let xx = if anchor == "end" {
            lab_w + chart_w
        } else {
            x(t)
        };
        let _ = write!(
            o,
            r#"<text class="axis" x="{xx:.1}" y="{ay:.1}" text-anchor="{anchor}">{}</text>"#,
            day_str(t)
        );
    }
    o.push_str("</svg></div>");
    if m.coverage.len() > STRIP_ROWS {
        let _ = write!(
            o,
            r#"<p class="note">The {} busiest of {} account/region pairs are drawn; all are in <code>coverage.csv</code>.</p>"#,
            STRIP_ROWS,
            num(m.coverage.len())
        );
    }
}

fn chains_section(pic: &Picture, o: &mut String) {
    o.push_str(r#"<section id="chains"><h2>2 · Who is behind the role sessions</h2>"#);
    if pic.nodes.is_empty() {
        o.push_str(r#"<p class="note">No sessions in the input: no temporary credentials were issued (or their issuance was not logged), so there are no chains to draw.</p></section>"#);
        return;
    }
    o.push_str(r#"<p class="note">Each box on the left is an origin: the person or workload that started the chain. To the right, the role sessions it led to, one column per hop; sessions reached the same way are grouped, with their count. Hover over a box for details.</p>"#);
    o.push_str(r#"<div class="legend">
<span><span class="sw" style="background:#dbeafe;border-color:#2563eb"></span>IAM user / principal</span>
<span><span class="sw" style="background:#ccfbf1;border-color:#0f766e"></span>SAML / OIDC / Identity Center</span>
<span><span class="sw" style="background:#fef3c7;border-color:#b45309"></span>root</span>
<span><span class="sw" style="background:#f1f5f9;border-color:#64748b"></span>AWS service</span>
<span><span class="sw" style="background:#ffedd5;border-color:#c2410c;border-style:dashed"></span>unknown origin (issuance not in input)</span>
<span><span class="sw" style="background:#fff;border-color:#94a3b8"></span>role sessions</span>
<span><span class="sw" style="background:#fff;border-color:#94a3b8;border-style:dashed"></span>inferred link</span>
<span><span class="ln" style="border-color:#7c3aed"></span>⇄ cross-account hop</span>
<span><span class="sw" style="background:#fee2e2;border-color:#dc2626"></span>⚠ sessions with anomalies</span>
<span>↺ role cycle</span>
</div>"#);
    let _ = write!(o, r#"<div class="scroll">{}</div>"#, picture::svg(pic));
    let hidden_o = pic.origins_total - pic.origins_shown;
    let hidden_s = pic.sessions_total - pic.sessions_shown;
    if hidden_o > 0 || hidden_s > 0 {
        let _ = write!(
            o,
            r#"<p class="note">Drawn: {} of {} origins with sessions and {} of {} sessions ({} origin(s) and {} session(s) left out to keep the picture readable; origins with findings come first, then the most active). Every chain is listed in <code>chains.csv</code> and every session in <code>sessions.csv</code>.</p>"#,
            num(pic.origins_shown),
            num(pic.origins_total),
            num(pic.sessions_shown),
            num(pic.sessions_total),
            num(hidden_o),
            num(hidden_s)
        );
    } else {
        let _ = write!(
            o,
            r#"<p class="note">All {} origins with sessions and all {} sessions are drawn.</p>"#,
            num(pic.origins_total),
            num(pic.sessions_total)
        );
    }
    o.push_str("</section>\n");
}

fn anomalies_section(m: &Model, o: &mut String) {
    o.push_str(r#"<section id="anomalies"><h2>3 · Anomalies</h2>"#);
    if m.findings.is_empty() {
        o.push_str(r#"<p class="ok">No findings: the anomaly detectors found nothing in this input.</p></section>"#);
        return;
    }
    let _ = write!(
        o,
        r#"<p class="note">{} finding(s): {}. In time order below; the evidence is the events each finding rests on, with the file and record they came from.</p>"#,
        num(m.findings.len()),
        m.finding_kinds
            .iter()
            .map(|((k, sev), n)| format!(
                r#"<span class="pill sev-{}">{}</span> {} × {}"#,
                h(&sev.to_ascii_lowercase()),
                h(sev),
                h(k),
                num(n)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for v in m.findings.iter().take(FINDINGS_SHOWN) {
        let f = &v.finding;
        let _ = write!(
            o,
            r#"<div class="finding"><div class="head"><span class="pill sev-{}">{}</span><span class="kind">{}</span><span class="muted">{}</span></div><p>{}</p><dl class="kv"><dt>Subject</dt><dd class="mono wrap">{}</dd><dt>Origin</dt><dd class="mono wrap">{}</dd><dt>Sessions</dt><dd class="mono wrap">{}</dd></dl>"#,
            h(f.severity.as_str()),
            h(f.severity.as_str()),
            h(f.kind.as_str()),
            opt_time(f.time),
            h(&f.explanation),
            h(&f.subject),
            h(&f.origin),
            if v.sessions.is_empty() {
                "–".to_string()
            } else {
                v.sessions
                    .iter()
                    .take(8)
                    .map(|s| h(s).into_owned())
                    .collect::<Vec<_>>()
                    .join("<br>")
            }
        );
        o.push_str(r#"<h3>Evidence</h3><table><tr><th>Time</th><th>Event</th><th>Account / region</th><th>Who</th><th>Event ID</th><th>Source</th></tr>"#);
        for e in v.evidence.iter().take(EVIDENCE_ROWS) {
            let _ = write!(o, "<tr>{}</tr>", evidence_cells(e));
        }
        o.push_str("</table>");
        let missing = v.evidence_missing;
        if v.evidence_found > EVIDENCE_ROWS || missing > 0 {
            let _ = write!(
                o,
                r#"<p class="note">{} evidence event(s) in all{}; every event id is in <code>anomalies.csv</code>.</p>"#,
                num(f.event_ids.len().max(v.evidence_found)),
                if missing == 0 {
                    String::new()
                } else {
                    format!(", {} not among the events read", num(missing))
                }
            );
        }
        o.push_str("</div>");
    }
    if m.findings.len() > FINDINGS_SHOWN {
        let _ = write!(
            o,
            r#"<p class="note">… and {} more findings in <code>anomalies.csv</code>.</p>"#,
            num(m.findings.len() - FINDINGS_SHOWN)
        );
    }
    o.push_str("</section>\n");
}

/// An evidence event as table cells: time, event, account / region, who, event id, source.
fn evidence_cells(e: &super::data::EventView) -> String {
    format!(
        r#"<td class="nw">{}</td><td>{}:{}</td><td><span class="mono">{}</span> <span class="muted">{}</span></td><td>{}</td><td class="mono nw">{}</td><td class="mono wrap">{}#{}</td>"#,
        opt_time(e.time),
        h(txt(&e.event_source).trim_end_matches(".amazonaws.com")),
        h(txt(&e.event_name)),
        h(txt(&e.recipient_account)),
        h(txt(&e.aws_region)),
        who(&e.who),
        h(txt(&e.event_id)),
        short(txt(&e.source_file), 60),
        e.record_index.unwrap_or(0)
    )
}

/// A string from the logs, empty when missing.
fn txt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// "origin → last role (depth n)" for an attribution, escaped.
fn who(a: &WhoView) -> String {
    let mut s = format!(
        r#"<span title="{}">{}</span>"#,
        h(&a.origin),
        h(&fit(&a.label, 40))
    );
    if let Some(role) = &a.role {
        let _ = write!(
            s,
            r#" → <span title="{}">{}</span>{}"#,
            h(&a.chain),
            h(&fit(role, 40)),
            if a.depth > 1 {
                format!(" <span class=\"muted\">(depth {})</span>", a.depth)
            } else {
                String::new()
            }
        );
    }
    if a.confidence != trailgraph_log::model::Confidence::Exact {
        let _ = write!(
            s,
            r#" <span class="muted">[{}]</span>"#,
            a.confidence.as_str()
        );
    }
    s
}

/// A Sigma level as a pill (`informational` shown as `info`).
fn level_pill(level: &str) -> String {
    let (cls, text) = match level {
        "" => ("info", "none"),
        "informational" => ("info", "info"),
        l => (l, l),
    };
    format!(r#"<span class="pill sev-{}">{}</span>"#, h(cls), h(text))
}

fn hunt_section(m: &Model, o: &mut String) {
    o.push_str(r#"<section id="hunt"><h2>4 · Hunt: Sigma rules, by who is behind them</h2>"#);
    let Some(hv) = &m.hunt else {
        o.push_str(
            r#"<p class="note">Sigma rules were not run (<code>--no-rules</code>).</p></section>"#,
        );
        return;
    };
    let skipped = if hv.skipped + hv.problems > 0 {
        format!(
            " ({} skipped as not for CloudTrail or below --min-level, {} with problems: <code>trailgraph hunt --list-rules</code> says why)",
            num(hv.skipped),
            num(hv.problems)
        )
    } else {
        String::new()
    };
    if hv.hits == 0 {
        let _ = write!(
            o,
            r#"<p class="ok">No hits: none of the {} Sigma rule(s) evaluated{} matched an event.</p></section>"#,
            num(hv.rules.len()),
            skipped
        );
        return;
    }
    let _ = write!(
        o,
        r#"<p class="note">{} hit(s) of {} of the {} Sigma rule(s) evaluated{}, on the events of {} origin(s). Each hit is attributed like every event here: to the origin at the top of the role chain, not to the role session that made the call. Every hit is in <code>hunt.csv</code>, the roll-up in <code>hunt_origins.csv</code>.</p>"#,
        num(hv.hits),
        num(hv.by_rule.len()),
        num(hv.rules.len()),
        skipped,
        num(hv.by_origin.len())
    );
    o.push_str(r#"<h3>Per origin</h3><div class="scroll"><table><tr><th>Origin</th><th>Highest</th><th class="num">Hits</th><th>Rules hit</th><th>Accounts</th><th>First</th><th>Last</th></tr>"#);
    for r in hv.by_origin.iter().take(HUNT_ORIGIN_ROWS) {
        let (label, sub) = origin_labels(&r.origin);
        let titles: Vec<String> = r
            .rules
            .iter()
            .take(8)
            .map(|&k| h(&hv.rules[k].title).into_owned())
            .collect();
        let more = if r.rules.len() > 8 {
            format!("<br>… {} more", r.rules.len() - 8)
        } else {
            String::new()
        };
        let _ = write!(
            o,
            r#"<tr><td class="wrap"><span title="{}">{}</span><span class="sub">{}</span></td><td>{}</td><td class="num">{}</td><td class="wrap">{}{}</td><td class="mono wrap">{}</td><td class="nw">{}</td><td class="nw">{}</td></tr>"#,
            h(&r.origin),
            h(&fit(&label, 60)),
            h(&fit(&sub, 70)),
            level_pill(r.highest_level),
            num(r.hits),
            titles.join("<br>"),
            more,
            h(&r.accounts.join(" ")),
            opt_time(r.first),
            opt_time(r.last)
        );
    }
    o.push_str("</table></div>");
    if hv.by_origin.len() > HUNT_ORIGIN_ROWS {
        let _ = write!(
            o,
            r#"<p class="note">{} more origin(s) in <code>hunt_origins.csv</code>.</p>"#,
            num(hv.by_origin.len() - HUNT_ORIGIN_ROWS)
        );
    }
    o.push_str(r#"<h3>Per rule</h3><div class="scroll"><table><tr><th>Rule</th><th>Level</th><th class="num">Hits</th><th class="num">Origins</th><th>Author</th><th>File</th></tr>"#);
    for &(k, n, origins) in &hv.by_rule {
        let r = &hv.rules[k];
        let _ = write!(
            o,
            r#"<tr><td class="wrap" title="{}">{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="wrap">{}</td><td class="mono wrap">{}</td></tr>"#,
            h(&r.id),
            h(&r.title),
            level_pill(r.level),
            num(n),
            num(origins),
            h(&r.author),
            short(&r.file, 60)
        );
    }
    o.push_str("</table></div>");
    let _ = write!(
        o,
        r#"<h3>Hits</h3><p class="note">{}, most severe first, then in time order; with the file and record each event came from.</p><div class="scroll"><table><tr><th>Level</th><th>Rule</th><th>Time</th><th>Event</th><th>Account / region</th><th>Who</th><th>Event ID</th><th>Source</th></tr>"#,
        if hv.hits > hv.shown.len() as u64 {
            format!(
                "The {} most severe of {} hits",
                num(hv.shown.len()),
                num(hv.hits)
            )
        } else {
            format!("All {} hits", num(hv.hits))
        }
    );
    for (k, e) in &hv.shown {
        let r = &hv.rules[*k];
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="wrap">{}</td>{}</tr>"#,
            level_pill(r.level),
            h(&r.title),
            evidence_cells(e)
        );
    }
    o.push_str("</table></div>");
    if hv.hits > hv.shown.len() as u64 {
        let _ = write!(
            o,
            r#"<p class="note">… and {} more hits in <code>hunt.csv</code>.</p>"#,
            num(hv.hits - hv.shown.len() as u64)
        );
    }
    o.push_str("</section>\n");
}

/// Roles shown in the Trust section (roles with findings first); all are in trust.csv.
const TRUST_ROLES: usize = 60;
/// Findings of a role written out under its picture; the others are folded.
const TRUST_NOTES: usize = 3;

fn trust_section(m: &Model, o: &mut String) {
    o.push_str(r#"<section id="trust"><h2>5 · Trust: who may assume each role, and who did</h2>"#);
    let Some(roles) = &m.trust else {
        o.push_str(r#"<p class="note">No IAM configuration was given. With <code>--iam</code> (the output of <code>aws iam get-account-authorization-details</code>, <code>get-role</code> or <code>list-roles</code>, and optionally Organizations' <code>list-accounts</code>), this section puts each role's trust policy beside the assumptions observed in the logs: trusted principals never seen, assumptions the policy in force does not explain, and trusts open to anyone. <code>trailgraph trust</code> and <code>trailgraph whatif</code> (docs/trust.md) answer the same from the command line.</p></section>"#);
        return;
    };
    let with_findings = roles.iter().filter(|r| !r.findings.is_empty()).count();
    let _ = write!(
        o,
        r#"<p class="note">{} role(s), {} with findings. Per role: in the middle the role; on the left the principals its trust policy names (latest version); on the right the direct callers observed assuming it, with their count and first/last time, and the origin behind each (the human or workload). A caller shares its band with the principal that matched it, so what <i>could</i> assume the role and what <i>did</i> line up; callers no principal of the latest policy names are in the last band. Hover over a box for the full text. Every row is in <code>trust.csv</code>.</p>"#,
        num(roles.len()),
        num(with_findings)
    );
    o.push_str(r#"<div class="legend">
<span><span class="sw" style="background:#dbeafe;border-color:#2563eb"></span>user / role</span>
<span><span class="sw" style="background:#fef3c7;border-color:#b45309"></span>whole account</span>
<span><span class="sw" style="background:#fee2e2;border-color:#dc2626"></span>* anyone</span>
<span><span class="sw" style="background:#f1f5f9;border-color:#64748b"></span>AWS service</span>
<span><span class="sw" style="background:#ccfbf1;border-color:#0f766e"></span>SAML / OIDC</span>
<span><span class="sw" style="background:#f8fafc;border-color:#94a3b8;border-style:dashed"></span>never used (unused_trust)</span>
<span><span class="ln" style="border-color:#16a34a"></span>allowed</span>
<span><span class="ln" style="border-color:#dc2626"></span>denied by the policy in force</span>
<span><span class="ln" style="border-color:#d97706;border-top-style:dashed"></span>unknown</span>
<span>⚠ not explained (assumption_not_explained) · ⚠ broad (broad_trust) · deny: a Deny statement</span>
</div>"#);
    let mut order: Vec<&super::data::RoleTrust> = roles.iter().collect();
    order.sort_by_key(|r| r.findings.is_empty());
    for r in order.iter().take(TRUST_ROLES) {
        let pills: String = r
            .findings
            .iter()
            .map(|f| f.kind.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|f| format!(r#"<span class="pill c-anomaly">{}</span> "#, h(f)))
            .collect();
        let _ = write!(
            o,
            r#"<div class="{}"><div class="head"><span class="kind mono">{}</span> {}<span class="muted">{}</span></div>"#,
            if r.findings.is_empty() {
                "finding quiet"
            } else {
                "finding"
            },
            h(&r.role_arn),
            pills,
            if r.last_used.is_empty() {
                String::new()
            } else {
                format!("last used: {}", h(&r.last_used))
            }
        );
        let pic = &r.picture;
        let _ = write!(
            o,
            r#"<div class="scroll">{}</div>"#,
            trust_picture::svg(pic)
        );
        if pic.capped() {
            let _ = write!(
                o,
                r#"<p class="note">Drawn: {} of {} principals, {} of {} callers, {} of {} origins (the rest are the "+N more" boxes); every row is in <code>trust.csv</code>.</p>"#,
                num(pic.principals_shown),
                num(pic.principals_total),
                num(pic.callers_shown),
                num(pic.callers_total),
                num(pic.origins_shown),
                num(pic.origins_total)
            );
        }
        for (i, f) in r.findings.iter().enumerate() {
            if i == TRUST_NOTES && r.findings.len() > TRUST_NOTES + 1 {
                let _ = write!(
                    o,
                    "<details><summary>{} more finding(s)</summary>",
                    num(r.findings.len() - TRUST_NOTES)
                );
            }
            let _ = write!(
                o,
                r#"<p class="note"><b>{}</b> <span class="mono">{}</span>{}: {}</p>"#,
                h(&f.kind),
                h(&f.principal),
                if f.origin.is_empty() || f.origin == f.principal {
                    String::new()
                } else {
                    format!(r#" (origin <span class="mono">{}</span>)"#, h(&f.origin))
                },
                h(&f.detail)
            );
        }
        if r.findings.len() > TRUST_NOTES + 1 {
            o.push_str("</details>");
        }
        trust_table(r, o);
        o.push_str("</div>");
    }
    if roles.len() > TRUST_ROLES {
        let _ = write!(
            o,
            r#"<p class="note">{} more role(s) in <code>trust.csv</code>.</p>"#,
            num(roles.len() - TRUST_ROLES)
        );
    }
    o.push_str("</section>\n");
}

/// The role's rows in full (every principal with its statement, every caller and origin),
/// folded under the picture: the text to read and copy.
fn trust_table(r: &super::data::RoleTrust, o: &mut String) {
    o.push_str(r#"<details><summary>As text: the statements in full, every caller and origin</summary><table><tr><th>Trusted by the policy</th><th>Observed assuming it</th></tr><tr><td class="wrap">"#);
    if r.trusted.is_empty() {
        let _ = write!(
            o,
            r#"<span class="muted">{}</span>"#,
            h(if r.no_policy.is_empty() {
                "no trust policy known"
            } else {
                &r.no_policy
            })
        );
    }
    for t in &r.trusted {
        let unused = r
            .findings
            .iter()
            .any(|f| f.kind == "unused_trust" && f.principal == t.principal);
        let _ = write!(
            o,
            r#"<div><span class="mono">{}</span>{}<span class="sub">{}</span></div>"#,
            h(&t.principal),
            if unused {
                r#" <span class="pill sev-low">never observed</span>"#
            } else {
                ""
            },
            h(&t.statement)
        );
    }
    o.push_str(r#"</td><td class="wrap">"#);
    if r.observed.is_empty() {
        o.push_str(r#"<span class="muted">no successful assumption in the input</span>"#);
    }
    for c in &r.observed {
        let unexplained = r
            .findings
            .iter()
            .any(|f| f.kind == "assumption_not_explained" && f.principal == c.caller);
        let _ = write!(
            o,
            r#"<div><span class="mono">{}</span>{} <span class="muted">× {} · {} .. {}</span><span class="sub">origin {} · {}{}</span></div>"#,
            h(&c.caller),
            if unexplained {
                r#" <span class="pill sev-high">not explained by the policy</span>"#
            } else {
                ""
            },
            num(c.assumptions),
            h(&c.first),
            h(&c.last),
            h(&c.origin),
            h(&c.verdicts),
            if c.matched.is_empty() {
                String::new()
            } else {
                format!(" · named by {}", h(&c.matched.join("; ")))
            }
        );
    }
    o.push_str("</td></tr></table></details>");
}

fn origins_section(m: &Model, o: &mut String) {
    o.push_str(r#"<section id="origins"><h2>6 · Activity per origin</h2>"#);
    let _ = write!(
        o,
        r#"<p class="note">{} origin(s), most active first. Mutating = calls with readOnly false; denied = AccessDenied-style errors; chained = sessions two or more hops deep.</p>"#,
        num(m.origins.len())
    );
    o.push_str(r#"<div class="scroll"><table><tr><th>Origin</th><th class="num">Events</th><th class="num">Mutating</th><th class="num">Denied</th><th class="num">Sessions</th><th class="num">Chained</th><th class="num">Max depth</th><th class="num">Roles</th><th class="num">Accounts</th><th class="num">Cross-acct</th><th class="num">Findings</th><th>First seen</th><th>Last seen</th></tr>"#);
    for r in m.origins.iter().take(ORIGIN_ROWS) {
        let (label, sub) = origin_labels(&r.origin);
        let list = |v: &std::collections::BTreeSet<String>| -> String {
            let mut s: Vec<&str> = v.iter().take(30).map(String::as_str).collect();
            if v.len() > 30 {
                s.push("…");
            }
            h(&s.join("\n")).into_owned()
        };
        let _ = write!(
            o,
            r#"<tr><td class="wrap"><span title="{}">{}</span><span class="sub">{}</span></td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num" title="{}">{}</td><td class="num" title="{}">{}</td><td class="num">{}</td><td class="num">{}</td><td class="nw">{}</td><td class="nw">{}</td></tr>"#,
            h(&r.origin),
            h(&fit(&label, 60)),
            h(&fit(&sub, 70)),
            num(r.events),
            num(r.mutating),
            num(r.denied),
            num(r.sessions),
            num(r.chained),
            r.max_depth,
            list(&r.roles),
            num(r.roles.len()),
            list(&r.accounts),
            num(r.accounts.len()),
            num(r.cross_account),
            if r.findings > 0 {
                format!(r#"<span class="pill c-anomaly">{}</span>"#, num(r.findings))
            } else {
                "0".into()
            },
            opt_time(r.first),
            opt_time(r.last)
        );
    }
    o.push_str("</table></div>");
    if m.origins.len() > ORIGIN_ROWS {
        let _ = write!(
            o,
            r#"<p class="note">{} less active origins are in <code>origins.csv</code>.</p>"#,
            num(m.origins.len() - ORIGIN_ROWS)
        );
    }
    o.push_str("</section>\n");
}

fn timeline_section(m: &Model, o: &mut String) {
    o.push_str(r#"<section id="timeline"><h2>7 · Timeline of important events</h2>"#);
    let tl = &m.timeline;
    let (counts, items, left_out) = (&tl.counts, &tl.shown, &tl.left_out);
    let _ = write!(
        o,
        r#"<p class="note">{} important event(s): {}. {}</p>"#,
        num(tl.total),
        Category::ALL
            .iter()
            .map(|c| format!(
                r#"<span class="pill c-{}">{}</span> {}"#,
                c.as_str(),
                c.as_str(),
                num(counts.get(c).copied().unwrap_or(0))
            ))
            .collect::<Vec<_>>()
            .join(" "),
        if left_out.is_empty() {
            "All are shown.".to_string()
        } else {
            format!(
                "Shown: the {} most important (anomalies, denials, sign-ins, then issuances and changes by people before those by AWS services), in time order; left out: {}. All are in <code>timeline.csv</code>.",
                num(items.len()),
                left_out
                    .iter()
                    .map(|(c, n)| format!("{} {}", num(n), c.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if items.is_empty() {
        o.push_str("</section>\n");
        return;
    }
    o.push_str(r#"<div class="scroll"><table><tr><th>Time (UTC)</th><th>What</th><th>Event</th><th>Account / region</th><th>Who (origin → role)</th><th>Source IP</th><th>User agent</th><th>Error / note</th><th>Event ID</th></tr>"#);
    for t in items {
        let e = &t.event;
        let errnote = match (&e.error_code, &t.note) {
            (Some(e), Some(n)) => format!("{} · {}", short(e, 32), short(n, 60)),
            (Some(e), None) => short(e, 32),
            (None, Some(n)) => short(n, 60),
            (None, None) => String::new(),
        };
        let _ = write!(
            o,
            r#"<tr><td class="nw">{}</td><td><span class="pill c-{}">{}</span></td><td class="wrap">{}:{}</td><td><span class="mono">{}</span><span class="sub">{}</span></td><td class="wrap">{}</td><td class="mono">{}</td><td class="wrap">{}</td><td class="wrap">{}</td><td class="mono nw">{}</td></tr>"#,
            opt_time(e.time),
            t.category.as_str(),
            t.category.as_str(),
            h(txt(&e.event_source).trim_end_matches(".amazonaws.com")),
            h(txt(&e.event_name)),
            h(txt(&e.recipient_account)),
            h(txt(&e.aws_region)),
            who(&e.who),
            short(txt(&e.source_ip), 40),
            short(txt(&e.user_agent), 28),
            errnote,
            short(txt(&e.event_id), 9)
        );
    }
    o.push_str("</table></div></section>\n");
}
