//! Configured trust beside observed assumptions (issue 16).
//!
//! - `policy`: the IAM policy document (both encodings), written back as JSON, shown readably;
//! - `eval`: the evaluator (`evaluate(policy, context) -> Verdict`, allow / deny / unknown with
//!   the deciding statement and condition) and `harden(policy, condition) -> Policy`.
//!
//! The API a later `whatif` uses: `observed::Assumption::context` builds the request
//! context of an observed call, `timeline::Timelines::policy_at` gives the policy in force at its
//! time, `harden` ANDs the new condition into every Allow statement, `evaluate` answers.

pub mod eval;
pub mod policy;

pub use eval::{evaluate, harden, Caller, CallerKind, Context, Decision, Side, Value, Verdict};
pub use policy::{Condition, Effect, Names, Policy, PrincipalBlock, Principals, Statement};

#[cfg(test)]
mod tests;
