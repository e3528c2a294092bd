// ChunkedMap against std::map under random inserts, erases, re-keys and
// range walks: every observable (order, bounds, values, size) must agree.
#include "workers/models/blockcache/bcache/extent_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <vector>

#include "services/sim/rng.h"

namespace kreplay::blockcache::bcache {
namespace {

using Map = ChunkedMap<uint64_t>;

std::vector<std::pair<uint64_t, uint64_t>> Contents(const Map& m) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (auto p = m.Begin(); !m.AtEnd(p); p = m.Next(p)) out.emplace_back(m.key(p), m.value(p));
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> Contents(const std::map<uint64_t, uint64_t>& m) {
  return {m.begin(), m.end()};
}

TEST(ChunkedMap, EmptyMapHasNoEntries) {
  Map m;
  EXPECT_TRUE(m.AtEnd(m.Begin()));
  EXPECT_TRUE(m.AtEnd(m.LowerBound(0)));
  Map::Pos p;
  EXPECT_FALSE(m.Floor(~uint64_t{0}, &p));
  EXPECT_EQ(m.Find(7), nullptr);
}

TEST(ChunkedMap, SplitsKeepOrderAcrossChunks) {
  Map m;
  // Descending inserts always land at the front of the first chunk.
  const uint64_t n = 10 * Map::kCap + 3;
  for (uint64_t k = n; k > 0; --k) m.Insert(k * 10, k);
  ASSERT_EQ(m.size(), n);
  uint64_t expect = 10;
  for (auto p = m.Begin(); !m.AtEnd(p); p = m.Next(p)) {
    EXPECT_EQ(m.key(p), expect);
    EXPECT_EQ(m.value(p), expect / 10);
    expect += 10;
  }
  // Walking back from the end visits the same keys in reverse.
  auto p = m.LowerBound(~uint64_t{0});
  EXPECT_TRUE(m.AtEnd(p));
  p = m.Prev(p);
  EXPECT_EQ(m.key(p), n * 10);
  EXPECT_EQ(m.key(m.UpperBound(15)), 20u);
  EXPECT_EQ(m.key(m.LowerBound(20)), 20u);
  EXPECT_EQ(m.key(m.UpperBound(20)), 30u);
}

TEST(ChunkedMap, AgreesWithStdMapUnderRandomOperations) {
  sim::Rng rng(42);
  Map m;
  std::map<uint64_t, uint64_t> ref;
  size_t max_size = 0;
  for (int step = 0; step < 60000; ++step) {
    const uint64_t op = rng.Below(100);
    const uint64_t k = rng.Below(5000) * 4;  // even spacing leaves room for re-keys
    if (op < 55) {
      if (!ref.count(k)) {
        ref[k] = step;
        const auto p = m.Insert(k, static_cast<uint64_t>(step));
        ASSERT_EQ(m.key(p), k);
      }
    } else if (op < 75) {
      auto it = ref.lower_bound(k);
      auto p = m.LowerBound(k);
      ASSERT_EQ(it == ref.end(), m.AtEnd(p));
      if (it == ref.end()) continue;
      ASSERT_EQ(m.key(p), it->first);
      it = ref.erase(it);
      p = m.Erase(p);
      ASSERT_EQ(it == ref.end(), m.AtEnd(p));
      if (it != ref.end()) {
        ASSERT_EQ(m.key(p), it->first);
      }
    } else if (op < 80) {
      // Move a key up by one (keys are multiples of 4: order is kept).
      auto it = ref.find(k);
      if (it == ref.end() || ref.count(k + 1)) continue;
      const uint64_t v = it->second;
      ref.erase(it);
      ref[k + 1] = v;
      auto p = m.LowerBound(k);
      m.ReKey(p, k + 1);
      ASSERT_NE(m.Find(k + 1), nullptr);
    } else if (op < 99) {
      Map::Pos p;
      const bool has = m.Floor(k, &p);
      auto it = ref.upper_bound(k);
      ASSERT_EQ(has, it != ref.begin());
      if (has) {
        --it;
        ASSERT_EQ(m.key(p), it->first);
        ASSERT_EQ(m.value(p), it->second);
      }
      const uint64_t* v = m.Find(k);
      ASSERT_EQ(v != nullptr, ref.count(k) == 1);
      if (v) {
        ASSERT_EQ(*v, ref[k]);
      }
    } else if (rng.Below(10) == 0) {
      // Drop odd values (what GC does with stale extents).
      m.EraseIf([](uint64_t, uint64_t v) { return v % 2 == 1; });
      std::erase_if(ref, [](const auto& kv) { return kv.second % 2 == 1; });
    }
    ASSERT_EQ(m.size(), ref.size());
    max_size = std::max(max_size, ref.size());
  }
  EXPECT_EQ(Contents(m), Contents(ref));
  EXPECT_GT(max_size, Map::kCap * 20);  // the run exercised many chunks
}

}  // namespace
}  // namespace kreplay::blockcache::bcache
