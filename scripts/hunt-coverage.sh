#!/usr/bin/env bash
# The data of docs/hunt-coverage.md: for each Stratus Red Team detonation file in testdata/real,
# the shipped rules that fire on it and the origin their hits are attributed to, one line per
# (technique, rule, origin) with the number of hits. Run from the repository root:
#   TG=target/debug/trailgraph scripts/hunt-coverage.sh
# tests/it/hunt_coverage.rs asserts the same table.
set -euo pipefail
TG=${TG:-trailgraph}
dir=testdata/real/stratus-red-team-detonation-logs
files=$("$TG" hunt --list-rules --format ndjson | jq -s 'map({(.rule_id): .file}) | add')
printf 'technique\trule_title\trule_file\torigin\thits\n'
for f in "$dir"/*.json; do
  t=$(basename "$f" .json)
  "$TG" hunt -q "$f" --format ndjson | jq -r -s --arg t "$t" --argjson files "$files" '
    if length == 0 then "\($t)\t-\t-\t-\t0"
    else group_by(.rule_id, .origin)
      | map("\($t)\t\(.[0].rule_title)\t\($files[.[0].rule_id])\t\(.[0].origin)\t\(length)")
      | .[] end'
done
