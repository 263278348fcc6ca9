#!/usr/bin/env bash
# The soak test: a release Wafer in front of a small upstream (HTTP echo and a
# WebSocket echo), with its own Redis (limits, bans) and its own PostgreSQL
# store (or SQLite), driven for SOAK_MINUTES with mixed traffic (benign GETs,
# forms, JSON, uploads; attacks of eight families), admin API queries, SSE and
# WebSocket clients; Redis, PostgreSQL and Wafer (SIGTERM) are restarted on
# the way. Prints requests sent = answered by class, events published =
# stored, RSS every 10 s, and exits 1 on any difference. See docs/BENCHMARKS.md.
#
# Needs: python3 (stdlib only), redis-server, PostgreSQL's server binaries
# (initdb, pg_ctl; run as root it uses the postgres user), psql.
# Usage: [SOAK_MINUTES=30] [SOAK_RATE=150] [SOAK_STORE=postgres|sqlite] bench/soak.sh
#        SOAK_SKIP_BUILD=1 uses target/release/wafer as it is.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
export SOAK_WAFER=${SOAK_WAFER:-$TARGET/release/wafer}
export SOAK_WORK PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the tree
SOAK_WORK=$(mktemp -d /tmp/wafer-soak.XXXXXX)
echo "soak: logs and data in $SOAK_WORK" >&2

cleanup() {
  # Whatever the driver left running (it stops everything itself when it ends normally).
  for f in "$SOAK_WORK"/pids/*; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill -0 "$pid" 2>/dev/null && kill "$pid" 2>/dev/null || true
  done
  if [ -e "$SOAK_WORK/pg/data/postmaster.pid" ]; then
    local ctl
    ctl=$(command -v pg_ctl || ls -d /usr/lib/postgresql/*/bin/pg_ctl | tail -1)
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- "$ctl" -D "$SOAK_WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
    else
      "$ctl" -D "$SOAK_WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
    fi
  fi
  # The PostgreSQL cluster is the bulk of the disk used; the logs stay.
  rm -rf "$SOAK_WORK/pg/data"
  echo "soak: logs in $SOAK_WORK" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${SOAK_SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -p wafer --manifest-path "$ROOT/Cargo.toml" >&2
fi
python3 "$HERE/soak/soak.py"
