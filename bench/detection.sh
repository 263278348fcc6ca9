#!/usr/bin/env bash
# Detection over the wire, side by side: the same labelled corpora sent by
# ../shared/bench/wafeval.py to Wafer and to nginx + ModSecurity + OWASP CRS,
# both in front of the same upstream (nginx on :9000, which marks its replies
# with X-Upstream so passed and blocked can be told apart).
#
# Needs: apt-get install nginx libnginx-mod-http-modsecurity modsecurity-crs
# Usage: bench/detection.sh [paranoia=1] [every=1] [corpus.jsonl...]
#        (default corpora: browser-dev, crs-attacks, crs-negative)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
PL=${1:-1}
EVERY=${2:-1}
shift $(( $# > 2 ? 2 : $# ))
CORPORA=("$@")
if [ ${#CORPORA[@]} -eq 0 ]; then
  CORPORA=("$SHARED/corpora/browser-dev.jsonl" "$SHARED/corpora/crs-attacks.jsonl" "$SHARED/corpora/crs-negative.jsonl")
fi
export RUNDIR=${RUNDIR:-/tmp/wafer-detection-peers}
OUT=${OUT:-$ROOT/bench/out}
mkdir -p "$OUT"

command -v nginx >/dev/null || { echo "missing nginx: apt-get install nginx libnginx-mod-http-modsecurity modsecurity-crs" >&2; exit 1; }
cargo build --release -p wafer --manifest-path "$ROOT/Cargo.toml" >&2
sh "$SHARED/bench/peers/start.sh" "$PL" 2 >&2
"$ROOT/target/release/wafer" run --listen 127.0.0.1:8083 --upstream http://127.0.0.1:9000 \
  --paranoia "$PL" --events none --log-level error --admin-listen off --data-dir "$OUT/wafer-data" >&2 &
WAFER=$!
cleanup() { kill "$WAFER" 2>/dev/null || true; nginx -c "$RUNDIR/nginx.conf" -s stop 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do curl -fs -o /dev/null http://127.0.0.1:8083/ 2>/dev/null && break; sleep 0.1; done

for target in "wafer:8083" "modsecurity-crs:8082"; do
  name=${target%:*}; port=${target##*:}
  echo "## $name (paranoia $PL)"
  python3 "$SHARED/bench/wafeval.py" --target "127.0.0.1:$port" --every "$EVERY" \
    --json "$OUT/detection-$name-pl$PL.json" "${CORPORA[@]}"
  echo
done
