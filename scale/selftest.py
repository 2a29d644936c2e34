#!/usr/bin/env python3
"""The exactness check of the engine's part (tests/it/scale.rs runs it): for each case, the
attribution the engines write equals `trailgraph attribute` for every event, and the engine-side
detectors give the findings `trailgraph anomalies` gives for them.

    python3 scale/selftest.py --trailgraph BIN --work DIR [--master local[2]] [--no-spark]
                              --case NAME=CASE [--case NAME=CASE ...]

Per case it runs `trailgraph attribute CASE --format parquet` and `trailgraph anomalies CASE`
(the expected answers), then the Spark driver (one Spark session for every case) and the DuckDB
driver on the same SQL, each making the identity map with `trailgraph resolve` when the case has
none, and compares per event (recipient_account, event_id; events without an event_id as a
multiset of rows) every column of `attribute`'s output. It prints one JSON line per case and
engine (what was compared, mismatches with a few examples, what the case covers), then one JSON
line for the negative controls (an altered expected answer must be caught), and exits 1 when any
check failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import duckdb_attribute  # noqa: E402
import tgcase  # noqa: E402

FINDING_KEY = ["kind", "subject", "origin", "first_event_id", "time"]


def rows_of(t: pa.Table) -> list[tuple]:
    """The attribute columns of `t` as comparable tuples (times as epoch ms, depth as int)."""
    t = tgcase.plain(t.select(tgcase.ATTRIBUTE_COLUMNS))
    cols = []
    for name in tgcase.ATTRIBUTE_COLUMNS:
        c = t.column(name)
        if pa.types.is_timestamp(c.type):
            c = c.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
        cols.append(c.to_pylist())
    return list(zip(*cols))


def compare(expected: list[tuple], got: list[tuple]) -> dict:
    """Per event: keyed by (recipient_account, event_id); rows without an event_id compared as a
    multiset."""
    ix_id = tgcase.ATTRIBUTE_COLUMNS.index("event_id")
    ix_acct = tgcase.ATTRIBUTE_COLUMNS.index("recipient_account")

    def split(rows):
        keyed, dup, loose = {}, 0, collections.Counter()
        for r in rows:
            if r[ix_id] is None:
                loose[r] += 1
                continue
            k = (r[ix_acct], r[ix_id])
            if k in keyed:
                dup += 1
            keyed[k] = r
        return keyed, dup, loose

    ek, edup, eloose = split(expected)
    gk, gdup, gloose = split(got)
    missing = [k for k in ek if k not in gk]
    extra = [k for k in gk if k not in ek]
    differ = []
    by_column = collections.Counter()
    for k, e in ek.items():
        g = gk.get(k)
        if g is not None and g != e:
            cols = [c for c, a, b in zip(tgcase.ATTRIBUTE_COLUMNS, e, g) if a != b]
            by_column.update(cols)
            differ.append((k, {c: [e[i], g[i]] for i, c in enumerate(tgcase.ATTRIBUTE_COLUMNS) if c in cols}))
    loose_diff = sum(((eloose - gloose) + (gloose - eloose)).values())
    mismatches = len(missing) + len(extra) + len(differ) + gdup + loose_diff
    return {
        "expected": len(expected),
        "got": len(got),
        "compared": len(ek) + sum(eloose.values()),
        "without_event_id": sum(eloose.values()),
        "mismatches": mismatches,
        "missing": len(missing),
        "extra": len(extra),
        "duplicated": gdup,
        "differ": len(differ),
        "differ_by_column": dict(by_column),
        "examples": [list(map(str, missing[:3])), list(map(str, extra[:3])), [str(d) for d in differ[:3]]],
    }


def read_output(out: Path) -> list[tuple]:
    return rows_of(ds.dataset(str(out), format="parquet").to_table(columns=tgcase.ATTRIBUTE_COLUMNS))


def findings_of(rows: list[dict]) -> set[tuple]:
    out = set()
    for r in rows:
        if r["kind"] not in tgcase.DETECTORS:
            continue
        t = r["time"]
        if not isinstance(t, str):
            t = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.add((r["kind"], r["subject"], r["origin"], r["first_event_id"], t))
    return out


def engine_findings(d: Path) -> set[tuple]:
    rows = []
    for name in tgcase.DETECTORS:
        rows += pq.read_table(d / f"{name}.parquet").to_pylist()
    return findings_of(rows)


def coverage(case_url: str, trailgraph: str) -> dict:
    """What a case holds that the check must cover, counted with DuckDB over the same views
    the driver defines (the map made already)."""
    case, m = tgcase.prepare(case_url, None, trailgraph, None)
    con = duckdb_attribute.connect()
    duckdb_attribute.attribute(con, case, m)
    q = """
    WITH d AS (
      SELECT e.*, ROW_NUMBER() OVER (PARTITION BY recipient_account, event_id
                                     ORDER BY source_file, record_index) AS r
      FROM events e
    ), kept AS (SELECT * FROM d WHERE r = 1 OR event_id IS NULL),
    per_event AS (
      SELECT count(*) AS n FROM kept k JOIN event_map m
        ON m.recipient_account = k.recipient_account AND m.event_id = k.event_id
    ),
    timed AS (
      SELECT count(*) AS n FROM kept k JOIN identities i ON i.identity_sig = k.identity_sig
       AND (i.valid_from IS NOT NULL OR i.valid_to IS NOT NULL)
       AND (i.valid_from IS NULL OR k.event_time >= i.valid_from)
       AND (i.valid_to IS NULL OR k.event_time < i.valid_to)
      WHERE NOT EXISTS (SELECT 1 FROM event_map m WHERE m.recipient_account = k.recipient_account AND m.event_id = k.event_id)
    )
    SELECT
      (SELECT count(*) FROM events) AS rows_read,
      (SELECT count(*) FROM kept) AS events,
      (SELECT count(*) FROM d WHERE r > 1 AND event_id IS NOT NULL) AS duplicates_across_runs,
      (SELECT count(DISTINCT source_file) FROM d WHERE r > 1 AND event_id IS NOT NULL) AS files_with_duplicates,
      (SELECT count(*) FROM kept WHERE shared_event_id IS NOT NULL) AS cross_account_copies,
      (SELECT count(*) FROM kept WHERE event_source IN ('sso.amazonaws.com', 'portal.sso.amazonaws.com')
          OR on_behalf_of_user_id IS NOT NULL) AS identity_center_events,
      (SELECT count(*) FROM kept WHERE access_key_id IS NOT NULL AND creation_date IS NULL
          AND identity_type = 'AssumedRole') AS role_events_without_creation_date,
      (SELECT n FROM per_event) AS per_event_rows_used,
      (SELECT n FROM timed) AS time_dependent_rows_used,
      (SELECT count(*) FROM identities) AS map_identities,
      (SELECT count(*) FROM identities WHERE valid_from IS NOT NULL OR valid_to IS NOT NULL) AS map_time_dependent,
      (SELECT count(*) FROM event_map) AS map_events,
      (SELECT count(DISTINCT recipient_account) FROM kept) AS accounts,
      (SELECT count(*) FROM attributed WHERE origin IS NULL AND confidence IS NULL) AS matched_no_map_row
    """
    t = con.sql(q).to_arrow_table()
    return {k: v[0] for k, v in t.to_pydict().items()}


def run_tg(trailgraph: str, args: list[str], out: Path | None = None) -> str:
    r = subprocess.run([trailgraph, *args], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise tgcase.Failure(f"trailgraph {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()[:500]}")
    return r.stdout


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trailgraph", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--no-spark", action="store_true", help="DuckDB only")
    p.add_argument("--case", action="append", default=[], help="NAME=CASE (a directory or s3://)")
    p.add_argument("--same-as", action="append", default=[],
                   help="NAME=OTHER: case NAME holds the same files as case OTHER (e.g. an S3 copy): "
                        "OTHER's expected answers are used")
    args = p.parse_args(argv)
    same_as = dict(s.split("=", 1) for s in args.same_as)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cases = [c.split("=", 1) for c in args.case]
    failed = 0
    spark = None
    if not args.no_spark:
        import spark_attribute

        t0 = time.time()
        spark = spark_attribute.session(args.master)
        print(json.dumps({"spark_session_s": round(time.time() - t0, 1)}), flush=True)
    last_expected = None
    try:
        answers = {}
        for name, url in cases:
            if name in same_as:
                expected, want_findings = answers[same_as[name]]
            else:
                expected_path = work / f"{name}.expected.parquet"
                run_tg(args.trailgraph, ["attribute", url, "--format", "parquet", "-o", str(expected_path), "-q"])
                expected = rows_of(pq.read_table(expected_path))
                anomalies = [json.loads(line) for line in run_tg(
                    args.trailgraph, ["anomalies", url, "--format", "ndjson", "-q"]).splitlines() if line.strip()]
                want_findings = findings_of(anomalies)
                answers[name] = (expected, want_findings)
            engines = ["duckdb"] + ([] if spark is None else ["spark"])
            for engine in engines:
                out, fdir = work / f"{name}.{engine}.out", work / f"{name}.{engine}.findings"
                t0 = time.time()
                drv_args = [url, str(out), "--findings", str(fdir), "--trailgraph", args.trailgraph,
                            "--stage", str(work / f"{name}.{engine}.stage")]
                if engine == "spark":
                    import spark_attribute

                    code = spark_attribute.main(drv_args + ["--master", args.master], spark=spark)
                else:
                    code = duckdb_attribute.main(drv_args)
                secs = round(time.time() - t0, 1)
                if code != 0:
                    print(json.dumps({"case": name, "engine": engine, "ok": False, "exit": code}), flush=True)
                    failed += 1
                    continue
                got = read_output(out)
                result = compare(expected, got)
                got_findings = engine_findings(fdir)
                result["findings_expected"] = len(want_findings)
                result["findings_got"] = len(got_findings)
                result["findings_missing"] = sorted(map(list, want_findings - got_findings))[:5]
                result["findings_extra"] = sorted(map(list, got_findings - want_findings))[:5]
                ok = (result["mismatches"] == 0 and result["expected"] > 0
                      and want_findings == got_findings)
                failed += 0 if ok else 1
                result.update({"case": name, "engine": engine, "ok": ok, "seconds": secs})
                print(json.dumps(result, default=str), flush=True)
                last_expected = (expected, got)
            if name not in same_as:
                cov = coverage(url, args.trailgraph)
                print(json.dumps({"case": name, "coverage": cov}, default=str), flush=True)
    finally:
        if spark is not None:
            spark.stop()
    # Negative controls: the comparison catches one altered answer and one missing event.
    if last_expected is not None:
        expected, got = last_expected
        ix = tgcase.ATTRIBUTE_COLUMNS.index("origin")
        keyed = [i for i, r in enumerate(expected) if r[0] is not None]
        altered = list(expected)
        i = keyed[len(keyed) // 2]
        altered[i] = altered[i][:ix] + ("altered:" + str(altered[i][ix]),) + altered[i][ix + 1:]
        a = compare(altered, got)
        b = compare(expected[:i] + expected[i + 1:], got)
        caught = a["mismatches"] == 1 and a["differ_by_column"] == {"origin": 1} and b["extra"] == 1
        failed += 0 if caught else 1
        print(json.dumps({"negative_controls": {"altered_origin": a["mismatches"], "dropped_event": b["extra"], "caught": caught}}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except tgcase.Failure as e:
        print(f"selftest: error: {e}", file=sys.stderr)
        sys.exit(2)
