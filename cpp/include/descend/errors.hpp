// Exceptions the core throws. Bad arguments are std::invalid_argument (a
// ValueError in Python) whose message names the argument.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace descend {

/// The objective became non-finite or grew by more than 1e10 over its start.
class DivergenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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

}  // namespace detail
}  // namespace descend
