#!/usr/bin/env bash
# The anomaly model's cost on the proxy: two Wafers (one worker each) in front
# of the same upstream, one with the model off, one with a model trained on
# the bench's own traffic shape active (scoring every request), measured in
# alternating rounds; prints the median requests/s of each and the ratio.
#
# Needs: apt-get install nginx wrk (the upstream is ../shared/bench/peers' nginx on :9000)
# Usage: bench/anomaly.sh [seconds=10] [rounds=3] [connections=32]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
SECS=${1:-10}
ROUNDS=${2:-3}
CONNS=${3:-32}
export RUNDIR=${RUNDIR:-/tmp/wafer-bench-peers}
OUT=${OUT:-$ROOT/bench/out}
WAFER=$ROOT/target/release/wafer
rm -rf "$OUT/anomaly-off" "$OUT/anomaly-on"
mkdir -p "$OUT/anomaly-off" "$OUT/anomaly-on"
cargo build --release -p wafer --manifest-path "$ROOT/Cargo.toml" >&2
printf '[anomaly]\nmode = "off"\nlearn_requests = 0\n' > "$OUT/anomaly-off/wafer.toml"
# Scoring only: a threshold no request reaches, so that nothing is flagged and
# stored (a flag costs what an event costs: see "record all" above).
printf '[anomaly]\nmode = "detect"\nthreshold = 0.99\nlearn_requests = 0\n' > "$OUT/anomaly-on/wafer.toml"
# A model for this traffic: the bench's own requests (as wrk sends them, ids
# and quantities varied), as a JSON-lines corpus. Trained on something else,
# every bench request would be flagged and stored, and this would measure the
# store instead of the model.
UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
COOKIE='_ga=GA1.2.1234567890.1700000000; session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abc; theme=dark'
python3 - "$OUT/anomaly-on/traffic.jsonl" "$UA" "$COOKIE" <<'PY'
import json, sys
out, ua, cookie = sys.argv[1:]
with open(out, "w") as f:
    for i in range(2000):
        f.write(json.dumps({"method": "GET", "uri": f"/products/view?id={1000 + i}&ref=home",
                            "headers": [["User-Agent", ua], ["Cookie", cookie]], "label": "benign"}) + "\n")
        items = ",".join('{"sku":"SKU-%05d","qty":%d,"note":"gift wrap please"}' % (j, (i + j) % 9 + 1) for j in range(1, 21))
        body = '{"customer":{"name":"Ada Lovelace","email":"ada@example.com"},"items":[' + items + ']}'
        f.write(json.dumps({"method": "POST", "uri": "/api/orders", "body": body, "label": "benign",
                            "headers": [["User-Agent", ua], ["Content-Type", "application/json"], ["Accept", "application/json"]]}) + "\n")
PY
"$WAFER" train "$OUT/anomaly-on/traffic.jsonl" --data-dir "$OUT/anomaly-on" --activate >/dev/null
sh "$PEERS/start.sh" 1 1 >&2
"$WAFER" run -c "$OUT/anomaly-off/wafer.toml" --listen 127.0.0.1:8085 --upstream http://127.0.0.1:9000 \
  --events none --log-level warn --workers 1 --admin-listen off --data-dir "$OUT/anomaly-off" >&2 &
OFF=$!
"$WAFER" run -c "$OUT/anomaly-on/wafer.toml" --listen 127.0.0.1:8086 --upstream http://127.0.0.1:9000 \
  --events none --log-level warn --workers 1 --admin-listen off --data-dir "$OUT/anomaly-on" >&2 &
ON=$!
cleanup() { kill "$OFF" "$ON" 2>/dev/null || true; nginx -c "$RUNDIR/nginx.conf" -s stop 2>/dev/null || true; }
trap cleanup EXIT
for port in 8085 8086; do
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done
done
rps() { # port scenario
  local args=()
  case $2 in
    get) args=(-H "User-Agent: $UA" -H "Cookie: $COOKIE" "http://127.0.0.1:$1/products/view?id=1234&ref=home") ;;
    json) args=(-s "$HERE/post-json.lua" -H "User-Agent: $UA" "http://127.0.0.1:$1/api/orders") ;;
  esac
  wrk -t1 -c"$CONNS" -d"${SECS}s" "${args[@]}" 2>&1 | awk '/Requests\/sec/ {print $2}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| scenario | model off | model on | on / off |"
echo "| --- | ---: | ---: | ---: |"
for scenario in get json; do
  off=(); on=()
  for _ in $(seq "$ROUNDS"); do
    off+=("$(rps 8085 "$scenario")")
    on+=("$(rps 8086 "$scenario")")
  done
  m_off=$(printf '%s\n' "${off[@]}" | median)
  m_on=$(printf '%s\n' "${on[@]}" | median)
  awk -v s="$scenario" -v a="$m_off" -v b="$m_on" 'BEGIN {printf "| %s | %.0f | %.0f | %.2f |\n", s, a, b, b/a}'
done
echo
echo "flagged events (model on): $(sqlite3 "$OUT/anomaly-on/events.db" 'SELECT COUNT(*) FROM events' 2>/dev/null || echo '?')"
