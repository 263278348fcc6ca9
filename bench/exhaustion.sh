#!/usr/bin/env bash
# Connection exhaustion (issue 15 item 3): a Wafer under a file-descriptor
# limit, 1,100 client connections that send nothing, and then: does the proxy
# answer a new client, does the admin listener, how long do the idle
# connections live, and how many lines did the accept loop log a second.
# The upstream is Python's http.server; needs only python3 and curl.
#
# Usage: bench/exhaustion.sh [idle=1100] [watch_secs=30] [ulimit="-n 256"]
#        ulimit "-S -n 1024": the usual soft default under a higher hard limit
#        WAFER_BIN=/path/to/wafer bench/exhaustion.sh ...   (another build)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
IDLE=${1:-1100}
WATCH=${2:-30}
LIMIT=${3:--n 256}
if [ -z "${WAFER_BIN:-}" ]; then
  cargo build -p wafer --bin wafer --manifest-path "$ROOT/Cargo.toml" >&2
  WAFER_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/wafer
fi
TMP=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
TOKEN=exhaustion-token-0123456789
(cd "$TMP" && exec python3 -m http.server 19000 --bind 127.0.0.1 >/dev/null 2>&1) &
PIDS+=($!)
WAFER_ADMIN_TOKEN=$TOKEN sh -c "ulimit $LIMIT && exec \"$WAFER_BIN\" run --listen 127.0.0.1:18080 \
  --upstream http://127.0.0.1:19000 --admin-listen 127.0.0.1:19443 --events none \
  --data-dir \"$TMP/data\" --log-level info" 2>"$TMP/wafer.log" &
PIDS+=($!)
for _ in $(seq 300); do curl -fs -o /dev/null http://127.0.0.1:18080/ 2>/dev/null && break; sleep 0.2; done
curl -fs -o /dev/null http://127.0.0.1:18080/ || { echo "wafer did not start:" >&2; cat "$TMP/wafer.log" >&2; exit 1; }
start=$(date +%s.%N)
python3 "$HERE/exhaustion.py" 18080 19443 "$TOKEN" "$IDLE" "$WATCH"
end=$(date +%s.%N)
lines=$(grep -ci accept "$TMP/wafer.log" || true)
awk -v n="$lines" -v s="$start" -v e="$end" -v l="$LIMIT" \
  'BEGIN { printf "ulimit %s: %d log lines about accept in %.1f s (%.1f a second)\n", l, n, e - s, n / (e - s) }'
grep -i "descriptor\|connection caps" "$TMP/wafer.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-220 || true
