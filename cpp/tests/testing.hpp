// What the C++ tests share: CHECK, which stays on in release builds (no
// assert()), prints the failed expression and counts it (main() returns
// finish()); and the known-answer problems (the textbook example,
// Rosenbrock, the ill-conditioned quadratic), read from the file the Python
// tests read too: tests/data/known_answers.txt, whose path CMake passes as
// DESCEND_KNOWN_ANSWERS.
#pragma once

#include <descend/descend.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef DESCEND_KNOWN_ANSWERS
#error "DESCEND_KNOWN_ANSWERS (the path of tests/data/known_answers.txt) is set by cpp/tests/CMakeLists.txt"
#endif

namespace descend_test {

inline int& failure_count() {
  static int n = 0;
  return n;
}

/// |a - b| <= rtol |b| (b = 0 compares exactly).
inline bool near(double a, double b, double rtol) {
  return std::fabs(a - b) <= rtol * std::max(std::fabs(b), 1e-300);
}

/// The numbers of `name` (e.g. "rosenbrock.x0") in the known-answer file:
/// one entry a line, a name and its numbers; '#' starts a comment. A
/// missing file or name ends the test run.
inline const std::vector<double>& known_answer(const std::string& name) {
  static const std::map<std::string, std::vector<double>> entries = [] {
    std::map<std::string, std::vector<double>> read;
    std::ifstream file(DESCEND_KNOWN_ANSWERS);
    if (!file) {
      std::fprintf(stderr, "cannot read %s\n", DESCEND_KNOWN_ANSWERS);
      std::exit(2);
    }
    std::string line;
    while (std::getline(file, line)) {
      std::istringstream fields(line.substr(0, line.find('#')));
      std::string key;
      if (!(fields >> key)) continue;
      std::vector<double> values;
      for (double v; fields >> v;) values.push_back(v);
      read[key] = values;
    }
    return read;
  }();
  const auto found = entries.find(name);
  if (found == entries.end()) {
    std::fprintf(stderr, "%s: no entry %s\n", DESCEND_KNOWN_ANSWERS, name.c_str());
    std::exit(2);
  }
  return found->second;
}

/// A known answer of one number.
inline double known_scalar(const std::string& name) {
  const auto& values = known_answer(name);
  if (values.size() != 1) {
    std::fprintf(stderr, "%s: %s is not one number\n", DESCEND_KNOWN_ANSWERS, name.c_str());
    std::exit(2);
  }
  return values[0];
}

// The textbook problem: X (3 x 2, row-major), y.
inline const std::vector<double> textbook_X = known_answer("textbook.X");
inline const std::vector<double> textbook_y = known_answer("textbook.y");

inline descend::Dataset<double> textbook() {
  const auto n = static_cast<descend::index_t>(textbook_y.size());
  return {{textbook_X.data(), n, static_cast<descend::index_t>(textbook_X.size()) / n, descend::Layout::RowMajor},
          {textbook_y.data(), n},
          {}};
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
