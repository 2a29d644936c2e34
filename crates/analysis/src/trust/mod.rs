//! Configured trust beside observed assumptions (issue 16).
//!
//! - `policy`: the IAM policy document (both encodings), written back as JSON, shown readably;
//! - `eval`: the evaluator (`evaluate(policy, context) -> Verdict`, allow / deny / unknown with
//!   the deciding statement and condition) and `harden(policy, condition) -> Policy`;
//! - `iam`: the `--iam` files (get-account-authorization-details in both encodings, get-role,
//!   list-roles, Organizations list-accounts / describe-organization) and the identity side;
//! - `observed`: every role assumption of the input with its request context, direct caller and
//!   origin, and the trust-policy changes of the logs (CreateRole, UpdateAssumeRolePolicy);
//! - `timeline`: each role's trust policy over time (the snapshot rewound through the logs);
//! - `roles`: `trust`'s table (trusted, observed, findings);
//! - `whatif`: the observed assumptions judged against hardened policies (and `--hours`).
//!
//! The API a later `whatif` uses: `roles::TrustInput::new(scan, Iam::read(paths))` reads
//! everything; each `observed.assumptions[i]` has its `context` (request context, identity side
//! filled), direct caller and origin; `TrustInput::policy_at(role, time)` gives the policy in
//! force at its time; `harden` ANDs the new condition into every Allow statement; `evaluate`
//! answers with the deciding statement and condition.

pub mod eval;
pub mod iam;
pub mod observed;
pub mod policy;
pub mod roles;
pub mod timeline;
pub mod whatif;

pub use eval::{evaluate, harden, Caller, CallerKind, Context, Decision, Side, Value, Verdict};
pub use iam::{Iam, IamProblem};
pub use policy::{Condition, Effect, Names, Policy, PrincipalBlock, Principals, Statement};
pub use roles::{trust_frame, TrustInput};
pub use timeline::At;
pub use whatif::{whatif, whatif_frame, Hardening, Hours, Mfa, RoleWhatif, Zone};

#[cfg(test)]
mod tests;
