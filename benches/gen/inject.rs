//! `--anomalies`: after a clean background, one case of each of the fifteen
//! `trailgraph anomalies` detectors, with the exact (kind, subject,
//! first_event_id) each must produce (docs/anomalies.md).
//!
//! Timeline (the background runs Monday 08:00 UTC for at most 11 h):
//! phase A, 10 minutes after the background, during office hours and before
//! the end of the learning period; then `baseline_until`; phase B (first-time
//! assumption, external account); then the off-hours assumption at Monday
//! 20:30 UTC, of an (origin, role) pair already seen in phase A.

use std::net::Ipv4Addr;
use std::rc::Rc;

use anyhow::Result;
use serde::Serialize;

use super::{api_ip, Call, Caller, Sim};
use crate::api;
use crate::ident::Variant;
use crate::json::object;
use crate::timefmt;
use crate::truth::{Conf, Truth};
use crate::world::{self, RoleKind, US_EAST_1};

/// One expected finding.
#[derive(Serialize, Clone, Debug)]
pub struct Finding {
    pub kind: &'static str,
    pub subject: String,
    pub first_event_id: String,
}

pub struct Injected {
    pub findings: Vec<Finding>,
    /// End of the learning period (ISO 8601).
    pub baseline_until: String,
    /// AWS-side IPv4 /24 prefixes (workload addresses of the background).
    pub aws_prefixes: Vec<String>,
}

/// The default `no_mfa_sensitive.roles`: `*Admin*`, `BreakGlass*`.
pub fn sensitive(role_name: &str) -> bool {
    let n = role_name.to_ascii_lowercase();
    n.contains("admin") || n.starts_with("breakglass")
}

/// The APIs an enumeration tool tries (api_enumeration_burst).
const ENUMERATED: [(&str, &str); 20] = [
    ("iam.amazonaws.com", "ListUsers"),
    ("iam.amazonaws.com", "ListRoles"),
    ("iam.amazonaws.com", "ListPolicies"),
    ("iam.amazonaws.com", "ListGroups"),
    ("iam.amazonaws.com", "GetAccountSummary"),
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("ec2.amazonaws.com", "DescribeVolumes"),
    ("ec2.amazonaws.com", "DescribeSnapshots"),
    ("ec2.amazonaws.com", "DescribeVpcs"),
    ("ec2.amazonaws.com", "DescribeSecurityGroups"),
    ("s3.amazonaws.com", "ListBuckets"),
    ("lambda.amazonaws.com", "ListFunctions20150331"),
    ("dynamodb.amazonaws.com", "ListTables"),
    ("rds.amazonaws.com", "DescribeDBInstances"),
    ("kms.amazonaws.com", "ListKeys"),
    ("secretsmanager.amazonaws.com", "ListSecrets"),
    ("sns.amazonaws.com", "ListTopics"),
    ("sqs.amazonaws.com", "ListQueues"),
    ("cloudtrail.amazonaws.com", "DescribeTrails"),
    ("guardduty.amazonaws.com", "ListDetectors"),
];

/// A GetCallerIdentity call.
fn whoami<'a>() -> Call<'a> {
    let mut call = Call::new("sts.amazonaws.com", "GetCallerIdentity", "1.08", US_EAST_1);
    call.tls_host = Some("sts.amazonaws.com".into());
    call
}

/// Seconds from the start (Monday 08:00 UTC) to Monday 20:30 UTC.
const OFF_HOURS_AT: i64 = 12 * 3600 + 1800;

impl Sim<'_> {
    fn tick(&mut self, secs: i64) -> Result<()> {
        self.advance(self.now + secs)
    }

    fn eid(&self) -> String {
        self.last_eids
            .first()
            .cloned()
            .expect("an event was emitted")
    }

    /// An outside (non-AWS, non-corporate) public address.
    fn outside_ip(&mut self) -> Rc<str> {
        format!(
            "45.{}.{}.{}",
            128 + self.rng.below(64),
            self.rng.below(256),
            1 + self.rng.below(254)
        )
        .into()
    }

    /// `caller` assumes `role` (same account); returns the new actor, its
    /// key and the AssumeRole event id.
    fn inj_assume(&mut self, caller: &Caller, role: usize) -> Result<(u32, String, String)> {
        let base = caller.arn.rsplit('/').next().unwrap_or("inj").to_owned();
        let name = format!("{base}-{}", self.rng.hex(6));
        let home = self.w.accounts[self.w.roles[role].acct].active[0];
        let iss = self.assume_role(
            caller, home, role, name, 3600, None, false, false, false, false,
        )?;
        let eid = self.eid();
        let key = iss.key.clone();
        let mut s = self.new_role_actor(&caller.truth, role, &iss, Conf::Exact);
        s.ip = caller.ip.clone();
        s.ua = caller.ua;
        s.home = home;
        s.profile = api::HUMAN;
        s.left = 0;
        let id = self.add_actor(s, i64::MAX / 2);
        Ok((id, key, eid))
    }

    /// One ordinary call by actor `id`, optionally from another address.
    fn inj_use(&mut self, id: u32, ip: Option<Rc<str>>) -> Result<String> {
        if let Some(ip) = ip {
            self.actors[id as usize].as_mut().expect("live").ip = ip;
        }
        self.regular_call(id)?;
        Ok(self.eid())
    }

    fn chain_roles(&self, acct: usize) -> Vec<usize> {
        self.w
            .roles_of(acct, RoleKind::Chain)
            .into_iter()
            .filter(|&r| !sensitive(&self.w.roles[r].name))
            .collect()
    }

    fn find(&mut self, kind: &'static str, subject: &str, eid: String) {
        self.injected
            .get_or_insert_with(|| Injected {
                findings: Vec::new(),
                baseline_until: String::new(),
                aws_prefixes: Vec::new(),
            })
            .findings
            .push(Finding {
                kind,
                subject: subject.to_owned(),
                first_event_id: eid,
            });
    }

    pub(super) fn inject_all(&mut self) -> Result<()> {
        let w = self.w;
        // Nothing of the background runs any more.
        self.heap.clear();
        self.tick(600)?;
        let nu = w.users.len();
        let user = |k: usize| k % nu;

        // Phase A: before the end of the learning period, office hours.
        // Seed for off_hours: user 0 assumes a non-sensitive role now.
        let u_off = user(0);
        let r_off = w.find_role(w.users[u_off].acct, "Developer");
        let c = self.user_caller(u_off);
        self.inj_assume(&c, r_off)?;
        self.tick(20)?;

        // 1. role_chain_depth: user > R1 > R2 > R3 > R4, distinct roles.
        let u = user(1);
        let roles = self.chain_roles(w.users[u].acct);
        let mut caller = self.user_caller(u);
        let mut last = (0, String::new(), String::new());
        for &r in roles.iter().take(4) {
            last = self.inj_assume(&caller, r)?;
            caller = self.caller_of(last.0, Variant::Normal);
            self.tick(5)?;
        }
        assert!(roles.len() >= 4, "four chain roles per account");
        self.find("role_chain_depth", &last.1, last.2.clone());
        self.tick(20)?;

        // 2. role_cycle: user > X > Y > X.
        let u = user(2);
        let roles = self.chain_roles(w.users[u].acct);
        let mut caller = self.user_caller(u);
        for &r in &[roles[0], roles[1], roles[0]] {
            last = self.inj_assume(&caller, r)?;
            caller = self.caller_of(last.0, Variant::Normal);
            self.tick(5)?;
        }
        self.find("role_cycle", &last.1, last.2);
        self.tick(20)?;

        // 3. workload_credential_exfiltration: a Lambda session whose first
        // use is from an outside address.
        let acct = 0;
        let role = w.pick_role(&mut self.rng, acct, RoleKind::Lambda);
        let func = w.roles[role]
            .name
            .split("-role-")
            .next()
            .unwrap_or("fn")
            .to_owned();
        let region = w.accounts[acct].active[0];
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
            false,
        )?;
        let mut s = self.new_role_actor(&caller.truth, role, &iss, Conf::Exact);
        let lambda_ip = api_ip(&mut self.rng);
        self.aws_side.insert(lambda_ip.to_string());
        s.ip = lambda_ip;
        s.ua = world::UA_LAMBDA_PY;
        s.home = region;
        s.profile = api::LAMBDA;
        s.fn_arn = Some(format!(
            "arn:aws:lambda:{}:{}:function:{func}",
            world::REGIONS[region as usize],
            w.accounts[acct].id
        ));
        let id = self.add_actor(s, i64::MAX / 2);
        self.tick(30)?;
        let ip = self.outside_ip();
        let eid = self.inj_use(id, Some(ip.clone()))?;
        // emit_call took it for an AWS-side address: it is the outside one.
        self.aws_side.remove(&*ip);
        self.find("workload_credential_exfiltration", &iss.key, eid);
        self.tick(20)?;

        // 4. session_multi_ip: a user's role session used from home, then
        // 30 s later from another /16.
        let u = user(3);
        let r = w.find_role(w.users[u].acct, "ReadOnly");
        let c = self.user_caller(u);
        let (id, key, _) = self.inj_assume(&c, r)?;
        self.tick(10)?;
        self.inj_use(id, None)?;
        self.tick(30)?;
        let ip = self.outside_ip();
        let eid = self.inj_use(id, Some(ip))?;
        self.find("session_multi_ip", &key, eid);
        self.tick(20)?;

        // 5. assume_role_enumeration: 10 denied AssumeRole calls on 5 roles,
        // 20 s apart; the finding is the tenth.
        let u = user(4);
        let c = self.user_caller(u);
        let target = w.accounts[(w.users[u].acct + 1) % w.accounts.len()]
            .id
            .clone();
        let mut eid = String::new();
        for i in 0..10 {
            let name = [
                "Admin",
                "prod-admin",
                "PowerUser",
                "Billing",
                "SecurityAudit",
            ][i % 5];
            let role_arn = format!("arn:aws:iam::{target}:role/{name}");
            let mut call = Call::new("sts.amazonaws.com", "AssumeRole", "1.08", US_EAST_1);
            call.err = Some((
                "AccessDenied".into(),
                format!(
                    "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                    c.arn
                ),
            ));
            call.tls_host = Some("sts.amazonaws.com".into());
            let own = w.users[u].acct;
            self.emit_call(&c, own, call)?;
            eid = self.eid();
            self.tick(20)?;
        }
        self.find("assume_role_enumeration", &c.arn, eid);
        self.tick(400)?;

        // 7. no_mfa_sensitive: a user assumes Admin without MFA.
        let u = user(5);
        let r = w.find_role(w.users[u].acct, "Admin");
        let c = self.user_caller(u);
        self.mfa_override = Some(false);
        let (_, key, eid) = self.inj_assume(&c, r)?;
        self.mfa_override = None;
        self.find("no_mfa_sensitive", &key, eid);
        self.tick(20)?;

        // 10. getsessiontoken_then_assume.
        let u = user(6);
        let id = self.token_for(u, false)?;
        let gst_key = self.actors[id as usize]
            .as_ref()
            .expect("live")
            .issued_key
            .clone()
            .expect("issued");
        self.tick(15)?;
        let c = self.caller_of(id, Variant::Normal);
        let r = self.chain_roles(w.users[u].acct)[0];
        let (_, _, eid) = self.inj_assume(&c, r)?;
        self.find("getsessiontoken_then_assume", &gst_key, eid);
        self.tick(20)?;

        // 11. federation_token_persistence: token, a use, the requesting key
        // deactivated, a use after it.
        let u = user(7);
        let id = self.token_for(u, true)?;
        let fed_key = self.actors[id as usize]
            .as_ref()
            .expect("live")
            .issued_key
            .clone()
            .expect("issued");
        self.tick(10)?;
        self.inj_use(id, None)?;
        self.tick(30)?;
        let c = self.user_caller(u);
        let mut call = Call::new("iam.amazonaws.com", "UpdateAccessKey", "1.08", US_EAST_1);
        call.ro = false;
        let (uname, akia) = (w.users[u].name.clone(), w.users[u].akia.clone());
        call.req = Some(object(|o| {
            o.s("userName", &uname)
                .s("accessKeyId", &akia)
                .s("status", "Inactive");
        }));
        call.tls_host = Some("iam.amazonaws.com".into());
        self.emit_call(&c, w.users[u].acct, call)?;
        self.tick(45)?;
        let eid = self.inj_use(id, None)?;
        self.find("federation_token_persistence", &fed_key, eid);
        self.tick(20)?;

        // 12. api_enumeration_burst: a user's long-term key refused on 20
        // distinct APIs, 4 s apart; the finding is the twentieth.
        let u = user(8);
        let c = self.user_caller(u);
        let mut eid = String::new();
        for (src, name) in ENUMERATED {
            let mut call = Call::new(src, name, "1.08", US_EAST_1);
            let code = if src == "ec2.amazonaws.com" {
                "Client.UnauthorizedOperation"
            } else {
                "AccessDenied"
            };
            call.err = Some((
                code.into(),
                format!("User: {} is not authorized to perform: {name}", c.arn),
            ));
            call.tls_host = Some(src.into());
            self.emit_call(&c, w.users[u].acct, call)?;
            eid = self.eid();
            self.tick(4)?;
        }
        self.find("api_enumeration_burst", &w.users[u].akia, eid);
        self.tick(400)?;

        // 14. console_login_without_mfa: a user signs in without MFA.
        let u = user(9);
        let c = self.user_caller(u);
        let mut call = Call::new("signin.amazonaws.com", "ConsoleLogin", "1.08", US_EAST_1);
        call.ro = false;
        call.event_type = "AwsConsoleSignIn";
        call.resp = Some("{\"ConsoleLogin\":\"Success\"}".into());
        call.addl = Some("{\"LoginTo\":\"https://console.aws.amazon.com/console/home\",\"MobileVersion\":\"No\",\"MFAUsed\":\"No\"}".into());
        self.emit_call(&c, w.users[u].acct, call)?;
        let eid = self.eid();
        self.find("console_login_without_mfa", &w.users[u].arn, eid);
        self.tick(20)?;

        // 15. persistence_credential_created: a user makes an access key for
        // another (new) user.
        let u = user(10);
        let c = self.user_caller(u);
        let acct = w.users[u].acct;
        let target = format!("svc-{}", self.rng.hex(6));
        let mut call = Call::new("iam.amazonaws.com", "CreateAccessKey", "1.08", US_EAST_1);
        call.ro = false;
        call.req = Some(object(|o| {
            o.s("userName", &target);
        }));
        call.tls_host = Some("iam.amazonaws.com".into());
        self.emit_call(&c, acct, call)?;
        let eid = self.eid();
        let subject = format!("arn:aws:iam::{}:user/{target}", w.accounts[acct].id);
        self.find("persistence_credential_created", &subject, eid);
        self.tick(20)?;

        // 13. long_term_key_new_network (seed): a user's key used from its
        // office address in the learning period.
        let u_net = user(11);
        let c = self.user_caller(u_net);
        self.emit_call(&c, w.users[u_net].acct, whoami())?;
        self.tick(20)?;

        // End of the learning period.
        self.tick(300)?;
        let baseline = timefmt::iso(self.now);
        self.tick(60)?;

        // Phase B. 13. long_term_key_new_network: the seeded key used from an
        // outside network.
        let mut c = self.user_caller(u_net);
        c.ip = self.outside_ip();
        self.emit_call(&c, w.users[u_net].acct, whoami())?;
        let eid = self.eid();
        self.find("long_term_key_new_network", &w.users[u_net].akia, eid);
        self.tick(20)?;

        // 6. first_time_assumption: a same-account (user, role) pair
        // never assumed before.
        let mut done = false;
        'outer: for k in 8..8 + nu {
            let u = user(k);
            if u == user(7) {
                continue;
            }
            let origin: Rc<str> = w.users[u].arn.as_str().into();
            for &r in &w.accounts[w.users[u].acct].roles {
                let role = &w.roles[r];
                if !matches!(role.kind, RoleKind::Human | RoleKind::Chain) || sensitive(&role.name)
                {
                    continue;
                }
                if !self.pairs.contains(&(origin.clone(), role.arn.clone())) {
                    let c = self.user_caller(u);
                    let (_, _, eid) = self.inj_assume(&c, r)?;
                    self.find("first_time_assumption", &origin, eid);
                    done = true;
                    break 'outer;
                }
            }
        }
        if !done {
            // A long simulation makes every user assume every role of its account: there is
            // no same-account pair left to be new (external_account_assumption below still
            // injects a first-time pair).
            eprintln!(
                "trailgraph-gen: note: every (user, role) pair of an account is already used at this size; no same-account first_time_assumption injected"
            );
        }
        self.tick(30)?;

        // 9. external_account_assumption: an account whose logs are not in
        // the input and that is not known assumes a role (only the role
        // account's copy exists); it is also a first-time pair.
        let ext = loop {
            let id = format!("{:012}", 100_000_000_000 + self.rng.below(800_000_000_000));
            if !w.accounts.iter().any(|a| a.id == id) && !w.vendors.iter().any(|v| v.acct_id == id)
            {
                break id;
            }
        };
        let principal = format!("AROA{}:recon", self.rng.alnum(17).to_ascii_uppercase());
        let origin = format!("account:{ext}:{principal}");
        let caller = Caller {
            acct: None,
            acct_id: ext.clone(),
            ident: String::new(),
            principal,
            arn: String::new(),
            truth: Truth::direct(&origin, Conf::Inferred),
            ip: self.outside_ip(),
            ua: world::UA_BOTO,
        };
        let r = self.chain_roles(0)[0];
        let (_, _, eid) = self.inj_assume(&caller, r)?;
        self.find("external_account_assumption", &ext, eid.clone());
        self.find("first_time_assumption", &origin, eid);

        // 8. off_hours: Monday 20:30 UTC, the pair seeded in phase A.
        let at = self.t0 + OFF_HOURS_AT;
        assert!(self.now < at, "background and phases A/B end before 20:00");
        self.advance(at)?;
        let c = self.user_caller(u_off);
        let (_, _, eid) = self.inj_assume(&c, r_off)?;
        self.find("off_hours", &w.users[u_off].arn, eid);

        // AWS ranges: the /24 of every workload address.
        let mut prefixes: Vec<String> = self
            .aws_side
            .iter()
            .filter_map(|s| s.parse::<Ipv4Addr>().ok())
            .map(|ip| {
                let o = ip.octets();
                format!("{}.{}.{}.0/24", o[0], o[1], o[2])
            })
            .collect();
        prefixes.sort();
        prefixes.dedup();
        let inj = self.injected.as_mut().expect("findings");
        inj.baseline_until = baseline;
        inj.aws_prefixes = prefixes;
        Ok(())
    }
}
