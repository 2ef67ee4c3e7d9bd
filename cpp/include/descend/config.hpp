// Project-wide basics: the index type and the OpenMP shims, so the core
// also builds (single-threaded) without OpenMP.
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(DESCEND_USE_OPENMP)
#include <omp.h>
// DESCEND_OMP(omp parallel for ...) expands to that pragma, or to nothing
// when the core is built without OpenMP.
#define DESCEND_OMP(directive) _Pragma(#directive)
#else
#define DESCEND_OMP(directive)
#endif

// DESCEND_PREFETCH(p): a hint to bring the cache line at p in; nothing
// where the compiler has no such builtin.
#if defined(__GNUC__) || defined(__clang__)
#define DESCEND_PREFETCH(p) __builtin_prefetch(p)
#else
#define DESCEND_PREFETCH(p) ((void)(p))
#endif

// DESCEND_UNROLL_2: the loop that follows unrolled twice, where the
// compiler takes the hint (a loop whose body is a few vector operations
// spends a sizeable share of its issue slots on the loop's own counting).
#if defined(__clang__)
#define DESCEND_UNROLL_2 _Pragma("unroll 2")
#elif defined(__GNUC__)
#define DESCEND_UNROLL_2 _Pragma("GCC unroll 2")
#else
#define DESCEND_UNROLL_2
#endif

// DESCEND_INLINE: inline, and always inlined where the compiler has the
// attribute. For the few helpers of one solver iteration whose calls
// (prologues, stack realignment for vector spills) cost more than their
// work on a tiny problem.
#if defined(__GNUC__) || defined(__clang__)
#define DESCEND_INLINE inline __attribute__((always_inline))
#else
#define DESCEND_INLINE inline
#endif

namespace descend {

/// Signed 64-bit index: arrays above 2^31 elements work everywhere.
using index_t = std::int64_t;

namespace detail {

inline int hardware_threads() {
#if defined(DESCEND_USE_OPENMP)
  return omp_get_num_procs();
#else
  return 1;
#endif
}

// Whether the core was built with OpenMP (else every call runs on one thread).
#if defined(DESCEND_USE_OPENMP)
constexpr bool has_openmp = true;
inline int thread_num() { return omp_get_thread_num(); }
inline int team_size() { return omp_get_num_threads(); }
#else
constexpr bool has_openmp = false;
inline int thread_num() { return 0; }
inline int team_size() { return 1; }
#endif

// The default set by set_num_threads(); 0 means "all cores".
inline int& default_threads_slot() {
  static int n = 0;
  return n;
}

}  // namespace detail

/// Thread count used when a call passes n_threads <= 0; 0 restores "all cores".
inline void set_num_threads(int n) { detail::default_threads_slot() = n > 0 ? n : 0; }

/// The thread count a call with n_threads <= 0 uses.
inline int get_num_threads() {
  int n = detail::default_threads_slot();
  return n > 0 ? n : detail::hardware_threads();
}

namespace detail {

// Resolves a per-call request: n_threads <= 0 means the default.
// At most max_threads: more would only be idle (results never depend on
// the count), and an absurd request (2^31 - 1) must not reach the runtime.
constexpr int max_threads = 1024;
inline int resolve_threads(int n_threads) { return std::min(n_threads > 0 ? n_threads : get_num_threads(), max_threads); }

// body(j) for j = 0..n-1, on n_threads threads when `parallel`, else a
// plain loop that never enters the OpenMP runtime (an `if(false)`
// parallel region still costs a team set-up: hundreds of ns, which a
// 3-row problem or a one-row sgd step would pay on every call). Static
// schedule: which thread runs which j never changes a result.
template <class Body>
void parallel_for(index_t n, int n_threads, bool parallel, Body&& body) {
  if (!parallel || n_threads <= 1) {
    for (index_t j = 0; j < n; ++j) body(j);
    return;
  }
  DESCEND_OMP(omp parallel for schedule(static) num_threads(n_threads))
  for (index_t j = 0; j < n; ++j) body(j);
}

}  // namespace detail

}  // namespace descend
