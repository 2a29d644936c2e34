#!/usr/bin/env python3
"""The peer a user reaches for: DuckDB over the same CloudTrail .json.gz files.

It reads every file with read_json (the {"Records": [...]} object, Records
unnested), keeps one row per (eventID, recipientAccountId), and does the
issued-key join that session stitching needs: a recursive CTE from each
event's userIdentity.accessKeyId (+ sessionContext.attributes.creationDate)
to the AssumeRole* / GetSessionToken / GetFederationToken / AssumeRoot record
whose responseElements.credentials.accessKeyId (+ eventTime) matches, then
on through that caller's key, until no issuance matches. The last identity
reached is the origin, in trailgraph's canonical origin strings.

It is the peer, not a second product: it does not pair cross-account copies
by sharedEventID, has no ARN + creationDate fallback (console SwitchRole,
Identity Center), and counts GetSessionToken/GetFederationToken as a hop.

Usage: duckdb_peer.py CORPUS_DIR [--threads 2] [--out result.ndjson]
Prints wall time and records/s on stdout.
"""

import argparse
import glob
import os
import sys
import time

import duckdb

ISSUANCES = (
    "'AssumeRole','AssumeRoleWithSAML','AssumeRoleWithWebIdentity',"
    "'GetSessionToken','GetFederationToken','AssumeRoot'"
)

FIELDS = [
    ("event_id", "$.eventID"),
    ("recipient", "$.recipientAccountId"),
    ("event_time", "$.eventTime"),
    ("event_name", "$.eventName"),
    ("error_code", "$.errorCode"),
    ("ui_type", "$.userIdentity.type"),
    ("ui_arn", "$.userIdentity.arn"),
    ("ui_account", "$.userIdentity.accountId"),
    ("ui_principal", "$.userIdentity.principalId"),
    ("ui_user", "$.userIdentity.userName"),
    ("invoked_by", "$.userIdentity.invokedBy"),
    ("idp", "$.userIdentity.identityProvider"),
    ("key", "$.userIdentity.accessKeyId"),
    ("created", "$.userIdentity.sessionContext.attributes.creationDate"),
    ("issuer_arn", "$.userIdentity.sessionContext.sessionIssuer.arn"),
    ("issued_key", "$.responseElements.credentials.accessKeyId"),
    ("principal_arn", "$.requestParameters.principalArn"),
    ("subject", "$.responseElements.subject"),
]

LOAD_READ_JSON = f"""
CREATE TABLE ev AS
WITH raw AS (
    SELECT unnest(Records) AS r
    FROM read_json(?, format = 'auto', columns = {{'Records': 'JSON[]'}},
                   maximum_object_size = 33554432)
),
flat AS (
    SELECT {", ".join(f"r->>'{p}' AS {n}" for n, p in FIELDS)} FROM raw
)
SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY event_id, recipient) AS rn FROM flat
) WHERE rn = 1
"""

# read_json_objects + json_extract('$.Records[*]') + unnest is the fast way to
# get one JSON value per record out of {"Records": [...]} files in DuckDB
# (read_json(..., columns={'Records': 'JSON[]'}) gives the same rows ~10x
# slower, and schema auto-detection fails on heterogeneous CloudTrail files).
LOAD = f"""
CREATE TABLE ev AS
WITH raw AS (
    SELECT unnest(json_extract(json, '$.Records[*]')) AS r
    FROM read_json_objects(?, format = 'auto', maximum_object_size = 33554432)
),
flat AS (
    SELECT {", ".join(f"r->>'{p}' AS {n}" for n, p in FIELDS)} FROM raw
)
SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY event_id, recipient) AS rn FROM flat
) WHERE rn = 1
"""

ORIGIN = """
CASE ui_type
    WHEN 'IAMUser' THEN ui_arn
    WHEN 'Root' THEN ui_arn
    WHEN 'FederatedUser' THEN issuer_arn
    WHEN 'AWSService' THEN 'service:' || invoked_by
    WHEN 'SAMLUser' THEN 'saml:' || principal_arn || ':' || subject
    WHEN 'WebIdentityUser' THEN 'oidc:' || idp || ':' || ui_user
    WHEN 'AWSAccount' THEN 'account:' || ui_account || ':' || ui_principal
    ELSE 'unknown:' || coalesce(key, '')
END
"""

ISS = f"""
CREATE TABLE iss AS
SELECT issued_key, event_time, key, created, {ORIGIN} AS origin
FROM (
    SELECT *, row_number() OVER (
        PARTITION BY issued_key, event_time
        ORDER BY (ui_type = 'AWSAccount'), event_id) AS rn
    FROM ev
    WHERE event_name IN ({ISSUANCES}) AND error_code IS NULL AND issued_key IS NOT NULL
) WHERE rn = 1
"""

WALK = f"""
CREATE TABLE result AS
WITH RECURSIVE walk(event_id, recipient, k, created, origin, depth) AS (
    SELECT event_id, recipient, key, created, {ORIGIN}, 0 FROM ev
    UNION ALL
    SELECT w.event_id, w.recipient, i.key, i.created, i.origin, w.depth + 1
    FROM walk w JOIN iss i ON i.issued_key = w.k AND i.event_time = w.created
    WHERE w.depth < 12
)
SELECT event_id, recipient AS recipient_account,
       arg_max(origin, depth) AS origin, max(depth) AS depth
FROM walk GROUP BY event_id, recipient
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", help="directory holding AWSLogs/…/*.json.gz")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="16GB")
    ap.add_argument("--out", help="write one NDJSON line per event (origin, depth)")
    ap.add_argument(
        "--reader",
        choices=["objects", "read_json"],
        default="objects",
        help="objects: read_json_objects + json_extract (default, fastest); "
        "read_json: read_json(columns={'Records': 'JSON[]'}) + unnest",
    )
    args = ap.parse_args()

    files = sorted(glob.glob(os.path.join(args.corpus, "**", "*.json.gz"), recursive=True))
    if not files:
        print(f"no .json.gz under {args.corpus}", file=sys.stderr)
        return 2
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute("SET preserve_insertion_order = false")

    t0 = time.perf_counter()
    con.execute(LOAD if args.reader == "objects" else LOAD_READ_JSON, [files])
    t1 = time.perf_counter()
    con.execute(ISS)
    con.execute(WALK)
    t2 = time.perf_counter()
    events = con.execute("SELECT count(*) FROM ev").fetchone()[0]
    stats = con.execute(
        "SELECT count(*) FILTER (WHERE depth > 0), max(depth), "
        "count(*) FILTER (WHERE origin LIKE 'unknown:%') FROM result"
    ).fetchone()
    if args.out:
        con.execute(f"COPY (SELECT * FROM result ORDER BY event_id, recipient_account) TO '{args.out}' (FORMAT json)")
    wall = t2 - t0
    print(f"duckdb {duckdb.__version__}, threads={args.threads}, reader={args.reader}, files={len(files)}")
    print(f"distinct events   {events}")
    print(f"load ({args.reader:9s}) {t1 - t0:.2f} s")
    print(f"issued-key walk   {t2 - t1:.2f} s")
    print(f"wall              {wall:.2f} s")
    print(f"events/s          {events / wall:.0f}")
    print(f"linked events     {stats[0]}  max depth {stats[1]}  unknown origins {stats[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
