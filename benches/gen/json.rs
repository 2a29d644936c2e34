//! Minimal hand-rolled JSON writer: field order is exactly the order of the
//! calls, which keeps output byte-stable and close to CloudTrail's own order.

use std::fmt::Write as _;

/// Appends `s` as a JSON string literal.
pub fn esc(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// A JSON object being written; it closes itself when dropped.
pub struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
    }

    pub fn s(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        esc(self.out, v);
        self
    }

    pub fn opt_s(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.s(k, v);
        }
        self
    }

    /// Writes `v` verbatim (already JSON).
    pub fn raw(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        self.out.push_str(v);
        self
    }

    /// `None` writes `null`.
    pub fn raw_or_null(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        self.raw(k, v.unwrap_or("null"))
    }

    pub fn n(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        let _ = write!(self.out, "{v}");
        self
    }

    pub fn b(&mut self, k: &str, v: bool) -> &mut Self {
        self.raw(k, if v { "true" } else { "false" })
    }

    pub fn obj(&mut self, k: &str) -> Obj<'_> {
        self.key(k);
        Obj::new(self.out)
    }

    pub fn str_arr(&mut self, k: &str, items: &[&str]) -> &mut Self {
        self.key(k);
        self.out.push('[');
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            esc(self.out, it);
        }
        self.out.push(']');
        self
    }
}

impl Drop for Obj<'_> {
    fn drop(&mut self) {
        self.out.push('}');
    }
}

/// Builds one object into a fresh string.
pub fn object(f: impl FnOnce(&mut Obj<'_>)) -> String {
    let mut s = String::with_capacity(256);
    {
        let mut o = Obj::new(&mut s);
        f(&mut o);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_objects_close() {
        let s = object(|o| {
            o.s("a", "x\"y").n("n", 3);
            {
                let mut inner = o.obj("in");
                inner.b("t", true);
            }
            o.raw_or_null("z", None);
        });
        assert_eq!(s, r#"{"a":"x\"y","n":3,"in":{"t":true},"z":null}"#);
    }
}
