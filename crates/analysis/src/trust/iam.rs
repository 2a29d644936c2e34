//! IAM configuration from files (`--iam`): `aws iam get-account-authorization-details` (both
//! encodings of policy documents), `get-role`, `list-roles`, and Organizations `list-accounts` /
//! `describe-organization`. Each file is recognised by its top-level keys; a file or entry that
//! cannot be read is a problem (file, position, reason) and the rest is still read.
//!
//! Shapes: <https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html>,
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_RoleDetail.html>,
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html>,
//! <https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html>.

use super::eval::{evaluate, Caller, CallerKind, Context, Decision, Side};
use super::policy::Policy;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use trailgraph_log::model::{arn_account, parse_time, Millis};

/// A file or entry that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamProblem {
    pub file: String,
    /// Where in the file (`RoleDetailList[3]`), empty for the whole file.
    pub position: String,
    pub reason: String,
}

impl std::fmt::Display for IamProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.position.is_empty() {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.file, self.position, self.reason)
        }
    }
}

/// A role as configured.
#[derive(Debug, Clone)]
pub struct Role {
    pub arn: String,
    pub name: String,
    pub account: String,
    pub role_id: Option<String>,
    pub create_date: Option<Millis>,
    /// The trust policy (None when it could not be read: a problem says why).
    pub trust: Option<Policy>,
    pub inline: Vec<Policy>,
    pub attached: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub last_used: Option<Millis>,
    pub last_used_region: Option<String>,
    /// The file it was read from.
    pub file: String,
}

/// A user as configured (get-account-authorization-details only).
#[derive(Debug, Clone)]
pub struct User {
    pub arn: String,
    pub user_id: Option<String>,
    pub account: String,
    pub groups: Vec<String>,
    pub inline: Vec<Policy>,
    pub attached: Vec<String>,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
struct Group {
    inline: Vec<Policy>,
    attached: Vec<String>,
}

/// Everything read from `--iam`.
#[derive(Debug, Default)]
pub struct Iam {
    /// Roles by (account, role name).
    pub roles: BTreeMap<(String, String), Role>,
    pub users: BTreeMap<String, User>,
    groups: BTreeMap<(String, String), Group>,
    /// Managed policies (default version) by ARN.
    managed: BTreeMap<String, Policy>,
    /// Accounts whose identity policies were read (a get-account-authorization-details).
    pub identity_accounts: BTreeSet<String>,
    /// Account → organisation id.
    pub org_of: BTreeMap<String, String>,
    /// Whether any Organizations file was read.
    pub has_org: bool,
    pub files: Vec<String>,
    pub problems: Vec<IamProblem>,
    /// Roles met again in a later file (kept from the first), as `file: role arn`.
    pub duplicates: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Wire shapes (only what is used; every field optional)

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Gaad {
    user_detail_list: Option<Vec<Value>>,
    group_detail_list: Option<Vec<Value>>,
    role_detail_list: Option<Vec<Value>>,
    policies: Option<Vec<Value>>,
    is_truncated: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireRole {
    role_name: String,
    arn: String,
    role_id: Option<String>,
    create_date: Option<String>,
    assume_role_policy_document: Option<Value>,
    #[serde(default)]
    role_policy_list: Vec<NamedPolicy>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
    #[serde(default)]
    tags: Vec<Tag>,
    role_last_used: Option<LastUsed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireUser {
    arn: String,
    user_id: Option<String>,
    #[serde(default)]
    group_list: Vec<String>,
    #[serde(default)]
    user_policy_list: Vec<NamedPolicy>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireGroup {
    group_name: String,
    arn: String,
    #[serde(default)]
    group_policy_list: Vec<NamedPolicy>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireManaged {
    arn: String,
    default_version_id: Option<String>,
    #[serde(default)]
    policy_version_list: Vec<WireVersion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireVersion {
    document: Option<Value>,
    version_id: Option<String>,
    #[serde(default)]
    is_default_version: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NamedPolicy {
    policy_name: Option<String>,
    policy_document: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attached {
    policy_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LastUsed {
    last_used_date: Option<String>,
    region: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireAccount {
    id: String,
    arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireOrganization {
    id: String,
    master_account_id: Option<String>,
}

/// A date of IAM output: `2014-07-30T17:09:20Z`, `2019-08-07T01:43:56+00:00` (CLI v2),
/// `2022-08-07 12:55:43+00:00` (boto3 `str()`).
fn iam_time(s: &str) -> Option<Millis> {
    parse_time(s)
}

impl Iam {
    /// Reads every path (a file, or a directory: its `*.json` files, sorted, recursively).
    pub fn read(paths: &[PathBuf]) -> Iam {
        let mut iam = Iam::default();
        let mut files = Vec::new();
        for p in paths {
            collect(p, &mut files, &mut iam.problems);
        }
        for f in files {
            iam.read_file(&f);
        }
        iam
    }

    fn problem(&mut self, file: &str, position: String, reason: impl Into<String>) {
        self.problems.push(IamProblem {
            file: file.to_string(),
            position,
            reason: reason.into(),
        });
    }

    fn read_file(&mut self, path: &Path) {
        let name = path.display().to_string();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return self.problem(&name, String::new(), format!("cannot read: {e}")),
        };
        let v: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return self.problem(&name, String::new(), format!("not JSON: {e}")),
        };
        self.read_value(&name, &v);
    }

    /// Reads one document (`file` names it in problems).
    pub fn read_value(&mut self, file: &str, v: &Value) {
        let Some(obj) = v.as_object() else {
            return self.problem(
                file,
                String::new(),
                "not a JSON object: not an IAM or Organizations output",
            );
        };
        self.files.push(file.to_string());
        let has = |k: &str| obj.contains_key(k);
        if has("RoleDetailList")
            || has("UserDetailList")
            || has("GroupDetailList")
            || has("Policies")
        {
            self.read_gaad(file, v);
        } else if has("Role") {
            self.read_roles(file, "Role", std::slice::from_ref(&obj["Role"]));
        } else if has("Roles") {
            match obj["Roles"].as_array() {
                Some(a) => {
                    self.read_roles(file, "Roles", a);
                }
                None => self.problem(file, "Roles".into(), "not an array"),
            }
        } else if has("Accounts") {
            self.read_accounts(file, &obj["Accounts"]);
        } else if has("Organization") {
            match serde_json::from_value::<WireOrganization>(obj["Organization"].clone()) {
                Ok(o) => {
                    self.has_org = true;
                    if let Some(m) = o.master_account_id {
                        self.org_of.insert(m, o.id);
                    }
                }
                Err(e) => self.problem(file, "Organization".into(), e.to_string()),
            }
        } else {
            self.files.pop();
            let keys: Vec<&str> = obj.keys().map(String::as_str).take(5).collect();
            self.problem(
                file,
                String::new(),
                format!(
                    "not a get-account-authorization-details, get-role, list-roles, list-accounts or describe-organization output (top-level keys: {})",
                    keys.join(", ")
                ),
            );
        }
    }

    fn read_gaad(&mut self, file: &str, v: &Value) {
        let g: Gaad = match serde_json::from_value(v.clone()) {
            Ok(g) => g,
            Err(e) => return self.problem(file, String::new(), e.to_string()),
        };
        if g.is_truncated == Some(true) {
            self.problem(
                file,
                "IsTruncated".into(),
                "this is one page of a truncated listing (IsTruncated: true): the roles, users and policies of the other pages are missing; the account's identity policies are treated as unknown",
            );
        }
        let mut accounts = BTreeSet::new();
        for (i, p) in g.policies.unwrap_or_default().into_iter().enumerate() {
            let pos = format!("Policies[{i}]");
            let m: WireManaged = match serde_json::from_value(p) {
                Ok(m) => m,
                Err(e) => {
                    self.problem(file, pos, e.to_string());
                    continue;
                }
            };
            let version = m
                .policy_version_list
                .iter()
                .find(|v| v.is_default_version)
                .or_else(|| {
                    m.policy_version_list
                        .iter()
                        .find(|v| v.version_id.is_some() && v.version_id == m.default_version_id)
                });
            match version.and_then(|v| v.document.as_ref()) {
                Some(doc) => match Policy::from_document(doc) {
                    Ok(p) => {
                        self.managed.insert(m.arn, p);
                    }
                    Err(e) => self.problem(file, pos, format!("policy {}: {e}", m.arn)),
                },
                None => self.problem(
                    file,
                    pos,
                    format!("policy {}: no default version document", m.arn),
                ),
            }
        }
        for (i, u) in g
            .user_detail_list
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let pos = format!("UserDetailList[{i}]");
            let u: WireUser = match serde_json::from_value(u) {
                Ok(u) => u,
                Err(e) => {
                    self.problem(file, pos, e.to_string());
                    continue;
                }
            };
            let account = arn_account(&u.arn).unwrap_or_default().to_string();
            accounts.insert(account.clone());
            let inline = self.inline(file, &pos, &u.user_policy_list);
            self.users.insert(
                u.arn.clone(),
                User {
                    arn: u.arn,
                    user_id: u.user_id,
                    account,
                    groups: u.group_list,
                    inline,
                    attached: u
                        .attached_managed_policies
                        .into_iter()
                        .map(|a| a.policy_arn)
                        .collect(),
                    tags: u.tags.into_iter().map(|t| (t.key, t.value)).collect(),
                },
            );
        }
        for (i, gr) in g
            .group_detail_list
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let pos = format!("GroupDetailList[{i}]");
            let gr: WireGroup = match serde_json::from_value(gr) {
                Ok(g) => g,
                Err(e) => {
                    self.problem(file, pos, e.to_string());
                    continue;
                }
            };
            let account = arn_account(&gr.arn).unwrap_or_default().to_string();
            accounts.insert(account.clone());
            let inline = self.inline(file, &pos, &gr.group_policy_list);
            self.groups.insert(
                (account, gr.group_name),
                Group {
                    inline,
                    attached: gr
                        .attached_managed_policies
                        .into_iter()
                        .map(|a| a.policy_arn)
                        .collect(),
                },
            );
        }
        let roles = g.role_detail_list.unwrap_or_default();
        for a in self.read_roles(file, "RoleDetailList", &roles) {
            accounts.insert(a);
        }
        if g.is_truncated != Some(true) {
            self.identity_accounts
                .extend(accounts.into_iter().filter(|a| !a.is_empty()));
        }
    }

    fn inline(&mut self, file: &str, pos: &str, list: &[NamedPolicy]) -> Vec<Policy> {
        let mut out = Vec::new();
        for (j, p) in list.iter().enumerate() {
            let name = p.policy_name.clone().unwrap_or_else(|| format!("#{j}"));
            match p.policy_document.as_ref().map(Policy::from_document) {
                Some(Ok(p)) => out.push(p),
                Some(Err(e)) => self.problem(file, format!("{pos} policy {name}"), e),
                None => self.problem(file, format!("{pos} policy {name}"), "no PolicyDocument"),
            }
        }
        out
    }

    /// Reads roles; returns their accounts.
    fn read_roles(&mut self, file: &str, list: &str, roles: &[Value]) -> Vec<String> {
        let mut accounts = Vec::new();
        for (i, r) in roles.iter().enumerate() {
            let pos = format!("{list}[{i}]");
            let r: WireRole = match serde_json::from_value(r.clone()) {
                Ok(r) => r,
                Err(e) => {
                    self.problem(file, pos, e.to_string());
                    continue;
                }
            };
            let Some(account) = arn_account(&r.arn).map(String::from) else {
                self.problem(file, pos, format!("role ARN {:?} has no account", r.arn));
                continue;
            };
            accounts.push(account.clone());
            let trust = match r
                .assume_role_policy_document
                .as_ref()
                .map(Policy::from_document)
            {
                Some(Ok(p)) => Some(p),
                Some(Err(e)) => {
                    self.problem(
                        file,
                        format!("{pos} (role {}) trust policy", r.role_name),
                        e,
                    );
                    None
                }
                None => {
                    self.problem(
                        file,
                        format!("{pos} (role {})", r.role_name),
                        "no AssumeRolePolicyDocument",
                    );
                    None
                }
            };
            let inline = self.inline(file, &pos, &r.role_policy_list);
            let key = (account.clone(), r.role_name.to_ascii_lowercase());
            if self.roles.contains_key(&key) {
                self.duplicates.push(format!("{file}: {}", r.arn));
                continue;
            }
            self.roles.insert(
                key,
                Role {
                    arn: r.arn,
                    name: r.role_name,
                    account,
                    role_id: r.role_id,
                    create_date: r.create_date.as_deref().and_then(iam_time),
                    trust,
                    inline,
                    attached: r
                        .attached_managed_policies
                        .into_iter()
                        .map(|a| a.policy_arn)
                        .collect(),
                    tags: r.tags.into_iter().map(|t| (t.key, t.value)).collect(),
                    last_used: r
                        .role_last_used
                        .as_ref()
                        .and_then(|l| l.last_used_date.as_deref())
                        .and_then(iam_time),
                    last_used_region: r.role_last_used.and_then(|l| l.region),
                    file: file.to_string(),
                },
            );
        }
        accounts
    }

    fn read_accounts(&mut self, file: &str, v: &Value) {
        let Some(list) = v.as_array() else {
            return self.problem(file, "Accounts".into(), "not an array");
        };
        self.has_org = true;
        for (i, a) in list.iter().enumerate() {
            match serde_json::from_value::<WireAccount>(a.clone()) {
                // arn:aws:organizations::<management>:account/o-xxxx/<id>
                Ok(a) => match a.arn.as_deref().and_then(|arn| arn.split('/').nth(1)) {
                    Some(org) if org.starts_with("o-") => {
                        self.org_of.insert(a.id, org.to_string());
                    }
                    _ => self.problem(
                        file,
                        format!("Accounts[{i}]"),
                        format!("account {}: no organisation id in its Arn", a.id),
                    ),
                },
                Err(e) => self.problem(file, format!("Accounts[{i}]"), e.to_string()),
            }
        }
    }

    /// The role of `role_arn`, by account and name (the path is not part of the key).
    pub fn role(&self, role_arn: &str) -> Option<&Role> {
        let account = arn_account(role_arn)?;
        let name = trailgraph_log::model::role_name(role_arn).to_ascii_lowercase();
        self.roles.get(&(account.to_string(), name))
    }

    /// The tags of the caller's principal (user, or the role of a session), if configured.
    pub fn principal_tags(&self, c: &Caller) -> Option<&[(String, String)]> {
        match c.kind {
            CallerKind::IamUser => self.users.get(c.arn.as_deref()?).map(|u| &u.tags[..]),
            CallerKind::AssumedRole => self.role(c.role_arn.as_deref()?).map(|r| &r.tags[..]),
            _ => None,
        }
    }

    /// The caller's identity-policy answer for the request (its action(s) on the role): what
    /// a trust in its account, or a cross-account call, also needs. Permissions boundaries,
    /// SCPs and session policies are not evaluated.
    pub fn identity_side(&self, ctx: &Context) -> Side {
        let c = &ctx.caller;
        let Some(account) = c.account.as_deref() else {
            return Side::Unknown("the caller's account is not recorded".into());
        };
        if c.kind == CallerKind::Root {
            return Side::Allow;
        }
        if !self.identity_accounts.contains(account) {
            return Side::Unknown(format!(
                "no get-account-authorization-details for account {account} in --iam"
            ));
        }
        let (inline, attached, groups, who): (&[Policy], &[String], &[String], String) =
            match c.kind {
                CallerKind::IamUser => match c.arn.as_deref().and_then(|a| self.users.get(a)) {
                    Some(u) => (&u.inline, &u.attached, &u.groups, u.arn.clone()),
                    None => {
                        return Side::Unknown(format!(
                            "user {} is not in --iam",
                            c.arn.as_deref().unwrap_or("?")
                        ))
                    }
                },
                CallerKind::AssumedRole => match c.role_arn.as_deref().and_then(|a| self.role(a)) {
                    Some(r) => (&r.inline, &r.attached, &[], r.arn.clone()),
                    None => {
                        return Side::Unknown(format!(
                            "role {} is not in --iam",
                            c.role_arn.as_deref().unwrap_or("?")
                        ))
                    }
                },
                _ => {
                    return Side::Unknown(
                        "the identity policy of this kind of caller is not evaluated".into(),
                    )
                }
            };
        let mut all = Policy {
            version: None,
            id: None,
            statements: Vec::new(),
        };
        let mut missing = Vec::new();
        let mut add = |p: &Policy| all.statements.extend(p.statements.iter().cloned());
        inline.iter().for_each(&mut add);
        for a in attached {
            match self.managed.get(a) {
                Some(p) => add(p),
                None => missing.push(a.clone()),
            }
        }
        for g in groups {
            match self.groups.get(&(account.to_string(), g.clone())) {
                Some(gr) => {
                    gr.inline.iter().for_each(&mut add);
                    for a in &gr.attached {
                        match self.managed.get(a) {
                            Some(p) => add(p),
                            None => missing.push(a.clone()),
                        }
                    }
                }
                None => missing.push(format!("group {g}")),
            }
        }
        let mut inner = ctx.clone();
        inner.identity = Side::Allow;
        let v = evaluate(&all, &inner);
        match v.decision {
            Decision::Allow if v.statement.is_some() => Side::Allow,
            Decision::Deny if v.reason == "explicit Deny" => {
                Side::Deny(format!("{who}: {}", v.detail))
            }
            _ if !missing.is_empty() => Side::Unknown(format!(
                "{who}: managed policies not in --iam: {}",
                missing.join(", ")
            )),
            Decision::Deny => Side::Deny(format!(
                "{who}: no identity policy allows {} on {}",
                ctx.action, ctx.resource
            )),
            _ => Side::Unknown(format!("{who}: {}", v.detail)),
        }
    }
}

/// The files of a path: itself, or a directory's `*.json` files (sorted, recursively).
fn collect(p: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<IamProblem>) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                problems.push(IamProblem {
                    file: p.display().to_string(),
                    position: String::new(),
                    reason: format!("cannot read directory: {e}"),
                });
                return;
            }
        };
        entries.sort();
        for e in entries {
            if e.is_dir()
                || e.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("json"))
            {
                collect(&e, out, problems);
            }
        }
    } else if p.exists() {
        out.push(p.to_path_buf());
    } else {
        problems.push(IamProblem {
            file: p.display().to_string(),
            position: String::new(),
            reason: "no such file or directory".into(),
        });
    }
}
