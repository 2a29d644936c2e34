//! The values of config keys (durations, weekly windows, time zones, address blocks, globs)
//! and how each key is read from and written to TOML. A key whose value is wrong fails with the
//! rest of a one-line sentence, "must be … (got …)" or "entry … : …"; `config` puts the file and
//! the dotted key in front of it.

use super::net::Cidr;
use super::Severity;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt::{self, Write as _};
use std::marker::PhantomData;
use std::path::PathBuf;
use toml::Value;
use trailgraph_log::model::{format_time, parse_when, Millis};

// ---------------------------------------------------------------------------------------------
// Reading one key

/// Reads one key's value and converts it with `f`, whose error is the rest of the sentence.
fn decode<'de, D, T>(d: D, f: impl FnOnce(Value) -> Result<T, String>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let v = Value::deserialize(d)?;
    f(v).map_err(de::Error::custom)
}

/// "must be {what} (got a string \"4\")".
fn must(what: &str, v: &Value) -> String {
    format!("must be {what} (got {} {})", kind_of(v), one_line(v))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a TOML datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn one_line(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        Value::Integer(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => d.to_string(),
        Value::Array(a) => format!("[…{} item(s)]", a.len()),
        Value::Table(_) => "{…}".to_string(),
    };
    if s.chars().count() > 60 {
        let mut t: String = s.chars().take(57).collect();
        t.push_str("...");
        t
    } else {
        s
    }
}

/// `enabled`, `include_private`.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    decode(d, |v| match v {
        Value::Boolean(b) => Ok(b),
        v => Err(must("true or false", &v)),
    })
}

/// An integer key from MIN to MAX: `#[serde(deserialize_with = "int::<_, _, 1, 1000>")]`.
pub fn int<'de, D, T, const MIN: i64, const MAX: i64>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    decode(d, |v| match v {
        Value::Integer(n) if (MIN..=MAX).contains(&n) => {
            T::try_from(n).map_err(|_| must(&format!("an integer from {MIN} to {MAX}"), &v))
        }
        v => Err(must(&format!("an integer from {MIN} to {MAX}"), &v)),
    })
}

/// A list of strings (globs, account ids).
pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    decode(d, string_list)
}

fn string_list(v: Value) -> Result<Vec<String>, String> {
    match v {
        Value::Array(a) => a
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                v => Err(must("an array of strings", &v)),
            })
            .collect(),
        v => Err(must("an array of strings", &v)),
    }
}

/// `baseline_fraction`: a number from 0 to 1.
pub fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    decode(d, |v| match v {
        Value::Float(f) if (0.0..=1.0).contains(&f) => Ok(f),
        Value::Integer(n) if (0..=1).contains(&n) => Ok(n as f64),
        v => Err(must("a number from 0 to 1", &v)),
    })
}

/// A file path; the empty string means none (relative paths are resolved by the caller).
pub(crate) fn file_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    decode(d, |v| match v {
        Value::String(p) if p.is_empty() => Ok(None),
        Value::String(p) => Ok(Some(PathBuf::from(p))),
        v => Err(must("a file path", &v)),
    })
}

/// A config section (`[name]`): a table whose keys the section's own type reads.
pub fn section<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Section<T>(PhantomData<T>);
    const WHAT: &str = "a table ([section])";
    fn not<E: de::Error, T>(v: Value) -> Result<T, E> {
        Err(E::custom(must(WHAT, &v)))
    }
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Section<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(WHAT)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
            not(Value::Boolean(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            not(Value::Integer(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            not(Value::Integer(v as i64))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
            not(Value::Float(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            not(Value::String(v.to_string()))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
            let mut items = Vec::new();
            while seq.next_element::<de::IgnoredAny>()?.is_some() {
                items.push(Value::Boolean(false));
            }
            not(Value::Array(items))
        }
    }
    d.deserialize_any(Section(PhantomData))
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
        decode(d, |v| {
            match &v {
                Value::String(s) => Severity::parse(s),
                _ => None,
            }
            .ok_or_else(|| must("one of info, low, medium, high, critical", &v))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Durations

/// Parses "30s", "10m", "1h", "1h30m", "2d" (also "90" = seconds) into milliseconds.
pub(crate) fn parse_duration(s: &str) -> Option<Millis> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return n.checked_mul(1000).filter(|v| *v >= 0);
    }
    let mut total: i64 = 0;
    let mut num: Option<i64> = None;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            let d = (c - b'0') as i64;
            num = Some(num.unwrap_or(0).checked_mul(10)?.checked_add(d)?);
            i += 1;
            continue;
        }
        let n = num.take()?;
        let (unit, len) = if b[i..].starts_with(b"ms") {
            (1, 2)
        } else {
            match c {
                b's' => (1000, 1),
                b'm' => (60_000, 1),
                b'h' => (3_600_000, 1),
                b'd' => (86_400_000, 1),
                _ => return None,
            }
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        i += len;
    }
    if num.is_some() {
        return None;
    }
    Some(total)
}

/// The shortest text `parse_duration` reads back: "10m", "1h30m", "45s", "0s".
pub(crate) fn format_duration(ms: Millis) -> String {
    if ms <= 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, name) in [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
        (1, "ms"),
    ] {
        if rest >= unit {
            let _ = write!(out, "{}{name}", rest / unit);
            rest %= unit;
        }
    }
    out
}

/// A duration key (`window`, `max_gap`): `#[serde(with = "duration")]`.
pub mod duration {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*ms))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        decode(d, |v| {
            match &v {
                Value::String(s) => parse_duration(s),
                _ => None,
            }
            .ok_or_else(|| must("a duration such as \"30s\", \"10m\" or \"1h\"", &v))
        })
    }
}

/// `baseline_until`: a date or a time, or unset: `#[serde(with = "moment")]`.
pub mod moment {
    use super::*;

    const WHAT: &str = "a date or time such as \"2024-07-31\" or \"2024-07-31T19:52:33Z\"";

    pub(crate) fn serialize<S: Serializer>(t: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_time(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
        decode(d, |v| match &v {
            Value::String(s) => parse_when(s).map(Some).map_err(|_| must(WHAT, &v)),
            Value::Datetime(t) => parse_when(&t.to_string())
                .map(Some)
                .map_err(|_| format!("must be a date or a UTC time (got {t})")),
            _ => Err(must(WHAT, &v)),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Address blocks

/// `allow.addresses`: IP addresses or CIDR blocks.
pub fn addresses<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cidr>, D::Error> {
    decode(d, |v| {
        string_list(v)?
            .into_iter()
            .map(|a| {
                Cidr::parse(&a)
                    .ok_or_else(|| format!("entry {a:?} is not an IP address or CIDR block"))
            })
            .collect()
    })
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Time zones

/// A fixed UTC offset, in minutes east of UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone {
    pub offset_min: i32,
}

impl TimeZone {
    pub(crate) fn utc() -> TimeZone {
        TimeZone { offset_min: 0 }
    }

    /// "UTC", "Z", "+02:00", "-0530", "UTC+2", "UTC-05:00", "GMT+1".
    pub fn parse(s: &str) -> Option<TimeZone> {
        let t = s.trim();
        let rest = t
            .strip_prefix("UTC")
            .or_else(|| t.strip_prefix("utc"))
            .or_else(|| t.strip_prefix("GMT"))
            .or_else(|| t.strip_prefix("gmt"))
            .unwrap_or(t);
        if rest.is_empty() || rest == "Z" || rest == "z" {
            return Some(TimeZone::utc());
        }
        let (sign, body) = match rest.as_bytes()[0] {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return None,
        };
        let (h, m) = if let Some((h, m)) = body.split_once(':') {
            (h, m)
        } else if body.len() == 4 {
            body.split_at(2)
        } else {
            (body, "0")
        };
        if h.is_empty() || !h.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if m.is_empty() || !m.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
        if h > 14 || m > 59 {
            return None;
        }
        Some(TimeZone {
            offset_min: sign * (h * 60 + m),
        })
    }
}

impl Default for TimeZone {
    fn default() -> TimeZone {
        TimeZone::utc()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.offset_min == 0 {
            return f.write_str("UTC");
        }
        let sign = if self.offset_min < 0 { '-' } else { '+' };
        let a = self.offset_min.abs();
        write!(f, "UTC{sign}{:02}:{:02}", a / 60, a % 60)
    }
}

impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TimeZone, D::Error> {
        decode(d, |v| {
            match &v {
            Value::String(z) => TimeZone::parse(z).ok_or_else(|| {
                must(
                    "\"UTC\" or a fixed offset such as \"+02:00\" or \"UTC-05:00\" (named zones are not supported)",
                    &v,
                )
            }),
            _ => Err(must("\"UTC\" or a fixed offset such as \"+02:00\"", &v)),
        }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Weekly windows

const FULL_DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A weekly window: a set of days and a clock interval on each of them (minutes of the day,
/// `end` may be below `start`: the interval wraps past midnight of the same day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub text: String,
    /// Bit d = Monday + d.
    pub days: u8,
    pub start: u32,
    pub end: u32,
}

impl Window {
    pub fn parse(s: &str) -> std::result::Result<Window, String> {
        let t = s.trim();
        let (days_part, time_part) = t
            .split_once(char::is_whitespace)
            .ok_or("expected \"<days> <HH:MM>-<HH:MM>\", e.g. \"Mon-Fri 20:00-07:00\"")?;
        let mut days = 0u8;
        for item in days_part.split(',') {
            let item = item.trim();
            let (a, b) = item.split_once('-').unwrap_or((item, item));
            let day = |x: &str| -> std::result::Result<usize, String> {
                let l = x.trim().to_ascii_lowercase();
                FULL_DAYS
                    .iter()
                    .position(|f| l.len() >= 3 && f.starts_with(&l))
                    .ok_or_else(|| format!("unknown day {x:?} (use Mon, Tue, ... Sun)"))
            };
            let (a, b) = (day(a)?, day(b)?);
            let mut d = a;
            loop {
                days |= 1 << d;
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
        }
        let (a, b) = time_part
            .trim()
            .split_once('-')
            .ok_or("expected a clock interval such as 20:00-07:00")?;
        let start = clock(a)?;
        let end = clock(b)?;
        if start == 1440 {
            return Err("a window cannot start at 24:00".into());
        }
        Ok(Window {
            text: t.to_string(),
            days,
            start,
            end,
        })
    }

    /// Is local time (weekday 0 = Monday, minute of the day) inside the window?
    pub fn contains(&self, weekday: u32, minute: u32) -> bool {
        if self.days & (1 << weekday) == 0 {
            return false;
        }
        if self.start == self.end {
            return false;
        }
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

fn clock(s: &str) -> std::result::Result<u32, String> {
    let s = s.trim();
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not a clock time HH:MM"))?;
    let h: u32 = h
        .parse()
        .map_err(|_| format!("{s:?} is not a clock time HH:MM"))?;
    let m: u32 = m
        .parse()
        .map_err(|_| format!("{s:?} is not a clock time HH:MM"))?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(format!("{s:?} is not a clock time from 00:00 to 24:00"));
    }
    Ok(h * 60 + m)
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// `off_hours.windows`: a list of weekly windows.
pub fn windows<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Window>, D::Error> {
    decode(d, |v| {
        string_list(v)?
            .into_iter()
            .map(|w| Window::parse(&w).map_err(|e| format!("entry {w:?}: {e}")))
            .collect()
    })
}

// ---------------------------------------------------------------------------------------------
// Globs

/// Case-insensitive glob match: `*` any run, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    glob_case(pattern, text, false)
}

/// Glob match, `*` any run, `?` one character; case-insensitive unless `case_sensitive`
/// (trust policies' StringLike and ArnLike are case-sensitive).
pub(crate) fn glob_case(pattern: &str, text: &str, case_sensitive: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if case_sensitive {
            s.chars().collect()
        } else {
            s.chars().flat_map(char::to_lowercase).collect()
        }
    };
    let (p, t) = (fold(pattern), fold(text));
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Some(600_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("45"), Some(45_000));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("10"), Some(10_000));
        for ms in [
            0, 1, 999, 1000, 45_000, 600_000, 601_000, 5_400_000, 86_400_000, 90_061_001,
        ] {
            assert_eq!(parse_duration(&format_duration(ms)), Some(ms), "{ms}");
        }
        assert_eq!(format_duration(600_000), "10m");
        assert_eq!(format_duration(5_400_000), "1h30m");
    }

    #[test]
    fn windows() {
        let w = Window::parse("Mon-Fri 20:00-07:00").unwrap();
        assert!(w.contains(0, 3 * 60));
        assert!(w.contains(4, 23 * 60));
        assert!(!w.contains(5, 23 * 60));
        assert!(!w.contains(2, 7 * 60));
        assert!(w.contains(2, 7 * 60 - 1));
        assert!(!w.contains(2, 20 * 60 - 1));
        let w = Window::parse("Sat-Sun 00:00-24:00").unwrap();
        assert!(w.contains(6, 0) && w.contains(5, 1439) && !w.contains(0, 0));
        let w = Window::parse("Fri-Mon 12:00-13:00").unwrap();
        assert_eq!(w.days, 0b111_0001);
        assert!(Window::parse("Funday 00:00-01:00").is_err());
        assert!(Window::parse("Mon 25:00-01:00").is_err());
    }

    #[test]
    fn zones() {
        assert_eq!(TimeZone::parse("UTC").unwrap().offset_min, 0);
        assert_eq!(TimeZone::parse("+02:00").unwrap().offset_min, 120);
        assert_eq!(TimeZone::parse("UTC-05:30").unwrap().offset_min, -330);
        assert_eq!(TimeZone::parse("-0800").unwrap().offset_min, -480);
        assert_eq!(TimeZone::parse("UTC+2").unwrap().offset_min, 120);
        assert!(TimeZone::parse("Europe/Berlin").is_none());
        for z in ["UTC", "+02:00", "UTC-05:30", "-0800"] {
            let t = TimeZone::parse(z).unwrap();
            assert_eq!(TimeZone::parse(&t.to_string()), Some(t));
        }
    }

    #[test]
    fn cidrs_print_back() {
        for c in [
            "203.0.113.0/24",
            "10.0.0.9",
            "0.0.0.0/0",
            "2001:db8::/32",
            "2001:db8::1",
        ] {
            let b = Cidr::parse(c).unwrap();
            assert_eq!(Cidr::parse(&b.to_string()), Some(b), "{c}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob("*Admin*", "OrgAdministrator"));
        assert!(glob("*admin*", "AdminRole"));
        assert!(glob("BreakGlass*", "breakglass-1"));
        assert!(!glob("BreakGlass*", "MyBreakGlass"));
        assert!(glob("a?c", "abc") && !glob("a?c", "abbc"));
        assert!(glob("*", ""));
    }
}
