#!/usr/bin/env python3
"""Peak memory of `trailgraph ingest` on single huge files (trailgraph issue 14, point 4).

Writes, on the fly into TMPDIR (never committed), files made of the testdata records repeated
with new event ids, then runs `trailgraph ingest FILE -o CASE -q` on each under
`/usr/bin/time -f '%M %e'` and prints peak RSS, wall time and the records line. Everything it
wrote is deleted afterwards.

    python3 benches/stream_rss.py [--gb 6] [--bin target/release/trailgraph] [--only ndjson,...]

Files: `ndjson` (one record a line), `jsonl.gz` (the same, gzip -1), `records` (one
`{"Records":[...]}` document on one line, as CloudTrail writes them), `bomb` (3 GB of zeros
gzipped: must be refused quickly, in little memory). One file at a time: needs about
1.1 x GB + 3 GB of free disk (the file and the case).
"""

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def templates():
    """Compact JSON of the testdata records, split around the event id."""
    recs = []

    def take(doc):
        if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
            for r in doc["Records"]:
                take(r)
        elif isinstance(doc, list):
            for r in doc:
                take(r)
        elif isinstance(doc, dict) and "eventName" in doc and "eventID" in doc:
            recs.append(doc)

    for base in ["testdata/shapes/records.jsonl", "testdata/real"]:
        paths = []
        full = os.path.join(ROOT, base)
        if os.path.isdir(full):
            for d, _, fs in os.walk(full):
                paths += [os.path.join(d, f) for f in sorted(fs)]
        else:
            paths.append(full)
        for p in sorted(paths):
            try:
                raw = open(p, "rb").read()
                if raw[:2] == b"\x1f\x8b":
                    raw = gzip.decompress(raw)
                text = raw.decode("utf-8")
            except (OSError, UnicodeDecodeError, EOFError):
                continue
            try:
                take(json.loads(text))
            except ValueError:
                for line in text.splitlines():
                    try:
                        take(json.loads(line))
                    except ValueError:
                        pass
    out = []
    for r in recs[:5000]:
        r = dict(r)
        r["eventID"] = "\x00ID\x00"
        pre, post = json.dumps(r, separators=(",", ":")).split('"\\u0000ID\\u0000"')
        out.append((pre.encode(), post.encode()))
    if not out:
        sys.exit("no testdata records found")
    return out


def write_records(out, gb, sep, head=b"", tail=b""):
    """Writes records until `gb` GB; returns how many."""
    tpl = templates()
    target = int(gb * 1e9)
    n = written = 0
    out.write(head)
    buf = []
    while written < target:
        pre, post = tpl[n % len(tpl)]
        rec = b"%s\"%08x-0000-4000-8000-%012x\"%s" % (pre, n >> 20, n, post)
        if n:
            buf.append(sep)
        buf.append(rec)
        written += len(rec) + len(sep)
        n += 1
        if len(buf) > 20000:
            out.write(b"".join(buf))
            buf = []
    out.write(b"".join(buf))
    out.write(tail)
    return n


def make(kind, path, gb):
    t0 = time.time()
    if kind == "ndjson":
        with open(path, "wb", buffering=1 << 20) as f:
            n = write_records(f, gb, b"\n", tail=b"\n")
    elif kind == "records":
        with open(path, "wb", buffering=1 << 20) as f:
            n = write_records(f, gb, b",", head=b'{"Records":[', tail=b"]}")
    elif kind == "jsonl.gz":
        with open(path, "wb") as f:
            gz = subprocess.Popen(["gzip", "-1", "-c"], stdin=subprocess.PIPE, stdout=f)
            n = write_records(gz.stdin, gb, b"\n", tail=b"\n")
            gz.stdin.close()
            if gz.wait() != 0:
                sys.exit("gzip failed")
    elif kind == "bomb":
        with open(path, "wb") as f:
            gz = subprocess.Popen(["gzip", "-9", "-c"], stdin=subprocess.PIPE, stdout=f)
            block = b"\0" * (1 << 20)
            for _ in range(int(gb * 1000)):
                gz.stdin.write(block)
            gz.stdin.close()
            gz.wait()
        n = 0
    print(f"  wrote {path}: {os.path.getsize(path) / 1e9:.2f} GB stored, {n} records, "
          f"{time.time() - t0:.0f} s", flush=True)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=6.0, help="decompressed size of each file")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/trailgraph"))
    ap.add_argument("--only", default="ndjson,jsonl.gz,records,bomb")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="trailgraph-stream-", dir=os.environ.get("TMPDIR"))
    free = shutil.disk_usage(tmp).free
    need = a.gb * 1.1e9 + 3e9
    if free < need:
        sys.exit(f"{tmp}: {free / 1e9:.1f} GB free, {need / 1e9:.1f} GB needed")
    print(f"binary {a.bin}; files of {a.gb} GB in {tmp} ({free / 1e9:.0f} GB free)")
    try:
        for kind in a.only.split(","):
            path = os.path.join(tmp, "big." + ("json" if kind == "records" else
                                              "json.gz" if kind == "bomb" else kind))
            n = make(kind, path, 3.0 if kind == "bomb" else a.gb)
            case = os.path.join(tmp, "case")
            cmd = ["/usr/bin/time", "-f", "%M %e", a.bin, "ingest", path, "-o", case, "-q"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            kb, wall = r.stderr.strip().splitlines()[-1].split()
            line = (r.stdout.strip().splitlines() or [""])[0]
            problems = [l for l in r.stderr.strip().splitlines()[:-1]][:3]
            print(f"{kind:9} peak RSS {int(kb) / 1024:7.0f} MB  wall {float(wall):6.1f} s  "
                  f"exit {r.returncode}  generated {n} records", flush=True)
            print(f"          {line}")
            for p in problems:
                print(f"          stderr: {p[:200]}")
            os.remove(path)
            shutil.rmtree(case, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
