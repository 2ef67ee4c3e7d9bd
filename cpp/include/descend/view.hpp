// Non-owning views over caller-owned buffers. The core never copies or
// writes X, y or sample weights: views hold const pointers.
#pragma once

#include <stdexcept>
#include <string>

#include "config.hpp"

namespace descend {

/// Storage order of a matrix: RowMajor (C) has X(i, j) at data[i*cols + j],
/// ColMajor (Fortran) has it at data[i + j*rows].
enum class Layout { RowMajor, ColMajor };

/// A read-only rows x cols matrix over caller-owned memory.
template <class T>
struct MatrixView {
  const T* data = nullptr;
  index_t rows = 0;
  index_t cols = 0;
  Layout layout = Layout::RowMajor;

  T operator()(index_t i, index_t j) const {
    return layout == Layout::RowMajor ? data[i * cols + j] : data[i + j * rows];
  }
  index_t size() const { return rows * cols; }
};

/// A read-only vector over caller-owned memory; data == nullptr means "absent".
template <class T>
struct VectorView {
  const T* data = nullptr;
  index_t size = 0;

  bool empty() const { return data == nullptr; }
  T operator[](index_t i) const { return data[i]; }
};

/// A writable vector over caller-owned memory (parameters, outputs).
template <class T>
struct MutableVectorView {
  T* data = nullptr;
  index_t size = 0;

  T& operator[](index_t i) const { return data[i]; }
};

}  // namespace descend
