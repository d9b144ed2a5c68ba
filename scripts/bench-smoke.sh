#!/usr/bin/env bash
# Every bench once, in its --smoke form (one tiny round, seconds), so that none stops working
# unnoticed: a crash fails CI, a missed target does not (the figures of a tiny round mean
# nothing).  Needs what the benches need: Redis at 127.0.0.1:6379 (bench_console, and
# redis-server for bench_wechat's own), ffmpeg, curl.
#
# The benches run BENCH_JOBS at a time (default: one per core): a smoke run is mostly
# interpreters starting and importing, so a second core halves the wall time.  Each one's
# output is kept apart and shown only when it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
JOBS=${BENCH_JOBS:-$(nproc)}
export PYTHONPATH=$PWD
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
now() { date +%s%N; }
total_start=$(now)

label() {  # bench/bench_x.py:mode -> bench_x-mode
  local name
  name=$(basename "${1%%:*}" .py)
  if [[ $1 == *:* ]]; then name+="-${1#*:}"; fi
  echo "$name"
}

one() {  # one bench ("path" or "path:mode"); its log, wall time and exit status go to $logs/<name>.*
  local bench=${1%%:*} name start args=(--smoke)
  name=$(label "$1")
  case "$1" in
    bench/bench_wechat.py) args+=(--store redis) ;;  # the Redis path, with its commandstats
    bench/bench_wechat.py:both) args+=(--store both) ;;  # SQLite and Redis in one run, their ratio
    bench/bench_wechat.py:workers) args+=(--store redis --workers 2) ;;  # two workers on one Redis
    bench/bench_wechat.py:cluster) args+=(--store redis --cluster) ;;  # a Redis Cluster of its own
  esac
  start=$(now)
  local rc=0
  "$PY" "$bench" "${args[@]}" >"$logs/$name.log" 2>&1 || rc=$?
  echo $(( ($(now) - start) / 1000000 )) >"$logs/$name.ms"
  echo "$rc" >"$logs/$name.rc"
}

# The slowest first, so that the others fill the second core meanwhile.
benches=(bench/bench_telegram.py bench/bench_wechat.py bench/bench_wechat.py:both bench/bench_wechat.py:workers
  bench/bench_wechat.py:cluster)
for bench in bench/bench_*.py; do
  case " ${benches[*]} " in *" $bench "*) ;; *) benches+=("$bench") ;; esac
done
running=0
for bench in "${benches[@]}"; do
  if [ "$running" -ge "$JOBS" ]; then
    wait -n
    running=$((running - 1))
  fi
  one "$bench" &
  running=$((running + 1))
done
wait

failed=()
for bench in "${benches[@]}"; do
  name=$(label "$bench")
  if [ "$(cat "$logs/$name.rc")" = 0 ]; then
    printf '%-32s ok   %6d ms\n' "$bench" "$(cat "$logs/$name.ms")"
  else
    printf '%-32s FAILED\n' "$bench"
    tail -20 "$logs/$name.log"
    failed+=("$bench")
  fi
done
printf 'all benches: %d ms (%d at a time)\n' $(( ($(now) - total_start) / 1000000 )) "$JOBS"
[ ${#failed[@]} -eq 0 ] || { echo "bench smoke runs failed: ${failed[*]}" >&2; exit 1; }
