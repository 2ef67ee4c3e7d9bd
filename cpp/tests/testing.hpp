// What the C++ tests share: CHECK, which stays on in release builds (no
// assert()), prints the failed expression and counts it (main() returns
// finish()); and the textbook problem.
#pragma once

#include <descend/descend.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace descend_test {

inline int& failure_count() {
  static int n = 0;
  return n;
}

/// |a - b| <= rtol |b| (b = 0 compares exactly).
inline bool near(double a, double b, double rtol) {
  return std::fabs(a - b) <= rtol * std::max(std::fabs(b), 1e-300);
}

// The textbook problem: X = [[1,2],[1,3],[1,4]], y = [2,5,9].
inline const std::vector<double> textbook_X = {1, 2, 1, 3, 1, 4};
inline const std::vector<double> textbook_y = {2, 5, 9};

inline descend::Dataset<double> textbook() {
  return {{textbook_X.data(), 3, 2, descend::Layout::RowMajor}, {textbook_y.data(), 3}, {}};
}

/// Prints the verdict; the process's exit status.
inline int finish() {
  if (failure_count()) std::fprintf(stderr, "%d check(s) failed\n", failure_count());
  else std::printf("all checks passed\n");
  return failure_count() ? 1 : 0;
}

}  // namespace descend_test

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++descend_test::failure_count();                                               \
    }                                                                                 \
  } while (0)
