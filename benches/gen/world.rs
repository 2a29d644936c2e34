//! The static organisation the simulation runs in: accounts, IAM users,
//! roles, identity providers and resource names. Built once from the seed.

use crate::rng::Rng;

/// Regions every account logs (an organisation trail is multi-region).
/// Index 0 is us-east-1, where global STS/IAM events land.
pub const REGIONS: [&str; 5] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
];
pub const US_EAST_1: u8 = 0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RoleKind {
    /// Roles people and CI assume directly.
    Human,
    /// Roles that appear inside role chains (deploy/audit/cross-account).
    Chain,
    /// The two roles of the A→B→A refresh loop.
    Loop,
    Ec2,
    Lambda,
    /// IAM Identity Center permission-set role.
    Sso,
    Saml,
    Oidc,
    /// AWS Config's service-linked role.
    Config,
    /// Role a third-party (uncollected) account assumes.
    Vendor,
}

pub struct Role {
    pub acct: usize,
    pub name: String,
    /// IAM form, path included: `arn:aws:iam::<acct>:role/<path><name>`.
    pub arn: String,
    /// `AROA…` unique id.
    pub id: String,
    pub kind: RoleKind,
    /// Pre-rendered `sessionIssuer` object.
    pub issuer_json: String,
}

pub struct User {
    pub acct: usize,
    pub name: String,
    pub arn: String,
    pub pid: String,
    pub akia: String,
    pub ip: String,
    pub ua: &'static str,
    /// People (console, SwitchRole, MFA) as opposed to automation users.
    pub human: bool,
}

pub struct Account {
    pub id: String,
    pub num: u64,
    /// Regions with regular traffic (first is the home region).
    pub active: Vec<u8>,
    pub users: Vec<usize>,
    pub roles: Vec<usize>,
    pub buckets: Vec<String>,
    pub kms_keys: Vec<String>,
    pub saml_provider: String,
    pub sso_provider: String,
    pub oidc_github: String,
}

pub struct Person {
    pub email: String,
    /// Identity Center user id (onBehalfOf.userId).
    pub idc_user: String,
}

pub struct Vendor {
    pub acct_id: String,
    /// `AIDA…` of the vendor's IAM user, or `AROA…:<session>` of a role session.
    pub principal: String,
    pub ip: String,
}

pub struct World {
    pub org: String,
    pub accounts: Vec<Account>,
    pub users: Vec<User>,
    pub roles: Vec<Role>,
    pub people: Vec<Person>,
    pub vendors: Vec<Vendor>,
    pub idc_region: u8,
    pub identity_store: String,
    pub saml_qualifier: String,
    pub sso_qualifier: String,
    pub eks_provider: String,
    pub github_repos: Vec<String>,
    pub eks_service_accounts: Vec<String>,
}

const PEOPLE: [&str; 14] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy",
];

pub fn ipv4(rng: &mut Rng) -> String {
    let first = *rng.pick(&[
        3u8, 18, 34, 35, 44, 52, 54, 63, 71, 81, 88, 93, 104, 142, 185, 203,
    ]);
    format!(
        "{}.{}.{}.{}",
        first,
        rng.below(256),
        rng.below(256),
        1 + rng.below(254)
    )
}

pub const UA_CLI: &str = "aws-cli/2.17.29 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0-1024-aws md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/prompt#off md/command#ec2.describe-instances";
pub const UA_CLI_MAC: &str = "aws-cli/2.15.57 md/awscrt#0.19.19 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#sts.assume-role";
pub const UA_BOTO: &str = "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10.219-208.866.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.144";
pub const UA_TF: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.8.5 (+https://www.terraform.io) terraform-provider-aws/5.58.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.1 ua/2.0 os/linux lang/go#1.22.4 md/GOOS#linux md/GOARCH#amd64 api/sts#1.30.1";
pub const UA_GO: &str = "aws-sdk-go-v2/1.30.3 ua/2.0 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0";
pub const UA_BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
pub const UA_SSM: &str = "aws-sdk-go/1.50.14 (go1.21.6; linux; amd64) amazon-ssm-agent/3.3.131.0";
pub const UA_LAMBDA_PY: &str = "Boto3/1.34.126 md/Botocore#1.34.126 ua/2.0 os/linux#5.10.219-229.866.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.126";
pub const UA_LAMBDA_JS: &str = "aws-sdk-js/3.600.0 ua/2.1 os/linux#5.10.219-229.866.amzn2.x86_64 lang/js md/nodejs#20.14.0 api/dynamodb#3.600.0 exec-env/AWS_Lambda_nodejs20.x";
pub const UA_GHA: &str = "aws-sdk-js/3.621.0 ua/2.1 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.13.1 api/sts#3.621.0 m/E configure-aws-credentials-for-github-actions";
pub const UA_SSO_JAVA: &str = "aws-sdk-java/2.46.14 md/io#sync md/http#Apache md/internal ua/2.1 api/STS#2.46.x os/Linux#4.14.355-284.735.amzn2.x86_64 lang/java#17.0.19 md/OpenJDK_64-Bit_Server_VM#17.0.19+11-LTS md/vendor#Amazon.com_Inc. md/en_US m/E,N,AJ";
pub const UA_VENDOR: &str = "Datadog/AWSIntegration aws-sdk-go/1.54.19 (go1.22.5; linux; amd64)";

impl World {
    pub fn build(rng: &mut Rng, n_accounts: usize) -> World {
        let org = format!("o-{}", rng.alnum(10).to_ascii_lowercase());
        let idc_region = *rng.pick(&[US_EAST_1, 2]);
        let identity_store = format!("d-{}", rng.hex(10));
        let mut w = World {
            org,
            accounts: Vec::new(),
            users: Vec::new(),
            roles: Vec::new(),
            people: Vec::new(),
            vendors: Vec::new(),
            idc_region,
            identity_store,
            saml_qualifier: format!("{}=", rng.b64(27)),
            sso_qualifier: format!("{}=", rng.b64(27)),
            eks_provider: String::new(),
            github_repos: [
                "infra",
                "payments-api",
                "web-frontend",
                "data-pipeline",
                "platform-tools",
            ]
            .iter()
            .map(|r| format!("acme-corp/{r}"))
            .collect(),
            eks_service_accounts: [
                "kube-system:aws-load-balancer-controller",
                "kube-system:cluster-autoscaler",
                "payments:payments-api",
                "monitoring:prometheus-cloudwatch",
            ]
            .iter()
            .map(|s| format!("system:serviceaccount:{s}"))
            .collect(),
        };
        for p in PEOPLE {
            let idc_user = format!(
                "{}-{}-{}-{}-{}-{}",
                w.identity_store[2..].to_owned(),
                rng.hex(8),
                rng.hex(4),
                rng.hex(4),
                rng.hex(4),
                rng.hex(12)
            );
            w.people.push(Person {
                email: format!("{p}@acme-corp.example"),
                idc_user,
            });
        }
        let mut used = std::collections::BTreeSet::new();
        for i in 0..n_accounts {
            let mut id = rng.digits(12);
            while !used.insert(id.clone()) {
                id = rng.digits(12);
            }
            let num: u64 = id.parse().expect("digits");
            // Home region first, then one or two more active regions.
            let mut active = vec![if i == 0 {
                US_EAST_1
            } else {
                rng.below(3) as u8
            }];
            for _ in 0..(1 + rng.below(2)) {
                let r = rng.below(REGIONS.len() as u64) as u8;
                if !active.contains(&r) {
                    active.push(r);
                }
            }
            if !active.contains(&US_EAST_1) {
                active.push(US_EAST_1);
            }
            let name = [
                "mgmt", "prod", "staging", "data", "sandbox", "security", "shared", "dev",
            ][i % 8];
            let acct = Account {
                buckets: (0..4)
                    .map(|b| {
                        format!(
                            "acme-{name}-{}-{}",
                            ["assets", "logs", "backups", "artifacts"][b],
                            &id[8..]
                        )
                    })
                    .collect(),
                kms_keys: (0..3).map(|_| rng.uuid()).collect(),
                saml_provider: format!("arn:aws:iam::{id}:saml-provider/Okta"),
                sso_provider: format!(
                    "arn:aws:iam::{id}:saml-provider/AWSSSO_{}_DO_NOT_DELETE",
                    rng.hex(16)
                ),
                oidc_github: format!(
                    "arn:aws:iam::{id}:oidc-provider/token.actions.githubusercontent.com"
                ),
                id,
                num,
                active,
                users: Vec::new(),
                roles: Vec::new(),
            };
            w.accounts.push(acct);
        }
        let eks_id = rng.hex(32).to_ascii_uppercase();
        w.eks_provider = format!(
            "arn:aws:iam::{}:oidc-provider/oidc.eks.{}.amazonaws.com/id/{}",
            w.accounts[w.accounts.len().min(2) - 1].id,
            REGIONS[w.accounts[w.accounts.len().min(2) - 1].active[0] as usize],
            eks_id
        );

        for a in 0..n_accounts {
            w.add_users(rng, a);
            w.add_roles(rng, a);
        }
        for _ in 0..2 {
            let acct_id = loop {
                let id = rng.digits(12);
                if !used.contains(&id) {
                    break id;
                }
            };
            let num: u64 = acct_id.parse().expect("digits");
            let principal = if w.vendors.is_empty() {
                rng.iam_id("AIDA", num, 21)
            } else {
                format!("{}:datadog-integration", rng.iam_id("AROA", num, 21))
            };
            w.vendors.push(Vendor {
                principal,
                ip: ipv4(rng),
                acct_id,
            });
        }
        w
    }

    fn add_users(&mut self, rng: &mut Rng, a: usize) {
        let acct_id = self.accounts[a].id.clone();
        let num = self.accounts[a].num;
        let mut names: Vec<(String, bool, &'static str)> = Vec::new();
        if a == 0 {
            for p in PEOPLE.iter().take(6) {
                let name = if *p == "bob" {
                    "bob@acme-corp.example".to_owned()
                } else {
                    (*p).to_owned()
                };
                names.push((name, true, *rng.pick(&[UA_CLI, UA_CLI_MAC, UA_BOTO])));
            }
            names.push(("ci-deployer".into(), false, UA_TF));
            names.push(("terraform".into(), false, UA_TF));
        } else {
            names.push((format!("svc-reporting-{}", &acct_id[9..]), false, UA_BOTO));
            names.push(("legacy-app".into(), false, UA_GO));
            if a % 2 == 1 {
                names.push(("backup-agent".into(), false, UA_BOTO));
                names.push((PEOPLE[6 + a % 8].into(), true, UA_CLI));
            }
        }
        for (name, human, ua) in names {
            let idx = self.users.len();
            self.users.push(User {
                acct: a,
                arn: format!("arn:aws:iam::{acct_id}:user/{name}"),
                pid: rng.iam_id("AIDA", num, 21),
                akia: rng.iam_id("AKIA", num, 20),
                ip: ipv4(rng),
                ua,
                human,
                name,
            });
            self.accounts[a].users.push(idx);
        }
    }

    fn add_role(&mut self, rng: &mut Rng, a: usize, path: &str, name: &str, kind: RoleKind) {
        let acct = &self.accounts[a];
        let arn = format!("arn:aws:iam::{}:role/{}{}", acct.id, path, name);
        let id = rng.iam_id("AROA", acct.num, 21);
        let issuer_json = crate::json::object(|o| {
            o.s("type", "Role")
                .s("principalId", &id)
                .s("arn", &arn)
                .s("accountId", &acct.id)
                .s("userName", name);
        });
        let idx = self.roles.len();
        self.roles.push(Role {
            acct: a,
            name: name.to_owned(),
            arn,
            id,
            kind,
            issuer_json,
        });
        self.accounts[a].roles.push(idx);
    }

    fn add_roles(&mut self, rng: &mut Rng, a: usize) {
        use RoleKind::*;
        self.add_role(rng, a, "", "Admin", Human);
        self.add_role(rng, a, "", "ReadOnly", Human);
        self.add_role(rng, a, "", "Developer", Human);
        self.add_role(rng, a, "ops/", "BreakGlass", Human);
        self.add_role(rng, a, "", "OrganizationAccountAccessRole", Chain);
        self.add_role(rng, a, "deploy/", "DeployRole", Chain);
        self.add_role(rng, a, "", "CrossAccountAudit", Chain);
        self.add_role(rng, a, "automation/", "NetworkAutomation", Chain);
        self.add_role(rng, a, "", "RefreshLoopA", Loop);
        self.add_role(rng, a, "", "RefreshLoopB", Loop);
        for app in ["web", "worker", "batch"] {
            self.add_role(rng, a, "", &format!("ec2-{app}-instance-role"), Ec2);
        }
        for f in ["ingest-events", "resize-images", "nightly-report"] {
            let suffix = rng.alnum(8).to_ascii_lowercase();
            self.add_role(
                rng,
                a,
                "service-role/",
                &format!("{f}-role-{suffix}"),
                Lambda,
            );
        }
        let idc = REGIONS[self.idc_region as usize];
        for set in ["AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess"] {
            let h = rng.hex(16);
            self.add_role(
                rng,
                a,
                &format!("aws-reserved/sso.amazonaws.com/{idc}/"),
                &format!("AWSReservedSSO_{set}_{h}"),
                Sso,
            );
        }
        self.add_role(rng, a, "saml/", "OktaEngineer", Saml);
        self.add_role(rng, a, "saml/", "OktaAdmin", Saml);
        self.add_role(rng, a, "", "github-actions-deploy", Oidc);
        self.add_role(rng, a, "", "eks-workload", Oidc);
        self.add_role(
            rng,
            a,
            "aws-service-role/config.amazonaws.com/",
            "AWSServiceRoleForConfig",
            Config,
        );
        self.add_role(rng, a, "", "DatadogIntegrationRole", Vendor);
    }

    pub fn roles_of(&self, a: usize, kind: RoleKind) -> Vec<usize> {
        self.accounts[a]
            .roles
            .iter()
            .copied()
            .filter(|&r| self.roles[r].kind == kind)
            .collect()
    }

    pub fn pick_role(&self, rng: &mut Rng, a: usize, kind: RoleKind) -> usize {
        let rs = self.roles_of(a, kind);
        *rng.pick(&rs)
    }

    pub fn find_role(&self, a: usize, name: &str) -> usize {
        *self.accounts[a]
            .roles
            .iter()
            .find(|&&r| self.roles[r].name == name)
            .expect("role exists")
    }
}
