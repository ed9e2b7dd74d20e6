#!/usr/bin/env bash
# Shakes out flaky tests on purpose: runs the integration-test binary N times in a row while a CPU
# hog keeps one core busy (as a loaded CI machine would), and prints how many runs passed.
#
#   tests/flake.sh [N] [-- test filter and libtest flags]
#   tests/flake.sh 20                  # the whole binary, 20 times
#   tests/flake.sh 50 -- browser_      # only the browser tests, 50 times
#
# The hog is `stress-ng --cpu 1` when installed (apt-get install stress-ng), a shell busy loop
# otherwise. Each run's output is kept in target/flake/run-<i>.log; the failing tests are listed.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:-20}
shift || true
[ "${1:-}" = "--" ] && shift

echo "building the test binary…"
bin=$(cargo test --test it --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "could not build or find the integration-test binary" >&2
  exit 2
fi

if command -v stress-ng >/dev/null 2>&1; then
  stress-ng --cpu 1 --quiet &
else
  sh -c 'while :; do :; done' &
fi
hog=$!
trap 'kill $hog 2>/dev/null; wait $hog 2>/dev/null' EXIT INT TERM

mkdir -p target/flake
passed=0
for i in $(seq 1 "$runs"); do
  log=target/flake/run-$i.log
  start=$(date +%s)
  if "$bin" "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "run $i/$runs: pass ($(( $(date +%s) - start )) s)"
  else
    echo "run $i/$runs: FAIL ($(( $(date +%s) - start )) s), see $log:"
    grep -E '^test .* FAILED$|panicked at' "$log" | head -10 | sed 's/^/    /'
  fi
done
echo "passed $passed of $runs runs with one core loaded"
[ "$passed" -eq "$runs" ]
