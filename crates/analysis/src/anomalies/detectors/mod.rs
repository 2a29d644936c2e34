//! The detectors: one file each, one line each in `registry!` below.
//!
//! A detector is its config section: a serde struct with `deny_unknown_fields` whose first
//! two fields are `enabled` and `severity` and whose `Default` holds its defaults, and which
//! implements `Detector`. The registry line `section_name: TypeName` makes the rest:
//! `Kind::TypeName` (whose string is `section_name`: the `kind` column and the config
//! section), the `[section_name]` field of `Config`, its place in `--print-config` and in
//! the run. To add a detector:
//!
//! 1. write `detectors/<section_name>.rs` (copy the closest one);
//! 2. add its `mod` line and its registry line here (the registry order is the order of the
//!    docs, of `--print-config` and of `Kind::ALL`);
//! 3. document it in docs/anomalies.md: a `### N. \`section_name\`` section with every key,
//!    and its row in the detectors table.

use super::config::Config;
use super::context::{Context, Out};
use super::Finding;
use anyhow::Result;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;

mod assume_role_enumeration;
mod external_account_assumption;
mod federation_token_persistence;
mod first_time_assumption;
mod getsessiontoken_then_assume;
mod no_mfa_sensitive;
mod off_hours;
mod role_chain_depth;
mod role_cycle;
mod session_multi_ip;
mod workload_credential_exfiltration;

/// Calls `$then!` with every detector, as `section_name: TypeName`, in documentation order.
macro_rules! registry {
    ($then:ident) => {
        $then! {
            role_chain_depth: RoleChainDepth,
            role_cycle: RoleCycle,
            workload_credential_exfiltration: WorkloadCredentialExfiltration,
            session_multi_ip: SessionMultiIp,
            assume_role_enumeration: AssumeRoleEnumeration,
            first_time_assumption: FirstTimeAssumption,
            no_mfa_sensitive: NoMfaSensitive,
            off_hours: OffHours,
            external_account_assumption: ExternalAccountAssumption,
            getsessiontoken_then_assume: GetSessionTokenThenAssume,
            federation_token_persistence: FederationTokenPersistence,
        }
    };
}
pub(super) use registry;

/// A detector, implemented by its config section (see the module doc).
pub(super) trait Detector: Default + Serialize + DeserializeOwned {
    /// What it reports, as the comment above its section in `--print-config` (plain lines;
    /// keys that are unset by default are shown here as examples). The full semantics are in
    /// docs/anomalies.md.
    const ABOUT: &'static str;

    /// Appends its findings, in any order (`detect` sorts them), to `out`, which puts this
    /// detector's kind and severity on them and drops what the allow-lists cover. Only called
    /// when `enabled` is true.
    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()>;

    /// Resolves relative file paths of its keys against the config file's directory.
    fn resolve_paths(&mut self, _base: &Path) {}
}

macro_rules! kinds {
    ($($section:ident: $T:ident),* $(,)?) => {
        $(pub use $section::$T;)*

        /// What kind of finding: one per detector. `as_str` (its only spelling) is the `kind`
        /// column, the detector's config section and its name in docs/anomalies.md. Ordered by
        /// that string, as the output is.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind {
            $($T),*
        }

        impl Kind {
            /// Every kind, in documentation order.
            pub const ALL: [Kind; [$(stringify!($section)),*].len()] = [$(Kind::$T),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$T => stringify!($section)),*
                }
            }
        }

        /// Runs every enabled detector (findings unsorted).
        pub(super) fn run(cfg: &Config, cx: &Context, found: &mut Vec<Finding>) -> Result<()> {
            $(
                let d = &cfg.$section;
                if d.enabled {
                    d.detect(cx, &mut Out::new(Kind::$T, d.severity, &cfg.allow, found))?;
                }
            )*
            Ok(())
        }
    };
}
registry!(kinds);

/// The detector section names, in documentation order.
pub const KINDS: [Kind; Kind::ALL.len()] = Kind::ALL;

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Ord for Kind {
    fn cmp(&self, other: &Kind) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Kind) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
