#!/usr/bin/env bash
# Seeds the fuzz corpora from testdata/: copies a selection of files into fuzz/corpus/<target>/
# (gitignored; re-run at will, files already there are kept, so a corpus grown by earlier runs
# survives). Needs bash, coreutils and gzip; python3 (for zip seeds) is optional.
#
#   decode:  every gzip and zip in testdata/, a few plain files, and made-up containers:
#            a gzip bomb and a zip bomb (2 MiB of zeros each, over the 1 MiB cap of the
#            target), gzip in gzip, zip in gzip, zip in zip, a truncated multi-member gzip,
#            a zip of only a directory, an empty zip.
#   records: the decoded JSON (plain files, gzip and zip contents) of testdata/shapes,
#            hazards, scenarios (not expected.json), layout and real, files up to MAX_SEED
#            bytes (larger ones only slow the fuzzer down).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
td="$here/../testdata"
MAX_SEED=${MAX_SEED:-65536}
dec="$here/corpus/decode"
rec="$here/corpus/records"
mkdir -p "$dec" "$rec"

# A stable, unique seed name from its testdata path.
seed_name() { printf '%s' "$1" | sed 's|^\./||; s|[^A-Za-z0-9._-]|_|g' | cut -c1-120; }

small() { [ "$(wc -c <"$1")" -le "$MAX_SEED" ]; }

cd "$td"
# --- records: decoded JSON ---------------------------------------------------------------
while IFS= read -r f; do
  case "$f" in
    */expected.json | */README.md | */LICENSE | */NOTICE | *.py) continue ;;
    *.gz)
      out="$rec/$(seed_name "${f%.gz}")"
      gzip -dc "$f" >"$out" 2>/dev/null || true # a truncated gzip keeps what decompressed
      small "$out" || rm -f "$out"
      ;;
    *.zip)
      if command -v python3 >/dev/null 2>&1; then
        python3 - "$f" "$rec/$(seed_name "$f")" "$MAX_SEED" <<'PY'
import sys, zipfile
src, prefix, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
with zipfile.ZipFile(src) as z:
    for i, info in enumerate(z.infolist()):
        if info.is_dir() or info.file_size > cap:
            continue
        open(f"{prefix}.{i}", "wb").write(z.read(info))
PY
      fi
      ;;
    *) small "$f" && cp "$f" "$rec/$(seed_name "$f")" ;;
  esac
done < <(find ./shapes ./hazards ./scenarios ./layout ./real -type f | LC_ALL=C sort)

# --- decode: containers and a few plain files ---------------------------------------------
while IFS= read -r f; do
  small "$f" && cp "$f" "$dec/$(seed_name "$f")"
done < <(find . -type f \( -name '*.gz' -o -name '*.zip' \) | LC_ALL=C sort)
for f in ./shapes/records_single_line.json ./shapes/bom.json ./hazards/empty.json ./hazards/not_json.txt \
  ./hazards/whitespace_only.json; do
  [ -f "$f" ] && cp "$f" "$dec/$(seed_name "$f")"
done

gen="$dec/gen"
head -c $((2 << 20)) /dev/zero | gzip -9 >"$gen.gzip_bomb"
gzip -c shapes/records_single_line.json | gzip -c >"$gen.gzip_in_gzip"
{ gzip -c shapes/records_single_line.json; gzip -c shapes/bom.json; } >"$gen.multi_member"
head -c $(($(wc -c <"$gen.multi_member") - 7)) "$gen.multi_member" >"$gen.multi_member_cut"
if command -v python3 >/dev/null 2>&1; then
  python3 - "$gen" "$td" <<'PY'
import gzip, io, sys, zipfile
gen, td = sys.argv[1], sys.argv[2]
records = open(f"{td}/shapes/records_single_line.json", "rb").read()
def zipped(members, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in members:
            if name.endswith("/"):
                z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), b"")
            else:
                z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, method)
    return b.getvalue()
seeds = {
    "zip_bomb": zipped([("bomb.json", b"\0" * (2 << 20))]),
    "zip_stored": zipped([("a.json", records), ("b.json", b"{}")], zipfile.ZIP_STORED),
    "zip_in_zip": zipped([("inner.zip", zipped([("a.json", records)]))]),
    "zip_in_gzip": gzip.compress(zipped([("a.json", records)]), mtime=0),
    "gzip_in_zip": zipped([("a.json.gz", gzip.compress(records, mtime=0))]),
    "zip_only_dir": zipped([("dir/", b"")]),
    "zip_empty": zipped([]),
}
for name, data in seeds.items():
    open(f"{gen}.{name}", "wb").write(data)
PY
fi

# --- window: the records seeds behind a first byte that picks the window (1 + byte % 64) ----
win="$here/corpus/window"
mkdir -p "$win"
for f in "$rec"/*; do
  for b in '\000' '\006' '\077'; do
    out="$win/$(basename "$f").$(printf '%s' "$b" | tr -dc 0-9)"
    [ -e "$out" ] || { printf "$b"; cat "$f"; } >"$out"
  done
done

echo "seeded: decode $(ls "$dec" | wc -l) files, records $(ls "$rec" | wc -l) files, window $(ls "$win" | wc -l) files (in $here/corpus)"
