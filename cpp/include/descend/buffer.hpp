// Memory for the core's own large buffers (an optimizer's state): 64-byte
// aligned, and on Linux offered to transparent huge pages when large, as
// NumPy does for its arrays. A state buffer of tens of MB that a step
// streams through costs a TLB miss every 4 KiB page otherwise, which
// makes the step measurably slower than the same loop over NumPy-owned
// buffers (benchmarks/RESULTS.md, W4).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace descend::detail {

template <class T>
struct BufferAllocator {
  using value_type = T;

  // Buffers from this size on are aligned to a huge page and advised as such.
  static constexpr std::size_t huge_page = std::size_t{1} << 21;
  static constexpr std::size_t cache_line = 64;

  BufferAllocator() = default;
  template <class U>
  BufferAllocator(const BufferAllocator<U>&) {}

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    const std::size_t align = bytes >= 2 * huge_page ? huge_page : cache_line;
    // aligned_alloc wants a size that is a multiple of the alignment.
    const std::size_t rounded = (bytes + align - 1) / align * align;
    void* p = std::aligned_alloc(align, rounded == 0 ? align : rounded);
    if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == huge_page) madvise(p, rounded, MADV_HUGEPAGE);  // a hint: failure changes nothing
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) { std::free(p); }

  template <class U>
  bool operator==(const BufferAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const BufferAllocator<U>&) const { return false; }
};

/// A std::vector over BufferAllocator.
template <class T>
using Buffer = std::vector<T, BufferAllocator<T>>;

}  // namespace descend::detail
