#!/usr/bin/env python3
"""Writes the trust fixtures (deterministic; Python 3 standard library only):

  trail.json   CloudTrail records: role assumptions that satisfy, violate and lack each condition
               key of the trust policies, a CreateRole and an UpdateAssumeRolePolicy that change a
               role's policy between two assumptions;
  iam/         the IAM configuration: a get-account-authorization-details (CLI form, documents as
               objects), a get-role (API form, URL-encoded document), an Organizations list-accounts;
  bad-iam/     a file that is not JSON and one that is no IAM output (problems, not fatal).

Run:  python3 testdata/trust/build.py
"""
import json, os, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
A = "111111111111"  # the roles' account
P = "222222222222"  # a partner account (no IAM configuration given for it)
ORG = "o-acme12345"

def arn_user(u, acct=A):
    return f"arn:aws:iam::{acct}:user/{u}"

def role(name, acct=A):
    return f"arn:aws:iam::{acct}:role/{name}"

n = 0
def eid():
    global n
    n += 1
    return f"00000000-0000-4000-8000-{n:012d}"

def user_identity(user, acct=A, mfa=None):
    ui = {"type": "IAMUser", "principalId": f"AIDAEXAMPLE{user.upper()}", "arn": arn_user(user, acct),
          "accountId": acct, "accessKeyId": f"AKIAEXAMPLE{user.upper()}", "userName": user}
    if mfa is not None:  # a console session: sessionContext with mfaAuthenticated
        ui["accessKeyId"] = f"ASIACONSOLE{user.upper()}"
        ui["sessionContext"] = {"attributes": {"creationDate": "2024-05-01T08:00:00Z",
                                               "mfaAuthenticated": "true" if mfa else "false"}}
    return ui

def assume(time, who, target, session, ip="203.0.113.10", external_id=None, serial=None, tags=None,
           source_identity=None, recipient=A):
    global n
    req = {"roleArn": target, "roleSessionName": session, "durationSeconds": 3600}
    if external_id is not None:
        req["externalId"] = external_id
    if serial is not None:
        req["serialNumber"] = serial
        req["tokenCode"] = "123456"
    if tags is not None:
        req["tags"] = [{"key": k, "value": v} for k, v in tags]
    if source_identity is not None:
        req["sourceIdentity"] = source_identity
    e = eid()
    key = "ASIA" + e[-12:].upper().rjust(16, "X")
    rn = target.rsplit("/", 1)[1]
    acct = target.split(":")[4]
    resp = {"credentials": {"accessKeyId": key, "sessionToken": "token",
                            "expiration": "2024-05-01T23:00:00Z"},
            "assumedRoleUser": {"assumedRoleId": f"AROAEXAMPLE{rn.upper()}:{session}",
                                "arn": f"arn:aws:sts::{acct}:assumed-role/{rn}/{session}"}}
    if source_identity is not None:
        resp["sourceIdentity"] = source_identity
    return {"eventVersion": "1.08", "userIdentity": who, "eventTime": time,
            "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "awsRegion": "us-east-1",
            "sourceIPAddress": ip, "userAgent": "aws-cli/2.15.30", "requestParameters": req,
            "responseElements": resp, "requestID": e, "eventID": e, "readOnly": True,
            "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": recipient,
            "eventCategory": "Management"}

def session_identity(role_name, session, acct=A, mfa=False):
    return {"type": "AssumedRole", "principalId": f"AROAEXAMPLE{role_name.upper()}:{session}",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role_name}/{session}", "accountId": acct,
            "accessKeyId": f"ASIAEXAMPLE{session.upper().replace('-', '')}",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": f"AROAEXAMPLE{role_name.upper()}",
                                                 "arn": role(role_name, acct), "accountId": acct,
                                                 "userName": role_name},
                               "attributes": {"creationDate": "2024-05-01T06:00:00Z",
                                              "mfaAuthenticated": "true" if mfa else "false"}}}

def iam_call(time, name, params, resp=None):
    e = eid()
    return {"eventVersion": "1.08", "userIdentity": user_identity("admin"), "eventTime": time,
            "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.15.30",
            "requestParameters": params, "responseElements": resp, "requestID": e, "eventID": e,
            "readOnly": False, "eventType": "AwsApiCall", "managementEvent": True,
            "recipientAccountId": A, "eventCategory": "Management"}

def trust(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}

def allow(principal, action="sts:AssumeRole", condition=None, effect="Allow"):
    s = {"Effect": effect, "Principal": principal, "Action": action}
    if condition:
        s["Condition"] = condition
    return s

# --- the trust policies ---------------------------------------------------------------------
CONDITIONAL = trust(allow({"AWS": arn_user("alice")}, ["sts:AssumeRole", "sts:SetSourceIdentity"], {
    "Bool": {"aws:MultiFactorAuthPresent": "true"},
    "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
    "StringEquals": {"sts:ExternalId": "ext-123", "aws:PrincipalOrgID": ORG},
    "DateLessThan": {"aws:CurrentTime": "2024-06-01T00:00:00Z"},
    "NumericLessThanEquals": {"sts:DurationSeconds": "3600"},
    "StringLike": {"sts:RoleSessionName": "alice-*"},
    "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111111111111:user/*"},
    "StringNotEqualsIfExists": {"sts:SourceIdentity": "root"},
    "Null": {"sts:ExternalId": "false"},
}), allow("*", "sts:AssumeRole", {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}, "Deny"))
OPEN = trust(allow({"AWS": "*"}))
PARTNER = trust(allow({"AWS": P}, "sts:AssumeRole", {"StringEquals": {"sts:ExternalId": "partner-7"}}))
UNUSED = trust(allow({"AWS": [arn_user("carol"), arn_user("bob")]}))
TAGGED = trust(allow({"AWS": arn_user("bob")}))
CHANGING_V1 = trust(allow({"AWS": arn_user("alice")}))
CHANGING_V2 = trust(allow({"AWS": arn_user("bob")}, ["sts:AssumeRole"], {"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
REWOUND = trust(allow({"AWS": arn_user("bob")}))
# Deploy (whatif): a plain policy that allows every call below; whatif hardens it.
DEPLOY = trust(allow({"AWS": [arn_user("alice"), arn_user("bob"), role("CiRunner")]}),
               allow({"Service": "ec2.amazonaws.com"}))

alice, bob = user_identity("alice"), user_identity("bob")
alice_console = user_identity("alice", mfa=True)
records = [
    # Conditional: every key satisfied (console session with MFA), then one key violated or
    # missing per call.
    assume("2024-05-01T09:00:00Z", alice_console, role("Conditional"), "alice-ok", external_id="ext-123"),
    assume("2024-05-01T09:05:00Z", alice, role("Conditional"), "alice-serial", external_id="ext-123",
           serial="arn:aws:iam::111111111111:mfa/alice"),
    assume("2024-05-01T09:10:00Z", alice, role("Conditional"), "alice-nomfa", external_id="ext-123"),
    assume("2024-05-01T09:15:00Z", user_identity("alice", mfa=False), role("Conditional"), "alice-mfa-false",
           external_id="ext-123"),
    assume("2024-05-01T09:20:00Z", alice_console, role("Conditional"), "alice-wrong-ext", external_id="nope"),
    assume("2024-05-01T09:25:00Z", alice_console, role("Conditional"), "alice-no-ext"),
    assume("2024-05-01T09:30:00Z", alice_console, role("Conditional"), "alice-wrong-ip", ip="198.51.100.7",
           external_id="ext-123"),
    assume("2024-05-01T09:35:00Z", alice_console, role("Conditional"), "alice-v6", ip="2001:db8::10",
           external_id="ext-123"),
    assume("2024-05-01T09:40:00Z", alice_console, role("Conditional"), "bad-name", external_id="ext-123"),
    assume("2024-05-01T09:45:00Z", alice_console, role("Conditional"), "alice-si", external_id="ext-123",
           source_identity="alice@example.com"),
    assume("2024-05-01T09:50:00Z", alice_console, role("Conditional"), "alice-si-root", external_id="ext-123",
           source_identity="root"),
    assume("2024-06-02T09:00:00Z", alice_console, role("Conditional"), "alice-late", external_id="ext-123"),
    # Open: anyone.
    assume("2024-05-01T10:00:00Z", bob, role("OpenRole"), "bob"),
    # Partner: a foreign account with an ExternalId; its identity policy is not given.
    assume("2024-05-01T10:05:00Z", user_identity("pat", P), role("Partner"), "pat", external_id="partner-7",
           recipient=A),
    # Unused: carol never comes; bob does.
    assume("2024-05-01T10:10:00Z", bob, role("Unused"), "bob"),
    # Tagged: bob passes session tags, the policy has no sts:TagSession.
    assume("2024-05-01T10:15:00Z", bob, role("Tagged"), "bob-untagged"),
    assume("2024-05-01T10:20:00Z", bob, role("Tagged"), "bob-tagged", tags=[("team", "blue")]),
    # Changing: created trusting alice, updated to trust bob (with MFA) between two of alice's
    # assumptions; bob then assumes with an MFA serial.
    iam_call("2024-05-01T11:00:00Z", "CreateRole",
             {"roleName": "Changing", "path": "/", "assumeRolePolicyDocument": json.dumps(CHANGING_V1, indent=2)},
             {"role": {"arn": role("Changing"), "roleName": "Changing", "path": "/"}}),
    assume("2024-05-01T11:05:00Z", alice, role("Changing"), "alice-before"),
    iam_call("2024-05-01T11:10:00Z", "UpdateAssumeRolePolicy",
             {"roleName": "Changing", "policyDocument": urllib.parse.quote(json.dumps(CHANGING_V2), safe="")}),
    assume("2024-05-01T11:15:00Z", alice, role("Changing"), "alice-after"),
    assume("2024-05-01T11:20:00Z", bob, role("Changing"), "bob-after", serial="arn:aws:iam::111111111111:mfa/bob"),
    # Rewound: the snapshot trusts bob since an update in the logs; alice assumed before it.
    assume("2024-05-01T12:00:00Z", alice, role("Rewound"), "alice-before"),
    iam_call("2024-05-01T12:05:00Z", "UpdateAssumeRolePolicy",
             {"roleName": "Rewound", "policyDocument": json.dumps(REWOUND)}),
    assume("2024-05-01T12:10:00Z", bob, role("Rewound"), "bob-after"),
    # Deploy (whatif): calls that satisfy, violate and lack each key whatif can add. Times are UTC;
    # 2024-05-03 is a Friday, 2024-05-04 a Saturday (Europe/Berlin is UTC+2 in May).
    assume("2024-05-03T07:30:00Z", alice_console, role("Deploy"), "alice-mfa", external_id="deploy-1"),
    assume("2024-05-03T15:00:00Z", alice, role("Deploy"), "alice-key", ip="198.51.100.20"),
    assume("2024-05-03T16:30:00Z", bob, role("Deploy"), "bob-serial", serial="arn:aws:iam::111111111111:mfa/bob",
           external_id="wrong"),
    assume("2024-05-03T17:00:00Z", user_identity("bob", mfa=False), role("Deploy"), "bob-nomfa", ip="198.51.100.21"),
    assume("2024-05-04T10:00:00Z", session_identity("CiRunner", "build-42"), role("Deploy"), "ci-build",
           ip="198.51.100.22"),
    assume("2024-05-03T09:00:00Z", {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}, role("Deploy"),
           "i-0abc", ip="ec2.amazonaws.com"),
]
# A failed attempt on Deploy (listed by whatif, not judged).
denied = assume("2024-05-03T12:00:00Z", user_identity("carol"), role("Deploy"), "carol", ip="192.0.2.66")
denied["errorCode"] = "AccessDenied"
denied["errorMessage"] = "not authorized to perform: sts:AssumeRole"
denied["responseElements"] = None
records.append(denied)

def role_detail(name, doc, last_used=None):
    r = {"Path": "/", "RoleName": name, "RoleId": f"AROAEXAMPLE{name.upper()}", "Arn": role(name),
         "CreateDate": "2024-01-01T00:00:00Z", "AssumeRolePolicyDocument": doc,
         "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": [], "Tags": []}
    if last_used:
        r["RoleLastUsed"] = {"LastUsedDate": last_used, "Region": "eu-west-1"}
    else:
        r["RoleLastUsed"] = {}
    return r

gaad = {
    "UserDetailList": [
        {"Path": "/", "UserName": u, "UserId": f"AIDAEXAMPLE{u.upper()}", "Arn": arn_user(u),
         "CreateDate": "2024-01-01T00:00:00Z", "GroupList": [], "UserPolicyList": [],
         "AttachedManagedPolicies": [], "Tags": [{"Key": "team", "Value": "blue"}]}
        for u in ["admin", "alice", "bob", "carol"]
    ],
    "GroupDetailList": [],
    "RoleDetailList": [
        role_detail("Conditional", CONDITIONAL, "2024-05-01T09:50:00Z"),
        role_detail("OpenRole", OPEN),
        role_detail("Unused", UNUSED, "2023-11-02T10:00:00Z"),
        role_detail("Tagged", TAGGED),
        role_detail("Changing", CHANGING_V2),
        role_detail("Rewound", REWOUND),
        role_detail("Deploy", DEPLOY),
        role_detail("CiRunner", trust(allow({"AWS": arn_user("alice")}))),
    ],
    "Policies": [],
}
get_role = {"Role": {k: v for k, v in role_detail("Partner", None).items()
                     if k not in ("InstanceProfileList", "RolePolicyList", "AttachedManagedPolicies")}}
# The IAM API form: the document as a URL-encoded string (RFC 3986).
get_role["Role"]["AssumeRolePolicyDocument"] = urllib.parse.quote(json.dumps(PARTNER), safe="")
org = {"Accounts": [{"Id": A, "Arn": f"arn:aws:organizations::{A}:account/{ORG}/{A}", "Email": "a@example.com",
                     "Name": "main", "Status": "ACTIVE"}]}

def write(path, obj):
    full = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")

write("trail.json", {"Records": records})
write("iam/gaad-111111111111.json", gaad)
write("iam/get-role-partner.json", get_role)
write("iam/org-list-accounts.json", org)
os.makedirs(os.path.join(HERE, "bad-iam"), exist_ok=True)
with open(os.path.join(HERE, "bad-iam/broken.json"), "w") as f:
    f.write('{"RoleDetailList": [ {"RoleName": "Cut"\n')
write("bad-iam/not-iam.json", {"Something": "else"})
