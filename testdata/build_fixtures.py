#!/usr/bin/env python3
"""Build the synthetic fixtures under testdata/ (shapes/, hazards/, layout/, scenarios/)
and testdata/MANIFEST.json.

Python 3 standard library only. The output is deterministic: every id comes from a hash
of a fixed label, every gzip member has mtime=0 and no file name, and every zip entry has
a fixed date. Running the script twice gives byte-identical files.

    python3 testdata/build_fixtures.py      # rewrite the fixtures
    python3 testdata/check_fixtures.py      # verify them (independent reader + attributor)

Expected values (record counts in MANIFEST.json, attributions in scenarios/*/expected.json)
are written *by hand* in this script, next to the records they describe. They are not
computed by a reader or an attributor. check_fixtures.py has its own reader and its own
reference attributor and must agree with them.

testdata/real/ is third-party data and is never written by this script. Its per-file record
counts (REAL_COUNTS below) are copied from shared/realdata/SOURCES.md.
"""
import base64
import copy
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import zipfile
import zlib

ROOT = os.path.dirname(os.path.abspath(__file__))
STRATUS = os.path.join(ROOT, "real", "stratus-red-team-detonation-logs")

E, I, U = "exact", "inferred", "unknown"

# --------------------------------------------------------------------------------------
# Deterministic identifiers
# --------------------------------------------------------------------------------------
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _digest(label):
    return hashlib.sha256(label.encode()).digest()


def uid(label):
    """A random-looking version-4 UUID derived from label."""
    h = hashlib.sha256(("uuid:" + label).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def u16(label):
    """The 16-character UniqueString of a CloudTrail object name."""
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alnum[b % 62] for b in _digest("u16:" + label)[:16])


def aws_id(prefix, account, label, length=16):
    """An AWS key or unique id in the post-2019 format: base32 chars 4..12 encode the
    account (spec 2.3.2), so decoding the id gives `account` back."""
    d = _digest(f"{prefix}:{account}:{label}")
    low = int.from_bytes(d[:8], "big")
    z = (1 << 47) | (int(account) << 7) | (low & 0x7F)
    raw = z.to_bytes(6, "big") + d[8:12]
    body = base64.b32encode(raw).decode()  # 10 bytes -> 16 chars, no padding
    if length > 16:
        body += "".join(B32[b % 32] for b in d[12:12 + length - 16])
    return prefix + body


def decode_account(key_id):
    raw = base64.b32decode(key_id[4:20])
    return ((int.from_bytes(raw[:6], "big") & 0x7FFFFFFFFF80) >> 7)


def asia(account, label):
    return aws_id("ASIA", account, label)


def akia(account, label):
    return aws_id("AKIA", account, label)


def aroa(account, label):
    return aws_id("AROA", account, label, 17)


def aida(account, label):
    return aws_id("AIDA", account, label, 17)


def token(label):
    return "IQoJb3JpZ2luX2VjE" + hashlib.sha256(("tok:" + label).encode()).hexdigest()[:48] + "...<truncated>"


# --------------------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------------------
def T(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def plus(t, seconds):
    return t + dt.timedelta(seconds=seconds)


def expiration(t, comma=True):
    """credentials.expiration: a UTC locale string without a zone (spec 2.4.8)."""
    h = t.hour % 12 or 12
    ampm = "AM" if t.hour < 12 else "PM"
    sep = "," if comma else ""
    return f"{t:%b} {t.day}, {t.year}{sep} {h}:{t:%M}:{t:%S} {ampm}"


# --------------------------------------------------------------------------------------
# Principals and records
# --------------------------------------------------------------------------------------
class Role:
    def __init__(self, account, name, path="/"):
        self.account, self.name, self.path = account, name, path
        self.arn = f"arn:aws:iam::{account}:role{path}{name}"
        self.id = aroa(account, "role:" + self.arn)

    def session_arn(self, session_name):
        return f"arn:aws:sts::{self.account}:assumed-role/{self.name}/{session_name}"


class Session:
    def __init__(self, role, name, key, created, source_identity=None):
        self.role, self.name, self.key, self.created = role, name, key, created
        self.si = source_identity
        self.arn = role.session_arn(name)


class User:
    def __init__(self, account, name, key=None):
        self.account, self.name = account, name
        self.arn = f"arn:aws:iam::{account}:user/{name}"
        self.id = aida(account, "user:" + self.arn)
        self.key = key or akia(account, "key:" + self.arn)

    def ui(self, key=None, **extra):
        d = {"type": "IAMUser", "principalId": self.id, "arn": self.arn, "accountId": self.account,
             "accessKeyId": key or self.key, "userName": self.name}
        d.update(extra)
        return d


def session_ui(s, key=None, mfa="false", extra_ctx=None, drop_key=False, **extra):
    ctx = {
        "sessionIssuer": {"type": "Role", "principalId": s.role.id, "arn": s.role.arn,
                          "accountId": s.role.account, "userName": s.role.name},
        "webIdFederationData": {},
        "attributes": {"creationDate": iso(s.created), "mfaAuthenticated": mfa},
    }
    if s.si:
        ctx["sourceIdentity"] = s.si
    if extra_ctx:
        ctx.update(extra_ctx)
    d = {"type": "AssumedRole", "principalId": f"{s.role.id}:{s.name}", "arn": s.arn,
         "accountId": s.role.account, "accessKeyId": key or s.key, "sessionContext": ctx}
    if drop_key:
        del d["accessKeyId"]
    d.update(extra)
    return d


DEFAULT_UA = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off"
DEFAULT_IP = "203.0.113.10"

READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Lookup", "Head", "AssumeRole", "Check")


def ev(label, name, source, t, region, recipient, ui, req=None, resp=None, *, read_only=None,
       error=None, resources=None, shared=None, event_type="AwsApiCall", ip=DEFAULT_IP,
       ua=DEFAULT_UA, version="1.09", extra=None, category="Management", tls=True):
    """One CloudTrail record, with keys in the order CloudTrail writes them."""
    r = {"eventVersion": version}
    if ui is not None:
        r["userIdentity"] = ui
    r["eventTime"] = t if isinstance(t, str) else iso(t)
    r["eventSource"] = source
    r["eventName"] = name
    r["awsRegion"] = region
    r["sourceIPAddress"] = ip
    r["userAgent"] = ua
    if error:
        r["errorCode"], r["errorMessage"] = error
    r["requestParameters"] = req
    r["responseElements"] = resp
    if extra:
        r.update(extra)
    r["requestID"] = uid("req:" + label)
    r["eventID"] = uid("evt:" + label)
    if read_only is None:
        read_only = name.startswith(READ_ONLY_PREFIXES)
    r["readOnly"] = read_only
    if resources is not None:
        r["resources"] = resources
    r["eventType"] = event_type
    r["managementEvent"] = category == "Management"
    r["recipientAccountId"] = recipient
    if shared:
        r["sharedEventID"] = shared
    r["eventCategory"] = category
    if tls and not ip.endswith("amazonaws.com") and ip != "AWS Internal":
        host = source.replace(".amazonaws.com", f".{region}.amazonaws.com")
        r["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                           "clientProvidedHostHeader": host}
    return r


def assume_role(label, t, region, recipient, caller_ui, role, session_name, *, duration=3600,
                si=None, si_in_request=True, key=None, shared=None, ip=DEFAULT_IP, ua=DEFAULT_UA,
                extra_req=None, version="1.08", assumed_role_user=True, comma=True,
                extra=None, time_str=None, exp_offset=None):
    """A successful AssumeRole and the Session it issues."""
    key = key or asia(role.account, "issued:" + label)
    req = {"roleArn": role.arn, "roleSessionName": session_name}
    if duration is not None:
        req["durationSeconds"] = duration
    if si and si_in_request:
        req["sourceIdentity"] = si
    if extra_req:
        req.update(extra_req)
    life = exp_offset if exp_offset is not None else (duration or 3600)
    resp = {"credentials": {"accessKeyId": key, "sessionToken": token(label),
                            "expiration": expiration(plus(t, life), comma)}}
    if assumed_role_user:
        resp["assumedRoleUser"] = {"assumedRoleId": f"{role.id}:{session_name}",
                                   "arn": role.session_arn(session_name)}
    if si:
        resp["sourceIdentity"] = si
    rec = ev(label, "AssumeRole", "sts.amazonaws.com", time_str or t, region, recipient, caller_ui,
             req, resp, read_only=True, shared=shared, ip=ip, ua=ua, version=version,
             resources=[{"ARN": role.arn, "accountId": role.account, "type": "AWS::IAM::Role"}],
             extra=extra)
    return rec, Session(role, session_name, key, t, si)


def denied_assume_role(label, t, region, recipient, caller_ui, caller_arn, role_arn, **kw):
    """A failed AssumeRole (spec 2.4.9): null request/response, no resources."""
    msg = (f"User: {caller_arn} is not authorized to perform: sts:AssumeRole "
           f"on resource: {role_arn}")
    return ev(label, "AssumeRole", "sts.amazonaws.com", t, region, recipient, caller_ui, None, None,
              read_only=True, error=("AccessDenied", msg), version="1.08", **kw)


def role_account_copy(rec, label):
    """The role-account copy of a cross-account AssumeRole (spec 2.6): type AWSAccount,
    the caller's principalId and account, no key; a new eventID; the same requestID,
    sharedEventID, requestParameters and responseElements."""
    c = copy.deepcopy(rec)
    ui = rec["userIdentity"]
    c["userIdentity"] = {"type": "AWSAccount", "principalId": ui["principalId"], "accountId": ui["accountId"]}
    c["recipientAccountId"] = rec["resources"][0]["accountId"]
    c["eventID"] = uid("evt:" + label)
    c.pop("tlsDetails", None)
    return c


def X(rec, origin, chain, conf, si=None):
    """One expected attribution (the output contract of `trailgraph attribute`)."""
    return {"event_id": rec["eventID"], "recipient_account": str(rec["recipientAccountId"]),
            "origin": origin, "chain": ">".join(chain), "depth": len(chain),
            "confidence": conf, "source_identity": si}


# --------------------------------------------------------------------------------------
# Output helpers
# --------------------------------------------------------------------------------------
def path(rel):
    p = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def write_bytes(rel, data):
    with open(path(rel), "wb") as f:
        f.write(data)


def dumps(obj, indent=2, sort_keys=False):
    return json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=True)


def write_json(rel, obj, indent=2, sort_keys=False):
    write_bytes(rel, (dumps(obj, indent, sort_keys) + "\n").encode())


def one_line(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def records_doc_lines(records):
    """A Records document with one compact record per line (easy to cut and to diff)."""
    return ("{\"Records\":[\n" + ",\n".join(one_line(r) for r in records) + "\n]}\n").encode()


MANIFEST_FILES = {}


def manifest(rel, fmt, records_read, events=None, duplicates=0, skipped=None, *,
             file_skipped_reason=None, problem=None, note=None, input_file=True, **extra):
    skipped = skipped or {}
    n_skipped = sum(skipped.values())
    if events is None:
        events = records_read - duplicates - n_skipped
    assert records_read == events + duplicates + n_skipped, rel
    entry = {"input": input_file, "format": fmt, "records_read": records_read, "events": events,
             "duplicates": duplicates, "records_skipped": n_skipped, "skip_reasons": skipped,
             "file_skipped_reason": file_skipped_reason, "problem": problem}
    entry.update(extra)
    if note:
        entry["note"] = note
    MANIFEST_FILES[rel] = entry


def doc_file(rel, fmt="not_json", note=None):
    manifest(rel, fmt, 0, file_skipped_reason="not_json", input_file=False,
             note=note or "documentation, not test input; skipped as a whole if read")


# --------------------------------------------------------------------------------------
# Generic filler records for shapes/, hazards/, layout/
# --------------------------------------------------------------------------------------
ACCT = "111111111111"
ALICE = User(ACCT, "alice")
FILLER_CALLS = [
    ("DescribeInstances", "ec2.amazonaws.com", {"instancesSet": {}, "filterSet": {}}),
    ("ListBuckets", "s3.amazonaws.com", {"Host": "s3.amazonaws.com"}),
    ("GetCallerIdentity", "sts.amazonaws.com", None),
    ("ListRoles", "iam.amazonaws.com", {"maxItems": 100}),
    ("DescribeSecurityGroups", "ec2.amazonaws.com", {"securityGroupSet": {}, "filterSet": {}}),
    ("GetBucketAcl", "s3.amazonaws.com", {"bucketName": "example-logs", "acl": ""}),
    ("ListFunctions20150331", "lambda.amazonaws.com", None),
    ("DescribeTrails", "cloudtrail.amazonaws.com", {"trailNameList": [], "includeShadowTrails": True}),
]


def filler(label, i, base="2024-03-01T10:00:00Z", user=ALICE, region="us-east-1", recipient=None):
    name, source, req = FILLER_CALLS[i % len(FILLER_CALLS)]
    return ev(label, name, source, plus(T(base), 37 * i), region, recipient or user.account,
              user.ui(), copy.deepcopy(req), None)


def fillers(prefix, n, **kw):
    return [filler(f"{prefix}:{i}", i, **kw) for i in range(n)]


# --------------------------------------------------------------------------------------
# shapes/
# --------------------------------------------------------------------------------------
def build_shapes():
    d = "shapes/"
    # {"Records":[...]} pretty-printed
    recs = fillers("shapes:pretty", 3)
    write_json(d + "records_pretty.json", {"Records": recs})
    manifest(d + "records_pretty.json", "records", 3)

    # {"Records":[...]} on one line, no trailing newline, as CloudTrail writes it
    recs = fillers("shapes:oneline", 3, base="2024-03-01T10:05:00Z")
    write_bytes(d + "records_single_line.json", one_line({"Records": recs}).encode())
    manifest(d + "records_single_line.json", "records", 3)

    # bare JSON array (Stratus / Grimoire style)
    recs = fillers("shapes:array", 3, base="2024-03-01T10:10:00Z")
    write_json(d + "bare_array.json", recs, indent=3, sort_keys=True)
    manifest(d + "bare_array.json", "bare_array", 3)

    # NDJSON of records
    recs = fillers("shapes:ndjson", 4, base="2024-03-01T10:15:00Z")
    write_bytes(d + "records.jsonl", "".join(one_line(r) + "\n" for r in recs).encode())
    manifest(d + "records.jsonl", "ndjson_records", 4)

    # NDJSON of {"Records":[...]} batches (2 + 3 records)
    recs = fillers("shapes:batches", 5, base="2024-03-01T10:20:00Z")
    body = one_line({"Records": recs[:2]}) + "\n" + one_line({"Records": recs[2:]}) + "\n"
    write_bytes(d + "records_batches.ndjson", body.encode())
    manifest(d + "records_batches.ndjson", "ndjson_records_batches", 5)

    # EventBridge envelopes: `detail` is the record
    role = Role(ACCT, "shapes-eventbridge-role")

    def envelope(rec, label):
        return {"version": "0", "id": uid("eb:" + label), "detail-type": "AWS API Call via CloudTrail",
                "source": "aws." + rec["eventSource"].split(".")[0], "account": rec["recipientAccountId"],
                "time": rec["eventTime"], "region": rec["awsRegion"], "resources": [], "detail": rec}

    ar, _ = assume_role("shapes:eb:single", T("2024-03-01T10:25:00Z"), "us-east-1", ACCT, ALICE.ui(),
                        role, "eb-single")
    write_json(d + "eventbridge.json", envelope(ar, "single"))
    manifest(d + "eventbridge.json", "eventbridge", 1)

    recs = fillers("shapes:eb:nd", 3, base="2024-03-01T10:30:00Z")
    write_bytes(d + "eventbridge.ndjson",
                "".join(one_line(envelope(r, f"nd{i}")) + "\n" for i, r in enumerate(recs)).encode())
    manifest(d + "eventbridge.ndjson", "eventbridge_ndjson", 3)

    # LookupEvents output: CloudTrailEvent is an escaped JSON string
    recs = fillers("shapes:lookup", 3, base="2024-03-01T10:35:00Z")
    events = []
    for r in recs:
        events.append({
            "EventId": r["eventID"], "EventName": r["eventName"], "ReadOnly": "true" if r["readOnly"] else "false",
            "AccessKeyId": r["userIdentity"]["accessKeyId"], "EventTime": r["eventTime"].replace("Z", "+00:00"),
            "EventSource": r["eventSource"], "Username": r["userIdentity"]["userName"], "Resources": [],
            "CloudTrailEvent": one_line(r)})
    write_json(d + "lookup_events.json", {"Events": events, "NextToken": None})
    manifest(d + "lookup_events.json", "lookup_events", 3)

    # CloudWatch Logs subscription / Firehose export envelope
    recs = fillers("shapes:cwl", 3, base="2024-03-01T10:40:00Z")

    def log_event(r, label):
        ms = int(T(r["eventTime"]).replace(tzinfo=dt.timezone.utc).timestamp() * 1000) + 412
        digits = "".join(str(b % 10) for b in _digest("cwl:" + label)[:28]) * 2
        return {"id": digits[:56], "timestamp": ms, "message": one_line(r)}

    cw = {"messageType": "DATA_MESSAGE", "owner": ACCT, "logGroup": "aws-cloudtrail-logs-111111111111-4c1e",
          "logStream": "111111111111_CloudTrail_us-east-1", "subscriptionFilters": ["cloudtrail-to-firehose"],
          "logEvents": [log_event(r, f"s{i}") for i, r in enumerate(recs)]}
    write_json(d + "cloudwatch_subscription.json", cw)
    manifest(d + "cloudwatch_subscription.json", "cloudwatch_subscription", 3)

    recs = fillers("shapes:cwl-nd", 3, base="2024-03-01T10:45:00Z")
    write_bytes(d + "cloudwatch_log_events.ndjson",
                "".join(one_line(log_event(r, f"n{i}")) + "\n" for i, r in enumerate(recs)).encode())
    manifest(d + "cloudwatch_log_events.ndjson", "cloudwatch_log_events_ndjson", 3)

    # .zip with two member files (a Records doc and an NDJSON), new records
    recs = fillers("shapes:zip", 4, base="2024-03-01T10:50:00Z")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in (("export/part-0001.json", (dumps({"Records": recs[:2]}) + "\n").encode()),
                           ("export/part-0002.jsonl", "".join(one_line(r) + "\n" for r in recs[2:]).encode())):
            zi = zipfile.ZipInfo(name, date_time=(2024, 3, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)
    write_bytes(d + "archive.zip", buf.getvalue())
    manifest(d + "archive.zip", "zip", 4, members={"export/part-0001.json": 2, "export/part-0002.jsonl": 2})

    # multi-member gzip: two gzip members concatenated, each a Records document
    recs = fillers("shapes:multigz", 4, base="2024-03-01T10:55:00Z")
    # each member ends with a newline, so the decompressed stream is two Records documents on
    # two lines; a decoder that stops after the first member finds only 2 of the 4 records
    write_bytes(d + "multi_member.json.gz",
                gz((one_line({"Records": recs[:2]}) + "\n").encode())
                + gz((one_line({"Records": recs[2:]}) + "\n").encode()))
    manifest(d + "multi_member.json.gz", "gzip_multi_member", 4, gzip_members=2)

    # ordinary .json.gz
    recs = fillers("shapes:gz", 3, base="2024-03-01T11:00:00Z")
    write_bytes(d + "records.json.gz", gz(one_line({"Records": recs}).encode()))
    manifest(d + "records.json.gz", "records_gzip", 3)

    # UTF-8 byte order mark before a Records document
    recs = fillers("shapes:bom", 2, base="2024-03-01T11:05:00Z")
    write_bytes(d + "bom.json", b"\xef\xbb\xbf" + (dumps({"Records": recs}) + "\n").encode())
    manifest(d + "bom.json", "records_bom", 2)

    build_leniency(d + "leniency.json")


def build_leniency(rel):
    """Records that a strict parser would reject. All of them are valid events (spec 2.4.8,
    2.9 item 12, A.1). See README.md for the field-by-field table."""
    a = ACCT
    role = Role(a, "lenient-role")
    s = Session(role, "lenient-session", asia(a, "lenient:s"), T("2013-11-02T01:06:28Z"))
    out = []

    # L1: readOnly as a string, mfaAuthenticated as a JSON boolean, ISO *basic* creationDate
    ui = session_ui(s, mfa=True)
    ui["sessionContext"]["attributes"]["creationDate"] = "20131102T010628Z"
    r = ev("len:1", "DescribeInstances", "ec2.amazonaws.com", "2013-11-02T01:10:00Z", "us-east-1", a, ui,
           {"instancesSet": {}}, None)
    r["readOnly"] = "true"
    out.append(r)

    # L2: AssumeRole, expiration with a comma after the year
    r, _ = assume_role("len:2", T("2014-07-18T15:07:39Z"), "us-east-1", a, ALICE.ui(), role, "comma-expiry",
                       comma=True)
    out.append(r)

    # L3: expiration without the comma; eventTime with milliseconds; durationSeconds as a string
    r, _ = assume_role("len:3", T("2020-09-17T19:04:10Z"), "us-east-1", a, ALICE.ui(), role, "nocomma-expiry",
                       comma=False, duration=None)
    r["eventTime"] = "2020-09-17T19:04:10.123Z"
    r["requestParameters"]["durationSeconds"] = "3600"
    out.append(r)

    # L4: Panther-normalised eventTime; requestParameters and responseElements absent
    r = ev("len:4", "GetCallerIdentity", "sts.amazonaws.com", "2024-06-02 20:27:12", "us-east-1", a,
           ALICE.ui(), None, None)
    del r["requestParameters"], r["responseElements"]
    out.append(r)

    # L5: requestParameters null, responseElements {}; IAMUser with sessionContext null
    r = ev("len:5", "ListBuckets", "s3.amazonaws.com", "2024-03-01T12:00:00Z", "us-east-1", a,
           ALICE.ui(sessionContext=None), None, {})
    out.append(r)

    # L6: console-style IAMUser session: sessionContext with sessionIssuer {} and
    # webIdFederationData {}; requestParameters {}
    ui = ALICE.ui(key=asia(a, "len:6"), sessionContext={
        "sessionIssuer": {}, "webIdFederationData": {},
        "attributes": {"mfaAuthenticated": "true", "creationDate": "2024-03-01T11:58:45Z"}},
        invokedBy="signin.amazonaws.com")
    r = ev("len:6", "GetAccountSummary", "iam.amazonaws.com", "2024-03-01T12:01:00Z", "us-east-1", a, ui, {}, None,
           extra={"sessionCredentialFromConsole": "true"})
    out.append(r)

    # L7: unknown fields everywhere and numbers where strings are expected
    ui = ALICE.ui(invokedByDelegate={"accountId": "999999999999"}, futureIdentityField={"x": [1, 2, 3]})
    ui["accountId"] = int(a)
    r = ev("len:7", "DescribeRegions", "ec2.amazonaws.com", "2024-03-01T12:02:00Z", "us-east-1", a, ui,
           {"regionSet": {}}, None, version="1.11",
           extra={"someFutureTopLevelField": {"nested": {"deeper": True}}, "additionalEventData": None})
    r["eventVersion"] = 1.11
    r["recipientAccountId"] = int(a)
    r["readOnly"] = "false"
    out.append(r)

    # L8: AssumedRole whose sessionContext has sessionIssuer null and no attributes;
    # non-canonical sharedEventID (7 hex digits in the first group, as in Example I)
    ui = session_ui(s)
    ui["sessionContext"] = {"sessionIssuer": None, "webIdFederationData": {"federatedProvider": None, "attributes": {}}}
    r = ev("len:8", "GetObject", "s3.amazonaws.com", "2024-03-01T12:03:00Z", "us-east-1", a, ui,
           {"bucketName": "example-data", "key": "a.txt"}, None, category="Data",
           shared="b831205-94ae-4693-aa0d-d5500dbb2d6c",
           resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::example-data/a.txt"}])
    out.append(r)

    # L9: AssumedRole with sessionContext absent altogether and accessKeyId ""
    ui = session_ui(s, key="")
    ui["accessKeyId"] = ""
    del ui["sessionContext"]
    r = ev("len:9", "PutObject", "s3.amazonaws.com", "2024-03-01T12:04:00Z", "us-east-1", a, ui,
           {"bucketName": "example-data", "key": "b.txt"}, {"x-amz-server-side-encryption": "AES256"},
           category="Data")
    out.append(r)

    # L10: sessionContext {} (empty object); sessionIssuer absent; typeless service identity
    # appears in L11
    ui = session_ui(s)
    ui["sessionContext"] = {}
    r = ev("len:10", "ListTables", "dynamodb.amazonaws.com", "2024-03-01T12:05:00Z", "us-east-1", a, ui, {}, None)
    out.append(r)

    # L11: userIdentity with no type (service event), eventType AwsServiceEvent
    r = ev("len:11", "CreateNetworkInterface", "ec2.amazonaws.com", "2024-03-01T12:06:00Z", "us-east-1", a,
           {"accountId": a, "invokedBy": "ec2.amazonaws.com"}, None, None, event_type="AwsServiceEvent",
           ip="ec2.amazonaws.com", ua="ec2.amazonaws.com",
           extra={"serviceEventDetails": {"networkInterfaceId": "eni-0a1b2c3d4e5f67890"}})
    out.append(r)

    write_json(rel, {"Records": out})
    manifest(rel, "records", len(out))
    return out


# --------------------------------------------------------------------------------------
# hazards/
# --------------------------------------------------------------------------------------
def complete_elements(prefix_text):
    """How many Records elements are complete in a decompressed prefix."""
    dec = json.JSONDecoder()
    i = prefix_text.index("[") + 1
    n = 0
    while True:
        while i < len(prefix_text) and prefix_text[i] in " \r\n\t,":
            i += 1
        try:
            _, i = dec.raw_decode(prefix_text, i)
        except json.JSONDecodeError:
            return n, i
        n += 1


def build_hazards():
    d = "hazards/"

    # Truncated gzip: a valid .json.gz of 8 records, cut inside the deflate stream.
    recs = fillers("haz:trunc-gz", 8, base="2024-03-02T09:00:00Z")
    full = gz(records_doc_lines(recs))
    text = records_doc_lines(recs).decode()
    chosen = None
    for cut in range(int(len(full) * 0.45), int(len(full) * 0.8)):
        out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(full[:cut])
        n, pos = complete_elements(out.decode("utf-8", "replace"))
        # the prefix must end well inside record n+1: at least 200 bytes after the end of
        # record n and at least 200 bytes before its end, so that a decoder that holds back
        # a few bytes still sees the same number of complete records
        start_next = text.index(one_line(recs[n])) if n < len(recs) else None
        if start_next is None:
            continue
        end_next = start_next + len(one_line(recs[n]))
        if len(out) - start_next >= 200 and end_next - len(out) >= 200 and 3 <= n <= 5:
            chosen = (cut, n, len(out))
            break
    assert chosen, "no suitable cut point"
    cut, n_complete, prefix_len = chosen
    write_bytes(d + "truncated.json.gz", full[:cut])
    manifest(d + "truncated.json.gz", "records_gzip", n_complete, problem="truncated_gzip",
             complete_records_before_cut=n_complete, records_in_original=len(recs),
             compressed_bytes_kept=cut, compressed_bytes_original=len(full),
             decompressed_prefix_bytes=prefix_len,
             note="a valid .json.gz of 8 records cut inside the deflate stream; the records that decompress "
                  "completely before the cut are salvaged (read, counted as events) and the file yields the "
                  "problem truncated_gzip")

    # Truncated plain JSON: a Records document cut inside its 4th record
    recs = fillers("haz:trunc-json", 5, base="2024-03-02T09:10:00Z")
    text = records_doc_lines(recs).decode()
    start4 = text.index(one_line(recs[3]))
    cut_text = text[:start4 + len(one_line(recs[3])) // 2]
    write_bytes(d + "truncated_records.json", cut_text.encode())
    manifest(d + "truncated_records.json", "records", 3, problem="invalid_json", complete_records_before_cut=3,
             records_in_original=5,
             note="a plain Records document cut in the middle of its 4th record: the 3 complete records are "
                  "salvaged and the file yields the problem invalid_json (same rule as truncated_gzip)")

    # Not JSON at all
    write_bytes(d + "not_json.txt",
                b"CloudTrail export failed: An error occurred (AccessDenied) when calling the\n"
                b"LookupEvents operation: User is not authorized to perform cloudtrail:LookupEvents\n")
    manifest(d + "not_json.txt", "text", 0, file_skipped_reason="not_json")

    # Records array with non-record elements in the middle
    recs = fillers("haz:mixed", 4, base="2024-03-02T09:20:00Z")
    mixed = [recs[0], recs[1], "not a record", recs[2], 42, {}, None, recs[3]]
    write_json(d + "mixed_elements.json", {"Records": mixed})
    manifest(d + "mixed_elements.json", "records", 8, skipped={"not a CloudTrail record": 4},
             note="elements 3 (a string), 5 (a number), 6 ({}) and 7 (null) are records read and skipped")

    # NDJSON with one syntactically invalid line among good ones
    recs = fillers("haz:broken", 4, base="2024-03-02T09:30:00Z")
    lines = [one_line(r) for r in recs]
    broken = one_line(filler("haz:broken:bad", 4, base="2024-03-02T09:30:00Z"))
    broken = broken[:len(broken) // 2]  # cut mid-object: no closing braces
    lines.insert(2, broken)
    write_bytes(d + "broken_line.ndjson", ("\n".join(lines) + "\n").encode())
    manifest(d + "broken_line.ndjson", "ndjson_records", 5, skipped={"invalid JSON": 1},
             note="line 3 is half a record; it is one record read and skipped")

    # Empty and whitespace-only files
    write_bytes(d + "empty.json", b"")
    manifest(d + "empty.json", "empty", 0, file_skipped_reason="empty")
    write_bytes(d + "whitespace_only.json", b"\n   \n\t\n")
    manifest(d + "whitespace_only.json", "empty", 0, file_skipped_reason="empty",
             note="only whitespace: treated like an empty file")

    # Invalid UTF-8 inside a string value of one NDJSON line
    recs = fillers("haz:utf8", 3, base="2024-03-02T09:40:00Z")
    lines = [one_line(r).encode() for r in recs]
    lines[1] = lines[1].replace(b'"userAgent":"aws-cli/', b'"userAgent":"aws-cli\xff\xfe/', 1)
    assert b"\xff\xfe" in lines[1]
    write_bytes(d + "invalid_utf8.ndjson", b"\n".join(lines) + b"\n")
    manifest(d + "invalid_utf8.ndjson", "ndjson_records", 3, skipped={"invalid UTF-8": 1},
             note="line 2 has the bytes FF FE inside its userAgent string; that line is read and skipped")

    # Duplicate delivery: two files sharing identical records
    a_recs = fillers("haz:dup:a", 3, base="2024-03-02T09:50:00Z")
    b_new = filler("haz:dup:b", 5, base="2024-03-02T09:55:00Z")
    other_recipient = copy.deepcopy(a_recs[0])
    other_recipient["recipientAccountId"] = "222222222222"
    write_json(d + "duplicate_delivery_a.json", {"Records": a_recs})
    manifest(d + "duplicate_delivery_a.json", "records", 3)
    b_recs = [copy.deepcopy(a_recs[1]), copy.deepcopy(a_recs[2]), b_new, copy.deepcopy(b_new), other_recipient]
    write_json(d + "duplicate_delivery_b.json", {"Records": b_recs})
    manifest(d + "duplicate_delivery_b.json", "records", 5, duplicates=1,
             note="read alone: record 4 repeats record 3 (1 duplicate). With _a: records 1-2 repeat _a's "
                  "records 2-3 (2 more duplicates). Record 5 has _a's first eventID but recipient "
                  "222222222222, so it is a distinct event (the dedup key is recipient account + eventID)")

    # JSON that is not CloudTrail
    write_json(d + "not_cloudtrail_object.json", {
        "name": "trail-exporter", "version": "1.4.2", "private": True,
        "scripts": {"build": "tsc -p .", "test": "jest"},
        "dependencies": {"@aws-sdk/client-cloudtrail": "^3.540.0"}})
    manifest(d + "not_cloudtrail_object.json", "json_object", 0, file_skipped_reason="not_cloudtrail")
    write_json(d + "not_cloudtrail_array.json", [
        {"id": 1, "name": "prod", "region": "us-east-1"},
        {"id": 2, "name": "staging", "region": "eu-west-1", "tags": ["a", "b"]},
        "free text", 7])
    manifest(d + "not_cloudtrail_array.json", "json_array", 0, file_skipped_reason="not_cloudtrail",
             note="no element is a CloudTrail record, so the whole file is skipped and counts 0 records")


# --------------------------------------------------------------------------------------
# layout/  (a miniature S3 trail bucket)
# --------------------------------------------------------------------------------------
def build_layout():
    L = "layout/AWSLogs/"
    org = "o-exampleorg1"
    A, B = "111111111111", "222222222222"
    alice = User(A, "alice")
    role = Role(B, "OrgAdmin")
    t0 = T("2024-03-01T10:01:12Z")
    shared = uid("layout:xacct:shared")
    caller_copy, s = assume_role("layout:ar", t0, "us-east-1", A, alice.ui(), role, "alice",
                                 shared=shared, extra={"additionalEventData": {
                                     "RequestDetails": {"endpointType": "regional", "awsServingRegion": "us-east-1"}}})
    role_copy = role_account_copy(caller_copy, "layout:ar:rolecopy")

    a_use1 = filler("layout:a:gci", 2, base="2024-03-01T10:02:00Z", user=alice)
    a_eu = [filler(f"layout:a:eu{i}", 0, base=f"2024-03-01T10:0{3 + i}:00Z", user=alice, region="eu-west-1")
            for i in range(2)]
    b_use_us = ev("layout:b:lb", "ListBuckets", "s3.amazonaws.com", plus(t0, 70), "us-east-1", B,
                  session_ui(s), {"Host": "s3.amazonaws.com"}, None)
    b_eu = [ev(f"layout:b:eu{i}", "DescribeInstances", "ec2.amazonaws.com", plus(t0, 120 + 30 * i), "eu-west-1", B,
               session_ui(s), {"instancesSet": {}, "filterSet": {}}, None) for i in range(2)]
    b_data = ev("layout:b:data", "GetObject", "s3.amazonaws.com", plus(t0, 200), "eu-west-1", B, session_ui(s),
                {"bucketName": "org-admin-reports", "key": "2024/03/summary.csv"}, None, category="Data",
                resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::org-admin-reports/2024/03/summary.csv"},
                           {"accountId": B, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::org-admin-reports"}])

    def obj(acct, region, stamp, label, prefix):
        return (f"{prefix}{acct}/CloudTrail/{region}/2024/03/01/"
                f"{acct}_CloudTrail_{region}_{stamp}_{u16(label)}.json.gz")

    files = [
        (obj(A, "us-east-1", "20240301T1005Z", "l1", L + org + "/"), [caller_copy, a_use1], 0),
        (obj(A, "eu-west-1", "20240301T1010Z", "l2", L + org + "/"), a_eu, 0),
        (obj(B, "us-east-1", "20240301T1005Z", "l3", L + org + "/"), [role_copy, b_use_us], 0),
        (obj(B, "eu-west-1", "20240301T1010Z", "l4", L + org + "/"), b_eu, 0),
        # the account's own (non-organisation) trail: the same two eu-west-1 management events
        # again, plus a data event that only this trail records
        (obj(B, "eu-west-1", "20240301T1010Z", "l5", L), [copy.deepcopy(b_eu[0]), copy.deepcopy(b_eu[1]), b_data], 0),
    ]
    digest_entries = []
    for rel, recs, _ in files:
        data = gz(one_line({"Records": recs}).encode())
        write_bytes(rel, data)
        times = sorted(r["eventTime"] for r in recs)
        if f"/{A}/" in rel and org in rel:
            digest_entries.append({"s3Bucket": "example-org-trail-bucket",
                                   "s3Object": rel[len("layout/"):],
                                   "hashValue": hashlib.sha256(data).hexdigest(), "hashAlgorithm": "SHA-256",
                                   "newestEventTime": times[-1], "oldestEventTime": times[0]})
        note = None
        if rel.endswith(u16("l5") + ".json.gz"):
            note = ("account trail of 222222222222: its first two records are also delivered by the "
                    "organisation trail (…/o-exampleorg1/222222222222/…/eu-west-1/…), so they are duplicates "
                    "when the whole layout is read")
        manifest(rel, "records_gzip", len(recs), note=note)

    # Digest file (log file integrity validation) - skipped
    digest_rel = (L + org + f"/{A}/CloudTrail-Digest/us-east-1/2024/03/01/"
                  f"{A}_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20240301T110512Z.json.gz")
    digest = {
        "awsAccountId": A, "digestStartTime": "2024-03-01T10:05:12Z", "digestEndTime": "2024-03-01T11:05:12Z",
        "digestS3Bucket": "example-org-trail-bucket", "digestS3Object": digest_rel[len("layout/"):],
        "digestPublicKeyFingerprint": hashlib.md5(b"layout-digest-key").hexdigest(),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": "2024-03-01T10:04:00Z", "oldestEventTime": "2024-03-01T10:01:12Z",
        "previousDigestS3Bucket": "example-org-trail-bucket",
        "previousDigestS3Object": (f"AWSLogs/{org}/{A}/CloudTrail-Digest/us-east-1/2024/03/01/"
                                   f"{A}_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20240301T100512Z.json.gz"),
        "previousDigestHashValue": hashlib.sha256(b"previous digest").hexdigest(),
        "previousDigestHashAlgorithm": "SHA-256",
        "previousDigestSignature": hashlib.sha512(b"previous signature").hexdigest(),
        "logFiles": digest_entries,
    }
    write_bytes(digest_rel, gz(one_line(digest).encode()))
    manifest(digest_rel, "digest", 0, file_skipped_reason="digest")

    # Insights events - skipped
    ins_rel = (L + org + f"/{A}/CloudTrail-Insight/us-east-1/2024/03/01/"
               f"{A}_CloudTrail-Insight_us-east-1_20240301T1030Z_{u16('insight')}.json.gz")
    shared_ins = uid("layout:insight:shared")

    def insight(state, t, label):
        return {"eventVersion": "1.08", "eventTime": t, "awsRegion": "us-east-1", "eventID": uid(label),
                "eventType": "AwsCloudTrailInsight", "recipientAccountId": A, "sharedEventID": shared_ins,
                "insightDetails": {"state": state, "eventSource": "ec2.amazonaws.com",
                                   "eventName": "DescribeInstances", "insightType": "ApiCallRateInsight",
                                   "insightContext": {"statistics": {"baseline": {"average": 0.0417},
                                                                     "insight": {"average": 3.0}},
                                                      "attributions": []}},
                "eventCategory": "Insight"}

    write_bytes(ins_rel, gz(one_line({"Records": [insight("Start", "2024-03-01T10:03:00Z", "ins:start"),
                                                   insight("End", "2024-03-01T10:21:00Z", "ins:end")]}).encode()))
    manifest(ins_rel, "insight", 0, file_skipped_reason="insight",
             note="2 Insights records (Start/End); skipped as a whole because of the CloudTrail-Insight/ prefix")

    cfg_rel = L + f"{A}/Config/ConfigWritabilityCheckFile"
    write_bytes(cfg_rel, b"ConfigWritabilityCheckFile\n")
    manifest(cfg_rel, "config", 0, file_skipped_reason="config")


# --------------------------------------------------------------------------------------
# scenarios/
# --------------------------------------------------------------------------------------
SCENARIOS = {}


def scenario(name, files, expected):
    """files: list of (file name, JSON value, style). style: 'records' wraps in
    {"Records": [...]}, 'array' writes a bare array (indent 3, sorted keys, like Stratus),
    'raw' writes bytes as given."""
    d = f"scenarios/{name}/"
    for fname, value, style in files:
        if style == "records":
            write_json(d + fname, {"Records": value})
        elif style == "array":
            write_json(d + fname, value, indent=3, sort_keys=True)
        elif style == "raw":
            write_bytes(d + fname, value)
        else:
            raise ValueError(style)
    expected = sorted(expected, key=lambda x: (x["event_id"], x["recipient_account"]))
    keys = [(x["event_id"], x["recipient_account"]) for x in expected]
    assert len(keys) == len(set(keys)), name
    write_json(d + "expected.json", expected)
    SCENARIOS[name] = len(expected)


def stratus(fname):
    with open(os.path.join(STRATUS, fname)) as f:
        return json.load(f)


def sc_same_account():
    recs = stratus("aws.discovery.ec2-download-user-data.json")
    keep = {"4cf5dad6-648f-48eb-85a7-6181c5d79424", "67fa9341-bd06-4ceb-a8b8-6815522b5a1b",
            "cf589cd4-9633-4cc6-9b5c-c74f5a735fa5", "eebae605-3664-4560-a248-17d33f9ef6ef",
            "205f694d-35d4-4e33-9f38-f5e7a20ffa50", "4839af5e-7b6a-4353-a5ef-41febc9a9fa8",
            "971a0ce7-1f66-4dba-918d-cd2a5b12ebe5"}
    sel = [r for r in recs if r["eventID"] in keep]
    assert len(sel) == len(keep)
    user = "arn:aws:iam::321848314756:user/christophe"
    role = "arn:aws:iam::321848314756:role/stratus-red-team-get-usr-data-role"
    exp = []
    for r in sel:
        if r["eventName"] == "AssumeRole":   # A, its same-second twin, and the two D denials
            exp.append(X(r, user, [], E))
        else:                                # A2 and two more uses of ASIA4URVX2JM5MT0ZGK8
            exp.append(X(r, user, [role], E))
    scenario("same_account", [("aws.discovery.ec2-download-user-data.subset.json", sel, "array")], exp)


def xacct_base(prefix):
    C, R = "777788889999", "111122223333"
    john = User(C, "John")
    role = Role(R, "EC2-dev")
    t0 = T("2014-07-18T15:07:39Z")
    caller_copy, s = assume_role(
        prefix + ":ar", t0, "us-east-2", C, john.ui(), role, "John-EC2-dev", si="John",
        shared=uid(prefix + ":shared"), version="1.05", ip="192.0.2.101",
        ua="aws-cli/1.11.10 Python/2.7.8 Linux/3.2.45-0.6.wd.865.49.315.metal1.x86_64 botocore/1.4.67",
        extra_req={"serialNumber": f"arn:aws:iam::{C}:mfa/John"})
    role_copy = role_account_copy(caller_copy, prefix + ":ar:rolecopy")
    acts = [
        ev(prefix + ":act1", "DescribeInstances", "ec2.amazonaws.com", plus(t0, 83), "us-east-2", R,
           session_ui(s, mfa="true"), {"instancesSet": {}, "filterSet": {}}, None, version="1.05", ip="192.0.2.101"),
        ev(prefix + ":act2", "RunInstances", "ec2.amazonaws.com", plus(t0, 152), "us-east-2", R,
           session_ui(s, mfa="true"),
           {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
            "instanceType": "t3.micro"}, None, version="1.05", ip="192.0.2.101"),
    ]
    return john, role, caller_copy, role_copy, acts, s


def sc_cross_account_both():
    john, role, caller_copy, role_copy, acts, s = xacct_base("xboth")
    direct = ev("xboth:gci", "GetCallerIdentity", "sts.amazonaws.com", T("2014-07-18T15:06:40Z"), "us-east-2",
                john.account, john.ui(), None, None, version="1.05", ip="192.0.2.101")
    exp = [X(direct, john.arn, [], E), X(caller_copy, john.arn, [], E), X(role_copy, john.arn, [], E)]
    exp += [X(a, john.arn, [role.arn], E, "John") for a in acts]
    # Cross-account actions other than AssumeRole: John, then John's role session, use a KMS key
    # of the other account. Both accounts log each call under one sharedEventID; the key owner's
    # copy is type AWSAccount with no key (spec 2.6), attributed like the caller's copy. One
    # caller copy sits in the later file, one in the earlier.
    C, R = john.account, role.account
    def key(acct):
        return [{"accountId": acct, "type": "AWS::KMS::Key",
                 "ARN": f"arn:aws:kms:us-east-2:{acct}:key/{uid('xboth:key:' + acct)}"}]
    dec = ev("xboth:decrypt", "Decrypt", "kms.amazonaws.com", T("2014-07-18T15:06:50Z"), "us-east-2", C,
             john.ui(), {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, None, read_only=True, version="1.08", ip="192.0.2.101",
             resources=key(R), shared=uid("xboth:decrypt:shared"))
    dec_copy = role_account_copy(dec, "xboth:decrypt:copy")
    sdec = ev("xboth:sdecrypt", "Decrypt", "kms.amazonaws.com", plus(T("2014-07-18T15:07:39Z"), 100), "us-east-2",
              R, session_ui(s, mfa="true"), {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, None, read_only=True, version="1.08",
              ip="192.0.2.101", resources=key(C), shared=uid("xboth:sdecrypt:shared"))
    sdec_copy = role_account_copy(sdec, "xboth:sdecrypt:copy")
    exp += [X(dec, john.arn, [], E), X(dec_copy, john.arn, [], E),
            X(sdec, john.arn, [role.arn], E, "John"), X(sdec_copy, john.arn, [role.arn], E, "John")]
    scenario("cross_account_both_copies", [
        (f"777788889999_CloudTrail_us-east-2_20140718T1510Z_{u16('xboth:f1')}.json",
         [direct, caller_copy, dec, sdec_copy], "records"),
        (f"111122223333_CloudTrail_us-east-2_20140718T1515Z_{u16('xboth:f2')}.json",
         [role_copy] + acts + [dec_copy, sdec], "records"),
    ], exp)


def sc_cross_account_role_copy_only():
    john, role, _caller_copy, role_copy, acts, s = xacct_base("xonly")
    # a second caller: an assumed-role session in another uncollected account
    C2, R = "444455556666", "111122223333"
    ci_caller = Role(C2, "ci-runner-role")
    ci_session = Session(ci_caller, "ci-runner", asia(C2, "xonly:ci-caller"), T("2014-07-18T15:20:00Z"))
    deployer = Role(R, "Deployer", "/ci/")
    ci_caller_copy, ci_s = assume_role("xonly:ci:ar", T("2014-07-18T15:21:05Z"), "us-east-2", C2,
                                       session_ui(ci_session), deployer, "ci-deploy-42", si="ci-bot",
                                       shared=uid("xonly:ci:shared"), ip="198.51.100.40")
    ci_role_copy = role_account_copy(ci_caller_copy, "xonly:ci:ar:rolecopy")
    ci_act = ev("xonly:ci:act", "UpdateFunctionCode20150331v2", "lambda.amazonaws.com", T("2014-07-18T15:21:40Z"),
                "us-east-2", R, session_ui(ci_s),
                {"functionName": "orders-api", "publish": True}, None, ip="198.51.100.40")
    john_origin = f"account:777788889999:{john.id}"
    ci_origin = f"account:444455556666:{ci_caller.id}:ci-runner"
    exp = [X(role_copy, john_origin, [], I)] + [X(a, john_origin, [role.arn], I, "John") for a in acts]
    exp += [X(ci_role_copy, ci_origin, [], I), X(ci_act, ci_origin, [deployer.arn], I, "ci-bot")]
    scenario("cross_account_role_copy_only", [
        (f"111122223333_CloudTrail_us-east-2_20140718T1525Z_{u16('xonly:f')}.json",
         [role_copy] + acts + [ci_role_copy, ci_act], "records"),
    ], exp)


def sc_chain_depth_5():
    A = ACCT
    alice = User(A, "alice")
    roles = [Role(A, "Hop1"), Role(A, "Hop2", "/ops/"), Role(A, "Hop3"), Role(A, "Hop4", "/a/b/"), Role(A, "Hop5")]
    si = "alice@example.com"
    t = T("2024-03-01T12:00:00Z")
    recs, exp = [], []
    e0 = ev("chain:e0", "ListRoles", "iam.amazonaws.com", t, "us-east-1", A, alice.ui(), {"maxItems": 100}, None)
    recs.append(e0)
    exp.append(X(e0, alice.arn, [], E))
    ar, s = assume_role("chain:ar1", plus(t, 60), "us-east-1", A, alice.ui(), roles[0], "alice-hop1", si=si,
                        extra_req={"tags": [{"key": "Team", "value": "platform"}], "transitiveTagKeys": ["Team"]})
    recs.append(ar)
    exp.append(X(ar, alice.arn, [], E))
    actions = [("ListBuckets", "s3.amazonaws.com", {"Host": "s3.amazonaws.com"}),
               ("DescribeInstances", "ec2.amazonaws.com", {"instancesSet": {}, "filterSet": {}}),
               ("GetRole", "iam.amazonaws.com", {"roleName": "Hop1"}),
               ("ListKeys", "kms.amazonaws.com", {"limit": 100}),
               ("GetSecretValue", "secretsmanager.amazonaws.com", {"secretId": "prod/db/password"})]
    for k in range(1, 6):
        tk = plus(t, 60 * (k + 1))
        name, source, req = actions[k - 1]
        a = ev(f"chain:act{k}", name, source, plus(tk, 20), "us-east-1", A, session_ui(s), req, None)
        recs.append(a)
        exp.append(X(a, alice.arn, [r.arn for r in roles[:k]], E, si))
        if k < 5:
            nxt, s2 = assume_role(f"chain:ar{k + 1}", plus(tk, 40), "us-east-1", A, session_ui(s), roles[k],
                                  f"alice-hop{k + 1}", si=si, si_in_request=(k + 1 != 3),
                                  extra_req={"incomingTransitiveTags": {"Team": "platform"}})
            recs.append(nxt)
            exp.append(X(nxt, alice.arn, [r.arn for r in roles[:k]], E, si))
            s = s2
    scenario("chain_depth_5", [(f"111111111111_CloudTrail_us-east-1_20240301T1210Z_{u16('chain')}.json",
                                recs, "records")], exp)


def sc_role_cycle():
    A = ACCT
    dave, erin = User(A, "dave"), User(A, "erin")
    ra, rb = Role(A, "CycleA"), Role(A, "CycleB")
    t = T("2024-03-02T08:00:00Z")
    recs, exp = [], []
    # dave: A -> B -> A -> B, every session named "keepalive" (so the two A sessions share an ARN)
    ar1, s1 = assume_role("cycle:ar1", t, "us-east-1", A, dave.ui(), ra, "keepalive")
    act1 = ev("cycle:act1", "ListBuckets", "s3.amazonaws.com", plus(t, 30), "us-east-1", A, session_ui(s1),
              {"Host": "s3.amazonaws.com"}, None)
    ar2, s2 = assume_role("cycle:ar2", plus(t, 60), "us-east-1", A, session_ui(s1), rb, "keepalive")
    ar3, s3 = assume_role("cycle:ar3", plus(t, 120), "us-east-1", A, session_ui(s2), ra, "keepalive")
    act3 = ev("cycle:act3", "ListBuckets", "s3.amazonaws.com", plus(t, 150), "us-east-1", A, session_ui(s3),
              {"Host": "s3.amazonaws.com"}, None)
    ar4, s4 = assume_role("cycle:ar4", plus(t, 180), "us-east-1", A, session_ui(s3), rb, "keepalive")
    act4 = ev("cycle:act4", "GetObject", "s3.amazonaws.com", plus(t, 210), "us-east-1", A, session_ui(s4),
              {"bucketName": "cycle-data", "key": "x"}, None, category="Data",
              resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::cycle-data/x"}])
    recs += [ar1, act1, ar2, ar3, act3, ar4, act4]
    exp += [X(ar1, dave.arn, [], E), X(act1, dave.arn, [ra.arn], E), X(ar2, dave.arn, [ra.arn], E),
            X(ar3, dave.arn, [ra.arn, rb.arn], E), X(act3, dave.arn, [ra.arn, rb.arn, ra.arn], E),
            X(ar4, dave.arn, [ra.arn, rb.arn, ra.arn], E), X(act4, dave.arn, [ra.arn, rb.arn, ra.arn, rb.arn], E)]
    # erin: A assumes A itself (explicitTrustGrant), same session name again
    te = T("2024-03-02T08:10:00Z")
    ae1, t1 = assume_role("cycle:erin1", te, "us-east-1", A, erin.ui(), ra, "erin")
    ae2, t2 = assume_role("cycle:erin2", plus(te, 45), "us-east-1", A, session_ui(t1), ra, "erin",
                          extra={"additionalEventData": {"explicitTrustGrant": False}})
    ae3 = ev("cycle:erin3", "DescribeInstances", "ec2.amazonaws.com", plus(te, 70), "us-east-1", A,
             session_ui(t2), {"instancesSet": {}, "filterSet": {}}, None)
    recs += [ae1, ae2, ae3]
    exp += [X(ae1, erin.arn, [], E), X(ae2, erin.arn, [ra.arn], E), X(ae3, erin.arn, [ra.arn, ra.arn], E)]
    scenario("role_cycle", [(f"111111111111_CloudTrail_us-east-1_20240302T0815Z_{u16('cycle')}.json",
                             recs, "records")], exp)


def sc_recycled_key():
    A = ACCT
    alice, bob = User(A, "alice"), User(A, "bob")
    role = Role(A, "Deployer")
    key = asia(A, "recycled")
    t1, t2 = T("2024-03-03T09:00:00Z"), T("2024-03-03T09:20:00Z")
    ar1, s1 = assume_role("recycle:ar1", t1, "us-east-1", A, alice.ui(), role, "deploy", key=key)
    ar2, s2 = assume_role("recycle:ar2", t2, "us-east-1", A, bob.ui(), role, "deploy", key=key,
                          ip="198.51.100.61")
    u1 = ev("recycle:u1", "DescribeStacks", "cloudformation.amazonaws.com", plus(t1, 300), "us-east-1", A,
            session_ui(s1), {"stackName": "web"}, None)
    u1b = ev("recycle:u1b", "UpdateStack", "cloudformation.amazonaws.com", plus(t2, 300), "us-east-1", A,
             session_ui(s1), {"stackName": "web", "usePreviousTemplate": True}, None)
    u2 = ev("recycle:u2", "DeleteStack", "cloudformation.amazonaws.com", plus(t2, 120), "us-east-1", A,
            session_ui(s2), {"stackName": "legacy"}, None, ip="198.51.100.61")
    u2b = ev("recycle:u2b", "DescribeStacks", "cloudformation.amazonaws.com", plus(t2, 1200), "us-east-1", A,
             session_ui(s2), {"stackName": "legacy"}, None, ip="198.51.100.61")
    exp = [X(ar1, alice.arn, [], E), X(ar2, bob.arn, [], E),
           X(u1, alice.arn, [role.arn], E), X(u1b, alice.arn, [role.arn], E),
           X(u2, bob.arn, [role.arn], E), X(u2b, bob.arn, [role.arn], E)]
    # the uses come first and interleave: u1b (alice's session) is after bob's issuance
    scenario("recycled_key", [(f"111111111111_CloudTrail_us-east-1_20240303T0945Z_{u16('recycle')}.json",
                               [u2b, u1b, u2, u1, ar2, ar1], "records")], exp)


def sc_delayed_delivery():
    A = ACCT
    frank = User(A, "frank")
    r1, r2 = Role(A, "DataPipeline"), Role(A, "DataReader")
    ar1, s1 = assume_role("delay:ar1", T("2024-03-01T09:58:12Z"), "us-east-1", A, frank.ui(), r1, "frank-pipeline",
                          extra={"additionalEventData": {"RequestDetails": {"endpointType": "global",
                                                                           "awsServingRegion": "us-east-1"}},
                                 "addendum": {"reason": "DELIVERY_DELAY"}})
    s1_use = ev("delay:s1use", "DescribeInstances", "ec2.amazonaws.com", T("2024-03-01T10:01:30Z"), "eu-west-1", A,
                session_ui(s1), {"instancesSet": {}, "filterSet": {}}, None)
    ar2, s2 = assume_role("delay:ar2", T("2024-03-01T10:02:05Z"), "us-east-1", A, session_ui(s1), r2, "frank-reader")
    s2_use = ev("delay:s2use", "GetObject", "s3.amazonaws.com", T("2024-03-01T10:03:10Z"), "eu-west-1", A,
                session_ui(s2), {"bucketName": "pipeline-eu", "key": "in/2024-03-01.parquet"}, None,
                category="Data", resources=[{"type": "AWS::S3::Object",
                                             "ARN": "arn:aws:s3:::pipeline-eu/in/2024-03-01.parquet"}])
    exp = [X(ar1, frank.arn, [], E), X(s1_use, frank.arn, [r1.arn], E), X(ar2, frank.arn, [r1.arn], E),
           X(s2_use, frank.arn, [r1.arn, r2.arn], E)]
    scenario("delayed_delivery", [
        (f"111111111111_CloudTrail_eu-west-1_20240301T1005Z_{u16('delay:f1')}.json", [s2_use, s1_use], "records"),
        (f"111111111111_CloudTrail_us-east-1_20240301T1010Z_{u16('delay:f2')}.json", [ar2], "records"),
        (f"111111111111_CloudTrail_us-east-1_20240301T1020Z_{u16('delay:f3')}.json", [ar1], "records"),
    ], exp)


def sc_duplicate_delivery():
    A = ACCT
    gina = User(A, "gina")
    role = Role(A, "Auditor")
    t = T("2024-03-04T14:00:00Z")
    direct = ev("dup:direct", "GetCallerIdentity", "sts.amazonaws.com", plus(t, -60), "us-east-1", A, gina.ui(),
                None, None)
    ar, s = assume_role("dup:ar", t, "us-east-1", A, gina.ui(), role, "gina-audit")
    act1 = ev("dup:act1", "GetAccountAuthorizationDetails", "iam.amazonaws.com", plus(t, 60), "us-east-1", A,
              session_ui(s), {"filter": ["User", "Role"]}, None)
    act2 = ev("dup:act2", "LookupEvents", "cloudtrail.amazonaws.com", plus(t, 120), "us-east-1", A,
              session_ui(s), {"maxResults": 50}, None)
    act3 = ev("dup:act3", "GetObject", "s3.amazonaws.com", plus(t, 180), "us-east-1", A, session_ui(s),
              {"bucketName": "audit-evidence", "key": "report.pdf"}, None, category="Data",
              resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::audit-evidence/report.pdf"}])
    exp = [X(direct, gina.arn, [], E), X(ar, gina.arn, [], E), X(act1, gina.arn, [role.arn], E),
           X(act2, gina.arn, [role.arn], E), X(act3, gina.arn, [role.arn], E)]
    cp = copy.deepcopy
    scenario("duplicate_delivery", [
        (f"o-exampleorg1_111111111111_CloudTrail_us-east-1_20240304T1405Z_{u16('dup:org')}.json",
         [direct, ar, act1, act2], "records"),
        (f"111111111111_CloudTrail_us-east-1_20240304T1405Z_{u16('dup:local')}.json",
         [cp(ar), cp(act1), cp(act2), cp(act2), act3], "records"),
    ], exp)


def sc_saml():
    S = "444455556666"
    role = Role(S, "SAMLTestRoleShibboleth")
    provider = f"arn:aws:iam::{S}:saml-provider/Shibboleth"
    nq = "bdGOnTesti4+ExamplexL/jEvs="
    t = T("2023-08-28T18:30:58Z")
    key = asia(S, "saml:issued")
    ui = {"type": "SAMLUser", "principalId": f"{nq}:SamlExample", "userName": "SamlExample", "identityProvider": nq}
    req = {"sAMLAssertionID": "_" + hashlib.sha1(b"saml-assertion").hexdigest(),
           "roleSessionName": "MyAssignedRoleSessionName", "sourceIdentity": "MySAMLUser",
           "principalTags": {"CostCenter": "987654", "Project": "Unicorn", "Department": "Engineering"},
           "transitiveTagKeys": ["CostCenter", "Project"], "roleArn": role.arn, "principalArn": provider,
           "durationSeconds": 1800}
    resp = {"credentials": {"accessKeyId": key, "sessionToken": token("saml"), "expiration": expiration(plus(t, 1800))},
            "assumedRoleUser": {"assumedRoleId": f"{role.id}:MyAssignedRoleSessionName",
                                "arn": role.session_arn("MyAssignedRoleSessionName")},
            "packedPolicySize": 1, "subject": "SamlExample", "subjectType": "transient",
            "issuer": "https://server.example.com/idp/shibboleth", "audience": "https://signin.aws.amazon.com/saml",
            "nameQualifier": nq, "sourceIdentity": "MySAMLUser"}
    arws = ev("saml:arws", "AssumeRoleWithSAML", "sts.amazonaws.com", t, "us-east-2", S, ui, req, resp,
              read_only=True, version="1.08", ip="AWS Internal",
              ua="aws-internal/3 aws-sdk-java/1.12.479 Linux/5.10.186-157.751.amzn2int.x86_64 "
                 "OpenJDK_64-Bit_Server_VM/17.0.7+11 java/17.0.7 kotlin/1.3.72 vendor/Amazon.com_Inc. "
                 "cfg/retry-mode/standard",
              resources=[{"accountId": S, "type": "AWS::IAM::Role", "ARN": role.arn},
                         {"accountId": S, "type": "AWS::IAM::SAMLProvider", "ARN": provider}])
    s = Session(role, "MyAssignedRoleSessionName", key, t, "MySAMLUser")
    a1 = ev("saml:a1", "ListBuckets", "s3.amazonaws.com", plus(t, 72), "us-east-2", S, session_ui(s),
            {"Host": "s3.us-east-2.amazonaws.com"}, None, ip="192.0.2.33")
    a2 = ev("saml:a2", "CreateBucket", "s3.amazonaws.com", plus(t, 140), "us-east-2", S, session_ui(s),
            {"bucketName": "unicorn-staging", "Host": "unicorn-staging.s3.us-east-2.amazonaws.com"}, None,
            ip="192.0.2.33")
    origin = f"saml:{provider}:SamlExample"
    exp = [X(arws, origin, [], E), X(a1, origin, [role.arn], E, "MySAMLUser"),
           X(a2, origin, [role.arn], E, "MySAMLUser")]
    scenario("saml", [(f"444455556666_CloudTrail_us-east-2_20230828T1835Z_{u16('saml')}.json",
                       [arws, a1, a2], "records")], exp)


def sc_identity_center():
    IDC, M = "210987654321", "345678901234"
    user = "jordan.lee@example.com"
    store = "d-9067a1b2c3"
    user_id = "9067a1b2c3-5c1e7f42-8d3a-4b6e-9f10-2a7c4e8b1d55"
    on_behalf = {"userId": user_id, "identityStoreArn": f"arn:aws:identitystore::{IDC}:identitystore/{store}"}
    role = Role(M, "AWSReservedSSO_AdministratorAccess_7243976e43c75fc5", "/aws-reserved/sso.amazonaws.com/ap-southeast-2/")
    provider = f"arn:aws:iam::{M}:saml-provider/AWSSSO_9882ccf00912484e_DO_NOT_DELETE"
    nq = "K3vQ8rLm2Zp0YxW5tNb7Hc1Ud4E="
    t = T("2025-05-12T00:08:20Z")
    grc = ev("idc:grc", "GetRoleCredentials", "sso.amazonaws.com", t, "ap-southeast-2", IDC,
             {"type": "IdentityCenterUser", "accountId": IDC, "onBehalfOf": on_behalf,
              "credentialId": "AAAAAG" + hashlib.sha256(b"idc-cred").hexdigest()[:60]},
             None, None, read_only=True, event_type="AwsServiceEvent", version="1.11", ip="192.0.2.80",
             extra={"serviceEventDetails": {"role_name": "AdministratorAccess", "account_id": M}})
    issued = asia(M, "idc:issued")
    arws_req = {"sAMLAssertionID": "_" + uid("idc:assertion"), "roleSessionName": user, "roleArn": role.arn,
                "principalArn": provider, "durationSeconds": 43200}
    arws_resp = {"credentials": {"accessKeyId": issued, "sessionToken": token("idc"),
                                 "expiration": expiration(plus(t, 43199))},
                 "assumedRoleUser": {"assumedRoleId": f"{role.id}:{user}", "arn": role.session_arn(user)},
                 "subject": user, "subjectType": "persistent",
                 "issuer": "https://portal.sso.ap-southeast-2.amazonaws.com/saml/assertion/MjEwOTg3NjU0MzIxX2lucy0xYzJk",
                 "audience": "https://signin.aws.amazon.com/saml", "nameQualifier": nq}
    arws = ev("idc:arws", "AssumeRoleWithSAML", "sts.amazonaws.com", t, "ap-southeast-2", M,
              {"type": "SAMLUser", "principalId": f"{nq}:{user}", "userName": user, "identityProvider": nq},
              arws_req, arws_resp, read_only=True, version="1.11", ip="13.239.101.254",
              ua="aws-sdk-java/2.46.14 md/io#sync md/http#Apache ua/2.1 api/STS#2.46.x os/Linux lang/java#17.0.19",
              resources=[{"accountId": M, "type": "AWS::IAM::Role", "ARN": role.arn},
                         {"accountId": M, "type": "AWS::IAM::SAMLProvider", "ARN": provider}],
              extra={"additionalEventData": {"RequestDetails": {"endpointType": "regional",
                                                                "awsServingRegion": "ap-southeast-2"}}})
    s = Session(role, user, issued, t)
    gci = ev("idc:gci", "GetCallerIdentity", "sts.amazonaws.com", t, "ap-southeast-2", M,
             session_ui(s, key=asia(M, "idc:used1"), onBehalfOf=on_behalf), None, None, version="1.11",
             ip="192.0.2.80")
    lb = ev("idc:lb", "ListBuckets", "s3.amazonaws.com", plus(t, 3600), "ap-southeast-2", M,
            session_ui(s, key=asia(M, "idc:used2"), onBehalfOf=on_behalf), {"Host": "s3.amazonaws.com"}, None,
            ip="192.0.2.80")
    audit = Role(M, "ReadOnlyAudit")
    ar, s2 = assume_role("idc:ar", plus(t, 3700), "ap-southeast-2", M,
                         session_ui(s, key=asia(M, "idc:used3"), onBehalfOf=on_behalf), audit, user, ip="192.0.2.80")
    act = ev("idc:act", "GetBucketPolicy", "s3.amazonaws.com", plus(t, 3720), "ap-southeast-2", M, session_ui(s2),
             {"bucketName": "finance-exports", "policy": ""}, None, ip="192.0.2.80")
    origin = f"saml:{provider}:{user}"
    exp = [X(grc, origin, [], I), X(arws, origin, [], E), X(gci, origin, [role.arn], I),
           X(lb, origin, [role.arn], I), X(ar, origin, [role.arn], I), X(act, origin, [role.arn, audit.arn], I)]
    scenario("identity_center", [
        (f"210987654321_CloudTrail_ap-southeast-2_20250512T0015Z_{u16('idc:f1')}.json", [grc], "records"),
        (f"345678901234_CloudTrail_ap-southeast-2_20250512T0110Z_{u16('idc:f2')}.json",
         [arws, gci, lb, ar, act], "records"),
    ], exp)


def sc_oidc():
    S = "444455556666"
    provider = f"arn:aws:iam::{S}:oidc-provider/token.actions.githubusercontent.com"
    aud, sub = "sts.amazonaws.com", "repo:example-org/deploy-infra:ref:refs/heads/main"
    role = Role(S, "FederatedWebIdentityRole")
    sess = "GitHubActions-8123456789"
    t = T("2024-07-09T15:41:37Z")
    key = asia(S, "oidc:issued")
    ui = {"type": "WebIdentityUser", "principalId": f"{provider}:{aud}:{sub}", "userName": sub,
          "identityProvider": provider}
    req = {"roleArn": role.arn, "roleSessionName": sess, "sourceIdentity": "MyWebIdentityUser", "durationSeconds": 3600,
           "principalTags": {"CostCenter": "24680", "Project": "Pegasus"}, "transitiveTagKeys": ["CostCenter", "Project"]}
    resp = {"credentials": {"accessKeyId": key, "sessionToken": token("oidc"), "expiration": expiration(plus(t, 3600))},
            "subjectFromWebIdentityToken": sub, "sourceIdentity": "MyWebIdentityUser",
            "assumedRoleUser": {"assumedRoleId": f"{role.id}:{sess}", "arn": role.session_arn(sess)},
            "provider": provider, "audience": aud}
    arwi = ev("oidc:arwi", "AssumeRoleWithWebIdentity", "sts.amazonaws.com", t, "us-east-2", S, ui, req, resp,
              read_only=True, version="1.08", ip="192.0.2.101",
              ua="aws-cli/2.13.29 Python/3.11.6 Linux/6.5 exe/x86_64 prompt/off command/sts.assume-role-with-web-identity",
              resources=[{"accountId": S, "type": "AWS::IAM::Role", "ARN": role.arn}],
              extra={"additionalEventData": {"identityProviderConnectionVerificationMethod": "IAMTrustStore"}})
    s = Session(role, sess, key, t, "MyWebIdentityUser")
    a1 = ev("oidc:a1", "GetCallerIdentity", "sts.amazonaws.com", plus(t, 4), "us-east-2", S,
            session_ui(s, extra_ctx={"webIdFederationData": {"federatedProvider": provider, "attributes": {}}}),
            None, None, ip="192.0.2.101")
    a2 = ev("oidc:a2", "UpdateStack", "cloudformation.amazonaws.com", plus(t, 31), "us-east-2", S,
            session_ui(s, extra_ctx={"webIdFederationData": {"federatedProvider": provider,
                                                             "attributes": {"aud": aud, "sub": sub}}}),
            {"stackName": "deploy-infra", "usePreviousTemplate": True}, None, ip="192.0.2.101")
    origin = f"oidc:{provider}:{sub}"
    exp = [X(arwi, origin, [], E), X(a1, origin, [role.arn], E, "MyWebIdentityUser"),
           X(a2, origin, [role.arn], E, "MyWebIdentityUser")]
    scenario("oidc", [(f"444455556666_CloudTrail_us-east-2_20240709T1545Z_{u16('oidc')}.json",
                       [arwi, a1, a2], "records")], exp)


def sc_ec2_service():
    S = "555566667777"
    role = Role(S, "app-server")
    inst = "i-0aa2d3b42e5c6e801"
    t = T("2024-03-05T10:29:02Z")
    key = asia(S, "ec2:issued")
    # Example I shape: no userIdentity.accountId, no assumedRoleUser, a sharedEventID although
    # same-account, a non-canonical sharedEventID, expiration without a comma, field order as in
    # the source.
    ar = {
        "userAgent": "ec2.amazonaws.com", "eventID": uid("evt:ec2:ar"),
        "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
        "eventType": "AwsApiCall", "sourceIPAddress": "ec2.amazonaws.com", "eventName": "AssumeRole",
        "eventSource": "sts.amazonaws.com", "recipientAccountId": S,
        "requestParameters": {"roleSessionName": inst, "roleArn": role.arn},
        "awsRegion": "us-west-2", "sharedEventID": "c7e1f02-5b9d-4c3a-8e61-0f2d4b6a9c13",
        "requestID": uid("req:ec2:ar"),
        "responseElements": {"credentials": {"sessionToken": token("ec2"), "accessKeyId": key,
                                             "expiration": expiration(plus(t, 6 * 3600 + 27), comma=False)}},
        "eventVersion": "1.08", "eventTime": iso(t), "readOnly": True,
        "resources": [{"ARN": role.arn, "accountId": S, "type": "AWS::IAM::Role"}],
    }
    s = Session(role, inst, key, t)
    ctx = {"ec2RoleDelivery": "2.0"}
    a1 = ev("ec2:a1", "GetObject", "s3.amazonaws.com", plus(t, 95), "us-west-2", S, session_ui(s, extra_ctx=ctx),
            {"bucketName": "app-config", "key": "settings.json"}, None, category="Data", ip="203.0.113.25",
            ua="aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5",
            resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::app-config/settings.json"}])
    a2 = ev("ec2:a2", "DescribeTags", "ec2.amazonaws.com", plus(t, 140), "us-west-2", S, session_ui(s, extra_ctx=ctx),
            {"filterSet": {"items": [{"name": "resource-id", "valueSet": {"items": [{"value": inst}]}}]}}, None,
            ip="203.0.113.25", ua="aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5")
    # the same instance credentials used from an address outside AWS (GuardDuty .OutsideAWS)
    a3 = ev("ec2:a3", "ListBuckets", "s3.amazonaws.com", plus(t, 3 * 3600), "us-west-2", S,
            session_ui(s, extra_ctx=ctx), {"Host": "s3.amazonaws.com"}, None, ip="198.51.100.77",
            ua="aws-cli/2.17.0 Python/3.12.4 Darwin/23.5.0 exe/x86_64 prompt/off")
    origin = "service:ec2.amazonaws.com"
    exp = [X(ar, origin, [], E), X(a1, origin, [role.arn], E), X(a2, origin, [role.arn], E),
           X(a3, origin, [role.arn], E)]
    scenario("ec2_service", [(f"555566667777_CloudTrail_us-west-2_20240305T1335Z_{u16('ec2')}.json",
                              [ar, a1, a2, a3], "records")], exp)


def sc_lambda_service():
    S = "666677778888"
    svc_ui = {"invokedBy": "lambda.amazonaws.com", "type": "AWSService"}
    out, exp = [], []
    origin = "service:lambda.amazonaws.com"
    for label, fn, tstr, redacted in (("lambda:a", "orders-api", "2024-06-02T20:27:12Z", False),
                                      ("lambda:b", "thumbnailer", "2024-06-02T21:02:45Z", True)):
        role = Role(S, f"{fn}-role", "/service-role/")
        t = T(tstr)
        key = asia(S, label + ":issued")
        ar, s = assume_role(label + ":ar", t, "us-west-2", S, svc_ui, role, fn, duration=None, key=key,
                            shared=uid(label + ":shared"), ip="lambda.amazonaws.com", ua="lambda.amazonaws.com",
                            assumed_role_user=not redacted, exp_offset=7800)
        if redacted:
            # Panther/SIEM re-export (Example I, Lambda variant): normalised eventTime, blanked key
            ar["eventTime"] = t.strftime("%Y-%m-%d %H:%M:%S")
            ar["responseElements"]["credentials"]["accessKeyId"] = "REDACTED"
            ar["responseElements"]["credentials"]["sessionToken"] = "REDACTED"
        fn_arn = f"arn:aws:lambda:us-west-2:{S}:function:{fn}"
        scope = {"inScopeOf": {"sourceArn": fn_arn, "sourceAccount": S, "issuerType": "AWS::Lambda::Function",
                               "credentialsIssuedTo": fn_arn}}
        use = ev(label + ":use", "PutItem" if not redacted else "GetObject",
                 "dynamodb.amazonaws.com" if not redacted else "s3.amazonaws.com", plus(t, 2), "us-west-2", S,
                 session_ui(s, **scope),
                 {"tableName": "orders"} if not redacted else {"bucketName": "uploads", "key": "img/1.png"}, None,
                 ip="198.51.100.140", ua="aws-sdk-nodejs/3.592.0 exec-env/AWS_Lambda_nodejs20.x",
                 category="Data" if redacted else "Management")
        out += [ar, use]
        exp += [X(ar, origin, [], E), X(use, origin, [role.arn], I if redacted else E)]
    scenario("lambda_service", [(f"666677778888_CloudTrail_us-west-2_20240602T2105Z_{u16('lambda')}.json",
                                 out, "records")], exp)


def sc_get_session_token():
    A = ACCT
    bob = User(A, "bob")
    t = T("2024-03-06T07:30:00Z")
    key = asia(A, "gst:issued")
    gst = ev("gst:gst", "GetSessionToken", "sts.amazonaws.com", t, "us-east-1", A, bob.ui(),
             {"durationSeconds": 43200, "serialNumber": f"arn:aws:iam::{A}:mfa/bob"},
             {"credentials": {"accessKeyId": key, "sessionToken": token("gst"),
                              "expiration": expiration(plus(t, 43200))}}, read_only=False, version="1.08")
    gst_ui = bob.ui(key=key, sessionContext={"sessionIssuer": {}, "webIdFederationData": {},
                                             "attributes": {"creationDate": iso(t), "mfaAuthenticated": "true"}})
    use = ev("gst:use", "DescribeInstances", "ec2.amazonaws.com", plus(t, 300), "us-east-1", A, gst_ui,
             {"instancesSet": {}, "filterSet": {}}, None)
    role = Role(A, "BreakGlass")
    ar, s = assume_role("gst:ar", plus(t, 600), "us-east-1", A, copy.deepcopy(gst_ui), role, "bob-breakglass")
    act = ev("gst:act", "ListUsers", "iam.amazonaws.com", plus(t, 660), "us-east-1", A, session_ui(s, mfa="true"),
             {"maxItems": 100}, None)
    exp = [X(gst, bob.arn, [], E), X(use, bob.arn, [], E), X(ar, bob.arn, [], E), X(act, bob.arn, [role.arn], E)]
    scenario("get_session_token", [(f"111111111111_CloudTrail_us-east-1_20240306T0745Z_{u16('gst')}.json",
                                     [gst, use, ar, act], "records")], exp)


def sc_get_federation_token():
    fname = "aws.persistence.sts-federation-token.json"
    with open(os.path.join(STRATUS, fname), "rb") as f:
        raw = f.read()
    recs = json.loads(raw)
    user = "arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user"
    exp = [X(r, user, [], E) for r in recs]  # GetFederationToken and the FederatedUser's call
    scenario("get_federation_token", [(fname, raw, "raw")], exp)


def sc_assume_root():
    M, MEMBER = "111111111111", "222222222222"
    admin = User(M, "admin")
    role = Role(M, "JohnDoe")
    t0, t1 = T("2024-10-25T20:45:28Z"), T("2024-10-25T20:52:11Z")
    ar, s = assume_role("root:ar", t0, "us-west-2", M, admin.ui(), role, "JohnRole1", ip="192.0.2.1")
    k2 = asia(MEMBER, "root:issued")
    caller = session_ui(s, extra_ctx={"assumedRoot": "true"})  # kept as in the AWS example (spec 2.11 H)
    root_ar = ev("root:assumeroot", "AssumeRoot", "sts.amazonaws.com", t1, "us-west-2", M, caller,
                 {"targetPrincipal": MEMBER,
                  "taskPolicyArn": {"arn": "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"}},
                 {"credentials": {"accessKeyId": k2, "sessionToken": token("root"),
                                  "expiration": expiration(plus(t1, 900))}},
                 read_only=False, version="1.08", ip="192.0.2.1")
    root_ui = {"type": "Root", "principalId": MEMBER, "arn": f"arn:aws:iam::{MEMBER}:root", "accountId": MEMBER,
               "accessKeyId": k2, "sessionContext": {"attributes": {"creationDate": iso(t1), "mfaAuthenticated": "false"},
                                                      "assumedRoot": "true"}}
    get = ev("root:get", "GetBucketPolicy", "s3.amazonaws.com", T("2024-10-25T20:53:40Z"), "us-west-2", MEMBER,
             copy.deepcopy(root_ui), {"bucketName": "resource-policy-johndoe", "policy": ""}, None, version="1.10",
             ip="192.0.2.1")
    delete = ev("root:delete", "DeleteBucketPolicy", "s3.amazonaws.com", T("2024-10-25T20:53:47Z"), "us-west-2",
                MEMBER, copy.deepcopy(root_ui),
                {"bucketName": "resource-policy-johndoe", "Host": "resource-policy-johndoe.s3.amazonaws.com",
                 "policy": ""}, None, version="1.10", ip="192.0.2.1",
                resources=[{"accountId": MEMBER, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::resource-policy-johndoe"}])
    # control: the member's root acting with its own long-term key (not an AssumeRoot session)
    plain_root = ev("root:plain", "DescribeAccountAttributes", "ec2.amazonaws.com", T("2024-10-20T09:12:00Z"),
                    "us-west-2", MEMBER,
                    {"type": "Root", "principalId": MEMBER, "arn": f"arn:aws:iam::{MEMBER}:root", "accountId": MEMBER,
                     "accessKeyId": akia(MEMBER, "root:longterm")},
                    {"accountAttributeNameSet": {}, "filterSet": {}}, None, ip="198.51.100.9")
    root_hop = f"arn:aws:iam::{MEMBER}:root"
    exp = [X(ar, admin.arn, [], E), X(root_ar, admin.arn, [role.arn], E),
           X(get, admin.arn, [role.arn, root_hop], E), X(delete, admin.arn, [role.arn, root_hop], E),
           X(plain_root, root_hop, [], E)]
    scenario("assume_root", [
        (f"111111111111_CloudTrail_us-west-2_20241025T2055Z_{u16('root:m')}.json", [ar, root_ar], "records"),
        (f"222222222222_CloudTrail_us-west-2_20241025T2055Z_{u16('root:member')}.json",
         [plain_root, get, delete], "records"),
    ], exp)


def sc_console_switch_role():
    # Example G, the davxiao capture: the four records as published, except sourceIPAddress
    # (a residential address in the capture) replaced with a documentation address.
    ip = "198.51.100.23"
    src_ui = {"type": "IAMUser", "principalId": "AIDAS6RF25DXSM2CA5KAD",
              "arn": "arn:aws:iam::203016562928:user/bob@example.com", "accountId": "203016562928",
              "accessKeyId": "ASIAS6RF25DXQR3PH2AX", "userName": "bob@example.com",
              "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {},
                                 "attributes": {"mfaAuthenticated": "true", "creationDate": "2020-09-17T13:58:45Z"}},
              "invokedBy": "AWS Internal"}
    role_arn = "arn:aws:iam::776613361644:role/assume-admin-role-example"
    sess_arn = "arn:aws:sts::776613361644:assumed-role/assume-admin-role-example/bob@example.com"
    req = {"roleArn": role_arn, "roleSessionName": "bob@example.com"}
    resp = {"credentials": {"accessKeyId": "ASIA3JUODO7WTIO2PI64", "expiration": "Sep 17, 2020 8:04:10 PM",
                            "sessionToken": "IQoJb3JpZ2luX2VjEAMaCXVzLWVhc3QtMSJIMEYCIQDs...<truncated>"},
            "assumedRoleUser": {"assumedRoleId": "AROAJBP4A5WSXVNY72RLE:bob@example.com", "arn": sess_arn}}
    res = [{"accountId": "776613361644", "type": "AWS::IAM::Role", "ARN": role_arn}]
    create_user = {
        "eventVersion": "1.05",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAJBP4A5WSXVNY72RLE:bob@example.com", "arn": sess_arn,
                         "accountId": "776613361644", "accessKeyId": "ASIA3JUODO7W6YEVI655",
                         "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAJBP4A5WSXVNY72RLE",
                                                              "arn": role_arn, "accountId": "776613361644",
                                                              "userName": "assume-admin-role-example"},
                                            "webIdFederationData": {},
                                            "attributes": {"mfaAuthenticated": "true",
                                                           "creationDate": "2020-09-17T19:04:10Z"}}},
        "eventTime": "2020-09-17T19:05:08Z", "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
        "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": "console.amazonaws.com",
        "requestParameters": {"userName": "test-no-permission", "tags": []},
        "responseElements": {"user": {"path": "/", "userName": "test-no-permission", "userId": "AIDA3JUODO7W7VCWFDJMM",
                                      "arn": "arn:aws:iam::776613361644:user/test-no-permission",
                                      "createDate": "Sep 17, 2020 7:05:08 PM"}},
        "requestID": "cc58c060-fe96-4678-b0bf-b888f12bf008", "eventID": "38d0221b-61e0-47d6-9c45-7eb2dc55125b",
        "eventType": "AwsApiCall", "recipientAccountId": "776613361644"}
    target_ar = {
        "eventVersion": "1.05",
        "userIdentity": {"type": "AWSAccount", "principalId": "AIDAS6RF25DXSM2CA5KAD", "accountId": "203016562928"},
        "eventTime": "2020-09-17T19:04:10Z", "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
        "awsRegion": "us-east-1", "sourceIPAddress": "AWS Internal", "userAgent": "AWS Internal",
        "requestParameters": req, "responseElements": resp,
        "requestID": "fdbb008c-63ce-4207-8171-b041d6f38672", "eventID": "40b4d219-0448-436f-9420-cdd3dc654b44",
        "resources": res, "eventType": "AwsApiCall", "recipientAccountId": "776613361644",
        "sharedEventID": "19ee34b2-52bd-4dfa-8c8e-cf68344062a6"}
    switch = {
        "eventVersion": "1.05",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAJBP4A5WSXVNY72RLE:bob@example.com", "arn": sess_arn,
                         "accountId": "776613361644"},
        "eventTime": "2020-09-17T19:04:10Z", "eventSource": "signin.amazonaws.com", "eventName": "SwitchRole",
        "awsRegion": "us-east-1", "sourceIPAddress": ip,
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_6) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/85.0.4183.102 Safari/537.36",
        "requestParameters": None, "responseElements": {"SwitchRole": "Success"},
        "additionalEventData": {"SwitchFrom": "arn:aws:iam::203016562928:user/bob@example.com",
                                "RedirectTo": "https://console.aws.amazon.com/console/home"},
        "eventID": "70627092-0c9c-4163-9975-42ffcc50a37a", "eventType": "AwsConsoleSignIn",
        "recipientAccountId": "776613361644"}
    source_ar = {
        "eventVersion": "1.05", "userIdentity": src_ui,
        "eventTime": "2020-09-17T19:04:10Z", "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
        "awsRegion": "us-east-1", "sourceIPAddress": "AWS Internal", "userAgent": "AWS Internal",
        "requestParameters": copy.deepcopy(req), "responseElements": copy.deepcopy(resp),
        "requestID": "fdbb008c-63ce-4207-8171-b041d6f38672", "eventID": "14fb06e3-5649-4fc3-a274-226ba85c8be6",
        "resources": copy.deepcopy(res), "eventType": "AwsApiCall", "recipientAccountId": "203016562928",
        "sharedEventID": "19ee34b2-52bd-4dfa-8c8e-cf68344062a6"}
    bob = "arn:aws:iam::203016562928:user/bob@example.com"
    exp = [X(source_ar, bob, [], E), X(target_ar, bob, [], E), X(switch, bob, [role_arn], I),
           X(create_user, bob, [role_arn], I)]
    scenario("console_switch_role", [
        (f"776613361644_CloudTrail_us-east-1_20200917T1910Z_{u16('g:role')}.json",
         [create_user, target_ar, switch], "records"),
        (f"203016562928_CloudTrail_us-east-1_20200917T1910Z_{u16('g:src')}.json", [source_ar], "records"),
    ], exp)


def sc_failed_assume_role():
    A = ACCT
    ivan = User(A, "ivan")
    reader, admin = Role(A, "Reader"), Role(A, "Admin")
    t = T("2024-03-07T16:00:00Z")
    d1 = denied_assume_role("fail:d1", t, "us-east-1", A, ivan.ui(), ivan.arn, admin.arn)
    ok, s = assume_role("fail:ok", plus(t, 20), "us-east-1", A, ivan.ui(), reader, "ivan-reader")
    d2 = denied_assume_role("fail:d2", plus(t, 45), "us-east-1", A, session_ui(s), s.arn, admin.arn)
    d3 = denied_assume_role("fail:d3", plus(t, 70), "us-east-1", A, ivan.ui(), ivan.arn,
                            "arn:aws:iam::999988887777:role/External")
    act = ev("fail:act", "ListAttachedRolePolicies", "iam.amazonaws.com", plus(t, 90), "us-east-1", A,
             session_ui(s), {"roleName": "Admin"}, None)
    exp = [X(d1, ivan.arn, [], E), X(ok, ivan.arn, [], E), X(d2, ivan.arn, [reader.arn], E),
           X(d3, ivan.arn, [], E), X(act, ivan.arn, [reader.arn], E)]
    scenario("failed_assume_role", [(f"111111111111_CloudTrail_us-east-1_20240307T1605Z_{u16('fail')}.json",
                                     [d1, ok, d2, d3, act], "records")], exp)


def sc_orphan_session():
    fname = "aws.credential-access.ec2-steal-instance-credentials.json"
    recs = stratus(fname)
    keep = {"b379479b-05c9-4c3c-af4b-cbd43acf29e1", "394cf343-b9cf-48ce-8a94-e188656ae8ba",
            "2a5178c8-b4c7-44ba-b066-1ecc79b7087c", "4bbece4b-580c-4cfa-8b01-344774458f69",
            "57f3b958-1c3b-458a-b60f-52310b597f49"}
    sel = [r for r in recs if r["eventID"] in keep]
    assert len(sel) == len(keep)
    acct = "017622104382"
    steal = Role(acct, "stratus-red-team-ec2-steal-credentials-role")
    steal.id = "AROALHCCSKSM395EGX3XN"
    orphan = Session(steal, "i-786a3A8B5C0d92eF4", "ASIAP5CT9NN8EYVU1FXV", T("2024-08-02T08:20:52Z"))
    target = Role(acct, "stratus-lateral-target")
    ip = "18.236.253.47"
    ui = session_ui(orphan, extra_ctx={"ec2RoleDelivery": "1.0"})
    ar, s2 = assume_role("orphan:ar", T("2024-08-02T08:24:30Z"), "us-north-2r", acct, ui, target, "pivot", ip=ip)
    act = ev("orphan:act", "ListSecrets", "secretsmanager.amazonaws.com", T("2024-08-02T08:24:45Z"), "us-north-2r",
             acct, session_ui(s2), {"maxResults": 100}, None, ip=ip)
    o = "unknown:ASIAP5CT9NN8EYVU1FXV"
    user = "arn:aws:iam::017622104382:user/christophe"
    exp = []
    for r in sel:
        if r["userIdentity"]["type"] == "AssumedRole":
            exp.append(X(r, o, [steal.arn], U))
        else:
            exp.append(X(r, user, [], E))
    exp += [X(ar, o, [steal.arn], U), X(act, o, [steal.arn, target.arn], U)]
    scenario("orphan_session", [
        ("aws.credential-access.ec2-steal-instance-credentials.subset.json", sel, "array"),
        ("synthetic_pivot_from_orphan.json", [ar, act], "records"),
    ], exp)


def sc_no_key_events():
    A = ACCT
    out, exp = [], []
    # (a) AWSService with no invokedBy
    a = ev("nokey:a", "RotateKey", "kms.amazonaws.com", T("2024-03-08T00:00:00Z"), "us-east-1", A,
           {"type": "AWSService"}, None, None, event_type="AwsServiceEvent", ip="AWS Internal", ua="AWS Internal",
           extra={"serviceEventDetails": {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}})
    # (b) userIdentity absent
    b = ev("nokey:b", "SharedSnapshotCopyInitiated", "ec2.amazonaws.com", T("2024-03-08T00:05:00Z"), "us-east-1", A,
           None, None, None, event_type="AwsServiceEvent", ip="AWS Internal", ua="AWS Internal",
           extra={"serviceEventDetails": {"snapshotId": "snap-0a1b2c3d4e5f67890", "source": "999988887777"}})
    # (c) anonymous S3 request
    c = ev("nokey:c", "GetObject", "s3.amazonaws.com", T("2024-03-08T00:10:00Z"), "us-east-1", A,
           {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"},
           {"bucketName": "public-site", "key": "index.html"}, None, category="Data", ip="198.51.100.200",
           ua="curl/8.5.0", resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::public-site/index.html"}])
    # (d) userIdentity with no type but invokedBy (service event)
    d = ev("nokey:d", "CreateNetworkInterface", "ec2.amazonaws.com", T("2024-03-08T00:15:00Z"), "us-east-1", A,
           {"accountId": A, "invokedBy": "ec2.amazonaws.com"}, None, None, event_type="AwsServiceEvent",
           ip="ec2.amazonaws.com", ua="ec2.amazonaws.com",
           extra={"serviceEventDetails": {"networkInterfaceId": "eni-0f1e2d3c4b5a69788"}})
    # (e) an AssumedRole data event with accessKeyId "" whose issuance is present
    kim = User(A, "kim")
    lake = Role(A, "DataLake")
    ar, s = assume_role("nokey:ar", T("2024-03-08T00:20:00Z"), "us-east-1", A, kim.ui(), lake, "kim-lake")
    e = ev("nokey:e", "GetObject", "s3.amazonaws.com", T("2024-03-08T00:21:00Z"), "us-east-1", A,
           session_ui(s, key=""), {"bucketName": "lake", "key": "raw/part-0000.parquet"}, None, category="Data",
           resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::lake/raw/part-0000.parquet"}])
    e["userIdentity"]["accessKeyId"] = ""
    # (f) an AssumedRole event with no accessKeyId at all and no issuance in the input
    batch = Role(A, "Batch")
    fs = Session(batch, "nightly", "", T("2024-03-07T23:00:00Z"))
    f = ev("nokey:f", "PutObject", "s3.amazonaws.com", T("2024-03-08T00:25:00Z"), "us-east-1", A,
           session_ui(fs, drop_key=True), {"bucketName": "lake", "key": "out/report.csv"}, None, category="Data",
           resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::lake/out/report.csv"}])
    # (g) IAM user console sign-in (no key)
    lena = User(A, "lena")
    g = ev("nokey:g", "ConsoleLogin", "signin.amazonaws.com", T("2024-03-08T00:30:00Z"), "us-east-1", A,
           {"type": "IAMUser", "principalId": lena.id, "arn": lena.arn, "accountId": A, "userName": "lena"},
           None, {"ConsoleLogin": "Success"}, event_type="AwsConsoleSignIn", read_only=False,
           ua="Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
           extra={"additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home",
                                          "MobileVersion": "No", "MFAUsed": "Yes"}})
    # (h) root console sign-in (no key)
    h = ev("nokey:h", "ConsoleLogin", "signin.amazonaws.com", T("2024-03-08T00:35:00Z"), "us-east-1", A,
           {"type": "Root", "principalId": A, "arn": f"arn:aws:iam::{A}:root", "accountId": A},
           None, {"ConsoleLogin": "Success"}, event_type="AwsConsoleSignIn", read_only=False,
           ua="Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
           extra={"additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home",
                                          "MobileVersion": "No", "MFAUsed": "Yes"}})
    out = [a, b, c, d, ar, e, f, g, h]
    exp = [X(a, "unknown:", [], U), X(b, "unknown:", [], U), X(c, "unknown:", [], U),
           X(d, "service:ec2.amazonaws.com", [], E), X(ar, kim.arn, [], E), X(e, kim.arn, [lake.arn], I),
           X(f, "unknown:", [batch.arn], U), X(g, lena.arn, [], E), X(h, f"arn:aws:iam::{A}:root", [], E)]
    scenario("no_key_events", [(f"111111111111_CloudTrail_us-east-1_20240308T0040Z_{u16('nokey')}.json",
                                out, "records")], exp)


def sc_lenient_formats():
    A = ACCT
    lena = User(A, "lena")
    role = Role(A, "Lenient")
    t = T("2024-06-02T20:27:12Z")
    ar, s = assume_role("lenient:ar", t, "us-east-1", A, lena.ui(), role, "lena-lenient", comma=False,
                        time_str="2024-06-02 20:27:12")
    ar["readOnly"] = "true"
    ar["requestParameters"]["durationSeconds"] = "3600"
    ui1 = session_ui(s, mfa=True)
    ui1["sessionContext"]["attributes"]["creationDate"] = "20240602T202712Z"
    u1 = ev("lenient:u1", "DescribeInstances", "ec2.amazonaws.com", "2024-06-02T20:30:00.250Z", "us-east-1", A, ui1,
            {"instancesSet": {}, "filterSet": {}}, None)
    u2 = ev("lenient:u2", "StopInstances", "ec2.amazonaws.com", "2024-06-02 20:41:05", "us-east-1", A,
            session_ui(s, mfa="false"), {"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}}, None)
    u2["readOnly"] = False
    exp = [X(ar, lena.arn, [], E), X(u1, lena.arn, [role.arn], E), X(u2, lena.arn, [role.arn], E)]
    scenario("lenient_formats", [(f"111111111111_CloudTrail_us-east-1_20240602T2045Z_{u16('lenient')}.json",
                                  [u2, u1, ar], "records")], exp)


def build_scenarios():
    for fn in (sc_same_account, sc_cross_account_both, sc_cross_account_role_copy_only, sc_chain_depth_5,
               sc_role_cycle, sc_recycled_key, sc_delayed_delivery, sc_duplicate_delivery, sc_saml,
               sc_identity_center, sc_oidc, sc_ec2_service, sc_lambda_service, sc_get_session_token,
               sc_get_federation_token, sc_assume_root, sc_console_switch_role, sc_failed_assume_role,
               sc_orphan_session, sc_no_key_events, sc_lenient_formats):
        fn()


# --------------------------------------------------------------------------------------
# real/  (counts from shared/realdata/SOURCES.md; files are never written here)
# --------------------------------------------------------------------------------------
REAL_COUNTS = {
    "invictus-aws-dataset": {
        "218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json": 29,
        "218007301253_CloudTrail_us-east-1_20230710T1145Z_s7dpHbl38neqZbm2.json": 51,
        "218007301253_CloudTrail_us-east-1_20230710T1150Z_1vnLavRRp0ek1mP4.json": 2,
        "218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json": 394,
        "218007301253_CloudTrail_us-east-1_20230710T1200Z_x9kHmzMa7cx6l9wM.json": 132,
        "218007301253_CloudTrail_us-east-1_20230710T1205Z_1dM7GQM67kudSyGD.json": 13,
        "218007301253_CloudTrail_us-east-1_20230710T1205Z_86g9Vok9HiUCgSI7.json": 19,
        "218007301253_CloudTrail_us-east-1_20230710T1205Z_SjF3IkuNXJkoHyar.json": 26,
        "218007301253_CloudTrail_us-east-1_20230710T1205Z_UljXNp9xLp8nsAGc.json": 55,
        "218007301253_CloudTrail_us-east-1_20230710T1205Z_dOIWyEekdNWhkpqY.json": 26,
        "218007301253_CloudTrail_us-east-1_20230710T1205Z_lKy08gyrqqRJyzsn.json": 1,
        "218007301253_CloudTrail_us-east-1_20230710T1205Z_nx9Yx1FyJdBaTqKj.json": 10,
        "218007301253_CloudTrail_us-east-1_20230710T1205Z_zs3JGxETHr59VpkX.json": 196,
        "218007301253_CloudTrail_us-east-1_20230710T1210Z_2ru8PrDKZmsO3yWC.json": 3,
        "218007301253_CloudTrail_us-east-1_20230710T1210Z_6CICdbJQM3beT7n3.json": 246,
        "218007301253_CloudTrail_us-east-1_20230710T1210Z_QY5iPRtGUt0EpVaH.json": 69,
        "218007301253_CloudTrail_us-east-1_20230710T1210Z_RBxlxVrF890sGHGg.json": 20,
        "218007301253_CloudTrail_us-east-1_20230710T1210Z_ZgEBhdXGdLTXGoIe.json": 1,
        "218007301253_CloudTrail_us-east-1_20230710T1210Z_bXGZYqBeCCsqWq1U.json": 6,
        "218007301253_CloudTrail_us-east-1_20230710T1210Z_vj0QE0Tf5ZmzMsCo.json": 149,
        "218007301253_CloudTrail_us-east-1_20230710T1215Z_5f9a6SYejzdNeREZ.json": 31,
        "218007301253_CloudTrail_us-east-1_20230710T1215Z_MifI13MOmOjRfXzJ.json": 59,
        "218007301253_CloudTrail_us-east-1_20230710T1215Z_P0WZuP2zvLW2RcUo.json": 33,
        "218007301253_CloudTrail_us-east-1_20230710T1215Z_YMDRJwtmC82bUwAo.json": 156,
        "218007301253_CloudTrail_us-east-1_20230710T1215Z_YxpR6PTmNBivhnJJ.json": 26,
        "218007301253_CloudTrail_us-east-1_20230710T1215Z_Z8x5aqgtcXn5NEG9.json": 117,
        "218007301253_CloudTrail_us-east-1_20230710T1215Z_dTTFsx4I2m3om5Oy.json": 1,
        "218007301253_CloudTrail_us-east-1_20230710T1215Z_nBsuPO1qSTEVerMD.json": 222,
        "218007301253_CloudTrail_us-east-1_20230710T1220Z_8sBQhbu5YO94UV8p.json": 6,
        "218007301253_CloudTrail_us-east-1_20230710T1220Z_AkYyuTYmKtOUB1Lx.json": 12,
        "218007301253_CloudTrail_us-east-1_20230710T1220Z_WMiHxZgr5Hdd6UDc.json": 13,
        "218007301253_CloudTrail_us-east-1_20230710T1220Z_ovtmbuX3ENJ119uH.json": 56,
        "218007301253_CloudTrail_us-east-1_20230710T1220Z_r7NFD65BgeDMqD23.json": 71,
        "218007301253_CloudTrail_us-east-1_20230710T1220Z_sM25jC0Ku0QcGkDa.json": 10,
        "218007301253_CloudTrail_us-east-1_20230710T1225Z_4iD2boYSOwmb6sWd.json": 12,
        "218007301253_CloudTrail_us-east-1_20230710T1225Z_QqgbBkK0L13H8Wbv.json": 3,
        "218007301253_CloudTrail_us-east-1_20230710T1225Z_RL8g7SsRoNFvvVBW.json": 5,
        "218007301253_CloudTrail_us-east-1_20230710T1225Z_qWyTCPHzELqDMshA.json": 4,
        "218007301253_CloudTrail_us-east-1_20230710T1225Z_vMAR90Iiaqr6M5sR.json": 16,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_04rtp9DpvIpSZzMr.json": 17,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_9JM8uKEITHqwJKXr.json": 22,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_9SJSsrxJ0ChF5VFb.json": 84,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_9dKPuRzdLzqZRjqm.json": 2,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_AvIajGd5rkz6vTy4.json": 63,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_GyyPwrInk2rgv8V0.json": 2,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_KV9LZlfXqBel7nqf.json": 47,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_OU6Ha25B4GGhUIMr.json": 5,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_ZtUNbBkwAu98FPZb.json": 68,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_lHgkh3VeI3XnjZSL.json": 92,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_s2m4APJ8BhmXSIE6.json": 2,
        "218007301253_CloudTrail_us-east-1_20230710T1230Z_soULWstxp7lqsODg.json": 3,
        "218007301253_CloudTrail_us-east-1_20230710T1235Z_Vp7r3boWJKtPb3wM.json": 1,
        "218007301253_CloudTrail_us-east-1_20230710T1235Z_YbVFCP9AYzJDhHV9.json": 185,
        "218007301253_CloudTrail_us-east-1_20230710T1235Z_kboLbHJlz2H6cLyo.json": 4,
        "218007301253_CloudTrail_us-east-1_20230710T1240Z_C1qUFaqvZS64BcIN.json": 2,
    },
    "stratus-red-team-detonation-logs": {
        "aws.credential-access.ec2-get-password-data.json": 34,
        "aws.credential-access.ec2-steal-instance-credentials.json": 45,
        "aws.credential-access.secretsmanager-batch-retrieve-secrets.json": 5,
        "aws.credential-access.secretsmanager-retrieve-secrets.json": 21,
        "aws.credential-access.ssm-retrieve-securestring-parameters.json": 10,
        "aws.defense-evasion.cloudtrail-delete.json": 1,
        "aws.defense-evasion.cloudtrail-event-selectors.json": 1,
        "aws.defense-evasion.cloudtrail-stop.json": 1,
        "aws.defense-evasion.dns-delete-logs.json": 1,
        "aws.defense-evasion.organizations-leave.json": 3,
        "aws.defense-evasion.vpc-remove-flow-logs.json": 1,
        "aws.discovery.ec2-download-user-data.json": 19,
        "aws.execution.ec2-launch-unusual-instances.json": 3,
        "aws.execution.ec2-user-data.json": 35,
        "aws.execution.ssm-send-command.json": 56,
        "aws.execution.ssm-start-session.json": 29,
        "aws.exfiltration.ec2-security-group-open-port-22-ingress.json": 1,
        "aws.exfiltration.ec2-share-ami.json": 1,
        "aws.exfiltration.ec2-share-ebs-snapshot.json": 1,
        "aws.exfiltration.rds-share-snapshot.json": 1,
        "aws.impact.bedrock-invoke-model.json": 15,
        "aws.initial-access.console-login-without-mfa.json": 1,
        "aws.lateral-movement.ec2-instance-connect.json": 3,
        "aws.lateral-movement.ec2-serial-console-send-ssh-public-key.json": 4,
        "aws.persistence.iam-backdoor-role.json": 1,
        "aws.persistence.iam-backdoor-user.json": 1,
        "aws.persistence.iam-create-admin-user.json": 3,
        "aws.persistence.iam-create-backdoor-role.json": 2,
        "aws.persistence.iam-create-user-login-profile.json": 3,
        "aws.persistence.lambda-backdoor-function.json": 1,
        "aws.persistence.lambda-layer-extension.json": 1,
        "aws.persistence.lambda-overwrite-code.json": 1,
        "aws.persistence.rolesanywhere-create-trust-anchor.json": 2,
        "aws.persistence.sts-federation-token.json": 2,
        "aws.privilege-escalation.iam-update-user-login-profile.json": 1,
    },
    "cribl-aws-cloudtrail-pack": {"zyNWSr.json": 205},
    "otrf-security-datasets": {"ec2_proxy_s3_exfiltration.zip": 103},
}
REAL_FORMATS = {"invictus-aws-dataset": "records", "stratus-red-team-detonation-logs": "bare_array",
                "cribl-aws-cloudtrail-pack": "cribl_array", "otrf-security-datasets": "zip"}


def build_real_manifest():
    for ds, files in REAL_COUNTS.items():
        for fname, n in files.items():
            extra = {}
            if ds == "cribl-aws-cloudtrail-pack":
                extra = {"note": "array of 90 Cribl events; 40 carry _raw = {\"Records\":[...]} (205 records); the "
                                 "other 50 are collector metadata events without _raw and count 0 records"}
            if ds == "otrf-security-datasets":
                extra = {"members": {"ec2_proxy_s3_exfiltration_2020-09-14011940.json": 103},
                         "note": "one NDJSON member exported by Logstash: records have @timestamp, no eventTime"}
            manifest(f"real/{ds}/{fname}", REAL_FORMATS[ds], n, **extra)
        doc_file(f"real/{ds}/LICENSE")
        if os.path.exists(os.path.join(ROOT, "real", ds, "NOTICE")):
            doc_file(f"real/{ds}/NOTICE")
    doc_file("real/README.md")


# --------------------------------------------------------------------------------------
# MANIFEST.json
# --------------------------------------------------------------------------------------
DIRECTORY_TOTALS = {
    # hand-written: what the product must report when the directory is read as one input.
    # Duplicates here include the ones that only appear across files.
    "shapes": {"duplicates": 0},
    "hazards": {"duplicates": 3},   # duplicate_delivery_b repeats 2 of _a's records + 1 of its own
    "layout": {"duplicates": 2},    # the account trail repeats 2 records of the organisation trail
    "real": {"duplicates": 0},
}


def build_manifest():
    dirs = {}
    for rel, m in sorted(MANIFEST_FILES.items()):
        top = rel.split("/")[0]
        keys = [top]
        if top == "real" and rel.count("/") >= 2:
            keys.append("/".join(rel.split("/")[:2]))
        for k in keys:
            t = dirs.setdefault(k, {"files": 0, "input_files": 0, "records_read": 0, "events": 0, "duplicates": 0,
                                    "records_skipped": 0, "skip_reasons": {}, "files_skipped": {}, "problems": {}})
            t["files"] += 1
            t["input_files"] += m["input"]
            t["records_read"] += m["records_read"]
            t["records_skipped"] += m["records_skipped"]
            for r, n in m["skip_reasons"].items():
                t["skip_reasons"][r] = t["skip_reasons"].get(r, 0) + n
            if m["file_skipped_reason"] and m["input"]:
                t["files_skipped"][m["file_skipped_reason"]] = t["files_skipped"].get(m["file_skipped_reason"], 0) + 1
            if m["problem"]:
                t["problems"][m["problem"]] = t["problems"].get(m["problem"], 0) + 1
    for k, t in dirs.items():
        t["duplicates"] = DIRECTORY_TOTALS.get(k, {"duplicates": 0})["duplicates"]
        t["events"] = t["records_read"] - t["duplicates"] - t["records_skipped"]
    total = {"records_read": sum(dirs[k]["records_read"] for k in DIRECTORY_TOTALS),
             "events": sum(dirs[k]["events"] for k in DIRECTORY_TOTALS),
             "duplicates": sum(dirs[k]["duplicates"] for k in DIRECTORY_TOTALS),
             "records_skipped": sum(dirs[k]["records_skipped"] for k in DIRECTORY_TOTALS)}
    doc = {
        "about": "Expected ingest accounting for every file under shapes/, hazards/, layout/ and real/. "
                 "See README.md, section 'MANIFEST.json', for how to read it.",
        "invariant": "records_read == events + duplicates + records_skipped (per file and per directory)",
        "per_file_scope": "each file read on its own: duplicates counts only repeats inside that file",
        "per_directory_scope": "the directory read as one input (all its files together): duplicates also "
                               "counts repeats across files; events = distinct (recipientAccountId, eventID)",
        "record_definition": "one CloudTrail event object found anywhere: an element of a Records array or of a "
                             "bare array, an NDJSON line, an EventBridge detail, a LookupEvents CloudTrailEvent, "
                             "a CloudWatch Logs message, a Cribl _raw Records element. Containers are not records.",
        "skip_reason_vocabulary": ["not a CloudTrail record", "invalid JSON", "invalid UTF-8"],
        "file_skipped_reason_vocabulary": ["digest", "insight", "config", "not_cloudtrail", "empty", "not_json"],
        "problem_vocabulary": ["truncated_gzip", "invalid_json"],
        "directories": dict(sorted(dirs.items())),
        "total_of_shapes_hazards_layout_real": total,
        "files": dict(sorted(MANIFEST_FILES.items())),
    }
    write_json("MANIFEST.json", doc)


def clean():
    for d in ("shapes", "hazards", "layout", "scenarios"):
        p = os.path.join(ROOT, d)
        if os.path.isdir(p):
            for entry in os.listdir(p):
                q = os.path.join(p, entry)
                if entry == "README.md":
                    continue
                if os.path.isdir(q):
                    shutil.rmtree(q)
                else:
                    os.remove(q)


def main():
    clean()
    build_shapes()
    build_hazards()
    build_layout()
    build_scenarios()
    build_real_manifest()
    for d in ("shapes", "hazards", "layout"):
        if os.path.exists(os.path.join(ROOT, d, "README.md")):
            doc_file(f"{d}/README.md")
    build_manifest()
    print(f"wrote {len(MANIFEST_FILES)} manifest entries and {len(SCENARIOS)} scenarios "
          f"({sum(SCENARIOS.values())} expected attributions)")


if __name__ == "__main__":
    main()
