//! Attribution of every event: frames → session graph → one (session, origin, chain, depth,
//! confidence, sourceIdentity) per event.
//!
//! Work and memory grow with distinct signing identities, not with events: events are grouped
//! by a 128-bit hash of their identity fields and each distinct identity is resolved once
//! (unless its link depends on the event time, which only happens without a creationDate).

use crate::graph::{Attribution, Identity, IssuanceIn, Link, SessionGraph};
use anyhow::Result;
use polars::prelude::*;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use trailgraph_log::model::{Confidence, IdentityType, IssuanceKind, Millis};
use trailgraph_log::signature::IdentityFields;
use trailgraph_log::table::{event, issuance};
use trailgraph_store::pinned::{table_column, Arr, BoolArr, StrArr, TimeArr};
use trailgraph_store::Frames;

/// A copy of `df` whose columns are each one contiguous chunk (cheap: columns are shared).
pub fn single_chunk(df: &DataFrame) -> DataFrame {
    let mut d = df.clone();
    d.rechunk_mut_par();
    d
}

/// Column accessors over a frame (single chunk), by name: a constant of `table::event`,
/// `table::issuance` or `attributed`.
pub struct Cols<'a> {
    df: &'a DataFrame,
}

impl<'a> Cols<'a> {
    pub fn new(df: &'a DataFrame) -> Self {
        Cols { df }
    }
    pub fn s(&self, name: &str) -> Result<&'a StringChunked> {
        Ok(self.df.column(name)?.str()?)
    }
    pub fn t(&self, name: &str) -> Result<&'a Int64Chunked> {
        Ok(self.df.column(name)?.datetime()?.physical())
    }
    pub fn i(&self, name: &str) -> Result<&'a Int64Chunked> {
        Ok(self.df.column(name)?.i64()?)
    }
    pub fn b(&self, name: &str) -> Result<&'a BooleanChunked> {
        Ok(self.df.column(name)?.bool()?)
    }
    pub fn u(&self, name: &str) -> Result<&'a UInt64Chunked> {
        Ok(self.df.column(name)?.u64()?)
    }
}

fn own(v: Option<&str>) -> Option<String> {
    v.map(String::from)
}

/// Reads the issuances frame into graph input rows.
pub(crate) fn issuances_in(df: &DataFrame) -> Result<Vec<IssuanceIn>> {
    let df = crate::attribute::single_chunk(df);
    let c = Cols::new(&df);
    let (kind, eid, et, rcpt, shared, err) = (
        c.s(issuance::kind)?,
        c.s(issuance::event_id)?,
        c.t(issuance::event_time)?,
        c.s(issuance::recipient_account)?,
        c.s(issuance::shared_event_id)?,
        c.s(issuance::error_code)?,
    );
    let (ip, ua, region) = (
        c.s(issuance::source_ip)?,
        c.s(issuance::user_agent)?,
        c.s(issuance::aws_region)?,
    );
    let (ct, carn, cpid, cacct, ckey, ccd, cinv, ciarn, cityp, cuser, cidp, csi, cmfa) = (
        c.s(issuance::caller_type)?,
        c.s(issuance::caller_arn)?,
        c.s(issuance::caller_principal_id)?,
        c.s(issuance::caller_account)?,
        c.s(issuance::caller_access_key_id)?,
        c.t(issuance::caller_creation_date)?,
        c.s(issuance::caller_invoked_by)?,
        c.s(issuance::caller_issuer_arn)?,
        c.s(issuance::caller_issuer_type)?,
        c.s(issuance::caller_user_name)?,
        c.s(issuance::caller_identity_provider)?,
        c.s(issuance::caller_source_identity)?,
        c.b(issuance::caller_mfa_authenticated)?,
    );
    let (role, rsn, serial, ext, si, key, aarn, exp, dur) = (
        c.s(issuance::role_arn)?,
        c.s(issuance::role_session_name)?,
        c.s(issuance::serial_number)?,
        c.s(issuance::external_id)?,
        c.s(issuance::source_identity)?,
        c.s(issuance::issued_access_key_id)?,
        c.s(issuance::assumed_role_arn)?,
        c.t(issuance::expiration)?,
        c.i(issuance::duration_seconds)?,
    );
    let (sp, ss, op, os, fua, tp, sf, ri) = (
        c.s(issuance::saml_provider_arn)?,
        c.s(issuance::saml_subject)?,
        c.s(issuance::oidc_provider)?,
        c.s(issuance::oidc_subject)?,
        c.s(issuance::federated_user_arn)?,
        c.s(issuance::target_principal)?,
        c.s(issuance::source_file)?,
        c.u(issuance::record_index)?,
    );
    // In parallel: ~30 strings a row are copied out, and the graph build waits for them.
    let out = (0..df.height())
        .into_par_iter()
        .with_min_len(1024)
        .map(|i| IssuanceIn {
            kind: kind.get(i).and_then(IssuanceKind::parse),
            event_id: own(eid.get(i)),
            event_time: et.get(i),
            recipient_account: own(rcpt.get(i)),
            shared_event_id: own(shared.get(i)),
            error_code: own(err.get(i)),
            source_ip: own(ip.get(i)),
            user_agent: own(ua.get(i)),
            aws_region: own(region.get(i)),
            caller: Identity {
                kind: own(ct.get(i)),
                arn: own(carn.get(i)),
                principal_id: own(cpid.get(i)),
                account: own(cacct.get(i)),
                access_key_id: own(ckey.get(i)),
                creation_date: ccd.get(i),
                invoked_by: own(cinv.get(i)),
                issuer_arn: own(ciarn.get(i)),
                issuer_type: own(cityp.get(i)),
                user_name: own(cuser.get(i)),
                identity_provider: own(cidp.get(i)),
                source_identity: own(csi.get(i)),
                mfa_authenticated: cmfa.get(i),
                on_behalf_of_user_id: None,
                on_behalf_of_store_arn: None,
            },
            role_arn: own(role.get(i)),
            role_session_name: own(rsn.get(i)),
            serial_number: own(serial.get(i)),
            external_id: own(ext.get(i)),
            source_identity: own(si.get(i)),
            issued_key: own(key.get(i)),
            assumed_role_arn: own(aarn.get(i)),
            expiration: exp.get(i),
            duration_seconds: dur.get(i),
            saml_provider_arn: own(sp.get(i)),
            saml_subject: own(ss.get(i)),
            oidc_provider: own(op.get(i)),
            oidc_subject: own(os.get(i)),
            federated_user_arn: own(fua.get(i)),
            target_principal: own(tp.get(i)),
            source_file: own(sf.get(i)),
            record_index: ri.get(i).unwrap_or(0),
        })
        .collect();
    Ok(out)
}

/// The identity columns of the events frame.
pub(crate) struct IdentityCols<'a> {
    kind: StrArr<'a>,
    arn: StrArr<'a>,
    pid: StrArr<'a>,
    acct: StrArr<'a>,
    key: StrArr<'a>,
    cd: TimeArr<'a>,
    inv: StrArr<'a>,
    iarn: StrArr<'a>,
    ityp: StrArr<'a>,
    user: StrArr<'a>,
    idp: StrArr<'a>,
    si: StrArr<'a>,
    mfa: BoolArr<'a>,
    obo: StrArr<'a>,
    obs: StrArr<'a>,
}

impl<'a> IdentityCols<'a> {
    /// `df` must be single-chunk (see `single_chunk`).
    pub fn new(df: &'a DataFrame) -> Result<Self> {
        let c = Cols::new(df);
        let s = |n: &str| -> Result<StrArr<'a>> { Arr::of(c.s(n)?) };
        Ok(IdentityCols {
            kind: s(event::identity_type)?,
            arn: s(event::identity_arn)?,
            pid: s(event::principal_id)?,
            acct: s(event::identity_account)?,
            key: s(event::access_key_id)?,
            cd: Arr::of(c.t(event::creation_date)?)?,
            inv: s(event::invoked_by)?,
            iarn: s(event::issuer_arn)?,
            ityp: s(event::issuer_type)?,
            user: s(event::user_name)?,
            idp: s(event::identity_provider)?,
            si: s(event::source_identity)?,
            mfa: Arr::of(c.b(event::mfa_authenticated)?)?,
            obo: s(event::on_behalf_of_user_id)?,
            obs: s(event::on_behalf_of_store_arn)?,
        })
    }

    /// Row `i`'s identity signature (`trailgraph_log::signature`: what ingest stores as
    /// `identity_sig`).
    pub(crate) fn signature(&self, i: usize) -> u128 {
        IdentityFields {
            identity_type: self.kind.get(i),
            identity_arn: self.arn.get(i),
            principal_id: self.pid.get(i),
            identity_account: self.acct.get(i),
            access_key_id: self.key.get(i),
            creation_date: self.cd.get(i),
            invoked_by: self.inv.get(i),
            issuer_arn: self.iarn.get(i),
            issuer_type: self.ityp.get(i),
            user_name: self.user.get(i),
            identity_provider: self.idp.get(i),
            source_identity: self.si.get(i),
            mfa_authenticated: self.mfa.get(i),
            on_behalf_of_user_id: self.obo.get(i),
            on_behalf_of_store_arn: self.obs.get(i),
        }
        .signature()
    }

    /// The signature of each of the `n` rows, in parallel.
    fn signatures(&self, n: usize) -> Vec<u128> {
        (0..n)
            .into_par_iter()
            .with_min_len(4096)
            .map(|i| self.signature(i))
            .collect()
    }

    pub fn identity(&self, i: usize) -> Identity {
        Identity {
            kind: own(self.kind.get(i)),
            arn: own(self.arn.get(i)),
            principal_id: own(self.pid.get(i)),
            account: own(self.acct.get(i)),
            access_key_id: own(self.key.get(i)),
            creation_date: self.cd.get(i),
            invoked_by: own(self.inv.get(i)),
            issuer_arn: own(self.iarn.get(i)),
            issuer_type: own(self.ityp.get(i)),
            user_name: own(self.user.get(i)),
            identity_provider: own(self.idp.get(i)),
            source_identity: own(self.si.get(i)),
            mfa_authenticated: self.mfa.get(i),
            on_behalf_of_user_id: own(self.obo.get(i)),
            on_behalf_of_store_arn: own(self.obs.get(i)),
        }
    }
}

/// The attribution of every event, in the order of the events frame.
pub struct Attributed {
    pub graph: SessionGraph,
    /// Distinct attributions.
    pub table: Vec<Attribution>,
    /// Per event: index into `table`.
    pub per_event: Vec<u32>,
}

impl Attributed {
    pub fn of(&self, event_row: usize) -> &Attribution {
        &self.table[self.per_event[event_row] as usize]
    }
}

/// How far apart an Identity Center GetRoleCredentials and its AssumeRoleWithSAML may be.
const SSO_WINDOW_MS: i64 = 60_000;

/// The events columns attribution reads (for projected case loading).
pub const ATTRIBUTION_COLUMNS: &[&str] = &[
    event::event_id,
    event::recipient_account,
    event::shared_event_id,
    event::event_time,
    event::sso_account_id,
    event::sso_role_name,
    event::identity_type,
    event::identity_arn,
    event::principal_id,
    event::identity_account,
    event::access_key_id,
    event::creation_date,
    event::invoked_by,
    event::issuer_arn,
    event::issuer_type,
    event::user_name,
    event::identity_provider,
    event::source_identity,
    event::mfa_authenticated,
    event::on_behalf_of_user_id,
    event::on_behalf_of_store_arn,
    event::source_file,
    event::record_index,
];

/// What attribution carries from one frame of events to the next: the session graph (which
/// grows orphan sessions as unknown keys are met) and the distinct attributions so far.
pub struct AttributionState {
    pub graph: SessionGraph,
    table: Vec<Attribution>,
    intern: FxHashMap<Attribution, u32>,
    /// The table index of each (session, link confidence) attributed so far: what a link to a
    /// session gives depends on these alone (see `SessionGraph::attribution_of`).
    by_session: FxHashMap<(usize, Confidence), u32>,
    memo: FxHashMap<u128, u32>,
}

impl AttributionState {
    pub fn new(graph: SessionGraph) -> AttributionState {
        AttributionState {
            graph,
            table: Vec::new(),
            intern: FxHashMap::default(),
            by_session: FxHashMap::default(),
            memo: FxHashMap::default(),
        }
    }

    /// The distinct attributions so far (what `Attributor::row` indexes).
    pub fn table(&self) -> &[Attribution] {
        &self.table
    }

    /// The table index of what `link` gives an action of `id`.
    pub(crate) fn put_link(&mut self, link: Link, id: &Identity) -> u32 {
        if let Link::Session(s, c) = link {
            if let Some(&t) = self.by_session.get(&(s, c)) {
                return t;
            }
            let a = self.graph.attribution_of(link, id);
            let t = self.put(a);
            self.by_session.insert((s, c), t);
            return t;
        }
        let a = self.graph.attribution_of(link, id);
        self.put(a)
    }

    fn put(&mut self, a: Attribution) -> u32 {
        let table = &mut self.table;
        *self.intern.entry(a.clone()).or_insert_with(|| {
            table.push(a);
            (table.len() - 1) as u32
        })
    }

    /// Finishes: `per_event[i]` is the table index for row i, or `u32::MAX` when not attributed.
    pub fn finish(mut self, per_event: Vec<u32>) -> Attributed {
        self.graph.settle();
        Attributed {
            graph: self.graph,
            table: self.table,
            per_event,
        }
    }
}

/// The rows of all the input that attribution of one row may consult besides the row itself
/// (see `Attributor::row`), for attributing a frame that holds only part of the input: the
/// caller copy of each cross-account call by sharedEventID, and each Identity Center user's
/// first portal session. Built by `Attributor::context` over those rows of the whole input.
pub struct CrossRows {
    partner: FxHashMap<String, (Identity, u128)>,
    idc_user: FxHashMap<String, usize>,
}

/// `CrossRows` before the session graph is known: the cross rows and their partner map.
pub(crate) struct CrossPartners {
    events: DataFrame,
    partner: FxHashMap<String, (Identity, u128)>,
}

impl CrossPartners {
    /// The Identity Center part of the context, from the session graph.
    pub(crate) fn with_graph(self, graph: &SessionGraph) -> Result<CrossRows> {
        let ids = IdentityCols::new(&self.events)?;
        let c = Cols::new(&self.events);
        let sso = (
            Arr::of(c.s(event::sso_account_id)?)?,
            Arr::of(c.s(event::sso_role_name)?)?,
        );
        let (_, idc_user) = idc_sessions(&ids, sso, Arr::of(c.t(event::event_time)?)?, graph);
        let idc_user = idc_user
            .into_iter()
            .map(|(u, s)| (u.to_string(), s))
            .collect();
        Ok(CrossRows {
            partner: self.partner,
            idc_user,
        })
    }
}

/// The events rows `Attributor::context` needs from the whole input: every row with a
/// sharedEventID whose identity type is not AWSAccount, and every IdentityCenterUser row.
pub fn cross_rows_filter() -> Expr {
    col(event::shared_event_id)
        .is_not_null()
        .and(col(event::identity_type).neq_missing(lit(IdentityType::AWSAccount.as_str())))
        .or(col(event::identity_type).eq(lit(IdentityType::IdentityCenterUser.as_str())))
}

/// The caller copy of each cross-account action: the first row per sharedEventID whose
/// identity type is not AWSAccount.
fn partners<'a>(ids: &IdentityCols<'a>, shared: StrArr<'a>) -> FxHashMap<&'a str, usize> {
    let mut partner = FxHashMap::default();
    for (i, s) in shared.iter().enumerate() {
        if let Some(s) = s {
            if !IdentityType::AWSAccount.matches(ids.kind.get(i)) {
                partner.entry(s).or_insert(i);
            }
        }
    }
    partner
}

/// Identity Center portal calls (IdC account) → the SAML session they led to (spec 2.4.11):
/// per row by (account, permission set, time) for GetRoleCredentials/Federate; and per IdC
/// user id, the first such session, for the user's other portal calls.
fn idc_sessions<'a>(
    ids: &IdentityCols<'a>,
    (sso_acct, sso_role): (StrArr<'a>, StrArr<'a>),
    et: TimeArr<'a>,
    graph: &SessionGraph,
) -> (FxHashMap<usize, usize>, FxHashMap<&'a str, usize>) {
    let mut idc_row = FxHashMap::default();
    let mut idc_user = FxHashMap::default();
    for (i, k) in ids.kind.iter().enumerate() {
        if !IdentityType::IdentityCenterUser.matches(k) {
            continue;
        }
        if let (Some(a), Some(r), Some(t)) = (sso_acct.get(i), sso_role.get(i), et.get(i)) {
            if let Some(s) = graph.sso_session_for(a, r, t, SSO_WINDOW_MS) {
                idc_row.insert(i, s);
                if let Some(u) = ids.obo.get(i) {
                    idc_user.entry(u).or_insert(s);
                }
            }
        }
    }
    (idc_row, idc_user)
}

/// Which rule of `Attributor::row` attributed an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// A rule about the event itself (see `EventRule`), not its identity signature.
    Event(EventRule),
    /// The identity signature alone, whatever the event's time (memoised).
    Signature(u128),
    /// The identity signature and the event's time (an identity without a creationDate whose
    /// link depends on the time: `SessionGraph::timeless`).
    Timed(u128),
}

/// The rules of `Attributor::row` about an event itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum EventRule {
    /// An issuance event, attributed to its caller.
    Issuance,
    /// An Identity Center portal call linked to the SAML session it led to.
    IdentityCenter,
    /// The resource-account copy of a cross-account call, attributed like its caller copy.
    ResourceCopy,
}

/// Attributes events of one frame on demand; `attribute_all` runs it over every row, `who`
/// over the few rows it needs, the streaming `attribute` over one frame after another.
pub struct Attributor<'a> {
    pub state: AttributionState,
    ids: IdentityCols<'a>,
    eid: StrArr<'a>,
    rcpt: StrArr<'a>,
    shared: StrArr<'a>,
    et: TimeArr<'a>,
    /// The non-AWSAccount copy of each cross-account action, by sharedEventID.
    partner: FxHashMap<&'a str, usize>,
    /// Identity Center portal calls → the SAML session they led to.
    idc_row: FxHashMap<usize, usize>,
    idc_user: FxHashMap<&'a str, usize>,
    /// Set when the frame is part of the input: these replace `partner` and `idc_user`.
    cross: Option<&'a CrossRows>,
    /// The identity signature of every row, when computed ahead (`with_signatures`).
    sigs: Option<Vec<u128>>,
    /// Per row, whether its eventID is one of an issuance event, when known ahead (rows not
    /// marked skip the lookup in the graph).
    issuance_rows: Option<Vec<bool>>,
    /// Rows of the frame.
    height: usize,
}

impl<'a> Attributor<'a> {
    /// Builds the session graph from `issuances`; `events` must be single-chunk
    /// (see `single_chunk`).
    pub fn new(events: &'a DataFrame, issuances: &DataFrame) -> Result<Attributor<'a>> {
        Self::with_issuances(events, issuances_in(issuances)?)
    }

    /// Like `new`, from issuance rows already read.
    pub fn with_issuances(events: &'a DataFrame, rows: Vec<IssuanceIn>) -> Result<Attributor<'a>> {
        Self::with_state(
            events,
            AttributionState::new(SessionGraph::build(rows)),
            None,
        )
    }

    /// An attributor over `events` that continues from `state`. `cross` is given when
    /// `events` is only part of the input (then it must come from all of it).
    pub fn with_state(
        events: &'a DataFrame,
        state: AttributionState,
        cross: Option<&'a CrossRows>,
    ) -> Result<Attributor<'a>> {
        let ids = IdentityCols::new(events)?;
        let c = Cols::new(events);
        let (eid, rcpt, shared, et) = (
            Arr::of(c.s(event::event_id)?)?,
            Arr::of(c.s(event::recipient_account)?)?,
            Arr::of(c.s(event::shared_event_id)?)?,
            Arr::of(c.t(event::event_time)?)?,
        );
        let partner = match cross {
            None => partners(&ids, shared),
            Some(_) => FxHashMap::default(),
        };
        let sso = (
            Arr::of(c.s(event::sso_account_id)?)?,
            Arr::of(c.s(event::sso_role_name)?)?,
        );
        let (idc_row, idc_user) = idc_sessions(&ids, sso, et, &state.graph);
        Ok(Attributor {
            state,
            ids,
            eid,
            rcpt,
            shared,
            et,
            partner,
            idc_row,
            idc_user,
            cross,
            sigs: None,
            issuance_rows: None,
            height: events.height(),
        })
    }

    /// Computes the identity signature of every row up front, in parallel (hashing fifteen
    /// columns a row is most of what attributing an event costs, and needs no state); for
    /// callers about to attribute all rows.
    pub fn with_signatures(mut self) -> Self {
        self.sigs = Some(self.ids.signatures(self.height));
        self
    }

    /// The cross-frame context of `events`, which must hold (at least) every row of the input
    /// with a sharedEventID and an identity type other than AWSAccount, and every
    /// IdentityCenterUser row, in input order (see `CROSS_ROWS_FILTER`).
    pub fn context(events: &DataFrame, graph: &SessionGraph) -> Result<CrossRows> {
        Self::context_partners(events)?.with_graph(graph)
    }

    /// The part of `context` that needs no session graph (it may be built meanwhile); finish
    /// with `CrossPartners::with_graph`.
    pub(crate) fn context_partners(events: &DataFrame) -> Result<CrossPartners> {
        let events = single_chunk(events);
        let ids = IdentityCols::new(&events)?;
        let c = Cols::new(&events);
        let partner = partners(&ids, Arr::of(c.s(event::shared_event_id)?)?)
            .into_iter()
            .map(|(s, i)| (s.to_string(), (ids.identity(i), ids.signature(i))))
            .collect();
        Ok(CrossPartners { events, partner })
    }

    /// The attribution of event row `i` (an index into the distinct-attribution table).
    pub fn row(&mut self, i: usize) -> u32 {
        self.row_routed(i).0
    }

    /// `row`, and which rule gave it (what `resolve` needs to tell an attribution that follows
    /// from the row's identity signature from one that belongs to the event alone).
    pub(crate) fn row_routed(&mut self, i: usize) -> (u32, Route) {
        // An issuance event (either copy) is attributed to its caller.
        let maybe_issuance = self.issuance_rows.as_ref().is_none_or(|r| r[i]);
        if let Some(id) = self.eid.get(i).filter(|_| maybe_issuance) {
            if let Some(link) = self.state.graph.issuance_event_link(self.rcpt.get(i), id) {
                let t = self.state.put_link(link, &Identity::default());
                return (t, Route::Event(EventRule::Issuance));
            }
        }
        if IdentityType::IdentityCenterUser.matches(self.ids.kind.get(i)) {
            let by_user = |u: &str| match self.cross {
                Some(c) => c.idc_user.get(u).copied(),
                None => self.idc_user.get(u).copied(),
            };
            let s = self
                .idc_row
                .get(&i)
                .copied()
                .or_else(|| self.ids.obo.get(i).and_then(by_user));
            if let Some(s) = s {
                let se = &self.state.graph.sessions[s];
                let a = Attribution {
                    session: None,
                    origin: se.origin.clone(),
                    chain: Vec::new(),
                    confidence: se.confidence.min(Confidence::Inferred),
                    source_identity: None,
                };
                return (self.state.put(a), Route::Event(EventRule::IdentityCenter));
            }
        }
        let at: Option<Millis> = self.et.get(i);
        // The resource-account copy of a cross-account action: attribute like the caller copy.
        let resource_copy = IdentityType::AWSAccount.matches(self.ids.kind.get(i));
        if let (true, Some(s), Some(c)) = (resource_copy, self.shared.get(i), self.cross) {
            if let Some((id, sig)) = c.partner.get(s) {
                let t = match self.memoised(*sig) {
                    Some(a) => a,
                    None => self.attribute_identity(id, *sig, at).0,
                };
                return (t, Route::Event(EventRule::ResourceCopy));
            }
        }
        let row = match (resource_copy, self.shared.get(i)) {
            (true, Some(s)) => self.partner.get(s).copied().unwrap_or(i),
            _ => i,
        };
        let sig = match &self.sigs {
            Some(s) => s[row],
            None => self.ids.signature(row),
        };
        if let Some(a) = self.memoised(sig) {
            return (a, Route::Signature(sig));
        }
        // The common case, an exact link by issued key and creationDate (the first rule of
        // `SessionGraph::link`), without making an `Identity` first. Memoised like any dated
        // identity (see `SessionGraph::timeless`).
        let kind = self.ids.kind.get(row).and_then(IdentityType::parse);
        let (key, cd) = (self.ids.key.get(row), self.ids.cd.get(row));
        if let Some(s) = self.state.graph.exact_session(kind, key, cd, None) {
            let link = Link::Session(s, Confidence::Exact);
            let idx = self.state.put_link(link, &Identity::default());
            self.state.memo.insert(sig, idx);
            return (idx, Route::Signature(sig));
        }
        let id = self.ids.identity(row);
        match self.attribute_identity(&id, sig, at) {
            (idx, true) => (idx, Route::Signature(sig)),
            (idx, false) => (idx, Route::Timed(sig)),
        }
    }

    /// The memoised attribution of identities with signature `sig` (only attributions that
    /// do not depend on the event time are memoised: see `SessionGraph::timeless`).
    fn memoised(&self, sig: u128) -> Option<u32> {
        self.state.memo.get(&sig).copied()
    }

    /// Attributes an action signed by `id` (signature `sig`) at `at`, and memoises it when
    /// the time does not matter (the flag: whether it did).
    fn attribute_identity(&mut self, id: &Identity, sig: u128, at: Option<Millis>) -> (u32, bool) {
        let timeless = self.state.graph.timeless(id);
        let link = self.state.graph.link(id, at);
        let idx = self.state.put_link(link, id);
        if timeless {
            self.state.memo.insert(sig, idx);
        }
        (idx, timeless)
    }

    /// Uses `sigs` (one per row: the events' stored `identity_sig`, parsed) as the rows'
    /// identity signatures instead of hashing the identity columns.
    pub(crate) fn with_stored_signatures(mut self, sigs: Vec<u128>) -> Self {
        self.sigs = Some(sigs);
        self
    }

    /// Row `i`'s identity.
    pub(crate) fn identity(&self, i: usize) -> Identity {
        self.ids.identity(i)
    }

    /// Finishes: `per_event[i]` is the table index for row i, or `u32::MAX` when not attributed.
    pub fn finish(self, per_event: Vec<u32>) -> Attributed {
        self.state.finish(per_event)
    }

    /// The state, to continue with the next frame.
    pub fn into_state(self) -> AttributionState {
        self.state
    }
}

/// Builds the session graph and attributes every event of `frames`.
pub fn attribute_all(frames: &Frames) -> Result<Attributed> {
    let t0 = std::time::Instant::now();
    let ev = single_chunk(&frames.events);
    let mut a = Attributor::new(&ev, &frames.issuances)?.with_signatures();
    trailgraph_log::ingest::profile("build session graph", t0);
    let t0 = std::time::Instant::now();
    let per_event: Vec<u32> = (0..ev.height()).map(|i| a.row(i)).collect();
    let r = a.finish(per_event);
    trailgraph_log::ingest::profile("attribute events", t0);
    Ok(r)
}

/// The session graph of `issuances` and the context of events attributed a part at a time
/// (`Attributor::context` over the rows `cross_rows` returns: those `cross_rows_filter`
/// selects from all the events). The graph (mostly serial) is built beside the scan and the
/// partner map, which need no graph; only the Identity Center lookups wait for it.
pub fn graph_and_context(
    issuances: &DataFrame,
    cross_rows: impl FnOnce() -> Result<DataFrame> + Send,
) -> Result<(SessionGraph, CrossRows)> {
    let (graph, partners) = rayon::join(
        || -> Result<SessionGraph> { Ok(SessionGraph::build(issuances_in(issuances)?)) },
        || Attributor::context_partners(&cross_rows()?),
    );
    let graph = graph?;
    let cross = partners?.with_graph(&graph)?;
    Ok((graph, cross))
}

/// `attribute_all` over an events frame of any number of chunks, a chunk at a time (no
/// contiguous copy of the frame is made), with the cross-chunk rows taken from all of it.
pub fn attribute_chunked(frames: &Frames) -> Result<Attributed> {
    let t0 = std::time::Instant::now();
    let chunks: Vec<DataFrame> = frames.events.clone().split_chunks().collect();
    // The identity signatures need no graph: they are hashed while it is built, and the rows
    // whose eventID is an issuance's are marked (attribution looks only those up in the graph).
    let issuance_ids: FxHashSet<&str> = frames
        .issuances
        .column(issuance::event_id)?
        .str()?
        .iter()
        .flatten()
        .collect();
    let (graph, sigs) = rayon::join(
        || {
            graph_and_context(&frames.issuances, || {
                Ok(frames
                    .events
                    .clone()
                    .lazy()
                    .filter(cross_rows_filter())
                    .collect()?)
            })
        },
        || {
            chunks
                .par_iter()
                .map(|c| {
                    let ids = c.column(event::event_id)?.str()?;
                    let marks = ids
                        .iter()
                        .map(|e| e.is_some_and(|e| issuance_ids.contains(e)))
                        .collect::<Vec<bool>>();
                    Ok((IdentityCols::new(c)?.signatures(c.height()), marks))
                })
                .collect::<Result<Vec<_>>>()
        },
    );
    let ((graph, cross), sigs) = (graph?, sigs?);
    trailgraph_log::ingest::profile("build session graph", t0);
    let t0 = std::time::Instant::now();
    let mut state = AttributionState::new(graph);
    let mut per_event = Vec::with_capacity(frames.events.height());
    for (chunk, (sigs, marks)) in chunks.iter().zip(sigs) {
        let mut a = Attributor::with_state(chunk, state, Some(&cross))?;
        a.sigs = Some(sigs);
        a.issuance_rows = Some(marks);
        per_event.extend((0..chunk.height()).map(|i| a.row(i)));
        state = a.into_state();
    }
    let r = state.finish(per_event);
    trailgraph_log::ingest::profile("attribute events", t0);
    Ok(r)
}

/// Builds the session graph and attributes only `rows` (others are left unattributed).
pub fn attribute_rows(frames: &Frames, rows: &[usize]) -> Result<Attributed> {
    let ev = single_chunk(&frames.events);
    let mut a = Attributor::new(&ev, &frames.issuances)?;
    let mut per_event = vec![u32::MAX; ev.height()];
    for &r in rows {
        per_event[r] = a.row(r);
    }
    Ok(a.finish(per_event))
}

/// The issuance rows that can lie on the chain behind any event of `events` (or behind `id`
/// itself, as a key, session ARN or session id): the closure over issued key, session ARN and
/// sharedEventID, following each issuance's caller upward. Building the graph from these alone
/// gives the same answers for these events as the whole graph, at a fraction of the cost.
pub fn ancestry_issuances(
    issuances: &DataFrame,
    events: &DataFrame,
    id: &str,
) -> Result<Vec<IssuanceIn>> {
    use std::collections::HashSet;
    let rows = issuances_in(issuances)?;
    let mut keys: HashSet<String> = HashSet::new();
    let mut arns: HashSet<String> = HashSet::new();
    let mut shared: HashSet<String> = HashSet::new();
    for seed in [id, id.split('@').next().unwrap_or(id)] {
        keys.insert(seed.to_string());
        arns.insert(seed.to_string());
    }
    let c = Cols::new(events);
    let (key, arn, kind) = (
        c.s(event::access_key_id)?,
        c.s(event::identity_arn)?,
        c.s(event::identity_type)?,
    );
    let (eid, sid) = (c.s(event::event_id)?, c.s(event::shared_event_id)?);
    // The events may be issuance calls themselves (attributed to their caller).
    let mut event_ids: HashSet<String> = HashSet::new();
    let mut saml = false;
    for i in 0..events.height() {
        keys.extend(key.get(i).map(String::from));
        arns.extend(arn.get(i).map(String::from));
        event_ids.extend(eid.get(i).map(String::from));
        shared.extend(sid.get(i).map(String::from));
        saml |= IdentityType::IdentityCenterUser.matches(kind.get(i));
    }
    let session_arns: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.kind.and_then(|k| crate::graph::session_identity(r, k).0))
        .collect();
    let mut picked = vec![false; rows.len()];
    loop {
        let mut grew = false;
        for (i, r) in rows.iter().enumerate() {
            if picked[i] {
                continue;
            }
            let hit = r.issued_key.as_ref().is_some_and(|k| keys.contains(k))
                || session_arns[i].as_ref().is_some_and(|a| arns.contains(a))
                || r.shared_event_id
                    .as_ref()
                    .is_some_and(|s| shared.contains(s))
                || r.event_id.as_ref().is_some_and(|e| event_ids.contains(e))
                || (saml && r.kind == Some(IssuanceKind::AssumeRoleWithSAML));
            if hit {
                picked[i] = true;
                grew = true;
                keys.extend(r.caller.access_key_id.clone());
                arns.extend(r.caller.arn.clone());
                shared.extend(r.shared_event_id.clone());
            }
        }
        if !grew {
            break;
        }
    }
    Ok(rows
        .into_iter()
        .zip(picked)
        .filter_map(|(r, p)| p.then_some(r))
        .collect())
}

/// The `attribute` output frame: columns exactly as documented.
pub fn attribution_frame(frames: &Frames, at: &Attributed) -> Result<DataFrame> {
    attribution_frame_ordered(frames, at, None)
}

/// `attribution_frame` with its rows in `order` (event row indices), built in that order
/// directly (the computed columns never exist in the other order).
pub fn attribution_frame_ordered(
    frames: &Frames,
    at: &Attributed,
    order: Option<&[IdxSize]>,
) -> Result<DataFrame> {
    let chains: Vec<String> = at.table.iter().map(|a| a.chain_string()).collect();
    output_frame(
        &frames.events,
        &at.graph,
        &at.table,
        &chains,
        &at.per_event,
        order,
    )
}

/// The columns of the `attribute` output that are events columns as they are (the others come
/// from the attribution table: `attributed`).
pub const EVENT_OUTPUT_COLUMNS: [&str; 8] = [
    event::event_id,
    event::event_time,
    event::event_name,
    event::event_source,
    event::recipient_account,
    event::aws_region,
    event::source_ip,
    event::access_key_id,
];

trailgraph_log::column_names!(
    /// The columns attribution adds to the events in the `attribute` output, in output order
    /// (after `EVENT_OUTPUT_COLUMNS`).
    pub mod attributed {
        /// The session the event was made in (`Session::id`); null when it acts directly.
        session_id,
        /// The canonical origin string (`trailgraph_log::model::origin`).
        origin,
        /// The roles from the origin down to the session, joined by `>`.
        chain,
        /// The number of hops in `chain`.
        depth,
        /// `Confidence::as_str` of the weakest link.
        confidence,
        /// The sourceIdentity set on the chain (or on the event's own identity).
        source_identity,
    }
);

/// The `attribute` output rows of `events` (rows `order`, or all in frame order), where
/// `per_event[i]` indexes the attribution of row i in `table`, and `chains[t]` is
/// `table[t].chain_string()`.
pub fn output_frame(
    ev: &DataFrame,
    graph: &SessionGraph,
    table: &[Attribution],
    chains: &[String],
    per_event: &[u32],
    order: Option<&[IdxSize]>,
) -> Result<DataFrame> {
    let pe_ordered: Vec<u32>;
    let pe: &[u32] = match order {
        Some(o) => {
            pe_ordered = o.iter().map(|&i| per_event[i as usize]).collect();
            &pe_ordered
        }
        None => per_event,
    };
    let n = pe.len();
    let names = EVENT_OUTPUT_COLUMNS;
    let mut cols: Vec<Column> = match order {
        Some(o) => {
            let idx = IdxCa::from_vec("".into(), o.to_vec());
            // Strings gathered as views of the same buffers: no string is copied.
            names
                .par_iter()
                .map(|c| {
                    let col = ev.column(c)?;
                    Ok(match col.dtype() {
                        DataType::String => trailgraph_store::gather_strings(col.str()?, o),
                        _ => col.take(&idx)?,
                    })
                })
                .collect::<Result<_>>()?
        }
        None => names
            .iter()
            .map(|c| ev.column(c).cloned())
            .collect::<PolarsResult<_>>()?,
    };
    cols.extend(attribution_columns(graph, table, chains, pe));
    Ok(DataFrame::new(n, cols)?)
}

/// The attribution columns of the `attribute` output (`attributed`, in order) for rows whose
/// attributions are `pe` (indexes into `table`; `chains[t]` is `table[t].chain_string()`):
/// the one place their names, types and values are made (`resolve`'s map uses it too).
pub fn attribution_columns(
    graph: &SessionGraph,
    table: &[Attribution],
    chains: &[String],
    pe: &[u32],
) -> Vec<Column> {
    let d = table.len();
    vec![
        table_column(attributed::session_id, d, pe, |t| {
            table[t].session.map(|s| graph.sessions[s].id.as_str())
        }),
        table_column(attributed::origin, d, pe, |t| {
            Some(table[t].origin.as_str())
        }),
        table_column(attributed::chain, d, pe, |t| Some(chains[t].as_str())),
        Column::new(
            attributed::depth.into(),
            pe.iter()
                .map(|&t| table[t as usize].depth() as u32)
                .collect::<Vec<u32>>(),
        ),
        table_column(attributed::confidence, d, pe, |t| {
            Some(table[t].confidence.as_str())
        }),
        table_column(attributed::source_identity, d, pe, |t| {
            table[t].source_identity.as_deref()
        }),
    ]
}
