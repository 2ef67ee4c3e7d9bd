// The LIBSVM / SVMlight text format, the one Vowpal Wabbit's and
// LIBLINEAR's datasets come in: one row a line,
//
//     label index:value index:value ...   # comment
//
// with strictly increasing indices (zeros are left out). parse_libsvm reads
// it into CSR arrays in one pass over the text; the indices are returned as
// written (1-based in LIBSVM's own files, 0-based in some others: the
// caller decides, e.g. from the smallest index seen). "qid:k" tokens
// (SVMrank) are skipped. Errors name the line and the token.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "errors.hpp"

namespace descend {

/// A LIBSVM file's rows as CSR arrays (float64 values, 64-bit indices).
struct LibsvmData {
  std::vector<double> labels;          ///< one a row
  std::vector<std::int64_t> indptr{0};  ///< row r's entries are [indptr[r], indptr[r+1])
  std::vector<std::int64_t> indices;   ///< as written in the file
  std::vector<double> values;
  std::int64_t min_index = std::numeric_limits<std::int64_t>::max();  ///< over all rows (max() when none)
  std::int64_t max_index = -1;                                         ///< over all rows (-1 when none)
};

namespace detail {

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/// A token [begin, end) of line `line`, for messages.
inline std::string token_text(const char* begin, const char* end) {
  constexpr std::ptrdiff_t most = 40;  // a long garbage token is cut
  return end - begin > most ? std::string(begin, most) + "..." : std::string(begin, end);
}

/// The number spelled exactly by [begin, end), or a message naming it.
/// strtod/strtoll skip leading space and may run on, so a token is checked
/// to start with a number character and to be used up entirely.
inline double parse_real(const char* begin, const char* end, std::int64_t line, const char* what) {
  char* stop = nullptr;
  const double v = begin < end && !is_blank(*begin) ? std::strtod(begin, &stop) : 0.0;
  if (stop != end) invalid("line ", line, ": ", what, " '", token_text(begin, end), "' is not a number");
  return v;
}

inline std::int64_t parse_index(const char* begin, const char* end, std::int64_t line) {
  char* stop = nullptr;
  errno = 0;
  const long long v = begin < end && *begin >= '0' && *begin <= '9' ? std::strtoll(begin, &stop, 10) : -1;
  if (stop != end || errno == ERANGE || v < 0)
    invalid("line ", line, ": the feature index '", token_text(begin, end), "' is not an integer >= 0");
  return static_cast<std::int64_t>(v);
}

/// Appends one line's row (a label and its index:value pairs) to `out`.
inline void parse_libsvm_line(const char* p, const char* end, std::int64_t line, LibsvmData& out) {
  bool have_label = false;
  std::int64_t previous = -1;
  while (true) {
    while (p < end && is_blank(*p)) ++p;
    if (p == end) break;
    const char* token = p;
    while (p < end && !is_blank(*p)) ++p;
    if (!have_label) {
      out.labels.push_back(parse_real(token, p, line, "the label"));
      have_label = true;
      continue;
    }
    const char* colon = token;
    while (colon < p && *colon != ':') ++colon;
    if (colon == p) invalid("line ", line, ": '", token_text(token, p), "' is not index:value");
    if (std::string(token, colon) == "qid") continue;
    const std::int64_t index = parse_index(token, colon, line);
    if (index <= previous)
      invalid("line ", line, ": feature indices must be strictly increasing, got ", index, " after ", previous);
    previous = index;
    out.indices.push_back(index);
    out.values.push_back(parse_real(colon + 1, p, line, "the value"));
    if (index < out.min_index) out.min_index = index;
    if (index > out.max_index) out.max_index = index;
  }
  if (have_label) out.indptr.push_back(static_cast<std::int64_t>(out.indices.size()));
}

}  // namespace detail

/// The rows of LIBSVM text `text` (size bytes; need not end in a newline).
/// Blank lines and lines holding only a comment are skipped.
inline LibsvmData parse_libsvm(const char* text, std::size_t size) {
  LibsvmData out;
  const char* p = text;
  const char* const end = text + size;
  for (std::int64_t line = 1; p < end; ++line) {
    const char* eol = p;
    while (eol < end && *eol != '\n') ++eol;
    const char* content_end = p;
    while (content_end < eol && *content_end != '#') ++content_end;
    detail::parse_libsvm_line(p, content_end, line, out);
    p = eol < end ? eol + 1 : end;
  }
  return out;
}

/// The rows of the LIBSVM file at `path`.
inline LibsvmData read_libsvm(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("cannot read " + path);
  return parse_libsvm(text.data(), text.size());
}

}  // namespace descend
