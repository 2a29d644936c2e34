//! The bytes of one input file: gzip (also multi-member) and zip archives are recognised by
//! their magic bytes, not their names; everything else is passed through as-is. Decompressed
//! size is capped per unit, so a gzip bomb becomes a problem, not an out-of-memory kill.
//!
//! A unit is decoded whole into memory up to a size (`whole`); a larger one is left pending
//! (`Unit::stream`) and read later a window at a time through a `Fill` (`open_stream`): the
//! file, a gzip stream over it (also multi-member, also nested), or a zip member.

use crate::discover::SkipReason;
use std::io::{Cursor, Read, Seek};
use std::path::PathBuf;
use std::sync::Arc;

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
    /// The unit is larger than what is decoded whole: it is read as a stream (`bytes` is empty).
    pub stream: Option<Pending>,
}

/// A unit to be read as a stream: where its stored bytes are and how they are decoded.
#[derive(Debug)]
pub struct Pending {
    pub(crate) src: Stored,
    pub(crate) layer: Layer,
    /// Archive nesting of the unit (as `decode`'s recursion counts it).
    pub(crate) depth: u8,
}

/// Where the stored bytes of a pending unit are.
pub(crate) enum Stored {
    Mem(Arc<Vec<u8>>),
    File(PathBuf),
    /// A remote object (`remote`): its URL and size.
    Remote(String, u64),
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stored::Mem(b) => write!(f, "Mem({} bytes)", b.len()),
            Stored::File(p) => write!(f, "File({})", p.display()),
            Stored::Remote(u, _) => write!(f, "Remote({u})"),
        }
    }
}

/// How the stored bytes of a pending unit are decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Layer {
    Plain,
    Gzip,
    /// The member at this index of a zip archive.
    ZipMember(usize),
}

/// The message of a unit over the decompressed-size cap.
pub(crate) fn over_cap(cap: u64) -> String {
    format!(
        "decompresses to more than {cap} bytes (cap: --max-decompressed, or {BOMB_RATIO} times the file's size if larger)"
    )
}

/// A file may decompress to this many times its stored size whatever `--max-decompressed`
/// says (so that a large log, now read as a stream, needs no flag): a gzip bomb decompresses
/// to 200 (fastest level) to 1000 times its size, gzip'd JSON logs to 10 to 30 times.
pub const BOMB_RATIO: u64 = 100;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";

/// Decodes a file's bytes into one or more units. Never fails: problems are carried in the units.
pub fn decode(name: &str, raw: Vec<u8>, cap: u64) -> Vec<Unit> {
    decode_with(name, raw, cap, u64::MAX)
}

/// `decode`, but a unit of more than `whole` bytes is left pending (`Unit::stream`).
pub(crate) fn decode_with(name: &str, raw: Vec<u8>, cap: u64, whole: u64) -> Vec<Unit> {
    let mut out = Vec::new();
    decode_into(name, raw, cap, whole, 0, &mut out);
    out
}

/// Decodes the file at `path` (of `size` bytes): whole when it is at most `whole` bytes,
/// otherwise its units are left pending, read as streams.
pub(crate) fn decode_file(
    name: &str,
    path: &std::path::Path,
    size: u64,
    cap: u64,
    whole: u64,
) -> std::io::Result<Vec<Unit>> {
    if let Some(url) = crate::remote::url_of(path) {
        let open = || crate::remote::open(url, size);
        let src = || Stored::Remote(url.to_string(), size);
        return decode_opened(name, open, &src, size, cap, whole);
    }
    if size <= whole {
        return Ok(decode_with(name, std::fs::read(path)?, cap, whole));
    }
    let src = || Stored::File(path.to_path_buf());
    decode_opened(name, || std::fs::File::open(path), &src, size, cap, whole)
}

/// `decode_file` over what `open` opens (`src` says where a pending unit's bytes are).
fn decode_opened<R: Read + Seek>(
    name: &str,
    open: impl Fn() -> std::io::Result<R>,
    src: &dyn Fn() -> Stored,
    size: u64,
    cap: u64,
    whole: u64,
) -> std::io::Result<Vec<Unit>> {
    if size <= whole {
        let mut raw = Vec::with_capacity(size as usize);
        open()?.read_to_end(&mut raw)?;
        return Ok(decode_with(name, raw, cap, whole));
    }
    let mut file = open()?;
    let mut magic = Vec::with_capacity(4);
    (&mut file).take(4).read_to_end(&mut magic)?;
    let pending = |layer| Pending {
        src: src(),
        layer,
        depth: 0,
    };
    let mut out = Vec::new();
    if magic.starts_with(GZIP_MAGIC) {
        out.push(unit_stream(name, size, pending(Layer::Gzip)));
    } else if magic.starts_with(ZIP_MAGIC) || magic.starts_with(ZIP_EMPTY_MAGIC) {
        file.rewind()?;
        zip_units(name, file, size, src, cap, whole, 0, &mut out);
    } else if size > cap {
        out.push(unit_skip(
            name,
            size,
            SkipReason::TooLarge,
            format!("larger than {cap} bytes (cap: --max-decompressed)"),
        ));
    } else {
        out.push(unit_stream(name, size, pending(Layer::Plain)));
    }
    Ok(out)
}

fn unit_stream(name: &str, stored: u64, p: Pending) -> Unit {
    Unit {
        name: name.to_string(),
        bytes: Vec::new(),
        stored_len: stored,
        problem: None,
        skip: None,
        stream: Some(p),
    }
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
        stream: None,
    }
}

fn decode_into(name: &str, raw: Vec<u8>, cap: u64, whole: u64, depth: u8, out: &mut Vec<Unit>) {
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
        let limit = cap.min(whole).saturating_add(1);
        let guess = isize.max(raw.len() as u64 * 4).min(limit);
        let mut bytes = Vec::with_capacity(guess as usize);
        let res = gunzip(&raw, limit, &mut bytes);
        if bytes.len() as u64 > cap {
            out.push(unit_skip(name, stored, SkipReason::TooLarge, over_cap(cap)));
            return;
        }
        if bytes.len() as u64 > whole {
            let p = Pending {
                src: Stored::Mem(Arc::new(raw)),
                layer: Layer::Gzip,
                depth,
            };
            out.push(unit_stream(name, stored, p));
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
            decode_into(name, bytes, cap, whole, depth + 1, out);
            return;
        }
        out.push(Unit {
            name: name.to_string(),
            bytes,
            stored_len: stored,
            problem,
            skip: None,
            stream: None,
        });
        return;
    }
    if raw.starts_with(ZIP_MAGIC) || raw.starts_with(ZIP_EMPTY_MAGIC) {
        let raw = Arc::new(raw);
        let src = || Stored::Mem(raw.clone());
        zip_units(
            name,
            Cursor::new(&raw[..]),
            stored,
            &src,
            cap,
            whole,
            depth,
            out,
        );
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
        stream: None,
    });
}

/// The units of a zip archive (of `stored` bytes, at `src`), its members in name order.
#[allow(clippy::too_many_arguments)]
fn zip_units<R: Read + Seek>(
    name: &str,
    reader: R,
    stored: u64,
    src: &dyn Fn() -> Stored,
    cap: u64,
    whole: u64,
    depth: u8,
    out: &mut Vec<Unit>,
) {
    let mut archive = match zip::ZipArchive::new(reader) {
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
                .take(cap.min(whole).saturating_add(1))
                .read_to_end(&mut bytes)
                .map(|_| ()),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        if bytes.len() as u64 > cap {
            out.push(unit_skip(&display, 0, SkipReason::TooLarge, over_cap(cap)));
        } else if let (Err(e), true) = (&res, bytes.is_empty()) {
            out.push(unit_skip(
                &display,
                0,
                SkipReason::Unreadable,
                format!("cannot read zip member: {e}"),
            ));
        } else if depth >= 2 {
            out.push(unit_skip(
                &display,
                0,
                SkipReason::Unreadable,
                "archives nested too deep".into(),
            ));
        } else if bytes.len() as u64 > whole {
            let p = Pending {
                src: src(),
                layer: Layer::ZipMember(i),
                depth: depth + 1,
            };
            out.push(unit_stream(&display, 0, p));
        } else {
            decode_into(&display, bytes, cap, whole, depth + 1, out);
        }
    }
    // The archive's stored size is counted once, on its first unit.
    for u in &mut out[start..] {
        u.stored_len = 0;
    }
    if let Some(first) = out.get_mut(start) {
        first.stored_len = stored;
    }
}

/// A source of a unit's bytes, read a window at a time.
pub(crate) trait Fill {
    /// Appends bytes to `out`, into its spare capacity (at least one byte of it); returns how
    /// many, 0 at the end. An error ends the unit (what was appended before it stays).
    fn fill(&mut self, out: &mut Vec<u8>) -> Result<usize, String>;
}

/// Bytes as they are (a plain file, a zip member).
pub(crate) struct ReadFill<R>(pub R);

impl<R: Read> Fill for ReadFill<R> {
    fn fill(&mut self, out: &mut Vec<u8>) -> Result<usize, String> {
        let room = (out.capacity() - out.len()) as u64;
        (&mut self.0)
            .take(room)
            .read_to_end(out)
            .map_err(|e| format!("cannot read: {e}"))
    }
}

/// A `Fill` read through `std::io::Read` (for a gzip stream inside a stream), after the bytes
/// already taken from it.
struct FillRead<'a> {
    head: Vec<u8>,
    at: usize,
    inner: Box<dyn Fill + 'a>,
}

impl Read for FillRead<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.head.len() {
            self.head.clear();
            self.at = 0;
            self.head.reserve(STREAM_INPUT);
            self.inner
                .fill(&mut self.head)
                .map_err(std::io::Error::other)?;
        }
        let n = out.len().min(self.head.len() - self.at);
        out[..n].copy_from_slice(&self.head[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A `Fill` whose error came while its head was read: given on the next call.
struct Failed<'a> {
    inner: Box<dyn Fill + 'a>,
    err: Option<String>,
}

impl Fill for Failed<'_> {
    fn fill(&mut self, out: &mut Vec<u8>) -> Result<usize, String> {
        match self.err.take() {
            Some(e) => Err(e),
            None => self.inner.fill(out),
        }
    }
}

/// Compressed bytes read at a time by the streaming gzip decoder.
const STREAM_INPUT: usize = 256 << 10;

/// The gzip members of a stream one after another, as `gunzip` reads them from a buffer: the
/// same bytes and the same errors.
pub(crate) struct GzFill<R> {
    src: R,
    input: Vec<u8>,
    at: usize,
    src_done: bool,
    member: Option<flate2::Decompress>,
}

impl<R: Read> GzFill<R> {
    pub(crate) fn new(src: R) -> GzFill<R> {
        GzFill {
            src,
            input: Vec::with_capacity(STREAM_INPUT),
            at: 0,
            src_done: false,
            member: None,
        }
    }

    /// Reads more compressed bytes when all were used; false at the end of the source.
    fn refill(&mut self) -> Result<bool, String> {
        if self.at < self.input.len() {
            return Ok(true);
        }
        if self.src_done {
            return Ok(false);
        }
        self.input.clear();
        self.at = 0;
        let n = (&mut self.src)
            .take(STREAM_INPUT as u64)
            .read_to_end(&mut self.input)
            .map_err(|e| format!("cannot read: {e}"))?;
        if n == 0 {
            self.src_done = true;
        }
        Ok(n > 0)
    }
}

impl<R: Read> Fill for GzFill<R> {
    fn fill(&mut self, out: &mut Vec<u8>) -> Result<usize, String> {
        use flate2::{Decompress, FlushDecompress, Status};
        let start = out.len();
        while out.len() < out.capacity() {
            let more = self.refill()?;
            let member = match &mut self.member {
                Some(m) => m,
                // A member starts where the last one ended, if any bytes follow.
                None if more => self.member.insert(Decompress::new_gzip(15)),
                None => break,
            };
            let (in0, out0) = (member.total_in(), out.len());
            let status = member
                .decompress_vec(&self.input[self.at..], out, FlushDecompress::None)
                .map_err(|e| e.to_string())?;
            self.at += (member.total_in() - in0) as usize;
            if status == Status::StreamEnd {
                self.member = None;
                continue;
            }
            if out.len() < out.capacity() {
                if self.at == self.input.len() {
                    if !self.refill()? {
                        return Err("incomplete deflate stream".into());
                    }
                } else if status == Status::BufError && out.len() == out0 {
                    return Err("corrupt deflate stream".into());
                }
            }
        }
        Ok(out.len() - start)
    }
}

/// What a pending unit's stream holds once opened: its bytes, or why it cannot be read.
pub(crate) enum Opened<'a> {
    Bytes(Box<dyn Fill + 'a>),
    Skip(SkipReason, String),
}

/// Opens a pending unit as a stream of its decoded bytes and hands it to `f`. `head` is the
/// start of the stream (read to look at its magic bytes; `f` gets the stream after it): nested
/// gzip is unwrapped as `decode` unwraps it; a zip archive inside a stream (larger than what is
/// decoded whole) is not read.
pub(crate) fn open_stream<T>(
    p: &Pending,
    head: &mut Vec<u8>,
    f: &mut dyn FnMut(Opened<'_>, &mut Vec<u8>) -> T,
) -> Result<T, String> {
    match &p.src {
        Stored::Mem(b) => open_layer(Cursor::new(&b[..]), p, head, f),
        Stored::File(path) => {
            let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
            open_layer(
                std::io::BufReader::with_capacity(STREAM_INPUT, file),
                p,
                head,
                f,
            )
        }
        Stored::Remote(url, size) => {
            let object =
                crate::remote::open(url, *size).map_err(|e| format!("cannot read: {e}"))?;
            open_layer(
                std::io::BufReader::with_capacity(STREAM_INPUT, object),
                p,
                head,
                f,
            )
        }
    }
}

fn open_layer<R: Read + Seek, T>(
    r: R,
    p: &Pending,
    head: &mut Vec<u8>,
    f: &mut dyn FnMut(Opened<'_>, &mut Vec<u8>) -> T,
) -> Result<T, String> {
    match p.layer {
        Layer::Plain => Ok(f(Opened::Bytes(Box::new(ReadFill(r))), head)),
        Layer::Gzip => Ok(unwrap_nested(
            Box::new(GzFill::new(r)),
            true,
            p.depth,
            head,
            f,
        )),
        Layer::ZipMember(i) => {
            let mut archive =
                zip::ZipArchive::new(r).map_err(|e| format!("corrupt zip archive: {e}"))?;
            let member = archive
                .by_index(i)
                .map_err(|e| format!("cannot read zip member: {e}"))?;
            Ok(unwrap_nested(
                Box::new(ReadFill(member)),
                false,
                p.depth,
                head,
                f,
            ))
        }
    }
}

/// Reads the head of `fill` and unwraps the gzip streams nested in it, as `decode_into` does
/// (`gunzipped`: `fill` is the output of a gzip stream of a unit at `depth`).
fn unwrap_nested<'a, T>(
    mut fill: Box<dyn Fill + 'a>,
    mut gunzipped: bool,
    mut depth: u8,
    head: &mut Vec<u8>,
    f: &mut dyn FnMut(Opened<'_>, &mut Vec<u8>) -> T,
) -> T {
    loop {
        head.clear();
        let mut err = None;
        while head.len() < 4 {
            head.reserve(4);
            match fill.fill(head) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        if err.is_some() {
            let failed = Failed { inner: fill, err };
            return f(Opened::Bytes(Box::new(failed)), head);
        }
        let nested = if gunzipped { depth < 2 } else { true };
        if nested && head.starts_with(GZIP_MAGIC) {
            if gunzipped {
                depth += 1;
            }
            gunzipped = true;
            let inner = FillRead {
                head: std::mem::take(head),
                at: 0,
                inner: fill,
            };
            fill = Box::new(GzFill::new(inner));
            continue;
        }
        if nested && (head.starts_with(ZIP_MAGIC) || head.starts_with(ZIP_EMPTY_MAGIC)) {
            return f(
                Opened::Skip(
                    SkipReason::TooLarge,
                    "a zip archive inside a compressed file, too large to read whole: not read"
                        .into(),
                ),
                head,
            );
        }
        return f(Opened::Bytes(fill), head);
    }
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
