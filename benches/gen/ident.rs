//! Principals that act (actors) and the `userIdentity` objects they show.

use std::rc::Rc;

use crate::json::{object, Obj};
use crate::timefmt;
use crate::truth::{Conf, Truth};
use crate::world::World;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// IAM user signing with its long-term AKIA key.
    User(usize),
    /// IAM user console session: an ASIA key with no issuance in the logs.
    Console(usize),
    /// GetSessionToken session: `IAMUser` with the issued ASIA key.
    Gst(usize),
    /// GetFederationToken session: `FederatedUser`.
    Fed(usize),
    /// Assumed-role session.
    Role(usize),
    /// Root: a console session or an AssumeRoot session.
    Root,
}

/// Which variant of an actor's identity a record shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Normal,
    /// The caller-account copy of a console SwitchRole AssumeRole.
    SwitchRole,
    /// The AssumeRoot call (caller shows `assumedRoot: "true"`).
    AssumeRoot,
}

/// A planned chained AssumeRole.
#[derive(Clone, Copy, Debug)]
pub struct Hop {
    pub role: usize,
}

pub struct Actor {
    pub kind: Kind,
    /// Account whose trail receives its calls.
    pub acct: usize,
    pub ident: String,
    pub truth: Truth,
    /// accessKeyId on its calls.
    pub key: Option<String>,
    /// The key its issuance returned, when it differs from `key`.
    pub issued_key: Option<String>,
    pub arn: String,
    pub principal: String,
    pub session_name: String,
    pub creation: i64,
    pub expires: i64,
    pub src_identity: Option<Rc<str>>,
    pub ip: Rc<str>,
    pub ua: &'static str,
    pub home: u8,
    pub profile: u8,
    pub left: u32,
    pub gap: f64,
    pub plan: Vec<Hop>,
    pub hop_every: u32,
    pub since_hop: u32,
    pub chain_p: f64,
    pub depth: u8,
    pub console: bool,
    pub rotate_key: bool,
    pub instance: Option<u32>,
    pub instance_id: Option<String>,
    pub fn_arn: Option<String>,
    pub web_provider: Option<String>,
    pub on_behalf: Option<(String, String)>,
    pub invoked_by: Option<&'static str>,
    pub ec2_delivery: Option<&'static str>,
    pub mfa: bool,
    pub transitive: bool,
    pub switch_to: Option<usize>,
    pub root_target: Option<usize>,
    pub transitions_after: u32,
}

impl Actor {
    pub fn new(
        kind: Kind,
        acct: usize,
        truth: Truth,
        ip: Rc<str>,
        ua: &'static str,
        home: u8,
    ) -> Actor {
        Actor {
            kind,
            acct,
            ident: String::new(),
            truth,
            key: None,
            issued_key: None,
            arn: String::new(),
            principal: String::new(),
            session_name: String::new(),
            creation: 0,
            expires: i64::MAX,
            src_identity: None,
            ip,
            ua,
            home,
            profile: crate::api::HUMAN,
            left: 0,
            gap: 60.0,
            plan: Vec::new(),
            hop_every: 3,
            since_hop: 0,
            chain_p: 0.0,
            depth: 0,
            console: false,
            rotate_key: false,
            instance: None,
            instance_id: None,
            fn_arn: None,
            web_provider: None,
            on_behalf: None,
            invoked_by: None,
            ec2_delivery: None,
            mfa: false,
            transitive: false,
            switch_to: None,
            root_target: None,
            transitions_after: 0,
        }
    }

    /// Fills `arn`, `principal` and `ident` from the other fields.
    pub fn finish(&mut self, w: &World) {
        let acct_id = &w.accounts[self.acct].id;
        match self.kind {
            Kind::User(u) | Kind::Console(u) | Kind::Gst(u) => {
                self.arn = w.users[u].arn.clone();
                self.principal = w.users[u].pid.clone();
            }
            Kind::Fed(_) => {
                self.arn = format!(
                    "arn:aws:sts::{acct_id}:federated-user/{}",
                    self.session_name
                );
                self.principal = format!("{acct_id}:{}", self.session_name);
            }
            Kind::Role(r) => {
                let role = &w.roles[r];
                self.arn = format!(
                    "arn:aws:sts::{acct_id}:assumed-role/{}/{}",
                    role.name, self.session_name
                );
                self.principal = format!("{}:{}", role.id, self.session_name);
            }
            Kind::Root => {
                self.arn = format!("arn:aws:iam::{acct_id}:root");
                self.principal = acct_id.clone();
            }
        }
        self.ident = self.render(w, Variant::Normal);
    }

    fn attributes(&self, o: &mut Obj<'_>) {
        let mut at = o.obj("attributes");
        at.s("creationDate", &timefmt::iso(self.creation))
            .s("mfaAuthenticated", if self.mfa { "true" } else { "false" });
    }

    pub fn render(&self, w: &World, v: Variant) -> String {
        let acct_id = &w.accounts[self.acct].id;
        object(|o| match self.kind {
            Kind::User(u) => {
                let user = &w.users[u];
                o.s("type", "IAMUser")
                    .s("principalId", &user.pid)
                    .s("arn", &user.arn)
                    .s("accountId", acct_id)
                    .opt_s("accessKeyId", self.key.as_deref())
                    .s("userName", &user.name);
            }
            Kind::Console(u) | Kind::Gst(u) => {
                let user = &w.users[u];
                o.s("type", "IAMUser")
                    .s("principalId", &user.pid)
                    .s("arn", &user.arn)
                    .s("accountId", acct_id)
                    .opt_s("accessKeyId", self.key.as_deref())
                    .s("userName", &user.name);
                {
                    let mut sc = o.obj("sessionContext");
                    if matches!(self.kind, Kind::Console(_)) {
                        sc.raw("sessionIssuer", "{}")
                            .raw("webIdFederationData", "{}");
                    }
                    self.attributes(&mut sc);
                }
                if v == Variant::SwitchRole {
                    o.s("invokedBy", "AWS Internal");
                }
            }
            Kind::Fed(u) => {
                let user = &w.users[u];
                o.s("type", "FederatedUser")
                    .s("principalId", &self.principal)
                    .s("arn", &self.arn)
                    .s("accountId", acct_id)
                    .opt_s("accessKeyId", self.key.as_deref());
                let mut sc = o.obj("sessionContext");
                {
                    let mut si = sc.obj("sessionIssuer");
                    si.s("type", "IAMUser")
                        .s("principalId", &user.pid)
                        .s("arn", &user.arn)
                        .s("accountId", acct_id)
                        .s("userName", &user.name);
                }
                sc.raw("webIdFederationData", "{}");
                self.attributes(&mut sc);
            }
            Kind::Role(r) => {
                let role = &w.roles[r];
                o.s("type", "AssumedRole")
                    .s("principalId", &self.principal)
                    .s("arn", &self.arn)
                    .s("accountId", acct_id)
                    .opt_s("accessKeyId", self.key.as_deref());
                {
                    let mut sc = o.obj("sessionContext");
                    sc.raw("sessionIssuer", &role.issuer_json);
                    if let Some(p) = &self.web_provider {
                        let mut wi = sc.obj("webIdFederationData");
                        wi.s("federatedProvider", p).raw("attributes", "{}");
                    } else if self.ec2_delivery.is_some() || self.console {
                        sc.raw("webIdFederationData", "{}");
                    }
                    self.attributes(&mut sc);
                    if let Some(si) = &self.src_identity {
                        sc.s("sourceIdentity", si);
                    }
                    if let Some(d) = self.ec2_delivery {
                        sc.s("ec2RoleDelivery", d);
                    }
                    if v == Variant::AssumeRoot {
                        sc.s("assumedRoot", "true");
                    }
                }
                if let Some(ib) = self.invoked_by {
                    o.s("invokedBy", ib);
                }
                if let Some((uid, store)) = &self.on_behalf {
                    let mut ob = o.obj("onBehalfOf");
                    ob.s("userId", uid).s("identityStoreArn", store);
                }
                if let Some(f) = &self.fn_arn {
                    let mut sc = o.obj("inScopeOf");
                    sc.s("issuerType", "AWS::Lambda::Function")
                        .s("credentialsIssuedTo", f);
                }
            }
            Kind::Root => {
                o.s("type", "Root")
                    .s("principalId", acct_id)
                    .s("arn", &self.arn)
                    .s("accountId", acct_id)
                    .opt_s("accessKeyId", self.key.as_deref());
                let mut sc = o.obj("sessionContext");
                self.attributes(&mut sc);
            }
        })
    }
}

/// Identity of an IAM user signing with its long-term key (no actor needed).
pub fn user_truth(w: &World, u: usize) -> Truth {
    Truth::direct(&w.users[u].arn, Conf::Exact)
}
