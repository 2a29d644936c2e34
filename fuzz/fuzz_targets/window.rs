//! Arbitrary bytes through the windowed record walker (`record::WindowWalk`, what ingest uses
//! for units over 64 MiB) with a window of 1–64 bytes chosen by the first input byte, against
//! the whole-unit walker (`record::walk`) on the same bytes.
//!
//! Asserts, besides "no panic, no abort, no out-of-memory, no endless loop":
//! - the walk ends when the unit does (`done` at the end of the input);
//! - the accounting: every record position counted was handed to the callback once;
//! - when the whole walk found nothing wrong (no problem, not truncated), the windowed walk
//!   yields the same items and the same stats. (With problems the two may resume a broken
//!   NDJSON value at different lines, as `WindowWalk` documents.)

#![no_main]

use libfuzzer_sys::fuzz_target;
use trailgraph_log::record::{walk, Item, WindowWalk};

fn item_text(item: Item<'_, '_>) -> String {
    match item {
        Item::Record(r) => format!(
            "record {:?} {:?} {:?}",
            r.event_id.get(),
            r.event_name.get(),
            r.user_identity.as_ref().and_then(|u| u.arn.get())
        ),
        Item::NotRecord(reason) => format!("skip {reason}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, doc)) = data.split_first() else {
        return;
    };
    let n = 1 + (first as usize % 64);

    let mut whole_items = Vec::new();
    let whole = walk(doc, &mut |item| whole_items.push(item_text(item)));

    let mut items = Vec::new();
    let mut w = WindowWalk::new();
    let mut window: Vec<u8> = Vec::with_capacity(n);
    let mut at = 0;
    let mut feeds = 0usize;
    loop {
        feeds += 1;
        assert!(feeds <= 4 * doc.len() + 16, "the windowed walk does not advance");
        let take = (window.capacity() - window.len()).min(doc.len() - at);
        window.extend_from_slice(&doc[at..at + take]);
        at += take;
        let eof = at == doc.len();
        let fed = w.feed(&window, eof, &mut |item| items.push(item_text(item)));
        assert!(fed.consumed <= window.len());
        window.drain(..fed.consumed);
        if fed.done || eof {
            assert!(fed.done, "the walk ends with the unit");
            break;
        }
        if fed.consumed == 0 && window.len() == window.capacity() {
            window.reserve(window.capacity());
        }
    }
    let stats = w.finish();
    assert_eq!(stats.items, items.len() as u64, "records read != callback calls");
    assert_eq!(whole.items, whole_items.len() as u64);
    if whole.problems.is_empty() && !whole.truncated {
        assert_eq!(items, whole_items, "window {n}: other items than the whole walk");
        assert_eq!(format!("{stats:?}"), format!("{whole:?}"), "window {n}: other stats");
    }
});
