#!/usr/bin/env python3
"""The layouts table of bench.sh: limit, ingest and attribute on the large- and the small-file
layout, side by side, from the runs bench.sh recorded.

usage: layout_table.py RESULTS_TSV RECORDS_LARGE RECORDS_SMALL
RESULTS_TSV: one run a line: layout, step, round, wall s, cpu s, peak RSS MB, exit code, note.
"""
import collections
import statistics
import sys

LAYOUTS = ("large", "small")
RATE_TARGET = 0.8  # of the limit's records/s
RSS_TARGET = 400  # MB


def main():
    path, n_large, n_small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    records = {"large": n_large, "small": n_small}
    runs = collections.defaultdict(list)  # (layout, step) -> [(round, wall, cpu, rss, rc, note)]
    steps = []
    for line in open(path):
        lay, step, r, w, c, rss, rc, note = line.rstrip("\n").split("\t")
        runs[(lay, step)].append((int(r), float(w), float(c), int(rss), int(rc), note))
        if step not in steps:
            steps.append(step)

    cells = {}
    for lay in LAYOUTS:
        limit = {x[0]: x for x in runs[(lay, "limit")] if x[4] <= 1}
        for step in steps:
            xs = runs[(lay, step)]
            good = [x for x in xs if x[4] <= 1]
            if not good:
                cells[(lay, step)] = None, next((x[5] for x in xs if x[5]), "FAILED")
                continue
            best = max(min(x[1] for x in good), 0.01)
            paired = [x for x in good if x[0] in limit]
            wall = [limit[x[0]][1] / max(x[1], 0.01) for x in paired]
            cpu = [limit[x[0]][2] / max(x[2], 0.01) for x in paired]
            cells[(lay, step)] = (
                records[lay] / best,
                statistics.median(wall) if wall else None,
                statistics.median(cpu) if cpu else None,
                max(x[3] for x in good),
            ), ""

    print()
    print("r/s: records / fastest wall.  x limit: the step's rate as a fraction of the limit's,")
    print("median over rounds of (limit wall / step wall) within a round; cpu: the same with CPU")
    print("seconds (steadier on a loaded machine).  Verdict on ingest and attribute: x limit >= %.1f"
          % RATE_TARGET)
    print("and peak RSS < %d MB." % RSS_TARGET)
    print()
    head = "%-27s" % "step" + "".join(
        " | %9s %7s %6s %7s %-4s" % (lay + " r/s", "x limit", "cpu", "peak MB", "") for lay in LAYOUTS)
    print(head)
    print("-" * len(head))
    verdicts = []
    for step in steps:
        row = "%-27s" % step
        for lay in LAYOUTS:
            cell, note = cells[(lay, step)]
            if cell is None:
                row += " | %-38s" % note[:38]
                if step != "limit":
                    verdicts.append(("FAIL", lay, step))
                continue
            rate, wall, cpu, rss = cell
            v = ""
            if step != "limit":
                v = "PASS" if wall is not None and wall >= RATE_TARGET and rss < RSS_TARGET else "FAIL"
                verdicts.append((v, lay, step))
            fmt = lambda x: "%.2fx" % x if x is not None else "-"
            row += " | %9.0f %7s %6s %7d %-4s" % (rate, fmt(wall), fmt(cpu), rss, v)
        print(row.rstrip())
    print()
    fails = ["%s (%s)" % (s, l) for v, l, s in verdicts if v == "FAIL"]
    print("targets met: %d of %d%s" % (len(verdicts) - len(fails), len(verdicts),
                                       "; not met: " + ", ".join(fails) if fails else ""))


if __name__ == "__main__":
    main()
