#!/usr/bin/env bash
# CI fuzz smoke for the log crate: seeds the corpora from testdata/ and runs each fuzz target
# for FUZZ_SECONDS (default 60) seconds; fails on a crash (a panic, a failed assertion, an
# out-of-memory or a timeout), with the failing input left in fuzz/artifacts/<target>/.
#
# Needs the nightly toolchain (cargo +nightly) and cargo-fuzz, which it installs from crates.io
# when missing. Without nightly, or when cargo-fuzz cannot be installed, it says that fuzzing
# was skipped and why, and exits 0. Network: crates.io only (cargo-fuzz, the targets' crates).
#
#   fuzz/ci.sh                    # every target, 60 s each
#   FUZZ_SECONDS=600 fuzz/ci.sh   # longer
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
cd "$fuzz/.."
secs=${FUZZ_SECONDS:-60}

skip() {
  echo "fuzz: SKIPPED, not run: $*"
  exit 0
}

if ! command -v cargo >/dev/null 2>&1; then
  skip "cargo is not installed"
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  skip "the nightly toolchain is not available ('cargo +nightly' failed; install it with 'rustup toolchain install nightly'); cargo-fuzz needs it"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz is not installed; installing it (cargo install cargo-fuzz --locked)"
  if ! cargo install cargo-fuzz --locked; then
    skip "cargo-fuzz is not installed and 'cargo install cargo-fuzz --locked' failed"
  fi
fi

"$fuzz/seed.sh"

# target  dictionary  -max_len (see fuzz/README.md)
targets=(
  "decode  fuzz/dict/decode.dict   65536"
  "records fuzz/dict/records.dict  16384"
  "window  fuzz/dict/records.dict  16384"
)

# Build first, so that each target gets its whole time fuzzing.
cargo +nightly fuzz build

status=0
for line in "${targets[@]}"; do
  read -r target dict max_len <<<"$line"
  echo "fuzz: $target for ${secs}s"
  start=$(date +%s)
  if cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -dict="$dict" \
    -max_len="$max_len" -timeout=30 -print_final_stats=1 >"$fuzz/$target.ci.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$fuzz/$target.ci.log")
    cov=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$fuzz/$target.ci.log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [^ ]+' || true)
    echo "fuzz: $target ok: ${runs:-?} executions in $(($(date +%s) - start))s, $cov"
  else
    status=1
    echo "fuzz: $target FAILED (the end of its log, $fuzz/$target.ci.log, follows)"
    tail -n 60 "$fuzz/$target.ci.log"
  fi
done
exit $status
