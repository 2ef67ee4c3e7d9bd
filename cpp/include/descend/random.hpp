// A portable seeded RNG and shuffle: integer arithmetic only, so a seed
// gives the same stream on every platform, compiler and thread count.
// descend.reference re-implements both in plain Python as the oracle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "config.hpp"

namespace descend {

/// SplitMix64 (Steele, Lea, Flood 2014): state += 0x9E3779B97F4A7C15, then
/// z = state; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9; z = (z ^ z>>27) * 0x94D049BB133111EB;
/// return z ^ z>>31. The seed is the initial state.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}

  /// The stream's position: Random(r.state()) continues where r is.
  std::uint64_t state() const { return state_; }

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  /// Uniform integer in [0, bound), bound >= 1, unbiased: draws below
  /// 2^64 mod bound are rejected, then the draw is reduced mod bound.
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % bound;
    }
  }

 private:
  std::uint64_t state_;
};

/// Fills `order` with 0..n-1 and shuffles it by Fisher-Yates:
/// for i = n-1 down to 1, swap order[i] with order[rng.below(i + 1)].
inline void shuffled_order(std::vector<index_t>& order, Random& rng) {
  std::iota(order.begin(), order.end(), index_t{0});
  for (index_t i = static_cast<index_t>(order.size()) - 1; i > 0; --i) {
    const auto j = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(i) + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
}

}  // namespace descend
