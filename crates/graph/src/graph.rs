//! The session graph (spec 2.10): origins and sessions as nodes, issuances as edges, and the
//! resolution of any caller identity to the session or origin behind it.
//!
//! * One **session** per issued temporary key, keyed by (issued key, issuance time, session
//!   ARN), so a recycled ASIA id or a repeated session name never merges two sessions. Both
//!   cross-account copies of one issuance (same sharedEventID, or the same session key) become
//!   one session that cites both eventIDs.
//! * A session's **caller** is resolved after all input is read, strongest link first: exact
//!   (caller key = issued key and creationDate = issuance time), inferred (session ARN +
//!   creationDate; then session ARN within the credential lifetime), else an orphan session
//!   (`unknown:<key>`) is synthesised. Chains of any depth; loops are cut, never followed.
//! * Events stay in columns: the graph holds identities and sessions only.
//!
//! petgraph is used only inside this module; the public API speaks in session indices and
//! plain strings.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, EdgeRef};
use petgraph::Direction;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use trailgraph_log::model::{
    arn_account, format_time, iam_role_arn, iam_root_arn, iam_user_arn, is_temporary_key, origin,
    parse_assumed_role_arn, role_name, session_arn_for, Confidence, IdentityType, IssuanceKind,
    Millis,
};

/// Where an issuance or an action came from, as far as the record itself says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Identity {
    pub kind: Option<String>,
    pub arn: Option<String>,
    pub principal_id: Option<String>,
    pub account: Option<String>,
    pub access_key_id: Option<String>,
    pub creation_date: Option<Millis>,
    pub invoked_by: Option<String>,
    pub issuer_arn: Option<String>,
    pub issuer_type: Option<String>,
    pub user_name: Option<String>,
    pub identity_provider: Option<String>,
    pub source_identity: Option<String>,
    pub mfa_authenticated: Option<bool>,
    pub on_behalf_of_user_id: Option<String>,
    pub on_behalf_of_store_arn: Option<String>,
}

impl Identity {
    /// `kind` as a type CloudTrail documents (None when absent or not one of them).
    pub fn identity_type(&self) -> Option<IdentityType> {
        self.kind.as_deref().and_then(IdentityType::parse)
    }
}

/// A pointer to the record that proves something.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Evidence {
    pub event_id: Option<String>,
    pub recipient_account: Option<String>,
    pub source_file: Option<String>,
    pub record_index: u64,
}

/// One issuance row, as the graph needs it.
#[derive(Debug, Clone, Default)]
pub struct IssuanceIn {
    pub kind: Option<IssuanceKind>,
    pub event_id: Option<String>,
    pub event_time: Option<Millis>,
    pub recipient_account: Option<String>,
    pub shared_event_id: Option<String>,
    pub error_code: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub aws_region: Option<String>,
    pub caller: Identity,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub serial_number: Option<String>,
    pub external_id: Option<String>,
    pub source_identity: Option<String>,
    pub issued_key: Option<String>,
    pub assumed_role_arn: Option<String>,
    pub expiration: Option<Millis>,
    pub duration_seconds: Option<i64>,
    pub saml_provider_arn: Option<String>,
    pub saml_subject: Option<String>,
    pub oidc_provider: Option<String>,
    pub oidc_subject: Option<String>,
    pub federated_user_arn: Option<String>,
    pub target_principal: Option<String>,
    pub source_file: Option<String>,
    pub record_index: u64,
}

/// What a caller link points at.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// A session in the graph (index), with the confidence of this link.
    Session(usize, Confidence),
    /// A terminal origin (canonical origin string), with the confidence of this link.
    Origin(String, Confidence),
}

/// An issued session (or a synthesised orphan whose issuance is not in the input).
#[derive(Debug, Clone)]
pub struct Session {
    /// Stable id: `<issued key>@<issuance time>` (or `<session ARN>@<time>` when the key is
    /// redacted).
    pub id: String,
    pub kind: Option<IssuanceKind>,
    pub issued_key: Option<String>,
    pub issued_at: Option<Millis>,
    pub expiration: Option<Millis>,
    /// The ARN the session acts as: assumed-role ARN, federated-user ARN, IAM user or root ARN.
    pub session_arn: Option<String>,
    /// The role (IAM form, path included) for role sessions.
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    /// The account the session lives in.
    pub account: Option<String>,
    /// sourceIdentity set on this session's own issuance.
    pub own_source_identity: Option<String>,
    /// MFA on the issuance: serialNumber in the request, or an MFA-authenticated caller.
    pub mfa: bool,
    pub issuance: Vec<Evidence>,
    pub shared_event_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub caller_identity: Identity,
    /// No issuance in the input: synthesised from the session's own events.
    pub orphan: bool,
    pub caller: Link,
    // --- resolved by `SessionGraph::build` ---
    pub parent: Option<usize>,
    pub origin: String,
    /// Chain elements from the origin down to this session (role ARNs; `…:root` for AssumeRoot).
    pub chain: Vec<String>,
    pub confidence: Confidence,
    pub source_identity: Option<String>,
    /// The role of this session already appears higher up the chain (A→B→A).
    pub cycle: bool,
}

/// The attribution of one event or caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribution {
    pub session: Option<usize>,
    pub origin: String,
    pub chain: Vec<String>,
    pub confidence: Confidence,
    pub source_identity: Option<String>,
}

impl Attribution {
    pub fn depth(&self) -> usize {
        self.chain.len()
    }
    pub fn chain_string(&self) -> String {
        self.chain.join(">")
    }
}

/// (issued key, issuance time, session ARN): what makes two sessions the same session.
type SessionKey = (Option<String>, Option<Millis>, Option<String>);

#[derive(Debug, Clone)]
enum Node {
    Origin,
    Session(usize),
}

/// The session graph.
pub struct SessionGraph {
    pub sessions: Vec<Session>,
    by_key: FxHashMap<String, Vec<usize>>,
    by_arn: FxHashMap<String, Vec<usize>>,
    /// Issuance sessions by eventID, then recipient account (looked up without allocating).
    by_event: FxHashMap<String, Vec<(Option<String>, usize)>>,
    by_shared: FxHashMap<String, usize>,
    orphans: FxHashMap<SessionKey, usize>,
    graph: DiGraph<Node, Confidence>,
    origin_nodes: FxHashMap<String, NodeIndex>,
    session_nodes: Vec<NodeIndex>,
    /// Loops cut while resolving callers (session ids).
    pub loops: Vec<String>,
}

/// Whether an access key id can link a use to its issuance: neither empty nor `REDACTED`.
fn usable_key(k: &str) -> bool {
    !k.is_empty() && !k.eq_ignore_ascii_case("REDACTED")
}

/// The canonical origin string for a principal that acts directly (no session in between).
fn direct_origin(id: &Identity) -> Option<(String, Confidence)> {
    fn field(f: &Option<String>) -> &str {
        f.as_deref().unwrap_or("")
    }
    match id.identity_type() {
        Some(IdentityType::IAMUser) => {
            let arn = id.arn.clone().or_else(|| {
                Some(iam_user_arn(
                    id.account.as_deref()?,
                    id.user_name.as_deref()?,
                ))
            })?;
            Some((arn, Confidence::Exact))
        }
        Some(IdentityType::Root) => {
            let arn = id
                .arn
                .clone()
                .or_else(|| Some(iam_root_arn(id.account.as_deref()?)))?;
            Some((arn, Confidence::Exact))
        }
        Some(IdentityType::FederatedUser) => Some((id.issuer_arn.clone()?, Confidence::Exact)),
        Some(IdentityType::AWSService) => Some((
            origin::service(id.invoked_by.as_deref()?),
            Confidence::Exact,
        )),
        Some(IdentityType::AWSAccount) => {
            if let Some(s) = &id.invoked_by {
                return Some((origin::service(s), Confidence::Exact));
            }
            if id.account.as_deref() == Some("ANONYMOUS_PRINCIPAL") {
                // Anonymous (unauthenticated) S3 access: no identity at all.
                return Some((origin::unknown(""), Confidence::Unknown));
            }
            Some((
                origin::account(field(&id.account), field(&id.principal_id)),
                Confidence::Inferred,
            ))
        }
        Some(IdentityType::SAMLUser) => Some((
            origin::saml(field(&id.identity_provider), field(&id.user_name)),
            Confidence::Exact,
        )),
        Some(IdentityType::WebIdentityUser) => Some((
            origin::oidc(field(&id.identity_provider), field(&id.user_name)),
            Confidence::Exact,
        )),
        Some(IdentityType::IdentityCenterUser) => Some((
            origin::identity_center(
                id.on_behalf_of_store_arn
                    .as_deref()
                    .or(id.account.as_deref())
                    .unwrap_or(""),
                field(&id.on_behalf_of_user_id),
            ),
            Confidence::Inferred,
        )),
        _ => {
            // No type: service events carry only invokedBy.
            if let Some(s) = &id.invoked_by {
                return Some((origin::service(s), Confidence::Exact));
            }
            None
        }
    }
}

/// The IAM form of the role a session belongs to, from a session ARN.
fn role_arn_from_session_arn(arn: &str) -> Option<String> {
    let (acct, role, _) = parse_assumed_role_arn(arn)?;
    Some(iam_role_arn(acct, role))
}

impl SessionGraph {
    /// Builds the graph from every issuance row (failed ones are ignored here: they issue
    /// nothing). All input must be read first: links do not depend on input order.
    pub fn build(mut issuances: Vec<IssuanceIn>) -> SessionGraph {
        let mut g = SessionGraph {
            sessions: Vec::new(),
            by_key: FxHashMap::default(),
            by_arn: FxHashMap::default(),
            by_event: FxHashMap::default(),
            by_shared: FxHashMap::default(),
            orphans: FxHashMap::default(),
            graph: DiGraph::new(),
            origin_nodes: FxHashMap::default(),
            session_nodes: Vec::new(),
            loops: Vec::new(),
        };
        let t0 = std::time::Instant::now();
        // Successful issuances, sorted deterministically; caller copies before role-account
        // copies so the caller copy defines the session's caller.
        // Indices, sorted (the rows are large: moved out one at a time below, not sorted).
        let mut order: Vec<usize> = (0..issuances.len())
            .filter(|&i| issuances[i].error_code.is_none() && issuances[i].kind.is_some())
            .collect();
        let resource_copy =
            |i: &IssuanceIn| IdentityType::AWSAccount.matches(i.caller.kind.as_deref());
        order.sort_by(|&a, &b| {
            let (a, b) = (&issuances[a], &issuances[b]);
            (
                a.event_time,
                resource_copy(a),
                &a.event_id,
                &a.recipient_account,
            )
                .cmp(&(
                    b.event_time,
                    resource_copy(b),
                    &b.event_id,
                    &b.recipient_account,
                ))
        });
        let mut by_session_key: FxHashMap<SessionKey, usize> = FxHashMap::default();
        for i in order {
            // Each row is used once: its strings are moved into the graph, not copied.
            let mut row = std::mem::take(&mut issuances[i]);
            let kind = row.kind.expect("filtered");
            let evidence = Evidence {
                event_id: row.event_id.clone(),
                recipient_account: row.recipient_account.clone(),
                source_file: row.source_file.take(),
                record_index: row.record_index,
            };
            let (session_arn, role_arn, account) = session_identity(&row, kind);
            let key = row.issued_key.clone().filter(|k| usable_key(k));
            let skey = (key.clone(), row.event_time, session_arn.clone());
            // Pair both copies of one call: same sharedEventID, or the same session key.
            let existing = row
                .shared_event_id
                .as_ref()
                .and_then(|s| g.by_shared.get(s).copied())
                .filter(|&i| g.sessions[i].issued_key == key)
                .or_else(|| by_session_key.get(&skey).copied());
            if let Some(i) = existing {
                let s = &mut g.sessions[i];
                s.issuance.push(evidence);
                if IdentityType::AWSAccount.matches(s.caller_identity.kind.as_deref())
                    && !IdentityType::AWSAccount.matches(row.caller.kind.as_deref())
                {
                    s.caller_identity = std::mem::take(&mut row.caller);
                    s.source_ip = row.source_ip.take();
                    s.user_agent = row.user_agent.take();
                }
                if let Some(e) = &row.event_id {
                    g.index_event(e, &row.recipient_account, i);
                }
                continue;
            }
            let idx = g.sessions.len();
            let id = format!(
                "{}@{}",
                key.as_deref()
                    .or(session_arn.as_deref())
                    .unwrap_or("unknown"),
                row.event_time.map(format_time).unwrap_or_default()
            );
            let mfa = row.serial_number.is_some() || row.caller.mfa_authenticated == Some(true);
            // The origin string of identity-provider issuances lives in the issuance, not in
            // the caller identity: made now, before the row's strings move into the session.
            let caller = match kind {
                IssuanceKind::AssumeRoleWithSAML => Link::Origin(
                    origin::saml(
                        row.saml_provider_arn
                            .as_deref()
                            .or(row.caller.identity_provider.as_deref())
                            .unwrap_or(""),
                        row.saml_subject
                            .as_deref()
                            .or(row.caller.user_name.as_deref())
                            .unwrap_or(""),
                    ),
                    Confidence::Exact,
                ),
                IssuanceKind::AssumeRoleWithWebIdentity => Link::Origin(
                    origin::oidc(
                        row.caller
                            .identity_provider
                            .as_deref()
                            .or(row.oidc_provider.as_deref())
                            .unwrap_or(""),
                        row.oidc_subject
                            .as_deref()
                            .or(row.caller.user_name.as_deref())
                            .unwrap_or(""),
                    ),
                    Confidence::Exact,
                ),
                _ => Link::Origin(String::new(), Confidence::Unknown),
            };
            let session_name = row.role_session_name.take().or_else(|| {
                session_arn
                    .as_deref()
                    .and_then(parse_assumed_role_arn)
                    .map(|(_, _, s)| s.to_string())
            });
            g.sessions.push(Session {
                id,
                kind: Some(kind),
                issued_key: key.clone(),
                issued_at: row.event_time,
                expiration: row.expiration.or_else(|| {
                    Some(
                        row.event_time?
                            + row.duration_seconds.unwrap_or(default_duration(kind)) * 1000,
                    )
                }),
                session_arn: session_arn.clone(),
                role_arn,
                session_name,
                account,
                own_source_identity: row.source_identity.take(),
                mfa,
                issuance: vec![evidence],
                shared_event_id: row.shared_event_id.clone(),
                source_ip: row.source_ip.take(),
                user_agent: row.user_agent.take(),
                caller_identity: std::mem::take(&mut row.caller),
                orphan: false,
                caller,
                parent: None,
                origin: String::new(),
                chain: Vec::new(),
                confidence: Confidence::Unknown,
                source_identity: None,
                cycle: false,
            });
            by_session_key.insert(skey, idx);
            if let Some(k) = key {
                g.by_key.entry(k).or_default().push(idx);
            }
            if let Some(a) = session_arn {
                g.by_arn.entry(a).or_default().push(idx);
            }
            if let Some(s) = row.shared_event_id.take() {
                g.by_shared.entry(s).or_insert(idx);
            }
            if let Some(e) = &row.event_id {
                g.index_event(e, &row.recipient_account, idx);
            }
        }
        for v in g.by_key.values_mut().chain(g.by_arn.values_mut()) {
            v.sort_by_key(|&i| g.sessions[i].issued_at);
        }
        // Resolve every issued session's caller (may synthesise orphan parents).
        for i in 0..g.sessions.len() {
            if matches!(&g.sessions[i].caller, Link::Origin(o, _) if o.is_empty()) {
                let caller = g.sessions[i].caller_identity.clone();
                let at = g.sessions[i].issued_at;
                let link = g.resolve_caller(&caller, at, Some(i));
                g.sessions[i].caller = link;
            }
        }
        g.finish();
        trailgraph_log::ingest::profile("build sessions and callers", t0);
        g
    }

    /// The session whose issued key is `key` (when usable) and issuance time `cd`, when one of
    /// identity type `kind` can act with it (not `child`): the exact link, the first rule of
    /// `resolve_caller`. Takes the identity's fields borrowed, so attribution can try it before
    /// it makes an `Identity`.
    pub(crate) fn exact_session(
        &self,
        kind: Option<IdentityType>,
        key: Option<&str>,
        cd: Option<Millis>,
        child: Option<usize>,
    ) -> Option<usize> {
        let (k, cd) = (key.filter(|k| usable_key(k))?, cd?);
        let &s = self
            .by_key
            .get(k)?
            .iter()
            .find(|&&s| self.sessions[s].issued_at == Some(cd) && Some(s) != child)?;
        self.kind_fits(s, kind).then_some(s)
    }

    /// Resolves an identity that signed a request (at time `at`) to a session or origin.
    /// `child` is the session being issued, when resolving an issuance's caller (used to refuse
    /// self-links).
    fn resolve_caller(&mut self, id: &Identity, at: Option<Millis>, child: Option<usize>) -> Link {
        let kind = id.identity_type();
        let key = id.access_key_id.as_deref().filter(|k| usable_key(k));
        // 1. Exact: issued key + creationDate = issuance time.
        if let Some(s) = self.exact_session(kind, key, id.creation_date, child) {
            return Link::Session(s, Confidence::Exact);
        }
        let session_arn = match kind {
            Some(IdentityType::AssumedRole | IdentityType::FederatedUser) => id.arn.clone(),
            Some(IdentityType::Root) if key.is_some_and(is_temporary_key) => None,
            _ => None,
        };
        // 2. Inferred: session ARN + creationDate (console SwitchRole, Identity Center,
        //    redacted keys).
        if let (Some(arn), Some(cd)) = (session_arn.as_deref(), id.creation_date) {
            if let Some(c) = self.by_arn.get(arn) {
                if let Some(&s) = c
                    .iter()
                    .find(|&&s| self.sessions[s].issued_at == Some(cd) && Some(s) != child)
                {
                    return Link::Session(s, Confidence::Inferred);
                }
            }
        }
        // 2b. Key without creationDate, within the credential lifetime.
        if let (Some(k), None, Some(t)) = (key, id.creation_date, at) {
            if let Some(s) = self.latest_live(self.by_key.get(k), t, child) {
                if self.kind_fits(s, kind) {
                    return Link::Session(s, Confidence::Inferred);
                }
            }
        }
        // 3. Inferred: session ARN within the credential lifetime.
        if let (Some(arn), Some(t)) = (session_arn.as_deref(), at) {
            if id.creation_date.is_none() {
                if let Some(s) = self.latest_live(self.by_arn.get(arn), t, child) {
                    return Link::Session(s, Confidence::Inferred);
                }
            }
        }
        match kind {
            Some(IdentityType::AssumedRole) => {
                // 4. The issuance is not in the input: an orphan session. The link to it is as
                //    strong as the match a later use would make (key + creationDate: exact);
                //    the orphan's own confidence is unknown, which bounds everything below it.
                let link = if key.is_some() && id.creation_date.is_some() {
                    Confidence::Exact
                } else {
                    Confidence::Inferred
                };
                Link::Session(self.orphan(id), link)
            }
            _ => match direct_origin(id) {
                Some((o, c)) => Link::Origin(o, c),
                None => Link::Origin(origin::unknown(key.unwrap_or("")), Confidence::Unknown),
            },
        }
    }

    /// Does session `s` issue the kind of credentials an identity of type `kind` signs with?
    fn kind_fits(&self, s: usize, kind: Option<IdentityType>) -> bool {
        let k = self.sessions[s].kind;
        match kind {
            Some(IdentityType::AssumedRole) => k.is_none_or(|k| k.is_role_assumption()),
            Some(IdentityType::IAMUser) => k == Some(IssuanceKind::GetSessionToken),
            Some(IdentityType::Root) => matches!(
                k,
                Some(IssuanceKind::AssumeRoot) | Some(IssuanceKind::GetSessionToken)
            ),
            Some(IdentityType::FederatedUser) => k == Some(IssuanceKind::GetFederationToken),
            _ => true,
        }
    }

    /// Whether `link(id, at)` is the same whatever `at`: only the links made without a
    /// creationDate, a key or a session ARN matched within a credential lifetime, depend on the
    /// time (`resolve_caller` steps 2b and 3). True for a dated identity, and for one with
    /// neither a session ARN nor a key any session was issued (an IAM user's long-term key, an
    /// AWS service).
    pub(crate) fn timeless(&self, id: &Identity) -> bool {
        if id.creation_date.is_some() {
            return true;
        }
        let key = id.access_key_id.as_deref().filter(|k| usable_key(k));
        !matches!(
            id.identity_type(),
            Some(IdentityType::AssumedRole | IdentityType::FederatedUser)
        ) && key.is_none_or(|k| !self.by_key.contains_key(k))
    }

    /// The times at which `link(id, t)` may change, sorted and distinct: where a session that
    /// a time-dependent link can pick (`resolve_caller` steps 2b and 3, `latest_live`) starts
    /// (its issuance time) or stops (1001 ms after its expiration) being live. Between two of
    /// them, and before the first, the link is the same for every time. For `resolve`'s
    /// validity intervals; meaningful for an identity that is not `timeless`.
    pub(crate) fn link_breakpoints(&self, id: &Identity) -> Vec<Millis> {
        let key = id.access_key_id.as_deref().filter(|k| usable_key(k));
        let arn = match id.identity_type() {
            Some(IdentityType::AssumedRole | IdentityType::FederatedUser) => id.arn.as_deref(),
            _ => None,
        };
        let by_key = key.and_then(|k| self.by_key.get(k));
        let by_arn = arn.and_then(|a| self.by_arn.get(a));
        let mut times: Vec<Millis> = Vec::new();
        for &s in by_key.into_iter().chain(by_arn).flatten() {
            let se = &self.sessions[s];
            times.extend(se.issued_at);
            times.extend(se.expiration.map(|e| e.saturating_add(1001)));
        }
        times.sort_unstable();
        times.dedup();
        times
    }

    fn latest_live(
        &self,
        cands: Option<&Vec<usize>>,
        t: Millis,
        child: Option<usize>,
    ) -> Option<usize> {
        cands?.iter().rev().copied().find(|&s| {
            let se = &self.sessions[s];
            Some(s) != child
                && se.issued_at.is_some_and(|i| i <= t)
                && se.expiration.is_none_or(|e| t <= e + 1000)
        })
    }

    /// The orphan session for an AssumedRole identity whose issuance is not in the input.
    fn orphan(&mut self, id: &Identity) -> usize {
        let okey = (id.access_key_id.clone(), id.creation_date, id.arn.clone());
        if let Some(&i) = self.orphans.get(&okey) {
            return i;
        }
        let role_arn = id
            .issuer_arn
            .clone()
            .or_else(|| id.arn.as_deref().and_then(role_arn_from_session_arn));
        let key = id.access_key_id.clone().filter(|k| !k.is_empty());
        let origin = origin::unknown(key.as_deref().unwrap_or(""));
        let idx = self.sessions.len();
        self.sessions.push(Session {
            id: format!(
                "{}@{}",
                key.as_deref().or(id.arn.as_deref()).unwrap_or("unknown"),
                id.creation_date.map(format_time).unwrap_or_default()
            ),
            kind: None,
            issued_key: key.clone(),
            issued_at: id.creation_date,
            expiration: None,
            session_arn: id.arn.clone(),
            role_arn,
            session_name: id
                .arn
                .as_deref()
                .and_then(parse_assumed_role_arn)
                .map(|(_, _, s)| s.to_string()),
            account: id
                .account
                .clone()
                .or_else(|| id.arn.as_deref().and_then(arn_account).map(String::from)),
            own_source_identity: id.source_identity.clone(),
            mfa: id.mfa_authenticated == Some(true),
            issuance: Vec::new(),
            shared_event_id: None,
            source_ip: None,
            user_agent: None,
            caller_identity: Identity::default(),
            orphan: true,
            caller: Link::Origin(origin, Confidence::Unknown),
            parent: None,
            origin: String::new(),
            chain: Vec::new(),
            confidence: Confidence::Unknown,
            source_identity: None,
            cycle: false,
        });
        self.orphans.insert(okey, idx);
        if let Some(k) = &key {
            // Later uses of the same key+creationDate link exactly to the orphan.
            let v = self.by_key.entry(k.clone()).or_default();
            v.push(idx);
        }
        idx
    }

    /// Resolves every session's parent, origin, chain, confidence and sourceIdentity, and
    /// builds the petgraph view.
    fn finish(&mut self) {
        let n = self.sessions.len();
        let mut done = vec![false; n];
        for i in 0..n {
            self.resolve_session(i, &mut done);
        }
        self.rebuild_graph();
    }

    fn resolve_session(&mut self, start: usize, done: &mut Vec<bool>) {
        if done.len() < self.sessions.len() {
            done.resize(self.sessions.len(), false);
        }
        // Walk up to a resolved ancestor or an origin, iteratively (chains of any depth).
        let mut path = Vec::new();
        let mut on_path: BTreeSet<usize> = BTreeSet::new();
        let mut cur = start;
        loop {
            if done[cur] {
                break;
            }
            if !on_path.insert(cur) {
                // A loop in the data (recycled key ids can do this): cut it here.
                self.loops.push(self.sessions[cur].id.clone());
                let s = &mut self.sessions[cur];
                s.caller = Link::Origin(
                    origin::unknown(s.issued_key.as_deref().unwrap_or("")),
                    Confidence::Unknown,
                );
                break;
            }
            path.push(cur);
            match self.sessions[cur].caller.clone() {
                Link::Session(p, _) => cur = p,
                Link::Origin(..) => break,
            }
        }
        for &s in path.iter().rev() {
            let (parent, origin, mut chain, conf, parent_si) = match self.sessions[s].caller.clone()
            {
                Link::Session(p, c) => {
                    let ps = &self.sessions[p];
                    (
                        Some(p),
                        ps.origin.clone(),
                        ps.chain.clone(),
                        ps.confidence.min(c),
                        ps.source_identity.clone(),
                    )
                }
                Link::Origin(o, c) => (None, o, Vec::new(), c, None),
            };
            let se = &self.sessions[s];
            let hop = hop_element(se);
            let mut cycle = false;
            if let Some(h) = hop {
                cycle = chain.contains(&h) && se.role_arn.is_some();
                chain.push(h);
            }
            let conf = if se.orphan { Confidence::Unknown } else { conf };
            let si = se.own_source_identity.clone().or(parent_si);
            let se = &mut self.sessions[s];
            se.parent = parent;
            se.origin = origin;
            se.chain = chain;
            se.confidence = conf;
            se.source_identity = si;
            se.cycle = cycle;
            done[s] = true;
        }
    }

    fn rebuild_graph(&mut self) {
        let mut graph = DiGraph::new();
        let mut origin_nodes: FxHashMap<String, NodeIndex> = FxHashMap::default();
        let session_nodes: Vec<NodeIndex> = (0..self.sessions.len())
            .map(|i| graph.add_node(Node::Session(i)))
            .collect();
        let mut origins: Vec<&str> = self.sessions.iter().map(|s| s.origin.as_str()).collect();
        origins.sort_unstable();
        origins.dedup();
        for o in origins {
            origin_nodes.insert(o.to_string(), graph.add_node(Node::Origin));
        }
        for (i, s) in self.sessions.iter().enumerate() {
            let (from, conf) = match (&s.parent, &s.caller) {
                (Some(p), Link::Session(_, c)) => (session_nodes[*p], *c),
                (_, Link::Origin(_, c)) => (origin_nodes[&s.origin], *c),
                (_, Link::Session(_, c)) => (origin_nodes[&s.origin], *c),
            };
            graph.add_edge(from, session_nodes[i], conf);
        }
        self.graph = graph;
        self.origin_nodes = origin_nodes;
        self.session_nodes = session_nodes;
    }

    /// Attribution of an action signed by `id` at time `at`. Creates orphan sessions for
    /// unknown AssumedRole keys (call `settle` afterwards).
    /// Records that the issuance event (`recipient`, `event_id`) belongs to session `s` (the
    /// last one recorded wins, as in a map).
    fn index_event(&mut self, event_id: &str, recipient: &Option<String>, s: usize) {
        let v = self.by_event.entry(event_id.to_string()).or_default();
        match v.iter_mut().find(|(r, _)| r == recipient) {
            Some(e) => e.1 = s,
            None => v.push((recipient.clone(), s)),
        }
    }

    /// What an action signed by `id` at `at` is attributed to (a session or an origin); made an
    /// `Attribution` by `attribution_of`. May add an orphan session.
    pub fn link(&mut self, id: &Identity, at: Option<Millis>) -> Link {
        self.resolve_caller(id, at, None)
    }

    /// The caller link of the issuance event `event_id` (the copy delivered to `recipient`): an
    /// issuance event is attributed to its caller.
    pub(crate) fn issuance_event_link(
        &self,
        recipient: Option<&str>,
        event_id: &str,
    ) -> Option<Link> {
        let s = self
            .by_event
            .get(event_id)?
            .iter()
            .find(|(r, _)| r.as_deref() == recipient)?
            .1;
        Some(self.sessions[s].caller.clone())
    }

    /// The Identity Center session a portal `GetRoleCredentials` / `Federate` call (IdC
    /// account) led to: the AssumeRoleWithSAML into `AWSReservedSSO_<permission set>_…` in
    /// `account`, closest in time within `window_ms` (spec 2.4.11, Appendix A.2). Best effort.
    pub(crate) fn sso_session_for(
        &self,
        account: &str,
        permission_set: &str,
        at: Millis,
        window_ms: i64,
    ) -> Option<usize> {
        let prefix = format!("AWSReservedSSO_{permission_set}_");
        self.sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.kind == Some(IssuanceKind::AssumeRoleWithSAML)
                    && s.account.as_deref() == Some(account)
                    && s.role_arn
                        .as_deref()
                        .is_some_and(|r| role_name(r).starts_with(&prefix))
                    && s.issued_at.is_some_and(|t| (t - at).abs() <= window_ms)
            })
            .min_by_key(|(i, s)| ((s.issued_at.unwrap_or(at) - at).abs(), *i))
            .map(|(i, _)| i)
    }

    /// The attribution a caller link gives an action of `id` (which only matters for a link to
    /// an origin: its sourceIdentity). For a link to a session it depends on the session and
    /// the link's confidence alone.
    pub(crate) fn attribution_of(&mut self, link: Link, id: &Identity) -> Attribution {
        match link {
            Link::Session(s, c) => {
                if self.sessions[s].origin.is_empty() {
                    let mut done = vec![false; self.sessions.len()];
                    for (i, d) in done.iter_mut().enumerate() {
                        *d = !self.sessions[i].origin.is_empty();
                    }
                    self.resolve_session(s, &mut done);
                }
                let se = &self.sessions[s];
                Attribution {
                    session: Some(s),
                    origin: se.origin.clone(),
                    chain: se.chain.clone(),
                    confidence: se.confidence.min(c),
                    source_identity: se.source_identity.clone(),
                }
            }
            Link::Origin(o, c) => Attribution {
                session: None,
                origin: o,
                chain: Vec::new(),
                confidence: c,
                source_identity: id.source_identity.clone(),
            },
        }
    }

    /// Rebuilds the petgraph view after orphans were added by `attribute`.
    pub fn settle(&mut self) {
        let mut done: Vec<bool> = self.sessions.iter().map(|s| !s.origin.is_empty()).collect();
        for i in 0..self.sessions.len() {
            self.resolve_session(i, &mut done);
        }
        self.rebuild_graph();
    }

    /// Sessions descending from `s` (not including it), depth-first in index order.
    pub fn descendants(&self, s: usize) -> Vec<usize> {
        let start = self.session_nodes[s];
        self.collect_from(start, Some(s))
    }

    /// Sessions whose origin is `origin`, at any depth.
    pub fn sessions_of_origin(&self, origin: &str) -> Vec<usize> {
        match self.origin_nodes.get(origin) {
            Some(&n) => self.collect_from(n, None),
            None => Vec::new(),
        }
    }

    fn collect_from(&self, start: NodeIndex, skip: Option<usize>) -> Vec<usize> {
        let mut out = Vec::new();
        let mut dfs = Dfs::new(&self.graph, start);
        while let Some(n) = dfs.next(&self.graph) {
            if let Node::Session(i) = self.graph[n] {
                if Some(i) != skip {
                    out.push(i);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Direct children of a session.
    pub fn children(&self, s: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .graph
            .edges_directed(self.session_nodes[s], Direction::Outgoing)
            .filter_map(|e| match self.graph[e.target()] {
                Node::Session(i) => Some(i),
                Node::Origin => None,
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// The path of sessions from the top of the chain down to `s`.
    pub fn ancestry(&self, s: usize) -> Vec<usize> {
        let mut path = vec![s];
        let mut seen = BTreeSet::from([s]);
        let mut cur = s;
        while let Some(p) = self.sessions[cur].parent {
            if !seen.insert(p) {
                break;
            }
            path.push(p);
            cur = p;
        }
        path.reverse();
        path
    }

    /// All origins, sorted.
    pub fn origins(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.origin_nodes.keys().map(|s| s.as_str()).collect();
        v.sort_unstable();
        v
    }

    /// Sessions issued with a given key (any issuance time).
    pub fn sessions_with_key(&self, key: &str) -> Vec<usize> {
        self.by_key.get(key).cloned().unwrap_or_default()
    }

    /// Sessions acting as a given session ARN.
    pub fn sessions_with_arn(&self, arn: &str) -> Vec<usize> {
        self.by_arn.get(arn).cloned().unwrap_or_default()
    }
}

/// Default credential lifetime per issuance kind, seconds (spec 2.4).
fn default_duration(kind: IssuanceKind) -> i64 {
    match kind {
        IssuanceKind::GetSessionToken | IssuanceKind::GetFederationToken => 43_200,
        IssuanceKind::AssumeRoot => 900,
        _ => 3_600,
    }
}

/// What the session adds to the chain: its role (IAM form), the target root for AssumeRoot,
/// nothing for GetSessionToken / GetFederationToken.
fn hop_element(s: &Session) -> Option<String> {
    match s.kind {
        Some(IssuanceKind::GetSessionToken) | Some(IssuanceKind::GetFederationToken) => None,
        Some(IssuanceKind::AssumeRoot) => s.role_arn.clone(),
        _ => s.role_arn.clone(),
    }
}

/// (session ARN, role ARN in IAM form, account) of the session an issuance creates.
/// Public for `attribute::ancestry_issuances`.
pub(crate) fn session_identity(
    row: &IssuanceIn,
    kind: IssuanceKind,
) -> (Option<String>, Option<String>, Option<String>) {
    match kind {
        IssuanceKind::AssumeRole
        | IssuanceKind::AssumeRoleWithSAML
        | IssuanceKind::AssumeRoleWithWebIdentity => {
            let role = row.role_arn.clone();
            let arn = row
                .assumed_role_arn
                .clone()
                .or_else(|| session_arn_for(role.as_deref()?, row.role_session_name.as_deref()?));
            let acct = role
                .as_deref()
                .and_then(arn_account)
                .or_else(|| arn.as_deref().and_then(arn_account))
                .map(String::from);
            (arn, role, acct)
        }
        IssuanceKind::GetSessionToken => (row.caller.arn.clone(), None, row.caller.account.clone()),
        IssuanceKind::GetFederationToken => {
            let acct = row
                .federated_user_arn
                .as_deref()
                .and_then(arn_account)
                .map(String::from)
                .or_else(|| row.caller.account.clone());
            (row.federated_user_arn.clone(), None, acct)
        }
        IssuanceKind::AssumeRoot => {
            let target = row.target_principal.clone();
            let root = target.as_deref().map(|t| {
                if t.starts_with("arn:") {
                    t.to_string()
                } else {
                    iam_root_arn(t)
                }
            });
            let acct = root.as_deref().and_then(arn_account).map(String::from);
            (root.clone(), root, acct)
        }
    }
}
