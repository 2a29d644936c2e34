#!/usr/bin/env python3
"""Builds the anomaly-detector fixtures in testdata/anomalies/ (deterministic; standard
library only). Run from anywhere: python3 testdata/anomalies/build.py

For every detector there is a directory with
  fire.json       CloudTrail records (a {"Records": [...]} document) that fire the detector,
  near_miss.json  records just under each threshold or just outside each window: no finding,
  expected.json   {"kind": ..., "fire": [expected findings], "near_miss": []},
  config.toml     (optional) the config both files are run with.
The expected findings are written by hand below, next to the records they describe. Event ids
are readable names, keys are made-up ASIA/AKIA ids, addresses avoid the documentation ranges
(which never count as public). Times are UTC; 2024-03-04 is a Monday.
"""

import datetime as dt
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ACCT = "111111111111"
BASE = dt.datetime(2024, 3, 4, tzinfo=dt.timezone.utc)  # Monday


def at(day=0, h=10, m=0, s=0):
    return BASE + dt.timedelta(days=day, hours=h, minutes=m, seconds=s)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def exp_text(t):
    # "Mar 4, 2024, 11:00:00 AM" (spec 2.4.8)
    h12 = t.hour % 12 or 12
    ampm = "AM" if t.hour < 12 else "PM"
    return f"{t.strftime('%b')} {t.day}, {t.year}, {h12}:{t.minute:02d}:{t.second:02d} {ampm}"


def key(prefix, tag):
    """A 20-character key id: prefix (ASIA/AKIA) + tag padded with X."""
    body = tag.upper().replace("-", "")[:16]
    return prefix + body + "X" * (16 - len(body))


def role_arn(name, acct=ACCT):
    return f"arn:aws:iam::{acct}:role/{name}"


# --- identities ---------------------------------------------------------------------------


def user(name, acct=ACCT, k=None, mfa_ctx=None):
    u = {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper().replace("-", "")[:12].ljust(12, "Q") + "EXAMPLE",
        "arn": f"arn:aws:iam::{acct}:user/{name}",
        "accountId": acct,
        "accessKeyId": k or key("AKIA", name),
        "userName": name,
    }
    if mfa_ctx is not None:
        # A user signing with GetSessionToken credentials: ASIA key + sessionContext.
        u["sessionContext"] = {
            "sessionIssuer": {},
            "webIdFederationData": {},
            "attributes": {"creationDate": iso(mfa_ctx), "mfaAuthenticated": "false"},
        }
    return u


def role_id(role):
    return "AROA" + role.upper().replace("-", "")[:12].ljust(12, "Q") + "EXAMPLE"


def session(role, name, k, created, acct=ACCT, mfa=False, ec2=None):
    ctx = {
        "sessionIssuer": {
            "type": "Role",
            "principalId": role_id(role),
            "arn": role_arn(role, acct),
            "accountId": acct,
            "userName": role,
        },
        "webIdFederationData": {},
        "attributes": {
            "creationDate": iso(created),
            "mfaAuthenticated": "true" if mfa else "false",
        },
    }
    if ec2:
        ctx["ec2RoleDelivery"] = ec2
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id(role)}:{name}",
        "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{name}",
        "accountId": acct,
        "accessKeyId": k,
        "sessionContext": ctx,
    }


def service(principal):
    return {"type": "AWSService", "invokedBy": principal}


def aws_account(acct, principal_id):
    return {"type": "AWSAccount", "principalId": principal_id, "accountId": acct}


def federated(fed_name, k, created, issuer_user, acct=ACCT):
    return {
        "type": "FederatedUser",
        "principalId": f"{acct}:{fed_name}",
        "arn": f"arn:aws:sts::{acct}:federated-user/{fed_name}",
        "accountId": acct,
        "accessKeyId": k,
        "sessionContext": {
            "sessionIssuer": {
                "type": "IAMUser",
                "principalId": issuer_user["principalId"],
                "arn": issuer_user["arn"],
                "accountId": acct,
                "userName": issuer_user["userName"],
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": iso(created), "mfaAuthenticated": "false"},
        },
    }


# --- records ------------------------------------------------------------------------------

_seq = [0]


def record(eid, t, ident, name, source, ip, params=None, response=None, error=None,
           recipient=ACCT, shared=None, read_only=True, ua="aws-cli/2.15.30"):
    _seq[0] += 1
    r = {
        "eventVersion": "1.08",
        "userIdentity": ident,
        "eventTime": iso(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": ua,
        "requestParameters": params,
        "responseElements": response,
        "requestID": f"req-{eid}",
        "eventID": eid,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": recipient,
        "eventCategory": "Management",
    }
    if error:
        r["errorCode"], r["errorMessage"] = error
    if shared:
        r["sharedEventID"] = shared
    return r


def call(eid, t, ident, ip, name="ListBuckets", source="s3.amazonaws.com", recipient=ACCT):
    return record(eid, t, ident, name, source, ip, recipient=recipient)


def assume(eid, t, caller, role, name, k, ip, acct=ACCT, serial=None, duration=3600,
           recipient=ACCT, shared=None, ua="aws-cli/2.15.30"):
    params = {"roleArn": role_arn(role, acct), "roleSessionName": name, "durationSeconds": duration}
    if serial:
        params["serialNumber"] = serial
    resp = {
        "credentials": {
            "accessKeyId": k,
            "sessionToken": "IQoJb3JpZ2luX2VjE...<truncated>",
            "expiration": exp_text(t + dt.timedelta(seconds=duration)),
        },
        "assumedRoleUser": {
            "assumedRoleId": f"{role_id(role)}:{name}",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{name}",
        },
    }
    return record(eid, t, caller, "AssumeRole", "sts.amazonaws.com", ip, params, resp,
                  recipient=recipient, shared=shared, ua=ua)


def service_assume(eid, t, principal, role, name, k, duration=21600):
    r = assume(eid, t, service(principal), role, name, k, principal, duration=duration,
               shared="shared-" + eid, ua=principal)
    del r["responseElements"]["assumedRoleUser"]
    return r


def denied(eid, t, caller, role, ip, acct=ACCT):
    msg = (f"User: {caller['arn']} is not authorized to perform: sts:AssumeRole on "
           f"resource: {role_arn(role, acct)}")
    return record(eid, t, caller, "AssumeRole", "sts.amazonaws.com", ip,
                  error=("AccessDenied", msg))


def saml_assume(eid, t, subject, role, k, ip, acct=ACCT):
    provider = f"arn:aws:iam::{acct}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE"
    ident = {
        "type": "SAMLUser",
        "principalId": f"x0aB1cD2eF3gH4iJ5kL6mN7oP8=:{subject}",
        "userName": subject,
        "identityProvider": "x0aB1cD2eF3gH4iJ5kL6mN7oP8=",
    }
    params = {
        "sAMLAssertionID": "_assertion-" + eid,
        "roleSessionName": subject,
        "roleArn": role_arn(role, acct),
        "principalArn": provider,
        "durationSeconds": 3600,
    }
    resp = {
        "credentials": {
            "accessKeyId": k,
            "sessionToken": "IQoJb3JpZ2luX2VjE...<truncated>",
            "expiration": exp_text(t + dt.timedelta(hours=1)),
        },
        "assumedRoleUser": {
            "assumedRoleId": f"{role_id(role)}:{subject}",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{subject}",
        },
        "subject": subject,
        "subjectType": "persistent",
        "issuer": "https://portal.sso.us-east-1.amazonaws.com/saml/assertion/MDEyMzQ1",
        "audience": "https://signin.aws.amazon.com/saml",
        "nameQualifier": "x0aB1cD2eF3gH4iJ5kL6mN7oP8=",
    }
    return record(eid, t, ident, "AssumeRoleWithSAML", "sts.amazonaws.com", ip, params, resp)


def oidc_assume(eid, t, sub, role, k, ip, acct=ACCT):
    idp = "token.actions.githubusercontent.com"
    ident = {
        "type": "WebIdentityUser",
        "principalId": f"arn:aws:iam::{acct}:oidc-provider/{idp}:sts.amazonaws.com:{sub}",
        "userName": sub,
        "identityProvider": f"arn:aws:iam::{acct}:oidc-provider/{idp}",
    }
    params = {"roleArn": role_arn(role, acct), "roleSessionName": "gha", "durationSeconds": 3600}
    resp = {
        "credentials": {
            "accessKeyId": k,
            "sessionToken": "IQoJb3JpZ2luX2VjE...<truncated>",
            "expiration": exp_text(t + dt.timedelta(hours=1)),
        },
        "assumedRoleUser": {
            "assumedRoleId": f"{role_id(role)}:gha",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/gha",
        },
        "subjectFromWebIdentityToken": sub,
        "provider": f"arn:aws:iam::{acct}:oidc-provider/{idp}",
        "audience": "sts.amazonaws.com",
    }
    return record(eid, t, ident, "AssumeRoleWithWebIdentity", "sts.amazonaws.com", ip, params,
                  resp)


def get_session_token(eid, t, caller, k, ip, duration=43200):
    resp = {
        "credentials": {
            "accessKeyId": k,
            "sessionToken": "IQoJb3JpZ2luX2VjE...<truncated>",
            "expiration": exp_text(t + dt.timedelta(seconds=duration)),
        }
    }
    return record(eid, t, caller, "GetSessionToken", "sts.amazonaws.com", ip,
                  {"durationSeconds": duration}, resp, read_only=False)


def get_federation_token(eid, t, caller, fed_name, k, ip, acct=ACCT, duration=43200):
    resp = {
        "credentials": {
            "accessKeyId": k,
            "sessionToken": "IQoJb3JpZ2luX2VjE...<truncated>",
            "expiration": exp_text(t + dt.timedelta(seconds=duration)),
        },
        "federatedUser": {
            "arn": f"arn:aws:sts::{acct}:federated-user/{fed_name}",
            "federatedUserId": f"{acct}:{fed_name}",
        },
        "packedPolicySize": 6,
    }
    return record(eid, t, caller, "GetFederationToken", "sts.amazonaws.com", ip,
                  {"name": fed_name, "durationSeconds": duration}, resp, read_only=False)


def key_call(eid, t, caller, name, target_key, user_name, ip, status=None, error=None):
    params = {"accessKeyId": target_key, "userName": user_name}
    if status:
        params["status"] = status
    return record(eid, t, caller, name, "iam.amazonaws.com", ip, params, None, error=error,
                  read_only=False)


def finding(kind, subject, origin, first, t, ids):
    return {"kind": kind, "subject": subject, "origin": origin, "first_event_id": first,
            "time": iso(t), "event_ids": ids}


# Addresses: public addresses outside the documentation ranges.
HOME = "81.2.69.142"
HOME_SAME16 = "81.2.70.9"
OTHER = "45.33.32.156"
OFFICE = "81.2.69.142"
AWS_EC2 = "54.210.1.20"  # inside testdata/anomalies/ip-ranges.json
AWS_EC2_2 = "18.236.5.5"  # idem
AWS_V6 = "2600:1f14::5"  # idem
OUT_V6 = "2a01:4f8::1"

ALICE = user("alice")
BOB = user("bob")
ADMIN = user("admin")


def alice_arn():
    return ALICE["arn"]


# =========================================================================================
# 1. role_chain_depth


def role_chain_depth():
    kind = "role_chain_depth"
    ks = [key("ASIA", f"DEPTH{i}") for i in range(1, 6)]

    def chain(prefix, n, t0):
        recs, caller = [], ALICE
        for i in range(1, n + 1):
            t = t0 + dt.timedelta(minutes=i - 1)
            recs.append(assume(f"{prefix}-{i}", t, caller, f"ChainR{i}", "hop", ks[i - 1], HOME))
            caller = session(f"ChainR{i}", "hop", ks[i - 1], t)
        recs.append(call(f"{prefix}-use", t0 + dt.timedelta(minutes=n), caller, HOME))
        return recs

    fire = chain("depth-fire", 5, at(0, 10))
    near = chain("depth-near", 3, at(0, 10))
    exp = [finding(kind, ks[3], alice_arn(), "depth-fire-4", at(0, 10, 3),
                   [f"depth-fire-{i}" for i in range(1, 5)])]
    return kind, fire, near, exp, None


# 2. role_cycle


def role_cycle():
    kind = "role_cycle"
    k = [key("ASIA", f"CYCLE{i}") for i in range(1, 8)]
    fire, caller = [], ALICE
    roles = ["CycA", "CycB", "CycA", "CycB", "CycA"]
    for i, r in enumerate(roles, 1):
        t = at(0, 10, 50 * (i - 1))
        fire.append(assume(f"cyc-{i}", t, caller, r, "keepalive", k[i - 1], HOME))
        caller = session(r, "keepalive", k[i - 1], t)
    # A role that assumes itself.
    fire.append(assume("self-1", at(0, 11), BOB, "SelfRole", "s", k[5], OTHER))
    fire.append(assume("self-2", at(0, 11, 5), session("SelfRole", "s", k[5], at(0, 11)),
                       "SelfRole", "s", k[6], OTHER))
    exp = [
        finding(kind, k[2], alice_arn(), "cyc-3", at(0, 10, 100), ["cyc-1", "cyc-2", "cyc-3"]),
        finding(kind, k[6], BOB["arn"], "self-2", at(0, 11, 5), ["self-1", "self-2"]),
    ]
    # Near miss: A>B>C, and A again in another chain (A>B): no role repeats within a chain.
    near, caller = [], ALICE
    for i, r in enumerate(["CycA", "CycB", "CycC"], 1):
        t = at(0, 10, 10 * (i - 1))
        near.append(assume(f"nocyc-{i}", t, caller, r, "keepalive", k[i - 1], HOME))
        caller = session(r, "keepalive", k[i - 1], t)
    near.append(assume("nocyc-4", at(0, 11), ALICE, "CycA", "again", k[3], HOME))
    near.append(assume("nocyc-5", at(0, 11, 5), session("CycA", "again", k[3], at(0, 11)),
                       "CycB", "again", k[4], HOME))
    return kind, fire, near, exp, None


# 3. workload_credential_exfiltration (no ranges file)


def workload_exfiltration():
    kind = "workload_credential_exfiltration"
    inst, role = "i-0a1b2c3d4e5f60718", "WebRole"
    w1, w2 = key("ASIA", "WEB1"), key("ASIA", "WEB2")
    o1 = key("ASIA", "STOLEN1")
    c1 = key("ASIA", "WEBCHAIN1")
    t1, t2 = at(0, 10), at(0, 16)
    s1 = session(role, inst, w1, t1, ec2="2.0")
    s2 = session(role, inst, w2, t2, ec2="2.0")
    sc = session("AppRole", "app", c1, at(0, 10, 7))
    # An orphan instance session (issuance not in the input), as in the Stratus capture.
    so = session("StolenRole", "i-0fedcba9876543210", o1, at(0, 9), ec2="1.0")
    fire = [
        service_assume("wl-iss-1", t1, "ec2.amazonaws.com", role, inst, w1),
        call("wl-home", at(0, 10, 1), s1, AWS_EC2, "DescribeInstances", "ec2.amazonaws.com"),
        call("wl-internal", at(0, 10, 2), s1, "AWS Internal"),
        call("wl-private", at(0, 10, 3), s1, "10.0.1.5"),
        call("wl-out-1", at(0, 10, 5), s1, HOME, "GetCallerIdentity", "sts.amazonaws.com"),
        call("wl-out-1b", at(0, 10, 6), s1, HOME),
        service_assume("wl-iss-2", t2, "ec2.amazonaws.com", role, inst, w2),
        call("wl-2-home", at(0, 16, 1), s2, AWS_EC2, "DescribeInstances", "ec2.amazonaws.com"),
        call("wl-out-2", at(0, 16, 5), s2, OTHER),
        # The workload assumes another role: that session is the workload's too.
        assume("wl-chain-iss", at(0, 10, 7), s1, "AppRole", "app", c1, AWS_EC2),
        call("wl-chain-home", at(0, 10, 8), sc, AWS_EC2),
        call("wl-chain-out", at(0, 10, 9), sc, OTHER),
        call("orphan-home", at(0, 9, 30), so, AWS_EC2_2, "DescribeInstances",
             "ec2.amazonaws.com"),
        call("orphan-out", at(0, 9, 40), so, HOME, "GetCallerIdentity", "sts.amazonaws.com"),
    ]
    exp = [
        finding(kind, o1, f"unknown:{o1}", "orphan-out", at(0, 9, 40),
                ["orphan-home", "orphan-out"]),
        finding(kind, w1, "service:ec2.amazonaws.com", "wl-out-1", at(0, 10, 5),
                ["wl-iss-1", "wl-home", "wl-out-1"]),
        finding(kind, w2, "service:ec2.amazonaws.com", "wl-out-2", at(0, 16, 5),
                ["wl-iss-2", "wl-home", "wl-out-2"]),
        finding(kind, c1, "service:ec2.amazonaws.com", "wl-chain-out", at(0, 10, 9),
                ["wl-chain-iss", "wl-chain-home", "wl-chain-out"]),
    ]
    # Near miss: only the workload's first address, private addresses, AWS Internal, service
    # names; a Lambda used from one address; a human role session (not a workload) that moves.
    lam = key("ASIA", "LAMBDA1")
    human = key("ASIA", "HUMAN1")
    sl = session("FnRole", "awslambda_1_20240304100000000", lam, t1)
    near = [
        service_assume("nwl-iss-1", t1, "ec2.amazonaws.com", role, inst, w1),
        call("nwl-home", at(0, 10, 1), s1, AWS_EC2, "DescribeInstances", "ec2.amazonaws.com"),
        call("nwl-private", at(0, 10, 2), s1, "10.0.1.5"),
        call("nwl-internal", at(0, 10, 3), s1, "AWS Internal"),
        call("nwl-svc", at(0, 10, 4), s1, "ec2.amazonaws.com"),
        call("nwl-loop", at(0, 10, 5), s1, "127.0.0.1"),
        call("nwl-home-again", at(0, 10, 6), s1, AWS_EC2),
        service_assume("nwl-iss-2", t2, "ec2.amazonaws.com", role, inst, w2),
        call("nwl-2-home", at(0, 16, 1), s2, AWS_EC2),
        service_assume("nwl-lambda", t1, "lambda.amazonaws.com", "FnRole",
                       "awslambda_1_20240304100000000", lam, duration=3600),
        call("nwl-lambda-use", at(0, 10, 1), sl, "52.1.2.3", "Decrypt", "kms.amazonaws.com"),
        call("nwl-human-1", at(0, 10, 1), session("DevRole", "alice", human, at(0, 9)), HOME),
        call("nwl-human-2", at(0, 10, 2), session("DevRole", "alice", human, at(0, 9)), OTHER),
    ]
    return kind, fire, near, exp, None


# 3b. workload_credential_exfiltration with an AWS ranges file


def workload_exfiltration_ranges():
    kind = "workload_credential_exfiltration"
    o1, o2, w1 = key("ASIA", "RSTOLEN1"), key("ASIA", "RSTOLEN2"), key("ASIA", "RWEB1")
    so1 = session("StolenRole", "i-0123456789abcdef0", o1, at(0, 9), ec2="1.0")
    so2 = session("OtherRole", "i-0123456789abcdef1", o2, at(0, 9), ec2="2.0")
    s1 = session("WebRole", "i-0a1b2c3d4e5f60718", w1, at(0, 10), ec2="2.0")
    fire = [
        # With a ranges file the first address counts too.
        call("r-out-first", at(0, 9, 1), so1, HOME, "GetCallerIdentity", "sts.amazonaws.com"),
        call("r-out-later", at(0, 9, 2), so1, OTHER),
        call("r-v6-in", at(0, 9, 1), so2, AWS_V6),
        call("r-v6-out", at(0, 9, 3), so2, OUT_V6),
        service_assume("r-iss", at(0, 10), "ec2.amazonaws.com", "WebRole",
                       "i-0a1b2c3d4e5f60718", w1),
        call("r-in-1", at(0, 10, 1), s1, AWS_EC2),
        call("r-in-2", at(0, 10, 2), s1, AWS_EC2_2),
    ]
    exp = [
        finding(kind, o1, f"unknown:{o1}", "r-out-first", at(0, 9, 1), ["r-out-first"]),
        finding(kind, o2, f"unknown:{o2}", "r-v6-out", at(0, 9, 3), ["r-v6-out"]),
    ]
    near = [
        call("nr-in-1", at(0, 9, 1), so1, AWS_EC2),
        call("nr-in-2", at(0, 9, 2), so1, AWS_EC2_2),
        call("nr-in-3", at(0, 9, 3), so1, AWS_V6),
        call("nr-priv", at(0, 9, 4), so1, "10.20.30.40"),
        call("nr-internal", at(0, 9, 5), so1, "AWS Internal"),
    ]
    return kind, fire, near, exp, 'aws_ip_ranges = "../ip-ranges.json"\n'


# 4. session_multi_ip


def session_multi_ip():
    kind = "session_multi_ip"
    m1, m2, m3 = key("ASIA", "MULTI1"), key("ASIA", "MULTI2"), key("ASIA", "MULTI3")
    t0 = at(0, 10)
    a1 = session("DevRole", "alice", m1, t0)
    a2 = session("DevRole", "alice2", m2, at(0, 11))
    fire = [
        assume("mip-iss-1", t0, ALICE, "DevRole", "alice", m1, HOME),
        call("mip-home-1", at(0, 10, 1), a1, HOME),
        call("mip-same16", at(0, 10, 2), a1, HOME_SAME16),
        # 19 min after the last home use: not yet...
        call("mip-other", at(0, 10, 20), a1, OTHER),
        # ...but a home use 9 min 30 s after it confirms it.
        call("mip-home-2", at(0, 10, 29, 30), a1, HOME),
        call("mip-other-2", at(0, 10, 30), a1, OTHER),
        assume("mip-iss-2", at(0, 11), ALICE, "DevRole", "alice2", m2, HOME),
        call("m2-home", at(0, 11, 0, 30), a2, HOME),
        call("m2-other", at(0, 11, 10, 30), a2, OTHER),  # exactly 10 min: inclusive
    ]
    exp = [
        finding(kind, m1, alice_arn(), "mip-other", at(0, 10, 20),
                ["mip-home-1", "mip-other", "mip-home-2"]),
        finding(kind, m2, alice_arn(), "m2-other", at(0, 11, 10, 30), ["m2-home", "m2-other"]),
    ]
    a3 = session("DevRole", "alice3", m3, t0)
    near = [
        assume("nmip-iss", t0, ALICE, "DevRole", "alice3", m3, HOME),
        call("nmip-home", at(0, 10, 0, 0), a3, HOME),
        call("nmip-same16", at(0, 10, 0, 30), a3, HOME_SAME16),
        call("nmip-private", at(0, 10, 0, 40), a3, "10.0.0.5"),
        call("nmip-v6", at(0, 10, 0, 50), a3, OUT_V6),
        call("nmip-internal", at(0, 10, 0, 55), a3, "AWS Internal"),
        call("nmip-other", at(0, 10, 10, 1), a3, OTHER),  # 10 min 1 s after home
        call("nmip-home-2", at(0, 10, 20, 2), a3, HOME),  # 10 min 1 s after other
        # A long-term key from two networks: not a temporary key.
        call("nmip-akia-1", at(0, 10, 1), ALICE, HOME),
        call("nmip-akia-2", at(0, 10, 2), ALICE, OTHER),
    ]
    return kind, fire, near, exp, None


# 5. assume_role_enumeration


def assume_role_enumeration():
    kind = "assume_role_enumeration"
    mallory = user("mallory")
    offs = [0, 30, 60, 90, 120, 420, 450, 480, 510, 540, 570]  # one gap of exactly 5 min
    roles = ["R1", "R1", "R2", "R2", "R3", "R3", "R4", "R4", "R1", "R5", "R5"]
    fire = [denied(f"enum-{i}", at(0, 10, 0, o), mallory, r, OTHER)
            for i, (o, r) in enumerate(zip(offs, roles), 1)]
    exp = [finding(kind, mallory["arn"], mallory["arn"], "enum-10", at(0, 10, 9),
                   [f"enum-{i}" for i in range(1, 12)])]
    trent, victor, walter = user("trent"), user("victor"), user("walter")
    near = []
    # 10 failures over 4 roles.
    for i, r in enumerate(["R1", "R2", "R3", "R4", "R1", "R2", "R3", "R4", "R1", "R2"], 1):
        near.append(denied(f"trent-{i}", at(0, 10, 0, 30 * i), trent, r, OTHER))
    # 9 failures over 5 roles.
    for i, r in enumerate(["R1", "R2", "R3", "R4", "R5", "R1", "R2", "R3", "R4"], 1):
        near.append(denied(f"victor-{i}", at(0, 10, 0, 30 * i), victor, r, OTHER))
    # 10 failures over 5 roles, split by a gap of 5 min 1 s.
    for i, r in enumerate(["R1", "R2", "R3", "R4", "R5", "R1", "R2", "R3", "R4", "R5"], 1):
        o = 30 * i + (301 if i > 5 else 0)
        near.append(denied(f"walter-{i}", at(0, 10, 0, o), walter, r, OTHER))
    return kind, fire, near, exp, None


# 6. first_time_assumption (span day 0 09:00 .. day 10 09:00: the baseline ends day 7 09:00)


def bookends(prefix):
    return [call(f"{prefix}-start", at(0, 9), ALICE, HOME, "GetCallerIdentity", "sts.amazonaws.com"),
            call(f"{prefix}-end", at(10, 9), ALICE, HOME, "GetCallerIdentity", "sts.amazonaws.com")]


def first_time_assumption():
    kind = "first_time_assumption"
    k = [key("ASIA", f"FIRST{i}") for i in range(1, 10)]
    bob_ops = session("OpsRole", "bob", k[3], at(2, 10))
    fire = bookends("ft") + [
        assume("ft-ops-1", at(1, 10), ALICE, "OpsRole", "alice", k[0], HOME),
        assume("ft-ops-2", at(8, 10), ALICE, "OpsRole", "alice", k[1], HOME),
        assume("ft-audit-1", at(7, 9), ALICE, "AuditRole", "alice", k[2], HOME),  # exactly at the end
        assume("ft-audit-2", at(9, 10), ALICE, "AuditRole", "alice", k[4], HOME),
        assume("ft-bob-ops", at(2, 10), BOB, "OpsRole", "bob", k[3], OTHER),
        assume("ft-bob-data", at(8, 10), bob_ops, "DataRole", "bob", k[5], OTHER),  # chained
    ]
    exp = [
        finding(kind, alice_arn(), alice_arn(), "ft-audit-1", at(7, 9), ["ft-audit-1"]),
        finding(kind, BOB["arn"], BOB["arn"], "ft-bob-data", at(8, 10), ["ft-bob-data"]),
    ]
    orphan = session("OpsRole", "ghost", k[6], at(6, 10))
    near = bookends("nft") + [
        assume("nft-audit-1", at(7, 8, 59, 59), ALICE, "AuditRole", "alice", k[2], HOME),
        assume("nft-audit-2", at(9, 10), ALICE, "AuditRole", "alice", k[4], HOME),
        service_assume("nft-svc", at(8, 10), "ec2.amazonaws.com", "WebRole", "i-0a1b2c3d4e5f60718",
                       k[7]),
        assume("nft-orphan", at(8, 10), orphan, "DataRole", "ghost", k[8], OTHER),
    ]
    return kind, fire, near, exp, None


# 7. no_mfa_sensitive


def no_mfa_sensitive():
    kind = "no_mfa_sensitive"
    k = [key("ASIA", f"NOMFA{i}") for i in range(1, 10)]
    fire = [
        assume("nomfa-1", at(0, 10), ALICE, "ProdAdmin", "alice", k[0], HOME),
        assume("nomfa-2", at(0, 10, 5), BOB, "breakglass-east", "bob", k[1], OTHER),
    ]
    exp = [
        finding(kind, k[0], alice_arn(), "nomfa-1", at(0, 10), ["nomfa-1"]),
        finding(kind, k[1], BOB["arn"], "nomfa-2", at(0, 10, 5), ["nomfa-2"]),
    ]
    mfa_dev = "arn:aws:iam::111111111111:mfa/alice"
    ro = session("ReadOnly", "alice", k[3], at(0, 10, 1), mfa=True)
    near = [
        assume("nnomfa-serial", at(0, 10), ALICE, "ProdAdmin", "alice", k[2], HOME, serial=mfa_dev),
        assume("nnomfa-ro", at(0, 10, 1), ALICE, "ReadOnly", "alice", k[3], HOME, serial=mfa_dev),
        assume("nnomfa-chained", at(0, 10, 2), ro, "BreakGlassRole", "alice", k[4], HOME),
        assume("nnomfa-plain", at(0, 10, 3), ALICE, "ReadOnly", "alice2", k[5], HOME),
        assume("nnomfa-suffix", at(0, 10, 4), ALICE, "MyBreakGlass", "alice", k[6], HOME),
        saml_assume("nnomfa-saml", at(0, 10, 5), "carol@example.com",
                    "AWSReservedSSO_AdministratorAccess_0123456789abcdef", k[7], OTHER),
        service_assume("nnomfa-svc", at(0, 10, 6), "ec2.amazonaws.com", "Ec2AdminRole",
                       "i-0a1b2c3d4e5f60718", k[8]),
    ]
    return kind, fire, near, exp, None


# 8. off_hours (default windows Mon-Fri 20:00-07:00, Sat-Sun all day, UTC)


def off_hours():
    kind = "off_hours"
    k = [key("ASIA", f"OFFH{i}") for i in range(1, 12)]
    saml_origin = ("saml:arn:aws:iam::111111111111:saml-provider/"
                   "AWSSSO_0123456789abcdef_DO_NOT_DELETE:carol@example.com")
    fire = [
        assume("off-tue-0659", at(1, 6, 59, 59), ALICE, "OpsRole", "alice", k[0], HOME),
        assume("off-wed-2000", at(2, 20), ALICE, "OpsRole", "alice", k[1], HOME),
        assume("off-mon-0300", at(0, 3), ALICE, "OpsRole", "alice", k[2], HOME),
        saml_assume("off-sat-saml", at(5, 12), "carol@example.com", "AWSReservedSSO_Ops_0123",
                    k[3], OTHER),
    ]
    exp = [
        finding(kind, alice_arn(), alice_arn(), "off-mon-0300", at(0, 3), ["off-mon-0300"]),
        finding(kind, alice_arn(), alice_arn(), "off-tue-0659", at(1, 6, 59, 59), ["off-tue-0659"]),
        finding(kind, alice_arn(), alice_arn(), "off-wed-2000", at(2, 20), ["off-wed-2000"]),
        finding(kind, saml_origin, saml_origin, "off-sat-saml", at(5, 12), ["off-sat-saml"]),
    ]
    ops = session("OpsRole", "alice", k[6], at(1, 10))
    near = [
        assume("noff-tue-0700", at(1, 7), ALICE, "OpsRole", "alice", k[4], HOME),
        assume("noff-tue-1959", at(1, 19, 59, 59), ALICE, "OpsRole", "alice", k[5], HOME),
        assume("noff-ops", at(1, 10), ALICE, "OpsRole", "alice", k[6], HOME),
        assume("noff-chained", at(1, 23), ops, "DataRole", "alice", k[7], HOME),
        service_assume("noff-svc", at(5, 3), "ec2.amazonaws.com", "WebRole",
                       "i-0a1b2c3d4e5f60718", k[8]),
        oidc_assume("noff-oidc", at(6, 3), "repo:example/app:ref:refs/heads/main", "DeployRole",
                    k[9], OTHER),
        saml_assume("noff-saml-fri", at(4, 19, 59, 59), "carol@example.com",
                    "AWSReservedSSO_Ops_0123", k[10], OTHER),
    ]
    return kind, fire, near, exp, None


# 9. external_account_assumption (logs of 111111111111 and 333333333333 only)


def cross(eid, t, caller_acct, role, name, k):
    pid = "AIDA" + caller_acct[:8] + "EXAMPLEID"
    return assume(eid, t, aws_account(caller_acct, pid), role, name, k, "34.200.1.1",
                  shared="shared-" + eid)


def external_account():
    kind = "external_account_assumption"
    k = [key("ASIA", f"EXT{i}") for i in range(1, 10)]
    fire = bookends("ext") + [
        cross("ext-222-1", at(1, 10), "222222222222", "PartnerRole", "partner", k[0]),
        cross("ext-222-2", at(9, 10), "222222222222", "PartnerRole", "partner", k[1]),
        cross("ext-999-1", at(8, 10), "999999999999", "PartnerRole", "stranger", k[2]),
        cross("ext-999-2", at(9, 11), "999999999999", "PartnerRole", "stranger", k[3]),
    ]
    pid999 = "AIDA99999999EXAMPLEID"
    exp = [finding(kind, "999999999999", f"account:999999999999:{pid999}", "ext-999-1",
                   at(8, 10), ["ext-999-1"])]
    # 333333333333's own logs are in the input: its caller copy is there.
    carl = user("carl", acct="333333333333")
    near = bookends("next") + [
        cross("next-777-1", at(7, 8, 59, 59), "777777777777", "PartnerRole", "early", k[4]),
        cross("next-777-2", at(9, 10), "777777777777", "PartnerRole", "early", k[5]),
        assume("next-333-caller", at(8, 10), carl, "PartnerRole", "carl", k[6], OTHER,
               recipient="333333333333", shared="shared-333"),
        assume("next-333-role", at(8, 10), aws_account("333333333333", carl["principalId"]),
               "PartnerRole", "carl", k[6], OTHER, shared="shared-333"),
    ]
    return kind, fire, near, exp, None


# 10. getsessiontoken_then_assume


def gst_then_assume():
    kind = "getsessiontoken_then_assume"
    g1, g2, g3 = key("ASIA", "GST1"), key("ASIA", "GST2"), key("ASIA", "GST3")
    k = [key("ASIA", f"GSTR{i}") for i in range(1, 5)]
    a_g1 = user("alice", k=g1, mfa_ctx=at(0, 10))
    b_g2 = user("bob", k=g2, mfa_ctx=at(0, 11))
    fire = [
        get_session_token("gst-1", at(0, 10), ALICE, g1, HOME),
        call("gst-1-use", at(0, 10, 1), a_g1, HOME),
        assume("gst-assume-1", at(0, 10, 2), a_g1, "OpsRole", "alice", k[0], HOME),
        assume("gst-assume-2", at(0, 10, 3), a_g1, "DataRole", "alice", k[1], HOME),
        get_session_token("gst-2", at(0, 11), BOB, g2, OTHER),
        denied("gst-denied", at(0, 11, 5), b_g2, "AdminRole", OTHER),
        assume("gst-after-denied", at(0, 11, 6), b_g2, "OpsRole", "bob", k[2], OTHER),
    ]
    exp = [
        finding(kind, g1, alice_arn(), "gst-assume-1", at(0, 10, 2), ["gst-1", "gst-assume-1"]),
        finding(kind, g2, BOB["arn"], "gst-denied", at(0, 11, 5), ["gst-2", "gst-denied"]),
    ]
    carol = user("carol")
    c_g3 = user("carol", k=g3, mfa_ctx=at(0, 10))
    near = [
        get_session_token("ngst-1", at(0, 10), carol, g3, HOME),
        call("ngst-use-1", at(0, 10, 1), c_g3, HOME),
        call("ngst-use-2", at(0, 10, 2), c_g3, HOME, "GetCallerIdentity", "sts.amazonaws.com"),
        assume("ngst-akia", at(0, 10, 3), carol, "OpsRole", "carol", k[3], HOME),
    ]
    return kind, fire, near, exp, None


# 11. federation_token_persistence


def federation_persistence():
    kind = "federation_token_persistence"
    fu1, fu2, fu3, fu4 = user("fed-user"), user("fed-user2"), user("fed-user3"), user("fed-user4")
    f1, f2, f3, f4 = (key("ASIA", f"FED{i}") for i in range(1, 5))
    s1 = federated("contractor", f1, at(0, 10), fu1)
    s2 = federated("vendor", f2, at(0, 10, 30), fu2)
    fire = [
        get_federation_token("fed-gft-1", at(0, 10), fu1, "contractor", f1, OTHER),
        call("fed-use-before", at(0, 10, 5), s1, OTHER),
        key_call("fed-deactivate", at(0, 10, 10), ADMIN, "UpdateAccessKey", fu1["accessKeyId"],
                 "fed-user", HOME, status="Inactive"),
        call("fed-use-same-second", at(0, 10, 10), s1, OTHER, "GetCallerIdentity",
             "sts.amazonaws.com"),
        call("fed-use-after", at(0, 10, 15), s1, OTHER),
        call("fed-use-after-2", at(0, 10, 16), s1, OTHER),
        get_federation_token("fed-gft-2", at(0, 10, 30), fu2, "vendor", f2, OTHER),
        key_call("fed-delete", at(0, 11), ADMIN, "DeleteAccessKey", fu2["accessKeyId"],
                 "fed-user2", HOME),
        call("fed2-use-after", at(0, 11, 30), s2, OTHER),
    ]
    exp = [
        finding(kind, f1, fu1["arn"], "fed-use-after", at(0, 10, 15),
                ["fed-gft-1", "fed-deactivate", "fed-use-after"]),
        finding(kind, f2, fu2["arn"], "fed2-use-after", at(0, 11, 30),
                ["fed-gft-2", "fed-delete", "fed2-use-after"]),
    ]
    s3 = federated("temp", f3, at(0, 10), fu3)
    s4 = federated("early", f4, at(0, 10), fu4)
    near = [
        get_federation_token("nfed-gft-3", at(0, 10), fu3, "temp", f3, OTHER),
        key_call("nfed-activate", at(0, 10, 5), ADMIN, "UpdateAccessKey", fu3["accessKeyId"],
                 "fed-user3", HOME, status="Active"),
        call("nfed-use-1", at(0, 10, 6), s3, OTHER),
        key_call("nfed-delete-denied", at(0, 10, 10), ADMIN, "DeleteAccessKey",
                 fu3["accessKeyId"], "fed-user3", HOME,
                 error=("AccessDenied", "User: arn:aws:iam::111111111111:user/admin is not "
                        "authorized to perform: iam:DeleteAccessKey")),
        call("nfed-use-2", at(0, 10, 11), s3, OTHER),
        call("nfed-use-3", at(0, 10, 19, 59), s3, OTHER),
        key_call("nfed-delete", at(0, 10, 20), ADMIN, "DeleteAccessKey", fu3["accessKeyId"],
                 "fed-user3", HOME),
        call("nfed-use-same-second", at(0, 10, 20), s3, OTHER),
        # A deactivation before the token was issued does not count.
        key_call("nfed-early-deactivate", at(0, 9), ADMIN, "UpdateAccessKey", fu4["accessKeyId"],
                 "fed-user4", HOME, status="Inactive"),
        get_federation_token("nfed-gft-4", at(0, 10), fu4, "early", f4, OTHER),
        call("nfed-4-use", at(0, 10, 5), s4, OTHER),
    ]
    return kind, fire, near, exp, None


# 12. api_enumeration_burst (defaults: 20 denied calls on 15 distinct APIs within 2 minutes)

ENUM_APIS = [
    ("iam.amazonaws.com", "ListUsers"), ("iam.amazonaws.com", "ListRoles"),
    ("iam.amazonaws.com", "ListPolicies"), ("iam.amazonaws.com", "GetAccountSummary"),
    ("iam.amazonaws.com", "ListGroups"), ("ec2.amazonaws.com", "DescribeInstances"),
    ("ec2.amazonaws.com", "DescribeVolumes"), ("ec2.amazonaws.com", "DescribeSnapshots"),
    ("ec2.amazonaws.com", "DescribeVpcs"), ("s3.amazonaws.com", "ListBuckets"),
    ("lambda.amazonaws.com", "ListFunctions20150331"), ("dynamodb.amazonaws.com", "ListTables"),
    ("rds.amazonaws.com", "DescribeDBInstances"), ("kms.amazonaws.com", "ListKeys"),
    ("secretsmanager.amazonaws.com", "ListSecrets"), ("sns.amazonaws.com", "ListTopics"),
    ("sqs.amazonaws.com", "ListQueues"), ("cloudtrail.amazonaws.com", "DescribeTrails"),
    ("guardduty.amazonaws.com", "ListDetectors"), ("cognito-idp.amazonaws.com", "ListUserPools"),
]


def denied_code(source):
    """The errorCode each service logs for a refused call."""
    if source == "ec2.amazonaws.com":
        return "Client.UnauthorizedOperation"
    if source in ("lambda.amazonaws.com", "dynamodb.amazonaws.com", "kms.amazonaws.com",
                  "secretsmanager.amazonaws.com"):
        return "AccessDeniedException"
    if source == "cognito-idp.amazonaws.com":
        return "NotAuthorizedException"
    return "AccessDenied"


def refused(eid, t, ident, api, ip, code=None):
    source, name = api
    code = code or denied_code(source)
    msg = f"User: {ident.get('arn', '?')} is not authorized to perform: {name}"
    return record(eid, t, ident, name, source, ip, error=(code, msg))


def burst(prefix, ident, apis, step, t0, ip=OTHER, code=None):
    return [refused(f"{prefix}-{i}", t0 + dt.timedelta(seconds=step * (i - 1)), ident, api, ip,
                    code)
            for i, api in enumerate(apis, 1)]


def api_enumeration_burst():
    kind = "api_enumeration_burst"
    k = [key("ASIA", f"ENUM{i}") for i in range(1, 6)]
    mallory = user("mallory")
    recon = session("ReconRole", "alice", k[0], at(0, 10))
    # A session: 20 denied calls on 15 APIs (5 repeated) in 95 s, a successful call and a
    # throttled one in between (not counted).
    apis = ENUM_APIS[:15] + ENUM_APIS[:5]
    sess_burst = burst("enum-s", recon, apis, 5, at(0, 10, 1))
    fire = [assume("enum-assume", at(0, 10), ALICE, "ReconRole", "alice", k[0], HOME)]
    fire += sess_burst[:10]
    fire.append(call("enum-s-ok", at(0, 10, 1, 47), recon, OTHER, "GetCallerIdentity",
                     "sts.amazonaws.com"))
    fire.append(record("enum-s-throttled", at(0, 10, 1, 48), recon, "ListAliases",
                       "kms.amazonaws.com", OTHER, error=("ThrottlingException", "Rate exceeded")))
    fire += sess_burst[10:]
    # A long-term key: 20 denied calls on 20 APIs, the first and the last exactly 2 minutes
    # apart (the window is inclusive); then more denied calls in the same burst (no second
    # finding).
    key_burst = [refused(f"enum-k-{i}", at(0, 11, 0, round(120 * (i - 1) / 19)), mallory, api,
                         OTHER)
                 for i, api in enumerate(ENUM_APIS, 1)]
    fire += key_burst
    fire += burst("enum-k-more", mallory, ENUM_APIS[:5], 30, at(0, 11, 2, 30))
    exp = [
        finding(kind, k[0], alice_arn(), "enum-s-20", at(0, 10, 1, 95),
                [f"enum-s-{i}" for i in range(1, 21)]),
        finding(kind, mallory["accessKeyId"], mallory["arn"], "enum-k-20", at(0, 11, 2),
                [f"enum-k-{i}" for i in range(1, 21)]),
    ]
    trent, victor, walter, oscar = user("trent"), user("victor"), user("walter"), user("oscar")
    near = []
    # 19 denied calls on 19 APIs.
    near += burst("nenum-19", trent, ENUM_APIS[:19], 5, at(0, 10))
    # 25 denied calls on 14 APIs.
    near += burst("nenum-14", victor, (ENUM_APIS[:14] * 2)[:25], 4, at(0, 10))
    # 20 denied calls on 20 APIs, 7 s apart: at most 18 within any 2 minutes.
    near += burst("nenum-slow", walter, ENUM_APIS, 7, at(0, 10))
    # 20 calls on 20 APIs that failed for other reasons.
    near += burst("nenum-other", oscar, ENUM_APIS, 3, at(0, 10), code="ThrottlingException")
    # Two sessions of one role: 10 denied calls each (one caller each).
    s1 = session("ReconRole", "one", k[1], at(0, 10))
    s2 = session("ReconRole", "two", k[2], at(0, 10))
    near += [assume("nenum-a1", at(0, 10), ALICE, "ReconRole", "one", k[1], HOME),
             assume("nenum-a2", at(0, 10), ALICE, "ReconRole", "two", k[2], HOME)]
    near += burst("nenum-s1", s1, ENUM_APIS[:10], 5, at(0, 10, 1))
    near += burst("nenum-s2", s2, ENUM_APIS[10:], 5, at(0, 10, 1, 2))
    return kind, fire, near, exp, None


# 13. long_term_key_new_network (span day 0 09:00 .. day 10 09:00: the learning period ends
# day 7 09:00; networks are /16 and /48)


def long_term_key_new_network():
    kind = "long_term_key_new_network"
    bob, carol, dave = user("bob"), user("carol"), user("dave")
    v6_home, v6_same48, v6_other = "2a01:4f8:0:1::5", "2a01:4f8:0:ffff::1", "2a01:4f8:1::9"
    fire = bookends("lk") + [
        call("lk-bob-home", at(1, 10), bob, HOME),
        call("lk-bob-v6", at(2, 10), bob, v6_home),
        call("lk-bob-other", at(8, 10), bob, OTHER),
        call("lk-bob-other-again", at(8, 11), bob, "45.33.40.1"),  # same /16
        call("lk-bob-v6-same", at(9, 9), bob, v6_same48),  # same /48
        call("lk-bob-v6-other", at(9, 10), bob, v6_other),
        call("lk-alice-same16", at(8, 10), ALICE, HOME_SAME16),
    ]
    exp = [
        finding(kind, bob["accessKeyId"], bob["arn"], "lk-bob-other", at(8, 10),
                ["lk-bob-home", "lk-bob-other"]),
        finding(kind, bob["accessKeyId"], bob["arn"], "lk-bob-v6-other", at(9, 10),
                ["lk-bob-home", "lk-bob-v6-other"]),
    ]
    ops = session("OpsRole", "carol", key("ASIA", "LTK1"), at(1, 10))
    near = bookends("nlk") + [
        call("nlk-carol-home", at(1, 10), carol, HOME),
        call("nlk-carol-same16", at(8, 10), carol, HOME_SAME16),
        # Not networks: a service acting for the key, AWS-internal calls, a private address.
        call("nlk-carol-service", at(8, 11), carol, "cloudformation.amazonaws.com"),
        call("nlk-carol-internal", at(8, 12), carol, "AWS Internal"),
        call("nlk-carol-private", at(8, 13), carol, "10.0.1.5"),
        # Learned one second before the end of the learning period.
        call("nlk-carol-late", at(7, 8, 59, 59), carol, OTHER),
        call("nlk-carol-late-again", at(9, 10), carol, OTHER),
        # A key with no use in the learning period (new_keys = false).
        call("nlk-dave-new", at(8, 10), dave, OTHER),
        # A temporary key.
        assume("nlk-ops", at(1, 10), carol, "OpsRole", "carol", key("ASIA", "LTK1"), HOME),
        call("nlk-ops-home", at(1, 10, 1), ops, HOME),
        call("nlk-ops-other", at(8, 10), ops, OTHER),
    ]
    return kind, fire, near, exp, None


# 14. console_login_without_mfa


def console_login(eid, t, ident, ip, success=True, mfa="No"):
    ident = {k: v for k, v in ident.items() if k != "accessKeyId"}
    r = record(eid, t, ident, "ConsoleLogin", "signin.amazonaws.com", ip,
               response={"ConsoleLogin": "Success" if success else "Failure"},
               error=None if success else None, read_only=False,
               ua="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
    if not success:
        r["errorMessage"] = "Failed authentication"
    r["additionalEventData"] = {
        "LoginTo": "https://console.aws.amazon.com/console/home",
        "MobileVersion": "No",
        "MFAUsed": mfa,
    }
    r["eventType"] = "AwsConsoleSignIn"
    return r


def root_identity(acct=ACCT):
    return {"type": "Root", "principalId": acct, "arn": f"arn:aws:iam::{acct}:root",
            "accountId": acct}


def console_login_without_mfa():
    kind = "console_login_without_mfa"
    dave, erin = user("dave"), user("erin")
    root = root_identity()
    fire = [
        console_login("cl-dave-1", at(0, 10), dave, OTHER),
        console_login("cl-dave-2", at(0, 14), dave, OTHER),  # same address: same finding
        console_login("cl-dave-3", at(1, 9), dave, HOME),
        console_login("cl-root", at(0, 11), root, OTHER),
    ]
    exp = [
        finding(kind, dave["arn"], dave["arn"], "cl-dave-1", at(0, 10), ["cl-dave-1"]),
        finding(kind, root["arn"], root["arn"], "cl-root", at(0, 11), ["cl-root"]),
        finding(kind, dave["arn"], dave["arn"], "cl-dave-3", at(1, 9), ["cl-dave-3"]),
    ]
    sso = session("AWSReservedSSO_AdministratorAccess_0123456789abcdef", "carol@example.com",
                  key("ASIA", "CONSOLE1"), at(0, 10))
    near = [
        console_login("ncl-mfa", at(0, 10), erin, OTHER, mfa="Yes"),
        console_login("ncl-failed", at(0, 10, 5), erin, OTHER, success=False),
        console_login("ncl-root-mfa", at(0, 11), root, OTHER, mfa="Yes"),
        # A federated (Identity Center) console sign-in is not an IAM-user login.
        console_login("ncl-sso", at(0, 12), sso, OTHER),
    ]
    return kind, fire, near, exp, None


# 15. persistence_credential_created


def iam_user_call(eid, t, caller, name, user_name, ip, error=None):
    params = {"userName": user_name} if user_name else None
    if name == "CreateLoginProfile" and params:
        params["passwordResetRequired"] = False
    return record(eid, t, caller, name, "iam.amazonaws.com", ip, params, None, error=error,
                  read_only=False)


def persistence_credential_created():
    kind = "persistence_credential_created"
    k = [key("ASIA", f"PERSIST{i}") for i in range(1, 4)]
    ops = session("OpsRole", "alice", k[0], at(0, 10, 5))
    fire = [
        iam_user_call("pc-admin-key", at(0, 10), ADMIN, "CreateAccessKey", "backdoor", HOME),
        iam_user_call("pc-admin-key-2", at(0, 10, 1), ADMIN, "CreateAccessKey", "backdoor", HOME),
        assume("pc-assume", at(0, 10, 5), ALICE, "OpsRole", "alice", k[0], HOME),
        iam_user_call("pc-ops-profile", at(0, 10, 6), ops, "CreateLoginProfile", "bob", HOME),
        iam_user_call("pc-ops-update", at(0, 10, 7), ops, "UpdateLoginProfile", "bob", HOME),
    ]
    exp = [
        finding(kind, "arn:aws:iam::111111111111:user/backdoor", ADMIN["arn"], "pc-admin-key",
                at(0, 10), ["pc-admin-key"]),
        finding(kind, "arn:aws:iam::111111111111:user/bob", alice_arn(), "pc-ops-profile",
                at(0, 10, 6), ["pc-ops-profile"]),
        finding(kind, "arn:aws:iam::111111111111:user/bob", alice_arn(), "pc-ops-update",
                at(0, 10, 7), ["pc-ops-update"]),
    ]
    ops2 = session("OpsRole", "alice2", k[1], at(0, 10, 2))
    denied_msg = ("User: arn:aws:iam::111111111111:user/bob is not authorized to perform: "
                  "iam:CreateAccessKey on resource: user backdoor")
    near = [
        # Her own key and password, directly and through her role session.
        iam_user_call("npc-self", at(0, 10), ALICE, "CreateAccessKey", "alice", HOME),
        iam_user_call("npc-self-implicit", at(0, 10, 1), ALICE, "CreateAccessKey", None, HOME),
        assume("npc-assume", at(0, 10, 2), ALICE, "OpsRole", "alice2", k[1], HOME),
        iam_user_call("npc-role-self", at(0, 10, 3), ops2, "UpdateLoginProfile", "alice", HOME),
        # Denied, and calls that create no credential.
        iam_user_call("npc-denied", at(0, 10, 4), BOB, "CreateAccessKey", "backdoor", OTHER,
                      error=("AccessDenied", denied_msg)),
        key_call("npc-delete", at(0, 10, 5), ADMIN, "DeleteAccessKey", key("AKIA", "old"),
                 "backdoor", HOME),
        iam_user_call("npc-delete-profile", at(0, 10, 6), ADMIN, "DeleteLoginProfile", "bob",
                      HOME),
    ]
    return kind, fire, near, exp, None


IP_RANGES = {
    "syncToken": "0",
    "createDate": "2024-03-01-00-00-00",
    "_comment": "Hand-made test file in the public ip-ranges.json format: a few prefixes, "
                "not a copy of AWS's published file.",
    "prefixes": [
        {"ip_prefix": p, "region": r, "service": "EC2", "network_border_group": r}
        for p, r in [
            ("3.224.0.0/12", "us-east-1"),
            ("18.236.0.0/15", "us-west-2"),
            ("34.208.0.0/12", "us-west-2"),
            ("35.80.0.0/12", "us-west-2"),
            ("44.224.0.0/11", "us-west-2"),
            ("52.44.0.0/15", "us-east-1"),
            ("54.184.0.0/13", "us-west-2"),
            ("54.210.0.0/15", "us-east-1"),
        ]
    ],
    "ipv6_prefixes": [
        {"ipv6_prefix": "2600:1f14::/35", "region": "us-west-2", "service": "EC2",
         "network_border_group": "us-west-2"}
    ],
}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")


def main():
    builders = [
        ("role_chain_depth", role_chain_depth),
        ("role_cycle", role_cycle),
        ("workload_credential_exfiltration", workload_exfiltration),
        ("workload_credential_exfiltration_ranges", workload_exfiltration_ranges),
        ("session_multi_ip", session_multi_ip),
        ("assume_role_enumeration", assume_role_enumeration),
        ("first_time_assumption", first_time_assumption),
        ("no_mfa_sensitive", no_mfa_sensitive),
        ("off_hours", off_hours),
        ("external_account_assumption", external_account),
        ("getsessiontoken_then_assume", gst_then_assume),
        ("federation_token_persistence", federation_persistence),
        ("api_enumeration_burst", api_enumeration_burst),
        ("long_term_key_new_network", long_term_key_new_network),
        ("console_login_without_mfa", console_login_without_mfa),
        ("persistence_credential_created", persistence_credential_created),
    ]
    for name, build in builders:
        kind, fire, near, exp, config = build()
        # The output order: time, kind, subject, first_event_id.
        exp.sort(key=lambda f: (f["time"], f["kind"], f["subject"], f["first_event_id"]))
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        write_json(os.path.join(d, "fire.json"), {"Records": fire})
        write_json(os.path.join(d, "near_miss.json"), {"Records": near})
        write_json(os.path.join(d, "expected.json"),
                   {"kind": kind, "fire": exp, "near_miss": []})
        cfg = os.path.join(d, "config.toml")
        if config:
            with open(cfg, "w", encoding="utf-8", newline="\n") as f:
                f.write("# Used for fire.json and near_miss.json.\n")
                f.write("[workload_credential_exfiltration]\n" + config)
        elif os.path.exists(cfg):
            os.remove(cfg)
    write_json(os.path.join(HERE, "ip-ranges.json"), IP_RANGES)


if __name__ == "__main__":
    main()
