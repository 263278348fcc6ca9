#!/usr/bin/env bash
# Side-by-side proxy benchmark on loopback: the upstream hit directly, nginx as
# a plain proxy, nginx + ModSecurity + OWASP CRS, and Wafer, all in front of
# the same upstream (nginx on :9000), driven by the same wrk (keep-alive), first
# with one worker each, then with one per core. Scenarios: a browser GET with
# cookies, a 2 KiB JSON POST, a 64 KiB multipart upload, and the GET with one
# request in ten an attack. Prints requests/s, p50/p99, the ratios, Wafer's
# start-up time and RSS, and nginx's.
#
# Needs: apt-get install nginx libnginx-mod-http-modsecurity modsecurity-crs wrk
# Usage: bench/proxy.sh [seconds=10] [connections=32] [modes="1 all"]   (prints Markdown)
#        WAFER_BIN=/path/to/wafer bench/proxy.sh ...   (another build, not this checkout's)
#        WAFER_BASE=/path/to/old/wafer bench/proxy.sh ... (adds that build as "wafer, base build", in the same run)
#        SCENARIOS=get bench/proxy.sh 8 32 1            (some scenarios only; the paced run needs get)
#        SCENARIOS="json multipart upload" ...            (upload: 1 MiB binary file, past the parse buffer)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
SECS=${1:-10}
CONNS=${2:-32}
MODES=${3:-1 all}
SCENARIOS=${SCENARIOS:-get json multipart mix}
export RUNDIR=${RUNDIR:-/tmp/wafer-bench-peers}

for tool in nginx wrk; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install nginx libnginx-mod-http-modsecurity modsecurity-crs wrk" >&2; exit 1; }
done

# WAFER_BIN=path measures another build (an earlier commit, say) with the same script.
if [ -z "${WAFER_BIN:-}" ]; then
  cargo build --release -p wafer --manifest-path "$ROOT/Cargo.toml" >&2
  WAFER_BIN=$ROOT/target/release/wafer
fi
OUT=${OUT:-$ROOT/bench/out}
mkdir -p "$OUT"
WAFER_PIDS=()
cleanup() { kill "${WAFER_PIDS[@]}" 2>/dev/null || true; nginx -c "$RUNDIR/nginx.conf" -s stop 2>/dev/null || true; }
trap cleanup EXIT

UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
COOKIE='_ga=GA1.2.1234567890.1700000000; session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abc; theme=dark'
GET_PATH='/products/view?id=1234&ref=home&utm_source=newsletter'

run_wrk() { # port scenario threads
  local port=$1 scenario=$2 threads=$3 args=()
  case $scenario in
    get) args=(-H "User-Agent: $UA" -H "Accept: text/html,*/*;q=0.8" -H "Accept-Language: en-US,en;q=0.9" -H "Cookie: $COOKIE" "http://127.0.0.1:$port$GET_PATH") ;;
    json) args=(-s "$HERE/post-json.lua" -H "User-Agent: $UA" "http://127.0.0.1:$port/api/orders") ;;
    multipart) args=(-s "$HERE/post-multipart.lua" -H "User-Agent: $UA" "http://127.0.0.1:$port/upload") ;;
    upload) args=(-s "$HERE/post-upload.lua" -H "User-Agent: $UA" "http://127.0.0.1:$port/upload") ;;
    mix) args=(-s "$HERE/mix.lua" "http://127.0.0.1:$port/") ;;
    paced) args=(-s "$HERE/paced.lua" -H "User-Agent: $UA" -H "Accept: text/html,*/*;q=0.8" -H "Accept-Language: en-US,en;q=0.9" -H "Cookie: $COOKIE" "http://127.0.0.1:$port$GET_PATH") ;;
  esac
  wrk -t"$threads" -c"$CONNS" -d"${SECS}s" --latency "${args[@]}" 2>&1
}

summarize() { # wrk output -> "rps p50 p99 non2xx"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s %s %s %s\n", rps, p50, p99, bad+0}'
}

start_wafer() { # port data-dir workers [env...]; prints the pid, start-up ms on fd 3
  local port=$1 dir=$2 workers=$3; shift 3
  rm -rf "$dir"
  local t0; t0=$(date +%s%N)
  env "$@" "${BIN:-$WAFER_BIN}" run --listen "127.0.0.1:$port" --upstream http://127.0.0.1:9000 \
    --events none --log-level warn --workers "$workers" --admin-listen off --data-dir "$dir" >&2 &
  local pid=$!
  for _ in $(seq 200); do curl -fs -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.01; done
  echo $(( ($(date +%s%N) - t0) / 1000000 )) >&3
  echo "$pid"
}

nginx_rss_kib() { # peak RSS of the nginx master and workers, summed
  local total=0
  for pid in $(pgrep -f "nginx.*$RUNDIR/nginx.conf"; pgrep -P "$(cat "$RUNDIR/nginx.pid")"); do
    total=$((total + $(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

for mode in $MODES; do
  if [ "$mode" = all ]; then W=$(nproc); else W=$mode; fi
  sh "$PEERS/start.sh" 1 "$W" >&2
  WAFER=$(start_wafer 8083 "$OUT/bench-data" "$W" 3>"$OUT/startup-ms")
  WAFER_RECORD=$(start_wafer 8084 "$OUT/bench-data-record" "$W" WAFER_RECORD_ALL=1 3>/dev/null)
  # The proxy alone, nothing inspected: what the engine's cost is measured against.
  WAFER_OFF=$(start_wafer 8085 "$OUT/bench-data-off" "$W" WAFER_MODE=off 3>/dev/null)
  WAFER_PIDS=("$WAFER" "$WAFER_RECORD" "$WAFER_OFF")
  TARGETS=("upstream direct:9000" "nginx proxy:8081" "nginx + ModSecurity + CRS:8082" "wafer:8083" "wafer, record all:8084" "wafer, inspection off:8085")
  if [ -n "${WAFER_BASE:-}" ]; then
    WAFER_PIDS+=("$(BIN=$WAFER_BASE start_wafer 8086 "$OUT/bench-data-base" "$W" 3>/dev/null)")
    TARGETS+=("wafer, base build:8086")
  fi
  # Vectorscan builds compile their databases in the background at start: let them.
  sleep "${SETTLE:-0}"
  IDLE_RSS=$(awk '/VmRSS/ {print $2}' "/proc/$WAFER/status")
  echo
  echo "### $W worker(s) each (wrk -t$W -c$CONNS, ${SECS} s)"
  echo
  echo "| scenario | target | requests/s | p50 | p99 | non-2xx |"
  echo "| --- | --- | ---: | ---: | ---: | ---: |"
  declare -A RPS=()
  for scenario in $SCENARIOS; do
    for target in "${TARGETS[@]}"; do
      name=${target%:*}; port=${target##*:}
      read -r rps p50 p99 bad < <(run_wrk "$port" "$scenario" "$W" | summarize)
      RPS[$scenario:$name]=$rps
      echo "| $scenario | $name | $rps | $p50 | $p99 | $bad |"
    done
  done
  PEAK_RSS=$(awk '/VmHWM/ {print $2}' "/proc/$WAFER/status")
  if [ "$W" = 1 ] && [ -n "${RPS[get:wafer]:-}" ]; then
    # The latency Wafer adds at about half its peak GET load: the same paced
    # load (bench/paced.lua) on the upstream directly and through Wafer.
    # Each connection's rate depends on Wafer's latency, so a short run
    # calibrates the number of connections to about half the peak.
    HALF=$(awk -v r="${RPS[get:wafer]}" 'BEGIN {print r / 2}')
    PACED_CONNS=$(awk -v h="$HALF" 'BEGIN {c = int(h / 800 + 0.5); print (c < 1 ? 1 : c)}')
    read -r got _ < <(CONNS=$PACED_CONNS SECS=3 run_wrk 8083 paced "$W" | summarize)
    PACED_CONNS=$(awk -v c="$PACED_CONNS" -v h="$HALF" -v g="$got" 'BEGIN {n = int(c * h / g + 0.5); print (n < 1 ? 1 : n)}')
    echo
    echo "Paced GET at about half Wafer's peak ($PACED_CONNS connections, each waiting 0-2 ms at random between requests):"
    echo
    echo "| target | requests/s | p50 | p99 |"
    echo "| --- | ---: | ---: | ---: |"
    declare -A P99=()
    for target in "upstream direct:9000" "wafer:8083"; do
      name=${target%:*}; port=${target##*:}
      read -r rps p50 p99 _ < <(CONNS=$PACED_CONNS run_wrk "$port" paced "$W" | summarize)
      P99[$name]=$p99
      echo "| $name | $rps | $p50 | $p99 |"
    done
    echo
    awk -v w="${P99[wafer]}" -v u="${P99[upstream direct]}" 'function ms(x) { if (x ~ /us$/) return x / 1000; if (x ~ /ms$/) return x + 0; return x * 1000 }
      BEGIN {printf "- p99 added by Wafer at half its peak load: %.2f ms (%s vs %s direct)\n", ms(w) - ms(u), w, u}'
  fi
  echo
  for scenario in $SCENARIOS; do
    awk -v w="${RPS[$scenario:wafer]}" -v n="${RPS[$scenario:nginx proxy]}" -v m="${RPS[$scenario:nginx + ModSecurity + CRS]}" -v r="${RPS[$scenario:wafer, record all]}" -v o="${RPS[$scenario:wafer, inspection off]}" -v s="$scenario" \
      'BEGIN {printf "- %s: wafer/nginx = %.2f, wafer/modsecurity = %.1f, record all / off = %.2f, inspection off/nginx = %.2f\n", s, w/n, (m > 0 ? w/m : 0), r/w, o/n}'
    if [ -n "${WAFER_BASE:-}" ]; then
      awk -v w="${RPS[$scenario:wafer]}" -v b="${RPS[$scenario:wafer, base build]}" -v s="$scenario" \
        'BEGIN {printf "- %s: this build / base build = %.3f\n", s, w/b}'
    fi
  done
  echo "- wafer: start-up $(cat "$OUT/startup-ms") ms (to the first answered request), RSS idle $((IDLE_RSS / 1024)) MiB, peak $((PEAK_RSS / 1024)) MiB"
  echo "- nginx (upstream, proxy and ModSecurity servers in one nginx): peak RSS $(( $(nginx_rss_kib) / 1024 )) MiB"
  kill "${WAFER_PIDS[@]}" 2>/dev/null || true
  wait "${WAFER_PIDS[@]}" 2>/dev/null || true
  nginx -c "$RUNDIR/nginx.conf" -s stop 2>/dev/null || true
  sleep 0.5
done
