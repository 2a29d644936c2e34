//! `trailgraph timeline`: attributed events as a Timesketch timeline.
//!
//! One row per event, in event-time order (ties in input order), written row by row (JSONL by default, or CSV).
//! Timesketch's required fields come first: `message` (who did what where, in one line),
//! `datetime` (ISO 8601 UTC), `timestamp_desc` ("Event Time"); then `timestamp`
//! (microseconds since the epoch), `data_type`, the key event fields and the attribution
//! fields ([`FIELDS`]). Events without an event time cannot be placed on a timeline: they are
//! left out and counted on standard error.

use anyhow::Result;
use std::io::Write;
use trailgraph_graph::attribute::{attributed, Cols};
use trailgraph_graph::scan::Scan;
use trailgraph_log::escape::{csv_field, term};
use trailgraph_log::model::{format_time, origin};
use trailgraph_log::table::event;
use trailgraph_store::spill::{Key, Spill};

/// The timeline formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineFormat {
    /// One JSON object per line (Timesketch JSONL)
    Jsonl,
    /// CSV with a header line (formula injection neutralised)
    Csv,
}

/// The fields of a timeline row, in output order.
pub const FIELDS: [&str; 27] = [
    "message",
    "datetime",
    "timestamp_desc",
    "timestamp",
    "data_type",
    event::event_id,
    event::event_name,
    event::event_source,
    event::event_type,
    event::aws_region,
    event::recipient_account,
    event::source_ip,
    event::user_agent,
    event::error_code,
    event::error_message,
    event::read_only,
    event::identity_type,
    event::identity_arn,
    event::access_key_id,
    attributed::origin,
    attributed::chain,
    attributed::depth,
    attributed::confidence,
    attributed::session_id,
    attributed::source_identity,
    event::source_file,
    event::record_index,
];

/// The Timesketch `data_type` of every row.
pub(crate) const DATA_TYPE: &str = "aws:cloudtrail:event";

/// One value of a row.
enum V<'a> {
    Null,
    Str(&'a str),
    Num(i64),
    Bool(bool),
}

impl<'a> From<Option<&'a str>> for V<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(V::Null, V::Str)
    }
}

impl From<Option<bool>> for V<'_> {
    fn from(v: Option<bool>) -> Self {
        v.map_or(V::Null, V::Bool)
    }
}

/// A chain element for the message: the role name, or `root@<account>` for an AssumeRoot hop.
fn hop_name(arn: &str) -> String {
    if arn.ends_with(":root") {
        if let Some(a) = trailgraph_log::model::arn_account(arn) {
            return format!("root@{a}");
        }
    }
    match trailgraph_log::model::arn_resource(arn) {
        Some(r) if r.starts_with("role/") => trailgraph_log::model::role_name(arn).to_string(),
        _ => arn.to_string(),
    }
}

/// The one-line description of an event: `ORIGIN [via A>B]: svc:Name in ACCOUNT REGION from
/// IP [failed: CODE]`. Attacker-controlled parts are terminal-escaped (no control or bidi
/// characters reach the Timesketch UI).
#[allow(clippy::too_many_arguments)]
pub fn message(
    origin: &str,
    chain: &[String],
    event_source: Option<&str>,
    event_name: Option<&str>,
    account: Option<&str>,
    region: Option<&str>,
    source_ip: Option<&str>,
    error_code: Option<&str>,
) -> String {
    let mut m = String::with_capacity(160);
    if origin.is_empty() {
        m.push_str(&term(&origin::unknown("")));
    } else {
        m.push_str(&term(origin));
    }
    if !chain.is_empty() {
        m.push_str(" via ");
        let hops: Vec<String> = chain.iter().map(|h| hop_name(h)).collect();
        m.push_str(&term(&hops.join(">")));
    }
    m.push_str(": ");
    if let Some(src) = event_source {
        let svc = src.strip_suffix(".amazonaws.com").unwrap_or(src);
        m.push_str(&term(svc));
        m.push(':');
    }
    m.push_str(&term(event_name.unwrap_or("?")));
    if account.is_some() || region.is_some() {
        m.push_str(" in");
        for p in [account, region].into_iter().flatten() {
            m.push(' ');
            m.push_str(&term(p));
        }
    }
    if let Some(ip) = source_ip {
        m.push_str(" from ");
        m.push_str(&term(ip));
    }
    if let Some(e) = error_code {
        m.push_str(" failed: ");
        m.push_str(&term(e));
    }
    m
}

/// The events columns the timeline reads.
const COLUMNS: [&str; 17] = [
    event::event_time,
    event::event_id,
    event::event_name,
    event::event_source,
    event::event_type,
    event::aws_region,
    event::recipient_account,
    event::source_ip,
    event::user_agent,
    event::error_code,
    event::error_message,
    event::identity_type,
    event::identity_arn,
    event::access_key_id,
    event::source_file,
    event::read_only,
    event::record_index,
];

/// Writes the timeline row by row; returns how many events were left out for want of a time.
/// Rows are rendered a slice at a time and spilled as sorted runs, which a merge writes out in
/// time order: memory does not grow with events.
pub fn write_timeline(scan: &Scan, format: TimelineFormat, out: &mut dyn Write) -> Result<usize> {
    let keys: Vec<String> = FIELDS
        .iter()
        .map(|k| serde_json::to_string(k).expect("string"))
        .collect();
    if format == TimelineFormat::Csv {
        writeln!(out, "{}", FIELDS.join(","))?;
    }
    let mut spill = Spill::new()?;
    let mut skipped = 0usize;
    scan.for_each(&COLUMNS, |sl| {
        let c = Cols::new(sl.events);
        let et = c.t(event::event_time)?;
        let (eid, name, src, typ, region, acct) = (
            c.s(event::event_id)?,
            c.s(event::event_name)?,
            c.s(event::event_source)?,
            c.s(event::event_type)?,
            c.s(event::aws_region)?,
            c.s(event::recipient_account)?,
        );
        let (ip, ua, err, errmsg, ityp, iarn, key, file) = (
            c.s(event::source_ip)?,
            c.s(event::user_agent)?,
            c.s(event::error_code)?,
            c.s(event::error_message)?,
            c.s(event::identity_type)?,
            c.s(event::identity_arn)?,
            c.s(event::access_key_id)?,
            c.s(event::source_file)?,
        );
        let ro = c.b(event::read_only)?;
        let rec = c.u(event::record_index)?;
        // Event-time order; ties keep the canonical input order. Events without a time
        // cannot be placed and are counted instead.
        let mut order: Vec<(Key, usize)> = (0..sl.height())
            .filter_map(|i| {
                let p = sl.position(i);
                et.get(i).map(|t| ((false, t, p.0, p.1), i))
            })
            .collect();
        skipped += sl.height() - order.len();
        order.sort_unstable();
        let mut rows: Vec<u8> = Vec::with_capacity(order.len() * 1024);
        let mut ends: Vec<usize> = Vec::with_capacity(order.len());
        for &((_, t, _, _), i) in &order {
            let a = sl.of(i);
            let msg = message(
                &a.origin,
                &a.chain,
                src.get(i),
                name.get(i),
                acct.get(i),
                region.get(i),
                ip.get(i),
                err.get(i),
            );
            let when = format_time(t);
            let chain = a.chain_string();
            let session = a.session.map(|s| scan.graph.sessions[s].id.as_str());
            let vals: [V; 27] = [
                V::Str(&msg),
                V::Str(&when),
                V::Str("Event Time"),
                V::Num(t.saturating_mul(1000)),
                V::Str(DATA_TYPE),
                eid.get(i).into(),
                name.get(i).into(),
                src.get(i).into(),
                typ.get(i).into(),
                region.get(i).into(),
                acct.get(i).into(),
                ip.get(i).into(),
                ua.get(i).into(),
                err.get(i).into(),
                errmsg.get(i).into(),
                ro.get(i).into(),
                ityp.get(i).into(),
                iarn.get(i).into(),
                key.get(i).into(),
                V::Str(&a.origin),
                V::Str(&chain),
                V::Num(a.depth() as i64),
                V::Str(a.confidence.as_str()),
                session.into(),
                a.source_identity.as_deref().into(),
                file.get(i).into(),
                rec.get(i).map_or(V::Null, |r| V::Num(r as i64)),
            ];
            render_row(&vals, &keys, format, &mut rows)?;
            ends.push(rows.len());
        }
        let mut start = 0;
        spill.run(order.iter().zip(&ends).map(|((k, _), &end)| {
            let row = &rows[start..end];
            start = end;
            (*k, row)
        }))
    })?;
    spill.merge(|row| Ok(out.write_all(row)?))?;
    Ok(skipped)
}

/// Appends one row in `format` to `buf`.
fn render_row(
    vals: &[V],
    keys: &[String],
    format: TimelineFormat,
    buf: &mut Vec<u8>,
) -> Result<()> {
    match format {
        TimelineFormat::Jsonl => {
            buf.push(b'{');
            for (j, v) in vals.iter().enumerate() {
                if j > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(keys[j].as_bytes());
                buf.push(b':');
                match v {
                    V::Null => buf.extend_from_slice(b"null"),
                    V::Str(s) => serde_json::to_writer(&mut *buf, s)?,
                    V::Num(n) => buf.extend_from_slice(n.to_string().as_bytes()),
                    V::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
                }
            }
            buf.extend_from_slice(b"}\n");
        }
        TimelineFormat::Csv => {
            for (j, v) in vals.iter().enumerate() {
                if j > 0 {
                    buf.push(b',');
                }
                match v {
                    V::Null => {}
                    V::Str(s) => buf.extend_from_slice(csv_field(s).as_bytes()),
                    V::Num(n) => buf.extend_from_slice(n.to_string().as_bytes()),
                    V::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
                }
            }
            buf.push(b'\n');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let chain = vec![
            "arn:aws:iam::1:role/ops/Role1".to_string(),
            "arn:aws:iam::2:root".to_string(),
        ];
        assert_eq!(
            message(
                "arn:aws:iam::1:user/alice",
                &chain,
                Some("s3.amazonaws.com"),
                Some("DeleteBucket"),
                Some("111111111111"),
                Some("us-east-1"),
                Some("1.2.3.4"),
                Some("AccessDenied"),
            ),
            "arn:aws:iam::1:user/alice via Role1>root@2: s3:DeleteBucket in 111111111111 us-east-1 from 1.2.3.4 failed: AccessDenied"
        );
        assert_eq!(
            message("", &[], None, None, None, None, Some("a\x1b[2Jb"), None),
            "unknown:: ? from a\\u{1b}[2Jb"
        );
    }
}
