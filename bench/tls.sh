#!/usr/bin/env bash
# HTTPS side by side on loopback, one worker each, the same ECDSA P-256
# certificate: nginx terminating TLS as a plain proxy, and Wafer terminating
# TLS and inspecting, both in front of the peers' upstream (:9000). Two wrk
# runs per target: keep-alive (request throughput over TLS) and
# `Connection: close` (a full TLS 1.3 handshake per request). Wafer over plain
# HTTP is measured alongside, for what TLS itself costs.
#
# Needs: apt-get install nginx wrk openssl
# Usage: bench/tls.sh [seconds=8] [connections=32]   (prints Markdown)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
SECS=${1:-8}
CONNS=${2:-32}
export RUNDIR=${RUNDIR:-/tmp/wafer-bench-peers}
OUT=${OUT:-$ROOT/bench/out}/tls
mkdir -p "$OUT"
for tool in nginx wrk openssl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install nginx wrk openssl" >&2; exit 1; }
done
if [ -z "${WAFER_BIN:-}" ]; then
  cargo build --release -p wafer --manifest-path "$ROOT/Cargo.toml" >&2
  WAFER_BIN=$ROOT/target/release/wafer
fi
PIDS=()
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true
  nginx -c "$OUT/nginx-tls.conf" -s stop 2>/dev/null || true
  nginx -c "$RUNDIR/nginx.conf" -s stop 2>/dev/null || true
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$OUT/key.pem" -out "$OUT/cert.pem" -subj /CN=shop.example \
  -addext subjectAltName=DNS:shop.example,IP:127.0.0.1 2>/dev/null

sh "$PEERS/start.sh" 1 1 >&2
cat > "$OUT/nginx-tls.conf" <<NGINX
worker_processes 1;
pid $OUT/nginx-tls.pid;
error_log $OUT/nginx-tls.error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  upstream backend { server 127.0.0.1:9000; keepalive 64; }
  server {
    listen 127.0.0.1:8444 ssl http2;
    ssl_certificate $OUT/cert.pem;
    ssl_certificate_key $OUT/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -c "$OUT/nginx-tls.conf"

cat > "$OUT/wafer.toml" <<TOML
listen = "127.0.0.1:8089"
upstream = "http://127.0.0.1:9000"
[tls]
listen = "127.0.0.1:8443"
cert = "$OUT/cert.pem"
key = "$OUT/key.pem"
TOML
rm -rf "$OUT/data"
"$WAFER_BIN" run --config "$OUT/wafer.toml" --events none --log-level warn --workers 1 \
  --admin-listen off --data-dir "$OUT/data" >&2 &
PIDS+=($!)
for _ in $(seq 100); do curl -fsk -o /dev/null https://127.0.0.1:8443/ 2>/dev/null && break; sleep 0.1; done
sleep "${SETTLE:-0}"

UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
COOKIE='_ga=GA1.2.1234567890.1700000000; session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abc; theme=dark'
GET_PATH='/products/view?id=1234&ref=home&utm_source=newsletter'
run() { # url [extra header]
  local extra=()
  [ $# -gt 1 ] && extra=(-H "$2")
  wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -H "User-Agent: $UA" -H "Accept: text/html,*/*;q=0.8" \
    -H "Cookie: $COOKIE" "${extra[@]}" "$1$GET_PATH" 2>&1 |
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} /Socket errors/ {err=$0} END {printf "%s | %s | %s | %s\n", rps, p50, p99, bad+0}'
}

echo "| connections | target | requests/s | p50 | p99 | non-2xx |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for target in "nginx, TLS:https://127.0.0.1:8444" "wafer, TLS:https://127.0.0.1:8443" "nginx, plain:http://127.0.0.1:8081" "wafer, plain:http://127.0.0.1:8089"; do
  echo "| keep-alive | ${target%%:*} | $(run "${target#*:}") |"
done
for target in "nginx, TLS:https://127.0.0.1:8444" "wafer, TLS:https://127.0.0.1:8443"; do
  echo "| one per request (handshake each) | ${target%%:*} | $(run "${target#*:}" "Connection: close") |"
done
echo
echo "Wafer's RSS after the runs: $(awk '/VmRSS/ {print $2}' "/proc/${PIDS[0]}/status") KiB"
