#!/usr/bin/env python3
"""More events, the same sessions: copies every action of a trailgraph-gen corpus K times with
fresh eventIDs (not STS, sign-in or Identity Center calls, nor cross-account copies), into new
files beside the originals' layout. Attribution of the copies needs no new session, so a tool
whose memory grows with sessions, not events, uses about the same memory on both corpora.

usage: same_sessions.py SRC_AWSLogs OUT_AWSLogs K
"""
import gzip
import json
import os
import sys

NEW_SESSION_SOURCES = ("sts.amazonaws.com", "signin.amazonaws.com", "sso.amazonaws.com")


def main():
    src, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith(".json.gz"):
                continue
            with gzip.open(os.path.join(root, f)) as fh:
                records = json.load(fh)["Records"]
            actions = [r for r in records
                       if r.get("eventSource") not in NEW_SESSION_SOURCES and not r.get("sharedEventID")]
            rel = os.path.relpath(root, src)
            os.makedirs(os.path.join(out, rel), exist_ok=True)
            for i in range(k):
                copies = [dict(r, eventID=f"copy{i}-{r['eventID']}") for r in actions]
                name = f.replace(".json.gz", f"_copy{i}.json.gz")
                with gzip.open(os.path.join(out, rel, name), "wt", compresslevel=1) as fh:
                    json.dump({"Records": copies}, fh)


if __name__ == "__main__":
    main()
