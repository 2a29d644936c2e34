//! Escaping of attacker-controlled strings (user agents, session names, request parameters) for
//! every output surface: terminal, CSV (formula injection), HTML, DOT and XML.

use std::borrow::Cow;

/// Terminal-safe text: control characters (ESC, CR, BEL, …) and bidi overrides become visible
/// `\u{..}` escapes, so a crafted session name cannot rewrite the screen.
pub fn term(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_term_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_term_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_term_escape(c: char) -> bool {
    c.is_control() || matches!(c as u32, 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069)
}

/// One CSV field (RFC 4180 quoting), with spreadsheet formula injection neutralised: a field
/// starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'` (OWASP recommendation).
/// Plain numbers (e.g. `-1`) are left alone.
pub fn csv_field(s: &str) -> Cow<'_, str> {
    if !csv_needs_quotes(s) {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len() + 4);
    csv_quoted_into(s, &mut out);
    Cow::Owned(String::from_utf8(out).expect("quoting keeps UTF-8"))
}

/// `csv_field`, appended to `out` (no allocation).
pub fn csv_field_into(s: &str, out: &mut Vec<u8>) {
    if csv_needs_quotes(s) {
        csv_quoted_into(s, out);
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// A field starting like a formula (and not a plain number).
fn csv_risky(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err()
}

fn csv_needs_quotes(s: &str) -> bool {
    csv_risky(s) || needs_csv_quotes(s.as_bytes())
}

/// The field in double quotes, quotes inside doubled, `'` first when it is risky.
fn csv_quoted_into(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    if csv_risky(s) {
        out.push(b'\'');
    }
    let mut rest = s.as_bytes();
    while let Some(i) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=i]);
        out.push(b'"');
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// Whether `b` holds a comma, a double quote, LF or CR: eight bytes at a time (most fields are
/// short, where a byte loop or memchr's setup dominate).
fn needs_csv_quotes(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Non-zero when some byte of `x` equals `n` (exact: no false positives from borrows
    // carried into a byte that matches, because only the lowest match matters for "any").
    fn has(x: u64, n: u8) -> u64 {
        let y = x ^ (LO * n as u64);
        y.wrapping_sub(LO) & !y & HI
    }
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        if has(x, b',') | has(x, b'"') | has(x, b'\n') | has(x, b'\r') != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r'))
}

/// HTML text and attribute escaping.
pub fn html(s: &str) -> Cow<'_, str> {
    if !s.contains(['<', '>', '&', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// XML (GraphML) escaping: like HTML, and control characters that XML 1.0 forbids are dropped.
pub fn xml(s: &str) -> String {
    html(s)
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// A DOT double-quoted string body: quotes and backslashes escaped, newlines made literal.
pub fn dot(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => out.push_str(&format!("\\\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quote_scan_matches_a_byte_loop() {
        let naive = |b: &[u8]| b.iter().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r'));
        // Every length up to 40, every byte value at every position, over a filler of bytes next
        // to the special ones (0x2b, 0x2d, 0x21, 0x0b…) and high bytes.
        for len in 0..40usize {
            for filler in [b'a', b'+', b'!', 0x0b, 0x0c, 0xff, 0x80, b'#'] {
                let mut v = vec![filler; len];
                assert_eq!(needs_csv_quotes(&v), naive(&v));
                for at in 0..len {
                    for byte in 0..=255u8 {
                        v[at] = byte;
                        assert_eq!(needs_csv_quotes(&v), naive(&v), "{v:?}");
                    }
                    v[at] = filler;
                }
            }
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(term("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(term("plain"), "plain");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "-1");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_field("\"\"é\"x\""), "\"\"\"\"\"é\"\"x\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        // Appending gives the same bytes.
        for v in [
            "=1+2",
            "-1",
            "a,b",
            "\"\"é\"x\"",
            "plain",
            "",
            "\"",
            "@",
            "+3.5",
        ] {
            let mut out = b"x".to_vec();
            csv_field_into(v, &mut out);
            assert_eq!(out, [b"x", csv_field(v).as_bytes()].concat(), "{v:?}");
        }
        assert_eq!(html("<script>"), "&lt;script&gt;");
        assert_eq!(dot("a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(xml("a\x01<b"), "a&lt;b");
    }
}
