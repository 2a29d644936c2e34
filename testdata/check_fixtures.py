#!/usr/bin/env python3
"""Check testdata/ for internal consistency. Python 3 standard library only.

    python3 testdata/check_fixtures.py        # exit 0 when every check passes

It does not import build_fixtures.py: it has its own reader and its own reference
attributor, written from the rules in README.md and scenarios/README.md, and compares
their results with what the fixtures claim.

1. Every JSON file parses, except the ones MANIFEST.json marks as broken or not JSON.
2. MANIFEST.json: every file under shapes/, hazards/, layout/ and real/ is listed, and
   nothing else is. A reader independent of the product (read_file below) counts
   records_read / events / duplicates / records_skipped (with reasons), file skips and
   problems for each file and each directory, and they match. The invariant
   records_read == events + duplicates + records_skipped holds everywhere.
3. real/: the four datasets are present, with their README/LICENSE/NOTICE files and the
   SOURCES.md totals (2,900 / 310 / 205 / 103 = 3,518 records).
4. Every .gz has mtime 0 and no stored file name (reproducible).
5. scenarios/*/expected.json: every distinct event of the scenario's inputs, keyed by
   (eventID, recipientAccountId), appears exactly once and nothing else does; the fields
   are exactly the contract's seven; depth matches the chain; the values are well formed;
   and the reference attributor gives the same answer for every event.
6. The synthetic fixtures stay small.
"""
import collections
import datetime as dt
import gzip
import io
import json
import os
import re
import sys
import zipfile
import zlib

ROOT = os.path.dirname(os.path.abspath(__file__))
FAILURES = []


def fail(msg):
    FAILURES.append(msg)


# ======================================================================================
# Reader: bytes -> records, following the record definition in README.md
# ======================================================================================
CT_KEYS = ("eventID", "eventName", "eventSource", "eventVersion")


def is_record(v):
    return isinstance(v, dict) and any(k in v for k in CT_KEYS)


class Result:
    def __init__(self):
        self.records = []            # CloudTrail record objects, in reading order
        self.skipped = collections.Counter()
        self.file_skipped = None
        self.problem = None

    @property
    def read(self):
        return len(self.records) + sum(self.skipped.values())


def expand(value, res, top_level_array=False):
    """Add the records inside a parsed JSON value. Returns True if the value was a record
    or a known container (so that a top-level array element that is neither can be
    counted as a skipped non-record)."""
    if is_record(value):
        res.records.append(value)
        return True
    if isinstance(value, dict):
        if isinstance(value.get("Records"), list):
            for el in value["Records"]:
                if is_record(el):
                    res.records.append(el)
                else:
                    res.skipped["not a CloudTrail record"] += 1
            return True
        if isinstance(value.get("detail"), dict) and ("detail-type" in value or "source" in value):
            return expand(value["detail"], res)                         # EventBridge
        if isinstance(value.get("Events"), list):                        # LookupEvents output
            for item in value["Events"]:
                expand(item, res)
            return True
        if isinstance(value.get("CloudTrailEvent"), str):                # LookupEvents item
            return expand(json.loads(value["CloudTrailEvent"]), res)
        if isinstance(value.get("logEvents"), list):                     # CloudWatch Logs envelope
            for item in value["logEvents"]:
                expand(item, res)
            return True
        if isinstance(value.get("message"), str) and "timestamp" in value:   # CloudWatch log event
            return expand(json.loads(value["message"]), res)
        if "_raw" in value or "__criblEventType" in value:              # Cribl event
            raw = value.get("_raw")
            if isinstance(raw, str):
                raw = json.loads(raw)
            if raw is not None:
                expand(raw, res)
            return True
    return False


def salvage_records_doc(text, res):
    """Count the complete elements of a Records document that is cut short."""
    m = re.match(r'\s*\{\s*"Records"\s*:\s*\[', text)
    if not m:
        return False
    dec = json.JSONDecoder()
    i = m.end()
    while True:
        while i < len(text) and text[i] in " \r\n\t,":
            i += 1
        try:
            v, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            break
        if is_record(v):
            res.records.append(v)
        else:
            res.skipped["not a CloudTrail record"] += 1
    return True


def read_text_payload(data, res):
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        res.file_skipped = "empty"
        return
    try:
        text = data.decode("utf-8")
        whole = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        whole = None
        parsed_whole = False
    else:
        parsed_whole = True
    if parsed_whole:
        if isinstance(whole, list):
            before = len(res.records)
            pending = 0
            for el in whole:
                if not expand(el, res):
                    pending += 1
            if len(res.records) > before and pending:
                res.skipped["not a CloudTrail record"] += pending
        else:
            expand(whole, res)
        return
    # not one JSON document: NDJSON, a truncated Records document, or not JSON at all
    lines = [ln for ln in data.split(b"\n") if ln.strip()]
    first_ok = False
    try:
        json.loads(lines[0].decode("utf-8"))
        first_ok = True
    except (UnicodeDecodeError, json.JSONDecodeError):
        pass
    if first_ok:
        for ln in lines:
            try:
                s = ln.decode("utf-8")
            except UnicodeDecodeError:
                res.skipped["invalid UTF-8"] += 1
                continue
            try:
                v = json.loads(s)
            except json.JSONDecodeError:
                res.skipped["invalid JSON"] += 1
                continue
            if not expand(v, res):
                res.skipped["not a CloudTrail record"] += 1
        return
    if salvage_records_doc(data.decode("utf-8", "replace"), res):
        res.problem = res.problem or "invalid_json"
        return
    res.file_skipped = "not_json"


def gunzip_lenient(data):
    """All members; on a truncated stream, return what decompresses and flag it."""
    out, truncated = b"", False
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(data)
        except zlib.error:
            truncated = True
            break
        if not d.eof:
            truncated = True
            break
        data = d.unused_data
        if data and not data.startswith(b"\x1f\x8b"):
            break
    return out, truncated


def read_file(rel):
    res = Result()
    parts = rel.split("/")
    if "CloudTrail-Digest" in parts:
        res.file_skipped = "digest"
        return res
    if "CloudTrail-Insight" in parts:
        res.file_skipped = "insight"
        return res
    if "Config" in parts and "AWSLogs" in parts:
        res.file_skipped = "config"
        return res
    with open(os.path.join(ROOT, rel), "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data, truncated = gunzip_lenient(data)
        if truncated:
            res.problem = "truncated_gzip"
            salvage_records_doc(data.decode("utf-8", "replace"), res)
            return res
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                if not name.endswith("/"):
                    read_text_payload(z.read(name), res)
        return res
    read_text_payload(data, res)
    if res.file_skipped is None and res.problem is None and not res.records:
        # no CloudTrail record anywhere: the file is skipped as a whole and counts nothing
        res.skipped.clear()
        res.file_skipped = "not_cloudtrail"
    return res


def rec_key(r):
    return (str(r.get("eventID")), str(r.get("recipientAccountId")))


def counts(records, skipped):
    seen = set()
    dups = 0
    for r in records:
        k = rec_key(r)
        if k in seen:
            dups += 1
        seen.add(k)
    return {"records_read": len(records) + sum(skipped.values()), "events": len(seen), "duplicates": dups,
            "records_skipped": sum(skipped.values()), "skip_reasons": dict(skipped)}


# ======================================================================================
# MANIFEST checks
# ======================================================================================
def all_files(top):
    out = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
        for f in files:
            out.append(os.path.relpath(os.path.join(dirpath, f), ROOT).replace(os.sep, "/"))
    return sorted(out)


def check_manifest():
    with open(os.path.join(ROOT, "MANIFEST.json")) as f:
        man = json.load(f)
    files = man["files"]
    on_disk = [p for top in ("shapes", "hazards", "layout", "real") for p in all_files(top)]
    for p in on_disk:
        if p not in files:
            fail(f"MANIFEST: {p} is not listed")
    for p in files:
        if p not in on_disk:
            fail(f"MANIFEST: {p} is listed but does not exist")
    per_dir = collections.defaultdict(lambda: {"records": [], "skipped": collections.Counter(),
                                               "files_skipped": collections.Counter(),
                                               "problems": collections.Counter()})
    for rel in on_disk:
        m = files.get(rel)
        if m is None:
            continue
        res = read_file(rel)
        got = counts(res.records, res.skipped)
        for k in ("records_read", "events", "duplicates", "records_skipped", "skip_reasons"):
            if got[k] != m[k]:
                fail(f"MANIFEST {rel}: {k} is {m[k]!r} in the manifest, the reader finds {got[k]!r}")
        if m["records_read"] != m["events"] + m["duplicates"] + m["records_skipped"]:
            fail(f"MANIFEST {rel}: invariant broken")
        if res.file_skipped != m["file_skipped_reason"]:
            fail(f"MANIFEST {rel}: file_skipped_reason {m['file_skipped_reason']!r}, reader {res.file_skipped!r}")
        if res.problem != m["problem"]:
            fail(f"MANIFEST {rel}: problem {m['problem']!r}, reader {res.problem!r}")
        if "complete_records_before_cut" in m and m["complete_records_before_cut"] != len(res.records):
            fail(f"MANIFEST {rel}: complete_records_before_cut mismatch")
        keys = [rel.split("/")[0]]
        if rel.startswith("real/") and rel.count("/") >= 2:
            keys.append("/".join(rel.split("/")[:2]))
        for k in keys:
            d = per_dir[k]
            d["records"] += res.records
            d["skipped"] += res.skipped
            if res.file_skipped and m["input"]:
                d["files_skipped"][res.file_skipped] += 1
            if res.problem:
                d["problems"][res.problem] += 1
    for k, d in per_dir.items():
        want = man["directories"].get(k)
        if want is None:
            fail(f"MANIFEST: no directory total for {k}")
            continue
        got = counts(d["records"], d["skipped"])
        for f in ("records_read", "events", "duplicates", "records_skipped", "skip_reasons"):
            if got[f] != want[f]:
                fail(f"MANIFEST directory {k}: {f} is {want[f]!r}, the reader finds {got[f]!r}")
        if dict(d["files_skipped"]) != want["files_skipped"]:
            fail(f"MANIFEST directory {k}: files_skipped {want['files_skipped']} vs {dict(d['files_skipped'])}")
        if dict(d["problems"]) != want["problems"]:
            fail(f"MANIFEST directory {k}: problems {want['problems']} vs {dict(d['problems'])}")
        if want["records_read"] != want["events"] + want["duplicates"] + want["records_skipped"]:
            fail(f"MANIFEST directory {k}: invariant broken")
    tot = man["total_of_shapes_hazards_layout_real"]
    for f in ("records_read", "events", "duplicates", "records_skipped"):
        s = sum(man["directories"][k][f] for k in ("shapes", "hazards", "layout", "real"))
        if s != tot[f]:
            fail(f"MANIFEST total {f}: {tot[f]} vs sum {s}")
    return man


def check_real(man):
    expect = {"invictus-aws-dataset": 2900, "stratus-red-team-detonation-logs": 310,
              "cribl-aws-cloudtrail-pack": 205, "otrf-security-datasets": 103}
    total = 0
    for ds, n in expect.items():
        got = man["directories"].get("real/" + ds, {}).get("records_read")
        if got != n:
            fail(f"real/{ds}: {got} records, SOURCES.md says {n}")
        total += n
        lic = os.path.join(ROOT, "real", ds, "LICENSE")
        if not os.path.exists(lic):
            fail(f"real/{ds}: LICENSE missing")
        else:
            text = open(lic).read()
            if ds in ("invictus-aws-dataset", "otrf-security-datasets") and not text.startswith("MIT License"):
                fail(f"real/{ds}: LICENSE is not MIT")
            if ds in ("stratus-red-team-detonation-logs", "cribl-aws-cloudtrail-pack"):
                if "Apache License" not in text or not os.path.exists(os.path.join(ROOT, "real", ds, "NOTICE")):
                    fail(f"real/{ds}: Apache-2.0 LICENSE or NOTICE missing")
    if man["directories"]["real"]["records_read"] != total or total != 3518:
        fail("real: total is not 3,518")
    readme = open(os.path.join(ROOT, "real", "README.md")).read()
    for s in ("4667aa9c26330bc3317ed8bd526f4b83cff13602", "7c9a7a5a63dc370260a6528dd0d30476854806c1",
              "b49de7fb6cff5ddd23ec34db59e3fac352ef9855", "d9d40ef123d2c87d5d3df28c96bcab4f0faccc87", "3,518"):
        if s not in readme:
            fail(f"real/README.md does not mention {s}")


def check_json_and_gzip(man):
    broken = {p for p, m in man["files"].items()
              if m["problem"] or m["file_skipped_reason"] in ("not_json", "empty") or m["skip_reasons"]}
    for top in ("shapes", "hazards", "layout", "scenarios"):
        for rel in all_files(top):
            with open(os.path.join(ROOT, rel), "rb") as f:
                data = f.read()
            if data[:2] == b"\x1f\x8b":
                if data[4:8] != b"\0\0\0\0":
                    fail(f"{rel}: gzip mtime is not 0")
                if data[3] & 0x08:
                    fail(f"{rel}: gzip stores a file name")
                if rel in broken:
                    continue
                data = gzip.decompress(data)
            if rel in broken or data[:4] == b"PK\x03\x04" or rel.endswith(("ConfigWritabilityCheckFile", ".md")):
                continue
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            text = data.decode("utf-8")
            if rel.endswith((".ndjson", ".jsonl")) or rel.endswith("multi_member.json.gz"):
                for n, ln in enumerate(text.splitlines(), 1):
                    if ln.strip():
                        try:
                            json.loads(ln)
                        except json.JSONDecodeError as e:
                            fail(f"{rel}:{n}: invalid JSON: {e}")
            else:
                try:
                    json.loads(text)
                except json.JSONDecodeError as e:
                    fail(f"{rel}: invalid JSON: {e}")
    for rel in ("MANIFEST.json",):
        json.load(open(os.path.join(ROOT, rel)))


# ======================================================================================
# Reference attributor (scenarios/README.md, "Attribution rules")
# ======================================================================================
RANK = {"exact": 2, "inferred": 1, "unknown": 0}
ISSUERS = {"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetSessionToken",
           "GetFederationToken", "AssumeRoot"}


def weakest(*cs):
    return min(cs, key=lambda c: RANK[c])


def parse_time(s):
    if not isinstance(s, str):
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%d %H:%M:%S", "%Y%m%dT%H%M%SZ"):
        try:
            return dt.datetime.strptime(s.strip(), fmt).replace(microsecond=0)
        except ValueError:
            pass
    return None


def parse_expiration(s):
    if not isinstance(s, str):
        return None
    try:
        return dt.datetime.strptime(s.replace(",", ""), "%b %d %Y %I:%M:%S %p")
    except ValueError:
        return None


def get(d, *path):
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def event_time(r):
    return parse_time(r.get("eventTime") or r.get("@timestamp"))


class Issuance:
    def __init__(self, rec):
        self.recs = [rec]
        req, resp = rec.get("requestParameters") or {}, rec.get("responseElements") or {}
        self.kind = rec["eventName"]
        self.key = get(resp, "credentials", "accessKeyId")
        self.time = event_time(rec)
        self.expires = parse_expiration(get(resp, "credentials", "expiration"))
        self.si = resp.get("sourceIdentity") or req.get("sourceIdentity")
        if self.kind == "AssumeRoot":
            self.hop = f"arn:aws:iam::{req.get('targetPrincipal')}:root"
            self.session_arn = None
        elif self.kind in ("GetSessionToken", "GetFederationToken"):
            self.hop = None
            self.session_arn = None
        else:
            self.hop = req.get("roleArn")
            arn = get(resp, "assumedRoleUser", "arn")
            if not arn and self.hop:
                acct = self.hop.split(":")[4]
                arn = f"arn:aws:sts::{acct}:assumed-role/{self.hop.rsplit('/', 1)[1]}/{req.get('roleSessionName')}"
            self.session_arn = arn

    @property
    def caller(self):
        """The caller-account copy when there is one (spec 2.6)."""
        for r in self.recs:
            if get(r, "userIdentity", "type") != "AWSAccount":
                return r
        return self.recs[0]

    def ident(self):
        return (self.key, self.time, self.session_arn, self.hop)


class Attributor:
    def __init__(self, events):
        self.events = events
        self.issuances = []
        by_ident = {}
        for r in events:
            if r.get("eventName") in ISSUERS and not r.get("errorCode") and \
                    get(r, "responseElements", "credentials") is not None:
                iss = Issuance(r)
                shared = r.get("sharedEventID")
                k = ("shared", shared) if shared and r.get("eventName") == "AssumeRole" else ("ident", iss.ident())
                if k in by_ident:
                    by_ident[k].recs.append(r)
                else:
                    by_ident[k] = iss
                    self.issuances.append(iss)
        self.by_shared = collections.defaultdict(list)
        for r in events:
            if r.get("sharedEventID"):
                self.by_shared[r["sharedEventID"]].append(r)

    # -- sessions ----------------------------------------------------------------------
    def find_session(self, ui, ev):
        key = ui.get("accessKeyId") or None
        created = parse_time(get(ui, "sessionContext", "attributes", "creationDate"))
        arn = ui.get("arn")
        role_kinds = ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity")
        exact = [i for i in self.issuances if i.kind in role_kinds and key and i.key == key
                 and created and i.time == created]
        if len(exact) > 1:
            raise AssertionError(f"ambiguous exact link for {ev.get('eventID')}")
        if exact:
            return exact[0], "exact"
        strong = [i for i in self.issuances if i.kind in role_kinds and arn and i.session_arn == arn
                  and created and i.time == created]
        if len(strong) > 1 and len({id(i.caller) for i in strong}) > 1:
            owners = {self.attr_principal(i.caller)[0] for i in strong}
            if len(owners) > 1:
                raise AssertionError(f"ambiguous ARN+creationDate link for {ev.get('eventID')}")
        if strong:
            return strong[0], "inferred"
        if not created:
            t = event_time(ev)
            weak = [i for i in self.issuances if i.kind in role_kinds and arn and i.session_arn == arn
                    and i.time and t and i.time <= t and (i.expires is None or t <= i.expires)]
            if weak:
                return max(weak, key=lambda i: i.time), "inferred"
        return None, None

    def session_attr(self, iss, link, visiting):
        if id(iss) in visiting:
            return ("unknown:" + (iss.key or ""), [iss.hop] if iss.hop else [], "unknown", iss.si)
        origin, chain, conf, si = self.attr_principal(iss.caller, visiting | {id(iss)})
        chain = chain + ([iss.hop] if iss.hop else [])
        return origin, chain, weakest(conf, link), iss.si or si

    # -- principals --------------------------------------------------------------------
    def attr_principal(self, ev, visiting=frozenset()):
        ui = ev.get("userIdentity")
        if not isinstance(ui, dict):
            return "unknown:", [], "unknown", None
        t = ui.get("type")
        key = ui.get("accessKeyId") or None
        req, resp = ev.get("requestParameters") or {}, ev.get("responseElements") or {}
        if t == "IAMUser":
            return ui["arn"], [], "exact", None
        if t == "Root":
            created = parse_time(get(ui, "sessionContext", "attributes", "creationDate"))
            for i in self.issuances:
                if i.kind == "AssumeRoot" and key and i.key == key and i.time == created:
                    return self.session_attr(i, "exact", visiting)
            return ui["arn"], [], "exact", None
        if t == "FederatedUser":
            return get(ui, "sessionContext", "sessionIssuer", "arn"), [], "exact", None
        if t == "AWSService" or (t is None and ui.get("invokedBy")):
            if ui.get("invokedBy"):
                return "service:" + ui["invokedBy"], [], "exact", None
            return "unknown:", [], "unknown", None
        if t == "SAMLUser":
            return f"saml:{req.get('principalArn')}:{resp.get('subject') or ui.get('userName')}", [], "exact", None
        if t == "WebIdentityUser":
            sub = resp.get("subjectFromWebIdentityToken") or ui.get("userName")
            return f"oidc:{ui.get('identityProvider')}:{sub}", [], "exact", None
        if t == "AWSAccount":
            for other in self.by_shared.get(ev.get("sharedEventID"), []):
                if get(other, "userIdentity", "type") not in (None, "AWSAccount"):
                    return self.attr_principal(other, visiting)
            if not ui.get("principalId") or ui.get("accountId") == "ANONYMOUS_PRINCIPAL":
                return "unknown:", [], "unknown", None
            return f"account:{ui['accountId']}:{ui['principalId']}", [], "inferred", None
        if t == "IdentityCenterUser":
            sed = ev.get("serviceEventDetails") or {}
            t0 = event_time(ev)
            for other in self.events:
                if other.get("eventName") != "AssumeRoleWithSAML" or other.get("errorCode"):
                    continue
                role_arn = get(other, "requestParameters", "roleArn") or ""
                if role_arn.split(":")[4:5] != [sed.get("account_id")]:
                    continue
                if not role_arn.rsplit("/", 1)[-1].startswith(f"AWSReservedSSO_{sed.get('role_name')}_"):
                    continue
                if t0 and abs((event_time(other) - t0).total_seconds()) <= 1:
                    origin, _, _, _ = self.attr_principal(other, visiting)
                    return origin, [], "inferred", None
            return "unknown:", [], "unknown", None
        if t == "AssumedRole":
            iss, link = self.find_session(ui, ev)
            if iss is not None:
                return self.session_attr(iss, link, visiting)
            role = get(ui, "sessionContext", "sessionIssuer", "arn")
            return ("unknown:" + (key or ""), [role] if role else [], "unknown",
                    get(ui, "sessionContext", "sourceIdentity"))
        return "unknown:", [], "unknown", None

    def attribute(self, ev):
        origin, chain, conf, si = self.attr_principal(ev)
        return {"event_id": ev["eventID"], "recipient_account": str(ev["recipientAccountId"]), "origin": origin,
                "chain": ">".join(chain), "depth": len(chain), "confidence": conf, "source_identity": si}


ORIGIN_RE = re.compile(r"^(arn:aws:iam::\d{12}:(user/.+|root)|saml:arn:aws:iam::\d{12}:saml-provider/[^:]+:.+"
                       r"|oidc:.+:.+|service:[a-z0-9.-]+\.amazonaws\.com|account:\d{12}:.+|unknown:(ASIA[A-Z0-9]{16})?)$")
HOP_RE = re.compile(r"^arn:aws:iam::\d{12}:(role/.+|root)$")
FIELDS = ["event_id", "recipient_account", "origin", "chain", "depth", "confidence", "source_identity"]


def check_scenarios():
    sdir = os.path.join(ROOT, "scenarios")
    names = sorted(n for n in os.listdir(sdir) if os.path.isdir(os.path.join(sdir, n)))
    readme = open(os.path.join(sdir, "README.md")).read() if os.path.exists(os.path.join(sdir, "README.md")) else ""
    total = 0
    for name in names:
        if f"`{name}`" not in readme:
            fail(f"scenarios/README.md does not describe {name}")
        inputs = sorted(f for f in os.listdir(os.path.join(sdir, name)) if f != "expected.json")
        records = []
        for f in inputs:
            res = read_file(f"scenarios/{name}/{f}")
            if res.file_skipped or res.problem or res.skipped:
                fail(f"scenarios/{name}/{f}: not a clean input ({res.file_skipped}, {res.problem}, {res.skipped})")
            records += res.records
        distinct = {}
        for r in records:
            distinct.setdefault(rec_key(r), r)
        with open(os.path.join(sdir, name, "expected.json")) as f:
            expected = json.load(f)
        exp_keys = [(e.get("event_id"), e.get("recipient_account")) for e in expected]
        if len(exp_keys) != len(set(exp_keys)):
            fail(f"{name}: an event appears twice in expected.json")
        if set(exp_keys) != set(distinct):
            fail(f"{name}: expected.json keys differ from the input events: "
                 f"missing {sorted(set(distinct) - set(exp_keys))}, extra {sorted(set(exp_keys) - set(distinct))}")
        att = Attributor(list(distinct.values()))
        for e in expected:
            if list(e.keys()) != FIELDS:
                fail(f"{name}: fields {list(e.keys())}")
                continue
            chain = e["chain"].split(">") if e["chain"] else []
            if e["depth"] != len(chain):
                fail(f"{name} {e['event_id']}: depth {e['depth']} but chain has {len(chain)} elements")
            if any(not HOP_RE.match(h) for h in chain):
                fail(f"{name} {e['event_id']}: malformed chain {e['chain']}")
            if not ORIGIN_RE.match(e["origin"]):
                fail(f"{name} {e['event_id']}: malformed origin {e['origin']}")
            if e["confidence"] not in RANK:
                fail(f"{name} {e['event_id']}: confidence {e['confidence']}")
            if (e["confidence"] == "unknown") != e["origin"].startswith("unknown:"):
                fail(f"{name} {e['event_id']}: confidence unknown iff origin unknown")
            if not (e["source_identity"] is None or isinstance(e["source_identity"], str)):
                fail(f"{name} {e['event_id']}: source_identity must be a string or null")
            k = (e["event_id"], e["recipient_account"])
            if k not in distinct:
                continue
            try:
                got = att.attribute(distinct[k])
            except AssertionError as err:
                fail(f"{name}: {err}")
                continue
            if got != e:
                diff = {f: (e[f], got[f]) for f in FIELDS if e[f] != got[f]}
                fail(f"{name} {e['event_id']}: expected.json and the reference attributor differ: {diff}")
        total += len(expected)
    return names, total


def check_sizes():
    size = 0
    for top in ("shapes", "hazards", "layout", "scenarios"):
        for rel in all_files(top):
            size += os.path.getsize(os.path.join(ROOT, rel))
    if size > 600_000:
        fail(f"synthetic fixtures are {size} bytes; keep them under 600 KB")
    return size


def main():
    man = check_manifest()
    check_real(man)
    check_json_and_gzip(man)
    names, n_expected = check_scenarios()
    size = check_sizes()
    d = man["directories"]
    print("directory      records_read  events  duplicates  skipped  files_skipped / problems")
    for k in ("shapes", "hazards", "layout", "real"):
        print(f"{k:<14} {d[k]['records_read']:>12} {d[k]['events']:>7} {d[k]['duplicates']:>11} "
              f"{d[k]['records_skipped']:>8}  {d[k]['files_skipped']} / {d[k]['problems']}")
    print(f"scenarios: {len(names)}, expected attributions: {n_expected}; synthetic fixture bytes: {size}")
    if FAILURES:
        print(f"\n{len(FAILURES)} check(s) failed:")
        for f in FAILURES:
            print("  - " + f)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
