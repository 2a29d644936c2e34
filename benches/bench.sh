#!/usr/bin/env bash
# trailgraph benchmark: throughput and memory on a generated >= 1 GB (raw JSON)
# CloudTrail corpus, against `gzip -dc` and a DuckDB peer, plus a correctness
# line against the generator's ground truth. See benches/README.md.
#
# Environment (all optional):
#   BENCH_RECORDS=800000      records in the big corpus (>= 1 GB raw JSON)
#   BENCH_SMALL_RECORDS=20000 records in the correctness corpus
#   BENCH_SEED=1 BENCH_ACCOUNTS=4
#   BENCH_CPUS=0,1            cores to pin to when the machine has more than 2
#   BENCH_REPEAT=1            runs per step (the fastest is kept)
#   BENCH_NO_BUILD=1          use the binaries already in target/release
#   BENCH_SKIP_DUCKDB=1       do not run (or install) the DuckDB peer
#   BENCH_MEMORY_RECORDS=300000 records of the memory corpus (then with 3 copies of every action; 0 skips)
#   BENCH_PAIRS=5             rounds of limit, ingest and attribute back to back (0 skips)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac

RECORDS=${BENCH_RECORDS:-800000}
SMALL=${BENCH_SMALL_RECORDS:-20000}
SEED=${BENCH_SEED:-1}
ACCOUNTS=${BENCH_ACCOUNTS:-4}
TG=$target/release/trailgraph
GEN=$target/release/trailgraph-gen
work=$target/bench-work
logs=$work/logs
mkdir -p "$logs"

say() { printf '%s\n' "$*"; }
hr() { say ""; say "== $*"; }

# ---------------------------------------------------------------- build
hr "build"
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    say "cargo build --release --bins"
    cargo build --release --bins --quiet
fi
for b in "$TG" "$GEN" "$target/release/trailgraph-limit"; do
    [ -x "$b" ] || { say "missing $b (build failed?)"; exit 2; }
done

# ---------------------------------------------------------------- machine
hr "machine"
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo 2>/dev/null || true)
say "cores: $(nproc)  cpu: ${cpu:-unknown}  memory: ${mem:-unknown}"
say "trailgraph: $("$TG" --version 2>/dev/null || echo unknown)  git: $(git rev-parse --short HEAD 2>/dev/null || echo none)"

PIN=()
if [ "$(nproc)" -gt 2 ] && command -v taskset >/dev/null; then
    PIN=(taskset -c "${BENCH_CPUS:-0,1}")
    say "pinned to cores ${BENCH_CPUS:-0,1} (taskset)"
fi
export RAYON_NUM_THREADS=2 POLARS_MAX_THREADS=2

GNU_TIME=""
if [ -x /usr/bin/time ] && /usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null; then
    GNU_TIME=/usr/bin/time
    say "timing: /usr/bin/time (wall and user+sys seconds, peak RSS of the largest process)"
else
    say "timing: /usr/bin/time not available; python3 getrusage wrapper"
fi

# timed NAME CMD... : runs CMD pinned, stdout/stderr to logs/NAME.{out,err};
# sets T_WALL (s), T_CPU (user+sys s), T_RSS (MB), T_RC. With BENCH_REPEAT=n
# it runs n times and keeps the fastest wall time, the smallest CPU time, the
# largest RSS and the worst exit code; $T_PRE (if set) is evaluated before each
# run.
REPEAT=${BENCH_REPEAT:-1}
T_PRE=""
timed() {
    local name=$1
    shift
    local tf=$logs/$name.time i rc w kb u sy c best="" cpu="" rss=0
    T_RC=0
    for ((i = 0; i < REPEAT; i++)); do
        [ -z "$T_PRE" ] || eval "$T_PRE"
        rc=0
        if [ -n "$GNU_TIME" ]; then
            "${PIN[@]}" "$GNU_TIME" -f '%e %M %U %S' -o "$tf" "$@" >"$logs/$name.out" 2>"$logs/$name.err" || rc=$?
        else
            "${PIN[@]}" python3 -c '
import resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.call(sys.argv[2:])
w = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.2f %d %.2f %.2f\n" % (w, ru.ru_maxrss, ru.ru_utime, ru.ru_stime))
sys.exit(rc)' "$tf" "$@" >"$logs/$name.out" 2>"$logs/$name.err" || rc=$?
        fi
        read -r w kb u sy < <(tail -n1 "$tf" | grep -Eo '^[0-9.]+ [0-9]+ [0-9.]+ [0-9.]+$' || echo "0 0 0 0")
        c=$(awk -v a="$u" -v b="$sy" 'BEGIN { printf "%.2f", a + b }')
        if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$w; fi
        if [ -z "$cpu" ] || awk -v a="$c" -v b="$cpu" 'BEGIN { exit !(a < b) }'; then cpu=$c; fi
        [ "$kb" -le "$rss" ] || rss=$kb
        [ "$rc" -le "$T_RC" ] || T_RC=$rc
    done
    T_PRE=""
    T_WALL=$best
    T_CPU=$cpu
    T_RSS=$((rss / 1024))
}

# ---------------------------------------------------------------- corpora
genhash=$(cat "$here"/gen/*.rs | sha256sum | cut -c1-10)
corpus_dir() { echo "$target/bench-corpus/n$1-s$SEED-a$ACCOUNTS-$genhash"; }

generate() {
    local n=$1 dir
    dir=$(corpus_dir "$n")
    if [ -f "$dir/MANIFEST.json" ] && [ -f "$dir/truth.ndjson" ]; then
        say "cached: $dir"
    else
        rm -rf "$dir.tmp"
        mkdir -p "$dir.tmp"
        say "generating $n records into $dir"
        REPEAT=1 timed "gen-$n" "$GEN" --out "$dir.tmp/corpus" --records "$n" --seed "$SEED" \
            --accounts "$ACCOUNTS" --truth "$dir.tmp/truth.ndjson"
        [ "$T_RC" = 0 ] || { cat "$logs/gen-$n.err"; exit 2; }
        say "generated in ${T_WALL} s (peak ${T_RSS} MB)"
        mv "$dir.tmp/corpus/MANIFEST.json" "$dir.tmp/MANIFEST.json"
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
    fi
}

mf() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/MANIFEST.json" "$2"; }

hr "corpus"
generate "$RECORDS"
BIG=$(corpus_dir "$RECORDS")
CORPUS=$BIG/corpus
N=$(mf "$BIG" records)
FILES=$(mf "$BIG" files)
GZB=$(mf "$BIG" gz_bytes)
RAWB=$(mf "$BIG" raw_json_bytes)
GZMB=$(awk -v b="$GZB" 'BEGIN {printf "%.1f", b/1e6}')
RAWMB=$(awk -v b="$RAWB" 'BEGIN {printf "%.1f", b/1e6}')
say "files $FILES   gz ${GZMB} MB   raw JSON ${RAWMB} MB   records $N ($(mf "$BIG" distinct_events) distinct)"
say "span $(mf "$BIG" first_event_time) .. $(mf "$BIG" last_event_time)   accounts $ACCOUNTS   seed $SEED"
if [ "$RAWB" -lt 1000000000 ]; then
    say "note: raw JSON is under 1 GB; raise BENCH_RECORDS"
fi

# ---------------------------------------------------------------- commands
HELP=$("$TG" --help 2>&1 || true)
has() { grep -qE "^  $1( |$)" <<<"$HELP"; }
flag() { "$TG" "$1" --help 2>&1 | grep -qE -- "$2"; }

rows=()
row() { # row LABEL WALL RSS [NOTE]  (CPU from T_CPU)
    local label=$1 w=$2 rss=$3 note=${4:-}
    if [ "$w" = "-" ]; then
        rows+=("$(printf '%-38s %s' "$label" "$note")")
        return
    fi
    rows+=("$(awk -v l="$label" -v w="$w" -v c="$T_CPU" -v n="$N" -v g="$GZB" -v r="$RAWB" -v m="$rss" -v note="$note" 'BEGIN {
        if (w <= 0) w = 0.01;
        printf "%-38s %8.2f %8.2f %12.0f %9.1f %9.1f %9d", l, w, c, n/w, g/1e6/w, r/1e6/w, m
        if (note != "") printf "  %s", note }')")
}
status_note() { # after timed NAME: describe a non-zero exit
    case $T_RC in
        0) echo "" ;;
        1) echo "(exit 1: finished, some input skipped)" ;;
        *) if grep -qi 'not implemented' "$logs/$1.err" 2>/dev/null; then
               echo "not available (not implemented in this build)"
           else
               echo "FAILED (exit $T_RC): $(tail -n1 "$logs/$1.err" 2>/dev/null | cut -c1-80)"
           fi ;;
    esac
}
# record KEY LABEL: after timed KEY, add the row and keep the wall time for
# ratios only when the command finished (exit 0 or 1).
record() {
    local key=$1 label=$2
    if [ "$T_RC" -le 1 ]; then
        WALL[$key]=$T_WALL
        CPU[$key]=$T_CPU
        row "$label" "$T_WALL" "$T_RSS" "$(status_note "$key")"
    else
        WALL[$key]=""
        CPU[$key]=""
        row "$label" - - "$(status_note "$key")"
    fi
}
declare -A WALL=() CPU=()

hr "measurements (same files, same cores; page cache warm)"
# Warm the page cache, then measure decompression alone.
find "$CORPUS" -name '*.gz' -print0 | xargs -0 cat >/dev/null
timed gzip bash -c "find '$CORPUS' -name '*.gz' -print0 | xargs -0 -P2 -n 64 gzip -dc > /dev/null"
record gzip "gzip -dc (xargs -P2)"
# The decompress+parse limit: gunzip + deserialise every record into a borrowed serde struct,
# two rayon threads, nothing else (benches/limit.rs). The ingest target is >= 0.8x this.
LIMIT=$target/release/trailgraph-limit
if [ -x "$LIMIT" ]; then
    timed limit "$LIMIT" "$CORPUS"
    record limit "decompress+parse limit (2 threads)"
else
    row "decompress+parse limit" - - "not available (build trailgraph-limit)"
fi

THREADS=()
CASE=$work/case
REPORT=$work/report
if has ingest; then
    flag ingest '--threads' && THREADS=(-j 2)
    T_PRE='rm -rf "$CASE"'
    timed ingest "$TG" ingest "$CORPUS" -o "$CASE" -q "${THREADS[@]}"
    record ingest "trailgraph ingest"
else
    row "trailgraph ingest" - - "not available"
fi

if has attribute; then
    timed attribute "$TG" attribute "$CORPUS" --format csv -o /dev/null -q "${THREADS[@]}"
    record attribute "trailgraph attribute (raw logs)"
    if flag attribute '--in-memory-limit'; then
        # What input over the in-memory limit does: a scratch case, streamed.
        timed attribute_stream "$TG" attribute "$CORPUS" --in-memory-limit 0 --format csv -o /dev/null -q "${THREADS[@]}"
        record attribute_stream "trailgraph attribute (streamed logs)"
    fi
    if [ -n "${WALL[ingest]:-}" ]; then
        timed attribute_case "$TG" attribute "$CASE" --format csv -o /dev/null -q "${THREADS[@]}"
        record attribute_case "trailgraph attribute (case, streamed)"
    fi
else
    row "trailgraph attribute" - - "not available"
fi

if has anomalies; then
    timed anomalies "$TG" anomalies "$CORPUS" -q -o /dev/null "${THREADS[@]}"
    record anomalies "trailgraph anomalies (raw logs)"
else
    row "trailgraph anomalies" - - "not available"
fi

if has report; then
    T_PRE='rm -rf "$REPORT"'
    timed report "$TG" report "$CORPUS" -o "$REPORT" -q "${THREADS[@]}"
    record report "trailgraph report (raw logs)"
else
    row "trailgraph report" - - "not available"
fi

# DuckDB peer
VENV=$target/bench-venv
duck_ok=0
if [ "${BENCH_SKIP_DUCKDB:-0}" = 1 ]; then
    row "DuckDB peer" - - "skipped (BENCH_SKIP_DUCKDB=1)"
else
    if ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
        say "installing duckdb into $VENV (pip)"
        { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q duckdb; } >"$logs/pip.log" 2>&1 || true
    fi
    if "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
        duck_ok=1
        timed duckdb "$VENV/bin/python" "$here/duckdb_peer.py" "$CORPUS" --threads 2
        record duckdb "DuckDB peer (issued-key join)"
    else
        row "DuckDB peer" - - "not available (pip install duckdb failed, see $logs/pip.log)"
    fi
fi

say ""
printf '%-38s %8s %8s %12s %9s %9s %9s\n' "step" "wall s" "cpu s" "records/s" "gz MB/s" "raw MB/s" "peak MB"
for r in "${rows[@]}"; do say "$r"; done

# who latency on the case store
hr "who latency (case store)"
if has who && [ -n "${WALL[ingest]:-}" ]; then
    eid=$(python3 -c '
import json, sys
best = None
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["depth"] >= 3 and t["confidence"] == "exact":
        best = t["event_id"]; break
print(best or json.loads(open(sys.argv[1]).readline())["event_id"])' "$BIG/truth.ndjson")
    lat=()
    for i in 1 2 3; do
        REPEAT=1 timed "who-$i" "$TG" who "$CASE" "$eid"
        lat+=("$T_WALL")
    done
    say "trailgraph who CASE $eid"
    say "wall s: ${lat[*]} (three runs)   exit $T_RC   peak ${T_RSS} MB"
else
    say "not available (needs the who and ingest commands)"
fi

# memory: the same sessions, more events
hr "memory: the same sessions, 4x the events (attribute --format csv)"
MEM_RECORDS=${BENCH_MEMORY_RECORDS:-300000}
if has attribute && flag attribute '--in-memory-limit' && [ "$MEM_RECORDS" != 0 ]; then
    generate "$MEM_RECORDS"
    M1=$(corpus_dir "$MEM_RECORDS")/corpus/AWSLogs
    M4=$(corpus_dir "$MEM_RECORDS")-copies3
    if [ ! -d "$M4/AWSLogs" ]; then
        rm -rf "$M4.tmp" && mkdir -p "$M4.tmp"
        python3 "$here/same_sessions.py" "$M1" "$M4.tmp/AWSLogs" 3 && mv "$M4.tmp" "$M4"
    fi
    printf '%-38s %14s %14s\n' "" "1x events" "4x events"
    mem_row() { # mem_row LABEL KEY ARGS... (the inputs are appended)
        local label=$1 key=$2 one four
        shift 2
        REPEAT=1 timed "mem-$key-1" "$TG" attribute -q --format csv -o /dev/null "$@" "$M1"
        one="${T_RSS} MB"
        REPEAT=1 timed "mem-$key-4" "$TG" attribute -q --format csv -o /dev/null "$@" "$M1" "$M4/AWSLogs"
        four="${T_RSS} MB"
        say "$(printf '%-38s %14s %14s' "$label" "$one" "$four")"
    }
    mem_row "log files held in memory" logs --in-memory-limit 1000000
    mem_row "log files, streamed" stream --in-memory-limit 0
    if has ingest; then
        for k in 1 4; do
            c=$work/mem-case-$k
            rm -rf "$c"
            inputs=("$M1")
            [ $k = 1 ] || inputs+=("$M4/AWSLogs")
            REPEAT=1 timed "mem-ingest-$k" "$TG" ingest -q -o "$c" "${inputs[@]}"
            REPEAT=1 timed "mem-case-$k" "$TG" attribute -q --format csv -o /dev/null "$c"
            eval "case_rss_$k=\${T_RSS}"
            events_k=$("$TG" summary "$c" --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["records"]["events"], sum(d["issuances"].values()))')
            eval "counts_$k=\$events_k"
        done
        say "$(printf '%-38s %14s %14s' "case store, streamed" "${case_rss_1} MB" "${case_rss_4} MB")"
        say "(events, issuances): 1x ${counts_1// /, }   4x ${counts_4// /, }"
    fi
else
    say "skipped (BENCH_MEMORY_RECORDS=0, or no attribute --in-memory-limit)"
fi

# ratios
hr "ratios"
printf '%-44s %8s %8s\n' "" "wall" "cpu"
ratio() { # ratio LABEL KEY_NUM KEY_DEN
    local l=$1 a=${WALL[$2]:-} b=${WALL[$3]:-} c=${CPU[$2]:-} d=${CPU[$3]:-}
    if [ -n "$a" ] && [ -n "$b" ]; then
        awk -v l="$l" -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN {
            if (b <= 0) b = 0.01; if (d <= 0) d = 0.01;
            printf "%-44s %7.2fx %7.2fx\n", l, a/b, c/d }'
    else
        printf '%-44s %s\n' "$l" "not available"
    fi
}
ratio "ingest / gzip -dc" ingest gzip
ratio "ingest / decompress+parse limit (target <= 1.25)" ingest limit
ratio "attribute (raw) / ingest" attribute ingest
ratio "attribute (raw, streamed) / ingest" attribute_stream ingest
ratio "attribute (case) / ingest" attribute_case ingest
ratio "anomalies / ingest" anomalies ingest
ratio "report / ingest" report ingest
ratio "DuckDB peer / trailgraph attribute (raw)" duckdb attribute

# Paired ratios: the steps above run minutes apart, and the speed of a shared machine drifts
# between them. Here the limit, ingest and attribute run back to back, BENCH_PAIRS rounds, each
# ratio is taken within a round, and the median over the rounds is printed.
PAIRS=${BENCH_PAIRS:-5}
if [ "$PAIRS" -gt 0 ] && [ -x "$LIMIT" ] && has ingest && has attribute; then
    hr "paired ratios (limit, ingest, attribute back to back; $PAIRS rounds)"
    PCASE=$work/pair-case
    rounds=()
    for ((p = 1; p <= PAIRS; p++)); do
        REPEAT=1 timed pair-limit "$LIMIT" "$CORPUS"
        l=$T_WALL
        REPEAT=1 T_PRE='rm -rf "$PCASE"' timed pair-ingest "$TG" ingest "$CORPUS" -o "$PCASE" -q "${THREADS[@]}"
        g=$T_WALL
        REPEAT=1 timed pair-attribute "$TG" attribute "$CORPUS" --format csv -o /dev/null -q "${THREADS[@]}"
        a=$T_WALL
        say "round $p: limit $l s, ingest $g s, attribute $a s"
        rounds+=("$l,$g,$a")
    done
    rm -rf "$PCASE"
    python3 - "${rounds[@]}" <<'PY'
import statistics, sys
r = [tuple(float(x) for x in a.split(",")) for a in sys.argv[1:]]
m = lambda xs: statistics.median(xs)
print("median ingest / limit           %.2fx  (ingest at %.2fx the limit's records/s; target >= 0.8)"
      % (m([g / l for l, g, a in r]), m([l / g for l, g, a in r])))
print("median attribute (raw) / ingest %.2fx  (target <= 1.25)" % m([a / g for l, g, a in r]))
PY
fi

# ---------------------------------------------------------------- correctness
hr "correctness (small corpus vs generator truth)"
generate "$SMALL"
SC=$(corpus_dir "$SMALL")
say "corpus: $(mf "$SC" records) records, $(mf "$SC" files) files"
compare() { # compare LABEL RESULT_NDJSON FIELDS
    python3 - "$SC/truth.ndjson" "$2" "$1" "$3" <<'PY'
import collections, json, sys
truth_path, got_path, label, fields = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
truth = {}
for line in open(truth_path):
    t = json.loads(line)
    truth[(t["event_id"], t["recipient_account"])] = t
got, rows = {}, 0
for line in open(got_path):
    line = line.strip()
    if not line:
        continue
    g = json.loads(line)
    rows += 1
    got[(str(g.get("event_id")), str(g.get("recipient_account")))] = g
def norm(f, v):
    if v is None:
        return 0 if f == "depth" else ""
    return int(v) if f == "depth" else str(v)
n = len(truth)
ok = 0
per = collections.Counter()
bad = collections.Counter()
by_conf = collections.Counter()
conf_n = collections.Counter()
for k, t in truth.items():
    conf_n[t["confidence"]] += 1
    g = got.get(k)
    if g is None:
        bad["(missing)"] += 1
        continue
    same = True
    for f in fields:
        if norm(f, g.get(f)) == norm(f, t[f]):
            per[f] += 1
        else:
            same = False
    if same:
        ok += 1
        by_conf[t["confidence"]] += 1
    else:
        bad[t["event_name"]] += 1
extra = len(set(got) - set(truth))
print(f"{label}: agreement {100 * ok / n:.2f}% ({ok}/{n} events on {'+'.join(fields)}); "
      f"{rows} rows, {n - sum(1 for k in truth if k in got)} missing, {extra} unknown keys")
print("  per field: " + ", ".join(f"{f} {100 * per[f] / n:.2f}%" for f in fields))
print("  by truth confidence: " + ", ".join(
    f"{c} {100 * by_conf[c] / conf_n[c]:.1f}% of {conf_n[c]}" for c in ("exact", "inferred", "unknown") if conf_n[c]))
if bad:
    print("  most disagreements: " + ", ".join(f"{k} {v}" for k, v in bad.most_common(6)))
PY
}
if has attribute; then
    REPEAT=1 timed small-attribute "$TG" attribute "$SC/corpus" --format ndjson -o "$work/small-attribution.ndjson" -q
    if [ "$T_RC" -le 1 ]; then
        compare "trailgraph attribute" "$work/small-attribution.ndjson" origin,chain,depth,confidence
    else
        say "trailgraph attribute: $(status_note small-attribute)"
    fi
else
    say "trailgraph attribute: not available"
fi
if [ "$duck_ok" = 1 ]; then
    "$VENV/bin/python" "$here/duckdb_peer.py" "$SC/corpus" --threads 2 --out "$work/small-duckdb.ndjson" >/dev/null
    compare "DuckDB peer" "$work/small-duckdb.ndjson" origin,depth
fi
say ""
say "logs: $logs"
