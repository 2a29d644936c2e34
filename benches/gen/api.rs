//! The ordinary service traffic: which API calls each kind of principal
//! makes, and plausible request / response / resources bodies for them.

use crate::json::object;
use crate::rng::Rng;
use crate::world::Account;

/// Principal profiles (bit flags) an API is typical for.
pub const HUMAN: u8 = 1;
pub const EC2: u8 = 2;
pub const LAMBDA: u8 = 4;
pub const CI: u8 = 8;
pub const CONFIG: u8 = 16;
pub const ROOT: u8 = 32;
pub const AUTO: u8 = 64;
const ALL: u8 = HUMAN | EC2 | LAMBDA | CI | CONFIG | AUTO;
pub const PROFILES: [u8; 7] = [HUMAN, EC2, LAMBDA, CI, CONFIG, ROOT, AUTO];

pub struct Api {
    pub src: &'static str,
    pub name: &'static str,
    pub ro: bool,
    /// Logged in us-east-1 whatever region the caller works in.
    pub global: bool,
    pub ver: &'static str,
    pub prof: u8,
    pub weight: u32,
}

const fn api(
    src: &'static str,
    name: &'static str,
    ro: bool,
    global: bool,
    ver: &'static str,
    prof: u8,
    weight: u32,
) -> Api {
    Api {
        src,
        name,
        ro,
        global,
        ver,
        prof,
        weight,
    }
}

pub static APIS: &[Api] = &[
    api(
        "ec2.amazonaws.com",
        "DescribeInstances",
        true,
        false,
        "1.10",
        HUMAN | CI | CONFIG | AUTO,
        8,
    ),
    api(
        "ec2.amazonaws.com",
        "DescribeSecurityGroups",
        true,
        false,
        "1.10",
        HUMAN | CI | CONFIG,
        4,
    ),
    api(
        "ec2.amazonaws.com",
        "DescribeVolumes",
        true,
        false,
        "1.10",
        HUMAN | CONFIG | AUTO,
        2,
    ),
    api(
        "ec2.amazonaws.com",
        "DescribeTags",
        true,
        false,
        "1.10",
        EC2 | HUMAN,
        4,
    ),
    api(
        "ec2.amazonaws.com",
        "DescribeVpcs",
        true,
        false,
        "1.10",
        CONFIG | HUMAN,
        2,
    ),
    api(
        "ec2.amazonaws.com",
        "RunInstances",
        false,
        false,
        "1.10",
        HUMAN | CI,
        1,
    ),
    api(
        "ec2.amazonaws.com",
        "CreateTags",
        false,
        false,
        "1.10",
        HUMAN | CI,
        1,
    ),
    api(
        "s3.amazonaws.com",
        "ListBuckets",
        true,
        false,
        "1.09",
        HUMAN | AUTO | EC2,
        2,
    ),
    api(
        "s3.amazonaws.com",
        "GetBucketLocation",
        true,
        false,
        "1.09",
        ALL,
        3,
    ),
    api(
        "s3.amazonaws.com",
        "GetBucketPolicy",
        true,
        false,
        "1.09",
        HUMAN | CONFIG,
        2,
    ),
    api(
        "s3.amazonaws.com",
        "GetBucketAcl",
        true,
        false,
        "1.09",
        CONFIG | AUTO,
        2,
    ),
    api(
        "s3.amazonaws.com",
        "PutBucketTagging",
        false,
        false,
        "1.09",
        HUMAN | CI,
        1,
    ),
    api(
        "s3.amazonaws.com",
        "DeleteBucketPolicy",
        false,
        false,
        "1.10",
        ROOT,
        3,
    ),
    api(
        "kms.amazonaws.com",
        "Decrypt",
        true,
        false,
        "1.08",
        EC2 | LAMBDA | HUMAN | CI | AUTO,
        8,
    ),
    api(
        "kms.amazonaws.com",
        "GenerateDataKey",
        true,
        false,
        "1.08",
        EC2 | LAMBDA | AUTO,
        4,
    ),
    api(
        "kms.amazonaws.com",
        "DescribeKey",
        true,
        false,
        "1.08",
        HUMAN | CONFIG,
        2,
    ),
    api(
        "iam.amazonaws.com",
        "GetRole",
        true,
        true,
        "1.08",
        HUMAN | CI | CONFIG,
        3,
    ),
    api(
        "iam.amazonaws.com",
        "ListRoles",
        true,
        true,
        "1.08",
        HUMAN | CONFIG,
        2,
    ),
    api(
        "iam.amazonaws.com",
        "GetUser",
        true,
        true,
        "1.08",
        HUMAN | AUTO | ROOT,
        2,
    ),
    api(
        "iam.amazonaws.com",
        "ListAttachedRolePolicies",
        true,
        true,
        "1.08",
        HUMAN | CONFIG,
        2,
    ),
    api(
        "iam.amazonaws.com",
        "CreateUser",
        false,
        true,
        "1.08",
        HUMAN,
        1,
    ),
    api(
        "iam.amazonaws.com",
        "PutRolePolicy",
        false,
        true,
        "1.08",
        HUMAN | CI,
        1,
    ),
    api(
        "iam.amazonaws.com",
        "CreateAccessKey",
        false,
        true,
        "1.08",
        HUMAN,
        1,
    ),
    api(
        "iam.amazonaws.com",
        "ListMFADevices",
        true,
        true,
        "1.08",
        ROOT | HUMAN,
        2,
    ),
    api(
        "iam.amazonaws.com",
        "DeactivateMFADevice",
        false,
        true,
        "1.08",
        ROOT,
        1,
    ),
    api(
        "sts.amazonaws.com",
        "GetCallerIdentity",
        true,
        false,
        "1.08",
        ALL | ROOT,
        4,
    ),
    api(
        "ssm.amazonaws.com",
        "UpdateInstanceInformation",
        false,
        false,
        "1.08",
        EC2,
        10,
    ),
    api(
        "ssm.amazonaws.com",
        "GetParameter",
        true,
        false,
        "1.08",
        EC2 | LAMBDA | CI,
        4,
    ),
    api(
        "ssm.amazonaws.com",
        "GetParameters",
        true,
        false,
        "1.08",
        EC2 | LAMBDA | CI,
        2,
    ),
    api(
        "ssm.amazonaws.com",
        "DescribeInstanceInformation",
        true,
        false,
        "1.08",
        HUMAN,
        1,
    ),
    api(
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        true,
        false,
        "1.08",
        EC2 | LAMBDA | CI | AUTO,
        3,
    ),
    api(
        "logs.amazonaws.com",
        "CreateLogStream",
        false,
        false,
        "1.08",
        EC2 | LAMBDA,
        2,
    ),
    api(
        "logs.amazonaws.com",
        "DescribeLogGroups",
        true,
        false,
        "1.08",
        HUMAN | CONFIG,
        1,
    ),
    api(
        "lambda.amazonaws.com",
        "ListFunctions20150331",
        true,
        false,
        "1.08",
        HUMAN | CONFIG,
        1,
    ),
    api(
        "lambda.amazonaws.com",
        "GetFunction20150331v2",
        true,
        false,
        "1.08",
        HUMAN | CI,
        1,
    ),
    api(
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331v2",
        false,
        false,
        "1.08",
        CI,
        2,
    ),
    api(
        "dynamodb.amazonaws.com",
        "DescribeTable",
        true,
        false,
        "1.08",
        LAMBDA | HUMAN | CI,
        3,
    ),
    api(
        "dynamodb.amazonaws.com",
        "ListTables",
        true,
        false,
        "1.08",
        HUMAN | LAMBDA,
        1,
    ),
    api(
        "cloudformation.amazonaws.com",
        "DescribeStacks",
        true,
        false,
        "1.08",
        CI | HUMAN,
        3,
    ),
    api(
        "cloudformation.amazonaws.com",
        "CreateChangeSet",
        false,
        false,
        "1.08",
        CI,
        1,
    ),
    api(
        "ecr.amazonaws.com",
        "GetAuthorizationToken",
        true,
        false,
        "1.08",
        EC2 | CI,
        2,
    ),
    api(
        "elasticloadbalancing.amazonaws.com",
        "DescribeLoadBalancers",
        true,
        false,
        "1.08",
        HUMAN | CONFIG,
        1,
    ),
    api(
        "autoscaling.amazonaws.com",
        "DescribeAutoScalingGroups",
        true,
        false,
        "1.08",
        HUMAN | CONFIG | EC2,
        1,
    ),
    api(
        "monitoring.amazonaws.com",
        "GetMetricData",
        true,
        false,
        "1.08",
        HUMAN,
        1,
    ),
    api(
        "route53.amazonaws.com",
        "ListHostedZones",
        true,
        true,
        "1.08",
        HUMAN | CONFIG,
        1,
    ),
    api(
        "config.amazonaws.com",
        "PutEvaluations",
        false,
        false,
        "1.08",
        CONFIG,
        3,
    ),
    api(
        "organizations.amazonaws.com",
        "DescribeOrganization",
        true,
        true,
        "1.08",
        HUMAN | CONFIG,
        1,
    ),
    api(
        "sns.amazonaws.com",
        "ListTopics",
        true,
        false,
        "1.08",
        HUMAN | CONFIG,
        1,
    ),
    api(
        "rds.amazonaws.com",
        "DescribeDBInstances",
        true,
        false,
        "1.08",
        HUMAN | CONFIG,
        1,
    ),
    api(
        "eks.amazonaws.com",
        "DescribeCluster",
        true,
        false,
        "1.08",
        CI | HUMAN,
        1,
    ),
];

/// Per-profile weighted tables over `APIS`.
pub struct ApiTables {
    tables: Vec<(u8, Vec<u32>, Vec<usize>)>,
}

impl ApiTables {
    pub fn new() -> ApiTables {
        let tables = PROFILES
            .iter()
            .map(|&p| {
                let idx: Vec<usize> = (0..APIS.len()).filter(|&i| APIS[i].prof & p != 0).collect();
                let ws = idx.iter().map(|&i| APIS[i].weight).collect();
                (p, ws, idx)
            })
            .collect();
        ApiTables { tables }
    }

    pub fn pick(&self, rng: &mut Rng, profile: u8) -> &'static Api {
        let (_, ws, idx) = self
            .tables
            .iter()
            .find(|(p, _, _)| *p == profile)
            .expect("known profile");
        &APIS[idx[rng.weighted(ws)]]
    }
}

/// What a call needs from its context to fill in parameters.
pub struct Ctx<'a> {
    pub acct: &'a Account,
    pub region: &'a str,
    pub instance: Option<&'a str>,
}

pub struct Bodies {
    pub req: Option<String>,
    pub resp: Option<String>,
    pub resources: Option<String>,
}

fn instance_id(rng: &mut Rng) -> String {
    format!("i-0{}", rng.hex(16))
}

fn resources1(arn: &str, acct: &str, ty: &str) -> String {
    let mut s = String::with_capacity(128);
    s.push('[');
    {
        let mut o = crate::json::Obj::new(&mut s);
        o.s("accountId", acct).s("type", ty).s("ARN", arn);
    }
    s.push(']');
    s
}

pub fn bodies(rng: &mut Rng, api: &Api, c: &Ctx<'_>) -> Bodies {
    let a = c.acct;
    let region = c.region;
    let mut resources = None;
    let mut resp = None;
    let bucket = rng.pick(&a.buckets).clone();
    let req = match api.name {
        "DescribeInstances" => Some(object(|o| {
            let mut s = o.obj("instancesSet");
            if rng.chance(0.5) {
                let id = c
                    .instance
                    .map(str::to_owned)
                    .unwrap_or_else(|| instance_id(rng));
                s.raw("items", &format!("[{{\"instanceId\":\"{id}\"}}]"));
            }
            drop(s);
            o.raw("filterSet", "{}");
        })),
        "DescribeSecurityGroups" | "DescribeVpcs" | "DescribeVolumes" => Some(object(|o| {
            o.raw("filterSet", "{}");
            if rng.chance(0.3) {
                o.n("maxResults", 1000);
            }
        })),
        "DescribeTags" => Some(object(|o| {
            let id = c
                .instance
                .map(str::to_owned)
                .unwrap_or_else(|| instance_id(rng));
            o.raw(
                "filterSet",
                &format!("{{\"items\":[{{\"name\":\"resource-id\",\"valueSet\":{{\"items\":[{{\"value\":\"{id}\"}}]}}}}]}}"),
            );
        })),
        "RunInstances" => {
            let id = instance_id(rng);
            resp = Some(object(|o| {
                o.s("requestId", &rng.uuid())
                    .s("reservationId", &format!("r-0{}", rng.hex(16)))
                    .s("ownerId", &a.id)
                    .raw(
                        "instancesSet",
                        &format!("{{\"items\":[{{\"instanceId\":\"{id}\",\"imageId\":\"ami-0{}\",\"instanceType\":\"t3.medium\"}}]}}", rng.hex(16)),
                    );
            }));
            Some(object(|o| {
                o.raw(
                    "instancesSet",
                    &format!(
                        "{{\"items\":[{{\"imageId\":\"ami-0{}\",\"minCount\":1,\"maxCount\":1}}]}}",
                        rng.hex(16)
                    ),
                )
                .s("instanceType", "t3.medium")
                .b("disableApiTermination", false);
            }))
        }
        "CreateTags" => Some(object(|o| {
            o.raw(
                "resourcesSet",
                &format!(
                    "{{\"items\":[{{\"resourceId\":\"{}\"}}]}}",
                    instance_id(rng)
                ),
            )
            .raw(
                "tagSet",
                "{\"items\":[{\"key\":\"owner\",\"value\":\"platform\"}]}",
            );
        })),
        "ListBuckets" => Some(object(|o| {
            o.s("Host", &format!("s3.{region}.amazonaws.com"));
        })),
        "GetBucketLocation" | "GetBucketPolicy" | "GetBucketAcl" | "PutBucketTagging"
        | "DeleteBucketPolicy" => {
            resources = Some(resources1(
                &format!("arn:aws:s3:::{bucket}"),
                &a.id,
                "AWS::S3::Bucket",
            ));
            Some(object(|o| {
                o.s("bucketName", &bucket)
                    .s("Host", &format!("{bucket}.s3.{region}.amazonaws.com"));
                let sub = match api.name {
                    "GetBucketLocation" => "location",
                    "GetBucketPolicy" | "DeleteBucketPolicy" => "policy",
                    "GetBucketAcl" => "acl",
                    _ => "tagging",
                };
                o.s(sub, "");
            }))
        }
        "Decrypt" | "GenerateDataKey" | "DescribeKey" => {
            let key = rng.pick(&a.kms_keys);
            let arn = format!("arn:aws:kms:{region}:{}:key/{key}", a.id);
            resources = Some(resources1(&arn, &a.id, "AWS::KMS::Key"));
            Some(object(|o| match api.name {
                "Decrypt" => {
                    o.s("encryptionAlgorithm", "SYMMETRIC_DEFAULT");
                    if rng.chance(0.5) {
                        let mut ec = o.obj("encryptionContext");
                        ec.s("aws:s3:arn", &format!("arn:aws:s3:::{bucket}"));
                    }
                }
                "GenerateDataKey" => {
                    o.s("keyId", &arn).s("keySpec", "AES_256");
                    let mut ec = o.obj("encryptionContext");
                    ec.s("aws:ssm:parameter", "/app/config/db-password");
                }
                _ => {
                    o.s("keyId", key);
                }
            }))
        }
        "GetRole" | "ListAttachedRolePolicies" => Some(object(|o| {
            o.s(
                "roleName",
                rng.pick_s(&["Admin", "Developer", "DeployRole", "ec2-web-instance-role"]),
            );
        })),
        "ListRoles"
        | "ListHostedZones"
        | "DescribeOrganization"
        | "ListTopics"
        | "DescribeLoadBalancers"
        | "ListTables"
        | "DescribeDBInstances"
        | "GetCallerIdentity"
        | "UpdateInstanceInformation" => {
            if api.name == "UpdateInstanceInformation" {
                Some(object(|o| {
                    o.s("instanceId", c.instance.unwrap_or("i-0a1b2c3d4e5f60718"))
                        .s("agentVersion", "3.3.131.0")
                        .s("agentStatus", "Active")
                        .s("platformType", "Linux")
                        .s("platformName", "Amazon Linux")
                        .s("platformVersion", "2023")
                        .s(
                            "iPAddress",
                            &format!(
                                "10.{}.{}.{}",
                                rng.below(256),
                                rng.below(256),
                                1 + rng.below(254)
                            ),
                        )
                        .s(
                            "computerName",
                            &format!("ip-10-0-{}-{}.ec2.internal", rng.below(256), rng.below(256)),
                        )
                        .s("agentName", "amazon-ssm-agent")
                        .s("availabilityZone", &format!("{region}a"))
                        .s("availabilityZoneId", "use1-az1");
                }))
            } else {
                None
            }
        }
        "GetUser" => None,
        "CreateUser" => {
            let name = format!("tmp-{}", rng.alnum(6).to_ascii_lowercase());
            resp = Some(object(|o| {
                let mut u = o.obj("user");
                u.s("path", "/")
                    .s("userName", &name)
                    .s("userId", &rng.iam_id("AIDA", a.num, 21))
                    .s("arn", &format!("arn:aws:iam::{}:user/{name}", a.id))
                    .s("createDate", "Jun 2, 2025, 9:14:05 AM");
            }));
            Some(object(|o| {
                o.s("userName", &name).raw("tags", "[]");
            }))
        }
        "PutRolePolicy" => Some(object(|o| {
            o.s("roleName", "DeployRole").s("policyName", "inline-deploy").s(
                "policyDocument",
                "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]\n}",
            );
        })),
        "CreateAccessKey" => {
            let key = rng.iam_id("AKIA", a.num, 20);
            resp = Some(object(|o| {
                let mut k = o.obj("accessKey");
                k.s("accessKeyId", &key)
                    .s("status", "Active")
                    .s("userName", "legacy-app")
                    .s("createDate", "Jun 2, 2025, 9:15:41 AM");
            }));
            Some(object(|o| {
                o.s("userName", "legacy-app");
            }))
        }
        "ListMFADevices" | "DeactivateMFADevice" => Some(object(|o| {
            o.s("userName", "root-user");
            if api.name == "DeactivateMFADevice" {
                o.s(
                    "serialNumber",
                    &format!("arn:aws:iam::{}:mfa/root-account-mfa-device", a.id),
                );
            }
        })),
        "GetParameter" | "GetParameters" => Some(object(|o| {
            let p = rng.pick_s(&[
                "/app/config/db-password",
                "/app/config/api-url",
                "/platform/feature-flags",
            ]);
            if api.name == "GetParameter" {
                o.s("name", p).b("withDecryption", true);
            } else {
                o.str_arr("names", &[p, "/app/config/region"])
                    .b("withDecryption", true);
            }
        })),
        "DescribeInstanceInformation" => Some(object(|o| {
            o.n("maxResults", 50);
        })),
        "GetSecretValue" => Some(object(|o| {
            o.s(
                "secretId",
                &format!(
                    "arn:aws:secretsmanager:{region}:{}:secret:{}",
                    a.id,
                    rng.pick(&[
                        "prod/db-credentials-AbCdEf",
                        "prod/stripe-key-Q1w2E3",
                        "shared/datadog-api-key-Zz9Yy8"
                    ])
                ),
            );
        })),
        "CreateLogStream" => Some(object(|o| {
            o.s(
                "logGroupName",
                rng.pick_s(&[
                    "/aws/lambda/ingest-events",
                    "/ec2/app/web",
                    "/ec2/app/worker",
                ]),
            )
            .s(
                "logStreamName",
                &format!("2025/06/02/[$LATEST]{}", rng.hex(32)),
            );
        })),
        "DescribeLogGroups" | "ListFunctions20150331" => None,
        "GetFunction20150331v2" | "UpdateFunctionCode20150331v2" => Some(object(|o| {
            o.s(
                "functionName",
                rng.pick_s(&["ingest-events", "resize-images", "nightly-report"]),
            );
            if api.name.starts_with("Update") {
                o.s("s3Bucket", &bucket)
                    .s("s3Key", &format!("builds/{}.zip", rng.hex(12)))
                    .b("publish", true);
            }
        })),
        "DescribeTable" => Some(object(|o| {
            o.s(
                "tableName",
                rng.pick_s(&["orders", "sessions", "events-v2"]),
            );
        })),
        "DescribeStacks" | "CreateChangeSet" => Some(object(|o| {
            o.s(
                "stackName",
                rng.pick_s(&["platform-network", "payments-api", "web-frontend"]),
            );
            if api.name == "CreateChangeSet" {
                o.s("changeSetName", &format!("deploy-{}", rng.hex(8)))
                    .s("changeSetType", "UPDATE");
            }
        })),
        "GetAuthorizationToken" => Some(object(|o| {
            o.raw("registryIds", &format!("[\"{}\"]", a.id));
        })),
        "DescribeAutoScalingGroups" => Some(object(|o| {
            o.n("maxRecords", 100);
        })),
        "GetMetricData" => Some(object(|o| {
            o.s("startTime", "Jun 2, 2025, 7:00:00 AM")
                .s("endTime", "Jun 2, 2025, 8:00:00 AM");
        })),
        "PutEvaluations" => Some(object(|o| {
            o.raw(
                "evaluations",
                &format!(
                    "[{{\"complianceResourceType\":\"AWS::EC2::Instance\",\"complianceResourceId\":\"{}\",\"complianceType\":\"COMPLIANT\",\"orderingTimestamp\":\"Jun 2, 2025, 8:00:00 AM\"}}]",
                    instance_id(rng)
                ),
            )
            .s("resultToken", &rng.b64(48))
            .b("testMode", false);
        })),
        "DescribeCluster" => Some(object(|o| {
            o.s("name", "prod-eks");
        })),
        _ => None,
    };
    Bodies {
        req,
        resp,
        resources,
    }
}

/// Endpoint host the client sent (tlsDetails.clientProvidedHostHeader).
pub fn host(api: &Api, region: &str) -> String {
    let svc = api.src.trim_end_matches(".amazonaws.com");
    if api.global {
        format!("{svc}.amazonaws.com")
    } else {
        format!("{svc}.{region}.amazonaws.com")
    }
}

/// IAM action prefix for error messages (`ec2:DescribeInstances`).
pub fn action(api: &Api) -> String {
    let svc = match api.src {
        "monitoring.amazonaws.com" => "cloudwatch",
        s => s.trim_end_matches(".amazonaws.com"),
    };
    let name = api
        .name
        .trim_end_matches("20150331v2")
        .trim_end_matches("20150331");
    format!("{svc}:{name}")
}
