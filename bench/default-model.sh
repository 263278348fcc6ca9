#!/usr/bin/env bash
# Rebuilds the anomaly model built into Wafer (crates/wafer/models/default.json)
# from the shared corpora: CSIC 2010 normal traffic, real User-Agents and HAR
# browser requests; generic features only (no routes, so it fits no one site
# better than another), threshold at the top of its training scores. Same
# data, seed and time: the same file, byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
corpora=${CORPORA:-../shared/corpora}
cargo run --release -q -p wafer -- train \
  "$corpora/csic-normal-train.jsonl" "$corpora/useragents.jsonl" "$corpora/har-browser.jsonl" \
  --no-routes --seed 1 --target-fpr 0.00002 --created-ms 1796083200000 \
  --out crates/wafer/models/default.json
