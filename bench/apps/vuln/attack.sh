#!/usr/bin/env bash
# Attacks the deliberately vulnerable shop (app.py) with sqlmap and wapiti,
# first directly (they must find the holes and extract data: proof the tools
# and the app work), then through Wafer at its defaults (they must extract
# nothing). Only loopback addresses are touched.
#
# Usage: attack.sh        Env: WAFER (binary), KEEP=1 (keep the run folder),
#                              VULN_PORT (18830), FRONT_PORT (18831)
# Needs: sqlmap and wapiti (Debian; ../setup.sh installs them).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
if [ -z "${WAFER:-}" ]; then
  WAFER=/work/target-rel/release/wafer
  [ -x "$WAFER" ] || WAFER=$ROOT/target/release/wafer
fi
VULN_PORT=${VULN_PORT:-18830}
FRONT_PORT=${FRONT_PORT:-18831}
RUN=$(mktemp -d /tmp/wafer-attack.XXXXXX)
UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -z "${KEEP:-}" ]; then rm -rf "$RUN"; else echo "run folder kept: $RUN" >&2; fi
}
trap cleanup EXIT

python3 "$HERE/app.py" "$VULN_PORT" "$RUN/app" &
PIDS+=($!)
"$WAFER" run --listen "127.0.0.1:$FRONT_PORT" --upstream "http://127.0.0.1:$VULN_PORT" \
  --data-dir "$RUN/wafer-data" --admin-listen off > "$RUN/events.jsonl" 2> "$RUN/wafer.log" &
PIDS+=($!)
for port in "$VULN_PORT" "$FRONT_PORT"; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done

ROWS=()
row() { ROWS+=("$(printf '| %-26s | %-6s | %s |' "$1" "$2" "$3")"); }

# sqlmap NAME PORT [extra args]: boolean, error and UNION techniques, short timeouts, dump users.
sqlmap_run() {
  local name=$1 port=$2; shift 2
  local out=$RUN/sqlmap-$name.txt
  timeout 600 sqlmap -u "http://127.0.0.1:$port/product?id=1" --batch --flush-session \
    --output-dir "$RUN/sqlmap-$name" --random-agent --technique=BEU --dbms=SQLite \
    --timeout=5 --retries=1 --threads=2 --dump -T users "$@" > "$out" 2>&1
  local found=no dumped=no
  grep -q "^Parameter: id" "$out" && found=yes
  grep -q "pbkdf2\\$" "$out" && dumped=yes
  echo "sqlmap $name: injectable parameter found: $found; users table dumped: $dumped" >&2
  echo "$found $dumped"
}

# wapiti NAME PORT: SQL, blind SQL, command execution and file modules; findings from the JSON report.
wapiti_run() {
  local name=$1 port=$2
  timeout 600 wapiti -u "http://127.0.0.1:$port/" -m sql,blindsql,exec,file --flush-session \
    --store-session "$RUN/wapiti-session-$name" -A "$UA" --max-scan-time 240 --max-attack-time 90 \
    -f json -o "$RUN/wapiti-$name.json" > "$RUN/wapiti-$name.txt" 2>&1
  python3 - "$RUN/wapiti-$name.json" <<'EOF'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("no-report")
    sys.exit()
vulns = report.get("vulnerabilities", {})
found = {k: len(v) for k, v in vulns.items() if v}
print(", ".join(f"{k}: {n}" for k, n in sorted(found.items())) or "none")
EOF
}

echo "== sqlmap" >&2
read -r f d < <(sqlmap_run direct "$VULN_PORT")
row "sqlmap direct" "$([ "$f $d" = "yes yes" ] && echo ok || echo FAIL)" "injectable: $f, users dumped: $d (must be yes, yes)"
read -r f d < <(sqlmap_run wafer "$FRONT_PORT")
row "sqlmap through Wafer" "$([ "$f $d" = "no no" ] && echo ok || echo FAIL)" "injectable: $f, users dumped: $d (must be no, no)"
read -r f d < <(sqlmap_run wafer-tamper "$FRONT_PORT" --tamper=space2comment,between,randomcase)
row "sqlmap+tamper through Wafer" "$([ "$f $d" = "no no" ] && echo ok || echo FAIL)" "injectable: $f, users dumped: $d (must be no, no)"

echo "== wapiti" >&2
w=$(wapiti_run direct "$VULN_PORT")
echo "wapiti direct: $w" >&2
case $w in *"SQL Injection"*"ommand"*"ath"*|*"ommand"*"ath"*"SQL"*) s=ok ;; *) s=FAIL ;; esac
row "wapiti direct" "$s" "$w (must find SQL, command and path holes)"
w=$(wapiti_run wafer "$FRONT_PORT")
echo "wapiti through Wafer: $w" >&2
row "wapiti through Wafer" "$([ "$w" = none ] && echo ok || echo FAIL)" "$w (must be none)"

blocked=$(grep -c '"action":"block"' "$RUN/events.jsonl" || true)
rules=$(python3 -c '
import json, sys, collections
c = collections.Counter()
for l in open(sys.argv[1]):
    try: e = json.loads(l)
    except ValueError: continue
    if e.get("action") == "block":
        c.update({f["rule_id"] for f in e.get("findings", [])})
print(" ".join(f"{r}x{n}" for r, n in c.most_common(12)))' "$RUN/events.jsonl")

echo
echo "| run | result | what |"
echo "| --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"
echo
echo "Wafer blocked $blocked requests; most frequent rules: $rules"
! printf '%s\n' "${ROWS[@]}" | grep -q FAIL
