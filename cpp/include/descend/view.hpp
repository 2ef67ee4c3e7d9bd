// Non-owning views over caller-owned buffers. The core never copies or
// writes X, y or sample weights: their views hold const pointers.
#pragma once

#include <type_traits>
#include <vector>

#include "config.hpp"

namespace descend {

/// Storage order of a matrix: RowMajor (C) has X(i, j) at data[i*cols + j],
/// ColMajor (Fortran) has it at data[i + j*rows].
enum class Layout { RowMajor, ColMajor };

/// A read-only rows x cols matrix over caller-owned memory.
template <class T>
struct MatrixView {
  const T* data = nullptr;           ///< rows * cols values, in `layout` order
  index_t rows = 0;                  ///< number of rows (samples)
  index_t cols = 0;                  ///< number of columns (features)
  Layout layout = Layout::RowMajor;  ///< how X(i, j) is found in data

  /// X(i, j), in either layout.
  T operator()(index_t i, index_t j) const {
    return layout == Layout::RowMajor ? data[i * cols + j] : data[i + j * rows];
  }
  /// rows * cols.
  index_t size() const { return rows * cols; }
};

/// A contiguous run of `size` values of T over caller-owned memory, like
/// C++20's std::span: from (pointer, size) or from a std::vector.
/// Span<const T> reads, Span<T> may write. A default Span has no data
/// (data == nullptr); it has no empty(), so "absent" is always spelt out
/// where it is meant (Dataset::has_weights).
template <class T>
struct Span {
  T* data = nullptr;  ///< first value
  index_t size = 0;   ///< number of values

  Span() = default;
  /// The n values at p.
  Span(T* p, index_t n) : data(p), size(n) {}
  /// A Span<const T> over a Span<T>'s values.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  Span(Span<U> s) : data(s.data), size(s.size) {}
  /// All of v (a Span<const T> also takes a const vector).
  template <class A>
  Span(std::vector<std::remove_const_t<T>, A>& v) : data(v.data()), size(static_cast<index_t>(v.size())) {}
  template <class A, class U = T, class = std::enable_if_t<std::is_const_v<U>>>
  Span(const std::vector<std::remove_const_t<U>, A>& v)
      : data(v.data()), size(static_cast<index_t>(v.size())) {}

  T& operator[](index_t i) const { return data[i]; }  ///< the i-th value
  T* begin() const { return data; }                   ///< for range-for
  T* end() const { return data + size; }              ///< for range-for
};

}  // namespace descend
