// One walk over the entries of X, dense or sparse, for the one-pass
// statistics (column sums, row norms) that read each entry once.
#pragma once

#include <vector>

#include "dataset.hpp"

namespace descend::detail {

/// Calls f(i, j, x_ij) for every stored entry of X in memory order: every
/// entry of a dense X (rows outer for row-major, columns outer otherwise);
/// a sparse X's entries with duplicates of an entry added up first (as
/// scipy defines the matrix), once each.
template <class T, class F>
void for_each_entry(const Dataset<T>& data, F&& f) {
  const index_t n = data.rows(), d = data.features();
  if (data.is_sparse()) {
    const SparseView<T>& m = data.sparse;
    const bool csr = m.format == SparseFormat::CSR;
    std::vector<double> acc(static_cast<size_t>(m.minor()), 0.0);
    m.visit([&](const auto* indices, const auto* indptr) {
      for (index_t a = 0; a < m.major(); ++a) {
        const index_t e0 = index_t(indptr[a]), e1 = index_t(indptr[a + 1]);
        for (index_t e = e0; e < e1; ++e) acc[static_cast<size_t>(indices[e])] += double(m.data[e]);
        for (index_t e = e0; e < e1; ++e) {
          const index_t b = index_t(indices[e]);
          double& x = acc[static_cast<size_t>(b)];
          f(csr ? a : b, csr ? b : a, x);
          x = 0.0;  // a duplicate met later in this line adds 0
        }
      }
    });
    return;
  }
  const bool row_major = data.X.layout == Layout::RowMajor;
  for (index_t a = 0; a < (row_major ? n : d); ++a)
    for (index_t b = 0; b < (row_major ? d : n); ++b)
      f(row_major ? a : b, row_major ? b : a, double(data.X.data[a * (row_major ? d : n) + b]));
}

}  // namespace descend::detail
