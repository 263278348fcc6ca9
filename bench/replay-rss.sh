#!/usr/bin/env bash
# Memory under varied traffic: every request of every shared corpus (browser
# traffic, CRS attacks and near misses, CSIC, HAR, User-Agents; ~82,700
# requests, all different) sent once through Wafer by ../shared/bench/wafeval.py,
# twice over, with Wafer's RSS sampled every half second. Prints Markdown:
# idle, peak, after each pass, and after 10 s idle.
#
# Needs: nginx (../shared/bench/peers starts the upstream on :9000), python3.
# Usage: bench/replay-rss.sh [label=wafer] [env VAR=value...]
#        WAFER_BIN=/path/to/wafer bench/replay-rss.sh "base build"
#        bench/replay-rss.sh "glibc, 2 arenas" MALLOC_ARENA_MAX=2
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
LABEL=${1:-wafer}; shift || true
export RUNDIR=${RUNDIR:-/tmp/wafer-bench-peers}
if [ -z "${WAFER_BIN:-}" ]; then
  cargo build --release -p wafer --manifest-path "$ROOT/Cargo.toml" >&2
  WAFER_BIN=$ROOT/target/release/wafer
fi
PORT=${PORT:-8099}
DIR=$(mktemp -d)
cleanup() { kill "$PID" "$SAMPLER" 2>/dev/null || true; nginx -c "$RUNDIR/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
sh "$SHARED/bench/peers/start.sh" 1 1 >&2
env "$@" "$WAFER_BIN" run --listen "127.0.0.1:$PORT" --upstream http://127.0.0.1:9000 \
  --events none --log-level error --admin-listen off --data-dir "$DIR" >&2 &
PID=$!
for _ in $(seq 200); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break; sleep 0.05; done
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status"; }
( while kill -0 "$PID" 2>/dev/null; do rss >> "$DIR/rss"; echo >> "$DIR/rss"; sleep 0.5; done ) &
SAMPLER=$!
# Vectorscan builds compile their databases in the first seconds: let them.
sleep "${SETTLE:-0}"
idle=$(rss)
corpora=()
for f in browser-dev crs-attacks crs-negative csic-normal-train har-browser useragents; do
  corpora+=("$SHARED/corpora/$f.jsonl")
done
start=$(date +%s)
python3 "$SHARED/bench/wafeval.py" --target "127.0.0.1:$PORT" --workers 16 "${corpora[@]}" > "$DIR/pass1" 2>&1
pass1=$(rss)
python3 "$SHARED/bench/wafeval.py" --target "127.0.0.1:$PORT" --workers 16 "${corpora[@]}" > "$DIR/pass2" 2>&1
pass2=$(rss)
secs=$(( $(date +%s) - start ))
sleep 10
rested=$(rss)
peak=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status")
echo "| $LABEL | $idle | $peak | $pass1 | $pass2 | $rested | $secs s |"
