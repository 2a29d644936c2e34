//! The observed side: every role assumption of the input with its request context as IAM saw it
//! (from the issuance row, the AssumeRole request's tags, the SAML response's audience), its
//! direct caller and its origin; and the trust-policy changes of the logs.
//!
//! Which CloudTrail field carries which condition key: ../shared/docs/iam-trust-policies.md
//! section 4, and <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>.

use super::eval::{Caller, CallerKind, Context};
use super::iam::Iam;
use super::policy::Policy;
use super::timeline::Change;
use crate::anomalies::parse_addr;
use anyhow::Result;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use trailgraph_graph::attribute::Cols;
use trailgraph_graph::scan::Scan;
use trailgraph_log::model::{arn_account, format_time, IssuanceKind, Millis};
use trailgraph_log::table::{event, issuance};

/// One observed role assumption (successful or not).
#[derive(Debug, Clone)]
pub struct Assumption {
    pub event_id: String,
    pub recipient_account: String,
    pub time: Millis,
    pub kind: IssuanceKind,
    pub role_arn: String,
    /// None: successful.
    pub error_code: Option<String>,
    /// The direct caller as a principal of a trust policy would name it: a user ARN, a role ARN
    /// (for any session of it), a service, an identity provider.
    pub caller_principal: String,
    pub caller_arn: Option<String>,
    /// The origin behind the caller (empty for a failed call: no session was issued).
    pub origin: String,
    pub source_ip: Option<String>,
    /// The request context, the identity side filled from `--iam`.
    pub context: Context,
}

impl Assumption {
    pub fn succeeded(&self) -> bool {
        self.error_code.is_none()
    }
}

/// What the events pass collects: change events, and per call the payload parts the issuance
/// row does not hold.
#[derive(Default)]
struct Payloads {
    changes: Vec<Change>,
    problems: Vec<String>,
    /// (event id, recipient) → (request tags, transitive tag keys) of AssumeRole.
    tags: FxHashMap<(String, String), RequestTags>,
    /// (event id, recipient) → the SAML audience (responseElements.audience).
    audience: FxHashMap<(String, String), String>,
}

/// An AssumeRole request's session tags (key, value) and transitive tag keys.
type RequestTags = (Vec<(String, String)>, Vec<String>);

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Req {
    role_name: Option<String>,
    path: Option<String>,
    assume_role_policy_document: Option<serde_json::Value>,
    policy_document: Option<serde_json::Value>,
    tags: Option<Vec<ReqTag>>,
    transitive_tag_keys: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ReqTag {
    #[serde(alias = "Key")]
    key: String,
    #[serde(default, alias = "Value")]
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Resp {
    role: Option<RespRole>,
    audience: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RespRole {
    arn: Option<String>,
}

/// The events columns the trust analysis reads.
pub fn columns() -> Vec<&'static str> {
    vec![
        event::event_id,
        event::event_time,
        event::event_name,
        event::event_source,
        event::recipient_account,
        event::error_code,
        event::request_parameters,
        event::response_elements,
    ]
}

/// Everything observed.
pub struct Observed {
    pub assumptions: Vec<Assumption>,
    pub changes: Vec<Change>,
    /// Change events whose policy could not be read (event, reason).
    pub problems: Vec<String>,
    /// The first and last event time of the input.
    pub window: (Option<Millis>, Option<Millis>),
}

/// Reads the trust-policy changes and the role assumptions of `scan`; contexts use `iam` for
/// `aws:PrincipalOrgID`, `aws:PrincipalTag/…` and the identity side.
pub fn observe(scan: &Scan, iam: &Iam) -> Result<Observed> {
    let cols = columns();
    let mut pay = Payloads::default();
    let mut window: (Option<Millis>, Option<Millis>) = (None, None);
    scan.for_each(&cols, |slice| {
        let c = Cols::new(slice.events);
        let (names, srcs, ids, times, rcpt, errs, req, resp) = (
            c.s(event::event_name)?,
            c.s(event::event_source)?,
            c.s(event::event_id)?,
            c.t(event::event_time)?,
            c.s(event::recipient_account)?,
            c.s(event::error_code)?,
            c.s(event::request_parameters)?,
            c.s(event::response_elements)?,
        );
        for t in times.iter().flatten() {
            window.0 = Some(window.0.map_or(t, |m| m.min(t)));
            window.1 = Some(window.1.map_or(t, |m| m.max(t)));
        }
        for i in 0..slice.height() {
            let name = names.get(i).unwrap_or("");
            let wanted = matches!(
                name,
                "CreateRole" | "UpdateAssumeRolePolicy" | "AssumeRole" | "AssumeRoleWithSAML"
            );
            if !wanted || errs.get(i).is_some() {
                continue;
            }
            let src = srcs.get(i).unwrap_or("");
            let key = (
                ids.get(i).unwrap_or("").to_string(),
                rcpt.get(i).unwrap_or("").to_string(),
            );
            let r: Req = req
                .get(i)
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default();
            match (src, name) {
                ("iam.amazonaws.com", "CreateRole" | "UpdateAssumeRolePolicy") => {
                    let Some(time) = times.get(i) else { continue };
                    let doc = if name == "CreateRole" {
                        r.assume_role_policy_document.as_ref()
                    } else {
                        r.policy_document.as_ref()
                    };
                    let Some(role) = r.role_name.as_deref() else {
                        pay.problems
                            .push(format!("{name} {}: no roleName in the request", key.0));
                        continue;
                    };
                    let resp: Resp = resp
                        .get(i)
                        .and_then(|t| serde_json::from_str(t).ok())
                        .unwrap_or_default();
                    let role_arn = resp.role.and_then(|r| r.arn).unwrap_or_else(|| {
                        let path = r.path.as_deref().unwrap_or("/");
                        format!("arn:aws:iam::{}:role{path}{role}", key.1)
                    });
                    match doc.map(Policy::from_document) {
                        Some(Ok(policy)) => pay.changes.push(Change {
                            role_arn,
                            time,
                            event_id: key.0,
                            name: name.to_string(),
                            policy,
                        }),
                        Some(Err(e)) => pay
                            .problems
                            .push(format!("{name} {} ({role_arn}): trust policy: {e}", key.0)),
                        None => pay.problems.push(format!(
                            "{name} {} ({role_arn}): no policy document in the request",
                            key.0
                        )),
                    }
                }
                ("sts.amazonaws.com", "AssumeRole") => {
                    let tags = r
                        .tags
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| (t.key, t.value))
                        .collect();
                    pay.tags
                        .insert(key, (tags, r.transitive_tag_keys.unwrap_or_default()));
                }
                ("sts.amazonaws.com", "AssumeRoleWithSAML") => {
                    let resp: Resp = resp
                        .get(i)
                        .and_then(|t| serde_json::from_str(t).ok())
                        .unwrap_or_default();
                    if let Some(a) = resp.audience {
                        pay.audience.insert(key, a);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    })?;
    let assumptions = assumptions(scan, iam, &pay)?;
    Ok(Observed {
        assumptions,
        changes: pay.changes,
        problems: pay.problems,
        window,
    })
}

fn assumptions(scan: &Scan, iam: &Iam, pay: &Payloads) -> Result<Vec<Assumption>> {
    // Issuance event → its session's origin.
    let mut origin_of: FxHashMap<(&str, &str), &str> = FxHashMap::default();
    for s in &scan.graph.sessions {
        for e in &s.issuance {
            if let Some(id) = e.event_id.as_deref() {
                origin_of.insert(
                    (id, e.recipient_account.as_deref().unwrap_or("")),
                    &s.origin,
                );
            }
        }
    }
    let df = trailgraph_graph::attribute::single_chunk(&scan.issuances);
    let c = Cols::new(&df);
    let kind = c.s(issuance::kind)?;
    let eid = c.s(issuance::event_id)?;
    let time = c.t(issuance::event_time)?;
    let rcpt = c.s(issuance::recipient_account)?;
    let shared = c.s(issuance::shared_event_id)?;
    let err = c.s(issuance::error_code)?;
    let ip = c.s(issuance::source_ip)?;
    let ctype = c.s(issuance::caller_type)?;
    let carn = c.s(issuance::caller_arn)?;
    let cpid = c.s(issuance::caller_principal_id)?;
    let cacct = c.s(issuance::caller_account)?;
    let cinv = c.s(issuance::caller_invoked_by)?;
    let ciss = c.s(issuance::caller_issuer_arn)?;
    let cuser = c.s(issuance::caller_user_name)?;
    let csi = c.s(issuance::caller_source_identity)?;
    let cmfa = c.b(issuance::caller_mfa_authenticated)?;
    let role = c.s(issuance::role_arn)?;
    let rsn = c.s(issuance::role_session_name)?;
    let ext = c.s(issuance::external_id)?;
    let serial = c.s(issuance::serial_number)?;
    let dur = c.i(issuance::duration_seconds)?;
    let si = c.s(issuance::source_identity)?;
    let saml_p = c.s(issuance::saml_provider_arn)?;
    let saml_s = c.s(issuance::saml_subject)?;
    let saml_st = c.s(issuance::saml_subject_type)?;
    let saml_i = c.s(issuance::saml_issuer)?;
    let oidc_p = c.s(issuance::oidc_provider)?;
    let oidc_s = c.s(issuance::oidc_subject)?;
    let oidc_a = c.s(issuance::oidc_audience)?;

    // Both cross-account copies of one call (same sharedEventID) are one assumption: the
    // copy delivered to the caller's account is kept (it has the caller's full identity).
    let mut by_call: FxHashMap<String, usize> = FxHashMap::default();
    let mut out: Vec<Assumption> = Vec::new();
    for i in 0..df.height() {
        let Some(k) = kind.get(i).and_then(IssuanceKind::parse) else {
            continue;
        };
        if !k.is_role_assumption() {
            continue;
        }
        let (Some(role_arn), Some(t)) = (role.get(i), time.get(i)) else {
            continue;
        };
        let event_id = eid.get(i).unwrap_or("").to_string();
        let recipient = rcpt.get(i).unwrap_or("").to_string();
        let caller_account = cacct
            .get(i)
            .or_else(|| carn.get(i).and_then(arn_account))
            .map(String::from);
        let ty = ctype.get(i).unwrap_or("");
        let mut caller = Caller {
            kind: match (k, ty) {
                (IssuanceKind::AssumeRoleWithSAML, _) => CallerKind::Saml,
                (IssuanceKind::AssumeRoleWithWebIdentity, _) => CallerKind::WebIdentity,
                (_, "IAMUser") => CallerKind::IamUser,
                (_, "AssumedRole") => CallerKind::AssumedRole,
                (_, "Root") => CallerKind::Root,
                (_, "FederatedUser") => CallerKind::FederatedUser,
                (_, "AWSService") => CallerKind::Service,
                _ => CallerKind::Unknown,
            },
            arn: carn.get(i).map(String::from),
            account: caller_account.clone(),
            principal_id: cpid.get(i).map(String::from),
            role_arn: None,
            service: cinv.get(i).map(String::from),
            provider: None,
        };
        match caller.kind {
            CallerKind::AssumedRole => caller.role_arn = ciss.get(i).map(String::from),
            CallerKind::Saml => caller.provider = saml_p.get(i).map(String::from),
            CallerKind::WebIdentity => caller.provider = oidc_p.get(i).map(String::from),
            _ => {}
        }
        let caller_principal = match caller.kind {
            CallerKind::AssumedRole => caller.role_arn.clone().or(caller.arn.clone()),
            CallerKind::Service => caller.service.clone(),
            CallerKind::Saml | CallerKind::WebIdentity => caller.provider.clone(),
            _ => caller.arn.clone(),
        }
        .unwrap_or_default();
        let action = format!("sts:{}", k.as_str());
        let mut ctx = Context::new(&action, role_arn, caller.clone());
        // aws:SourceIp: an address, or a service's name (not comparable).
        match ip.get(i) {
            Some(a) if parse_addr(a.trim()).is_some() => {
                ctx.set("aws:SourceIp", a.trim());
            }
            Some(a) => {
                ctx.unknown(
                    "aws:SourceIp",
                    &format!("sourceIPAddress is {a:?}, not an address"),
                );
            }
            None => {
                ctx.unknown("aws:SourceIp", "sourceIPAddress is not recorded");
            }
        }
        ctx.set("aws:CurrentTime", &format_time(t));
        ctx.set("aws:EpochTime", &(t.div_euclid(1000)).to_string());
        // Caller keys.
        match caller.kind {
            CallerKind::IamUser
            | CallerKind::AssumedRole
            | CallerKind::Root
            | CallerKind::FederatedUser => {
                let parn = if caller.kind == CallerKind::AssumedRole {
                    caller.role_arn.clone()
                } else {
                    caller.arn.clone()
                };
                match parn {
                    Some(a) => ctx.set("aws:PrincipalArn", &a),
                    None => ctx.unknown("aws:PrincipalArn", "the caller's ARN is not recorded"),
                };
                match &caller_account {
                    Some(a) => ctx.set("aws:PrincipalAccount", a),
                    None => ctx.unknown(
                        "aws:PrincipalAccount",
                        "the caller's account is not recorded",
                    ),
                };
                if let Some(p) = cpid.get(i) {
                    ctx.set("aws:userid", p);
                }
                if caller.kind == CallerKind::IamUser {
                    if let Some(u) = cuser.get(i) {
                        ctx.set("aws:username", u);
                    }
                }
                // MFA: the session's mfaAuthenticated; for a long-term key the key is absent,
                // unless the AssumeRole request carried an MFA serial number (and succeeded).
                let mfa = cmfa.get(i);
                let with_serial = serial.get(i).is_some() && err.get(i).is_none();
                match (mfa, with_serial) {
                    (_, true) | (Some(true), _) => ctx.set("aws:MultiFactorAuthPresent", "true"),
                    (Some(false), false) => ctx.set("aws:MultiFactorAuthPresent", "false"),
                    (None, false) => ctx.absent("aws:MultiFactorAuthPresent"),
                };
                match caller_account.as_deref().and_then(|a| iam.org_of.get(a)) {
                    Some(o) => {
                        ctx.set("aws:PrincipalOrgID", o);
                    }
                    None if iam.has_org => {
                        ctx.unknown(
                            "aws:PrincipalOrgID",
                            "the caller's account is in no Organizations file given with --iam",
                        );
                    }
                    None => {
                        ctx.unknown(
                            "aws:PrincipalOrgID",
                            "aws:PrincipalOrgID needs an Organizations list-accounts or describe-organization file in --iam",
                        );
                    }
                }
                if let Some(tags) = iam.principal_tags(&caller) {
                    for (k, v) in tags {
                        ctx.set(&format!("aws:PrincipalTag/{k}"), v);
                    }
                    ctx.principal_tags_known();
                }
            }
            CallerKind::Service | CallerKind::Saml | CallerKind::WebIdentity => {
                for k in [
                    "aws:PrincipalArn",
                    "aws:PrincipalAccount",
                    "aws:PrincipalOrgID",
                    "aws:MultiFactorAuthPresent",
                ] {
                    ctx.absent(k);
                }
                ctx.principal_tags_known();
            }
            CallerKind::Unknown => {}
        }
        // Request keys.
        match ext.get(i) {
            Some(e) => ctx.set("sts:ExternalId", e),
            None => ctx.absent("sts:ExternalId"),
        };
        match rsn.get(i) {
            Some(s) => ctx.set("sts:RoleSessionName", s),
            None => ctx.absent("sts:RoleSessionName"),
        };
        if let Some(d) = dur.get(i) {
            ctx.set("sts:DurationSeconds", &d.to_string());
        }
        match si.get(i) {
            Some(s) => {
                ctx.set("sts:SourceIdentity", s);
                // Set by this call (not inherited from the caller's session): authorised as
                // sts:SetSourceIdentity.
                if csi.get(i) != Some(s) {
                    ctx.also.push("sts:SetSourceIdentity".into());
                }
            }
            None => {
                ctx.absent("sts:SourceIdentity");
            }
        }
        let key = (event_id.clone(), recipient.clone());
        match k {
            IssuanceKind::AssumeRole => match pay.tags.get(&key) {
                Some((tags, transitive)) => {
                    if tags.is_empty() {
                        ctx.absent("aws:TagKeys");
                    } else {
                        ctx.set_many("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()).collect());
                        for (k, v) in tags {
                            ctx.set(&format!("aws:RequestTag/{k}"), v);
                        }
                        ctx.also.push("sts:TagSession".into());
                    }
                    if transitive.is_empty() {
                        ctx.absent("sts:TransitiveTagKeys");
                    } else {
                        ctx.set_many("sts:TransitiveTagKeys", transitive.clone());
                    }
                }
                None => {
                    let why = "the AssumeRole request parameters are not in the input";
                    ctx.unknown("aws:TagKeys", why);
                    ctx.unknown("sts:TransitiveTagKeys", why);
                    if err.get(i).is_none() {
                        ctx.maybe.push(("sts:TagSession".into(), why.into()));
                    }
                }
            },
            IssuanceKind::AssumeRoleWithSAML => {
                // Condition keys are case-insensitive; written as AWS documents them.
                for (k, v) in [
                    ("SAML:sub", saml_s.get(i)),
                    ("SAML:sub_type", saml_st.get(i)),
                    ("SAML:iss", saml_i.get(i)),
                    ("SAML:aud", pay.audience.get(&key).map(String::as_str)),
                ] {
                    match v {
                        Some(v) => ctx.set(k, v),
                        None => ctx.unknown(k, &format!("{k} is not recorded for this call")),
                    };
                }
            }
            IssuanceKind::AssumeRoleWithWebIdentity => {
                if let Some(p) = caller.provider.as_deref() {
                    let host = p
                        .split_once(":oidc-provider/")
                        .map_or(p, |(_, h)| h)
                        .trim_start_matches("https://")
                        .to_string();
                    for (suffix, v) in [("sub", oidc_s.get(i)), ("aud", oidc_a.get(i))] {
                        let key = format!("{host}:{suffix}");
                        match v {
                            Some(v) => ctx.set(&key, v),
                            None => {
                                ctx.unknown(&key, &format!("{key} is not recorded for this call"))
                            }
                        };
                    }
                }
            }
            _ => {}
        }
        ctx.identity = iam.identity_side(&ctx);
        let a = Assumption {
            origin: origin_of
                .get(&(event_id.as_str(), recipient.as_str()))
                .map(|o| o.to_string())
                .unwrap_or_default(),
            event_id,
            recipient_account: recipient,
            time: t,
            kind: k,
            role_arn: role_arn.to_string(),
            error_code: err.get(i).map(String::from),
            caller_principal,
            caller_arn: carn.get(i).map(String::from),
            source_ip: ip.get(i).map(String::from),
            context: ctx,
        };
        match shared.get(i).filter(|s| !s.is_empty()) {
            Some(s) => match by_call.get(s) {
                Some(&j) => {
                    let prefer_new = caller_account.as_deref()
                        == Some(a.recipient_account.as_str())
                        && out[j].context.caller.account.as_deref()
                            != Some(out[j].recipient_account.as_str());
                    if prefer_new {
                        let origin = std::mem::take(&mut out[j].origin);
                        out[j] = a;
                        if out[j].origin.is_empty() {
                            out[j].origin = origin;
                        }
                    } else if out[j].origin.is_empty() {
                        out[j].origin = a.origin;
                    }
                }
                None => {
                    by_call.insert(s.to_string(), out.len());
                    out.push(a);
                }
            },
            None => out.push(a),
        }
    }
    out.sort_by(|a, b| {
        (a.time, &a.event_id, &a.recipient_account).cmp(&(
            b.time,
            &b.event_id,
            &b.recipient_account,
        ))
    });
    Ok(out)
}
