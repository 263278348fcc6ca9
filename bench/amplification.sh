#!/usr/bin/env bash
# Event amplification (issue 15 item 4): CLIENTS clients (127.0.0.2, .3, ...)
# each send, on one kept-alive connection and as fast as Wafer answers, a form
# POST of 124 KiB (within the 128 KiB Wafer parses into named arguments) whose
# argument name is 120 KiB of attack tokens. Prints Wafer's RSS
# (start, peak, 2 s after the flood), the bytes written to stdout (the event
# output) and to the SQLite store (events.db + WAL), and the events
# published, sampled, dropped and stored (from /metrics and the database).
#
# Usage: bench/amplification.sh [seconds=5.5] [clients=2]
#   WAFER=path/to/wafer picks the binary (default target/debug/wafer of this checkout).
#   FLOOD_ARGS=--small sends a small SQL injection instead (many more requests a
#   second: what per-client sampling is for); --name-bytes N another name size.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WAFER=${WAFER:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/wafer}
SECS=${1:-5.5}
CLIENTS=${2:-2}
PORT=${PORT:-18480}
ADMIN=$((PORT + 1))
UP=$((PORT + 2))
DIR=$(mktemp -d /tmp/wafer-amp.XXXXXX)

python3 -m http.server "$UP" --bind 127.0.0.1 >/dev/null 2>&1 &
UPPID=$!
"$WAFER" run --listen "127.0.0.1:$PORT" --upstream "http://127.0.0.1:$UP" --events stdout \
  --log-level warn --admin-listen "127.0.0.1:$ADMIN" --data-dir "$DIR/data" \
  >"$DIR/stdout" 2>"$DIR/stderr" &
WPID=$!
trap 'kill $WPID $UPPID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break; sleep 0.1; done

rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$WPID/status"; }
metric() { curl -s -H "Authorization: Bearer $(cat "$DIR/data/admin-token")" "http://127.0.0.1:$ADMIN/metrics" \
  | awk -v m="$1" '$1 == m {print $2}'; }
store_bytes() { du -cb "$DIR"/data/events.db* 2>/dev/null | awk 'END {print $1}'; }

RSS0=$(rss)
# shellcheck disable=SC2086 # FLOOD_ARGS is a list of flags
python3 "$HERE/event_flood.py" flood "$PORT" "$SECS" "$CLIENTS" "$WPID" "$DIR" ${FLOOD_ARGS:-} >"$DIR/flood.json"
sleep 2
RSS_AFTER=$(rss)
PUBLISHED=$(metric wafer_events_published_total)
SAMPLED=$(metric wafer_events_sampled_total)
DROPPED=$(metric wafer_events_dropped_total)
STORED_LIVE=$(metric wafer_events_stored_total)
STDOUT_LIVE=$(stat -c %s "$DIR/stdout")
STORE_LIVE=$(store_bytes)
kill -TERM "$WPID"
T0=$(date +%s)
for _ in $(seq 1200); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$WPID" 2>/dev/null; then echo "still flushing after 120 s: killed"; kill -9 "$WPID"; fi
wait "$WPID" || true
echo "shutdown (flushing queued events) took $(( $(date +%s) - T0 )) s"
python3 - "$DIR" "$RSS0" "$RSS_AFTER" "$PUBLISHED" "${SAMPLED:-n/a}" "$DROPPED" "$STORED_LIVE" \
  "$STDOUT_LIVE" "$STORE_LIVE" "$(stat -c %s "$DIR/stdout")" "$(store_bytes)" \
  "$(sqlite3 "$DIR/data/events.db" 'SELECT COUNT(*) FROM events')" <<'PY'
import json, sys
d, rss0, rss_after, pub, sampled, dropped, stored_live, out_live, store_live, out_end, store_end, rows = sys.argv[1:]
f = json.load(open(d + "/flood.json"))
mb = lambda b: "%.1f MB" % (int(b) / 1e6)
print("request: %d bytes; requests answered: %d %s" % (f["request_bytes"], f["requests"], f["statuses"]))
print("RSS: start %s MB, peak %s MB, 2 s after %s MB" % (rss0, f["rss_peak_mb"], rss_after))
print("RSS samples (MB): %s" % f["rss_samples_mb"])
print("events: published %s, sampled away %s, dropped (queue full, either consumer) %s, stored by 2 s after %s, stored at exit %s" %
      (pub, sampled, dropped, stored_live, rows))
print("bytes to stdout: %s by 2 s after, %s at exit" % (mb(out_live), mb(out_end)))
print("bytes of SQLite store (db + wal): %s by 2 s after, %s at exit" % (mb(store_live), mb(store_end)))
PY
echo "(files in $DIR)"
