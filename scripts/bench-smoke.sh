#!/usr/bin/env bash
# Every bench once, in its --smoke form (one tiny round, seconds), so that none stops working
# unnoticed: a crash fails CI, a missed target does not (the figures of a tiny round mean
# nothing).  Needs what the benches need: Redis at 127.0.0.1:6379 (bench_console, and
# redis-server for bench_wechat's own), ffmpeg, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH=$PWD
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
failed=()
total_start=$(date +%s%N)
for bench in bench/bench_*.py; do
  args=(--smoke)
  case "$bench" in
    bench/bench_wechat.py) args+=(--store redis) ;;  # the Redis path, with its commandstats
  esac
  start=$(date +%s%N)
  if "$PY" "$bench" "${args[@]}" >"$log" 2>&1; then
    printf '%-28s ok   %6d ms\n' "$bench" "$(ms "$start")"
  else
    printf '%-28s FAILED\n' "$bench"
    tail -20 "$log"
    failed+=("$bench")
  fi
done
printf 'all benches: %d ms\n' "$(ms "$total_start")"
[ ${#failed[@]} -eq 0 ] || { echo "bench smoke runs failed: ${failed[*]}" >&2; exit 1; }
