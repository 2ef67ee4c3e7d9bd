#!/usr/bin/env bash
# Every check behind RELIABILITY.md, in one run (about half an hour on 2
# cores, most of it building instrumented code; the fuzz long profile
# adds its own time):
#
#   1. the core's C++ tests under ASan + UBSan      tools/sanitized_ctest.sh
#   2. Python tests against an ASan + UBSan module   tools/asan_pytest.sh
#   3. the resource tests, the slow one included     DESCEND_SLOW=1 pytest tests/test_resources.py
#      (needs ~17 GB of free memory) and the Ctrl-C tests (tests/test_safety.py)
#   4. the fuzz suite's long Hypothesis profile      pytest tests/test_fuzz.py --hypothesis-profile=long
#
# Run it from the repository's development venv (descend and its test
# extra installed, cmake and g++ on PATH):
#
#   tools/reliability.sh              # all four
#   tools/reliability.sh 1 3          # some of them, by number
#
# Each step runs even when an earlier one failed; the summary at the end
# gives each step's result and time, and the exit status is non-zero if
# any failed. The figures RELIABILITY.md quotes are printed along the way
# (lines starting "RSS growth", "Ctrl-C:", "four threads", "asan_pytest:").
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(1 2 3 4)

run_step() {
  case $1 in
    1) bash tools/sanitized_ctest.sh ;;
    2) bash tools/asan_pytest.sh ;;
    3) DESCEND_SLOW=1 python -m pytest -q -s -p no:cacheprovider tests/test_resources.py \
         tests/test_safety.py::test_ctrl_c_interrupts_a_long_fit ;;
    4) python -m pytest -q -p no:cacheprovider tests/test_fuzz.py --hypothesis-profile=long ;;
    *) echo "no step $1 (1-4)" >&2; return 2 ;;
  esac
}
names=("" "C++ tests, ASan+UBSan" "Python tests, ASan+UBSan module" "resource and Ctrl-C tests (DESCEND_SLOW=1)"
       "fuzz suite, long profile")

summary=()
failed=0
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1e6}' /proc/meminfo 2>/dev/null || echo '? GB'), $(uname -sm)"
for s in "${steps[@]}"; do
  echo
  echo "=== step $s: ${names[$s]:-?} ==="
  start=$SECONDS
  run_step "$s"
  rc=$?
  took=$((SECONDS - start))
  [ "$rc" -eq 0 ] || failed=1
  summary+=("step $s (${names[$s]:-?}): $([ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in ${took} s")
done
echo
echo "=== summary ==="
printf '%s\n' "${summary[@]}"
exit "$failed"
