//! The evaluator: a policy against one request, three-valued (allow / deny / unknown), with the
//! statement and condition that decided.
//!
//! Semantics (each with the AWS page it follows; the unit tests in `tests.rs` cite them too):
//! - Evaluation logic, explicit Deny over Allow, default deny:
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html>
//! - A role trust policy must allow; naming the caller (user, role, session ARN, unique id) is
//!   enough in the same account; naming an account (id or `:root`) delegates to that account, so
//!   the caller's identity policy must allow as well; a caller in another account always needs
//!   its identity policy too:
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>,
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>
//! - `NotPrincipal`: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html>
//! - `Action` / `NotAction`, with `sts:TagSession` (session tags) and `sts:SetSourceIdentity`
//!   (a source identity) authorised separately:
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required>,
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html>
//! - Condition operators, `…IfExists`, `Null`, the missing-key rule (a missing key makes a
//!   condition false, except for negated operators, which are true):
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>
//! - Several operators, keys: AND; several values: OR (NOR for negated operators);
//!   `ForAnyValue:` / `ForAllValues:` (`ForAllValues` true for a missing or empty key):
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html>,
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>
//!
//! What trailgraph cannot see is `unknown`, never `deny`: a key the request context does not
//! record (`Value::Unknown`, or a key never set), an action that may have been requested, or an
//! identity policy that is not in `--iam`. Policy variables (`${aws:username}`) are compared as
//! written. Permissions boundaries, SCPs and session policies are not evaluated.

use super::policy::{Condition, Effect, Names, Policy, PrincipalBlock, Principals, Statement};
use crate::anomalies::{parse_addr, Cidr};
use std::collections::BTreeMap;
use trailgraph_log::model::{arn_account, parse_time, Millis};

/// Allow, deny, or cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decision {
    Allow,
    Deny,
    Unknown,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Unknown => "unknown",
        }
    }
}

/// The answer for one request, with what decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    /// The deciding statement (0-based index into `Policy::statements`): the Allow that
    /// allowed, the Deny that denied, the statement whose condition failed or was unknown.
    /// None when no statement named the caller.
    pub statement: Option<usize>,
    pub sid: Option<String>,
    /// The deciding condition (`Bool aws:MultiFactorAuthPresent`), or, for unknown, the key
    /// or side that was missing (`aws:PrincipalOrgID`, `identity policy of 111122223333`).
    pub reason: String,
    /// Plain words: why.
    pub detail: String,
    /// The account whose identity policy was needed and not available (unknown verdicts).
    pub needs_identity: Option<String>,
}

/// A context value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// The key is in the request context, with these values (one for single-valued keys).
    Present(Vec<String>),
    /// The key is known to be absent from the request context.
    Absent,
    /// Whether the key was present, or its value, cannot be told from the input (why).
    Unknown(String),
}

/// Who is calling, as the Principal element is matched against it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub kind: CallerKind,
    /// userIdentity.arn: the user, root, session or federated-user ARN.
    pub arn: Option<String>,
    pub account: Option<String>,
    /// userIdentity.principalId (`AIDA…`, `AROA…:session`).
    pub principal_id: Option<String>,
    /// For a role session: the role (sessionIssuer ARN, with its path).
    pub role_arn: Option<String>,
    /// For a service: the service principal (`ec2.amazonaws.com`).
    pub service: Option<String>,
    /// For AssumeRoleWithSAML / WithWebIdentity: the identity provider (SAML provider ARN,
    /// OIDC provider ARN or host such as `accounts.google.com`).
    pub provider: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CallerKind {
    IamUser,
    AssumedRole,
    Root,
    FederatedUser,
    Service,
    /// AssumeRoleWithSAML: the caller is the SAML provider's user.
    Saml,
    /// AssumeRoleWithWebIdentity.
    WebIdentity,
    #[default]
    Unknown,
}

/// The caller's own side of a delegation (its identity policy allowing the action on the role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    Allow,
    Deny(String),
    Unknown(String),
}

/// One request: the action(s), the role, the caller and the condition keys.
#[derive(Debug, Clone)]
pub struct Context {
    /// The call: `sts:AssumeRole`, `sts:AssumeRoleWithSAML`, `sts:AssumeRoleWithWebIdentity`.
    pub action: String,
    /// Further actions the same call needs authorised: `sts:TagSession` when session tags are
    /// passed, `sts:SetSourceIdentity` when a source identity is set.
    pub also: Vec<String>,
    /// Actions that may have been needed (the payload that says was not read), with why.
    pub maybe: Vec<(String, String)>,
    /// The role ARN (the resource).
    pub resource: String,
    pub caller: Caller,
    /// The caller's identity policy's answer, used when the trust policy delegates to the
    /// caller's account (trust in an account) or the caller is in another account.
    pub identity: Side,
    /// Condition keys, lower case.
    values: BTreeMap<String, Value>,
}

impl Context {
    pub fn new(action: &str, resource: &str, caller: Caller) -> Context {
        Context {
            action: action.to_string(),
            also: Vec::new(),
            maybe: Vec::new(),
            resource: resource.to_string(),
            caller,
            identity: Side::Unknown("the caller's identity policy is not known".into()),
            values: BTreeMap::new(),
        }
    }

    /// Sets a key (any case) to one value.
    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.put(key, Value::Present(vec![value.to_string()]))
    }

    /// Sets a key to several values (multi-valued keys such as `aws:TagKeys`).
    pub fn set_many(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.put(key, Value::Present(values))
    }

    /// Records a key as absent.
    pub fn absent(&mut self, key: &str) -> &mut Self {
        self.put(key, Value::Absent)
    }

    /// Records a key as not observable, with why.
    pub fn unknown(&mut self, key: &str, why: &str) -> &mut Self {
        self.put(key, Value::Unknown(why.to_string()))
    }

    pub fn put(&mut self, key: &str, v: Value) -> &mut Self {
        self.values.insert(key.to_ascii_lowercase(), v);
        self
    }

    /// A key's value. A key never set is unknown, unless it is a tag key of a family whose
    /// whole set is known (`aws:RequestTag/…` once `aws:TagKeys` is set, `aws:PrincipalTag/…`
    /// once the principal's tags are): then it is absent.
    pub fn value(&self, key: &str) -> Value {
        let k = key.to_ascii_lowercase();
        if let Some(v) = self.values.get(&k) {
            return v.clone();
        }
        for (family, marker) in [
            ("aws:requesttag/", "aws:tagkeys"),
            ("aws:principaltag/", PRINCIPAL_TAGS_KNOWN),
        ] {
            if k.starts_with(family) {
                return match self.values.get(marker) {
                    Some(Value::Present(_)) | Some(Value::Absent) => Value::Absent,
                    Some(Value::Unknown(why)) => Value::Unknown(why.clone()),
                    None => Value::Unknown(format!("{key} is not recorded in CloudTrail")),
                };
            }
        }
        Value::Unknown(format!("{key} is not recorded in CloudTrail"))
    }

    /// The principal's tags are known (every `aws:PrincipalTag/…` not set is absent).
    pub fn principal_tags_known(&mut self) -> &mut Self {
        self.put(PRINCIPAL_TAGS_KNOWN, Value::Absent)
    }

    /// Every key set, lower case, with its value (sorted).
    pub fn values(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values
            .iter()
            .filter(|(k, _)| k.as_str() != PRINCIPAL_TAGS_KNOWN)
            .map(|(k, v)| (k.as_str(), v))
    }
}

/// Internal marker key (not a valid IAM key: it has a space).
const PRINCIPAL_TAGS_KNOWN: &str = "principal tags known";

/// Three-valued truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    T,
    F,
    U,
}

/// `policy` with `condition` ANDed into every Allow statement (Deny statements are left as they
/// are: a condition on a Deny would narrow it). What `whatif` evaluates and prints.
pub fn harden(policy: &Policy, condition: &Condition) -> Policy {
    let mut p = policy.clone();
    for s in &mut p.statements {
        if s.effect == Effect::Allow && !s.conditions.contains(condition) {
            s.conditions.push(condition.clone());
        }
    }
    p
}

/// The policy's verdict on the request. The call's own action decides unless a further
/// action it needs (`sts:TagSession`, `sts:SetSourceIdentity`) is denied or unknown.
pub fn evaluate(policy: &Policy, ctx: &Context) -> Verdict {
    let main = evaluate_action(policy, ctx, &ctx.action);
    if main.decision == Decision::Deny {
        return main;
    }
    let mut worst = main;
    for a in &ctx.also {
        let v = evaluate_action(policy, ctx, a);
        if v.decision == Decision::Deny {
            return v;
        }
        if v.decision == Decision::Unknown && worst.decision == Decision::Allow {
            worst = v;
        }
    }
    for (a, why) in &ctx.maybe {
        let v = evaluate_action(policy, ctx, a);
        if v.decision != Decision::Allow && worst.decision == Decision::Allow {
            worst = Verdict {
                decision: Decision::Unknown,
                reason: a.clone(),
                detail: format!(
                    "{a} would be {} ({}) if the call needed it: {why}",
                    v.decision.as_str(),
                    v.reason
                ),
                ..v
            };
        }
    }
    worst
}

/// One statement's match against the request.
struct Match {
    /// Principal, action, resource, conditions together.
    all: Tri,
    /// The principal matched through an account (id or `:root`): the identity side decides too.
    via_account: bool,
    /// Which part decided a non-T result: the condition label, or a description.
    why: String,
    detail: String,
    principal: Tri,
    action: bool,
}

fn evaluate_action(policy: &Policy, ctx: &Context, action: &str) -> Verdict {
    let mut deny_unknown: Option<(usize, Match)> = None;
    let mut allow: Option<(usize, Match)> = None;
    let mut allow_unknown: Option<(usize, Match)> = None;
    // The closest miss: an Allow naming the caller and the action whose condition failed.
    let mut near: Option<(usize, Match)> = None;
    let mut principal_named = false;
    for (i, s) in policy.statements.iter().enumerate() {
        let m = statement_match(s, ctx, action);
        match (s.effect, m.all) {
            (Effect::Deny, Tri::T) => {
                return Verdict {
                    decision: Decision::Deny,
                    statement: Some(i),
                    sid: s.sid.clone(),
                    reason: "explicit Deny".into(),
                    detail: format!("denied by statement {} ({})", i + 1, s.describe()),
                    needs_identity: None,
                };
            }
            (Effect::Deny, Tri::U) => {
                if deny_unknown.is_none() {
                    deny_unknown = Some((i, m));
                }
            }
            (Effect::Allow, Tri::T) => {
                // Prefer a statement that needs no identity side.
                let better = match &allow {
                    None => true,
                    Some((_, a)) => a.via_account && !m.via_account,
                };
                if better {
                    allow = Some((i, m));
                }
            }
            (Effect::Allow, Tri::U) => {
                if allow_unknown.is_none() {
                    allow_unknown = Some((i, m));
                }
            }
            (Effect::Allow, Tri::F) => {
                if m.principal == Tri::T {
                    principal_named = true;
                    if m.action && near.is_none() {
                        near = Some((i, m));
                    }
                }
            }
            (Effect::Deny, Tri::F) => {}
        }
    }
    let stmt = |i: usize| policy.statements[i].sid.clone();
    if let Some((i, m)) = deny_unknown {
        return Verdict {
            decision: Decision::Unknown,
            statement: Some(i),
            sid: stmt(i),
            reason: m.why,
            detail: format!("the Deny of statement {} may apply: {}", i + 1, m.detail),
            needs_identity: None,
        };
    }
    if let Some((i, m)) = allow {
        let cross =
            ctx.caller.account.as_deref().is_some_and(|a| {
                arn_account(&ctx.resource).is_some_and(|r| !r.is_empty() && r != a)
            });
        let delegated = matches!(
            ctx.caller.kind,
            CallerKind::IamUser
                | CallerKind::AssumedRole
                | CallerKind::FederatedUser
                | CallerKind::Root
                | CallerKind::Unknown
        ) && (m.via_account || cross);
        if !delegated {
            return Verdict {
                decision: Decision::Allow,
                statement: Some(i),
                sid: stmt(i),
                reason: m.why,
                detail: format!("allowed by statement {}", i + 1),
                needs_identity: None,
            };
        }
        let account = ctx.caller.account.clone().unwrap_or_default();
        let how = if m.via_account {
            "the trust names the caller's account"
        } else {
            "the caller is in another account"
        };
        return match &ctx.identity {
            Side::Allow => Verdict {
                decision: Decision::Allow,
                statement: Some(i),
                sid: stmt(i),
                reason: m.why,
                detail: format!(
                    "allowed by statement {} and by the identity policy of account {account} ({how})",
                    i + 1
                ),
                needs_identity: None,
            },
            Side::Deny(why) => Verdict {
                decision: Decision::Deny,
                statement: Some(i),
                sid: stmt(i),
                reason: format!("identity policy of {account}"),
                detail: format!(
                    "statement {} allows, but {how} and its identity policy does not: {why}",
                    i + 1
                ),
                needs_identity: None,
            },
            Side::Unknown(why) => Verdict {
                decision: Decision::Unknown,
                statement: Some(i),
                sid: stmt(i),
                reason: format!("identity policy of {account}"),
                detail: format!(
                    "statement {} allows, but {how} and its identity policy is needed: {why}",
                    i + 1
                ),
                needs_identity: Some(account),
            },
        };
    }
    if let Some((i, m)) = allow_unknown {
        return Verdict {
            decision: Decision::Unknown,
            statement: Some(i),
            sid: stmt(i),
            reason: m.why,
            detail: format!("statement {} may allow: {}", i + 1, m.detail),
            needs_identity: None,
        };
    }
    if let Some((i, m)) = near {
        return Verdict {
            decision: Decision::Deny,
            statement: Some(i),
            sid: stmt(i),
            reason: m.why,
            detail: format!("statement {} names the caller, but {}", i + 1, m.detail),
            needs_identity: None,
        };
    }
    Verdict {
        decision: Decision::Deny,
        statement: None,
        sid: None,
        reason: if principal_named {
            format!("no Allow for {action}")
        } else {
            "principal not trusted".into()
        },
        detail: if principal_named {
            format!("no statement naming the caller allows {action}")
        } else {
            format!(
                "no Allow statement names the caller ({})",
                ctx.caller
                    .arn
                    .as_deref()
                    .or(ctx.caller.service.as_deref())
                    .or(ctx.caller.provider.as_deref())
                    .unwrap_or("unknown caller")
            )
        },
        needs_identity: None,
    }
}

fn statement_match(s: &Statement, ctx: &Context, action: &str) -> Match {
    let (principal, via_account) = match &s.principal {
        // An identity policy: the principal is whoever it is attached to.
        PrincipalBlock::None => (Tri::T, false),
        PrincipalBlock::Principal(p) => principal_match(p, &ctx.caller),
        PrincipalBlock::NotPrincipal(p) => {
            let (m, _) = principal_match(p, &ctx.caller);
            (not(m), false)
        }
    };
    let action_ok = names_match(&s.action, action, false);
    let resource_ok = s
        .resource
        .as_ref()
        .is_none_or(|r| names_match(r, &ctx.resource, true));
    let mut m = Match {
        all: Tri::T,
        via_account,
        why: String::new(),
        detail: String::new(),
        principal,
        action: action_ok,
    };
    if principal == Tri::F {
        m.all = Tri::F;
        m.why = "principal not trusted".into();
        m.detail = "the principal does not match".into();
        return m;
    }
    if !action_ok || !resource_ok {
        m.all = Tri::F;
        m.why = if action_ok {
            "resource".into()
        } else {
            format!("no Allow for {action}")
        };
        m.detail = format!("the statement does not cover {action} on {}", ctx.resource);
        return m;
    }
    if principal == Tri::U {
        m.all = Tri::U;
        m.why = "caller identity".into();
        m.detail = "the caller's identity is not recorded".into();
    }
    for c in &s.conditions {
        let (t, detail) = condition(c, ctx);
        match t {
            Tri::T => {}
            Tri::F => {
                m.all = Tri::F;
                m.why = c.label();
                m.detail = format!("{c} is false: {detail}");
                return m;
            }
            Tri::U => {
                if m.all == Tri::T {
                    m.all = Tri::U;
                    m.why = detail_key(c, ctx);
                    m.detail = format!("{c} cannot be evaluated: {detail}");
                }
            }
        }
    }
    m
}

/// The key that made a condition unknown (what an unknown verdict names).
fn detail_key(c: &Condition, _ctx: &Context) -> String {
    c.key.clone()
}

fn not(t: Tri) -> Tri {
    match t {
        Tri::T => Tri::F,
        Tri::F => Tri::T,
        Tri::U => Tri::U,
    }
}

/// `Action`/`Resource` match: case-insensitive for actions, case-sensitive for resources;
/// `*` and `?` wildcards.
fn names_match(n: &Names, value: &str, case_sensitive: bool) -> bool {
    let any = |v: &Vec<String>| v.iter().any(|p| glob(p, value, case_sensitive));
    match n {
        Names::Is(v) => any(v),
        Names::Not(v) => !any(v),
    }
}

/// The account id of an `AWS` principal value that names a whole account (`123456789012`,
/// `arn:aws:iam::123456789012:root`), if it does.
pub fn principal_account(value: &str) -> Option<&str> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value);
    }
    let rest = value.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (service == "iam" && resource == "root").then_some(account)
}

/// Does an `AWS` principal value name this caller? (T/F/U, and whether through its account.)
pub fn aws_principal_matches(value: &str, c: &Caller) -> (Tri3, bool) {
    let (t, via) = aws_value(value, c);
    (t.into(), via)
}

/// A public three-valued answer (for callers outside the evaluator: unused-trust matching).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri3 {
    Yes,
    No,
    Unknown,
}

impl From<Tri> for Tri3 {
    fn from(t: Tri) -> Tri3 {
        match t {
            Tri::T => Tri3::Yes,
            Tri::F => Tri3::No,
            Tri::U => Tri3::Unknown,
        }
    }
}

/// Does a principal of type `kind` (`AWS`, `Service`, `Federated`, `CanonicalUser`) and value
/// name this caller?
pub fn principal_value_matches(kind: &str, value: &str, c: &Caller) -> (Tri3, bool) {
    let (t, via) = principal_value(kind, value, c);
    (t.into(), via)
}

fn principal_match(p: &Principals, c: &Caller) -> (Tri, bool) {
    match p {
        Principals::Any => (Tri::T, false),
        Principals::Map(m) => {
            let mut best = (Tri::F, false);
            for (kind, values) in m {
                for v in values {
                    let r = principal_value(kind, v, c);
                    match (r.0, best.0) {
                        // A direct match beats one through the account.
                        (Tri::T, Tri::T) if best.1 && !r.1 => best = r,
                        (Tri::T, Tri::T) => {}
                        (Tri::T, _) => best = r,
                        (Tri::U, Tri::F) => best = r,
                        _ => {}
                    }
                }
            }
            best
        }
    }
}

fn principal_value(kind: &str, value: &str, c: &Caller) -> (Tri, bool) {
    match kind {
        "AWS" => aws_value(value, c),
        "Service" => match c.kind {
            CallerKind::Service => match &c.service {
                Some(s) => (tri(s.eq_ignore_ascii_case(value)), false),
                None => (Tri::U, false),
            },
            _ => (Tri::F, false),
        },
        "Federated" => match c.kind {
            CallerKind::Saml | CallerKind::WebIdentity => match &c.provider {
                Some(p) => (tri(provider_matches(value, p)), false),
                None => (Tri::U, false),
            },
            _ => (Tri::F, false),
        },
        _ => (Tri::F, false),
    }
}

/// A `Federated` value against the provider of the call: equal, or the same OIDC host
/// (`arn:aws:iam::…:oidc-provider/token.actions.githubusercontent.com` against the host).
fn provider_matches(value: &str, provider: &str) -> bool {
    if value == provider {
        return true;
    }
    let oidc = |s: &str| s.contains(":oidc-provider/");
    let saml = |s: &str| s.contains(":saml-provider/");
    if saml(value) || saml(provider) || (oidc(value) && oidc(provider)) {
        return false;
    }
    // One side is a bare host (as CloudTrail may record it): compare the hosts.
    let host = |s: &str| -> String {
        s.split_once(":oidc-provider/")
            .map_or(s, |(_, h)| h)
            .trim_start_matches("https://")
            .to_ascii_lowercase()
    };
    host(value) == host(provider)
}

fn tri(b: bool) -> Tri {
    if b {
        Tri::T
    } else {
        Tri::F
    }
}

fn aws_value(value: &str, c: &Caller) -> (Tri, bool) {
    if value == "*" {
        return (Tri::T, false);
    }
    if matches!(
        c.kind,
        CallerKind::Service | CallerKind::Saml | CallerKind::WebIdentity
    ) {
        return (Tri::F, false);
    }
    if let Some(acct) = principal_account(value) {
        return match &c.account {
            Some(a) => (tri(a == acct), true),
            None => (Tri::U, true),
        };
    }
    // Unique ids (a deleted and recreated principal no longer matches by ARN).
    if value.len() > 4
        && ["AIDA", "AROA", "AIPA"].contains(&&value[..4])
        && value[4..].bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return match &c.principal_id {
            Some(p) => (tri(p.split(':').next() == Some(value)), false),
            None => (Tri::U, false),
        };
    }
    if value.contains(":role/") {
        return match c.kind {
            CallerKind::AssumedRole => match (&c.role_arn, &c.arn) {
                (Some(r), _) => (tri(r == value), false),
                // Without the issuer: the role name and account from the session ARN.
                (None, Some(a)) => (tri(session_of_role(a, value)), false),
                (None, None) => (Tri::U, false),
            },
            CallerKind::Unknown => (Tri::U, false),
            _ => (Tri::F, false),
        };
    }
    match &c.arn {
        Some(a) => (tri(a == value), false),
        None => (Tri::U, false),
    }
}

/// Is `session` (`arn:aws:sts::A:assumed-role/R/s`) a session of `role` (`arn:aws:iam::A:role/path/R`)?
fn session_of_role(session: &str, role: &str) -> bool {
    let Some((acct, name, _)) = trailgraph_log::model::parse_assumed_role_arn(session) else {
        return false;
    };
    arn_account(role) == Some(acct) && trailgraph_log::model::role_name(role) == name
}

// ---------------------------------------------------------------------------------------------
// Conditions

/// The parts of an operator: set qualifier, base operator, IfExists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Single,
    ForAny,
    ForAll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnLike,
    Null,
}

struct Op {
    set: SetOp,
    base: Base,
    /// StringNotEquals, StringNotEqualsIgnoreCase, StringNotLike, NumericNotEquals,
    /// DateNotEquals, NotIpAddress, ArnNotEquals, ArnNotLike.
    negated: bool,
    if_exists: bool,
}

fn parse_op(s: &str) -> Option<Op> {
    let (set, rest) = if let Some(r) = strip_prefix_ci(s, "ForAnyValue:") {
        (SetOp::ForAny, r)
    } else if let Some(r) = strip_prefix_ci(s, "ForAllValues:") {
        (SetOp::ForAll, r)
    } else {
        (SetOp::Single, s)
    };
    let (rest, if_exists) = match rest.strip_suffix("IfExists") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let (base, negated) = match rest {
        "StringEquals" => (Base::StringEquals, false),
        "StringNotEquals" => (Base::StringEquals, true),
        "StringEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, true),
        "StringLike" => (Base::StringLike, false),
        "StringNotLike" => (Base::StringLike, true),
        "NumericEquals" => (Base::NumericEquals, false),
        "NumericNotEquals" => (Base::NumericEquals, true),
        "NumericLessThan" => (Base::NumericLessThan, false),
        "NumericLessThanEquals" => (Base::NumericLessThanEquals, false),
        "NumericGreaterThan" => (Base::NumericGreaterThan, false),
        "NumericGreaterThanEquals" => (Base::NumericGreaterThanEquals, false),
        "DateEquals" => (Base::DateEquals, false),
        "DateNotEquals" => (Base::DateEquals, true),
        "DateLessThan" => (Base::DateLessThan, false),
        "DateLessThanEquals" => (Base::DateLessThanEquals, false),
        "DateGreaterThan" => (Base::DateGreaterThan, false),
        "DateGreaterThanEquals" => (Base::DateGreaterThanEquals, false),
        "Bool" => (Base::Bool, false),
        "BinaryEquals" => (Base::BinaryEquals, false),
        "IpAddress" => (Base::IpAddress, false),
        "NotIpAddress" => (Base::IpAddress, true),
        "ArnEquals" | "ArnLike" => (Base::ArnLike, false),
        "ArnNotEquals" | "ArnNotLike" => (Base::ArnLike, true),
        "Null" if !if_exists => (Base::Null, false),
        _ => return None,
    };
    Some(Op {
        set,
        base,
        negated,
        if_exists,
    })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// One condition against the context: its truth and, when not true, why.
fn condition(c: &Condition, ctx: &Context) -> (Tri, String) {
    let Some(op) = parse_op(&c.operator) else {
        return (
            Tri::U,
            format!("operator {} is not supported by trailgraph", c.operator),
        );
    };
    let value = ctx.value(&c.key);
    if op.base == Base::Null {
        // Null: "true" means the key must be absent, "false" that it must be present.
        let want_absent = c.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
        let want_present = c.values.iter().any(|v| v.eq_ignore_ascii_case("false"));
        return match value {
            Value::Unknown(why) => (Tri::U, why),
            Value::Absent => (tri(want_absent), format!("{} is absent", c.key)),
            Value::Present(v) if v.is_empty() => (tri(want_absent), format!("{} is empty", c.key)),
            Value::Present(_) => (tri(want_present), format!("{} is present", c.key)),
        };
    }
    let values = match value {
        Value::Unknown(why) => return (Tri::U, why),
        Value::Absent => Vec::new(),
        Value::Present(v) => v,
    };
    if values.is_empty() {
        // The missing-key rules.
        let t = if op.if_exists {
            true
        } else {
            match op.set {
                SetOp::ForAll => true,
                SetOp::ForAny => false,
                SetOp::Single => op.negated,
            }
        };
        return (tri(t), format!("{} is absent", c.key));
    }
    // Does one request value match any policy value (positive form)?
    let hits = |v: &str| -> bool { c.values.iter().any(|p| matches_one(op.base, v, p)) };
    let t = match op.set {
        SetOp::Single | SetOp::ForAny => {
            if op.negated {
                match op.set {
                    // NOR over the policy values for each request value (one, normally).
                    SetOp::Single => values.iter().all(|v| !hits(v)),
                    _ => values.iter().any(|v| !hits(v)),
                }
            } else {
                values.iter().any(|v| hits(v))
            }
        }
        SetOp::ForAll => {
            if op.negated {
                values.iter().all(|v| !hits(v))
            } else {
                values.iter().all(|v| hits(v))
            }
        }
    };
    let shown = if values.len() == 1 {
        values[0].clone()
    } else {
        format!("[{}]", values.join(", "))
    };
    (tri(t), format!("{} is {shown}", c.key))
}

fn matches_one(base: Base, v: &str, p: &str) -> bool {
    match base {
        Base::StringEquals | Base::BinaryEquals => v == p,
        Base::StringEqualsIgnoreCase => v.to_lowercase() == p.to_lowercase(),
        Base::StringLike => glob(p, v, true),
        Base::NumericEquals
        | Base::NumericLessThan
        | Base::NumericLessThanEquals
        | Base::NumericGreaterThan
        | Base::NumericGreaterThanEquals => {
            match (v.trim().parse::<f64>(), p.trim().parse::<f64>()) {
                (Ok(a), Ok(b)) => compare(base, a.partial_cmp(&b)),
                _ => false,
            }
        }
        Base::DateEquals
        | Base::DateLessThan
        | Base::DateLessThanEquals
        | Base::DateGreaterThan
        | Base::DateGreaterThanEquals => match (date(v), date(p)) {
            (Some(a), Some(b)) => compare(base, Some(a.cmp(&b))),
            _ => false,
        },
        Base::Bool => v.eq_ignore_ascii_case(p),
        Base::IpAddress => match (parse_addr(v.trim()), Cidr::parse(p)) {
            (Some(a), Some(b)) => b.contains(&a),
            _ => false,
        },
        Base::ArnLike => arn_like(p, v),
        Base::Null => false,
    }
}

fn compare(base: Base, o: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    let Some(o) = o else { return false };
    match base {
        Base::NumericEquals | Base::DateEquals => o == Equal,
        Base::NumericLessThan | Base::DateLessThan => o == Less,
        Base::NumericLessThanEquals | Base::DateLessThanEquals => o != Greater,
        Base::NumericGreaterThan | Base::DateGreaterThan => o == Greater,
        Base::NumericGreaterThanEquals | Base::DateGreaterThanEquals => o != Less,
        _ => false,
    }
}

/// A date condition value: ISO 8601 (`2024-01-01T00:00:00Z`, `2024-01-01`) or epoch seconds.
fn date(s: &str) -> Option<Millis> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok()?.checked_mul(1000);
    }
    if let Some(t) = parse_time(s) {
        return Some(t);
    }
    // A bare date.
    if s.len() == 10 {
        return parse_time(&format!("{s}T00:00:00Z"));
    }
    None
}

/// ArnLike: each of the six colon-separated parts matched on its own, with wildcards;
/// case-sensitive.
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    if p.len() != 6 || a.len() != 6 {
        return pattern == "*" || glob(pattern, arn, true);
    }
    p.iter().zip(&a).all(|(p, a)| glob(p, a, true))
}

/// `*` any run, `?` one character (the glob of the anomalies allow-lists).
pub(crate) fn glob(pattern: &str, text: &str, case_sensitive: bool) -> bool {
    crate::anomalies::glob_case(pattern, text, case_sensitive)
}
