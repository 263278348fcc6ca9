# Shared by the A/B benchmarks (record-all.sh, anomaly.sh, cluster.sh): two
# Wafers, one worker each, in front of ../shared/bench/peers' nginx upstream
# (:9000), driven by the same wrk in alternating rounds so that drift on the
# machine hits both alike. Source it after setting nothing; it reads the
# script's arguments: [seconds=10] [rounds=3] [connections=32].
set -euo pipefail
ROOT=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
SECS=${1:-10}
ROUNDS=${2:-3}
CONNS=${3:-32}
export RUNDIR=${RUNDIR:-/tmp/wafer-bench-peers}
OUT=${OUT:-$ROOT/bench/out}
WAFER=$ROOT/target/release/wafer
UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
COOKIE='_ga=GA1.2.1234567890.1700000000; session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abc; theme=dark'
PIDS=()
mkdir -p "$OUT"
cargo build --release -p wafer --manifest-path "$ROOT/Cargo.toml" >&2

cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; nginx -c "$RUNDIR/nginx.conf" -s stop 2>/dev/null || true; }
trap cleanup EXIT

start_peers() { sh "$PEERS/start.sh" 1 1 >&2; }

# wafer_on PORT DIR [VAR=value...] -- [wafer run flags...]: starts a Wafer, waits until it answers.
wafer_on() {
  local port=$1 dir=$2; shift 2
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  env "${envs[@]}" "$WAFER" run --listen "127.0.0.1:$port" --upstream http://127.0.0.1:9000 \
    --events none --log-level warn --workers 1 --admin-listen off --data-dir "$dir" "$@" >&2 &
  PIDS+=($!)
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done
}

rps() { # port scenario
  local args=()
  case $2 in
    get) args=(-H "User-Agent: $UA" -H "Cookie: $COOKIE" "http://127.0.0.1:$1/products/view?id=1234&ref=home") ;;
    json) args=(-s "$HERE/post-json.lua" -H "User-Agent: $UA" "http://127.0.0.1:$1/api/orders") ;;
  esac
  wrk -t1 -c"$CONNS" -d"${SECS}s" "${args[@]}" 2>&1 | awk '/Requests\/sec/ {print $2}'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# compare "label A" PORT_A "label B" PORT_B: the Markdown table of medians and B / A.
compare() {
  echo "| scenario | $1 | $3 | ratio |"
  echo "| --- | ---: | ---: | ---: |"
  local scenario a b
  for scenario in get json; do
    a=(); b=()
    for _ in $(seq "$ROUNDS"); do
      a+=("$(rps "$2" "$scenario")")
      b+=("$(rps "$4" "$scenario")")
    done
    awk -v s="$scenario" -v x="$(printf '%s\n' "${a[@]}" | median)" -v y="$(printf '%s\n' "${b[@]}" | median)" \
      'BEGIN {printf "| %s | %.0f | %.0f | %.2f |\n", s, x, y, y/x}'
  done
}
