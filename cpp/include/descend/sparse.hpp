// Sparse X: a read-only view over the three arrays scipy.sparse keeps
// (data, indices, indptr), in CSR (rows) or CSC (columns) order, with 32-
// or 64-bit indices used as given, never converted. Nothing is copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "config.hpp"

namespace descend {

/// Compressed sparse rows (entries of row i together) or columns.
enum class SparseFormat { CSR, CSC };

/// A rows x cols sparse matrix over caller-owned arrays. With CSR, row i's
/// entries are data[indptr[i] .. indptr[i + 1]) in the columns
/// indices[indptr[i] .. indptr[i + 1]); with CSC the same holds by columns.
/// Entries may be unsorted within a row, explicit zeros and duplicates are
/// allowed (duplicates add up, as scipy defines the matrix). indices and
/// indptr share one integer type, 32- or 64-bit: set the pair you have.
template <class T>
struct SparseView {
  SparseFormat format = SparseFormat::CSR;  ///< which dimension indptr runs over
  index_t rows = 0;                         ///< number of rows (samples)
  index_t cols = 0;                         ///< number of columns (features)
  const T* data = nullptr;                  ///< nnz values
  const std::int32_t* indices32 = nullptr;  ///< nnz minor indices (32-bit), or
  const std::int32_t* indptr32 = nullptr;   ///< major + 1 offsets (32-bit)
  const std::int64_t* indices64 = nullptr;  ///< nnz minor indices (64-bit), or
  const std::int64_t* indptr64 = nullptr;   ///< major + 1 offsets (64-bit)

  /// A CSR (or CSC) view over arrays with index type I (std::int32_t or std::int64_t).
  template <class I>
  static SparseView make(SparseFormat format, index_t rows, index_t cols, const T* data, const I* indices,
                         const I* indptr) {
    static_assert(std::is_same_v<I, std::int32_t> || std::is_same_v<I, std::int64_t>,
                  "sparse indices are 32- or 64-bit signed integers");
    SparseView v;
    v.format = format;
    v.rows = rows;
    v.cols = cols;
    v.data = data;
    if constexpr (std::is_same_v<I, std::int32_t>) {
      v.indices32 = indices;
      v.indptr32 = indptr;
    } else {
      v.indices64 = indices;
      v.indptr64 = indptr;
    }
    return v;
  }

  /// Whether this is a matrix at all (a Dataset's X is dense otherwise).
  bool present() const { return data != nullptr || indptr32 != nullptr || indptr64 != nullptr; }
  /// Rows for CSR, columns for CSC: what indptr runs over.
  index_t major() const { return format == SparseFormat::CSR ? rows : cols; }
  /// Columns for CSR, rows for CSC: what indices name.
  index_t minor() const { return format == SparseFormat::CSR ? cols : rows; }
  /// Stored entries: indptr[major()] (0 without an indptr).
  index_t nnz() const {
    return visit([&](const auto*, const auto* ptr) { return ptr ? index_t(ptr[major()]) : index_t(0); });
  }

  /// f(indices, indptr) with the pointers of the index type that is set.
  template <class F>
  decltype(auto) visit(F&& f) const {
    if (indptr64 != nullptr || indices64 != nullptr) return f(indices64, indptr64);
    return f(indices32, indptr32);
  }
};

namespace detail {

// A CSR copy of a sparse matrix (64-bit indices), for the methods that
// read one row at a time from a CSC X: a counting sort by row, O(nnz).
template <class T>
struct CsrCopy {
  std::vector<T> data;
  std::vector<std::int64_t> indices, indptr;

  SparseView<T> of(const SparseView<T>& m) {
    const index_t n = m.rows;
    indptr.assign(static_cast<std::size_t>(n + 1), 0);
    m.visit([&](const auto* idx, const auto* ptr) {
      const index_t nnz = index_t(ptr[m.cols]);
      for (index_t e = 0; e < nnz; ++e) ++indptr[static_cast<std::size_t>(idx[e]) + 1];
      for (index_t i = 0; i < n; ++i) indptr[i + 1] += indptr[i];
      data.resize(static_cast<std::size_t>(nnz));
      indices.resize(static_cast<std::size_t>(nnz));
      std::vector<std::int64_t> next(indptr.begin(), indptr.end() - 1);
      for (index_t j = 0; j < m.cols; ++j)
        for (index_t e = index_t(ptr[j]); e < index_t(ptr[j + 1]); ++e) {
          const auto at = static_cast<std::size_t>(next[static_cast<std::size_t>(idx[e])]++);
          data[at] = m.data[e];
          indices[at] = j;
        }
    });
    return SparseView<T>::make(SparseFormat::CSR, m.rows, m.cols, data.data(), indices.data(), indptr.data());
  }
};

}  // namespace detail
}  // namespace descend
