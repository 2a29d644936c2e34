//! Domain vocabulary shared by every stage: timestamps, issuance kinds, link confidence, and the
//! ARN / key-id helpers that turn CloudTrail strings into meaning. No I/O, no serde, no polars.

use std::fmt;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// The STS calls that issue temporary credentials (spec 2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IssuanceKind {
    AssumeRole,
    AssumeRoleWithSAML,
    AssumeRoleWithWebIdentity,
    GetSessionToken,
    GetFederationToken,
    AssumeRoot,
}

impl IssuanceKind {
    pub const ALL: [IssuanceKind; 6] = [
        IssuanceKind::AssumeRole,
        IssuanceKind::AssumeRoleWithSAML,
        IssuanceKind::AssumeRoleWithWebIdentity,
        IssuanceKind::GetSessionToken,
        IssuanceKind::GetFederationToken,
        IssuanceKind::AssumeRoot,
    ];

    pub fn from_event(event_source: Option<&str>, event_name: Option<&str>) -> Option<Self> {
        if let Some(src) = event_source {
            if src != "sts.amazonaws.com" {
                return None;
            }
        }
        Some(match event_name? {
            "AssumeRole" => IssuanceKind::AssumeRole,
            "AssumeRoleWithSAML" => IssuanceKind::AssumeRoleWithSAML,
            "AssumeRoleWithWebIdentity" => IssuanceKind::AssumeRoleWithWebIdentity,
            "GetSessionToken" => IssuanceKind::GetSessionToken,
            "GetFederationToken" => IssuanceKind::GetFederationToken,
            "AssumeRoot" => IssuanceKind::AssumeRoot,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IssuanceKind::AssumeRole => "AssumeRole",
            IssuanceKind::AssumeRoleWithSAML => "AssumeRoleWithSAML",
            IssuanceKind::AssumeRoleWithWebIdentity => "AssumeRoleWithWebIdentity",
            IssuanceKind::GetSessionToken => "GetSessionToken",
            IssuanceKind::GetFederationToken => "GetFederationToken",
            IssuanceKind::AssumeRoot => "AssumeRoot",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity: the "role assumptions".
    pub fn is_role_assumption(self) -> bool {
        matches!(
            self,
            IssuanceKind::AssumeRole
                | IssuanceKind::AssumeRoleWithSAML
                | IssuanceKind::AssumeRoleWithWebIdentity
        )
    }
}

impl fmt::Display for IssuanceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How strongly an attribution is supported; ordered weakest first so `min` gives the weakest
/// link of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    Unknown,
    Inferred,
    Exact,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Exact => "exact",
            Confidence::Inferred => "inferred",
            Confidence::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `userIdentity.type` (spec 2.1.2): what kind of principal signed a request; `Role` is the
/// `sessionIssuer.type` of role sessions. The strings are CloudTrail's, produced here only.
/// A type this list does not know stays data: the columns and `Identity::kind` keep the string
/// as written, and `parse` gives None for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityType {
    Root,
    IAMUser,
    AssumedRole,
    Role,
    FederatedUser,
    Directory,
    AWSAccount,
    AWSService,
    IdentityCenterUser,
    /// On AssumeRoleWithSAML calls only.
    SAMLUser,
    /// On AssumeRoleWithWebIdentity calls only.
    WebIdentityUser,
    /// CloudTrail's own `Unknown` (e.g. the older portal `Federate`), not an unrecognised type.
    Unknown,
}

impl IdentityType {
    pub const ALL: [IdentityType; 12] = [
        IdentityType::Root,
        IdentityType::IAMUser,
        IdentityType::AssumedRole,
        IdentityType::Role,
        IdentityType::FederatedUser,
        IdentityType::Directory,
        IdentityType::AWSAccount,
        IdentityType::AWSService,
        IdentityType::IdentityCenterUser,
        IdentityType::SAMLUser,
        IdentityType::WebIdentityUser,
        IdentityType::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityType::Root => "Root",
            IdentityType::IAMUser => "IAMUser",
            IdentityType::AssumedRole => "AssumedRole",
            IdentityType::Role => "Role",
            IdentityType::FederatedUser => "FederatedUser",
            IdentityType::Directory => "Directory",
            IdentityType::AWSAccount => "AWSAccount",
            IdentityType::AWSService => "AWSService",
            IdentityType::IdentityCenterUser => "IdentityCenterUser",
            IdentityType::SAMLUser => "SAMLUser",
            IdentityType::WebIdentityUser => "WebIdentityUser",
            IdentityType::Unknown => "Unknown",
        }
    }

    /// The type a `userIdentity.type` string names; None for a string not in the list.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether a type value as stored (a column value, `Identity::kind`) is this type: one
    /// comparison, for the per-event paths.
    pub fn matches(self, value: Option<&str>) -> bool {
        value == Some(self.as_str())
    }
}

impl fmt::Display for IdentityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Time

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    // Howard Hinnant's algorithm.
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn valid_ymd_hms(mo: u32, d: u32, h: u32, mi: u32, s: u32) -> bool {
    (1..=12).contains(&mo) && (1..=31).contains(&d) && h <= 24 && mi <= 59 && s <= 60
}

fn to_millis(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> Option<Millis> {
    // Four-digit years only (what CloudTrail writes and `format_time` prints): a larger year
    // overflows the milliseconds.
    if !(0..=9999).contains(&y) || !valid_ymd_hms(mo, d, h, mi, s) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 86400 + h as i64 * 3600 + mi as i64 * 60 + s as i64) * 1000) + ms as i64)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // None when the number does not fit (`parse_expiration` reads fields of any length).
    b.iter().try_fold(0u32, |a, c| {
        a.checked_mul(10)?.checked_add((c - b'0') as u32)
    })
}

/// Parses the timestamp forms found in CloudTrail and its re-exports (spec 2.4.8): extended ISO
/// `2024-07-31T19:52:33Z` (optionally with fractional seconds or a `±hh:mm` offset), the SIEM form
/// `2024-06-02 20:27:12`, and basic ISO `20131102T010628Z`. A missing zone means UTC.
pub fn parse_time(s: &str) -> Option<Millis> {
    let b = s.trim().as_bytes();
    if b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && (b[10] == b'T' || b[10] == b' ') {
        let y = digits(&b[0..4])? as i64;
        let mo = digits(&b[5..7])?;
        let d = digits(&b[8..10])?;
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let h = digits(&b[11..13])?;
        let mi = digits(&b[14..16])?;
        let sec = digits(&b[17..19])?;
        let mut i = 19;
        let mut ms = 0u32;
        if i < b.len() && (b[i] == b'.' || b[i] == b',') {
            let start = i + 1;
            i = start;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = &b[start..i.min(start + 3)];
            ms = digits(frac).unwrap_or(0) * 10u32.pow(3 - frac.len() as u32);
        }
        let base = to_millis(y, mo, d, h, mi, sec, ms)?;
        return apply_zone(base, &b[i..]);
    }
    if b.len() >= 15 && b[8] == b'T' {
        // Basic ISO: 20131102T010628Z
        let y = digits(&b[0..4])? as i64;
        let mo = digits(&b[4..6])?;
        let d = digits(&b[6..8])?;
        let h = digits(&b[9..11])?;
        let mi = digits(&b[11..13])?;
        let sec = digits(&b[13..15])?;
        let base = to_millis(y, mo, d, h, mi, sec, 0)?;
        return apply_zone(base, &b[15..]);
    }
    None
}

fn apply_zone(base: Millis, rest: &[u8]) -> Option<Millis> {
    match rest {
        [] | [b'Z'] | [b'z'] => Some(base),
        [sign @ (b'+' | b'-'), tz @ ..] => {
            let tz: Vec<u8> = tz.iter().copied().filter(|c| *c != b':').collect();
            if tz.len() != 4 {
                return None;
            }
            let h = digits(&tz[0..2])? as i64;
            let m = digits(&tz[2..4])? as i64;
            let off = (h * 60 + m) * 60_000;
            Some(if *sign == b'+' {
                base - off
            } else {
                base + off
            })
        }
        _ => None,
    }
}

/// Parses `--since`: a date (`2024-07-31`, start of day UTC) or a timestamp.
pub fn parse_when(s: &str) -> Result<i64, String> {
    if let Some(t) = parse_time(s) {
        return Ok(t);
    }
    parse_time(&format!("{s}T00:00:00Z"))
        .ok_or_else(|| format!("not a time: {s:?} (use 2024-07-31 or 2024-07-31T19:52:33Z)"))
}

/// Parses `--until`: a date means the end of that day.
pub fn parse_when_end(s: &str) -> Result<i64, String> {
    if let Some(t) = parse_time(s) {
        return Ok(t);
    }
    parse_time(&format!("{s}T23:59:59.999Z"))
        .ok_or_else(|| format!("not a time: {s:?} (use 2024-07-31 or 2024-07-31T19:52:33Z)"))
}

/// Parses `credentials.expiration` (spec 2.4.8): `"Jul 31, 2024, 8:07:33 PM"` or
/// `"Sep 17, 2020 8:04:10 PM"`, always UTC; ISO forms are accepted too.
pub(crate) fn parse_expiration(s: &str) -> Option<Millis> {
    if let Some(t) = parse_time(s) {
        return Some(t);
    }
    let cleaned = s.replace(',', " ");
    let mut it = cleaned.split_ascii_whitespace();
    let mon = match it.next()?.get(..3)?.to_ascii_lowercase().as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    let day = digits(it.next()?.as_bytes())?;
    let year = digits(it.next()?.as_bytes())? as i64;
    let mut hms = it.next()?.split(':');
    let mut h = digits(hms.next()?.as_bytes())?;
    let mi = digits(hms.next()?.as_bytes())?;
    let sec = digits(hms.next()?.as_bytes())?;
    match it.next().map(|x| x.to_ascii_uppercase()).as_deref() {
        Some("PM") if h < 12 => h += 12,
        Some("AM") if h == 12 => h = 0,
        _ => {}
    }
    to_millis(year, mon, day, h, mi, sec, 0)
}

/// Formats milliseconds as `2024-07-31T19:52:33Z` (with `.mmm` only when non-zero).
pub fn format_time(ms: Millis) -> String {
    let mut out = Vec::with_capacity(24);
    format_time_into(ms, &mut out);
    String::from_utf8(out).expect("ASCII")
}

/// `format_time`, appended to `out` without allocating.
pub fn format_time_into(ms: Millis, out: &mut Vec<u8>) {
    fn digits(out: &mut Vec<u8>, v: i64, width: usize) {
        let mut buf = [b'0'; 20];
        let mut n = v.unsigned_abs();
        let mut i = buf.len();
        while n > 0 {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let start = i.min(buf.len() - width);
        if v < 0 {
            out.push(b'-');
        }
        out.extend_from_slice(&buf[start..]);
    }
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    digits(out, y, 4);
    out.push(b'-');
    digits(out, m as i64, 2);
    out.push(b'-');
    digits(out, d as i64, 2);
    out.push(b'T');
    digits(out, h, 2);
    out.push(b':');
    digits(out, mi, 2);
    out.push(b':');
    digits(out, s, 2);
    if frac != 0 {
        out.push(b'.');
        digits(out, frac, 3);
    }
    out.push(b'Z');
}

#[cfg(test)]
fn format_time_reference(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:03}Z")
    }
}

/// (year, month, day) of a day count since the epoch.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

// ---------------------------------------------------------------------------------------------
// ARNs and ids

/// The account id inside an ARN (`arn:aws:iam::111111111111:role/x` → `111111111111`).
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, _, _, acct) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (!acct.is_empty()).then_some(acct)
}

/// The resource part of an ARN, after the fifth colon.
pub fn arn_resource(arn: &str) -> Option<&str> {
    arn.splitn(6, ':').nth(5)
}

/// The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`).
pub(crate) fn arn_partition(arn: &str) -> &str {
    arn.split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// `arn:aws:sts::A:assumed-role/Role/Session` → (`A`, `Role`, `Session`).
pub fn parse_assumed_role_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let acct = arn_account(arn)?;
    let res = arn_resource(arn)?;
    let rest = res.strip_prefix("assumed-role/")?;
    let (role, session) = rest.split_once('/')?;
    Some((acct, role, session))
}

/// `arn:aws:iam::<account>:user/<user name>`: an IAM user's ARN.
pub fn iam_user_arn(account: &str, user_name: &str) -> String {
    format!("arn:aws:iam::{account}:user/{user_name}")
}

/// `arn:aws:iam::<account>:root`: the root user's ARN.
pub fn iam_root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// `arn:aws:iam::<account>:role/<role name>`: a role's ARN (without its path).
pub fn iam_role_arn(account: &str, role_name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role_name}")
}

/// The role name (last path element) of an IAM role ARN.
pub fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

/// The session ARN a role session gets: `arn:aws:sts::<acct>:assumed-role/<name>/<session>`.
pub fn session_arn_for(role_arn: &str, session_name: &str) -> Option<String> {
    let acct = arn_account(role_arn)?;
    let part = arn_partition(role_arn);
    Some(format!(
        "arn:{part}:sts::{acct}:assumed-role/{}/{session_name}",
        role_name(role_arn)
    ))
}

/// Is this an AWS temporary (STS) access key id?
pub fn is_temporary_key(key: &str) -> bool {
    key.starts_with("ASIA")
}

// ---------------------------------------------------------------------------------------------
// Origins

/// What kind of principal a canonical origin string names (the vocabulary of the report and
/// the graph exports; `as_str` gives the names they show). See `origin` for the strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OriginKind {
    /// `service:<invokedBy>`
    Service,
    /// `unknown:<key>`: a session whose issuance is not in the input, or no identity at all.
    Unknown,
    /// `saml:<provider>:<subject>`
    Saml,
    /// `oidc:<provider>:<subject>`
    Oidc,
    /// `idc:<identity store ARN or account>:<user id>`
    IdentityCenter,
    /// `account:<account>:<principal id>`: only the resource-account copy names the caller.
    Account,
    /// The root user's ARN.
    Root,
    /// An IAM user's ARN.
    IamUser,
    /// A federated user's ARN.
    FederatedUser,
    /// A role or role session ARN.
    Role,
    /// Any other ARN.
    Principal,
    /// Anything else.
    Other,
}

impl OriginKind {
    /// The kinds whose origin strings start with a prefix of their own.
    const PREFIXED: [OriginKind; 6] = [
        OriginKind::Service,
        OriginKind::Unknown,
        OriginKind::Saml,
        OriginKind::Oidc,
        OriginKind::IdentityCenter,
        OriginKind::Account,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OriginKind::Service => "service",
            OriginKind::Unknown => "unknown",
            OriginKind::Saml => "saml",
            OriginKind::Oidc => "oidc",
            OriginKind::IdentityCenter => "identity-center",
            OriginKind::Account => "account",
            OriginKind::Root => "root",
            OriginKind::IamUser => "iam-user",
            OriginKind::FederatedUser => "federated-user",
            OriginKind::Role => "role",
            OriginKind::Principal => "principal",
            OriginKind::Other => "other",
        }
    }

    /// The prefix of this kind's origin strings (`service:`); None for the kinds that are ARNs,
    /// and for `Other`.
    pub fn prefix(self) -> Option<&'static str> {
        match self {
            OriginKind::Service => Some("service:"),
            OriginKind::Unknown => Some("unknown:"),
            OriginKind::Saml => Some("saml:"),
            OriginKind::Oidc => Some("oidc:"),
            OriginKind::IdentityCenter => Some("idc:"),
            OriginKind::Account => Some("account:"),
            _ => None,
        }
    }

    /// The kind of origin `o` names.
    pub fn of(o: &str) -> OriginKind {
        if let Some(k) = Self::PREFIXED
            .into_iter()
            .find(|k| k.prefix().is_some_and(|p| o.starts_with(p)))
        {
            return k;
        }
        if !o.starts_with("arn:") {
            return OriginKind::Other;
        }
        let res = arn_resource(o).unwrap_or("");
        if res == "root" {
            OriginKind::Root
        } else if res.starts_with("user/") {
            OriginKind::IamUser
        } else if res.starts_with("federated-user/") {
            OriginKind::FederatedUser
        } else if res.starts_with("role/") || res.starts_with("assumed-role/") {
            OriginKind::Role
        } else {
            OriginKind::Principal
        }
    }
}

impl fmt::Display for OriginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `OriginKind::of(o).as_str()`: what kind of principal a canonical origin string names.
pub fn origin_kind(o: &str) -> &'static str {
    OriginKind::of(o).as_str()
}

/// The canonical origin strings (spec "Stitching in one page"; ARCHITECTURE.md "Decisions"): one
/// constructor per form and one parser per form, the only code that knows their prefixes
/// (`OriginKind::prefix`). Principals that act directly (IAM users, root, federated users) are
/// their ARN; `OriginKind::of` tells all the forms apart.
pub mod origin {
    use super::{arn_account, OriginKind};

    /// `kind`'s prefix and `parts` joined by `:`.
    fn make(kind: OriginKind, parts: &[&str]) -> String {
        let prefix = kind.prefix().expect("a prefixed kind");
        let mut o =
            String::with_capacity(prefix.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>());
        o.push_str(prefix);
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                o.push(':');
            }
            o.push_str(p);
        }
        o
    }

    /// What follows `kind`'s prefix, when `o` is of that form.
    fn body(o: &str, kind: OriginKind) -> Option<&str> {
        o.strip_prefix(kind.prefix()?)
    }

    /// `service:<invokedBy>`: an AWS service acting on its own behalf.
    pub fn service(invoked_by: &str) -> String {
        make(OriginKind::Service, &[invoked_by])
    }

    /// `unknown:<key>`: the session of `key`, whose issuance is not in the input; `unknown:`
    /// (an empty `key`) when there is no identity at all.
    pub fn unknown(key: &str) -> String {
        make(OriginKind::Unknown, &[key])
    }

    /// `account:<account>:<principal id>`: a caller seen only in the resource-account copy.
    pub fn account(account: &str, principal_id: &str) -> String {
        make(OriginKind::Account, &[account, principal_id])
    }

    /// `saml:<provider>:<subject>`: a SAML identity provider's user.
    pub fn saml(provider: &str, subject: &str) -> String {
        make(OriginKind::Saml, &[provider, subject])
    }

    /// `oidc:<provider>:<subject>`: a web identity (OIDC) provider's user.
    pub fn oidc(provider: &str, subject: &str) -> String {
        make(OriginKind::Oidc, &[provider, subject])
    }

    /// `idc:<identity store ARN or account>:<user id>`: an Identity Center user whose portal
    /// calls link to no SAML session.
    pub fn identity_center(store: &str, user_id: &str) -> String {
        make(OriginKind::IdentityCenter, &[store, user_id])
    }

    /// The invokedBy of a `service:` origin.
    pub fn parse_service(o: &str) -> Option<&str> {
        body(o, OriginKind::Service)
    }

    /// The key of an `unknown:` origin (empty for none).
    pub fn parse_unknown(o: &str) -> Option<&str> {
        body(o, OriginKind::Unknown)
    }

    /// (account, principal id) of an `account:` origin.
    pub fn parse_account(o: &str) -> Option<(&str, &str)> {
        let b = body(o, OriginKind::Account)?;
        Some(b.split_once(':').unwrap_or((b, "")))
    }

    /// (provider, subject) of a `saml:` origin.
    pub fn parse_saml(o: &str) -> Option<(&str, &str)> {
        body(o, OriginKind::Saml).map(provider_subject)
    }

    /// (provider, subject) of an `oidc:` origin.
    pub fn parse_oidc(o: &str) -> Option<(&str, &str)> {
        body(o, OriginKind::Oidc).map(provider_subject)
    }

    /// (identity store ARN or account, user id) of an `idc:` origin.
    pub fn parse_identity_center(o: &str) -> Option<(&str, &str)> {
        let b = body(o, OriginKind::IdentityCenter)?;
        Some(b.rsplit_once(':').unwrap_or(("", b)))
    }

    /// The provider is an ARN (with colons: its first six fields) or a host; the subject is
    /// what follows it.
    fn provider_subject(b: &str) -> (&str, &str) {
        let cut = if b.starts_with("arn:") {
            b.match_indices(':').nth(5).map(|(i, _)| i)
        } else {
            b.find(':')
        };
        match cut {
            Some(i) => (&b[..i], &b[i + 1..]),
            None => (b, ""),
        }
    }

    /// The account an origin names, when it names one: an ARN's, an `account:` origin's, or
    /// that of a SAML or OIDC provider given as an ARN.
    pub fn account_of(o: &str) -> Option<&str> {
        if o.starts_with("arn:") {
            return arn_account(o);
        }
        if let Some((account, _)) = parse_account(o) {
            return Some(account);
        }
        body(o, OriginKind::Saml)
            .or_else(|| body(o, OriginKind::Oidc))
            .filter(|b| b.starts_with("arn:"))
            .and_then(arn_account)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn format_time_into_matches_format() {
        let mut v: Vec<i64> = vec![
            0,
            1,
            999,
            1000,
            -1,
            -1000,
            1_700_000_000_123,
            253_402_300_799_999,
        ];
        let mut x: i64 = 12345;
        for _ in 0..2000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            v.push((x >> 22).rem_euclid(253_402_300_800_000));
        }
        for ms in v {
            assert_eq!(format_time(ms), format_time_reference(ms), "{ms}");
        }
    }

    use super::*;

    #[test]
    fn times() {
        let t = parse_time("2024-07-31T19:52:33Z").unwrap();
        assert_eq!(format_time(t), "2024-07-31T19:52:33Z");
        assert_eq!(parse_time("2024-07-31 19:52:33"), Some(t));
        assert_eq!(parse_time("2024-07-31T19:52:33.000Z"), Some(t));
        assert_eq!(parse_time("2024-07-31T21:52:33+02:00"), Some(t));
        assert_eq!(
            parse_time("20131102T010628Z").map(format_time).as_deref(),
            Some("2013-11-02T01:06:28Z")
        );
        assert_eq!(parse_time("2024-07-31T19:52:33.5Z"), Some(t + 500));
        assert_eq!(parse_time("garbage"), None);
        assert_eq!(parse_time("2024-13-31T19:52:33Z"), None);
    }

    #[test]
    fn expirations() {
        // spec 2.4.8: eventTime 19:52:33 + 900 s.
        let e = parse_expiration("Jul 31, 2024, 8:07:33 PM").unwrap();
        assert_eq!(format_time(e), "2024-07-31T20:07:33Z");
        let e = parse_expiration("Sep 17, 2020 8:04:10 PM").unwrap();
        assert_eq!(format_time(e), "2020-09-17T20:04:10Z");
        let e = parse_expiration("Jan 22, 2021 12:46:28 AM").unwrap();
        assert_eq!(format_time(e), "2021-01-22T00:46:28Z");
        let e = parse_expiration("Jul 1, 2026, 12:08:19 PM").unwrap();
        assert_eq!(format_time(e), "2026-07-01T12:08:19Z");
    }

    /// Numbers too large for a date (found by the records fuzz target) panicked with an
    /// arithmetic overflow in debug builds and gave a wrapped, meaningless time in release
    /// builds: a day that does not fit in u32 (`digits`), a year whose milliseconds do not fit
    /// in i64 (`to_millis`). They are not a time, like any other unreadable timestamp.
    #[test]
    fn expiration_numbers_too_large() {
        assert_eq!(parse_expiration("Jul 40000000033"), None);
        assert_eq!(parse_expiration("Jul , 9999999807"), None);
        assert_eq!(parse_expiration("Jul 31, 4000000000, 8:07:33 PM"), None);
        assert_eq!(parse_expiration("Jul 31, 10000, 8:07:33 PM"), None);
        assert_eq!(parse_expiration("Jul 31, 2024, 99999999999:07:33 PM"), None);
        let e = parse_expiration("Dec 31, 9999, 11:59:59 PM").unwrap();
        assert_eq!(format_time(e), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn arns() {
        assert_eq!(
            parse_assumed_role_arn("arn:aws:sts::111:assumed-role/R/s@x.com"),
            Some(("111", "R", "s@x.com"))
        );
        assert_eq!(
            role_name("arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/x/Y"),
            "Y"
        );
        assert_eq!(
            session_arn_for("arn:aws:iam::1:role/p/R", "s").as_deref(),
            Some("arn:aws:sts::1:assumed-role/R/s")
        );
    }

    #[test]
    fn identity_types() {
        for t in IdentityType::ALL {
            assert_eq!(IdentityType::parse(t.as_str()), Some(t));
            assert_eq!(format!("{t:?}"), t.as_str());
            assert!(t.matches(Some(t.as_str())));
        }
        assert_eq!(IdentityType::parse("SomethingNew"), None);
        assert_eq!(IdentityType::parse(""), None);
        assert!(!IdentityType::Root.matches(None));
    }

    /// `origin_kind` as it was written before `OriginKind`.
    fn origin_kind_reference(o: &str) -> &'static str {
        if o.starts_with("service:") {
            "service"
        } else if o.starts_with("unknown:") {
            "unknown"
        } else if o.starts_with("saml:") {
            "saml"
        } else if o.starts_with("oidc:") {
            "oidc"
        } else if o.starts_with("idc:") {
            "identity-center"
        } else if o.starts_with("account:") {
            "account"
        } else if o.starts_with("arn:") {
            let res = arn_resource(o).unwrap_or("");
            if res == "root" {
                "root"
            } else if res.starts_with("user/") {
                "iam-user"
            } else if res.starts_with("federated-user/") {
                "federated-user"
            } else if res.starts_with("role/") || res.starts_with("assumed-role/") {
                "role"
            } else {
                "principal"
            }
        } else {
            "other"
        }
    }

    /// The graph export's account of an origin as it was written before `origin::account_of`.
    fn account_of_reference(o: &str) -> Option<&str> {
        if o.starts_with("arn:") {
            return arn_account(o);
        }
        if let Some(rest) = o.strip_prefix("account:") {
            return rest.split(':').next();
        }
        if let Some(rest) = o.strip_prefix("saml:").or_else(|| o.strip_prefix("oidc:")) {
            if rest.starts_with("arn:") {
                return arn_account(rest);
            }
        }
        None
    }

    const ORIGINS: &[&str] = &[
        "",
        "x",
        "arn:",
        "arn:aws:iam::1:user/alice",
        "arn:aws:iam::1:root",
        "arn:aws:iam::1:federated-user/bob",
        "arn:aws:iam::1:role/R",
        "arn:aws:sts::1:assumed-role/R/s",
        "arn:aws:s3:::bucket",
        "arn:aws:iam:::user/x",
        "service:ec2.amazonaws.com",
        "service:service:x",
        "service:",
        "unknown:",
        "unknown:ASIAX",
        "saml:arn:aws:iam::1:saml-provider/X:bob",
        "saml:arn:aws:iam::1:saml-provider/X:bob:more",
        "saml:arn:aws:iam::1",
        "saml:host:bob",
        "saml:host",
        "saml:",
        "oidc:arn:aws:iam::2:oidc-provider/oidc.eks.x/id/Y:system:serviceaccount:ns:sa",
        "oidc:accounts.google.com:1234",
        "idc:arn:aws:identitystore::3:identitystore/d-1:user-1",
        "idc:3:user-1",
        "idc:user",
        "account:1:AIDA",
        "account:1:AROA:session",
        "account:1",
        "account:",
        "ACCOUNT:1:x",
    ];

    #[test]
    fn origin_kinds() {
        for o in ORIGINS {
            assert_eq!(origin_kind(o), origin_kind_reference(o), "{o:?}");
            assert_eq!(origin::account_of(o), account_of_reference(o), "{o:?}");
        }
        assert_eq!(origin_kind("arn:aws:iam::1:user/alice"), "iam-user");
        assert_eq!(origin_kind("arn:aws:iam::1:root"), "root");
        assert_eq!(
            origin_kind("saml:arn:aws:iam::1:saml-provider/X:bob"),
            "saml"
        );
        assert_eq!(origin_kind("service:ec2.amazonaws.com"), "service");
        assert_eq!(origin_kind("unknown:"), "unknown");
        assert_eq!(origin_kind("account:1:AIDA"), "account");
        assert_eq!(origin_kind("idc:arn:x:u"), "identity-center");
    }

    #[test]
    fn origin_forms() {
        let svc = origin::service("ec2.amazonaws.com");
        assert_eq!(svc, "service:ec2.amazonaws.com");
        assert_eq!(origin::parse_service(&svc), Some("ec2.amazonaws.com"));
        assert_eq!(origin::unknown(""), "unknown:");
        assert_eq!(origin::unknown("ASIAX"), "unknown:ASIAX");
        assert_eq!(origin::parse_unknown("unknown:ASIAX"), Some("ASIAX"));
        assert_eq!(origin::account("1", "AROA:s"), "account:1:AROA:s");
        assert_eq!(
            origin::parse_account("account:1:AROA:s"),
            Some(("1", "AROA:s"))
        );
        let p = "arn:aws:iam::1:saml-provider/X";
        assert_eq!(origin::saml(p, "bob"), format!("saml:{p}:bob"));
        assert_eq!(
            origin::parse_saml(&origin::saml(p, "b:c")),
            Some((p, "b:c"))
        );
        assert_eq!(origin::parse_saml("saml:host:bob"), Some(("host", "bob")));
        assert_eq!(origin::oidc("host", "sub"), "oidc:host:sub");
        assert_eq!(origin::parse_oidc("oidc:host:sub"), Some(("host", "sub")));
        assert_eq!(origin::parse_oidc("saml:host:sub"), None);
        let store = "arn:aws:identitystore::3:identitystore/d-1";
        assert_eq!(
            origin::identity_center(store, "u-1"),
            format!("idc:{store}:u-1")
        );
        assert_eq!(
            origin::parse_identity_center(&origin::identity_center(store, "u-1")),
            Some((store, "u-1"))
        );
        for o in ORIGINS {
            let k = OriginKind::of(o);
            let formed = match k {
                OriginKind::Service => origin::parse_service(o).map(origin::service),
                OriginKind::Unknown => origin::parse_unknown(o).map(origin::unknown),
                OriginKind::Account => origin::parse_account(o)
                    .filter(|_| o.matches(':').count() > 1)
                    .map(|(a, p)| origin::account(a, p)),
                OriginKind::Saml => origin::parse_saml(o)
                    .filter(|(_, s)| !s.is_empty())
                    .map(|(p, s)| origin::saml(p, s)),
                OriginKind::Oidc => origin::parse_oidc(o).map(|(p, s)| origin::oidc(p, s)),
                OriginKind::IdentityCenter => origin::parse_identity_center(o)
                    .filter(|(s, _)| !s.is_empty())
                    .map(|(s, u)| origin::identity_center(s, u)),
                _ => None,
            };
            if let Some(f) = formed {
                assert_eq!(f, *o, "round trip of {o:?}");
            }
        }
        assert_eq!(iam_user_arn("1", "alice"), "arn:aws:iam::1:user/alice");
        assert_eq!(iam_root_arn("1"), "arn:aws:iam::1:root");
        assert_eq!(iam_role_arn("1", "R"), "arn:aws:iam::1:role/R");
    }
}
