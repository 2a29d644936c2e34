#!/bin/sh
# Renders a trailgraph report.html with headless Chromium (Debian package `chromium`) and
# writes a PNG screenshot. Fails unless a non-empty PNG is produced.
#
#   scripts/render-report.sh DIR/report.html OUT.png [WIDTH,HEIGHT]
#
# Network is off for the page anyway (the report has a Content-Security-Policy that forbids
# fetches); the flags below also keep Chromium itself from phoning home.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
    exit 2
fi
html=$1
out=$2
size=${3:-1400,2000}

browser=
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
        browser=$b
        break
    fi
done
if [ -z "$browser" ]; then
    echo "$0: chromium not found (Debian: apt-get install -y chromium)" >&2
    exit 3
fi
if [ ! -f "$html" ]; then
    echo "$0: $html: no such file" >&2
    exit 2
fi

case $html in
    /*) url="file://$html" ;;
    *) url="file://$(pwd)/$html" ;;
esac
case $out in
    /*) ;;
    *) out="$(pwd)/$out" ;;
esac

# Never hang a test run: give Chromium at most RENDER_TIMEOUT seconds (default 180).
limit=
if command -v timeout >/dev/null 2>&1; then
    limit="timeout ${RENDER_TIMEOUT:-180}"
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT INT TERM
rm -f "$out"

$limit "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile" \
    --screenshot="$out" --window-size="$size" "$url" >"$profile/log" 2>&1 || {
    cat "$profile/log" >&2
    echo "$0: chromium failed" >&2
    exit 1
}

if [ ! -s "$out" ]; then
    cat "$profile/log" >&2
    echo "$0: no screenshot produced" >&2
    exit 1
fi
# A PNG starts with \x89PNG.
if [ "$(head -c 4 "$out" | tail -c 3)" != "PNG" ]; then
    echo "$0: $out is not a PNG" >&2
    exit 1
fi
echo "$out"
