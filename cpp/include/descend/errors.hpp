// Exceptions the core throws, and the number checks every entry point
// shares. Bad arguments are std::invalid_argument (a ValueError in
// Python) whose message names the argument; a keyword that a rule or
// schedule does not take is UnknownParameter (a TypeError in Python, as
// for any call with an unexpected keyword).
#pragma once

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace descend {

/// The objective became non-finite or grew by more than 1e10 over its start.
class DivergenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A named parameter that the rule, schedule or function does not take.
class UnknownParameter : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

// Builds a message from streamable pieces: message("got ", x, " rows").
template <class... Parts>
std::string message(const Parts&... parts) {
  std::ostringstream out;
  out.precision(17);
  (out << ... << parts);
  return out.str();
}

template <class... Parts>
[[noreturn]] void invalid(const Parts&... parts) {
  throw std::invalid_argument(message(parts...));
}

/// A finite number > 0 named `name`.
inline void check_positive(double value, const char* name) {
  if (!(value > 0.0) || !std::isfinite(value)) invalid(name, " must be a finite number > 0, got ", value);
}

/// A finite number >= 0 named `name`.
inline void check_non_negative(double value, const char* name) {
  if (!(value >= 0.0) || !std::isfinite(value)) invalid(name, " must be a finite number >= 0, got ", value);
}

/// A number in [0, 1) named `name` (decay factors).
inline void check_unit_interval(double value, const char* name) {
  if (!(value >= 0.0 && value < 1.0)) invalid(name, " must be in [0, 1), got ", value);
}

}  // namespace detail
}  // namespace descend
