#!/usr/bin/env bash
# trailgraph benchmark: throughput and memory on a generated >= 1 GB (raw JSON)
# CloudTrail corpus, against `gzip -dc` and a DuckDB peer, plus a correctness
# line against the generator's ground truth; the memory of every analysis on
# the same sessions with 1x and 4x the events; the small-file layout beside the
# large one; and (--scale) ingest + report on >= 10 M events with a projection.
# See benches/README.md.
#
# usage: benches/bench.sh [--smoke] [--scale]
#   (no argument)  every section but scale (set BENCH_SCALE=1 to add it)
#   --scale        only the scale section (build, machine, scale)
#   --smoke        tiny corpora, every section including scale, in under 2 minutes:
#                  checks that the script runs, measures nothing worth quoting
#
# Environment (all optional):
#   BENCH_RECORDS=800000      records in the big corpus (>= 1 GB raw JSON)
#   BENCH_SMALL_RECORDS=20000 records in the correctness corpus
#   BENCH_SEED=1 BENCH_ACCOUNTS=4
#   BENCH_CPUS=0,1            cores to pin to when the machine has more than 2
#   BENCH_REPEAT=1            runs per step (the fastest is kept)
#   BENCH_NO_BUILD=1          use the binaries already in target/release
#   BENCH_SKIP_DUCKDB=1       do not run (or install) the DuckDB peer
#   BENCH_MAIN=1              the throughput table, who latency and ratios (0 skips them)
#   BENCH_MEMORY_RECORDS=300000 records of the memory corpus (then with 3 copies of every action; 0 skips)
#   BENCH_PAIRS=5             rounds of limit, ingest and attribute back to back (0 skips)
#   BENCH_CORRECTNESS=1       the correctness lines (0 skips them)
#   BENCH_ANALYSES_RECORDS=$BENCH_RECORDS  records of the 1x corpus of the every-analysis memory
#                             table (4x: plus 3 copies of every action; 0 skips the section)
#   BENCH_ANALYSES="..."      the analyses of that table (default: all; see README)
#   BENCH_LAYOUT_RECORDS=$BENCH_RECORDS  records of the two layouts compared (0 skips the section)
#   BENCH_LAYOUT_PER_FILE=21  --max-records-per-file of the small-file layout (about 20 a file)
#   BENCH_LAYOUT_ROUNDS=3     rounds of limit, ingest, attribute per layout (median of ratios)
#   BENCH_SCALE=0             1 adds the scale section to a run without --scale
#   BENCH_SCALE_RECORDS=10000000 records of the scale corpus
#   BENCH_SCALE_CORES="2 4 8 16 32" core counts of the projection
#   BENCH_SCALE_PARALLEL="ingest=0.95 report=0.67"  parallel fractions to use instead of the
#                             measured ones (e.g. from an idle machine's cpu/wall)
#   BENCH_RSS_CAP_MB          a measured process whose resident memory passes this is killed
#                             (reported FAILED); default 60% of MemAvailable at start
set -euo pipefail

SMOKE=0
SCALE_ONLY=0
for arg in "$@"; do
    case $arg in
        --smoke) SMOKE=1 ;;
        --scale) SCALE_ONLY=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "bench.sh: unknown argument $arg (usage: benches/bench.sh [--smoke] [--scale])" >&2
            exit 2
            ;;
    esac
done
if [ "$SMOKE" = 1 ]; then
    # Tiny corpora: every section runs end to end, quickly. Explicit variables still win.
    : "${BENCH_RECORDS:=12000}" "${BENCH_SMALL_RECORDS:=3000}" "${BENCH_MEMORY_RECORDS:=4000}"
    : "${BENCH_ANALYSES_RECORDS:=4000}" "${BENCH_LAYOUT_RECORDS:=6000}" "${BENCH_LAYOUT_ROUNDS:=1}"
    : "${BENCH_SCALE_RECORDS:=20000}" "${BENCH_PAIRS:=1}" "${BENCH_SKIP_DUCKDB:=1}"
    : "${BENCH_SCALE:=1}"
fi

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
[ "$SMOKE" = 0 ] || work=$target/bench-work-smoke
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
say "load: $(uptime | sed 's/^ *//')"
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
# The machine may be shared: a measured process whose resident memory passes BENCH_RSS_CAP_MB
# is killed (only that process, by its id) and its step reported FAILED.
RSS_CAP_MB=${BENCH_RSS_CAP_MB:-$(awk '/MemAvailable/ {printf "%d", $2 / 1024 * 0.6}' /proc/meminfo 2>/dev/null || echo 0)}
say "memory cap per measured process: ${RSS_CAP_MB} MB (BENCH_RSS_CAP_MB; 0 = none)"
watch_rss() { # watch_rss PID NOTEFILE: until PID ends, kill its children over the cap
    local p=$1 note=$2 c kb
    while kill -0 "$p" 2>/dev/null; do
        if [ "${RSS_CAP_MB:-0}" -gt 0 ]; then
            for c in $(pgrep -P "$p" 2>/dev/null || true); do
                kb=$(awk '/^VmRSS/ {print $2}' "/proc/$c/status" 2>/dev/null || true)
                if [ "${kb:-0}" -gt $((RSS_CAP_MB * 1024)) ]; then
                    kill -9 "$c" 2>/dev/null || true
                    echo "killed by bench.sh: resident memory over ${RSS_CAP_MB} MB (BENCH_RSS_CAP_MB)" >"$note"
                fi
            done
        fi
        sleep 0.2
    done
}
timed() {
    local name=$1
    shift
    local tf=$logs/$name.time i rc w kb u sy c best="" cpu="" rss=0 pid
    T_RC=0
    rm -f "$logs/$name.killed"
    for ((i = 0; i < REPEAT; i++)); do
        [ -z "$T_PRE" ] || eval "$T_PRE"
        rc=0
        if [ -n "$GNU_TIME" ]; then
            "${PIN[@]}" "$GNU_TIME" -f '%e %M %U %S' -o "$tf" "$@" >"$logs/$name.out" 2>"$logs/$name.err" &
        else
            "${PIN[@]}" python3 -c '
import resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.call(sys.argv[2:])
w = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.2f %d %.2f %.2f\n" % (w, ru.ru_maxrss, ru.ru_utime, ru.ru_stime))
sys.exit(rc)' "$tf" "$@" >"$logs/$name.out" 2>"$logs/$name.err" &
        fi
        pid=$!
        watch_rss "$pid" "$logs/$name.killed"
        wait "$pid" || rc=$?
        [ ! -f "$logs/$name.killed" ] || [ "$rc" -gt 1 ] || rc=137
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
# corpus_dir N [SUFFIX]: the cache directory of a corpus of N records (SUFFIX names extra
# generator arguments, e.g. -pf26 for --max-records-per-file 26).
corpus_dir() { echo "$target/bench-corpus/n$1-s$SEED-a$ACCOUNTS${2:-}-$genhash"; }

generate() { # generate N [SUFFIX GENERATOR_ARGS...]
    local n=$1 suffix=${2:-} dir
    shift
    [ $# = 0 ] || shift
    dir=$(corpus_dir "$n" "$suffix")
    if [ -f "$dir/MANIFEST.json" ] && [ -f "$dir/truth.ndjson" ]; then
        say "cached: $dir"
    else
        rm -rf "$dir.tmp"
        mkdir -p "$dir.tmp"
        say "generating $n records into $dir"
        REPEAT=1 timed "gen-$n$suffix" "$GEN" --out "$dir.tmp/corpus" --records "$n" --seed "$SEED" \
            --accounts "$ACCOUNTS" --truth "$dir.tmp/truth.ndjson" "$@"
        [ "$T_RC" = 0 ] || { cat "$logs/gen-$n$suffix.err"; exit 2; }
        say "generated in ${T_WALL} s (peak ${T_RSS} MB)"
        mv "$dir.tmp/corpus/MANIFEST.json" "$dir.tmp/MANIFEST.json"
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
    fi
}

mf() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/MANIFEST.json" "$2"; }

# four_x N: the corpus of N records plus 3 copies of every action with new event ids (the same
# sessions; benches/same_sessions.py), cached beside it; prints the copies' AWSLogs directory.
four_x() {
    local m4
    m4=$(corpus_dir "$1")-copies3
    if [ ! -d "$m4/AWSLogs" ]; then
        rm -rf "$m4.tmp" && mkdir -p "$m4.tmp"
        say "copying every action 3 times into $m4 (same_sessions.py)" >&2
        python3 "$here/same_sessions.py" "$(corpus_dir "$1")/corpus/AWSLogs" "$m4.tmp/AWSLogs" 3 >&2 ||
            { echo "same_sessions.py failed" >&2; exit 2; }
        mv "$m4.tmp" "$m4"
    fi
    echo "$m4/AWSLogs"
}

# Which sections run.
MAIN=${BENCH_MAIN:-1}
MEM_RECORDS=${BENCH_MEMORY_RECORDS:-300000}
PAIRS=${BENCH_PAIRS:-5}
CORRECTNESS=${BENCH_CORRECTNESS:-1}
A_RECORDS=${BENCH_ANALYSES_RECORDS:-$RECORDS}
L_RECORDS=${BENCH_LAYOUT_RECORDS:-$RECORDS}
SCALE=${BENCH_SCALE:-0}
if [ "$SCALE_ONLY" = 1 ]; then
    MAIN=0 MEM_RECORDS=0 PAIRS=0 CORRECTNESS=0 A_RECORDS=0 L_RECORDS=0 SCALE=1
fi

BIG=$(corpus_dir "$RECORDS")
CORPUS=$BIG/corpus
if [ "$MAIN" = 1 ] || [ "$PAIRS" -gt 0 ]; then
hr "corpus"
generate "$RECORDS"
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
    if [ -f "$logs/$1.killed" ]; then
        echo "FAILED: $(cut -c1-80 "$logs/$1.killed")"
        return
    fi
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
LIMIT=$target/release/trailgraph-limit
THREADS=()
has ingest && flag ingest '--threads' && THREADS=(-j 2)
CASE=$work/case
REPORT=$work/report
VENV=$target/bench-venv
duck_ok=0

# ---------------------------------------------------------------- main: throughput
if [ "$MAIN" = 1 ]; then
hr "measurements (same files, same cores; page cache warm)"
# Warm the page cache, then measure decompression alone.
find "$CORPUS" -name '*.gz' -print0 | xargs -0 cat >/dev/null
timed gzip bash -c "find '$CORPUS' -name '*.gz' -print0 | xargs -0 -P2 -n 64 gzip -dc > /dev/null"
record gzip "gzip -dc (xargs -P2)"
# The decompress+parse limit: gunzip + deserialise every record into a borrowed serde struct,
# two rayon threads, nothing else (benches/limit.rs). The ingest target is >= 0.8x this.
if [ -x "$LIMIT" ]; then
    timed limit "$LIMIT" "$CORPUS"
    record limit "decompress+parse limit (2 threads)"
else
    row "decompress+parse limit" - - "not available (build trailgraph-limit)"
fi

if has ingest; then
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

if has hunt; then
    # The shipped Sigma rules over every event, each hit attributed (issue 15: <= 1.5x attribute).
    timed hunt "$TG" hunt "$CORPUS" --format csv -o /dev/null -q "${THREADS[@]}"
    record hunt "trailgraph hunt (raw logs, shipped rules)"
    if [ -n "${WALL[ingest]:-}" ]; then
        timed hunt_case "$TG" hunt "$CASE" --format csv -o /dev/null -q "${THREADS[@]}"
        record hunt_case "trailgraph hunt (case, shipped rules)"
    fi
else
    row "trailgraph hunt" - - "not available"
fi

if has report; then
    T_PRE='rm -rf "$REPORT"'
    timed report "$TG" report "$CORPUS" -o "$REPORT" -q "${THREADS[@]}"
    record report "trailgraph report (raw logs)"
else
    row "trailgraph report" - - "not available"
fi

# DuckDB peer
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
ratio "hunt (raw) / attribute (raw) (target <= 1.5)" hunt attribute
ratio "hunt (case) / attribute (case) (target <= 1.5)" hunt_case attribute_case
ratio "DuckDB peer / trailgraph attribute (raw)" duckdb attribute
fi # MAIN

# memory: the same sessions, more events
if has attribute && flag attribute '--in-memory-limit' && [ "$MEM_RECORDS" != 0 ]; then
    hr "memory: the same sessions, 4x the events (attribute --format csv)"
    generate "$MEM_RECORDS"
    M1=$(corpus_dir "$MEM_RECORDS")/corpus/AWSLogs
    M4=$(four_x "$MEM_RECORDS")
    M4=$(dirname "$M4")
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
elif [ "$SCALE_ONLY" = 0 ]; then
    hr "memory: the same sessions, 4x the events (attribute --format csv)"
    say "skipped (BENCH_MEMORY_RECORDS=0, or no attribute --in-memory-limit)"
fi

# Paired ratios: the steps above run minutes apart, and the speed of a shared machine drifts
# between them. Here the limit, ingest and attribute run back to back, BENCH_PAIRS rounds, each
# ratio is taken within a round, and the median over the rounds is printed.
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

# ---------------------------------------------------------------- every analysis: 1x vs 4x
# Peak RSS of each analysis on the same sessions with 1x and 4x the events, from a case store
# of each and from the raw logs of each (with --in-memory-limit 0 where the command has it: the
# streamed path). A command bounded by sessions keeps 4x/1x under 1.15.
ANALYSES=${BENCH_ANALYSES:-ingest attribute anomalies hunt report timeline trace sessions chains who graph summary query-shipped query-attribution}
A_RATIO_LIMIT=1.15
A_MB_LIMIT=600
Q_SHIPPED=mutating_calls_by_origin
Q_ATTR="SELECT origin, chain, COUNT(*) AS events FROM attribution GROUP BY origin, chain ORDER BY events DESC, origin, chain"
declare -A SUBHELP=()
for sub in ingest attribute anomalies hunt report timeline trace sessions chains who graph summary query; do
    SUBHELP[$sub]=$("$TG" "$sub" --help 2>&1 || true)
done
hasflag() { grep -qE -- "$2" <<<"${SUBHELP[$1]:-}"; }
# case_counts CASE: "events, issuances" of a case store
# is_case DIR: whether DIR is a case store (case format 3: manifests/; older: manifest.json)
is_case() {
    [ -d "$1/manifests" ] || [ -f "$1/manifest.json" ]
}
case_counts() {
    "$TG" summary "$1" --format json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%d events, %d issuances" % (d["records"]["events"], sum(d["issuances"].values())))' 2>/dev/null || echo "unknown"
}
# acmd CMD SOURCE K: sets ARGV, the command line of analysis CMD on SOURCE (case|logs) at K (1|4)
acmd() {
    local c=$1 src=$2 k=$3 sub=${1%%-*}
    local -a in extra=()
    if [ "$src" = case ]; then
        in=("$AW/case-$k")
    else
        in=("$A1")
        [ "$k" = 1 ] || in+=("$A4")
    fi
    if [ "$src" = logs ] && hasflag "$sub" '--in-memory-limit'; then extra+=(--in-memory-limit 0); fi
    if hasflag "$sub" '--threads'; then extra+=(-j 2); fi
    if hasflag "$sub" '--quiet'; then extra+=(-q); fi
    case $c in
        ingest)
            if [ "$src" = logs ]; then ARGV=("$TG" ingest "${in[@]}" -o "$AW/case-$k"); else ARGV=("$TG" ingest "${in[@]}" -o "$AW/out-case"); fi ;;
        attribute | anomalies | hunt | timeline | sessions | chains) ARGV=("$TG" "$c" "${in[@]}" --format csv -o /dev/null) ;;
        report) ARGV=("$TG" report "${in[@]}" -o "$AW/out-report") ;;
        trace) ARGV=("$TG" trace "${in[@]}" "$TRACE_TARGET" --format json -o /dev/null) ;;
        who) ARGV=("$TG" who "${in[@]}" "$WHO_ID" --format json -o /dev/null) ;;
        graph) ARGV=("$TG" graph "${in[@]}" --format json -o /dev/null) ;;
        summary) ARGV=("$TG" summary "${in[@]}" --format json -o /dev/null) ;;
        query-shipped) ARGV=("$TG" query "${in[@]}" --file "$Q_SHIPPED" --format csv -o /dev/null) ;;
        query-attribution) ARGV=("$TG" query "${in[@]}" --sql "$Q_ATTR" --format csv -o /dev/null) ;;
        *) ARGV=() ;;
    esac
    [ ${#ARGV[@]} = 0 ] || ARGV+=("${extra[@]}")
}
# arun CMD SOURCE K: runs it (timed as a-CMD-SOURCE-K); sets A_RSS, A_WALL, A_NOTE (empty if fine)
arun() {
    local c=$1 src=$2 k=$3 name="a-$1-$2-$3"
    acmd "$c" "$src" "$k"
    A_RSS="" A_WALL="" A_NOTE=""
    if [ ${#ARGV[@]} = 0 ]; then A_NOTE="unknown analysis $c"; return; fi
    if ! has "${c%%-*}"; then A_NOTE="not available (no ${c%%-*} command)"; return; fi
    if [ "$src" = case ] && ! is_case "$AW/case-$k"; then A_NOTE="no ${k}x case (its ingest failed)"; return; fi
    printf '%s\n' "${ARGV[*]}" >"$logs/$name.cmd"
    REPEAT=1 T_PRE='rm -rf "$AW/out-case" "$AW/out-report"' timed "$name" "${ARGV[@]}"
    if [ "$T_RC" -le 1 ] && [ ! -f "$logs/$name.killed" ]; then
        A_RSS=$T_RSS A_WALL=$T_WALL
        [ "$T_RC" = 0 ] || A_NOTE="(exit 1: $(tail -n1 "$logs/$name.err" 2>/dev/null | cut -c1-60))"
    else
        A_NOTE=$(status_note "$name")
    fi
}
if [ "$A_RECORDS" != 0 ]; then
    hr "memory of every analysis: the same sessions, 1x and 4x the events (peak RSS)"
    generate "$A_RECORDS"
    AD=$(corpus_dir "$A_RECORDS")
    A1=$AD/corpus/AWSLogs
    A4=$(four_x "$A_RECORDS")
    AW=$work/analyses
    rm -rf "$AW"
    mkdir -p "$AW"
    say "1x: $A1"
    say "4x: the same plus $A4 (3 copies of every action, new event ids)"
    # The case stores of both sizes come from the logs rows of ingest.
    declare -A ING_RSS=() ING_WALL=() ING_NOTE=()
    for k in 1 4; do
        rm -rf "$AW/case-$k"
        arun ingest logs "$k"
        ING_RSS[$k]=$A_RSS ING_WALL[$k]=$A_WALL ING_NOTE[$k]=$A_NOTE
    done
    say "1x case: $(case_counts "$AW/case-1")   4x case: $(case_counts "$AW/case-4")"
    # trace: the origin with the most events in the truth (not unknown:/account:);
    # who: the session key (ASIA) used by the most events, else a deep event id.
    TRACE_TARGET=$(python3 -c '
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1]):
    o = json.loads(line)["origin"]
    if not o.startswith(("unknown:", "account:")):
        c[o] += 1
print(c.most_common(1)[0][0] if c else "unknown:")' "$AD/truth.ndjson")
    WHO_ID=$("$TG" query "$AW/case-1" -q --format csv --sql "SELECT access_key_id, COUNT(*) AS n FROM events WHERE access_key_id LIKE 'ASIA%' GROUP BY access_key_id ORDER BY n DESC, access_key_id LIMIT 1" 2>/dev/null | sed -n 2p | cut -d, -f1 || true)
    if [ -z "$WHO_ID" ]; then
        WHO_ID=$(python3 -c '
import json, sys
best = None
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["depth"] >= 3:
        best = t["event_id"]; break
print(best or json.loads(open(sys.argv[1]).readline())["event_id"])' "$AD/truth.ndjson")
    fi
    say "trace target: $TRACE_TARGET ($(grep -cF "\"origin\":\"$TRACE_TARGET\"" "$AD/truth.ndjson" || true) events in the 1x truth)"
    say "who id: $WHO_ID"
    if [ "$A_RECORDS" -lt 800000 ]; then
        say "note: the ${A_MB_LIMIT} MB target is set at 4x of the 800k bench corpus; this 1x corpus has $A_RECORDS records, so the MB column is indicative"
    fi
    say ""
    printf '%-18s %-5s %8s %8s %6s %-7s %-7s %8s %8s  %s\n' "analysis" "from" "1x MB" "4x MB" "4x/1x" "<=$A_RATIO_LIMIT" "<=${A_MB_LIMIT}MB" "1x s" "4x s" "note"
    a_pass=0 a_fail=0 a_failed_rows=()
    arow() { # arow CMD SOURCE RSS1 WALL1 NOTE1 RSS4 WALL4 NOTE4
        local c=$1 src=$2 r1=$3 w1=$4 n1=$5 r4=$6 w4=$7 n4=$8 ratio="-" v1="-" v2="-" note=""
        if [ -n "$r1" ] && [ -n "$r4" ]; then
            ratio=$(awk -v a="$r4" -v b="$r1" 'BEGIN { if (b <= 0) b = 1; printf "%.2f", a / b }')
            if awk -v r="$ratio" -v l="$A_RATIO_LIMIT" 'BEGIN { exit !(r <= l) }'; then v1=PASS; else v1=FAIL; fi
            if [ "$r4" -le "$A_MB_LIMIT" ]; then v2=PASS; else v2=FAIL; fi
            if [ $v1 = PASS ] && [ $v2 = PASS ]; then a_pass=$((a_pass + 1)); else a_fail=$((a_fail + 1)); a_failed_rows+=("$c/$src"); fi
        else
            a_fail=$((a_fail + 1))
            a_failed_rows+=("$c/$src")
        fi
        [ -z "$n1" ] || note="1x: $n1"
        [ -z "$n4" ] || note="${note:+$note; }4x: $n4"
        printf '%-18s %-5s %8s %8s %6s %-7s %-7s %8s %8s  %s\n' "$c" "$src" "${r1:--}" "${r4:--}" "$ratio" "$v1" "$v2" "${w1:--}" "${w4:--}" "$note"
    }
    for c in $ANALYSES; do
        for src in case logs; do
            if [ "$c" = ingest ] && [ "$src" = logs ]; then
                arow ingest logs "${ING_RSS[1]}" "${ING_WALL[1]}" "${ING_NOTE[1]}" "${ING_RSS[4]}" "${ING_WALL[4]}" "${ING_NOTE[4]}"
                continue
            fi
            if [ "$c" = ingest ] && [ "$src" = case ]; then
                # ingest reads log files only; cases are combined by the analysis commands.
                printf '%-18s %-5s %8s %8s %6s %-7s %-7s %8s %8s  %s\n' ingest case - - - - - - - "n/a (ingest reads log files, not cases)"
                continue
            fi
            arun "$c" "$src" 1
            r1=$A_RSS w1=$A_WALL n1=$A_NOTE
            arun "$c" "$src" 4
            arow "$c" "$src" "$r1" "$w1" "$n1" "$A_RSS" "$A_WALL" "$A_NOTE"
        done
    done
    rm -rf "$AW/out-case" "$AW/out-report"
    say ""
    say "rows passing both limits: $a_pass; failing or not measured: $a_fail${a_failed_rows[*]:+ (${a_failed_rows[*]})}"
    say "command lines: $logs/a-*.cmd"
fi

# ---------------------------------------------------------------- layouts
# The large-file layout (one file per account/region/5 minutes of a busy trail, up to 4000
# records) beside the small-file layout of quiet trails (~20 records a file): the same records,
# split by trailgraph-gen --max-records-per-file.
if [ "$L_RECORDS" != 0 ] && [ -x "$LIMIT" ] && has ingest && has attribute; then
    PF=${BENCH_LAYOUT_PER_FILE:-21}
    ROUNDS=${BENCH_LAYOUT_ROUNDS:-3}
    hr "layouts: large files vs small files (limit, ingest, attribute; $ROUNDS rounds)"
    generate "$L_RECORDS"
    generate "$L_RECORDS" "-pf$PF" --max-records-per-file "$PF"
    declare -A LDIR=([large]=$(corpus_dir "$L_RECORDS") [small]=$(corpus_dir "$L_RECORDS" "-pf$PF"))
    for lay in large small; do
        d=${LDIR[$lay]}
        say "$(printf '%-6s' "$lay"): $(mf "$d" files) files, $(mf "$d" records) records, $(awk -v r="$(mf "$d" records)" -v f="$(mf "$d" files)" 'BEGIN {printf "%.1f", r/f}') records a file (min $(mf "$d" min_records_per_file), max $(mf "$d" max_records_per_file)), $(awk -v b="$(mf "$d" gz_bytes)" 'BEGIN {printf "%.1f", b/1e6}') MB gz"
    done
    LW=$work/layout
    rm -rf "$LW"
    mkdir -p "$LW"
    lay_out=$LW/results.tsv
    : >"$lay_out"
    attr_threads=()
    if flag attribute '--threads'; then attr_threads=(-j 2); fi
    lrun() { # lrun STEP CMD... (for $lay, round $r)
        local step=$1 name
        shift
        name="layout-$lay-${step// /_}-$r"
        name=${name//[(),]/}
        REPEAT=1 timed "$name" "$@"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$lay" "$step" "$r" "$T_WALL" "$T_CPU" "$T_RSS" "$T_RC" \
            "$(status_note "$name")" >>"$lay_out"
    }
    for ((r = 1; r <= ROUNDS; r++)); do
        for lay in large small; do
            c=${LDIR[$lay]}/corpus
            find "$c" -name '*.gz' -print0 | xargs -0 cat >/dev/null
            lrun limit "$LIMIT" "$c"
            rm -rf "$LW/case"
            lrun ingest "$TG" ingest "$c" -o "$LW/case" -q "${THREADS[@]}"
            lrun "attribute (logs)" "$TG" attribute "$c" --format csv -o /dev/null -q "${attr_threads[@]}"
            if flag attribute '--in-memory-limit'; then
                lrun "attribute (logs, streamed)" "$TG" attribute "$c" --in-memory-limit 0 --format csv -o /dev/null -q "${attr_threads[@]}"
            fi
            if is_case "$LW/case"; then
                lrun "attribute (case)" "$TG" attribute "$LW/case" --format csv -o /dev/null -q "${attr_threads[@]}"
            fi
        done
        say "round $r done"
    done
    rm -rf "$LW/case"
    python3 "$here/layout_table.py" "$lay_out" "$(mf "${LDIR[large]}" records)" "$(mf "${LDIR[small]}" records)"
fi

# ---------------------------------------------------------------- correctness
if [ "$CORRECTNESS" = 1 ]; then
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
fi # CORRECTNESS

# ---------------------------------------------------------------- scale
# ingest, then report on the case, on a corpus of BENCH_SCALE_RECORDS (10 M) records; time,
# records/s, peak RSS, and a projection to 100 M events a day on N cores.
if [ "$SCALE" = 1 ]; then
    SR=${BENCH_SCALE_RECORDS:-10000000}
    hr "scale: ingest, then report on the case, $SR records"
    SD=$(corpus_dir "$SR")
    SW=$work/scale
    # Disk per record, measured on the 800k corpus: gz corpus 170 B, case store 110 B, report
    # directory 330 B, temporary spill of report 400 B (a margin over it); a generator run
    # needs twice the corpus only while it is written.
    need_mb=$(awk -v n="$SR" 'BEGIN { printf "%d", n * (170 + 110 + 330 + 400) / 1e6 }')
    have_dir=$target
    [ -d "$SD" ] && need_mb=$((need_mb - $(du -sm "$SD" | cut -f1)))
    free_mb=$(df -Pm "$have_dir" | awk 'NR == 2 { print $4 }')
    tmp_free_mb=$(df -Pm "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $4 }')
    say "disk: needs about $need_mb MB more under $target (corpus, case, report) and TMPDIR; free: $free_mb MB there, $tmp_free_mb MB in ${TMPDIR:-/tmp}"
    if [ "$free_mb" -lt "$need_mb" ] && [ "${BENCH_SCALE_FORCE:-0}" != 1 ]; then
        say "skipped: not enough free disk (BENCH_SCALE_FORCE=1 runs it anyway)"
    else
        generate "$SR"
        say "corpus: $(mf "$SD" files) files, $(mf "$SD" records) records, $(awk -v b="$(mf "$SD" gz_bytes)" 'BEGIN {printf "%.0f", b/1e6}') MB gz, $(awk -v b="$(mf "$SD" raw_json_bytes)" 'BEGIN {printf "%.0f", b/1e6}') MB raw JSON, span $(mf "$SD" first_event_time) .. $(mf "$SD" last_event_time)"
        mkdir -p "$SW"
        scale_out=$SW/results.tsv
        : >"$scale_out"
        srun() { # srun STEP CMD...
            local step=$1
            shift
            say "load before $step: $(uptime | sed 's/.*load average/load average/')"
            REPEAT=1 timed "scale-$step" "$@"
            say "load after $step:  $(uptime | sed 's/.*load average/load average/')"
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$step" "$T_WALL" "$T_CPU" "$T_RSS" "$T_RC" "$(status_note "scale-$step")" >>"$scale_out"
        }
        rm -rf "$SW/case" "$SW/report"
        srun ingest "$TG" ingest "$SD/corpus" -o "$SW/case" -q "${THREADS[@]}"
        say "case store: $(du -sm "$SW/case" 2>/dev/null | cut -f1) MB"
        if is_case "$SW/case"; then
            rthreads=()
            if flag report '--threads'; then rthreads=(-j 2); fi
            srun report "$TG" report "$SW/case" -o "$SW/report" -q "${rthreads[@]}"
            say "report directory: $(du -sm "$SW/report" 2>/dev/null | cut -f1) MB"
        fi
        python3 "$here/scale_table.py" "$scale_out" "$(mf "$SD" records)" "${BENCH_SCALE_CORES:-2 4 8 16 32}" "${BENCH_SCALE_PARALLEL:-}"
    fi
fi
say ""
say "logs: $logs"
