#!/usr/bin/env bash
# Side-by-side proxy benchmark on loopback, one worker each: the upstream hit
# directly, nginx as a plain proxy, nginx + ModSecurity + OWASP CRS, and Wafer,
# all in front of the same upstream (nginx on :9000), driven by the same wrk.
#
# Needs: apt-get install nginx libnginx-mod-http-modsecurity modsecurity-crs wrk
# Usage: bench/proxy.sh [seconds=10] [connections=32]   (prints a Markdown table)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
SECS=${1:-10}
CONNS=${2:-32}
export RUNDIR=${RUNDIR:-/tmp/wafer-bench-peers}

for tool in nginx wrk; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install nginx libnginx-mod-http-modsecurity modsecurity-crs wrk" >&2; exit 1; }
done

cargo build --release -p wafer --manifest-path "$ROOT/Cargo.toml" >&2
sh "$PEERS/start.sh" 1 1 >&2
OUT=${OUT:-$ROOT/bench/out}
rm -rf "$OUT/bench-data" "$OUT/bench-data-record"
mkdir -p "$OUT"
# Wafer as it ships (SQLite store, events for blocked/flagged only), and a second
# one keeping every allowed request too (events.record_all = 1) for the side-by-side.
"$ROOT/target/release/wafer" run --listen 127.0.0.1:8083 --upstream http://127.0.0.1:9000 \
  --events none --log-level warn --workers 1 --admin-listen off --data-dir "$OUT/bench-data" >&2 &
WAFER=$!
WAFER_RECORD_ALL=1 "$ROOT/target/release/wafer" run --listen 127.0.0.1:8084 --upstream http://127.0.0.1:9000 \
  --events none --log-level warn --workers 1 --admin-listen off --data-dir "$OUT/bench-data-record" >&2 &
WAFER_RECORD=$!
cleanup() { kill "$WAFER" "$WAFER_RECORD" 2>/dev/null || true; nginx -c "$RUNDIR/nginx.conf" -s stop 2>/dev/null || true; }
trap cleanup EXIT
for port in 8083 8084; do
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done
done
IDLE_RSS=$(awk '/VmRSS/ {print $2}' "/proc/$WAFER/status")

UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
COOKIE='_ga=GA1.2.1234567890.1700000000; session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abc; theme=dark'
GET_PATH='/products/view?id=1234&ref=home&utm_source=newsletter'

run_wrk() { # port scenario
  local port=$1 scenario=$2 args=()
  case $scenario in
    get) args=(-H "User-Agent: $UA" -H "Accept: text/html,*/*;q=0.8" -H "Accept-Language: en-US,en;q=0.9" -H "Cookie: $COOKIE" "http://127.0.0.1:$port$GET_PATH") ;;
    json) args=(-s "$HERE/post-json.lua" -H "User-Agent: $UA" "http://127.0.0.1:$port/api/orders") ;;
  esac
  wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "${args[@]}" 2>&1
}

summarize() { # wrk output -> "rps p50 p99"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s %s %s %s\n", rps, p50, p99, bad+0}'
}

echo "| scenario | target | requests/s | p50 | p99 | non-2xx |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
declare -A RPS
for scenario in get json; do
  for target in "upstream direct:9000" "nginx proxy:8081" "nginx + ModSecurity + CRS:8082" "wafer:8083" "wafer, record all:8084"; do
    name=${target%:*}; port=${target##*:}
    read -r rps p50 p99 bad < <(run_wrk "$port" "$scenario" | summarize)
    RPS[$scenario:$name]=$rps
    echo "| $scenario | $name | $rps | $p50 | $p99 | $bad |"
  done
done
PEAK_RSS=$(awk '/VmHWM/ {print $2}' "/proc/$WAFER/status")
echo
for scenario in get json; do
  awk -v w="${RPS[$scenario:wafer]}" -v n="${RPS[$scenario:nginx proxy]}" -v m="${RPS[$scenario:nginx + ModSecurity + CRS]}" -v s="$scenario" \
    'BEGIN {printf "%s: wafer/nginx = %.2f, wafer/modsecurity = %.1f\n", s, w/n, w/m}'
  awk -v w="${RPS[$scenario:wafer]}" -v r="${RPS[$scenario:wafer, record all]}" -v s="$scenario" \
    'BEGIN {printf "%s: record all / off = %.2f\n", s, r/w}'
done
echo "wafer RSS: idle $((IDLE_RSS / 1024)) MiB, peak $((PEAK_RSS / 1024)) MiB"
