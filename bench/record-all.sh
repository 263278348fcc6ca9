#!/usr/bin/env bash
# Wafer with "record all requests" on vs off, side by side: two Wafers (one
# worker each, SQLite store) in front of the same upstream, measured in
# alternating rounds so that drift on the machine hits both alike; prints the
# median requests/s of each and the ratio.
#
# Needs: apt-get install nginx wrk (the upstream is ../shared/bench/peers' nginx on :9000)
# Usage: bench/record-all.sh [seconds=10] [rounds=3] [connections=32]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
SECS=${1:-10}
ROUNDS=${2:-3}
CONNS=${3:-32}
export RUNDIR=${RUNDIR:-/tmp/wafer-bench-peers}
OUT=${OUT:-$ROOT/bench/out}
rm -rf "$OUT/record-off" "$OUT/record-on"
mkdir -p "$OUT"
cargo build --release -p wafer --manifest-path "$ROOT/Cargo.toml" >&2
sh "$PEERS/start.sh" 1 1 >&2
"$ROOT/target/release/wafer" run --listen 127.0.0.1:8083 --upstream http://127.0.0.1:9000 \
  --events none --log-level warn --workers 1 --admin-listen off --data-dir "$OUT/record-off" >&2 &
OFF=$!
WAFER_RECORD_ALL=1 "$ROOT/target/release/wafer" run --listen 127.0.0.1:8084 --upstream http://127.0.0.1:9000 \
  --events none --log-level warn --workers 1 --admin-listen off --data-dir "$OUT/record-on" >&2 &
ON=$!
cleanup() { kill "$OFF" "$ON" 2>/dev/null || true; nginx -c "$RUNDIR/nginx.conf" -s stop 2>/dev/null || true; }
trap cleanup EXIT
for port in 8083 8084; do
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done
done
UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
COOKIE='_ga=GA1.2.1234567890.1700000000; session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abc; theme=dark'
rps() { # port scenario
  local args=()
  case $2 in
    get) args=(-H "User-Agent: $UA" -H "Cookie: $COOKIE" "http://127.0.0.1:$1/products/view?id=1234&ref=home") ;;
    json) args=(-s "$HERE/post-json.lua" -H "User-Agent: $UA" "http://127.0.0.1:$1/api/orders") ;;
  esac
  wrk -t1 -c"$CONNS" -d"${SECS}s" "${args[@]}" 2>&1 | awk '/Requests\/sec/ {print $2}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| scenario | record all off | record all on | on / off |"
echo "| --- | ---: | ---: | ---: |"
for scenario in get json; do
  off=(); on=()
  for _ in $(seq "$ROUNDS"); do
    off+=("$(rps 8083 "$scenario")")
    on+=("$(rps 8084 "$scenario")")
  done
  m_off=$(printf '%s\n' "${off[@]}" | median)
  m_on=$(printf '%s\n' "${on[@]}" | median)
  awk -v s="$scenario" -v a="$m_off" -v b="$m_on" 'BEGIN {printf "| %s | %.0f | %.0f | %.2f |\n", s, a, b, b/a}'
done
echo
echo "stored events (record all on): $(sqlite3 "$OUT/record-on/events.db" 'SELECT COUNT(*) FROM events' 2>/dev/null || echo '?')"
