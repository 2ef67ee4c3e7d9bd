// Memory-bandwidth probes: the floors the benchmarks compare kernels with.
// Each streams the same bytes as a kernel, with the same partition and
// threads, but with trivial arithmetic, so its time is what the memory
// system allows this machine for that access pattern.
#pragma once

#include <algorithm>
#include <vector>

#include "config.hpp"
#include "partition.hpp"
#include "view.hpp"

namespace descend::detail {

/// Reads every element of X once (the batch gradient's bytes), summing in
/// 16 lanes of T; returns the sum so the reads cannot be optimised away.
/// Memory is streamed in order in slices of 4096 elements, whatever the
/// layout: bytes(X) / bandwidth is the floor of any one pass over X.
template <class T>
double probe_read(const MatrixView<T>& X, int n_threads = 0) {
  n_threads = resolve_threads(n_threads);
  const index_t width = 4096;
  const index_t lines = (X.size() + width - 1) / width;
  const Partition part = make_partition(lines, width);
  std::vector<double> partial(static_cast<size_t>(part.chunks));
  parallel_for(part.chunks, n_threads, true, [&](index_t c) {
    const T* p = X.data + part.begin(c) * width;
    const index_t m = std::min(part.end(c) * width, X.size()) - part.begin(c) * width;
    T acc[16] = {};
    index_t j = 0;
    for (; j + 16 <= m; j += 16)
      for (int v = 0; v < 16; ++v) acc[v] += p[j + v];
    for (; j < m; ++j) acc[0] += p[j];
    double s = 0.0;
    for (const T a : acc) s += double(a);
    partial[static_cast<size_t>(c)] = s;
  });
  double total = 0.0;
  for (const double s : partial) total += s;
  return total;
}

/// Adam's pattern: reads param, grad and two state buffers, writes param
/// and both states (read 4, write 3), with one multiply-add per element.
template <class T>
void probe_update(T* param, const T* grad, T* m, T* v, index_t n, int n_threads = 0) {
  n_threads = resolve_threads(n_threads);
  parallel_for(n, n_threads, true, [&](index_t j) {
    const T g = grad[j];
    m[j] = m[j] + g;
    v[j] = v[j] + g;
    param[j] = param[j] - g;
  });
}

}  // namespace descend::detail
