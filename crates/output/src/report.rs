//! `trailgraph report`: a self-contained HTML report plus Markdown, CSV and JSON tables.
//!
//! ```text
//! DIR/report.html        one page, inline CSS and SVG, no network fetches (a CSP forbids them)
//! DIR/report.md          the same content as Markdown
//! DIR/summary.json       input accounting, time range, coverage and report totals
//! DIR/sessions.csv|json  one row per session (as `trailgraph sessions`)
//! DIR/chains.csv|json    one row per distinct chain (as `trailgraph chains`)
//! DIR/anomalies.csv|json the findings (as `trailgraph anomalies`)
//! DIR/hunt.csv|json      the Sigma rules' hits (as `trailgraph hunt`; not with --no-rules)
//! DIR/hunt_origins.csv|json the hits per origin (as `trailgraph hunt --by origin`)
//! DIR/trust.csv|json     configured trust beside observed assumptions (as `trailgraph trust`;
//!                        with --iam)
//! DIR/origins.csv|json   per-origin activity
//! DIR/timeline.csv|json  the important events: anomalies' first events, access denied,
//!                        console sign-ins, issuances, mutating calls
//! DIR/coverage.csv|json  days with events per account and region, and the gaps
//! ```
//! The files hold no wall-clock time: two runs over the same input are byte-identical.

mod data;
mod html;
mod markdown;
mod picture;
mod tables;
mod trust_picture;

pub use data::HuntInput;

use anyhow::{Context, Result};
use std::borrow::Cow;
use std::io::Write;
use std::path::PathBuf;

/// What the report shows besides the events: the detectors' findings, the Sigma rules' hits
/// (None: `--no-rules`), and `trust`'s table (None: no `--iam`).
pub struct Sections<'a> {
    pub findings: Vec<trailgraph_analysis::anomalies::Finding>,
    pub hunt: Option<HuntInput<'a>>,
    pub trust: Option<polars::prelude::DataFrame>,
}

/// Writes the report of `scan` (read with `stats` and `problems`) with its `sections` into
/// `dir`: report.html, report.md and the tables. `inputs` are the paths the user gave, as shown
/// on the report.
pub fn write_report(
    scan: &trailgraph_graph::scan::Scan,
    stats: &trailgraph_log::ingest::Stats,
    problems: &[trailgraph_log::ingest::Problem],
    sections: Sections<'_>,
    inputs: &[PathBuf],
    dir: &std::path::Path,
) -> Result<()> {
    let prof = trailgraph_log::ingest::profile;
    let t0 = std::time::Instant::now();
    let (model, source) = data::build(
        scan,
        stats,
        problems,
        sections.findings,
        sections.hunt,
        sections.trust,
        inputs,
    )?;
    prof("report model", t0);
    let t0 = std::time::Instant::now();
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    tables::write_all(&model, &source, dir)?;
    let t1 = std::time::Instant::now();
    write_file(dir.join("report.html"), |w| html::write(&model, w))?;
    prof("report.html", t1);
    let t1 = std::time::Instant::now();
    write_file(dir.join("report.md"), |w| markdown::write(&model, w))?;
    prof("report.md", t1);
    prof("write report files", t0);
    Ok(())
}

fn write_file(path: PathBuf, f: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let file = std::fs::File::create(&path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    f(&mut w)?;
    w.flush()
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// Bidirectional-override and isolate characters, which can make text read differently from
/// what it is.
fn is_bidi(c: char) -> bool {
    matches!(c as u32, 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069)
}

/// HTML text or attribute (also SVG text): escaped, with control and bidi characters dropped.
pub(crate) fn h(s: &str) -> Cow<'_, str> {
    if s.chars()
        .any(|c| (c.is_control() && c != '\n') || is_bidi(c))
    {
        let clean: String = s
            .chars()
            .filter(|&c| !((c.is_control() && c != '\n') || is_bidi(c)))
            .collect();
        return Cow::Owned(trailgraph_log::escape::html(&clean).into_owned());
    }
    trailgraph_log::escape::html(s)
}

/// Markdown text (table cells and list items): `\`, `|`, backticks, brackets and `*`
/// escaped, `<`, `>`, `&` and `"` as entities, newlines as spaces, control and bidi characters
/// dropped.
pub(crate) fn md(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '|' => o.push_str("\\|"),
            '`' => o.push_str("\\`"),
            '[' => o.push_str("\\["),
            ']' => o.push_str("\\]"),
            '*' => o.push_str("\\*"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\n' | '\r' | '\t' => o.push(' '),
            c if c.is_control() || is_bidi(c) => {}
            c => o.push(c),
        }
    }
    o
}

/// At most `n` characters, with `…` when cut.
pub(crate) fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// At most `n` characters, cut in the middle (keeps distinctive suffixes of role names).
pub(crate) fn fit_middle(s: &str, n: usize) -> String {
    let len = s.chars().count();
    if len <= n || n < 8 {
        return fit(s, n);
    }
    let head = (n - 1) * 3 / 5;
    let tail = n - 1 - head;
    let mut t: String = s.chars().take(head).collect();
    t.push('…');
    t.extend(s.chars().skip(len - tail));
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn escapes() {
        assert_eq!(md("a|b`c<d>\ne"), "a\\|b\\`c&lt;d&gt; e");
        assert_eq!(md("x\\|y"), "x\\\\\\|y");
        assert_eq!(h("<b a=\"1\">\u{202e}"), "&lt;b a=&quot;1&quot;&gt;");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit_middle("abcdefghijklmnop", 10), "abcde…mnop");
    }
}
