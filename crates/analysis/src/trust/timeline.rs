//! The trust policy of each role over time: `CreateRole` (`assumeRolePolicyDocument`) and
//! `UpdateAssumeRolePolicy` (`policyDocument`) events of the logs, and the `--iam` snapshot.
//!
//! A change event dates its policy: it is in force from the event until the next change. The
//! snapshot (whose time is not recorded in the files) is taken as the latest state: it is in
//! force after the last change in the logs, and over the whole window when the logs change
//! nothing. It is rewound through the updates of the logs: before the first update the policy is
//! unknown (the update event holds only the new document), unless a `CreateRole` starts the
//! history (before it the role did not exist).

use super::policy::Policy;
use std::collections::BTreeMap;
use trailgraph_log::model::{arn_account, format_time, role_name, Millis};

/// Where a version of a policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The `--iam` file.
    Snapshot { file: String },
    /// A `CreateRole` or `UpdateAssumeRolePolicy` event.
    Event {
        name: String,
        event_id: String,
        time: Millis,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Snapshot { file } => write!(f, "snapshot {file}"),
            Source::Event {
                name,
                event_id,
                time,
            } => write!(f, "{name} {event_id} at {}", format_time(*time)),
        }
    }
}

/// One version of a role's trust policy.
#[derive(Debug, Clone)]
pub struct Version {
    /// In force from (None: since before the input).
    pub from: Option<Millis>,
    pub source: Source,
    pub policy: Policy,
}

/// A change event read from the logs.
#[derive(Debug, Clone)]
pub struct Change {
    pub role_arn: String,
    pub time: Millis,
    pub event_id: String,
    /// `CreateRole` or `UpdateAssumeRolePolicy`.
    pub name: String,
    pub policy: Policy,
}

/// The answer for one time.
#[derive(Debug, Clone, Copy)]
pub enum At<'a> {
    Policy(&'a Version),
    /// No policy is known at that time (why).
    Missing(&'static str),
}

#[derive(Debug, Clone, Default)]
pub struct RoleTimeline {
    pub arn: String,
    /// Versions in time order.
    pub versions: Vec<Version>,
    /// The first change of the logs is a CreateRole (before it the role did not exist).
    pub created_in_logs: bool,
    /// The snapshot differs from the last policy of the logs (the snapshot is older than the
    /// logs, or an update is missing from them).
    pub snapshot_differs: Option<String>,
}

impl RoleTimeline {
    /// The policy in force at `t`.
    pub fn at(&self, t: Millis) -> At<'_> {
        let mut found = None;
        for v in &self.versions {
            match v.from {
                None => found = Some(v),
                Some(f) if f <= t => found = Some(v),
                Some(_) => break,
            }
        }
        match found {
            Some(v) => At::Policy(v),
            None if self.created_in_logs => At::Missing("before the role was created"),
            None => At::Missing("before the first trust-policy update in the logs (the policy before it is not in the input)"),
        }
    }

    /// The latest version (what the role trusts now).
    pub fn current(&self) -> Option<&Version> {
        self.versions.last()
    }
}

/// Every role's timeline, by (account, role name lower case).
#[derive(Debug, Default)]
pub struct Timelines {
    pub roles: BTreeMap<(String, String), RoleTimeline>,
}

/// (account, lower-case role name) of a role ARN.
pub fn role_key(role_arn: &str) -> Option<(String, String)> {
    Some((
        arn_account(role_arn)?.to_string(),
        role_name(role_arn).to_ascii_lowercase(),
    ))
}

impl Timelines {
    /// From the snapshot's trust policies (`(role ARN, file, policy)`) and the change events.
    pub fn build(
        snapshot: impl IntoIterator<Item = (String, String, Policy)>,
        mut changes: Vec<Change>,
    ) -> Timelines {
        changes.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
        let mut roles: BTreeMap<(String, String), RoleTimeline> = BTreeMap::new();
        for c in changes {
            let Some(k) = role_key(&c.role_arn) else {
                continue;
            };
            let t = roles.entry(k).or_default();
            if t.arn.is_empty() {
                t.arn = c.role_arn.clone();
            }
            if t.versions.is_empty() && c.name == "CreateRole" {
                t.created_in_logs = true;
            }
            t.versions.push(Version {
                from: Some(c.time),
                source: Source::Event {
                    name: c.name,
                    event_id: c.event_id,
                    time: c.time,
                },
                policy: c.policy,
            });
        }
        for (arn, file, policy) in snapshot {
            let Some(k) = role_key(&arn) else { continue };
            let t = roles.entry(k).or_default();
            t.arn = arn;
            match t.versions.last() {
                None => t.versions.push(Version {
                    from: None,
                    source: Source::Snapshot { file },
                    policy,
                }),
                Some(last) if last.policy != policy => {
                    t.snapshot_differs = Some(format!(
                        "the trust policy in {file} differs from the last one of the logs ({}): the snapshot is older than the logs, or a change is missing from them; the logs' is used",
                        last.source
                    ));
                }
                Some(_) => {}
            }
        }
        Timelines { roles }
    }

    pub fn role(&self, role_arn: &str) -> Option<&RoleTimeline> {
        self.roles.get(&role_key(role_arn)?)
    }
}
