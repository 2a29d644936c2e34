//! The bytes of one input file: gzip (also multi-member) and zip archives are recognised by
//! their magic bytes, not their names; everything else is passed through as-is. Decompressed
//! size is capped per unit, so a gzip bomb becomes a problem, not an out-of-memory kill.

use crate::discover::SkipReason;
use flate2::read::MultiGzDecoder;
use std::io::{Cursor, Read};

/// One decoded document: a plain file, a decompressed gzip, or one member of a zip archive.
#[derive(Debug)]
pub struct Unit {
    /// Display name: the file, or `archive.zip!member` for zip members.
    pub name: String,
    pub bytes: Vec<u8>,
    /// Bytes of the unit as stored (compressed), for throughput figures.
    pub stored_len: u64,
    /// A problem that still left usable bytes (a truncated gzip keeps what decompressed).
    pub problem: Option<String>,
    /// The unit cannot be used at all.
    pub skip: Option<(SkipReason, String)>,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";

/// Decodes a file's bytes into one or more units. Never fails: problems are carried in the units.
pub fn decode(name: &str, raw: Vec<u8>, cap: u64) -> Vec<Unit> {
    let mut out = Vec::new();
    decode_into(name, raw, cap, 0, &mut out);
    out
}

fn unit_skip(name: &str, stored: u64, reason: SkipReason, msg: String) -> Unit {
    Unit {
        name: name.to_string(),
        bytes: Vec::new(),
        stored_len: stored,
        problem: None,
        skip: Some((reason, msg)),
    }
}

fn decode_into(name: &str, raw: Vec<u8>, cap: u64, depth: u8, out: &mut Vec<Unit>) {
    let stored = raw.len() as u64;
    if raw.is_empty() {
        out.push(unit_skip(name, 0, SkipReason::Empty, "empty file".into()));
        return;
    }
    if raw.starts_with(GZIP_MAGIC) {
        // Pre-size from the gzip trailer (ISIZE: uncompressed size mod 2^32 of the last member)
        // so decompression does not copy the buffer while it grows.
        let isize = raw
            .len()
            .checked_sub(4)
            .map(|i| u32::from_le_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]) as u64)
            .unwrap_or(0);
        let guess = isize.max(raw.len() as u64 * 4).min(cap.saturating_add(1));
        let mut bytes = Vec::with_capacity(guess as usize);
        let res = MultiGzDecoder::new(&raw[..])
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes);
        if bytes.len() as u64 > cap {
            out.push(unit_skip(
                name,
                stored,
                SkipReason::TooLarge,
                format!("decompresses to more than {cap} bytes (cap: --max-decompressed)"),
            ));
            return;
        }
        let problem = res.err().map(|e| {
            format!(
                "truncated or corrupt gzip after {} decompressed bytes: {e}",
                bytes.len()
            )
        });
        if bytes.is_empty() {
            let msg = problem.unwrap_or_else(|| "gzip holds no data".into());
            let reason = if msg.starts_with("gzip holds") {
                SkipReason::Empty
            } else {
                SkipReason::Unreadable
            };
            out.push(unit_skip(name, stored, reason, msg));
            return;
        }
        if depth < 2 && (bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(GZIP_MAGIC)) {
            decode_into(name, bytes, cap, depth + 1, out);
            return;
        }
        out.push(Unit {
            name: name.to_string(),
            bytes,
            stored_len: stored,
            problem,
            skip: None,
        });
        return;
    }
    if raw.starts_with(ZIP_MAGIC) || raw.starts_with(ZIP_EMPTY_MAGIC) {
        let mut archive = match zip::ZipArchive::new(Cursor::new(&raw[..])) {
            Ok(a) => a,
            Err(e) => {
                out.push(unit_skip(
                    name,
                    stored,
                    SkipReason::Unreadable,
                    format!("corrupt zip archive: {e}"),
                ));
                return;
            }
        };
        let mut names: Vec<(String, usize)> = (0..archive.len())
            .filter_map(|i| {
                archive
                    .by_index_raw(i)
                    .ok()
                    .and_then(|f| f.name().ok().map(|n| (n.to_string(), i)))
            })
            .collect();
        names.sort();
        if names.is_empty() {
            out.push(unit_skip(
                name,
                stored,
                SkipReason::Empty,
                "zip archive holds no files".into(),
            ));
            return;
        }
        let start = out.len();
        for (member, i) in names {
            if member.ends_with('/') {
                continue;
            }
            let display = format!("{name}!{member}");
            let mut bytes = Vec::new();
            let res = match archive.by_index(i) {
                Ok(f) => f
                    .take(cap.saturating_add(1))
                    .read_to_end(&mut bytes)
                    .map(|_| ()),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            if bytes.len() as u64 > cap {
                out.push(unit_skip(
                    &display,
                    0,
                    SkipReason::TooLarge,
                    format!("decompresses to more than {cap} bytes (cap: --max-decompressed)"),
                ));
            } else if let (Err(e), true) = (&res, bytes.is_empty()) {
                out.push(unit_skip(
                    &display,
                    0,
                    SkipReason::Unreadable,
                    format!("cannot read zip member: {e}"),
                ));
            } else if depth < 2 {
                decode_into(&display, bytes, cap, depth + 1, out);
            } else {
                out.push(unit_skip(
                    &display,
                    0,
                    SkipReason::Unreadable,
                    "archives nested too deep".into(),
                ));
            }
        }
        // The archive's stored size is counted once, on its first unit.
        for u in &mut out[start..] {
            u.stored_len = 0;
        }
        if let Some(first) = out.get_mut(start) {
            first.stored_len = stored;
        }
        return;
    }
    if raw.len() as u64 > cap {
        out.push(unit_skip(
            name,
            stored,
            SkipReason::TooLarge,
            format!("larger than {cap} bytes (cap: --max-decompressed)"),
        ));
        return;
    }
    out.push(Unit {
        name: name.to_string(),
        bytes: raw,
        stored_len: stored,
        problem: None,
        skip: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn multi_member_gzip() {
        let mut both = gz(b"{\"a\":1}\n");
        both.extend(gz(b"{\"b\":2}\n"));
        let u = decode("x", both, 1 << 20);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].bytes, b"{\"a\":1}\n{\"b\":2}\n");
        assert!(u[0].problem.is_none());
    }

    #[test]
    fn truncated_gzip_keeps_prefix() {
        let data: Vec<u8> = (0..20000).map(|i| b'a' + (i % 26) as u8).collect();
        let mut z = gz(&data);
        z.truncate(z.len() / 2);
        let u = decode("x", z, 1 << 20);
        assert!(u[0].problem.as_deref().unwrap().contains("truncated"));
        assert!(u[0].skip.is_none() || !u[0].bytes.is_empty() || u[0].skip.is_some());
    }

    #[test]
    fn bomb_is_capped() {
        let data = vec![b' '; 100_000];
        let u = decode("x", gz(&data), 1000);
        assert_eq!(u[0].skip.as_ref().unwrap().0, SkipReason::TooLarge);
    }
}
