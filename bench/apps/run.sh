#!/usr/bin/env bash
# Runs one application's everyday flow in headless Chromium behind a WAF and
# says what got through.
#
# Usage: run.sh jupyterlab|wordpress [--peer wafer|modsec|direct] [--record]
#   --peer wafer   (default) Wafer at its defaults in front of the application
#   --peer modsec  nginx + ModSecurity + OWASP CRS (paranoia 1), the shared peer's rules
#   --peer direct  no WAF: the application itself
#   --record       write the browser's requests to crates/wafer-engine/tests/apps/APP.jsonl
#                  (best with --peer direct, so the whole flow is captured)
# Env: WAFER_MODE=detect (Wafer forwards everything and reports what it would have blocked),
#      WAFER (the binary; default /work/target-rel/release/wafer, else target/release/wafer),
#      WAFER_APP_PROFILE=1 (start Wafer with `[inspection] apps = ["APP"]`),
#      KEEP=1 (keep the run's folder: logs, Wafer's events, screenshots of failed steps).
# Prints `steps passed N/M` and, for Wafer, every blocked request with its rules
# and matched text (from Wafer's event lines); for ModSecurity, the CRS rule ids
# from its error log.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
APP=${1:?usage: run.sh jupyterlab|wordpress [--peer wafer|modsec|direct] [--record]}
shift
PEER=wafer
RECORD=
while [ $# -gt 0 ]; do
  case $1 in
    --peer) PEER=$2; shift 2 ;;
    --record) RECORD=$ROOT/crates/wafer-engine/tests/apps/$APP.jsonl; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
CACHE=${WAFER_APPS_CACHE:-$HOME/.cache/wafer-apps}
if [ -z "${WAFER:-}" ]; then
  WAFER=/work/target-rel/release/wafer
  [ -x "$WAFER" ] || WAFER=$ROOT/target/release/wafer
fi
RUN=$(mktemp -d /tmp/wafer-apps-$APP.XXXXXX)
PIDS=()
cleanup() {
  # php -S with workers forks: its workers go with it (children of our own pid).
  for p in "${PIDS[@]}"; do pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  [ -f "$RUN/nginx.conf" ] && nginx -c "$RUN/nginx.conf" -s stop 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -z "${KEEP:-}" ]; then rm -rf "$RUN"; else echo "run folder kept: $RUN" >&2; fi
}
trap cleanup EXIT

wait_http() { # url: until it answers at all (any status), 30 s at most
  for _ in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; return 1
}

port_free() { # port: refuse to run against a server left over from something else
  if curl -s -o /dev/null "http://127.0.0.1:$1/"; then
    echo "port $1 is already answering: stop whatever runs there first (or set APP_PORT / FRONT_PORT)" >&2
    exit 1
  fi
}

case $APP in
  jupyterlab)
    APP_PORT=${APP_PORT:-18810}; FRONT_PORT=${FRONT_PORT:-18811}; SCRIPT=jupyter.mjs
    port_free "$APP_PORT"; [ "$PEER" = direct ] || port_free "$FRONT_PORT"
    # A fresh home for the server and its settings: every run starts from the launcher.
    mkdir -p "$RUN/notebooks" "$RUN/jupyter"
    export JUPYTER_TOKEN
    JUPYTER_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    (cd "$RUN/notebooks" && JUPYTER_CONFIG_DIR=$RUN/jupyter/config JUPYTER_DATA_DIR=$RUN/jupyter/data \
      JUPYTER_RUNTIME_DIR=$RUN/jupyter/runtime JUPYTERLAB_SETTINGS_DIR=$RUN/jupyter/settings \
      JUPYTERLAB_WORKSPACES_DIR=$RUN/jupyter/workspaces IPYTHONDIR=$RUN/jupyter/ipython \
      exec "$CACHE/venv/bin/jupyter-lab" --allow-root --no-browser --ip=127.0.0.1 --port="$APP_PORT" \
        --IdentityProvider.token="$JUPYTER_TOKEN" --ServerApp.root_dir="$RUN/notebooks" \
        --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate) > "$RUN/app.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$APP_PORT/api/status"
    ;;
  wordpress)
    APP_PORT=${APP_PORT:-18820}; FRONT_PORT=${FRONT_PORT:-18821}; SCRIPT=wordpress.mjs
    port_free "$APP_PORT"; [ "$PEER" = direct ] || port_free "$FRONT_PORT"
    "$HERE/setup.sh" wp-reset
    PHP_CLI_SERVER_WORKERS=4 php -S "127.0.0.1:$APP_PORT" -t /usr/share/wordpress "$HERE/wp-router.php" \
      > "$RUN/app.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$APP_PORT/wp-login.php"
    ;;
  *) echo "unknown application $APP" >&2; exit 2 ;;
esac

case $PEER in
  direct) FRONT_PORT=$APP_PORT ;;
  wafer)
    ARGS=()
    if [ "${WAFER_APP_PROFILE:-}" = 1 ]; then
      printf '[inspection]\napps = ["%s"]\n' "$APP" > "$RUN/wafer.toml"
      ARGS=(--config "$RUN/wafer.toml")
    fi
    # Defaults otherwise; events go to stdout as JSON lines (one per blocked or flagged request).
    "$WAFER" "${ARGS[@]}" run --listen "127.0.0.1:$FRONT_PORT" --upstream "http://127.0.0.1:$APP_PORT" \
      --data-dir "$RUN/wafer-data" --admin-listen off > "$RUN/events.jsonl" 2> "$RUN/wafer.log" &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$FRONT_PORT/"
    ;;
  modsec)
    PEERS=${PEERS:-$ROOT/../shared/bench/peers}
    sed "s/PARANOIA/1/" "$PEERS/modsec-main.conf" > "$RUN/modsec-main.conf"
    # The shared peer's ModSecurity setup, in front of this application instead of its fixed upstream.
    cat > "$RUN/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;
worker_processes 1;
pid $RUN/nginx.pid;
error_log $RUN/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 64m;
  client_body_temp_path $RUN/body; proxy_temp_path $RUN/proxy;
  fastcgi_temp_path $RUN/fcgi; uwsgi_temp_path $RUN/uwsgi; scgi_temp_path $RUN/scgi;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server { listen 127.0.0.1:$FRONT_PORT; modsecurity on; modsecurity_rules_file $RUN/modsec-main.conf;
    location / { proxy_pass http://127.0.0.1:$APP_PORT; proxy_http_version 1.1; proxy_set_header Host \$http_host;
      proxy_set_header Upgrade \$http_upgrade; proxy_set_header Connection \$connection_upgrade;
      proxy_read_timeout 3600s; } }
}
EOF
    nginx -c "$RUN/nginx.conf"
    wait_http "http://127.0.0.1:$FRONT_PORT/"
    ;;
  *) echo "unknown peer $PEER" >&2; exit 2 ;;
esac

echo "== $APP through $PEER${WAFER_APP_PROFILE:+ (app profile)} (app :$APP_PORT, front :$FRONT_PORT)"
set +e
(cd "$HERE" && BASE="http://127.0.0.1:$FRONT_PORT" RECORD="$RECORD" SHOTS="$RUN/shots" \
  node "$SCRIPT") 2>&1 | tee "$RUN/flow.log" | grep -v '^RESULTS '
FLOW=${PIPESTATUS[0]}
set -e

case $PEER in
  wafer)
    sleep 0.5
    echo "-- requests Wafer blocked (step is the flow step running when it came):"
    python3 - "$RUN/events.jsonl" "$RUN/flow.log" <<'EOF'
import json, sys
steps = []
for line in open(sys.argv[2], errors="replace"):
    if line.startswith("RESULTS "):
        steps = json.loads(line[8:])
def step_at(ts):
    name = "setup"
    for s in steps:
        if s["t0"] <= ts:
            name = s["step"]
    return name
events = []
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    if line.startswith("{"):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        # Blocked, or in detect mode (WAFER_MODE=detect) would have been.
        if e.get("action") == "block" or e.get("score", 0) >= e.get("threshold", 1 << 30):
            events.append(e)
for e in events:
    q = "?" + e["query"][:80] if e.get("query") else ""
    print(f"[{step_at(e.get('ts_ms', 0))}] {e.get('method')} {e.get('path', '')}{q}  score {e.get('score')} ({e.get('action')})")
    for f in e.get("findings", []):
        loc = f.get("location", {})
        where = loc.get("part", "") + (":" + loc["name"] if loc.get("name") else "")
        print(f"    rule {f.get('rule_id')} {f.get('class')} at {where}: matched {json.dumps(f.get('matched'))[:120]}"
              f"  in {json.dumps(f.get('value'))[:160]}")
rules = sorted({f.get("rule_id") for e in events for f in e.get("findings", [])})
print(f"blocked requests: {len(events)}; rule ids: {' '.join(map(str, rules)) or '-'}")
EOF
    ;;
  modsec)
    echo "-- requests ModSecurity denied, and the CRS rules that fired on them (error log):"
    python3 - "$RUN/error.log" <<'PYEOF'
import re, sys, collections
by_uri = collections.OrderedDict()
for line in open(sys.argv[1], errors="replace"):
    if "ModSecurity:" not in line:
        continue
    uri = (re.search(r'\[uri "([^"]*)"\]', line) or [None, "?"])[1]
    rid = (re.search(r'\[id "(\d+)"\]', line) or [None, "?"])[1]
    msg = (re.search(r'\[msg "([^"]*)"\]', line) or [None, ""])[1]
    data = (re.search(r'\[data "([^"]*)"\]', line) or [None, ""])[1]
    by_uri.setdefault(uri, []).append(f"{rid} {msg[:70]} | {data[:110]}")
for uri, hits in by_uri.items():
    print(uri[:120])
    for h in dict.fromkeys(hits):
        print("    " + h)
ids = sorted({re.search(r'\[id "(\d+)"\]', l).group(1) for l in open(sys.argv[1], errors="replace") if '[id "' in l})
print("rule ids: " + " ".join(ids))
PYEOF
    ;;
esac
exit "$FLOW"
