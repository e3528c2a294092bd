// Test helpers for the fixed-block caches: the fixture trace and plain,
// obviously correct reference caches (std::list + std::map, O(n) per access).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <utility>

#include "services/sim/rng.h"
#include "services/workload/block_workload.h"

namespace kreplay::blockcache::testing {

using workload::BlockOp;
using workload::BlockRequest;
using workload::BlockWorkload;

// 4000 requests over two volumes: a hot set of 150 4-KiB blocks and a cold
// range of 6000, sizes 512 B - 40 KiB, some unaligned, some discards and
// flushes. Generated from a fixed seed (the expected values are computed by
// the reference caches below, never copied from the code under test).
inline BlockWorkload Fixture() {
  sim::Rng rng(20240611);
  BlockWorkload w;
  w.volumes = {"sda", "sdb"};
  int64_t t = 0;
  for (int i = 0; i < 4000; ++i) {
    BlockRequest r;
    t += rng.Range(0, 200'000);
    r.time_ns = t;
    r.volume = static_cast<uint32_t>(rng.Below(2));
    uint64_t kind = rng.Below(100);
    r.op = kind < 3 ? BlockOp::kDiscard : kind < 5 ? BlockOp::kFlush : kind < 70 ? BlockOp::kRead : BlockOp::kWrite;
    uint64_t block = rng.Below(100) < 60 ? rng.Below(150) : 150 + rng.Below(6000);
    r.offset = block * 4096 + (rng.Below(4) == 0 ? rng.Below(8) * 512 : 0);
    r.bytes = r.op == BlockOp::kFlush ? 0 : static_cast<uint32_t>(512 * rng.Range(1, 80));
    w.requests.push_back(r);
  }
  return w;
}

// Keys are (volume, block) pairs: volumes kept apart without the offsetting
// the code under test uses.
using RefKey = std::pair<uint32_t, uint64_t>;

class RefCache {
 public:
  RefCache(bool lru, uint64_t capacity) : lru_(lru), capacity_(capacity) {}
  bool Access(const RefKey& k) {
    auto it = where_.find(k);
    if (it != where_.end()) {
      if (lru_) order_.splice(order_.begin(), order_, it->second);  // most recent at the front
      return true;
    }
    if (capacity_ == 0) return false;
    if (where_.size() == capacity_) {
      where_.erase(order_.back());  // LRU: least recent; FIFO: oldest insertion
      order_.pop_back();
    }
    order_.push_front(k);
    where_[k] = order_.begin();
    return false;
  }

 private:
  bool lru_;
  uint64_t capacity_;
  std::list<RefKey> order_;
  std::map<RefKey, std::list<RefKey>::iterator> where_;
};

struct RefCounts {
  uint64_t requests = 0, block_accesses = 0, hits = 0, misses = 0;
};

inline RefCounts RefRun(const BlockWorkload& w, bool lru, uint64_t capacity, uint64_t block_size) {
  RefCache cache(lru, capacity);
  RefCounts c;
  for (const auto& r : w.requests) {
    if ((r.op != BlockOp::kRead && r.op != BlockOp::kWrite) || r.bytes == 0) continue;
    ++c.requests;
    for (uint64_t b = r.offset / block_size; b <= (r.offset + r.bytes - 1) / block_size; ++b) {
      ++c.block_accesses;
      (cache.Access({r.volume, b}) ? c.hits : c.misses) += 1;
    }
  }
  return c;
}

}  // namespace kreplay::blockcache::testing
