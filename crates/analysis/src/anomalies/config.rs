//! The detector configuration: a TOML file whose every number, list and window is a key. Each
//! section is a serde struct with `deny_unknown_fields` whose `Default` holds its defaults (the
//! only place they are written); how each key's value is read is in `values`. A bad file gives a
//! one-line error naming the file and the dotted key. `--print-config` prints
//! `Config::default().to_toml()`: the defaults serialised, with a comment above each section.

use super::detectors::{self, Detector};
use super::net::Cidr;
use super::values;
use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
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
e.g. \"111111111111\"; addresses: IP addresses or CIDR blocks, e.g. \"203.0.113.0/24\",
\"2001:db8::/32\".";

macro_rules! config {
    ($($section:ident: $T:ident),* $(,)?) => {
        /// The whole configuration: the learning period, the allow-lists, and one section per
        /// detector (its type is the detector, in `detectors`).
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
            $(
                #[serde(deserialize_with = "values::section")]
                pub $section: detectors::$T,
            )*
        }

        impl Default for Config {
            fn default() -> Config {
                Config {
                    baseline_until: None,
                    baseline_fraction: 0.7,
                    allow: Allow::default(),
                    $($section: Default::default(),)*
                }
            }
        }

        impl Config {
            /// Each detector's section, under its `ABOUT`.
            fn print_detectors(&self, o: &mut String) {
                $(
                    section(o, stringify!($section), <detectors::$T as Detector>::ABOUT, &self.$section);
                )*
            }

            /// Resolves relative file paths against the config file's directory.
            fn resolve_paths(&mut self, base: &Path) {
                $(self.$section.resolve_paths(base);)*
            }
        }
    };
}
detectors::registry!(config);

/// The top of the printed file.
const HEADER: &str = "\
trailgraph anomalies configuration (trailgraph anomalies --print-config prints the defaults).
Pass a file with any subset of these keys with --config FILE; unknown keys are an error.
Durations: \"30s\", \"10m\", \"1h\", \"1h30m\", \"1d\". Severities: info, low, medium, high, critical.
Glob patterns: \"*\" matches any run of characters, \"?\" one character (case-insensitive).
Every detector section has `enabled` (true/false) and `severity`. Semantics, every key and
its default: docs/anomalies.md.";

const BASELINE_ABOUT: &str = "\
End of the learning period used by first_time_assumption, external_account_assumption and
long_term_key_new_network: a date (\"2024-07-31\") or a time (\"2024-07-31T19:52:33Z\"), e.g.
  baseline_until = \"2024-07-31T00:00:00Z\"
Unset: the first `baseline_fraction` of the input's time span. --baseline-until overrides both.";

impl Config {
    /// The configuration as a TOML file that `parse_config` reads back to it: each section
    /// serialised, under a comment saying what it is for.
    pub(crate) fn to_toml(&self) -> String {
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
        self.print_detectors(&mut o);
        o
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

    fn repo_file(path: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path)
    }

    #[test]
    fn example_configs_load_and_round_trip() {
        for f in [
            "docs/anomalies.example.toml",
            "testdata/anomalies/workload_credential_exfiltration_ranges/config.toml",
        ] {
            let c = load_config(Some(&repo_file(f))).unwrap();
            assert_ne!(c, Config::default(), "{f}");
            assert_eq!(parse_config(&c.to_toml(), f, None).unwrap(), c, "{f}");
        }
    }

    /// docs/anomalies.md names every key of every section in that section's part of the page
    /// (the detector's `### N. \`kind\`` section, the allow-list section), before the
    /// embedded `--print-config` output.
    #[test]
    fn docs_name_every_key_in_its_section() {
        let md = std::fs::read_to_string(repo_file("docs/anomalies.md")).unwrap();
        let reference = &md[..md.find("```toml").unwrap()];
        let section_of = |name: &str| -> &str {
            let start = if name == "allow" {
                reference.find("\n## Allow-lists").unwrap()
            } else {
                reference
                    .find(&format!(". `{name}`\n"))
                    .unwrap_or_else(|| panic!("no `### N. \\`{name}\\`` section"))
            };
            let rest = &reference[start + 1..];
            &rest[..rest.find("\n#").unwrap_or(rest.len())]
        };
        // Keys that are unset by default are not printed: set them.
        let mut c = Config {
            baseline_until: Some(0),
            ..Config::default()
        };
        c.workload_credential_exfiltration.aws_ip_ranges = Some("ip-ranges.json".into());
        let all: toml::Table = toml::from_str(&c.to_toml()).unwrap();
        for (name, value) in &all {
            let toml::Value::Table(keys) = value else {
                assert!(reference.contains(&format!("`{name}`")), "{name}");
                continue;
            };
            let text = section_of(name);
            for key in keys.keys() {
                let general = key == "enabled" || key == "severity";
                let doc = if general { reference } else { text };
                assert!(
                    doc.contains(&format!("`{key}`")) || doc.contains(&format!("`{key} = ")),
                    "`{name}.{key}` documented"
                );
            }
        }
    }
}
