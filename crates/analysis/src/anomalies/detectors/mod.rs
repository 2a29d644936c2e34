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
//!
//! A detector that judges sessions, chains or issuance calls implements `detect`. One that
//! follows events implements `reader` instead: its `Reader` is handed every slice of events
//! (in no particular order: `Rows::position` orders rows) in the one pass that all readers
//! share, keeps what it needs per session, key or workload (never per event: what must be
//! walked in time order goes through `TimeOrdered`), and reports in `finish`.

use super::config::Config;
use super::context::{Context, Facts, Out};
use super::events::Rows;
use super::{Finding, Severity};
use anyhow::Result;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;

mod api_enumeration_burst;
mod assume_role_enumeration;
mod console_login_without_mfa;
mod external_account_assumption;
mod federation_token_persistence;
mod first_time_assumption;
mod getsessiontoken_then_assume;
mod long_term_key_new_network;
mod no_mfa_sensitive;
mod off_hours;
mod persistence_credential_created;
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
            api_enumeration_burst: ApiEnumerationBurst,
            long_term_key_new_network: LongTermKeyNewNetwork,
            console_login_without_mfa: ConsoleLoginWithoutMfa,
            persistence_credential_created: PersistenceCredentialCreated,
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
    /// when `enabled` is true, after the pass over the events (the facts of `cx` are set).
    fn detect(&self, _cx: &Context, _out: &mut Out) -> Result<()> {
        Ok(())
    }

    /// For a detector that follows events: what reads them (None: nothing to follow in this
    /// input). Called before the pass over the events: the facts of `cx` are not set yet.
    fn reader<'a>(&'a self, _cx: &Context<'a>) -> Result<Option<Box<dyn Reader + 'a>>> {
        Ok(None)
    }

    /// Resolves relative file paths of its keys against the config file's directory.
    fn resolve_paths(&mut self, _base: &Path) {}
}

/// What a detector that follows events keeps while they pass (see the module doc).
pub(super) trait Reader: Send {
    /// The events columns `visit` reads.
    fn columns(&self) -> &'static [&'static str];

    /// Reads one slice of events.
    fn visit(&mut self, rows: &Rows) -> Result<()>;

    /// After the last slice (the facts of `cx` are set): appends its findings to `out`.
    fn finish(self: Box<Self>, cx: &Context, out: &mut Out) -> Result<()>;
}

/// The one pass over the events: `for_each` hands over every slice, as `Rows`.
pub(super) type Pass<'p> =
    dyn FnMut(&[&str], &mut (dyn FnMut(&Rows) -> Result<()> + Send)) -> Result<()> + 'p;

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

        /// Runs every enabled detector (findings unsorted): the readers of the enabled
        /// detectors that follow events and the facts of `cx` in one pass over the events
        /// (`pass`), then every detector.
        pub(super) fn run(
            cfg: &Config,
            cx: &mut Context,
            pass: &mut Pass,
            found: &mut Vec<Finding>,
        ) -> Result<()> {
            let mut readers: Vec<(Kind, Severity, Box<dyn Reader + '_>)> = Vec::new();
            $(
                let d = &cfg.$section;
                if d.enabled {
                    if let Some(r) = d.reader(cx)? {
                        readers.push((Kind::$T, d.severity, r));
                    }
                }
            )*
            let mut facts = Facts::default();
            let mut columns: Vec<&str> = Facts::COLUMNS.to_vec();
            for (_, _, r) in &readers {
                columns.extend(r.columns());
            }
            columns.sort_unstable();
            columns.dedup();
            pass(&columns, &mut |rows| {
                facts.visit(rows)?;
                for (_, _, r) in readers.iter_mut() {
                    r.visit(rows)?;
                }
                Ok(())
            })?;
            cx.set_facts(facts, cfg);
            $(
                let d = &cfg.$section;
                if d.enabled {
                    d.detect(cx, &mut Out::new(Kind::$T, d.severity, &cfg.allow, found))?;
                }
            )*
            for (kind, severity, r) in readers {
                r.finish(cx, &mut Out::new(kind, severity, &cfg.allow, found))?;
            }
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
