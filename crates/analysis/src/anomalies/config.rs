//! The detector configuration: a TOML file whose every number, list and window is a key. Each
//! section is a serde struct with `deny_unknown_fields` whose `Default` holds its defaults (the
//! only place they are written); how each key's value is read is in `values`. A bad file gives a
//! one-line error naming the file and the dotted key. `--print-config` prints
//! `Config::default().to_toml()`: the defaults serialised, with a comment above each section.

use super::net::Cidr;
use super::values::{self, TimeZone, Window};
use super::Severity;
use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trailgraph_log::model::Millis;

/// Allow-lists shared by every detector (see docs/anomalies.md for what each one matches).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Allow {
    /// Glob patterns on canonical origins and principal ARNs.
    #[serde(deserialize_with = "values::strings")]
    pub principals: Vec<String>,
    /// Glob patterns on role names or role ARNs.
    #[serde(deserialize_with = "values::strings")]
    pub roles: Vec<String>,
    /// Account ids.
    #[serde(deserialize_with = "values::strings")]
    pub accounts: Vec<String>,
    /// IP addresses or CIDR blocks (IPv4 or IPv6).
    #[serde(deserialize_with = "values::addresses")]
    pub addresses: Vec<Cidr>,
}

const ALLOW_ABOUT: &str = "\
Allow-lists for every detector: findings about these principals, roles, accounts or
addresses are dropped (addresses are also ignored by the address-based detectors).
principals: canonical origins or principal ARNs, e.g. \"arn:aws:iam::111111111111:user/ci-*\";
roles: role names or role ARNs, e.g. \"OrganizationAccountAccessRole\"; accounts: account ids,
e.g. \"111111111111\"; addresses: IP addresses or CIDR blocks, e.g. \"203.0.113.0/24\".";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoleChainDepth {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(deserialize_with = "values::int::<_, _, 1, 1000>")]
    pub min_depth: usize,
}

impl Default for RoleChainDepth {
    fn default() -> Self {
        RoleChainDepth {
            enabled: true,
            severity: Severity::Medium,
            min_depth: 4,
        }
    }
}

const ROLE_CHAIN_DEPTH_ABOUT: &str = "\
An issuance that creates a session at chain depth exactly min_depth (deeper sessions of the
same chain are not reported again).";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoleCycle {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
}

impl Default for RoleCycle {
    fn default() -> Self {
        RoleCycle {
            enabled: true,
            severity: Severity::High,
        }
    }
}

const ROLE_CYCLE_ABOUT: &str = "\
A role assumption whose role is already in the caller's chain (A>B>A refresh loops), once
per chain at the first repeat.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadCredentialExfiltration {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    /// A file in the public `ip-ranges.json` format (relative paths are resolved against the
    /// config file's directory).
    #[serde(
        deserialize_with = "values::file_path",
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_ip_ranges: Option<PathBuf>,
    /// Count private (RFC 1918, ULA, …) addresses as outside addresses. Off by default: the
    /// issue says private addresses never count. Useful on anonymised lab data.
    #[serde(deserialize_with = "values::boolean")]
    pub include_private: bool,
}

impl Default for WorkloadCredentialExfiltration {
    fn default() -> Self {
        WorkloadCredentialExfiltration {
            enabled: true,
            severity: Severity::High,
            aws_ip_ranges: None,
            include_private: false,
        }
    }
}

const WORKLOAD_ABOUT: &str = "\
A session issued to an AWS service workload (EC2 instance profile, Lambda, ECS, ...) used
from a public address outside AWS (first such event per session).
aws_ip_ranges: a file in the public ip-ranges.json format
(https://ip-ranges.amazonaws.com/ip-ranges.json), relative to this file's directory, e.g.
  aws_ip_ranges = \"ip-ranges.json\"
Unset: any public address other than the first public address the workload (same role +
session name) used counts as outside. include_private = true: private addresses count too
(anonymised lab data).";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionMultiIp {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(deserialize_with = "values::int::<_, _, 0, 32>")]
    pub prefix_len: u8,
    #[serde(with = "values::duration")]
    pub window: Millis,
    /// Consider private IPv4 addresses too (off by default: VPC endpoint traffic of the same
    /// key shows the private address next to the public one).
    #[serde(deserialize_with = "values::boolean")]
    pub include_private: bool,
}

impl Default for SessionMultiIp {
    fn default() -> Self {
        SessionMultiIp {
            enabled: true,
            severity: Severity::Medium,
            prefix_len: 16,
            window: 10 * 60_000,
            include_private: false,
        }
    }
}

const SESSION_MULTI_IP_ABOUT: &str = "\
A temporary key used from another /prefix_len network within `window` of a use from its
home address (the IPv4 address of its earliest event). include_private = true: private IPv4
addresses count as home or other addresses.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssumeRoleEnumeration {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(with = "values::duration")]
    pub max_gap: Millis,
    #[serde(deserialize_with = "values::int::<_, _, 1, { i64::MAX }>")]
    pub min_failures: usize,
    #[serde(deserialize_with = "values::int::<_, _, 0, { i64::MAX }>")]
    pub min_roles: usize,
}

impl Default for AssumeRoleEnumeration {
    fn default() -> Self {
        AssumeRoleEnumeration {
            enabled: true,
            severity: Severity::Medium,
            max_gap: 5 * 60_000,
            min_failures: 10,
            min_roles: 5,
        }
    }
}

const ASSUME_ROLE_ENUMERATION_ABOUT: &str = "\
Denied (AccessDenied) AssumeRole calls per caller ARN, split where the gap exceeds max_gap:
a group of at least min_failures failures on at least min_roles distinct roles.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FirstTimeAssumption {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
}

impl Default for FirstTimeAssumption {
    fn default() -> Self {
        FirstTimeAssumption {
            enabled: true,
            severity: Severity::Low,
        }
    }
}

const FIRST_TIME_ASSUMPTION_ABOUT: &str = "\
The first role assumption of an (origin, role) pair, at or after the end of the learning
period (service: and unknown: origins excluded).";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoMfaSensitive {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    /// Glob patterns on the role name (case-insensitive).
    #[serde(deserialize_with = "values::strings")]
    pub roles: Vec<String>,
}

impl Default for NoMfaSensitive {
    fn default() -> Self {
        NoMfaSensitive {
            enabled: true,
            severity: Severity::Medium,
            roles: vec!["*Admin*".into(), "BreakGlass*".into()],
        }
    }
}

const NO_MFA_SENSITIVE_ABOUT: &str = "\
A successful AssumeRole of a sensitive role without MFA (no serialNumber in the request and
the caller not MFA-authenticated). Patterns match the role name.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OffHours {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(deserialize_with = "values::windows")]
    pub windows: Vec<Window>,
    pub timezone: TimeZone,
}

impl Default for OffHours {
    fn default() -> Self {
        OffHours {
            enabled: true,
            severity: Severity::Low,
            windows: vec![
                Window::parse("Mon-Fri 20:00-07:00").expect("valid default"),
                Window::parse("Sat-Sun 00:00-24:00").expect("valid default"),
            ],
            timezone: TimeZone::utc(),
        }
    }
}

const OFF_HOURS_ABOUT: &str = "\
A role assumption made directly by an IAM user, root, or SAML / Identity Center origin inside
an off-hours window. Windows are weekly: \"<days> <HH:MM>-<HH:MM>\", days as \"Mon-Fri\",
\"Sat,Sun\" or \"Tue\"; an end before the start wraps past midnight (20:00-07:00 on a listed
day means from 20:00 or before 07:00 that day). Timezone: \"UTC\" or a fixed offset
such as \"+02:00\" or \"UTC-05:00\".";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExternalAccountAssumption {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(deserialize_with = "values::strings")]
    pub known_accounts: Vec<String>,
}

impl Default for ExternalAccountAssumption {
    fn default() -> Self {
        ExternalAccountAssumption {
            enabled: true,
            severity: Severity::High,
            known_accounts: Vec::new(),
        }
    }
}

const EXTERNAL_ACCOUNT_ABOUT: &str = "\
The first successful AssumeRole by a caller account whose logs are not in the input and
that is not in known_accounts (e.g. [\"111111111111\", \"222222222222\"]), at or after the end
of the learning period.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GetSessionTokenThenAssume {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
}

impl Default for GetSessionTokenThenAssume {
    fn default() -> Self {
        GetSessionTokenThenAssume {
            enabled: true,
            severity: Severity::Medium,
        }
    }
}

const GST_ABOUT: &str = "\
The first AssumeRole* call (denied or not) signed by a key that GetSessionToken issued.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationTokenPersistence {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
}

impl Default for FederationTokenPersistence {
    fn default() -> Self {
        FederationTokenPersistence {
            enabled: true,
            severity: Severity::High,
        }
    }
}

const FEDERATION_ABOUT: &str = "\
A GetFederationToken session used after the long-term key that requested it was deactivated
(UpdateAccessKey Inactive) or deleted (DeleteAccessKey).";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// End of the learning period; None = `baseline_fraction` of the input's time span.
    #[serde(with = "values::moment")]
    pub baseline_until: Option<Millis>,
    #[serde(deserialize_with = "values::fraction")]
    pub baseline_fraction: f64,
    #[serde(deserialize_with = "values::section")]
    pub allow: Allow,
    #[serde(deserialize_with = "values::section")]
    pub role_chain_depth: RoleChainDepth,
    #[serde(deserialize_with = "values::section")]
    pub role_cycle: RoleCycle,
    #[serde(deserialize_with = "values::section")]
    pub workload_credential_exfiltration: WorkloadCredentialExfiltration,
    #[serde(deserialize_with = "values::section")]
    pub session_multi_ip: SessionMultiIp,
    #[serde(deserialize_with = "values::section")]
    pub assume_role_enumeration: AssumeRoleEnumeration,
    #[serde(deserialize_with = "values::section")]
    pub first_time_assumption: FirstTimeAssumption,
    #[serde(deserialize_with = "values::section")]
    pub no_mfa_sensitive: NoMfaSensitive,
    #[serde(deserialize_with = "values::section")]
    pub off_hours: OffHours,
    #[serde(deserialize_with = "values::section")]
    pub external_account_assumption: ExternalAccountAssumption,
    #[serde(deserialize_with = "values::section")]
    pub getsessiontoken_then_assume: GetSessionTokenThenAssume,
    #[serde(deserialize_with = "values::section")]
    pub federation_token_persistence: FederationTokenPersistence,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            baseline_until: None,
            baseline_fraction: 0.7,
            allow: Allow::default(),
            role_chain_depth: Default::default(),
            role_cycle: Default::default(),
            workload_credential_exfiltration: Default::default(),
            session_multi_ip: Default::default(),
            assume_role_enumeration: Default::default(),
            first_time_assumption: Default::default(),
            no_mfa_sensitive: Default::default(),
            off_hours: Default::default(),
            external_account_assumption: Default::default(),
            getsessiontoken_then_assume: Default::default(),
            federation_token_persistence: Default::default(),
        }
    }
}

/// The top of the printed file.
const HEADER: &str = "\
trailgraph anomalies configuration (trailgraph anomalies --print-config prints the defaults).
Pass a file with any subset of these keys with --config FILE; unknown keys are an error.
Durations: \"30s\", \"10m\", \"1h\", \"1h30m\", \"1d\". Severities: info, low, medium, high, critical.
Glob patterns: \"*\" matches any run of characters, \"?\" one character (case-insensitive).
Every detector section has `enabled` (true/false) and `severity`. Semantics, every key and
its default: docs/anomalies.md.";

const BASELINE_ABOUT: &str = "\
End of the learning period used by first_time_assumption and external_account_assumption:
a date (\"2024-07-31\") or a time (\"2024-07-31T19:52:33Z\"), e.g.
  baseline_until = \"2024-07-31T00:00:00Z\"
Unset: the first `baseline_fraction` of the input's time span. --baseline-until overrides both.";

impl Config {
    /// The configuration as a TOML file that `parse_config` reads back to it: each section
    /// serialised, under a comment saying what it is for.
    pub fn to_toml(&self) -> String {
        #[derive(Serialize)]
        struct Top<'a> {
            #[serde(with = "values::moment", skip_serializing_if = "Option::is_none")]
            baseline_until: &'a Option<Millis>,
            baseline_fraction: f64,
        }
        let mut o = String::new();
        comment(&mut o, HEADER);
        o.push('\n');
        comment(&mut o, BASELINE_ABOUT);
        o.push_str(&to_toml(&Top {
            baseline_until: &self.baseline_until,
            baseline_fraction: self.baseline_fraction,
        }));
        section(&mut o, "allow", ALLOW_ABOUT, &self.allow);
        section(
            &mut o,
            "role_chain_depth",
            ROLE_CHAIN_DEPTH_ABOUT,
            &self.role_chain_depth,
        );
        section(&mut o, "role_cycle", ROLE_CYCLE_ABOUT, &self.role_cycle);
        section(
            &mut o,
            "workload_credential_exfiltration",
            WORKLOAD_ABOUT,
            &self.workload_credential_exfiltration,
        );
        section(
            &mut o,
            "session_multi_ip",
            SESSION_MULTI_IP_ABOUT,
            &self.session_multi_ip,
        );
        section(
            &mut o,
            "assume_role_enumeration",
            ASSUME_ROLE_ENUMERATION_ABOUT,
            &self.assume_role_enumeration,
        );
        section(
            &mut o,
            "first_time_assumption",
            FIRST_TIME_ASSUMPTION_ABOUT,
            &self.first_time_assumption,
        );
        section(
            &mut o,
            "no_mfa_sensitive",
            NO_MFA_SENSITIVE_ABOUT,
            &self.no_mfa_sensitive,
        );
        section(&mut o, "off_hours", OFF_HOURS_ABOUT, &self.off_hours);
        section(
            &mut o,
            "external_account_assumption",
            EXTERNAL_ACCOUNT_ABOUT,
            &self.external_account_assumption,
        );
        section(
            &mut o,
            "getsessiontoken_then_assume",
            GST_ABOUT,
            &self.getsessiontoken_then_assume,
        );
        section(
            &mut o,
            "federation_token_persistence",
            FEDERATION_ABOUT,
            &self.federation_token_persistence,
        );
        o
    }

    /// Resolves relative file paths against the config file's directory.
    fn resolve_paths(&mut self, base: &Path) {
        let p = &mut self.workload_credential_exfiltration.aws_ip_ranges;
        if let Some(r) = p.as_ref().filter(|r| r.is_relative()) {
            *p = Some(base.join(r));
        }
    }
}

/// What `--print-config` prints: the defaults.
pub fn default_toml() -> String {
    Config::default().to_toml()
}

fn to_toml<T: Serialize + ?Sized>(v: &T) -> String {
    toml::to_string(v).expect("the config serialises to TOML")
}

fn comment(o: &mut String, text: &str) {
    for line in text.lines() {
        o.push_str("# ");
        o.push_str(line);
        o.push('\n');
    }
}

/// A blank line, the comment, then `[name]` and its keys.
fn section<T: Serialize>(o: &mut String, name: &str, about: &str, v: &T) {
    o.push('\n');
    comment(o, about);
    o.push_str(&to_toml(&BTreeMap::from([(name, v)])));
}

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
    let doc = toml::de::Deserializer::parse(text).map_err(|e| {
        let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
        let msg = e.message().lines().next().unwrap_or("").trim().to_string();
        anyhow!("{name}: invalid TOML at line {line}, column {col}: {msg}")
    })?;
    let mut cfg: Config = serde_path_to_error::deserialize(doc).map_err(|e| {
        let key = e.path().to_string();
        let msg = e.inner().message();
        if msg.starts_with("unknown field `$__toml_private_datetime`") {
            // A TOML datetime where a section belongs reaches the section as a special table.
            let section = key.rsplit_once('.').map_or("", |k| k.0);
            let span = e.inner().span().unwrap_or_default();
            let value = text.get(span).unwrap_or("");
            anyhow!("{name}: `{section}` must be a table ([section]) (got a TOML datetime {value})")
        } else if msg.starts_with("unknown field") {
            anyhow!("{name}: unknown key `{key}` (see trailgraph anomalies --print-config)")
        } else {
            // The rest of the sentence from `values`: "must be …" or "entry …".
            anyhow!("{name}: `{key}` {msg}")
        }
    })?;
    if let Some(base) = base {
        cfg.resolve_paths(base);
    }
    Ok(cfg)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip() {
        let c = parse_config(&default_toml(), "defaults", None).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn any_config_round_trips() {
        let text = "baseline_until = \"2024-07-28\"\nbaseline_fraction = 0.5\n\
            [allow]\nprincipals = [\"arn:*\"]\naddresses = [\"203.0.113.0/24\", \"2001:db8:100::/48\", \"10.1.2.3\"]\n\
            [workload_credential_exfiltration]\naws_ip_ranges = \"/x/ip-ranges.json\"\ninclude_private = true\n\
            [session_multi_ip]\nprefix_len = 24\nwindow = \"1h30m15s\"\n\
            [assume_role_enumeration]\nmax_gap = \"90\"\nmin_roles = 0\n\
            [off_hours]\ntimezone = \"-05:30\"\nwindows = [\"Fri-Mon 12:00-13:00\"]\nseverity = \"critical\"\n\
            [role_cycle]\nenabled = false\n";
        let c = parse_config(text, "t", None).unwrap();
        assert_ne!(c, Config::default());
        let back = parse_config(&c.to_toml(), "printed", None).unwrap();
        assert_eq!(back, c);
    }
}
