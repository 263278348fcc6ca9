#!/usr/bin/env bash
# Wafer with "record all requests" on vs off, side by side (SQLite store);
# prints the median requests/s of each and the ratio.
#
# Needs: apt-get install nginx wrk (the upstream is ../shared/bench/peers' nginx on :9000)
# Usage: bench/record-all.sh [seconds=10] [rounds=3] [connections=32]
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
rm -rf "$OUT/record-off" "$OUT/record-on"
start_peers
wafer_on 8083 "$OUT/record-off"
wafer_on 8084 "$OUT/record-on" WAFER_RECORD_ALL=1
compare "record all off" 8083 "record all on" 8084
echo
echo "stored events (record all on): $(sqlite3 "$OUT/record-on/events.db" 'SELECT COUNT(*) FROM events' 2>/dev/null || echo '?')"
