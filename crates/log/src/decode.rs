//! The bytes of one input file: gzip (also multi-member) and zip archives are recognised by
//! their magic bytes, not their names; everything else is passed through as-is. Decompressed
//! size is capped per unit, so a gzip bomb becomes a problem, not an out-of-memory kill.

use crate::discover::SkipReason;
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

/// Decompresses the gzip members of `raw` one after another (a multi-member file is their
/// concatenation) into `out`, stopping once `out` holds `limit` bytes or more. zlib checks each
/// member's header, CRC and length. Decompresses straight into `out`'s spare capacity: reading
/// through `std::io::Read` would first zero every byte it then overwrites.
pub fn gunzip(raw: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), String> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut input = raw;
    while !input.is_empty() {
        let mut member = Decompress::new_gzip(15);
        loop {
            if out.len() as u64 >= limit {
                return Ok(());
            }
            if out.len() == out.capacity() {
                let room = (out.len().max(64 << 10) as u64).min(limit - out.len() as u64);
                out.reserve_exact(room as usize);
            }
            let (in0, out0) = (member.total_in(), out.len());
            let status = member
                .decompress_vec(input, out, FlushDecompress::None)
                .map_err(|e| e.to_string())?;
            input = &input[(member.total_in() - in0) as usize..];
            if status == Status::StreamEnd {
                break;
            }
            // Room left in `out` but the member has not ended: zlib wants input it lacks (the
            // file is cut), or (never seen) makes no progress at all.
            if out.len() < out.capacity() {
                if input.is_empty() {
                    return Err("incomplete deflate stream".into());
                }
                if status == Status::BufError && out.len() == out0 {
                    return Err("corrupt deflate stream".into());
                }
            }
        }
    }
    Ok(())
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
        let res = gunzip(&raw, cap.saturating_add(1), &mut bytes);
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
            // Directory entries are not files: an archive of only directories holds none.
            .filter(|(n, _)| !n.ends_with('/'))
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

    /// The direct decoder reads what flate2's `MultiGzDecoder` reads: the same bytes from
    /// members of all sizes, and a problem exactly when it fails (a bad CRC, a cut member,
    /// garbage after the last member), keeping what came before.
    #[test]
    fn gunzip_matches_multigzdecoder() {
        use flate2::read::MultiGzDecoder;
        use std::io::Read;
        let text = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|i| b"{\"eventName\":\"AssumeRole\"}\n"[i % 26] ^ (i / 977 % 3) as u8)
                .collect()
        };
        let mut cases: Vec<Vec<u8>> = vec![gz(b""), gz(&text(10)), gz(&text(300_000))];
        let mut two = gz(&text(70_000));
        two.extend(gz(&text(100_001)));
        cases.push(two.clone());
        let mut bad_crc = gz(&text(5000));
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        cases.push(bad_crc);
        let mut garbage = gz(&text(5000));
        garbage.extend(b"\0\0\0\0junk");
        cases.push(garbage);
        let cut = cases.len();
        cases.push(two[..two.len() - 9].to_vec());
        cases.push(two[..two.len() / 3].to_vec());
        for (i, raw) in cases.iter().enumerate() {
            let mut want = Vec::new();
            let want_err = MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut want)
                .is_err();
            let mut got = Vec::new();
            let res = gunzip(raw, u64::MAX, &mut got);
            assert_eq!(res.is_err(), want_err, "case {i}");
            if i >= cut {
                assert_eq!(res.unwrap_err(), "incomplete deflate stream", "case {i}");
            }
            if !want_err {
                assert_eq!(got, want, "case {i}");
            } else {
                // After an error the decoders may have stopped at different points: what they
                // kept agrees as far as both got.
                let n = got.len().min(want.len());
                assert_eq!(got[..n], want[..n], "case {i}");
            }
        }
        // The limit stops decompression once reached (here within the first member).
        let mut got = Vec::new();
        gunzip(&two, 1000, &mut got).unwrap();
        assert!(got.len() >= 1000 && got.len() < 70_000, "{}", got.len());
    }

    /// A zip archive holding only a directory entry (`dir/`) yielded no unit at all, so ingest
    /// counted the file as read, with no records and no problem (found by the decode fuzz
    /// target). It is skipped as empty, like a zip with no entries.
    #[test]
    fn zip_of_only_directories_is_empty() {
        let raw: &[u8] = b"PK\x03\x04\x14\0\0\0\0\0\0\0!X\0\0\0\0\0\0\0\0\0\0\0\0\x04\0\0\0dir/\
            PK\x01\x02\x14\x03\x14\0\0\0\0\0\0\0!X\0\0\0\0\0\0\0\0\0\0\0\0\x04\0\0\0\0\0\0\0\0\0\0\0\x80\x01\0\0\0\0dir/\
            PK\x05\x06\0\0\0\0\x01\0\x01\x002\0\0\0\"\0\0\0\0\0";
        assert_eq!(raw.len(), 106);
        let u = decode("x.zip", raw.to_vec(), 1 << 20);
        assert_eq!(u.len(), 1);
        let (reason, msg) = u[0].skip.as_ref().unwrap();
        assert_eq!(*reason, SkipReason::Empty);
        assert_eq!(msg, "zip archive holds no files");
    }

    #[test]
    fn bomb_is_capped() {
        let data = vec![b' '; 100_000];
        let u = decode("x", gz(&data), 1000);
        assert_eq!(u[0].skip.as_ref().unwrap().0, SkipReason::TooLarge);
    }
}
