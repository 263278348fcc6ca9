#!/usr/bin/env bash
# Fuzzes each target for SECONDS with AFL++ (through cargo-afl, on stable Rust),
# one target at a time, then prints executions, corpus size, crashes and hangs.
# Exits non-zero if any target crashed (a panic, including a broken invariant).
#
#   bash fuzz/run.sh SECONDS [TARGET...]     (all targets by default)
#
# Targets are the binaries in fuzz/src/bin; their code is wafer_engine::fuzzing.
# Seeds come from fuzz/seeds/TARGET; AFL's output goes to fuzz/out/TARGET
# (crashes in fuzz/out/TARGET/default/crashes). A crash, once fixed, is copied
# to fuzz/regressions/TARGET/ so the engine's tests replay it.
set -euo pipefail
cd "$(dirname "$0")"

secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in src/bin/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

if ! cargo afl --version >/dev/null 2>&1; then
  echo "== installing cargo-afl (it builds its own AFL++)"
  cargo install cargo-afl --version 0.18.2 --locked
fi

echo "== building the fuzz targets"
cargo afl build --locked --bins

# No CPU frequency tuning or core pinning (shared machines, containers), and a
# core_pattern that pipes to a crash handler must not stop the run.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
# A fixed timeout: the transaction target compiles the rule set (under a second) whenever AFL
# starts a new process; an input slower than this is saved as a hang.
timeout_ms=${AFL_TIMEOUT_MS:-2000}
# Where cargo put the binaries: CARGO_TARGET_DIR when the caller set one.
bin_dir="${CARGO_TARGET_DIR:-target}/debug"

stat() { sed -n "s/^$1 *: *//p" "$2"; }

status=0
rows=()
for t in "${targets[@]}"; do
  [ -f "src/bin/$t.rs" ] || { echo "no fuzz target $t" >&2; exit 2; }
  [ -d "seeds/$t" ] || { echo "no seeds for $t in fuzz/seeds/$t" >&2; exit 2; }
  rm -rf "out/$t"
  mkdir -p out
  echo "== $t: ${secs}s"
  if ! cargo afl fuzz -i "seeds/$t" -o "out/$t" -t "$timeout_ms" -V "$secs" "$bin_dir/$t" >"out/$t.log" 2>&1; then
    echo "afl-fuzz failed on $t; the end of out/$t.log:" >&2
    tail -20 "out/$t.log" >&2
    status=1
    continue
  fi
  s="out/$t/default/fuzzer_stats"
  crashes=$(stat saved_crashes "$s")
  rows+=("$(printf '%-12s %12s %10s %8s %8s %6s' "$t" "$(stat execs_done "$s")" \
    "$(stat execs_per_sec "$s")" "$(stat corpus_count "$s")" "$crashes" "$(stat saved_hangs "$s")")")
  if [ "${crashes:-0}" != 0 ]; then
    echo "CRASH in $t: see fuzz/out/$t/default/crashes/" >&2
    status=1
  fi
done

printf '\n%-12s %12s %10s %8s %8s %6s\n' target execs exec/s corpus crashes hangs
printf '%s\n' "${rows[@]}"
exit $status
