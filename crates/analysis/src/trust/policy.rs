//! The IAM policy document: parsed leniently from either encoding (a JSON object, or the
//! URL-encoded string of the IAM API, decoded exactly once), written back as JSON, and shown
//! readably.
//!
//! Grammar: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>.
//! `Statement`, `Principal`/`NotPrincipal` values, `Action`/`NotAction`, `Resource` and condition
//! values may each be one value or an array; a condition value may be a string, a boolean or a
//! number (kept as its text, as IAM stores it).

use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: PrincipalBlock,
    /// `Action` or `NotAction` (absent: neither, which matches no action).
    pub action: Names,
    /// `Resource` / `NotResource` (identity policies; trust policies have none).
    pub resource: Option<Names>,
    /// Every condition of the `Condition` block, ANDed.
    pub conditions: Vec<Condition>,
}

/// `Principal` or `NotPrincipal` (identity policies have neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalBlock {
    None,
    Principal(Principals),
    NotPrincipal(Principals),
}

/// `"*"`, or a map of principal type (`AWS`, `Service`, `Federated`, `CanonicalUser`) to values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    Any,
    Map(BTreeMap<String, Vec<String>>),
}

/// `Action` / `NotAction` or `Resource` / `NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Names {
    Is(Vec<String>),
    Not(Vec<String>),
}

/// One `operator: { key: values }` entry of a Condition block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// As written: `StringEquals`, `ForAnyValue:StringLike`, `BoolIfExists`, …
    pub operator: String,
    /// As written (keys compare case-insensitively).
    pub key: String,
    pub values: Vec<String>,
}

impl Condition {
    pub fn new(operator: &str, key: &str, values: &[&str]) -> Condition {
        Condition {
            operator: operator.to_string(),
            key: key.to_string(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    /// `StringEquals sts:ExternalId` (what a verdict names as the deciding condition).
    pub fn label(&self) -> String {
        format!("{} {}", self.operator, self.key)
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ", self.operator, self.key)?;
        match &self.values[..] {
            [one] => write!(f, "{one}"),
            many => write!(f, "[{}]", many.join(", ")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Wire forms

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A condition or principal value: IAM keeps booleans and numbers as their text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    S(String),
    B(bool),
    N(serde_json::Number),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::S(s) => s,
            Scalar::B(b) => b.to_string(),
            Scalar::N(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct RawPolicy {
    #[serde(rename = "Version")]
    version: Option<String>,
    #[serde(rename = "Id")]
    id: Option<String>,
    #[serde(rename = "Statement")]
    statement: Option<OneOrMany<RawStatement>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPrincipal {
    Star(String),
    Map(BTreeMap<String, OneOrMany<Scalar>>),
}

#[derive(Deserialize)]
struct RawStatement {
    #[serde(rename = "Sid")]
    sid: Option<Scalar>,
    #[serde(rename = "Effect")]
    effect: String,
    #[serde(rename = "Principal")]
    principal: Option<RawPrincipal>,
    #[serde(rename = "NotPrincipal")]
    not_principal: Option<RawPrincipal>,
    #[serde(rename = "Action")]
    action: Option<OneOrMany<String>>,
    #[serde(rename = "NotAction")]
    not_action: Option<OneOrMany<String>>,
    #[serde(rename = "Resource")]
    resource: Option<OneOrMany<String>>,
    #[serde(rename = "NotResource")]
    not_resource: Option<OneOrMany<String>>,
    #[serde(rename = "Condition")]
    condition: Option<BTreeMap<String, BTreeMap<String, OneOrMany<Scalar>>>>,
}

fn principals(p: RawPrincipal) -> Result<Principals, String> {
    match p {
        RawPrincipal::Star(s) if s == "*" => Ok(Principals::Any),
        RawPrincipal::Star(s) => Err(format!("Principal {s:?} is neither \"*\" nor a map")),
        RawPrincipal::Map(m) => Ok(Principals::Map(
            m.into_iter()
                .map(|(k, v)| (k, v.into_vec().into_iter().map(Scalar::text).collect()))
                .collect(),
        )),
    }
}

impl Policy {
    /// A policy document as found in an IAM file or a CloudTrail payload: a JSON object, or a
    /// string. A string is decoded exactly once: text that starts with `{` is the JSON itself
    /// (the CLI/boto3 form and CloudTrail's), anything else is URL-encoded JSON (the IAM API
    /// and SDK form, RFC 3986) and is percent-decoded once, then parsed. A decoded document
    /// always starts with `{`, so no document is ever decoded twice (which would corrupt a
    /// literal `%2F` in a value).
    pub fn from_document(doc: &Value) -> Result<Policy, String> {
        match doc {
            Value::String(s) => Policy::from_text(s),
            Value::Object(_) => Policy::from_value(doc),
            other => Err(format!(
                "policy document is neither an object nor a string: {}",
                kind_of(other)
            )),
        }
    }

    /// A policy document as text (see `from_document` for the encodings).
    pub fn from_text(s: &str) -> Result<Policy, String> {
        let t = s.trim_start();
        if t.starts_with('{') {
            let v: Value =
                serde_json::from_str(t).map_err(|e| format!("policy is not JSON: {e}"))?;
            return Policy::from_value(&v);
        }
        let decoded = percent_encoding::percent_decode_str(t)
            .decode_utf8()
            .map_err(|e| format!("URL-encoded policy is not UTF-8: {e}"))?;
        if !decoded.trim_start().starts_with('{') {
            return Err("policy document is neither JSON nor URL-encoded JSON".into());
        }
        let v: Value = serde_json::from_str(&decoded)
            .map_err(|e| format!("URL-encoded policy is not JSON once decoded: {e}"))?;
        Policy::from_value(&v)
    }

    /// A policy document as a JSON object.
    pub fn from_value(v: &Value) -> Result<Policy, String> {
        let raw: RawPolicy =
            serde_json::from_value(v.clone()).map_err(|e| format!("not a policy document: {e}"))?;
        let mut statements = Vec::new();
        for (i, s) in raw
            .statement
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            statements.push(statement(s).map_err(|e| format!("statement {}: {e}", i + 1))?);
        }
        Ok(Policy {
            version: raw.version,
            id: raw.id,
            statements,
        })
    }

    /// The policy as an IAM JSON document (what `aws iam update-assume-role-policy` takes).
    /// Two conditions with the same operator and key (as `harden` may make) cannot both be
    /// written in one Condition block: when their values are the same they merge; otherwise the
    /// error says which statement cannot be written.
    pub fn to_json(&self) -> Result<Value, String> {
        let mut root = Map::new();
        if let Some(v) = &self.version {
            root.insert("Version".into(), json!(v));
        }
        if let Some(v) = &self.id {
            root.insert("Id".into(), json!(v));
        }
        let mut stmts = Vec::new();
        for (i, s) in self.statements.iter().enumerate() {
            let mut o = Map::new();
            if let Some(sid) = &s.sid {
                o.insert("Sid".into(), json!(sid));
            }
            o.insert(
                "Effect".into(),
                json!(match s.effect {
                    Effect::Allow => "Allow",
                    Effect::Deny => "Deny",
                }),
            );
            match &s.principal {
                PrincipalBlock::None => {}
                PrincipalBlock::Principal(p) => {
                    o.insert("Principal".into(), principals_json(p));
                }
                PrincipalBlock::NotPrincipal(p) => {
                    o.insert("NotPrincipal".into(), principals_json(p));
                }
            }
            let (an, av) = names_json(&s.action, "Action", "NotAction");
            o.insert(an.into(), av);
            if let Some(r) = &s.resource {
                let (rn, rv) = names_json(r, "Resource", "NotResource");
                o.insert(rn.into(), rv);
            }
            if !s.conditions.is_empty() {
                let mut block: BTreeMap<&str, BTreeMap<&str, &Vec<String>>> = BTreeMap::new();
                for c in &s.conditions {
                    let keys = block.entry(&c.operator).or_default();
                    match keys.get(c.key.as_str()) {
                        Some(old) if *old != &c.values => {
                            return Err(format!(
                                "statement {} has two {} conditions on {} with different values: one Condition block cannot hold both (add the new one in a separate statement)",
                                i + 1,
                                c.operator,
                                c.key
                            ));
                        }
                        _ => {
                            keys.insert(&c.key, &c.values);
                        }
                    }
                }
                let cond: Map<String, Value> = block
                    .into_iter()
                    .map(|(op, keys)| {
                        let m: Map<String, Value> = keys
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), one_or_many(v)))
                            .collect();
                        (op.to_string(), Value::Object(m))
                    })
                    .collect();
                o.insert("Condition".into(), Value::Object(cond));
            }
            stmts.push(Value::Object(o));
        }
        root.insert("Statement".into(), Value::Array(stmts));
        Ok(Value::Object(root))
    }

    /// One line per statement, for people: `Allow AWS arn:…:user/alice (sts:AssumeRole) if
    /// StringEquals sts:ExternalId x`.
    pub fn describe(&self) -> Vec<String> {
        self.statements.iter().map(Statement::describe).collect()
    }
}

impl Statement {
    /// One line, for people.
    pub fn describe(&self) -> String {
        let mut out = String::from(match self.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        });
        let who = |p: &Principals| match p {
            Principals::Any => "*".to_string(),
            Principals::Map(m) => m
                .iter()
                .map(|(k, v)| format!("{k} {}", v.join(", ")))
                .collect::<Vec<_>>()
                .join("; "),
        };
        match &self.principal {
            PrincipalBlock::None => {}
            PrincipalBlock::Principal(p) => {
                out.push(' ');
                out.push_str(&who(p));
            }
            PrincipalBlock::NotPrincipal(p) => {
                out.push_str(" everyone but ");
                out.push_str(&who(p));
            }
        }
        match &self.action {
            Names::Is(a) => out.push_str(&format!(" ({})", a.join(", "))),
            Names::Not(a) => out.push_str(&format!(" (any action but {})", a.join(", "))),
        }
        if !self.conditions.is_empty() {
            out.push_str(" if ");
            out.push_str(
                &self
                    .conditions
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(" and "),
            );
        }
        out
    }
}

fn statement(s: RawStatement) -> Result<Statement, String> {
    let effect = match s.effect.as_str() {
        "Allow" => Effect::Allow,
        "Deny" => Effect::Deny,
        e => return Err(format!("Effect {e:?} is neither Allow nor Deny")),
    };
    let principal = match (s.principal, s.not_principal) {
        (Some(_), Some(_)) => return Err("both Principal and NotPrincipal".into()),
        (Some(p), None) => PrincipalBlock::Principal(principals(p)?),
        (None, Some(p)) => PrincipalBlock::NotPrincipal(principals(p)?),
        (None, None) => PrincipalBlock::None,
    };
    let action = match (s.action, s.not_action) {
        (Some(_), Some(_)) => return Err("both Action and NotAction".into()),
        (Some(a), None) => Names::Is(a.into_vec()),
        (None, Some(a)) => Names::Not(a.into_vec()),
        (None, None) => Names::Is(Vec::new()),
    };
    let resource = match (s.resource, s.not_resource) {
        (Some(_), Some(_)) => return Err("both Resource and NotResource".into()),
        (Some(r), None) => Some(Names::Is(r.into_vec())),
        (None, Some(r)) => Some(Names::Not(r.into_vec())),
        (None, None) => None,
    };
    let mut conditions = Vec::new();
    for (op, keys) in s.condition.unwrap_or_default() {
        for (key, values) in keys {
            conditions.push(Condition {
                operator: op.clone(),
                key,
                values: values.into_vec().into_iter().map(Scalar::text).collect(),
            });
        }
    }
    Ok(Statement {
        sid: s.sid.map(Scalar::text),
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn one_or_many(v: &[String]) -> Value {
    match v {
        [one] => json!(one),
        many => json!(many),
    }
}

fn principals_json(p: &Principals) -> Value {
    match p {
        Principals::Any => json!("*"),
        Principals::Map(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), one_or_many(v))).collect())
        }
    }
}

fn names_json(n: &Names, is: &'static str, not: &'static str) -> (&'static str, Value) {
    match n {
        Names::Is(v) => (is, one_or_many(v)),
        Names::Not(v) => (not, one_or_many(v)),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
