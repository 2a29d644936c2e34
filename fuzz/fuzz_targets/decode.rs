//! Arbitrary bytes as the content of one input file, through the decoding stage: the entry
//! point ingest calls (`decode::decode`: gzip, multi-member gzip, zip, nested archives, plain
//! bytes) and the gzip decoder under it (`decode::gunzip`).
//!
//! Asserts, besides "no panic, no abort, no out-of-memory":
//! - `decode` yields one or more units (its documented promise), each named after the file;
//! - the decompressed-size cap is honoured: no unit holds more than `CAP` bytes, and a plain
//!   file larger than the cap is skipped as too large;
//! - a skipped unit carries no bytes and a message; a plain file passes through unchanged;
//! - `gunzip` never writes more than its limit, and reads what flate2's `MultiGzDecoder` reads:
//!   the same bytes as far as both got, and an error exactly when the reference fails (when
//!   neither stopped at the limit).

#![no_main]

use flate2::read::MultiGzDecoder;
use libfuzzer_sys::fuzz_target;
use std::io::Read;
use trailgraph_log::decode::{decode, gunzip};
use trailgraph_log::discover::SkipReason;

/// Decompressed-size cap per unit (`--max-decompressed`): small, so that a bomb reaches it.
const CAP: u64 = 1 << 20;
/// The limit `gunzip` is called with directly: not a multiple of its 64 KiB growth step.
const GUNZIP_LIMIT: u64 = 1_000_003;

const NAME: &str = "input.json.gz";

fuzz_target!(|data: &[u8]| {
    check_decode(data);
    check_gunzip(data);
});

fn check_decode(data: &[u8]) {
    let units = decode(NAME, data.to_vec(), CAP);
    assert!(!units.is_empty(), "decode yielded no unit");
    for u in &units {
        assert!(
            u.name == NAME || u.name.starts_with(&format!("{NAME}!")),
            "unit name {:?}",
            u.name
        );
        assert!(
            u.bytes.len() as u64 <= CAP,
            "unit {:?} holds {} bytes, over the cap of {CAP}",
            u.name,
            u.bytes.len()
        );
        if let Some((_, msg)) = &u.skip {
            assert!(u.bytes.is_empty(), "skipped unit {:?} has bytes", u.name);
            assert!(!msg.is_empty());
            assert!(u.problem.is_none());
        } else {
            assert!(
                !u.bytes.is_empty(),
                "unit {:?} neither skipped nor has bytes",
                u.name
            );
        }
    }
    // A plain file is one unit, passed through (or skipped) whole. (Nothing is asserted on the
    // stored sizes of archive units: a nested archive counts the inner archive's size.)
    let is_gzip = data.starts_with(&[0x1f, 0x8b]);
    let is_zip = data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06");
    if !is_gzip && !is_zip {
        assert_eq!(units.len(), 1);
        let u = &units[0];
        assert_eq!(u.stored_len, data.len() as u64);
        if data.is_empty() {
            assert_eq!(u.skip.as_ref().map(|s| s.0), Some(SkipReason::Empty));
        } else if data.len() as u64 > CAP {
            assert_eq!(u.skip.as_ref().map(|s| s.0), Some(SkipReason::TooLarge));
        } else {
            assert!(u.skip.is_none() && u.problem.is_none());
            assert_eq!(u.bytes, data, "plain bytes not passed through");
        }
    }
}

fn check_gunzip(data: &[u8]) {
    let mut out = Vec::new();
    let res = gunzip(data, GUNZIP_LIMIT, &mut out);
    assert!(
        out.len() as u64 <= GUNZIP_LIMIT,
        "gunzip wrote {} bytes, over its limit of {GUNZIP_LIMIT}",
        out.len()
    );
    if let Err(e) = &res {
        assert!(!e.is_empty());
    }
    // decode only calls it on data with the gzip magic; compare there with the reference.
    if !data.starts_with(&[0x1f, 0x8b]) {
        return;
    }
    let mut want = Vec::new();
    let want_res = MultiGzDecoder::new(data)
        .take(GUNZIP_LIMIT)
        .read_to_end(&mut want);
    let n = out.len().min(want.len());
    assert!(
        out[..n] == want[..n],
        "gunzip and MultiGzDecoder disagree within the first {n} bytes"
    );
    if (out.len() as u64) < GUNZIP_LIMIT && (want.len() as u64) < GUNZIP_LIMIT {
        assert_eq!(
            res.is_err(),
            want_res.is_err(),
            "gunzip: {res:?}, MultiGzDecoder: {want_res:?} ({} and {} bytes)",
            out.len(),
            want.len()
        );
        if res.is_ok() {
            assert!(
                out == want,
                "gunzip and MultiGzDecoder read different bytes"
            );
        }
    }
}
