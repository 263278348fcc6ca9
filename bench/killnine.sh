#!/usr/bin/env bash
# kill -9 mid-burst (issue 15 item 6): CLIENTS clients send small blocked
# requests (a SQL injection) as fast as Wafer answers; after SECS seconds Wafer
# is killed with SIGKILL; it is then restarted on the same data directory
# (SQLite recovers its WAL) and stopped cleanly. Every 403 the clients got
# carries its request id (X-Request-Id): the script prints how many answered
# 403s have no stored event, and how long before the kill the oldest of those
# was answered. Sampling is turned off (sample_per_sec = 0) where the binary
# knows the setting, so that every blocked request should have an event.
#
# Usage: bench/killnine.sh [seconds=4] [clients=4]
#   WAFER=path/to/wafer picks the binary (default target/debug/wafer of this checkout).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WAFER=${WAFER:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/wafer}
SECS=${1:-4}
CLIENTS=${2:-4}
PORT=${PORT:-18490}
UP=$((PORT + 2))
DIR=$(mktemp -d /tmp/wafer-kill9.XXXXXX)
CONF=()
if grep -q sample_per_sec "$WAFER"; then
  printf '[events]\nsample_per_sec = 0\n' >"$DIR/wafer.toml"
  CONF=(-c "$DIR/wafer.toml")
fi

python3 -m http.server "$UP" --bind 127.0.0.1 >/dev/null 2>&1 &
UPPID=$!
start() {
  "$WAFER" "${CONF[@]}" run --listen "127.0.0.1:$PORT" --upstream "http://127.0.0.1:$UP" --events none \
    --log-level warn --admin-listen off --data-dir "$DIR/data" >>"$DIR/stdout" 2>>"$DIR/stderr" &
  WPID=$!
  for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break; sleep 0.1; done
}
start
trap 'kill $WPID $UPPID 2>/dev/null || true' EXIT

python3 "$HERE/event_flood.py" flood "$PORT" "$((SECS + 2))" "$CLIENTS" "$WPID" "$DIR" --small >"$DIR/flood.json" &
FLOOD=$!
sleep "$SECS"
KILLED_AT=$(date +%s.%N)
kill -9 "$WPID"
wait "$WPID" 2>/dev/null || true
wait "$FLOOD"
start
kill -TERM "$WPID"
wait "$WPID" || true
echo "flood: $(python3 -c 'import json,sys; f=json.load(open(sys.argv[1])); print(f["requests"], "answered", f["statuses"])' "$DIR/flood.json")"
python3 "$HERE/event_flood.py" lost "$DIR" "$KILLED_AT" "$DIR/data/events.db" | python3 -c '
import json, sys
r = json.load(sys.stdin)
for k, v in r.items():
    print("%-38s %s" % (k, v))'
echo "(files in $DIR)"
