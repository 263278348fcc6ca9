#!/usr/bin/env bash
# Rate limits in cluster mode vs on one node: two Wafers (one worker each) in
# front of the same upstream, both with the same generous limit on every
# request (so none is refused and the check itself is measured), one counting
# locally, one in Redis (127.0.0.1:6379 or REDIS_URL); alternating rounds,
# medians, and the ratio.
#
# Needs: apt-get install nginx wrk redis-server (the upstream is ../shared/bench/peers' nginx on :9000)
# Usage: bench/cluster.sh [seconds=10] [rounds=3] [connections=32]
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
rm -rf "$OUT/cluster-off" "$OUT/cluster-on"
mkdir -p "$OUT/cluster-off" "$OUT/cluster-on"
LIMIT='[[rate_limits]]\nname = "bench"\nrate = "1000000/s"\nburst = 1000000\n[anomaly]\nmode = "off"\nlearn_requests = 0\n'
printf "$LIMIT" > "$OUT/cluster-off/wafer.toml"
printf "redis_url = \"$REDIS_URL\"\n$LIMIT" > "$OUT/cluster-on/wafer.toml"
start_peers
wafer_on 8087 "$OUT/cluster-off" -- -c "$OUT/cluster-off/wafer.toml"
wafer_on 8088 "$OUT/cluster-on" -- -c "$OUT/cluster-on/wafer.toml"
compare "limits local" 8087 "limits in redis" 8088
