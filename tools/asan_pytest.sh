#!/usr/bin/env bash
# Python tests against a module built with AddressSanitizer and
# UndefinedBehaviorSanitizer (-DDESCEND_SANITIZE=address,undefined): pip
# installs descend and its test extra into a throwaway venv (its own build
# directory, the baseline build only), then pytest runs the given test
# modules with the ASan runtime preloaded into the (uninstrumented) Python.
# Any report aborts the process and fails the run. tools/reliability.sh
# runs it.
#
#   tools/asan_pytest.sh [TEST_MODULE ...]   # names under tests/, e.g. test_fit
#
# Default: a representative set, about 3 minutes of tests (the kernels and
# losses, fit, the Gram path, sparse X, descend.optim, minimize, the
# reliability and validation edge cases, the safety tests, the command
# line's readers (LIBSVM is parsed by the core), the resource tests but
# their RSS check, which ASan's quarantine defeats). Building the
# instrumented module takes several minutes on 2 cores; set
# DESCEND_ASAN_VENV=DIR to build into DIR and reuse it as it is on later
# runs (remove DIR to rebuild after a change).
# Leak detection is off: CPython does not free everything at exit by
# design; tests/test_resources.py checks descend for leaks by RSS, and
# tools/sanitized_ctest.sh runs the core's tests with LeakSanitizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
venv=${DESCEND_ASAN_VENV:-$work/venv}
# The throwaway venv and its build (~1.3 GB) go at exit; the log stays.
[ -n "${DESCEND_ASAN_VENV:-}" ] || trap 'rm -rf "$work/venv" "$work/venv.build"' EXIT
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(test_kernels test_losses test_fit test_gram test_sparse test_optim test_minimize
                                      test_reliability test_validation test_safety test_cli test_resources)
paths=()
for m in "${modules[@]}"; do
  m=${m%.py}
  paths+=("$root/tests/${m#tests/}.py")
done

cxx=${CXX:-g++}
libasan=$("$cxx" -print-file-name=libasan.so)
[ -e "$libasan" ] || { echo "no libasan.so for $cxx ($libasan)" >&2; exit 1; }
# libstdc++ preloaded too: Python does not link it, and ASan's __cxa_throw
# interceptor, set up at start, finds no real __cxa_throw otherwise (the
# first C++ exception then stops the process with "CHECK failed:
# asan_interceptors.cpp ... real___cxa_throw").
libstdcxx=$("$cxx" -print-file-name=libstdc++.so)

# (The instrumented module imports only with the ASan runtime preloaded,
# so a marker file says the venv is complete.)
if [ ! -e "$venv/.descend-asan-installed" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  # -O1: instrumented -O2/-O3 builds take minutes per file; -O0 makes the
  # tests' larger fits slow.
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} "$venv/bin/python" -m pip install --quiet "$root[test]" \
    -Cbuild-dir="$venv.build" -Ccmake.build-type=Debug -Ccmake.define.CMAKE_CXX_FLAGS=-O1 \
    -Ccmake.define.DESCEND_SANITIZE=address,undefined -Ccmake.define.DESCEND_DISPATCH=OFF
  touch "$venv/.descend-asan-installed"
fi

# From outside the checkout, so descend is the instrumented install.
# PYTHONMALLOC=malloc: Python's objects come from ASan's malloc too (red
# zones around each), not from pymalloc's arenas. Reports go to files
# (log_path), not to stderr: pytest captures the tests' stderr, and a
# report that aborts the process would vanish with it; the files also
# catch reports from child processes (the Ctrl-C tests start some).
cd "$work"
log=$work/pytest.log
reports_at=$work/sanitizer-report
echo "asan_pytest: pytest -v of ${modules[*]} against $venv; full log: $log"
set +e
LD_PRELOAD="$libasan $libstdcxx" PYTHONMALLOC=malloc \
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:log_path=$reports_at \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$reports_at \
  "$venv/bin/python" -m pytest -v -p no:cacheprovider "${paths[@]}" >"$log" 2>&1
status=$?
set -e
tail -n 5 "$log"
reports=$(find "$work" -maxdepth 1 -name 'sanitizer-report.*' | wc -l)
if [ "$reports" -gt 0 ]; then
  echo "asan_pytest: the test running when the process stopped: $(grep -E '::' "$log" | tail -n 1)"
  for f in "$work"/sanitizer-report.*; do echo "--- $f"; head -n 60 "$f"; done
fi
echo "asan_pytest: ${#modules[@]} modules, pytest exit $status, sanitizer reports: $reports"
[ "$reports" -eq 0 ] || exit 1
exit "$status"
