#!/usr/bin/env python3
"""`trailgraph resolve` at 1x and 4x the events over the same sessions (trailgraph issue 17,
point 3): wall time, CPU time, peak RSS and the map's rows, beside `attribute --format parquet`
on the same case. A figure printed, not a timed test.

    python3 benches/resolve_scale.py ONE_X EXTRA [--bin target/release/trailgraph] [--runs 3]

ONE_X is a trailgraph-gen corpus (its AWSLogs/ directory or the corpus directory), EXTRA the
3 copies of every action `benches/same_sessions.py ONE_X EXTRA 3` writes: the 1x case is
`ingest ONE_X`, the 4x case `ingest ONE_X EXTRA`. The cases and maps are written into a
temporary directory and deleted afterwards. Each command runs --runs times; the best wall and
CPU times, and the peak RSS of the best wall-time run, are printed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd):
    """(wall s, cpu s, peak RSS MB) of one run of cmd."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", t.name] + cmd,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall, user, sys_, rss = t.read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss) / 1024


def best(cmd, runs):
    results = [timed(cmd) for _ in range(runs)]
    wall = min(results, key=lambda r: r[0])
    return wall[0], min(r[1] for r in results), wall[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("one_x")
    ap.add_argument("extra")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "trailgraph"))
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="resolve-scale-")
    try:
        rows = []
        for label, inputs in (("1x", [a.one_x]), ("4x", [a.one_x, a.extra])):
            case = os.path.join(work, f"case{label}")
            subprocess.run([a.bin, "ingest", "-q", *inputs, "-o", case], check=True)
            mapdir = os.path.join(work, f"map{label}")
            r = best([a.bin, "resolve", "-q", case, "-o", mapdir], a.runs)
            counts = json.load(open(os.path.join(mapdir, "resolve.json")))["counts"]
            att = best([a.bin, "attribute", "-q", case, "--format", "parquet",
                        "-o", os.path.join(work, f"attr{label}.parquet")], a.runs)
            rows.append((label, counts, r, att))
            shutil.rmtree(case)
        print("| corpus | events | sessions | identities (time-dependent) | identities rows "
              "(with interval) | events rows | resolve wall s | CPU s | peak RSS MB | "
              "attribute -f parquet wall s | CPU s | peak RSS MB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for label, c, r, att in rows:
            print(f"| {label} | {c['events']:,} | {c['sessions']:,} | {c['identities']:,} "
                  f"({c['time_dependent_identities']:,}) | {c['identity_rows']:,} "
                  f"({c['interval_rows']:,}) | {c['event_rows']:,} | {r[0]:.2f} | {r[1]:.2f} | "
                  f"{r[2]:.0f} | {att[0]:.2f} | {att[1]:.2f} | {att[2]:.0f} |")
        (_, c1, r1, _), (_, c4, r4, _) = rows
        print(f"\n4x/1x: events {c4['events'] / c1['events']:.2f}, identities rows "
              f"{c4['identity_rows'] / max(c1['identity_rows'], 1):.2f}, resolve peak RSS "
              f"{r4[2] / r1[2]:.2f}, wall {r4[0] / r1[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
