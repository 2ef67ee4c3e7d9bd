#!/usr/bin/env bash
# The core's C++ tests (cpp/tests) built with AddressSanitizer and
# UndefinedBehaviorSanitizer and run by CTest; any report fails the run.
# CI runs it (.ci/run) and so does tools/reliability.sh. Needs cmake and a
# GCC or Clang with the sanitizer runtimes.
#
#   tools/sanitized_ctest.sh [BUILD_DIR]     # default: a temporary directory, removed at exit
#
# Debug (-O0 -g, asserts on): instrumented -O2/-O3 builds of the
# header-only core take minutes per test file; -O0 builds all six in about
# 70 s on 2 idle cores (2.5 minutes on a loaded one) and runs them in 2 s. OpenMP stays on (libgomp
# gives no false reports). Leak detection is on: the tests must free
# everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then
  build=$1
else
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  build=$scratch/sanitized-ctest
fi
cmake -S "$root" -B "$build" -DDESCEND_BUILD_TESTS=ON -DDESCEND_SANITIZE=address,undefined \
  -DCMAKE_BUILD_TYPE=Debug
cmake --build "$build" --parallel 2
ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir "$build" --output-on-failure
