#!/usr/bin/env python3
"""More events, the same sessions: copies every action of a trailgraph-gen corpus K times with
fresh eventIDs (not STS, sign-in or Identity Center calls, nor cross-account copies), into new
files beside the originals' layout. Attribution of the copies needs no new session, so a tool
whose memory grows with sessions, not events, uses about the same memory on both corpora.

usage: same_sessions.py SRC_AWSLogs OUT_AWSLogs K [JOBS]

JOBS (default 2) processes copy files in parallel; the output does not depend on it.
"""
import gzip
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor

NEW_SESSION_SOURCES = ("sts.amazonaws.com", "signin.amazonaws.com", "sso.amazonaws.com")


def copy_file(job):
    src_file, out_dir, k = job
    with gzip.open(src_file) as fh:
        records = json.load(fh)["Records"]
    actions = [r for r in records
               if r.get("eventSource") not in NEW_SESSION_SOURCES and not r.get("sharedEventID")]
    os.makedirs(out_dir, exist_ok=True)
    f = os.path.basename(src_file)
    for i in range(k):
        copies = [dict(r, eventID=f"copy{i}-{r['eventID']}") for r in actions]
        name = f.replace(".json.gz", f"_copy{i}.json.gz")
        with gzip.open(os.path.join(out_dir, name), "wt", compresslevel=1) as fh:
            json.dump({"Records": copies}, fh)


def main():
    src, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    jobs = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    work = []
    for root, _, files in os.walk(src):
        rel = os.path.relpath(root, src)
        for f in sorted(files):
            if f.endswith(".json.gz"):
                work.append((os.path.join(root, f), os.path.join(out, rel), k))
    if jobs <= 1:
        for job in work:
            copy_file(job)
    else:
        with ProcessPoolExecutor(jobs) as pool:
            for _ in pool.map(copy_file, work, chunksize=8):
                pass


if __name__ == "__main__":
    main()
