//! The detector configuration: a TOML file whose every number, list and window is a key, with
//! the defaults of issue 4. Unknown keys and ill-typed values are errors with a one-line
//! message that names the file and the dotted key. `DEFAULT_TOML` is what `--print-config`
//! prints; it parses back to `Config::default()`.

use super::net::Cidr;
use anyhow::{anyhow, Result};
use std::fmt;
use std::path::{Path, PathBuf};
use toml::{Table, Value};
use trailgraph_log::model::Millis;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Keys every detector section has.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    pub enabled: bool,
    pub severity: Severity,
}

impl Common {
    fn new(severity: Severity) -> Common {
        Common {
            enabled: true,
            severity,
        }
    }
}

/// Allow-lists shared by every detector (see docs/anomalies.md for what each one matches).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Allow {
    /// Glob patterns on canonical origins and principal ARNs.
    pub principals: Vec<String>,
    /// Glob patterns on role names or role ARNs.
    pub roles: Vec<String>,
    /// Account ids.
    pub accounts: Vec<String>,
    /// IP addresses or CIDR blocks (IPv4 or IPv6).
    pub addresses: Vec<Cidr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleChainDepth {
    pub common: Common,
    pub min_depth: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadExfiltration {
    pub common: Common,
    /// A file in the public `ip-ranges.json` format (relative paths are resolved against the
    /// config file's directory).
    pub aws_ip_ranges: Option<PathBuf>,
    /// Count private (RFC 1918, ULA, …) addresses as outside addresses. Off by default: the
    /// issue says private addresses never count. Useful on anonymised lab data.
    pub include_private: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionMultiIp {
    pub common: Common,
    pub prefix_len: u8,
    pub window: Millis,
    /// Consider private IPv4 addresses too (off by default: VPC endpoint traffic of the same
    /// key shows the private address next to the public one).
    pub include_private: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssumeRoleEnumeration {
    pub common: Common,
    pub max_gap: Millis,
    pub min_failures: usize,
    pub min_roles: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NoMfaSensitive {
    pub common: Common,
    /// Glob patterns on the role name (case-insensitive).
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OffHours {
    pub common: Common,
    pub windows: Vec<Window>,
    pub timezone: TimeZone,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExternalAccount {
    pub common: Common,
    pub known_accounts: Vec<String>,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// End of the learning period; None = `baseline_fraction` of the input's time span.
    pub baseline_until: Option<Millis>,
    pub baseline_fraction: f64,
    pub allow: Allow,
    pub role_chain_depth: RoleChainDepth,
    pub role_cycle: Common,
    pub workload_credential_exfiltration: WorkloadExfiltration,
    pub session_multi_ip: SessionMultiIp,
    pub assume_role_enumeration: AssumeRoleEnumeration,
    pub first_time_assumption: Common,
    pub no_mfa_sensitive: NoMfaSensitive,
    pub off_hours: OffHours,
    pub external_account_assumption: ExternalAccount,
    pub getsessiontoken_then_assume: Common,
    pub federation_token_persistence: Common,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            baseline_until: None,
            baseline_fraction: 0.7,
            allow: Allow::default(),
            role_chain_depth: RoleChainDepth {
                common: Common::new(Severity::Medium),
                min_depth: 4,
            },
            role_cycle: Common::new(Severity::High),
            workload_credential_exfiltration: WorkloadExfiltration {
                common: Common::new(Severity::High),
                aws_ip_ranges: None,
                include_private: false,
            },
            session_multi_ip: SessionMultiIp {
                common: Common::new(Severity::Medium),
                prefix_len: 16,
                window: 10 * 60_000,
                include_private: false,
            },
            assume_role_enumeration: AssumeRoleEnumeration {
                common: Common::new(Severity::Medium),
                max_gap: 5 * 60_000,
                min_failures: 10,
                min_roles: 5,
            },
            first_time_assumption: Common::new(Severity::Low),
            no_mfa_sensitive: NoMfaSensitive {
                common: Common::new(Severity::Medium),
                roles: vec!["*Admin*".into(), "BreakGlass*".into()],
            },
            off_hours: OffHours {
                common: Common::new(Severity::Low),
                windows: vec![
                    Window::parse("Mon-Fri 20:00-07:00").expect("valid default"),
                    Window::parse("Sat-Sun 00:00-24:00").expect("valid default"),
                ],
                timezone: TimeZone::utc(),
            },
            external_account_assumption: ExternalAccount {
                common: Common::new(Severity::High),
                known_accounts: Vec::new(),
            },
            getsessiontoken_then_assume: Common::new(Severity::Medium),
            federation_token_persistence: Common::new(Severity::High),
        }
    }
}

/// The defaults as a commented TOML document (`--print-config`). Must parse back to
/// `Config::default()` (tested).
pub const DEFAULT_TOML: &str = r#"# trailgraph anomalies configuration: the defaults (trailgraph anomalies --print-config).
# Pass a file with any subset of these keys with --config FILE; unknown keys are an error.
# Durations: "30s", "10m", "1h", "1h30m", "1d". Severities: info, low, medium, high, critical.
# Glob patterns: "*" matches any run of characters, "?" one character (case-insensitive).
# Every detector section has `enabled` (true/false) and `severity`. See docs/anomalies.md.

# End of the learning period used by first_time_assumption and external_account_assumption:
# a date ("2024-07-31") or a time ("2024-07-31T19:52:33Z"). Unset: the first
# `baseline_fraction` of the input's time span. --baseline-until overrides both.
# baseline_until = "2024-07-31T00:00:00Z"
baseline_fraction = 0.7

# Allow-lists for every detector: findings about these principals, roles, accounts or
# addresses are dropped (addresses are also ignored by the address-based detectors).
[allow]
principals = []  # canonical origins or principal ARNs, e.g. "arn:aws:iam::111111111111:user/ci-*"
roles = []       # role names or role ARNs, e.g. "OrganizationAccountAccessRole"
accounts = []    # account ids, e.g. "111111111111"
addresses = []   # IP addresses or CIDR blocks, e.g. "203.0.113.0/24", "2001:db8::/32"

# An issuance that creates a session at chain depth exactly min_depth (deeper sessions of the
# same chain are not reported again).
[role_chain_depth]
enabled = true
severity = "medium"
min_depth = 4

# A role assumption whose role is already in the caller's chain (A>B>A refresh loops), once
# per chain at the first repeat.
[role_cycle]
enabled = true
severity = "high"

# A session issued to an AWS service workload (EC2 instance profile, Lambda, ECS, ...) used
# from a public address outside AWS (first such event per session).
[workload_credential_exfiltration]
enabled = true
severity = "high"
# A file in the public ip-ranges.json format (https://ip-ranges.amazonaws.com/ip-ranges.json);
# relative to this file's directory. Unset: any public address other than the first public
# address the workload (same role + session name) used counts as outside.
# aws_ip_ranges = "ip-ranges.json"
include_private = false  # true: private addresses count too (anonymised lab data)

# A temporary key used from another /prefix_len network within `window` of a use from its
# home address (the IPv4 address of its earliest event).
[session_multi_ip]
enabled = true
severity = "medium"
prefix_len = 16
window = "10m"
include_private = false  # true: private IPv4 addresses count as home or other addresses

# Denied (AccessDenied) AssumeRole calls per caller ARN, split where the gap exceeds max_gap:
# a group of at least min_failures failures on at least min_roles distinct roles.
[assume_role_enumeration]
enabled = true
severity = "medium"
max_gap = "5m"
min_failures = 10
min_roles = 5

# The first role assumption of an (origin, role) pair, at or after the end of the learning
# period (service: and unknown: origins excluded).
[first_time_assumption]
enabled = true
severity = "low"

# A successful AssumeRole of a sensitive role without MFA (no serialNumber in the request and
# the caller not MFA-authenticated). Patterns match the role name.
[no_mfa_sensitive]
enabled = true
severity = "medium"
roles = ["*Admin*", "BreakGlass*"]

# A role assumption made directly by an IAM user, root, or SAML / Identity Center origin inside
# an off-hours window. Windows are weekly: "<days> <HH:MM>-<HH:MM>", days as "Mon-Fri",
# "Sat,Sun" or "Tue"; an end before the start wraps past midnight (20:00-07:00 on a listed
# day means from 20:00 or before 07:00 that day). Timezone: "UTC" or a fixed offset
# such as "+02:00" or "UTC-05:00".
[off_hours]
enabled = true
severity = "low"
windows = ["Mon-Fri 20:00-07:00", "Sat-Sun 00:00-24:00"]
timezone = "UTC"

# The first successful AssumeRole by a caller account whose logs are not in the input and
# that is not in known_accounts, at or after the end of the learning period.
[external_account_assumption]
enabled = true
severity = "high"
known_accounts = []  # e.g. ["111111111111", "222222222222"]

# The first AssumeRole* call (denied or not) signed by a key that GetSessionToken issued.
[getsessiontoken_then_assume]
enabled = true
severity = "medium"

# A GetFederationToken session used after the long-term key that requested it was deactivated
# (UpdateAccessKey Inactive) or deleted (DeleteAccessKey).
[federation_token_persistence]
enabled = true
severity = "high"
"#;

/// The detector section names, in documentation order.
pub const KINDS: [&str; 11] = [
    "role_chain_depth",
    "role_cycle",
    "workload_credential_exfiltration",
    "session_multi_ip",
    "assume_role_enumeration",
    "first_time_assumption",
    "no_mfa_sensitive",
    "off_hours",
    "external_account_assumption",
    "getsessiontoken_then_assume",
    "federation_token_persistence",
];

/// Reads a config file, or the defaults when `path` is None.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("{}: cannot read the config file: {e}", path.display()))?;
    parse_config(&text, &path.display().to_string(), path.parent())
}

/// Parses config text. `name` is used in error messages; relative file paths inside the
/// config are resolved against `base`.
pub fn parse_config(text: &str, name: &str, base: Option<&Path>) -> Result<Config> {
    let table: Table = text.parse::<Table>().map_err(|e| {
        let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
        let msg = e.message().lines().next().unwrap_or("").trim().to_string();
        anyhow!("{name}: invalid TOML at line {line}, column {col}: {msg}")
    })?;
    let mut p = Parser { name, base };
    p.config(&table)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Parser<'a> {
    name: &'a str,
    base: Option<&'a Path>,
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

impl Parser<'_> {
    fn err(&self, key: &str, what: &str, v: &Value) -> anyhow::Error {
        anyhow!(
            "{}: `{key}` must be {what} (got {} {})",
            self.name,
            kind_of(v),
            one_line(v)
        )
    }

    fn unknown(&self, key: &str) -> anyhow::Error {
        anyhow!(
            "{}: unknown key `{key}` (see trailgraph anomalies --print-config)",
            self.name
        )
    }

    fn check_keys(&self, prefix: &str, t: &Table, known: &[&str]) -> Result<()> {
        for k in t.keys() {
            if !known.contains(&k.as_str()) {
                let full = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                return Err(self.unknown(&full));
            }
        }
        Ok(())
    }

    fn section<'t>(&self, t: &'t Table, key: &str) -> Result<Option<&'t Table>> {
        match t.get(key) {
            None => Ok(None),
            Some(Value::Table(s)) => Ok(Some(s)),
            Some(v) => Err(self.err(key, "a table ([section])", v)),
        }
    }

    fn bool(&self, t: &Table, sec: &str, key: &str, dst: &mut bool) -> Result<()> {
        match t.get(key) {
            None => Ok(()),
            Some(Value::Boolean(b)) => {
                *dst = *b;
                Ok(())
            }
            Some(v) => Err(self.err(&format!("{sec}.{key}"), "true or false", v)),
        }
    }

    fn uint(&self, t: &Table, sec: &str, key: &str, min: i64, max: i64) -> Result<Option<i64>> {
        match t.get(key) {
            None => Ok(None),
            Some(Value::Integer(n)) if (min..=max).contains(n) => Ok(Some(*n)),
            Some(v) => Err(self.err(
                &format!("{sec}.{key}"),
                &format!("an integer from {min} to {max}"),
                v,
            )),
        }
    }

    fn duration(&self, t: &Table, sec: &str, key: &str) -> Result<Option<Millis>> {
        match t.get(key) {
            None => Ok(None),
            Some(v @ Value::String(s)) => match parse_duration(s) {
                Some(d) => Ok(Some(d)),
                None => Err(self.err(
                    &format!("{sec}.{key}"),
                    "a duration such as \"30s\", \"10m\" or \"1h\"",
                    v,
                )),
            },
            Some(v) => Err(self.err(
                &format!("{sec}.{key}"),
                "a duration such as \"30s\", \"10m\" or \"1h\"",
                v,
            )),
        }
    }

    fn strings(&self, t: &Table, sec: &str, key: &str) -> Result<Option<Vec<String>>> {
        let full = if sec.is_empty() {
            key.to_string()
        } else {
            format!("{sec}.{key}")
        };
        match t.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => {
                let mut out = Vec::with_capacity(a.len());
                for v in a {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        _ => return Err(self.err(&full, "an array of strings", v)),
                    }
                }
                Ok(Some(out))
            }
            Some(v) => Err(self.err(&full, "an array of strings", v)),
        }
    }

    fn common(&self, t: &Table, sec: &str, c: &mut Common) -> Result<()> {
        self.bool(t, sec, "enabled", &mut c.enabled)?;
        match t.get("severity") {
            None => {}
            Some(v @ Value::String(s)) => {
                c.severity = Severity::parse(s).ok_or_else(|| {
                    self.err(
                        &format!("{sec}.severity"),
                        "one of info, low, medium, high, critical",
                        v,
                    )
                })?
            }
            Some(v) => {
                return Err(self.err(
                    &format!("{sec}.severity"),
                    "one of info, low, medium, high, critical",
                    v,
                ))
            }
        }
        Ok(())
    }

    fn config(&mut self, t: &Table) -> Result<Config> {
        let mut c = Config::default();
        let mut top: Vec<&str> = vec!["baseline_until", "baseline_fraction", "allow"];
        top.extend(KINDS);
        self.check_keys("", t, &top)?;
        match t.get("baseline_until") {
            None => {}
            Some(v @ Value::String(s)) => {
                c.baseline_until = Some(trailgraph_log::model::parse_when(s).map_err(|_| {
                    self.err(
                        "baseline_until",
                        "a date or time such as \"2024-07-31\" or \"2024-07-31T19:52:33Z\"",
                        v,
                    )
                })?)
            }
            Some(Value::Datetime(d)) => {
                let s = d.to_string();
                c.baseline_until = Some(trailgraph_log::model::parse_when(&s).map_err(|_| {
                    anyhow!(
                        "{}: `baseline_until` must be a date or a UTC time (got {s})",
                        self.name
                    )
                })?)
            }
            Some(v) => {
                return Err(self.err(
                    "baseline_until",
                    "a date or time such as \"2024-07-31\" or \"2024-07-31T19:52:33Z\"",
                    v,
                ))
            }
        }
        match t.get("baseline_fraction") {
            None => {}
            Some(Value::Float(f)) if (0.0..=1.0).contains(f) => c.baseline_fraction = *f,
            Some(Value::Integer(n)) if (0..=1).contains(n) => c.baseline_fraction = *n as f64,
            Some(v) => return Err(self.err("baseline_fraction", "a number from 0 to 1", v)),
        }
        if let Some(s) = self.section(t, "allow")? {
            self.check_keys(
                "allow",
                s,
                &["principals", "roles", "accounts", "addresses"],
            )?;
            if let Some(v) = self.strings(s, "allow", "principals")? {
                c.allow.principals = v;
            }
            if let Some(v) = self.strings(s, "allow", "roles")? {
                c.allow.roles = v;
            }
            if let Some(v) = self.strings(s, "allow", "accounts")? {
                c.allow.accounts = v;
            }
            if let Some(v) = self.strings(s, "allow", "addresses")? {
                let mut out = Vec::with_capacity(v.len());
                for a in v {
                    out.push(Cidr::parse(&a).ok_or_else(|| {
                        anyhow!(
                            "{}: `allow.addresses` entry {a:?} is not an IP address or CIDR block",
                            self.name
                        )
                    })?);
                }
                c.allow.addresses = out;
            }
        }
        const COMMON: [&str; 2] = ["enabled", "severity"];
        let with = |extra: &[&'static str]| -> Vec<&'static str> {
            let mut v = COMMON.to_vec();
            v.extend_from_slice(extra);
            v
        };
        // 1
        let sec = "role_chain_depth";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &with(&["min_depth"]))?;
            self.common(s, sec, &mut c.role_chain_depth.common)?;
            if let Some(n) = self.uint(s, sec, "min_depth", 1, 1000)? {
                c.role_chain_depth.min_depth = n as usize;
            }
        }
        // 2
        let sec = "role_cycle";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &COMMON)?;
            self.common(s, sec, &mut c.role_cycle)?;
        }
        // 3
        let sec = "workload_credential_exfiltration";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &with(&["aws_ip_ranges", "include_private"]))?;
            let d = &mut c.workload_credential_exfiltration;
            self.common(s, sec, &mut d.common)?;
            match s.get("aws_ip_ranges") {
                None => {}
                Some(Value::String(p)) if p.is_empty() => d.aws_ip_ranges = None,
                Some(Value::String(p)) => {
                    let p = PathBuf::from(p);
                    d.aws_ip_ranges = Some(match self.base {
                        Some(b) if p.is_relative() => b.join(p),
                        _ => p,
                    });
                }
                Some(v) => return Err(self.err(&format!("{sec}.aws_ip_ranges"), "a file path", v)),
            }
            self.bool(s, sec, "include_private", &mut d.include_private)?;
        }
        // 4
        let sec = "session_multi_ip";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &with(&["prefix_len", "window", "include_private"]))?;
            let d = &mut c.session_multi_ip;
            self.common(s, sec, &mut d.common)?;
            if let Some(n) = self.uint(s, sec, "prefix_len", 0, 32)? {
                d.prefix_len = n as u8;
            }
            if let Some(w) = self.duration(s, sec, "window")? {
                d.window = w;
            }
            self.bool(s, sec, "include_private", &mut d.include_private)?;
        }
        // 5
        let sec = "assume_role_enumeration";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &with(&["max_gap", "min_failures", "min_roles"]))?;
            let d = &mut c.assume_role_enumeration;
            self.common(s, sec, &mut d.common)?;
            if let Some(w) = self.duration(s, sec, "max_gap")? {
                d.max_gap = w;
            }
            if let Some(n) = self.uint(s, sec, "min_failures", 1, i64::MAX)? {
                d.min_failures = n as usize;
            }
            if let Some(n) = self.uint(s, sec, "min_roles", 0, i64::MAX)? {
                d.min_roles = n as usize;
            }
        }
        // 6
        let sec = "first_time_assumption";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &COMMON)?;
            self.common(s, sec, &mut c.first_time_assumption)?;
        }
        // 7
        let sec = "no_mfa_sensitive";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &with(&["roles"]))?;
            self.common(s, sec, &mut c.no_mfa_sensitive.common)?;
            if let Some(v) = self.strings(s, sec, "roles")? {
                c.no_mfa_sensitive.roles = v;
            }
        }
        // 8
        let sec = "off_hours";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &with(&["windows", "timezone"]))?;
            let d = &mut c.off_hours;
            self.common(s, sec, &mut d.common)?;
            if let Some(v) = self.strings(s, sec, "windows")? {
                let mut out = Vec::with_capacity(v.len());
                for w in v {
                    out.push(Window::parse(&w).map_err(|e| {
                        anyhow!("{}: `off_hours.windows` entry {w:?}: {e}", self.name)
                    })?);
                }
                d.windows = out;
            }
            match s.get("timezone") {
                None => {}
                Some(v @ Value::String(z)) => {
                    d.timezone = TimeZone::parse(z).ok_or_else(|| {
                        self.err(
                            "off_hours.timezone",
                            "\"UTC\" or a fixed offset such as \"+02:00\" or \"UTC-05:00\" (named zones are not supported)",
                            v,
                        )
                    })?
                }
                Some(v) => {
                    return Err(self.err(
                        "off_hours.timezone",
                        "\"UTC\" or a fixed offset such as \"+02:00\"",
                        v,
                    ))
                }
            }
        }
        // 9
        let sec = "external_account_assumption";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &with(&["known_accounts"]))?;
            self.common(s, sec, &mut c.external_account_assumption.common)?;
            if let Some(v) = self.strings(s, sec, "known_accounts")? {
                c.external_account_assumption.known_accounts = v;
            }
        }
        // 10
        let sec = "getsessiontoken_then_assume";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &COMMON)?;
            self.common(s, sec, &mut c.getsessiontoken_then_assume)?;
        }
        // 11
        let sec = "federation_token_persistence";
        if let Some(s) = self.section(t, sec)? {
            self.check_keys(sec, s, &COMMON)?;
            self.common(s, sec, &mut c.federation_token_persistence)?;
        }
        Ok(c)
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

/// Parses "30s", "10m", "1h", "1h30m", "2d" (also "90" = seconds) into milliseconds.
pub fn parse_duration(s: &str) -> Option<Millis> {
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

/// A fixed UTC offset, in minutes east of UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone {
    pub offset_min: i32,
}

impl TimeZone {
    pub fn utc() -> TimeZone {
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

/// Case-insensitive glob match: `*` any run, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
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
    fn defaults_round_trip() {
        let c = parse_config(DEFAULT_TOML, "defaults", None).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Some(600_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("45"), Some(45_000));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("10"), Some(10_000));
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
