//! Arbitrary bytes as the decoded content of one input file, through the record walker and the
//! normalizer into the columnar batches: what `ingest` does for each decoded unit (`read_unit`
//! in crates/log/src/ingest.rs), minus the problem texts. Ingest only walks units whose first
//! non-blank byte is `{`, `[` or a BOM; here every input is walked (the walker promises never to
//! fail on any bytes).
//!
//! Asserts, besides "no panic, no abort, no out-of-memory":
//! - the per-file accounting ingest's totals rest on: every record position the walker counts
//!   (`WalkStats::items`, ingest's `records_read`) was handed to the callback exactly once, as
//!   an event row or a skipped record, so `records read = events + skipped`, and after
//!   de-duplication within the file `records read = events kept + duplicates + skipped`;
//! - an issuance row is made only for an event, and points at its event's row;
//! - the batches hold what was pushed: row count, record indexes 0, 1, 2, … in order, and the
//!   string columns read back the rows' values (including the masked push ingest uses for a
//!   projection);
//! - a walk that stopped early reports why.

#![no_main]

use libfuzzer_sys::fuzz_target;
use trailgraph_log::ingest::{dedup_key, SeenKeys};
use trailgraph_log::normalize::normalize;
use trailgraph_log::record::{walk, Item};
use trailgraph_log::table::{ColRef, EventBatch, IssuanceBatch};

const NAME: &str = "111122223333_CloudTrail_us-east-1_20250101T0000Z_fuzz.json";

/// The columns filled by the masked push: every other one (schema order).
fn mask() -> Vec<bool> {
    (0..EventBatch::SCHEMA.len()).map(|i| i % 2 == 0).collect()
}

fuzz_target!(|data: &[u8]| {
    let wanted = mask();
    let mut events = EventBatch::default();
    let mut masked = EventBatch::default();
    let mut issuances = IssuanceBatch::default();
    let mut issuance_event_row: Vec<usize> = Vec::new();
    // Per event row: (event_id, event_name, user_agent, request_parameters) as pushed.
    let mut pushed: Vec<[Option<String>; 4]> = Vec::new();
    let mut skipped = 0u64;
    let mut index = 0u64;
    let stats = walk(data, &mut |item| {
        match item {
            Item::Record(rec) => {
                assert!(rec.is_event(), "a record that is not an event");
                let (row, iss) = normalize(rec, NAME, index);
                assert_eq!(row.record_index, index);
                assert_eq!(row.source_file.as_deref(), Some(NAME));
                if let Some(iss) = iss {
                    assert_eq!(iss.record_index, index);
                    assert_eq!(iss.event_id, row.event_id);
                    issuance_event_row.push(events.len());
                    issuances.push(&iss);
                }
                events.push(&row);
                masked.push_masked(&row, &wanted);
                pushed.push(
                    [
                        &row.event_id,
                        &row.event_name,
                        &row.user_agent,
                        &row.request_parameters,
                    ]
                    .map(|v| v.as_deref().map(String::from)),
                );
            }
            Item::NotRecord(reason) => {
                assert!(!reason.is_empty());
                skipped += 1;
            }
        }
        index += 1;
    });

    // Accounting: records read = events + skipped, within the file.
    let rows = events.len() as u64;
    assert_eq!(
        stats.items,
        rows + skipped,
        "records read ({}) != events ({rows}) + skipped ({skipped})",
        stats.items
    );
    assert_eq!(index, stats.items, "callback calls != records read");
    // … and with de-duplication as ingest does it (a fresh key set: the first file of a case).
    let mut seen = SeenKeys::default();
    let duplicates = events
        .recipient_account
        .iter()
        .zip(events.event_id.iter())
        .filter(|(r, e)| dedup_key(*r, *e).is_some_and(|k| !seen.insert(k)))
        .count() as u64;
    assert!(duplicates <= rows);
    assert_eq!(stats.items, (rows - duplicates) + duplicates + skipped);
    if stats.truncated {
        assert!(!stats.problems.is_empty(), "truncated without a problem");
    }
    for p in &stats.problems {
        assert!(!p.reason.is_empty() && !p.position.is_empty(), "{p:?}");
    }

    // Issuances point at their event rows, in order.
    assert_eq!(issuances.len(), issuance_event_row.len());
    assert!(issuance_event_row.windows(2).all(|w| w[0] < w[1]));
    assert!(issuance_event_row.iter().all(|&r| r < events.len()));
    for (i, &r) in issuance_event_row.iter().enumerate() {
        assert_eq!(issuances.event_id.get(i), events.event_id.get(r));
    }

    // The batches read back what was pushed.
    assert_eq!(masked.len(), events.len());
    assert_eq!(events.record_index.len(), events.len());
    for (name, col) in events.columns() {
        let n = match col {
            ColRef::Str(c) => c.len(),
            ColRef::Time(c) | ColRef::Int(c) => c.len(),
            ColRef::Bool(c) => c.len(),
            ColRef::U64(c) => c.len(),
        };
        assert_eq!(n, events.len(), "column {name}");
    }
    let got: Vec<[Option<&str>; 4]> = events
        .event_id
        .iter()
        .zip(events.event_name.iter())
        .zip(events.user_agent.iter())
        .zip(events.request_parameters.iter())
        .map(|(((a, b), c), d)| [a, b, c, d])
        .collect();
    let want: Vec<[Option<&str>; 4]> = pushed
        .iter()
        .map(|r| r.each_ref().map(|v| v.as_deref()))
        .collect();
    assert_eq!(got, want, "string columns do not read back the rows");
    assert!(
        events.record_index.windows(2).all(|w| w[0] < w[1])
            && events.record_index.iter().all(|&i| i < stats.items),
        "record indexes not increasing within 0..records read"
    );
    for ((name, full), (_, part)) in events.columns().into_iter().zip(masked.columns()) {
        let i = EventBatch::SCHEMA.iter().position(|s| s.0 == name).unwrap();
        match (full, part) {
            (ColRef::Str(f), ColRef::Str(p)) => {
                if wanted[i] {
                    assert!(f.iter().eq(p.iter()), "masked column {name}");
                } else {
                    assert!(p.iter().all(|v| v.is_none()), "masked column {name}");
                }
            }
            (ColRef::Time(f), ColRef::Time(p)) | (ColRef::Int(f), ColRef::Int(p)) => {
                assert!(if wanted[i] {
                    f == p
                } else {
                    p.iter().all(Option::is_none)
                });
            }
            (ColRef::Bool(f), ColRef::Bool(p)) => {
                assert!(if wanted[i] {
                    f == p
                } else {
                    p.iter().all(Option::is_none)
                });
            }
            (ColRef::U64(f), ColRef::U64(p)) => {
                assert!(if wanted[i] {
                    f == p
                } else {
                    p.iter().all(|v| *v == 0)
                });
            }
            _ => panic!("column {name} changed kind"),
        }
    }
});
