#!/usr/bin/env bash
# The anomaly model's cost on the proxy: two Wafers (one worker each) in front
# of the same upstream, one with the model off, one with a model trained on
# the bench's own traffic shape active (scoring every request), measured in
# alternating rounds; prints the median requests/s of each and the ratio.
#
# Needs: apt-get install nginx wrk (the upstream is ../shared/bench/peers' nginx on :9000)
# Usage: bench/anomaly.sh [seconds=10] [rounds=3] [connections=32]
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
rm -rf "$OUT/anomaly-off" "$OUT/anomaly-on"
mkdir -p "$OUT/anomaly-off" "$OUT/anomaly-on"
printf '[anomaly]\nmode = "off"\nlearn_requests = 0\n' > "$OUT/anomaly-off/wafer.toml"
# Scoring only: a threshold no request reaches, so that nothing is flagged and
# stored (a flag costs what an event costs: see "record all" above).
printf '[anomaly]\nmode = "detect"\nthreshold = 0.99\nlearn_requests = 0\n' > "$OUT/anomaly-on/wafer.toml"
# A model for this traffic: the bench's own requests (as wrk sends them, ids
# and quantities varied), as a JSON-lines corpus. Trained on something else,
# every bench request would be flagged and stored, and this would measure the
# store instead of the model.
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
start_peers
wafer_on 8085 "$OUT/anomaly-off" -- -c "$OUT/anomaly-off/wafer.toml"
wafer_on 8086 "$OUT/anomaly-on" -- -c "$OUT/anomaly-on/wafer.toml"
compare "model off" 8085 "model on" 8086
echo
echo "flagged events (model on): $(sqlite3 "$OUT/anomaly-on/events.db" 'SELECT COUNT(*) FROM events' 2>/dev/null || echo '?')"
