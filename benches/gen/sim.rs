//! The discrete-event simulation. Actors (sessions, users, instances) act at
//! scheduled times; the clock only moves forward, so every record is emitted
//! at its own eventTime and truth can be streamed in time order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::rc::Rc;

use anyhow::Result;
use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::api::{self, ApiTables, Bodies, Ctx};
use crate::deliver::Delivery;
use crate::ident::{user_truth, Actor, Hop, Kind, Variant};
use crate::json::{object, Obj};
use crate::rng::Rng;
use crate::timefmt;
use crate::truth::{Conf, Truth, TruthSink};
use crate::world::{self, ipv4, RoleKind, World, REGIONS, US_EAST_1};

#[path = "inject.rs"]
pub mod inject;

const MAX_DEPTH: u8 = 6;
const SPAWN_TICK: i64 = 10;
/// The spawner keeps `emitted + pending` at the target this far ahead.
const LOOKAHEAD: i64 = 600;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Act {
    Spawn,
    Actor(u32),
    Instance(u32),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Delay {
    Normal,
    Issuance,
}

struct Instance {
    acct: usize,
    role: usize,
    region: u8,
    id: String,
    ip: Rc<str>,
    ends: i64,
    per_hour: u32,
    session: Option<u32>,
}

#[derive(Default, Serialize)]
pub struct Stats {
    #[serde(skip)]
    pub records_delivered: u64,
    #[serde(skip)]
    pub distinct_events: u64,
    #[serde(skip)]
    pub duplicates: u64,
    pub delayed_records: u64,
    pub issuances: BTreeMap<&'static str, u64>,
    pub failed_assume_role: u64,
    pub cross_account_pairs: u64,
    pub role_account_copies_only: u64,
    pub sessions: u64,
    pub orphan_sessions: u64,
    pub inferred_sessions: u64,
    pub recycled_keys: u64,
    pub max_chain_depth: u8,
    pub events_by_confidence: BTreeMap<&'static str, u64>,
    pub first_event_time: String,
    pub last_event_time: String,
}

/// Who makes a call, as seen on the records it produces.
struct Caller {
    /// The collected account that logs the caller's copy (`None`: outside
    /// the corpus, only the target account's copy exists).
    acct: Option<usize>,
    acct_id: String,
    ident: String,
    principal: String,
    arn: String,
    truth: Truth,
    ip: Rc<str>,
    ua: &'static str,
}

/// One API call to be rendered.
struct Call<'a> {
    src: &'a str,
    name: &'a str,
    ver: &'a str,
    region: u8,
    req: Option<String>,
    resp: Option<String>,
    addl: Option<String>,
    resources: Option<String>,
    ro: bool,
    err: Option<(String, String)>,
    tls_host: Option<String>,
    event_type: &'a str,
    /// sharedEventID even on a same-account call (service AssumeRole).
    force_shared: bool,
    console: bool,
    delay: Delay,
}

impl<'a> Call<'a> {
    fn new(src: &'a str, name: &'a str, ver: &'a str, region: u8) -> Self {
        Call {
            src,
            name,
            ver,
            region,
            req: None,
            resp: None,
            addl: None,
            resources: None,
            ro: true,
            err: None,
            tls_host: None,
            event_type: "AwsApiCall",
            force_shared: false,
            console: false,
            delay: Delay::Normal,
        }
    }
}

/// What an issuance returned.
struct Issued {
    key: String,
    time: i64,
    expires: i64,
    session_name: String,
}

#[derive(Clone, Copy)]
enum Scn {
    Service,
    UserBurst,
    UserAssume,
    CrossAssume,
    DeepChain,
    Loop,
    Saml,
    Idc,
    WebId,
    Ec2,
    Lambda,
    Config,
    Gst,
    Gft,
    AssumeRoot,
    Switch,
    Failed,
    Anonymous,
    Vendor,
    Orphan,
    RootConsole,
}

/// Spawn weights: roughly (share of records) / (records per scenario).
const SCENARIOS: [(Scn, u32); 21] = [
    (Scn::Service, 4290),
    (Scn::UserBurst, 360),
    (Scn::UserAssume, 220),
    (Scn::CrossAssume, 130),
    (Scn::DeepChain, 80),
    (Scn::Loop, 20),
    (Scn::Saml, 120),
    (Scn::Idc, 120),
    (Scn::WebId, 180),
    (Scn::Ec2, 60),
    (Scn::Lambda, 500),
    (Scn::Config, 120),
    (Scn::Gst, 70),
    (Scn::Gft, 50),
    (Scn::AssumeRoot, 33),
    (Scn::Switch, 75),
    (Scn::Failed, 25),
    (Scn::Anonymous, 10),
    (Scn::Vendor, 50),
    (Scn::Orphan, 10),
    (Scn::RootConsole, 10),
];

pub struct Sim<'w> {
    w: &'w World,
    apis: ApiTables,
    rng: Rng,
    t0: i64,
    span: i64,
    n: u64,
    now: i64,
    now_str: String,
    heap: BinaryHeap<Reverse<(i64, u64, Act)>>,
    seq: u64,
    actors: Vec<Option<Actor>>,
    free: Vec<u32>,
    instances: Vec<Option<Instance>>,
    dl: Delivery,
    truth: TruthSink,
    acct_ids: Vec<Rc<str>>,
    keys: FxHashSet<String>,
    retired: VecDeque<String>,
    /// Actions expected within LOOKAHEAD from live actors.
    pending: f64,
    pub stats: Stats,
    /// `--anomalies`: a background without anomalies (depth <= 3, no role
    /// repeated in a chain, MFA on sensitive roles, no key recycling, no
    /// AssumeRole with GetSessionToken keys), then the injected cases.
    clean: bool,
    /// AWS-side (workload) IPv4 addresses, for the generated ip-ranges.json.
    aws_side: BTreeSet<String>,
    /// (origin, role ARN) of every successful AssumeRole.
    pairs: FxHashSet<(Rc<str>, String)>,
    /// Event ids of the last emit_call (the caller's copy first).
    last_eids: Vec<String>,
    /// Forces (Some(true)) or forbids (Some(false)) serialNumber on AssumeRole.
    mfa_override: Option<bool>,
    pub injected: Option<inject::Injected>,
}

/// Actions an actor is expected to make within LOOKAHEAD.
fn window(a: &Actor) -> f64 {
    f64::from(a.left).min(LOOKAHEAD as f64 / a.gap.max(1.0))
}

fn api_ip(rng: &mut Rng) -> Rc<str> {
    format!(
        "{}.{}.{}.{}",
        rng.pick(&[3u8, 13, 18, 52, 54]),
        rng.below(256),
        rng.below(256),
        1 + rng.below(254)
    )
    .into()
}

impl<'w> Sim<'w> {
    pub fn new(
        w: &'w World,
        rng: Rng,
        t0: i64,
        span: i64,
        n: u64,
        dl: Delivery,
        truth: TruthSink,
    ) -> Sim<'w> {
        Sim {
            w,
            apis: ApiTables::new(),
            rng,
            t0,
            span,
            n,
            now: t0,
            now_str: timefmt::iso(t0),
            heap: BinaryHeap::new(),
            seq: 0,
            actors: Vec::new(),
            free: Vec::new(),
            instances: Vec::new(),
            dl,
            truth,
            acct_ids: w.accounts.iter().map(|a| Rc::from(a.id.as_str())).collect(),
            keys: FxHashSet::default(),
            retired: VecDeque::new(),
            pending: 0.0,
            stats: Stats::default(),
            clean: false,
            aws_side: BTreeSet::new(),
            pairs: FxHashSet::default(),
            last_eids: Vec::new(),
            mfa_override: None,
            injected: None,
        }
    }

    /// Background without anomalies, then the injected cases (`--anomalies`).
    pub fn with_anomalies(mut self) -> Self {
        self.clean = true;
        self
    }

    fn max_depth(&self) -> u8 {
        if self.clean {
            3
        } else {
            MAX_DEPTH
        }
    }

    fn schedule(&mut self, t: i64, a: Act) {
        self.seq += 1;
        self.heap.push(Reverse((t.max(self.now), self.seq, a)));
    }

    pub fn run(mut self) -> Result<(Stats, Delivery, TruthSink, Option<inject::Injected>)> {
        self.stats.first_event_time = self.now_str.clone();
        self.initial_state()?;
        self.schedule(self.t0, Act::Spawn);
        while let Some(Reverse((t, _, act))) = self.heap.pop() {
            if self.stats.records_delivered >= self.n {
                break;
            }
            if t > self.now {
                self.advance(t)?;
            }
            match act {
                Act::Spawn => self.spawn_tick()?,
                Act::Actor(id) => self.actor_step(id)?,
                Act::Instance(id) => self.instance_step(id)?,
            }
        }
        if self.clean {
            self.inject_all()?;
        }
        self.stats.last_event_time = self.now_str.clone();
        Ok((self.stats, self.dl, self.truth, self.injected))
    }

    fn advance(&mut self, t: i64) -> Result<()> {
        // Files are closed at most once a simulated minute.
        if t / 60 != self.now / 60 {
            self.dl.close_before(t, self.w)?;
        }
        self.now = t;
        self.now_str = timefmt::iso(t);
        Ok(())
    }

    // ------------------------------------------------------------------
    // Keys and actors

    fn new_key(&mut self, prefix: &str, acct: usize) -> String {
        loop {
            let k = self.rng.iam_id(prefix, self.w.accounts[acct].num, 20);
            if self.keys.insert(k.clone()) {
                return k;
            }
        }
    }

    /// An ASIA id for a new session; now and then one that an earlier,
    /// expired session was issued (spec 2.3.2 "Key ID recycling").
    fn session_key(&mut self, acct: usize, may_recycle: bool) -> String {
        // The first chance is always taken, so every corpus long enough
        // to retire a few sessions has a recycled id.
        if may_recycle
            && !self.clean
            && self.retired.len() > 8
            && (self.stats.recycled_keys == 0 || self.rng.chance(0.05))
        {
            let i = self.rng.below(self.retired.len() as u64) as usize;
            if let Some(k) = self.retired.remove(i) {
                self.stats.recycled_keys += 1;
                return k;
            }
        }
        self.new_key("ASIA", acct)
    }

    fn add_actor(&mut self, mut a: Actor, first_at: i64) -> u32 {
        a.finish(self.w);
        self.pending += window(&a);
        if let Kind::Role(_) = a.kind {
            self.stats.max_chain_depth = self.stats.max_chain_depth.max(a.truth.depth);
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.actors[id as usize] = Some(a);
                id
            }
            None => {
                self.actors.push(Some(a));
                (self.actors.len() - 1) as u32
            }
        };
        self.schedule(first_at, Act::Actor(id));
        id
    }

    fn retire(&mut self, id: u32) {
        if let Some(a) = self.actors[id as usize].take() {
            if matches!(a.kind, Kind::Role(_)) && a.expires < i64::MAX {
                if let Some(k) = a.issued_key.or(a.key) {
                    if k.starts_with("ASIA") {
                        self.retired.push_back(k);
                        if self.retired.len() > 4096 {
                            self.retired.pop_front();
                        }
                    }
                }
            }
            self.free.push(id);
        }
    }

    fn caller_of(&self, id: u32, v: Variant) -> Caller {
        let a = self.actors[id as usize].as_ref().expect("live actor");
        let ident = if v == Variant::Normal {
            a.ident.clone()
        } else {
            a.render(self.w, v)
        };
        let (ip, ua) = if v == Variant::SwitchRole {
            (Rc::from("AWS Internal"), "AWS Internal")
        } else {
            (a.ip.clone(), a.ua)
        };
        Caller {
            acct: Some(a.acct),
            acct_id: self.w.accounts[a.acct].id.clone(),
            ident,
            principal: a.principal.clone(),
            arn: a.arn.clone(),
            truth: a.truth.clone(),
            ip,
            ua,
        }
    }

    fn user_caller(&self, u: usize) -> Caller {
        let user = &self.w.users[u];
        let ident = object(|o| {
            o.s("type", "IAMUser")
                .s("principalId", &user.pid)
                .s("arn", &user.arn)
                .s("accountId", &self.w.accounts[user.acct].id)
                .s("accessKeyId", &user.akia)
                .s("userName", &user.name);
        });
        Caller {
            acct: Some(user.acct),
            acct_id: self.w.accounts[user.acct].id.clone(),
            ident,
            principal: user.pid.clone(),
            arn: user.arn.clone(),
            truth: user_truth(self.w, u),
            ip: user.ip.as_str().into(),
            ua: user.ua,
        }
    }

    fn service_caller(&self, acct: usize, service: &'static str) -> Caller {
        Caller {
            acct: Some(acct),
            acct_id: self.w.accounts[acct].id.clone(),
            ident: object(|o| {
                o.s("type", "AWSService").s("invokedBy", service);
            }),
            principal: service.to_owned(),
            arn: String::new(),
            truth: Truth::direct(&format!("service:{service}"), Conf::Exact),
            ip: service.into(),
            ua: service,
        }
    }

    // ------------------------------------------------------------------
    // Emission

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        acct: usize,
        region: u8,
        rec: String,
        event_id: &str,
        name: &str,
        t: &Truth,
        delay: Delay,
    ) -> Result<()> {
        let stream = self.dl.stream(acct, region);
        let p_late = match delay {
            Delay::Issuance if region == US_EAST_1 => 0.08,
            _ => 0.012,
        };
        let mut latency = self.rng.range(20, 280);
        if self.rng.chance(p_late) {
            latency += self.rng.range(900, 5400);
            self.stats.delayed_records += 1;
        }
        if self.rng.chance(0.005) {
            let again = latency + self.rng.range(300, 3600);
            self.dl.add(stream, self.now, again, rec.clone());
            self.stats.duplicates += 1;
            self.stats.records_delivered += 1;
        }
        self.dl.add(stream, self.now, latency, rec);
        self.stats.records_delivered += 1;
        self.stats.distinct_events += 1;
        *self
            .stats
            .events_by_confidence
            .entry(t.conf.as_str())
            .or_default() += 1;
        let recipient = self.acct_ids[acct].clone();
        self.truth
            .add(self.now, &self.now_str, event_id, &recipient, name, t)
    }

    #[allow(clippy::too_many_arguments)]
    fn render(
        &self,
        ident: &str,
        c: &Call<'_>,
        ip: &str,
        ua: &str,
        request_id: &str,
        event_id: &str,
        recipient: &str,
        shared: Option<&str>,
        tls12: bool,
    ) -> String {
        let mut s = String::with_capacity(1600);
        {
            let mut o = Obj::new(&mut s);
            o.s("eventVersion", c.ver)
                .raw("userIdentity", ident)
                .s("eventTime", &self.now_str)
                .s("eventSource", c.src)
                .s("eventName", c.name)
                .s("awsRegion", REGIONS[c.region as usize])
                .s("sourceIPAddress", ip)
                .s("userAgent", ua);
            if let Some((code, msg)) = &c.err {
                o.s("errorCode", code).s("errorMessage", msg);
            }
            o.raw_or_null("requestParameters", c.req.as_deref())
                .raw_or_null("responseElements", c.resp.as_deref());
            if let Some(a) = &c.addl {
                o.raw("additionalEventData", a);
            }
            o.s("requestID", request_id)
                .s("eventID", event_id)
                .b("readOnly", c.ro);
            if let Some(r) = &c.resources {
                o.raw("resources", r);
            }
            o.s("eventType", c.event_type)
                .b("managementEvent", true)
                .s("recipientAccountId", recipient);
            if let Some(sh) = shared {
                o.s("sharedEventID", sh);
            }
            o.s("eventCategory", "Management");
            if let Some(h) = &c.tls_host {
                let mut t = o.obj("tlsDetails");
                if tls12 {
                    t.s("tlsVersion", "TLSv1.2")
                        .s("cipherSuite", "ECDHE-RSA-AES128-GCM-SHA256");
                } else {
                    t.s("tlsVersion", "TLSv1.3")
                        .s("cipherSuite", "TLS_AES_128_GCM_SHA256");
                }
                t.s("clientProvidedHostHeader", h);
            }
            if c.console {
                o.s("sessionCredentialFromConsole", "true");
            }
        }
        s
    }

    /// Emits the caller's copy and, when the target account differs (or
    /// the caller is outside the corpus), the target account's copy.
    fn emit_call(&mut self, caller: &Caller, target: usize, c: Call<'_>) -> Result<()> {
        let request_id = self.rng.uuid();
        let cross = caller.acct != Some(target);
        let shared = if cross || c.force_shared {
            Some(self.rng.uuid())
        } else {
            None
        };
        let tls12 = self.rng.chance(0.2);
        self.last_eids.clear();
        if self.clean && caller.truth.origin.starts_with("service:") {
            self.aws_side.insert(caller.ip.to_string());
        }
        if let Some(ca) = caller.acct {
            let eid = self.rng.uuid();
            if self.clean {
                self.last_eids.push(eid.clone());
            }
            let rec = self.render(
                &caller.ident,
                &c,
                &caller.ip,
                caller.ua,
                &request_id,
                &eid,
                &self.acct_ids[ca],
                shared.as_deref(),
                tls12,
            );
            self.emit(ca, c.region, rec, &eid, c.name, &caller.truth, c.delay)?;
        }
        if cross {
            let ident = object(|o| {
                o.s("type", "AWSAccount")
                    .s("principalId", &caller.principal)
                    .s("accountId", &caller.acct_id);
            });
            let eid = self.rng.uuid();
            if self.clean {
                self.last_eids.push(eid.clone());
            }
            let rec = self.render(
                &ident,
                &c,
                &caller.ip,
                caller.ua,
                &request_id,
                &eid,
                &self.acct_ids[target],
                shared.as_deref(),
                tls12,
            );
            self.emit(target, c.region, rec, &eid, c.name, &caller.truth, c.delay)?;
            if caller.acct.is_some() {
                self.stats.cross_account_pairs += 1;
            } else {
                self.stats.role_account_copies_only += 1;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------
    // Issuance

    fn sts_region(&mut self, home: u8) -> (u8, Option<String>, String) {
        // Global endpoint → logged in us-east-1 with RequestDetails.
        if home == US_EAST_1 || self.rng.chance(0.6) {
            let serving = REGIONS[self.rng.below(REGIONS.len() as u64) as usize];
            let addl = object(|o| {
                let mut rd = o.obj("RequestDetails");
                rd.s("awsServingRegion", serving)
                    .s("endpointType", "global");
            });
            (US_EAST_1, Some(addl), "sts.amazonaws.com".into())
        } else {
            let r = REGIONS[home as usize];
            let addl = object(|o| {
                let mut rd = o.obj("RequestDetails");
                rd.s("awsServingRegion", r).s("endpointType", "regional");
            });
            (home, Some(addl), format!("sts.{r}.amazonaws.com"))
        }
    }

    fn credentials(&mut self, o: &mut Obj<'_>, key: &str, expires: i64) {
        let comma = self.rng.chance(0.8);
        let len = 340 + self.rng.below(120) as usize;
        let token = format!("IQoJb3JpZ2luX2VjE{}", self.rng.b64(len));
        let mut c = o.obj("credentials");
        c.s("accessKeyId", key)
            .s("sessionToken", &token)
            .s("expiration", &timefmt::expiration(expires, comma));
    }

    fn role_resources(&self, role: usize, saml_provider: Option<&str>) -> String {
        let r = &self.w.roles[role];
        let acct = &self.w.accounts[r.acct].id;
        let mut s = String::with_capacity(200);
        s.push('[');
        {
            let mut o = Obj::new(&mut s);
            o.s("accountId", acct)
                .s("type", "AWS::IAM::Role")
                .s("ARN", &r.arn);
        }
        if let Some(p) = saml_provider {
            s.push(',');
            let mut o = Obj::new(&mut s);
            o.s("accountId", acct)
                .s("type", "AWS::IAM::SAMLProvider")
                .s("ARN", p);
        }
        s.push(']');
        s
    }

    /// `sts:AssumeRole` by `caller` for `role`.
    #[allow(clippy::too_many_arguments)]
    fn assume_role(
        &mut self,
        caller: &Caller,
        home: u8,
        role: usize,
        session_name: String,
        duration: i64,
        src_identity: Option<&str>,
        incoming_transitive: bool,
        set_transitive: bool,
        service: bool,
        may_recycle: bool,
    ) -> Result<Issued> {
        let w = self.w;
        let r = &w.roles[role];
        let key = self.session_key(r.acct, may_recycle);
        let expires = self.now + duration + if service { self.rng.range(0, 600) } else { 0 };
        let (region, addl, host) = if service {
            (home, None, String::new())
        } else {
            self.sts_region(home)
        };
        let external = !service && caller.acct != Some(r.acct) && self.rng.chance(0.3);
        let external_id = if caller.acct.is_none() || external {
            Some(self.rng.hex(24))
        } else {
            None
        };
        let serial = self.clean
            && !service
            && self
                .mfa_override
                .unwrap_or_else(|| inject::sensitive(&r.name))
            && caller.acct.is_some();
        let serial = serial.then(|| {
            let who = caller.arn.rsplit('/').next().unwrap_or("user");
            format!("arn:aws:iam::{}:mfa/{who}", caller.acct_id)
        });
        if self.clean {
            self.pairs
                .insert((caller.truth.origin.clone(), r.arn.clone()));
        }
        let req = object(|o| {
            o.s("roleArn", &r.arn).s("roleSessionName", &session_name);
            if !service {
                o.n("durationSeconds", duration);
            }
            if let Some(sn) = &serial {
                o.s("serialNumber", sn);
            }
            if let Some(x) = &external_id {
                o.s("externalId", x);
            }
            if let Some(si) = src_identity {
                o.s("sourceIdentity", si);
            }
            if incoming_transitive {
                let mut t = o.obj("incomingTransitiveTags");
                t.s("Team", "platform");
            }
            if set_transitive {
                o.raw("tags", "[{\"key\":\"Team\",\"value\":\"platform\"},{\"key\":\"CostCenter\",\"value\":\"4210\"}]")
                    .str_arr("transitiveTagKeys", &["Team"]);
            }
        });
        let mut resp = String::with_capacity(700);
        {
            let mut o = Obj::new(&mut resp);
            self.credentials(&mut o, &key, expires);
            if !service {
                let mut au = o.obj("assumedRoleUser");
                au.s("assumedRoleId", &format!("{}:{}", r.id, session_name))
                    .s(
                        "arn",
                        &format!(
                            "arn:aws:sts::{}:assumed-role/{}/{}",
                            w.accounts[r.acct].id, r.name, session_name
                        ),
                    );
            }
            if set_transitive {
                o.n("packedPolicySize", 6);
            }
            if let Some(si) = src_identity {
                o.s("sourceIdentity", si);
            }
        }
        let mut c = Call::new("sts.amazonaws.com", "AssumeRole", "1.08", region);
        c.req = Some(req);
        c.resp = Some(resp);
        c.addl = addl;
        c.resources = Some(self.role_resources(role, None));
        c.tls_host = (!service && caller.ip.as_ref() != "AWS Internal").then_some(host);
        c.force_shared = service;
        c.delay = Delay::Issuance;
        self.emit_call(caller, r.acct, c)?;
        *self.stats.issuances.entry("AssumeRole").or_default() += 1;
        self.stats.sessions += 1;
        Ok(Issued {
            key,
            time: self.now,
            expires,
            session_name,
        })
    }

    fn new_role_actor(&mut self, parent: &Truth, role: usize, iss: &Issued, link: Conf) -> Actor {
        let r = &self.w.roles[role];
        let truth = parent.extend(&r.arn, link);
        if link == Conf::Inferred {
            self.stats.inferred_sessions += 1;
        }
        let mut a = Actor::new(
            Kind::Role(role),
            r.acct,
            truth,
            "0.0.0.0".into(),
            world::UA_CLI,
            self.w.accounts[r.acct].active[0],
        );
        a.key = Some(iss.key.clone());
        a.issued_key = Some(iss.key.clone());
        a.creation = iss.time;
        a.expires = iss.expires;
        a.session_name = iss.session_name.clone();
        a.depth = a.truth.depth;
        a
    }

    fn pick_home(&mut self, acct: usize) -> u8 {
        let act = &self.w.accounts[acct].active;
        if self.rng.chance(0.7) {
            act[0]
        } else {
            act[self.rng.below(act.len() as u64) as usize]
        }
    }

    fn sdk_session_name(&mut self, base: &str) -> String {
        match self.rng.below(4) {
            0 => format!("botocore-session-{}", self.now),
            1 => format!(
                "aws-go-sdk-{}{:09}",
                self.now,
                self.rng.below(1_000_000_000)
            ),
            2 => format!("{base}-cli"),
            _ => format!("{base}-{}", self.rng.hex(6)),
        }
    }

    // ------------------------------------------------------------------
    // Actors acting

    fn actor_step(&mut self, id: u32) -> Result<()> {
        let now = self.now;
        let Some(a) = self.actors[id as usize].as_mut() else {
            return Ok(());
        };
        if a.left == 0 || now >= a.expires {
            self.retire(id);
            return Ok(());
        }
        a.left -= 1;
        a.since_hop += 1;
        let gap = a.gap;
        let max_depth = if self.clean { 3 } else { MAX_DEPTH };
        let plan_due = !a.plan.is_empty() && a.since_hop >= a.hop_every && a.depth < max_depth;
        let switch_due = a.switch_to.is_some() && a.since_hop >= a.transitions_after;
        let root_due = a.root_target.is_some() && a.since_hop >= a.transitions_after;
        let chain_roll = a.depth < max_depth && a.chain_p > 0.0;
        let chain_p = a.chain_p;
        let rotate = a.rotate_key;
        if plan_due {
            let hop = a.plan.remove(0);
            a.since_hop = 0;
            self.chain_hop(id, hop.role)?;
        } else if switch_due {
            let role = a.switch_to.take().expect("checked");
            self.switch_role(id, role)?;
        } else if root_due {
            let target = a.root_target.take().expect("checked");
            self.assume_root(id, target)?;
        } else if chain_roll && self.rng.chance(chain_p) {
            let role = self.random_chain_target(id);
            if self.clean && self.in_chain(id, role) {
                self.regular_call(id)?;
            } else {
                self.chain_hop(id, role)?;
            }
        } else if self.rng.chance(0.003) && !(self.clean && self.is_token_session(id)) {
            self.failed_assume(id)?;
        } else {
            if rotate && self.rng.chance(0.08) {
                self.rotate_console_key(id);
            }
            self.regular_call(id)?;
        }
        let next = now + 1 + self.rng.exp(gap) as i64;
        self.schedule(next, Act::Actor(id));
        Ok(())
    }

    fn rotate_console_key(&mut self, id: u32) {
        let acct = self.actors[id as usize].as_ref().expect("live").acct;
        let k = self.new_key("ASIA", acct);
        let w = self.w;
        let a = self.actors[id as usize].as_mut().expect("live");
        a.key = Some(k);
        a.ident = a.render(w, Variant::Normal);
    }

    fn regular_call(&mut self, id: u32) -> Result<()> {
        let w = self.w;
        let a = self.actors[id as usize].as_ref().expect("live");
        let api = self.apis.pick(&mut self.rng, a.profile);
        let region = if api.global {
            US_EAST_1
        } else if self.rng.chance(0.85) {
            a.home
        } else {
            let act = &w.accounts[a.acct].active;
            act[self.rng.below(act.len() as u64) as usize]
        };
        let rname = REGIONS[region as usize];
        let ctx = Ctx {
            acct: &w.accounts[a.acct],
            region: rname,
            instance: a.instance_id.as_deref(),
        };
        let Bodies {
            req,
            resp,
            resources,
        } = api::bodies(&mut self.rng, api, &ctx);
        let mut c = Call::new(api.src, api.name, api.ver, region);
        c.ro = api.ro;
        c.req = req;
        if self.clean && api.name == "CreateAccessKey" {
            // In the clean background a user makes keys for itself only (a key
            // made for another user is persistence_credential_created).
            c.req = None;
        }
        c.resources = resources;
        c.console = a.console;
        let roll = self.rng.f64();
        if roll < 0.02 {
            let action = api::action(api);
            let code = if api.src == "ec2.amazonaws.com" {
                "Client.UnauthorizedOperation"
            } else {
                "AccessDenied"
            };
            let msg = format!(
                "User: {} is not authorized to perform: {action} on resource: arn:aws:{}:{rname}:{}:* because no identity-based policy allows the {action} action",
                a.arn,
                action.split(':').next().unwrap_or("*"),
                w.accounts[a.acct].id
            );
            c.err = Some((code.to_owned(), msg));
        } else if roll < 0.024 {
            c.err = Some(("ThrottlingException".to_owned(), "Rate exceeded".to_owned()));
        } else {
            c.resp = resp;
        }
        if a.invoked_by.is_none() {
            c.tls_host = Some(api::host(api, rname));
        }
        let caller = self.caller_of(id, Variant::Normal);
        let acct = a.acct;
        self.emit_call(&caller, acct, c)
    }

    /// Whether `role` is already in the actor's chain (a cycle).
    fn in_chain(&self, id: u32, role: usize) -> bool {
        let a = self.actors[id as usize].as_ref().expect("live");
        let arn = &self.w.roles[role].arn;
        a.truth.chain.split('>').any(|r| r == arn)
    }

    fn is_token_session(&self, id: u32) -> bool {
        let a = self.actors[id as usize].as_ref().expect("live");
        matches!(a.kind, Kind::Gst(_) | Kind::Fed(_))
    }

    fn random_chain_target(&mut self, id: u32) -> usize {
        let a = self.actors[id as usize].as_ref().expect("live");
        let acct = if self.rng.chance(0.5) {
            a.acct
        } else {
            self.rng.below(self.w.accounts.len() as u64) as usize
        };
        self.w.pick_role(&mut self.rng, acct, RoleKind::Chain)
    }

    /// A session assumes another role (role chaining, spec 2.7).
    fn chain_hop(&mut self, id: u32, role: usize) -> Result<()> {
        let caller = self.caller_of(id, Variant::Normal);
        let a = self.actors[id as usize].as_ref().expect("live");
        let home = a.home;
        let src = a.src_identity.clone();
        let transitive = a.transitive;
        let plan = a.plan.clone();
        let hop_every = a.hop_every;
        let ua = a.ua;
        let ip = a.ip.clone();
        let profile = a.profile;
        let base = match a.kind {
            Kind::User(u) | Kind::Console(u) | Kind::Gst(u) | Kind::Fed(u) => {
                self.w.users[u].name.clone()
            }
            _ => "chain".to_owned(),
        };
        let name = self.sdk_session_name(&base);
        let iss = self.assume_role(
            &caller,
            home,
            role,
            name,
            3600,
            src.as_deref(),
            transitive,
            false,
            false,
            false,
        )?;
        let mut s = self.new_role_actor(&caller.truth, role, &iss, Conf::Exact);
        s.src_identity = src;
        s.transitive = transitive;
        s.ip = ip;
        s.ua = ua;
        s.home = self.pick_home(s.acct);
        s.profile = if profile == api::EC2 || profile == api::LAMBDA {
            api::CI
        } else {
            profile
        };
        s.plan = plan;
        s.hop_every = hop_every;
        s.left = if s.plan.is_empty() {
            self.rng.range(3, 40) as u32
        } else {
            hop_every + self.rng.range(0, 4) as u32
        };
        s.gap = self.rng.range(10, 60) as f64;
        s.chain_p = if s.plan.is_empty() { 0.01 } else { 0.0 };
        // The parent's planned hops now belong to the child.
        self.actors[id as usize]
            .as_mut()
            .expect("live")
            .plan
            .clear();
        let first = self.now + 1 + self.rng.below(20) as i64;
        self.add_actor(s, first);
        Ok(())
    }

    fn failed_assume(&mut self, id: u32) -> Result<()> {
        let caller = self.caller_of(id, Variant::Normal);
        let home = self.actors[id as usize].as_ref().expect("live").home;
        self.failed_assume_by(&caller, home)
    }

    fn failed_assume_by(&mut self, caller: &Caller, home: u8) -> Result<()> {
        let acct = self.rng.below(self.w.accounts.len() as u64) as usize;
        let role_arn = if self.rng.chance(0.3) {
            format!(
                "arn:aws:iam::{}:role/{}",
                self.w.accounts[acct].id,
                self.rng.pick(&["AdminAccess", "PowerUser", "prod-admin"])
            )
        } else {
            let r = self.w.pick_role(&mut self.rng, acct, RoleKind::Human);
            self.w.roles[r].arn.clone()
        };
        let (region, addl, host) = self.sts_region(home);
        let mut c = Call::new("sts.amazonaws.com", "AssumeRole", "1.08", region);
        c.err = Some((
            "AccessDenied".into(),
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn
            ),
        ));
        c.addl = addl;
        c.tls_host = Some(host);
        let own = caller.acct.expect("collected caller");
        self.emit_call(caller, own, c)?;
        self.stats.failed_assume_role += 1;
        Ok(())
    }

    /// Console SwitchRole (spec 2.8, Example G): AWS calls AssumeRole on the
    /// user's behalf; the console then signs with keys it never logged.
    fn switch_role(&mut self, id: u32, role: usize) -> Result<()> {
        let caller = self.caller_of(id, Variant::SwitchRole);
        let a = self.actors[id as usize].as_ref().expect("live");
        let (ip, mfa, user_name) = (
            a.ip.clone(),
            a.mfa,
            match a.kind {
                Kind::Console(u) => self.w.users[u].name.clone(),
                _ => "console".into(),
            },
        );
        let iss = self.assume_role(
            &caller, US_EAST_1, role, user_name, 3600, None, false, false, false, false,
        )?;
        let mut s = self.new_role_actor(&caller.truth, role, &iss, Conf::Inferred);
        s.ip = ip.clone();
        s.ua = world::UA_BROWSER;
        s.console = true;
        s.rotate_key = true;
        s.mfa = mfa;
        s.key = Some(self.new_key("ASIA", s.acct));
        s.left = self.rng.range(5, 60) as u32;
        s.gap = self.rng.range(15, 90) as f64;
        s.chain_p = 0.01;
        s.finish(self.w);
        // The SwitchRole sign-in event in the role account.
        let r = &self.w.roles[role];
        let ident = object(|o| {
            o.s("type", "AssumedRole")
                .s("principalId", &s.principal)
                .s("arn", &s.arn)
                .s("accountId", &self.w.accounts[r.acct].id);
        });
        let mut c = Call::new("signin.amazonaws.com", "SwitchRole", "1.08", US_EAST_1);
        c.ro = false;
        c.event_type = "AwsConsoleSignIn";
        c.resp = Some("{\"SwitchRole\":\"Success\"}".into());
        c.addl = Some(object(|o| {
            o.s("SwitchFrom", &caller.arn)
                .s("RedirectTo", "https://console.aws.amazon.com/console/home");
        }));
        let view = Caller {
            acct: Some(r.acct),
            acct_id: self.w.accounts[r.acct].id.clone(),
            ident,
            principal: s.principal.clone(),
            arn: s.arn.clone(),
            truth: s.truth.clone(),
            ip,
            ua: world::UA_BROWSER,
        };
        self.emit_call(&view, r.acct, c)?;
        let first = self.now + 2 + self.rng.below(30) as i64;
        self.add_actor(s, first);
        Ok(())
    }

    /// Centralized root access (spec 2.4.7): a management-account session
    /// gets root credentials for a member account.
    fn assume_root(&mut self, id: u32, target: usize) -> Result<()> {
        let caller = self.caller_of(id, Variant::AssumeRoot);
        let a = self.actors[id as usize].as_ref().expect("live");
        let (home, ip, ua) = (a.home, a.ip.clone(), a.ua);
        let key = self.new_key("ASIA", target);
        let expires = self.now + 900;
        let policy = *self.rng.pick(&[
            "S3UnlockBucketPolicy",
            "IAMDeleteRootUserCredentials",
            "IAMAuditRootUserCredentials",
        ]);
        let r = REGIONS[home as usize];
        let req = object(|o| {
            o.s("targetPrincipal", &self.w.accounts[target].id);
            {
                let mut t = o.obj("taskPolicyArn");
                t.s(
                    "arn",
                    &format!("arn:aws:iam::aws:policy/root-task/{policy}"),
                );
            }
            o.n("durationSeconds", 900);
        });
        let mut resp = String::new();
        {
            let mut o = Obj::new(&mut resp);
            self.credentials(&mut o, &key, expires);
        }
        let mut c = Call::new("sts.amazonaws.com", "AssumeRoot", "1.08", home);
        c.req = Some(req);
        c.resp = Some(resp);
        c.addl = Some(object(|o| {
            let mut rd = o.obj("RequestDetails");
            rd.s("awsServingRegion", r).s("endpointType", "regional");
        }));
        c.tls_host = Some(format!("sts.{r}.amazonaws.com"));
        c.delay = Delay::Issuance;
        let own = caller.acct.expect("collected");
        self.emit_call(&caller, own, c)?;
        *self.stats.issuances.entry("AssumeRoot").or_default() += 1;
        self.stats.sessions += 1;
        let truth = caller.truth.extend(
            &format!("arn:aws:iam::{}:root", self.w.accounts[target].id),
            Conf::Exact,
        );
        let mut s = Actor::new(Kind::Root, target, truth, ip, ua, home);
        s.key = Some(key.clone());
        s.issued_key = Some(key);
        s.creation = self.now;
        s.expires = expires;
        s.profile = api::ROOT;
        s.left = self.rng.range(2, 8) as u32;
        s.gap = 60.0;
        let first = self.now + 5 + self.rng.below(60) as i64;
        self.add_actor(s, first);
        Ok(())
    }

    // ------------------------------------------------------------------
    // EC2 instances: instance-profile credentials re-issued about hourly.

    fn launch_instance(&mut self, acct: usize, orphan: bool) -> Result<()> {
        let region = self.pick_home(acct);
        let role = self.w.pick_role(&mut self.rng, acct, RoleKind::Ec2);
        let hours = self.rng.range(2, 10);
        let per_hour = self.rng.range(20, 90) as u32;
        let inst = Instance {
            acct,
            role,
            region,
            id: format!("i-0{}", self.rng.hex(16)),
            ip: ipv4(&mut self.rng).into(),
            ends: self.now + hours * 3600,
            per_hour,
            session: None,
        };
        if self.clean {
            self.aws_side.insert(inst.ip.to_string());
        }
        self.instances.push(Some(inst));
        let iid = (self.instances.len() - 1) as u32;
        if orphan {
            // Its current credentials were issued before the window opened.
            let created = self.now - self.rng.range(60, 3300);
            self.instance_session(iid, created, true)?;
            let next = created + 3600 + self.rng.range(-120, 120);
            self.schedule(next, Act::Instance(iid));
        } else {
            self.instance_step(iid)?;
        }
        Ok(())
    }

    fn instance_step(&mut self, iid: u32) -> Result<()> {
        let Some(inst) = self.instances[iid as usize].as_ref() else {
            return Ok(());
        };
        if self.now >= inst.ends {
            if let Some(s) = inst.session {
                self.supersede(s);
            }
            self.instances[iid as usize] = None;
            return Ok(());
        }
        self.instance_session(iid, self.now, false)?;
        let next = self.now + 3600 + self.rng.range(-300, 300);
        self.schedule(next, Act::Instance(iid));
        Ok(())
    }

    fn supersede(&mut self, sid: u32) {
        if let Some(a) = self.actors[sid as usize].as_mut() {
            if a.instance.is_some() {
                a.left = 0;
            }
        }
    }

    fn instance_session(&mut self, iid: u32, created: i64, orphan: bool) -> Result<()> {
        let inst = self.instances[iid as usize]
            .as_ref()
            .expect("live instance");
        let (acct, role, region, iname, ip, per_hour, prev) = (
            inst.acct,
            inst.role,
            inst.region,
            inst.id.clone(),
            inst.ip.clone(),
            inst.per_hour,
            inst.session,
        );
        if let Some(p) = prev {
            self.supersede(p);
        }
        let (key, truth, expires) = if orphan {
            let key = self.new_key("ASIA", acct);
            let t = Truth::orphan(&key, &self.w.roles[role].arn);
            self.stats.orphan_sessions += 1;
            self.stats.sessions += 1;
            (key, t, created + 21600 + self.rng.range(0, 600))
        } else {
            let caller = self.service_caller(acct, "ec2.amazonaws.com");
            let iss = self.assume_role(
                &caller,
                region,
                role,
                iname.clone(),
                21600,
                None,
                false,
                false,
                true,
                true,
            )?;
            (
                iss.key,
                caller.truth.extend(&self.w.roles[role].arn, Conf::Exact),
                iss.expires,
            )
        };
        let mut s = Actor::new(Kind::Role(role), acct, truth, ip, world::UA_SSM, region);
        s.key = Some(key.clone());
        s.issued_key = Some(key);
        s.creation = created;
        s.expires = expires;
        s.session_name = iname.clone();
        s.depth = s.truth.depth;
        s.instance = Some(iid);
        s.instance_id = Some(iname);
        s.ec2_delivery = Some(if self.rng.chance(0.8) { "2.0" } else { "1.0" });
        s.profile = api::EC2;
        s.left = per_hour;
        s.gap = 3600.0 / f64::from(per_hour);
        s.chain_p = 0.004;
        let first = self.now + 1 + self.rng.below(120) as i64;
        let sid = self.add_actor(s, first);
        self.instances[iid as usize]
            .as_mut()
            .expect("live instance")
            .session = Some(sid);
        Ok(())
    }

    // ------------------------------------------------------------------
    // Spawning scenarios

    fn initial_state(&mut self) -> Result<()> {
        let fleet = 3 + (self.n / 100_000) as usize;
        for i in 0..fleet {
            let acct = i % self.w.accounts.len();
            self.launch_instance(acct, true)?;
        }
        for _ in 0..(1 + self.n / 200_000) {
            self.sc_orphan()?;
        }
        // One of each rare case at the start, so even a small corpus has
        // them all (a chain of depth 6 among them).
        let u = self.pick_user(None);
        let plan = self.chain_plan(self.w.users[u].acct, self.max_depth() as usize);
        self.start_chain(u, plan)?;
        if !self.clean {
            self.sc_loop()?;
        }
        self.sc_vendor()?;
        self.sc_assume_root()?;
        self.sc_switch()?;
        self.sc_saml(true)?;
        self.sc_web_identity()?;
        self.sc_token(false)?;
        self.sc_token(true)?;
        self.sc_failed()?;
        self.sc_anonymous()?;
        self.sc_root_console()?;
        Ok(())
    }

    fn spawn_tick(&mut self) -> Result<()> {
        let horizon = (self.now - self.t0 + LOOKAHEAD) as f64;
        let target = (self.n as f64 * horizon / self.span as f64).min(self.n as f64 * 1.05);
        let weights: Vec<u32> = SCENARIOS.iter().map(|s| s.1).collect();
        self.pending = self.actors.iter().flatten().map(window).sum();
        let mut spawned = 0;
        while self.stats.records_delivered as f64 + self.pending < target && spawned < 400 {
            let scn = SCENARIOS[self.rng.weighted(&weights)].0;
            self.spawn(scn)?;
            spawned += 1;
            if self.stats.records_delivered >= self.n {
                break;
            }
        }
        let next = self.now + SPAWN_TICK;
        self.schedule(next, Act::Spawn);
        Ok(())
    }

    fn spawn(&mut self, scn: Scn) -> Result<()> {
        match scn {
            Scn::Service => self.sc_service(),
            Scn::UserBurst => self.sc_user_burst(),
            Scn::UserAssume => self.sc_user_assume(false),
            Scn::CrossAssume => self.sc_user_assume(true),
            Scn::DeepChain => self.sc_deep_chain(),
            Scn::Loop if self.clean => self.sc_deep_chain(),
            Scn::Loop => self.sc_loop(),
            Scn::Saml => self.sc_saml(false),
            Scn::Idc => self.sc_saml(true),
            Scn::WebId => self.sc_web_identity(),
            Scn::Ec2 => {
                let acct = self.rng.below(self.w.accounts.len() as u64) as usize;
                self.launch_instance(acct, false)
            }
            Scn::Lambda => self.sc_lambda(),
            Scn::Config => self.sc_config(),
            Scn::Gst => self.sc_token(false),
            Scn::Gft => self.sc_token(true),
            Scn::AssumeRoot => self.sc_assume_root(),
            Scn::Switch => self.sc_switch(),
            Scn::Failed => self.sc_failed(),
            Scn::Anonymous => self.sc_anonymous(),
            Scn::Vendor => self.sc_vendor(),
            Scn::Orphan => self.sc_orphan(),
            Scn::RootConsole => self.sc_root_console(),
        }
    }

    fn pick_user(&mut self, human: Option<bool>) -> usize {
        let cands: Vec<usize> = (0..self.w.users.len())
            .filter(|&u| human.is_none_or(|h| self.w.users[u].human == h))
            .collect();
        *self.rng.pick(&cands)
    }

    fn sc_user_burst(&mut self) -> Result<()> {
        let u = self.pick_user(None);
        let user = &self.w.users[u];
        let home = self.pick_home(user.acct);
        let mut a = Actor::new(
            Kind::User(u),
            user.acct,
            user_truth(self.w, u),
            user.ip.as_str().into(),
            user.ua,
            home,
        );
        a.key = Some(user.akia.clone());
        a.profile = if user.human { api::HUMAN } else { api::AUTO };
        a.left = self.rng.range(5, 40) as u32;
        a.gap = self.rng.range(10, 90) as f64;
        self.add_actor(a, self.now);
        Ok(())
    }

    fn sc_user_assume(&mut self, cross: bool) -> Result<()> {
        let u = self.pick_user(None);
        let user = &self.w.users[u];
        let n = self.w.accounts.len();
        let acct = if cross && n > 1 {
            (user.acct + 1 + self.rng.below(n as u64 - 1) as usize) % n
        } else {
            user.acct
        };
        let kind = if self.rng.chance(0.7) {
            RoleKind::Human
        } else {
            RoleKind::Chain
        };
        let role = self.w.pick_role(&mut self.rng, acct, kind);
        let caller = self.user_caller(u);
        let home = self.pick_home(user.acct);
        let name = self.sdk_session_name(&user.name);
        let duration = *self.rng.pick(&[900, 3600, 3600, 7200, 14400]);
        let iss = self.assume_role(
            &caller, home, role, name, duration, None, false, false, false, false,
        )?;
        let mut s = self.new_role_actor(&caller.truth, role, &iss, Conf::Exact);
        s.ip = caller.ip.clone();
        s.ua = user.ua;
        s.home = self.pick_home(acct);
        s.profile = if user.human { api::HUMAN } else { api::CI };
        s.mfa = user.human && self.rng.chance(0.4);
        s.left = self.rng.range(10, 80) as u32;
        s.gap = self.rng.range(10, 60) as f64;
        s.chain_p = 0.02;
        let first = self.now + 1 + self.rng.below(10) as i64;
        self.add_actor(s, first);
        Ok(())
    }

    fn chain_plan(&mut self, first_acct: usize, hops: usize) -> Vec<Hop> {
        let n = self.w.accounts.len();
        let mut acct = first_acct;
        let mut plan: Vec<Hop> = Vec::with_capacity(hops);
        for _ in 0..hops {
            if self.rng.chance(0.5) {
                acct = self.rng.below(n as u64) as usize;
            }
            let mut role = self.w.pick_role(&mut self.rng, acct, RoleKind::Chain);
            // Clean background: no role twice in a chain (no cycle).
            while self.clean && plan.iter().any(|h| h.role == role) {
                acct = self.rng.below(n as u64) as usize;
                role = self.w.pick_role(&mut self.rng, acct, RoleKind::Chain);
            }
            plan.push(Hop { role });
        }
        plan
    }

    /// user → R1 → … → Rk, k in 1..=6, with sourceIdentity on some chains.
    fn start_chain(&mut self, u: usize, roles: Vec<Hop>) -> Result<()> {
        let user = &self.w.users[u];
        let caller = self.user_caller(u);
        let home = self.pick_home(user.acct);
        let src: Option<Rc<str>> = self.rng.chance(0.4).then(|| Rc::from(user.name.as_str()));
        let transitive = self.rng.chance(0.2);
        let first = roles[0].role;
        let name = self.sdk_session_name(&user.name);
        let iss = self.assume_role(
            &caller,
            home,
            first,
            name,
            3600,
            src.as_deref(),
            false,
            transitive,
            false,
            false,
        )?;
        let mut s = self.new_role_actor(&caller.truth, first, &iss, Conf::Exact);
        s.ip = caller.ip.clone();
        s.ua = user.ua;
        s.home = self.pick_home(s.acct);
        s.profile = if user.human { api::HUMAN } else { api::CI };
        s.src_identity = src;
        s.transitive = transitive;
        s.plan = roles[1..].to_vec();
        s.hop_every = self.rng.range(1, 5) as u32;
        s.left = s.hop_every + self.rng.range(0, 5) as u32;
        s.gap = self.rng.range(5, 40) as f64;
        let first_at = self.now + 1 + self.rng.below(10) as i64;
        self.add_actor(s, first_at);
        Ok(())
    }

    fn sc_deep_chain(&mut self) -> Result<()> {
        let u = self.pick_user(None);
        let hops = 1 + self.rng.below(u64::from(self.max_depth())) as usize;
        let acct = self.w.users[u].acct;
        let plan = self.chain_plan(acct, hops);
        self.start_chain(u, plan)
    }

    /// A→B→A→… refresh loop between two accounts (spec 2.7, elastic rule).
    fn sc_loop(&mut self) -> Result<()> {
        let u = self.pick_user(None);
        let n = self.w.accounts.len();
        let a1 = self.rng.below(n as u64) as usize;
        let a2 = if n > 1 { (a1 + 1) % n } else { a1 };
        let ra = self.w.find_role(a1, "RefreshLoopA");
        let rb = self.w.find_role(a2, "RefreshLoopB");
        let hops = 3 + self.rng.below(4) as usize;
        let plan = (0..hops)
            .map(|i| Hop {
                role: if i % 2 == 0 { ra } else { rb },
            })
            .collect();
        self.start_chain(u, plan)
    }

    /// AssumeRoleWithSAML: a corporate IdP, or IAM Identity Center (spec
    /// 2.4.3, 2.4.11) whose sessions sign with keys other than the issued one.
    fn sc_saml(&mut self, idc: bool) -> Result<()> {
        let w = self.w;
        let p = self.rng.below(w.people.len() as u64) as usize;
        let acct = self.rng.below(w.accounts.len() as u64) as usize;
        let role = w.pick_role(
            &mut self.rng,
            acct,
            if idc { RoleKind::Sso } else { RoleKind::Saml },
        );
        let email = w.people[p].email.clone();
        let (provider, qualifier) = if idc {
            (
                w.accounts[acct].sso_provider.clone(),
                w.sso_qualifier.clone(),
            )
        } else {
            (
                w.accounts[acct].saml_provider.clone(),
                w.saml_qualifier.clone(),
            )
        };
        let truth = Truth::direct(&format!("saml:{provider}:{email}"), Conf::Exact);
        let person_ip: Rc<str> = ipv4(&mut self.rng).into();
        let (region, addl, host, ip, ua): (u8, Option<String>, String, Rc<str>, &'static str) =
            if idc {
                let r = REGIONS[w.idc_region as usize];
                let addl = object(|o| {
                    o.s("ExtendedRequestId", &self.rng.b64(56));
                    let mut rd = o.obj("RequestDetails");
                    rd.s("endpointType", "regional").s("awsServingRegion", r);
                });
                (
                    w.idc_region,
                    Some(addl),
                    format!("sts.{r}.amazonaws.com"),
                    api_ip(&mut self.rng),
                    world::UA_SSO_JAVA,
                )
            } else {
                let home = self.pick_home(acct);
                let (r, addl, host) = self.sts_region(home);
                let ua = if self.rng.chance(0.5) {
                    world::UA_CLI_MAC
                } else {
                    world::UA_BOTO
                };
                (r, addl, host, person_ip.clone(), ua)
            };
        let caller = Caller {
            acct: Some(acct),
            acct_id: w.accounts[acct].id.clone(),
            ident: object(|o| {
                o.s("type", "SAMLUser")
                    .s("principalId", &format!("{qualifier}:{email}"))
                    .s("userName", &email)
                    .s("identityProvider", &qualifier);
            }),
            principal: format!("{qualifier}:{email}"),
            arn: String::new(),
            truth,
            ip,
            ua,
        };
        let r = &w.roles[role];
        let duration = if idc {
            43200
        } else {
            *self.rng.pick(&[3600, 14400, 28800])
        };
        let key = self.new_key("ASIA", acct);
        let expires = self.now + duration - i64::from(idc);
        let src_identity = (!idc && self.rng.chance(0.3)).then(|| email.clone());
        let req = object(|o| {
            o.s("sAMLAssertionID", &format!("_{}", self.rng.uuid()))
                .s("roleSessionName", &email)
                .s("roleArn", &r.arn)
                .s("principalArn", &provider)
                .n("durationSeconds", duration);
            if let Some(si) = &src_identity {
                o.s("sourceIdentity", si);
            }
            if !idc {
                let mut pt = o.obj("principalTags");
                pt.s("Department", "Engineering");
            }
        });
        let mut resp = String::with_capacity(900);
        {
            let mut o = Obj::new(&mut resp);
            self.credentials(&mut o, &key, expires);
            {
                let mut au = o.obj("assumedRoleUser");
                au.s("assumedRoleId", &format!("{}:{email}", r.id)).s(
                    "arn",
                    &format!(
                        "arn:aws:sts::{}:assumed-role/{}/{email}",
                        w.accounts[acct].id, r.name
                    ),
                );
            }
            if !idc {
                o.n("packedPolicySize", 1);
            }
            o.s("subject", &email)
                .s("subjectType", if idc { "persistent" } else { "transient" });
            if idc {
                o.s(
                    "issuer",
                    &format!(
                        "https://portal.sso.{}.amazonaws.com/saml/assertion/{}",
                        REGIONS[w.idc_region as usize],
                        self.rng.b64(44)
                    ),
                );
            } else {
                o.s(
                    "issuer",
                    &format!("http://www.okta.com/exk{}", self.rng.alnum(17)),
                );
            }
            o.s("audience", "https://signin.aws.amazon.com/saml")
                .s("nameQualifier", &qualifier);
            if let Some(si) = &src_identity {
                o.s("sourceIdentity", si);
            }
        }
        let mut c = Call::new("sts.amazonaws.com", "AssumeRoleWithSAML", "1.08", region);
        c.req = Some(req);
        c.resp = Some(resp);
        c.addl = addl;
        c.resources = Some(self.role_resources(role, Some(&provider)));
        c.tls_host = Some(host);
        c.delay = Delay::Issuance;
        self.emit_call(&caller, acct, c)?;
        *self
            .stats
            .issuances
            .entry("AssumeRoleWithSAML")
            .or_default() += 1;
        self.stats.sessions += 1;
        let iss = Issued {
            key,
            time: self.now,
            expires,
            session_name: email,
        };
        let mut s = self.new_role_actor(
            &caller.truth,
            role,
            &iss,
            if idc { Conf::Inferred } else { Conf::Exact },
        );
        s.ip = person_ip;
        s.ua = if self.rng.chance(0.5) {
            world::UA_CLI_MAC
        } else {
            world::UA_CLI
        };
        s.home = self.pick_home(acct);
        s.left = self.rng.range(20, 150) as u32;
        s.gap = self.rng.range(20, 120) as f64;
        s.chain_p = 0.02;
        s.src_identity = src_identity.map(|e| Rc::from(e.as_str()));
        if idc {
            // The portal hands out credentials other than the issued ones.
            s.key = Some(self.new_key("ASIA", acct));
            if self.rng.chance(0.6) {
                s.on_behalf = Some((
                    w.people[p].idc_user.clone(),
                    format!(
                        "arn:aws:identitystore::{}:identitystore/{}",
                        w.accounts[0].id, w.identity_store
                    ),
                ));
            }
            if acct == 0
                && w.accounts.len() > 1
                && r.name.contains("Administrator")
                && self.rng.chance(0.15)
            {
                s.root_target = Some(1 + self.rng.below(w.accounts.len() as u64 - 1) as usize);
                s.transitions_after = self.rng.range(1, 4) as u32;
            }
        }
        let first = self.now + 1 + self.rng.below(20) as i64;
        self.add_actor(s, first);
        Ok(())
    }

    fn sc_web_identity(&mut self) -> Result<()> {
        let w = self.w;
        let eks_acct = w.accounts.len().min(2) - 1;
        let eks = self.rng.chance(0.35);
        let acct = if eks {
            eks_acct
        } else {
            self.rng.below(w.accounts.len() as u64) as usize
        };
        let role = if eks {
            w.find_role(acct, "eks-workload")
        } else {
            w.find_role(acct, "github-actions-deploy")
        };
        let (provider, sub, name, ua, ip): (String, String, String, &'static str, Rc<str>) = if eks
        {
            let sa = self.rng.pick(&w.eks_service_accounts).clone();
            (
                w.eks_provider.clone(),
                sa,
                format!("botocore-session-{}", self.now),
                world::UA_BOTO,
                api_ip(&mut self.rng),
            )
        } else {
            let repo = self.rng.pick(&w.github_repos).clone();
            let r = *self.rng.pick(&[
                "ref:refs/heads/main",
                "environment:production",
                "pull_request",
            ]);
            (
                w.accounts[acct].oidc_github.clone(),
                format!("repo:{repo}:{r}"),
                "GitHubActions".into(),
                world::UA_GHA,
                format!(
                    "20.{}.{}.{}",
                    self.rng.below(256),
                    self.rng.below(256),
                    1 + self.rng.below(254)
                )
                .into(),
            )
        };
        let aud = "sts.amazonaws.com";
        let caller = Caller {
            acct: Some(acct),
            acct_id: w.accounts[acct].id.clone(),
            ident: object(|o| {
                o.s("type", "WebIdentityUser")
                    .s("principalId", &format!("{provider}:{aud}:{sub}"))
                    .s("userName", &sub)
                    .s("identityProvider", &provider);
            }),
            principal: format!("{provider}:{aud}:{sub}"),
            arn: String::new(),
            truth: Truth::direct(&format!("oidc:{provider}:{sub}"), Conf::Exact),
            ip: ip.clone(),
            ua,
        };
        let r = &w.roles[role];
        let key = self.new_key("ASIA", acct);
        let expires = self.now + 3600;
        let home = self.pick_home(acct);
        let (region, _, host) = self.sts_region(home);
        let req = object(|o| {
            o.s("roleArn", &r.arn)
                .s("roleSessionName", &name)
                .n("durationSeconds", 3600);
        });
        let mut resp = String::with_capacity(900);
        {
            let mut o = Obj::new(&mut resp);
            self.credentials(&mut o, &key, expires);
            o.s("subjectFromWebIdentityToken", &sub);
            {
                let mut au = o.obj("assumedRoleUser");
                au.s("assumedRoleId", &format!("{}:{name}", r.id)).s(
                    "arn",
                    &format!(
                        "arn:aws:sts::{}:assumed-role/{}/{name}",
                        w.accounts[acct].id, r.name
                    ),
                );
            }
            o.s("provider", &provider).s("audience", aud);
        }
        let mut c = Call::new(
            "sts.amazonaws.com",
            "AssumeRoleWithWebIdentity",
            "1.08",
            region,
        );
        c.req = Some(req);
        c.resp = Some(resp);
        c.addl =
            Some("{\"identityProviderConnectionVerificationMethod\":\"IAMTrustStore\"}".into());
        c.resources = Some(self.role_resources(role, None));
        c.tls_host = Some(host);
        c.delay = Delay::Issuance;
        self.emit_call(&caller, acct, c)?;
        *self
            .stats
            .issuances
            .entry("AssumeRoleWithWebIdentity")
            .or_default() += 1;
        self.stats.sessions += 1;
        let iss = Issued {
            key,
            time: self.now,
            expires,
            session_name: name,
        };
        let mut s = self.new_role_actor(&caller.truth, role, &iss, Conf::Exact);
        s.ip = ip;
        s.ua = ua;
        s.home = home;
        s.profile = api::CI;
        s.web_provider = Some(provider);
        s.left = self.rng.range(5, 60) as u32;
        s.gap = self.rng.range(3, 30) as f64;
        s.chain_p = if eks { 0.0 } else { 0.05 };
        let first = self.now + 1 + self.rng.below(5) as i64;
        self.add_actor(s, first);
        Ok(())
    }

    fn sc_lambda(&mut self) -> Result<()> {
        let w = self.w;
        let acct = self.rng.below(w.accounts.len() as u64) as usize;
        let role = w.pick_role(&mut self.rng, acct, RoleKind::Lambda);
        let r = &w.roles[role];
        let func = r.name.split("-role-").next().unwrap_or(&r.name).to_owned();
        let region = self.pick_home(acct);
        let caller = self.service_caller(acct, "lambda.amazonaws.com");
        let iss = self.assume_role(
            &caller,
            region,
            role,
            func.clone(),
            7800,
            None,
            false,
            false,
            true,
            true,
        )?;
        let mut s = self.new_role_actor(&caller.truth, role, &iss, Conf::Exact);
        s.ip = api_ip(&mut self.rng);
        s.ua = if self.rng.chance(0.5) {
            world::UA_LAMBDA_PY
        } else {
            world::UA_LAMBDA_JS
        };
        s.home = region;
        s.profile = api::LAMBDA;
        s.fn_arn = Some(format!(
            "arn:aws:lambda:{}:{}:function:{func}",
            REGIONS[region as usize], w.accounts[acct].id
        ));
        s.left = self.rng.range(3, 20) as u32;
        s.gap = self.rng.range(1, 15) as f64;
        let first = self.now + 1;
        self.add_actor(s, first);
        Ok(())
    }

    fn sc_config(&mut self) -> Result<()> {
        let w = self.w;
        let acct = self.rng.below(w.accounts.len() as u64) as usize;
        let role = w.find_role(acct, "AWSServiceRoleForConfig");
        let region = self.pick_home(acct);
        let caller = self.service_caller(acct, "config.amazonaws.com");
        let iss = self.assume_role(
            &caller,
            region,
            role,
            "AWSConfig-Describe".into(),
            3600,
            None,
            false,
            false,
            true,
            true,
        )?;
        let mut s = self.new_role_actor(&caller.truth, role, &iss, Conf::Exact);
        s.ip = "config.amazonaws.com".into();
        s.ua = "config.amazonaws.com";
        s.invoked_by = Some("config.amazonaws.com");
        s.home = region;
        s.profile = api::CONFIG;
        s.left = self.rng.range(10, 40) as u32;
        s.gap = self.rng.range(1, 6) as f64;
        let first = self.now + 1;
        self.add_actor(s, first);
        Ok(())
    }

    /// GetSessionToken / GetFederationToken: no role hop, the IAM user stays
    /// the origin (spec 2.4.5, 2.4.6).
    fn sc_token(&mut self, federation: bool) -> Result<()> {
        let u = self.pick_user(None);
        self.token_for(u, federation).map(|_| ())
    }

    /// User `u` calls GetSessionToken / GetFederationToken; returns the new
    /// session's actor.
    fn token_for(&mut self, u: usize, federation: bool) -> Result<u32> {
        let w = self.w;
        let user = &w.users[u];
        let caller = self.user_caller(u);
        let home = self.pick_home(user.acct);
        let (region, addl, host) = self.sts_region(home);
        let key = self.new_key("ASIA", user.acct);
        let duration = if federation {
            43200
        } else {
            *self.rng.pick(&[3600, 43200])
        };
        let expires = self.now + duration;
        let mfa = !federation && user.human && self.rng.chance(0.6);
        let fed_name = format!("fed-{}", user.name.split('@').next().unwrap_or("user"));
        let acct_id = &w.accounts[user.acct].id;
        let req = object(|o| {
            if federation {
                o.s("name", &fed_name).s(
                    "policy",
                    "{\n\t\"Version\": \"2012-10-17\",\n\t\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:Get*\", \"Resource\": \"*\"}]\n}",
                );
            }
            o.n("durationSeconds", duration);
            if mfa {
                o.s(
                    "serialNumber",
                    &format!("arn:aws:iam::{acct_id}:mfa/{}", user.name),
                );
            }
        });
        let mut resp = String::with_capacity(700);
        {
            let mut o = Obj::new(&mut resp);
            self.credentials(&mut o, &key, expires);
            if federation {
                {
                    let mut fu = o.obj("federatedUser");
                    fu.s(
                        "arn",
                        &format!("arn:aws:sts::{acct_id}:federated-user/{fed_name}"),
                    )
                    .s("federatedUserId", &format!("{acct_id}:{fed_name}"));
                }
                o.n("packedPolicySize", 4);
            }
        }
        let name = if federation {
            "GetFederationToken"
        } else {
            "GetSessionToken"
        };
        let mut c = Call::new("sts.amazonaws.com", name, "1.08", region);
        c.ro = false;
        c.req = Some(req);
        c.resp = Some(resp);
        c.addl = addl;
        c.tls_host = Some(host);
        c.delay = Delay::Issuance;
        self.emit_call(&caller, user.acct, c)?;
        *self.stats.issuances.entry(name).or_default() += 1;
        self.stats.sessions += 1;
        let kind = if federation {
            Kind::Fed(u)
        } else {
            Kind::Gst(u)
        };
        let mut s = Actor::new(
            kind,
            user.acct,
            caller.truth.clone(),
            caller.ip.clone(),
            user.ua,
            home,
        );
        s.key = Some(key.clone());
        s.issued_key = Some(key);
        s.creation = self.now;
        s.expires = expires;
        s.mfa = mfa;
        s.session_name = fed_name;
        s.profile = if user.human { api::HUMAN } else { api::AUTO };
        s.left = self.rng.range(5, 40) as u32;
        s.gap = self.rng.range(10, 90) as f64;
        s.chain_p = if federation || self.clean { 0.0 } else { 0.05 };
        let first = self.now + 1 + self.rng.below(10) as i64;
        let id = self.add_actor(s, first);
        Ok(id)
    }

    fn sc_assume_root(&mut self) -> Result<()> {
        let w = self.w;
        if w.accounts.len() < 2 {
            return self.sc_user_assume(false);
        }
        // A management-account admin session (IAM user → Admin role).
        let admins: Vec<usize> = w.accounts[0]
            .users
            .iter()
            .copied()
            .filter(|&u| w.users[u].human)
            .collect();
        let u = *self.rng.pick(&admins);
        let role = w.find_role(0, "Admin");
        let caller = self.user_caller(u);
        let name = self.sdk_session_name(&w.users[u].name);
        let iss = self.assume_role(
            &caller, US_EAST_1, role, name, 3600, None, false, false, false, false,
        )?;
        let mut s = self.new_role_actor(&caller.truth, role, &iss, Conf::Exact);
        s.ip = caller.ip.clone();
        s.ua = w.users[u].ua;
        s.home = US_EAST_1;
        s.mfa = true;
        s.root_target = Some(1 + self.rng.below(w.accounts.len() as u64 - 1) as usize);
        s.transitions_after = self.rng.range(1, 4) as u32;
        s.left = s.transitions_after + self.rng.range(1, 10) as u32;
        s.gap = self.rng.range(10, 40) as f64;
        let first = self.now + 2;
        self.add_actor(s, first);
        Ok(())
    }

    /// ConsoleLogin of an IAM user, a console session, then SwitchRole.
    fn sc_switch(&mut self) -> Result<()> {
        let w = self.w;
        let u = self.pick_user(Some(true));
        let user = &w.users[u];
        let n = w.accounts.len();
        let target_acct = if n > 1 && self.rng.chance(0.8) {
            (user.acct + 1 + self.rng.below(n as u64 - 1) as usize) % n
        } else {
            user.acct
        };
        let role = w.pick_role(&mut self.rng, target_acct, RoleKind::Human);
        let ip: Rc<str> = ipv4(&mut self.rng).into();
        self.console_login(u, ip.clone())?;
        let mut a = Actor::new(
            Kind::Console(u),
            user.acct,
            user_truth(w, u),
            ip,
            world::UA_BROWSER,
            US_EAST_1,
        );
        a.key = Some(self.new_key("ASIA", user.acct));
        a.creation = self.now;
        a.mfa = true;
        a.console = true;
        a.profile = api::HUMAN;
        a.switch_to = Some(role);
        a.transitions_after = self.rng.range(1, 4) as u32;
        a.left = a.transitions_after + self.rng.range(0, 3) as u32;
        a.gap = self.rng.range(10, 40) as f64;
        let first = self.now + 3;
        self.add_actor(a, first);
        Ok(())
    }

    fn console_login(&mut self, u: usize, ip: Rc<str>) -> Result<()> {
        let w = self.w;
        let user = &w.users[u];
        let caller = Caller {
            acct: Some(user.acct),
            acct_id: w.accounts[user.acct].id.clone(),
            ident: object(|o| {
                o.s("type", "IAMUser")
                    .s("principalId", &user.pid)
                    .s("arn", &user.arn)
                    .s("accountId", &w.accounts[user.acct].id)
                    .s("userName", &user.name);
            }),
            principal: user.pid.clone(),
            arn: user.arn.clone(),
            truth: user_truth(w, u),
            ip,
            ua: world::UA_BROWSER,
        };
        let mut c = Call::new("signin.amazonaws.com", "ConsoleLogin", "1.08", US_EAST_1);
        c.ro = false;
        c.event_type = "AwsConsoleSignIn";
        c.resp = Some("{\"ConsoleLogin\":\"Success\"}".into());
        c.addl = Some("{\"LoginTo\":\"https://console.aws.amazon.com/console/home\",\"MobileVersion\":\"No\",\"MFAUsed\":\"Yes\"}".into());
        self.emit_call(&caller, user.acct, c)
    }

    fn sc_failed(&mut self) -> Result<()> {
        let u = self.pick_user(None);
        let caller = self.user_caller(u);
        let home = self.pick_home(self.w.users[u].acct);
        for _ in 0..(1 + self.rng.below(3)) {
            self.failed_assume_by(&caller, home)?;
        }
        Ok(())
    }

    /// Calls by AWS services themselves: no key, `service:` origin.
    fn sc_service(&mut self) -> Result<()> {
        let w = self.w;
        let acct = self.rng.below(w.accounts.len() as u64) as usize;
        let k = self.rng.below(100);
        if k < 12 {
            // A service assuming a role whose calls are not logged here.
            let svc = *self.rng.pick(&[
                "ecs-tasks.amazonaws.com",
                "events.amazonaws.com",
                "states.amazonaws.com",
                "ssm.amazonaws.com",
            ]);
            let role = w.pick_role(&mut self.rng, acct, RoleKind::Chain);
            let region = self.pick_home(acct);
            let caller = self.service_caller(acct, svc);
            let name = format!(
                "{}-{}",
                svc.split('.').next().unwrap_or("svc"),
                self.rng.hex(8)
            );
            self.assume_role(
                &caller, region, role, name, 3600, None, false, false, true, false,
            )?;
            return Ok(());
        }
        let n = 1 + self.rng.below(6);
        for _ in 0..n {
            let region = self.pick_home(acct);
            let rname = REGIONS[region as usize];
            let svc = *self.rng.pick(&[
                "cloudtrail.amazonaws.com",
                "s3.amazonaws.com",
                "secretsmanager.amazonaws.com",
                "logs.amazonaws.com",
                "autoscaling.amazonaws.com",
            ]);
            let caller = self.service_caller(acct, svc);
            let key_id = self.rng.pick(&w.accounts[acct].kms_keys).clone();
            let key_arn = format!("arn:aws:kms:{rname}:{}:key/{key_id}", w.accounts[acct].id);
            let rotate = self.rng.chance(0.02);
            let name = if rotate {
                "RotateKey"
            } else if self.rng.chance(0.6) {
                "GenerateDataKey"
            } else {
                "Decrypt"
            };
            let mut c = Call::new("kms.amazonaws.com", name, "1.08", region);
            if rotate {
                c.event_type = "AwsServiceEvent";
                c.addl = Some(object(|o| {
                    o.s("keyId", &key_arn);
                }));
            } else {
                c.req = Some(object(|o| {
                    if name == "GenerateDataKey" {
                        o.s("keyId", &key_arn).s("keySpec", "AES_256");
                    } else {
                        o.s("encryptionAlgorithm", "SYMMETRIC_DEFAULT");
                    }
                    let mut ec = o.obj("encryptionContext");
                    match svc {
                        "cloudtrail.amazonaws.com" => {
                            ec.s(
                                "aws:cloudtrail:arn",
                                &format!(
                                    "arn:aws:cloudtrail:us-east-1:{}:trail/org-trail",
                                    w.accounts[0].id
                                ),
                            );
                        }
                        "s3.amazonaws.com" => {
                            ec.s(
                                "aws:s3:arn",
                                &format!(
                                    "arn:aws:s3:::{}/data/{}.parquet",
                                    w.accounts[acct].buckets[0],
                                    self.rng.hex(12)
                                ),
                            );
                        }
                        _ => {
                            ec.s("SecretARN", &format!("arn:aws:secretsmanager:{rname}:{}:secret:prod/db-credentials-AbCdEf", w.accounts[acct].id));
                        }
                    }
                }));
            }
            c.resources = Some(format!(
                "[{{\"accountId\":\"{}\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"{key_arn}\"}}]",
                w.accounts[acct].id
            ));
            self.emit_call(&caller, acct, c)?;
        }
        Ok(())
    }

    /// Requests that carry no key and no identity: origin `unknown:`.
    fn sc_anonymous(&mut self) -> Result<()> {
        let w = self.w;
        let acct = self.rng.below(w.accounts.len() as u64) as usize;
        let bucket = self.rng.pick(&w.accounts[acct].buckets).clone();
        let region = self.pick_home(acct);
        let caller = Caller {
            acct: Some(acct),
            acct_id: w.accounts[acct].id.clone(),
            ident: "{\"type\":\"Unknown\",\"principalId\":\"Anonymous\"}".into(),
            principal: String::new(),
            arn: "anonymous".into(),
            truth: Truth::direct("unknown:", Conf::Unknown),
            ip: ipv4(&mut self.rng).into(),
            ua: "curl/8.5.0",
        };
        let name = *self
            .rng
            .pick(&["GetBucketAcl", "GetBucketPolicyStatus", "GetBucketLocation"]);
        let mut c = Call::new("s3.amazonaws.com", name, "1.09", region);
        c.req = Some(object(|o| {
            o.s("bucketName", &bucket)
                .s("Host", &format!("{bucket}.s3.amazonaws.com"));
        }));
        c.err = Some(("AccessDenied".into(), "Access Denied".into()));
        c.tls_host = Some(format!("{bucket}.s3.amazonaws.com"));
        self.emit_call(&caller, acct, c)
    }

    /// A third-party account (not collected) assumes a role here: only the
    /// role-account copy exists (spec 2.6, origin `account:`).
    fn sc_vendor(&mut self) -> Result<()> {
        let w = self.w;
        let v = self.rng.below(w.vendors.len() as u64) as usize;
        let vendor = &w.vendors[v];
        let acct = self.rng.below(w.accounts.len() as u64) as usize;
        let role = w.find_role(acct, "DatadogIntegrationRole");
        let caller = Caller {
            acct: None,
            acct_id: vendor.acct_id.clone(),
            ident: String::new(),
            principal: vendor.principal.clone(),
            arn: String::new(),
            truth: Truth::direct(
                &format!("account:{}:{}", vendor.acct_id, vendor.principal),
                Conf::Inferred,
            ),
            ip: vendor.ip.as_str().into(),
            ua: world::UA_VENDOR,
        };
        let iss = self.assume_role(
            &caller,
            US_EAST_1,
            role,
            "DatadogAWSIntegration".into(),
            3600,
            None,
            false,
            false,
            false,
            false,
        )?;
        let mut s = self.new_role_actor(&caller.truth, role, &iss, Conf::Exact);
        s.ip = caller.ip.clone();
        s.ua = world::UA_VENDOR;
        s.home = self.pick_home(acct);
        s.profile = api::CONFIG;
        s.left = self.rng.range(10, 50) as u32;
        s.gap = self.rng.range(1, 10) as f64;
        let first = self.now + 1;
        self.add_actor(s, first);
        Ok(())
    }

    /// A session whose issuing AssumeRole is not in the corpus.
    fn sc_orphan(&mut self) -> Result<()> {
        let w = self.w;
        let acct = self.rng.below(w.accounts.len() as u64) as usize;
        let role = w.pick_role(&mut self.rng, acct, RoleKind::Human);
        let key = self.new_key("ASIA", acct);
        let truth = Truth::orphan(&key, &w.roles[role].arn);
        let mut s = Actor::new(
            Kind::Role(role),
            acct,
            truth,
            ipv4(&mut self.rng).into(),
            world::UA_CLI,
            self.pick_home(acct),
        );
        s.key = Some(key.clone());
        s.issued_key = Some(key);
        s.creation = self.now - self.rng.range(60, 1800);
        s.expires = s.creation + 3600;
        s.session_name = self.sdk_session_name("ops");
        s.depth = 1;
        s.left = self.rng.range(5, 40) as u32;
        s.gap = self.rng.range(10, 60) as f64;
        s.chain_p = 0.15;
        self.stats.orphan_sessions += 1;
        self.stats.sessions += 1;
        self.add_actor(s, self.now);
        Ok(())
    }

    fn sc_root_console(&mut self) -> Result<()> {
        let w = self.w;
        let acct = self.rng.below(w.accounts.len() as u64) as usize;
        let acct_id = w.accounts[acct].id.clone();
        let ip: Rc<str> = ipv4(&mut self.rng).into();
        let truth = Truth::direct(&format!("arn:aws:iam::{acct_id}:root"), Conf::Exact);
        let caller = Caller {
            acct: Some(acct),
            acct_id: acct_id.clone(),
            ident: object(|o| {
                o.s("type", "Root")
                    .s("principalId", &acct_id)
                    .s("arn", &format!("arn:aws:iam::{acct_id}:root"))
                    .s("accountId", &acct_id);
            }),
            principal: acct_id.clone(),
            arn: format!("arn:aws:iam::{acct_id}:root"),
            truth: truth.clone(),
            ip: ip.clone(),
            ua: world::UA_BROWSER,
        };
        let mut c = Call::new("signin.amazonaws.com", "ConsoleLogin", "1.08", US_EAST_1);
        c.ro = false;
        c.event_type = "AwsConsoleSignIn";
        c.resp = Some("{\"ConsoleLogin\":\"Success\"}".into());
        c.addl = Some("{\"LoginTo\":\"https://console.aws.amazon.com/console/home\",\"MobileVersion\":\"No\",\"MFAUsed\":\"Yes\"}".into());
        self.emit_call(&caller, acct, c)?;
        let mut s = Actor::new(Kind::Root, acct, truth, ip, world::UA_BROWSER, US_EAST_1);
        s.key = Some(self.new_key("ASIA", acct));
        s.creation = self.now;
        s.mfa = true;
        s.console = true;
        s.profile = api::ROOT;
        s.left = self.rng.range(2, 8) as u32;
        s.gap = 45.0;
        let first = self.now + 5;
        self.add_actor(s, first);
        Ok(())
    }
}
