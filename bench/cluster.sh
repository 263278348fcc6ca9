#!/usr/bin/env bash
# Rate limits in cluster mode vs on one node: two Wafers (one worker each) in
# front of the same upstream, both with the same generous limit on every
# request (so none is refused and the check itself is measured), one counting
# locally, one in Redis (127.0.0.1:6379 or REDIS_URL); alternating rounds,
# medians, and the ratio.
#
# Needs: apt-get install nginx wrk redis-server (the upstream is ../shared/bench/peers' nginx on :9000)
# Usage: bench/cluster.sh [seconds=10] [rounds=3] [connections=32]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
SECS=${1:-10}
ROUNDS=${2:-3}
CONNS=${3:-32}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export RUNDIR=${RUNDIR:-/tmp/wafer-bench-peers}
OUT=${OUT:-$ROOT/bench/out}
WAFER=$ROOT/target/release/wafer
rm -rf "$OUT/cluster-off" "$OUT/cluster-on"
mkdir -p "$OUT/cluster-off" "$OUT/cluster-on"
cargo build --release -p wafer --manifest-path "$ROOT/Cargo.toml" >&2
LIMIT='[[rate_limits]]\nname = "bench"\nrate = "1000000/s"\nburst = 1000000\n[anomaly]\nmode = "off"\nlearn_requests = 0\n'
printf "$LIMIT" > "$OUT/cluster-off/wafer.toml"
printf "redis_url = \"$REDIS_URL\"\n$LIMIT" > "$OUT/cluster-on/wafer.toml"
sh "$PEERS/start.sh" 1 1 >&2
"$WAFER" run -c "$OUT/cluster-off/wafer.toml" --listen 127.0.0.1:8087 --upstream http://127.0.0.1:9000 \
  --events none --log-level warn --workers 1 --admin-listen off --data-dir "$OUT/cluster-off" >&2 &
OFF=$!
"$WAFER" run -c "$OUT/cluster-on/wafer.toml" --listen 127.0.0.1:8088 --upstream http://127.0.0.1:9000 \
  --events none --log-level warn --workers 1 --admin-listen off --data-dir "$OUT/cluster-on" >&2 &
ON=$!
cleanup() { kill "$OFF" "$ON" 2>/dev/null || true; nginx -c "$RUNDIR/nginx.conf" -s stop 2>/dev/null || true; }
trap cleanup EXIT
for port in 8087 8088; do
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
echo "| scenario | limits local | limits in redis | redis / local |"
echo "| --- | ---: | ---: | ---: |"
for scenario in get json; do
  off=(); on=()
  for _ in $(seq "$ROUNDS"); do
    off+=("$(rps 8087 "$scenario")")
    on+=("$(rps 8088 "$scenario")")
  done
  m_off=$(printf '%s\n' "${off[@]}" | median)
  m_on=$(printf '%s\n' "${on[@]}" | median)
  awk -v s="$scenario" -v a="$m_off" -v b="$m_on" 'BEGIN {printf "| %s | %.0f | %.0f | %.2f |\n", s, a, b, b/a}'
done
