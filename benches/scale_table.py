#!/usr/bin/env python3
"""The scale table of bench.sh: time, records/s and peak RSS of each step, and a projection to
100 M events a day on N cores.

usage: scale_table.py RESULTS_TSV RECORDS "CORES..." ["STEP=F ..."]
RESULTS_TSV: one step a line: step, wall s, cpu s, peak RSS MB, exit code, note.
STEP=F overrides a step's parallel fraction (e.g. one measured on an idle machine).

Assumptions: time is linear in events (the CPU seconds per event measured here), and each step
follows Amdahl's law with its parallel fraction f, measured from cpu/wall on the 2 threads used:
speedup s = cpu / wall = 1 / ((1 - f) + f / 2), so f = 2 (1 - 1 / s), clamped to [0, 1].
Hours for 100 M events on N cores = 1e8 * (cpu / records) * ((1 - f) + f / N) / 3600.
"""
import sys

DAY = 100e6


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    cores = [int(c) for c in sys.argv[3].split()]
    override = dict(kv.split("=") for kv in (sys.argv[4].split() if len(sys.argv) > 4 else []))
    rows = []
    for line in open(path):
        step, w, c, rss, rc, note = line.rstrip("\n").split("\t")
        rows.append((step, float(w), float(c), int(rss), int(rc), note))
    print()
    print("%-8s %10s %9s %9s %11s %9s %9s %9s" % (
        "step", "records", "wall s", "cpu s", "records/s", "cpu/wall", "f", "peak MB"))
    ok = []
    starved = []
    for step, w, c, rss, rc, note in rows:
        if rc > 1:
            print("%-8s %s" % (step, note or "FAILED (exit %d)" % rc))
            continue
        w = max(w, 0.01)
        s = c / w
        f = min(max(2 * (1 - 1 / s), 0.0), 1.0) if s > 0 else 0.0
        if s < 1:
            starved.append(step)
        src = "measured"
        if step in override:
            f, src = float(override[step]), "given"
        ok.append((step, c / n, f, rss))
        print("%-8s %10d %9.1f %9.1f %11.0f %9.2f %9s %9d  %s" % (
            step, n, w, c, n / w, s, "%.2f%s" % (f, "" if src == "measured" else "*"), rss, note))
    if not ok:
        return
    if starved:
        print()
        print("note: %s got less than one core on average (cpu/wall < 1): the machine was loaded, so"
              % ", ".join(starved))
        print("the parallel fraction cannot be measured here; f = 0 treats the step as serial (an")
        print("upper bound on time). The last column (f = 1, perfectly parallel) is the lower bound.")
    if override:
        print("(* parallel fraction given, not measured: %s)" % sys.argv[4])
    print()
    print("projection to 100 M events (time linear in events; CPU s per event as measured; Amdahl")
    print("with the parallel fraction f above):")
    print()
    hdr = "%-6s" % "cores" + "".join(" %10s" % ("%s h" % s) for s, _, _, _ in ok)
    hdr += " %9s %14s %12s" % ("total h", "M events/day", "total h f=1")
    print(hdr)
    for k in cores:
        hours = [DAY * per * ((1 - f) + f / k) / 3600 for _, per, f, _ in ok]
        total = sum(hours)
        best = sum(DAY * per / k / 3600 for _, per, _, _ in ok)
        print("%-6d" % k + "".join(" %10.2f" % h for h in hours)
              + " %9.2f %14.0f %12.2f" % (total, 100 * 24 / total if total > 0 else 0, best))
    print()
    for step, per, f, rss in ok:
        print("%s: peak RSS %d MB at %.2f M records; if it grew linearly with events, %.1f GB at 100 M"
              % (step, rss, n / 1e6, rss * DAY / n / 1024))
    print("(the every-analysis section shows which commands stay bounded: 4x/1x <= 1.15)")


if __name__ == "__main__":
    main()
