#!/usr/bin/env python3
"""The engine's part on this machine: for each INPUT (log directories, e.g. the 1x and 4x
corpora), `trailgraph ingest` into a partitioned case, `trailgraph resolve` (the map's size),
`trailgraph attribute CASE --format parquet`, then the join on Spark (local mode, one session
for all inputs, its start-up timed apart) and on DuckDB, through the shipped drivers; wall
seconds and peak RSS of each trailgraph step (GNU time), wall seconds of each engine run. Not a
test: it prints a Markdown table (README "Beyond one machine" quotes it).

    target/scale-venv/bin/python3 benches/scale_join.py --trailgraph target/release/trailgraph \\
        [--master local[2]] [--work DIR] INPUT...
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scale"))

import duckdb_attribute  # noqa: E402
import spark_attribute  # noqa: E402


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of `cmd`, through GNU time."""
    t0 = time.time()
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.time() - t0
    if r.returncode not in (0, 1):
        sys.exit(f"scale_join: {' '.join(cmd)}: exit {r.returncode}: {r.stderr[-800:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return wall, int(m.group(1)) // 1024 if m else -1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trailgraph", required=True)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--work")
    p.add_argument("inputs", nargs="+")
    a = p.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="scale-join-"))
    tg = a.trailgraph
    t0 = time.time()
    spark = spark_attribute.session(a.master)
    session_s = time.time() - t0
    rows = []
    for i, inp in enumerate(a.inputs):
        case, mp = work / f"case{i}", work / f"map{i}"
        ingest = timed([tg, "ingest", "-q", inp, "-o", str(case)])
        resolve = timed([tg, "resolve", str(case), "-o", str(mp), "-q"])
        attribute = timed([tg, "attribute", str(case), "--format", "parquet", "-o", str(work / f"attr{i}.parquet"), "-q"])
        info = json.loads((mp / "resolve.json").read_text()) if (mp / "resolve.json").exists() else {}
        sizes = {f: (mp / f).stat().st_size for f in ("identities.parquet", "events.parquet") if (mp / f).exists()}
        args = [str(case), str(work / f"out{i}.spark"), "--map", str(mp), "--trailgraph", tg]
        t0 = time.time()
        assert spark_attribute.main(args + ["--master", a.master], spark=spark) == 0
        spark_s = time.time() - t0
        t0 = time.time()
        assert duckdb_attribute.main([str(case), str(work / f"out{i}.duckdb"), "--map", str(mp), "--trailgraph", tg]) == 0
        duck_s = time.time() - t0
        rows.append((inp, ingest, resolve, attribute, spark_s, duck_s, sizes, info))
    spark.stop()
    print(f"Spark session start ({a.master}): {session_s:.1f} s\n")
    print("| input | ingest s / MB | resolve s / MB | map | "
          "`attribute` s / MB | Spark join s | DuckDB join s |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for inp, ing, res, att, sp, du, sizes, info in rows:
        c = info.get("counts", {})
        mapsize = (f"{c.get('events', '?')} events: {c.get('identity_rows', '?')} identity rows "
                   f"({c.get('interval_rows', '?')} with an interval), {c.get('event_rows', '?')} per-event rows; "
                   f"{sum(sizes.values()) / 1e6:.1f} MB")
        print(f"| {inp} | {ing[0]:.1f} / {ing[1]} | {res[0]:.1f} / {res[1]} | {mapsize} | "
              f"{att[0]:.1f} / {att[1]} | {sp:.1f} | {du:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
