// Plain fixed-block caches (issue 3, item 6): a reference any cache simulator
// can be compared with. Capacity in blocks; every block access is a lookup;
// a miss inserts the block (reads and writes alike: no bypass, no dirty
// state). LRU moves a hit to the front; FIFO leaves hits where they are.
//
// Both keep memory proportional to min(capacity, blocks seen): a KeyTable
// plus, for LRU, an index-linked list (16-byte nodes), for FIFO a ring
// of keys. Not thread-safe; one run owns a cache.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "services/core/status.h"
#include "services/workload/block_workload.h"
#include "workers/models/blockcache/fixed/key_table.h"

namespace kreplay::blockcache {

class LruBlockCache {
 public:
  explicit LruBlockCache(uint64_t capacity_blocks);
  // True on a hit. A miss inserts `key`, evicting the least recently used
  // block when full. REQUIRES: key < 2^62.
  bool Access(uint64_t key) {
    if (uint32_t* slot = table_.Find(key)) {
      MoveToFront(*slot);
      return true;
    }
    Miss(key);
    return false;
  }
  void Prefetch(uint64_t key) const { table_.Prefetch(key); }
  uint64_t size() const { return nodes_.size(); }
  uint64_t capacity() const { return capacity_; }
  uint64_t memory_bytes() const;

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  void Miss(uint64_t key);
  void Unlink(uint32_t n) {
    uint32_t p = nodes_[n].prev, x = nodes_[n].next;
    (p == kNil ? head_ : nodes_[p].next) = x;
    (x == kNil ? tail_ : nodes_[x].prev) = p;
  }
  void PushFront(uint32_t n) {
    nodes_[n].prev = kNil;
    nodes_[n].next = head_;
    (head_ == kNil ? tail_ : nodes_[head_].prev) = n;
    head_ = n;
  }
  void MoveToFront(uint32_t n) {
    if (n == head_) return;
    Unlink(n);
    PushFront(n);
  }

  uint64_t capacity_;
  KeyTable table_;
  // One 16-byte node per cached block: key and links share a cache line.
  struct Node {
    uint64_t key;
    uint32_t prev, next;
  };
  std::vector<Node> nodes_;
  uint32_t head_ = kNil, tail_ = kNil;
};

class FifoBlockCache {
 public:
  explicit FifoBlockCache(uint64_t capacity_blocks);
  // True on a hit (order unchanged). A miss inserts `key` at the tail,
  // evicting the oldest inserted block when full.
  bool Access(uint64_t key) {
    if (table_.Find(key)) return true;
    Miss(key);
    return false;
  }
  void Prefetch(uint64_t key) const { table_.Prefetch(key); }
  uint64_t size() const { return ring_.size(); }
  uint64_t memory_bytes() const { return table_.memory_bytes() + ring_.capacity() * sizeof(uint64_t); }

 private:
  void Miss(uint64_t key);
  uint64_t capacity_;
  KeyTable table_;
  std::vector<uint64_t> ring_;
  uint64_t oldest_ = 0;  // ring index of the next victim once full
};

enum class FixedPolicy { kLru, kFifo };

struct FixedCacheStats {
  uint64_t requests = 0;          // reads and writes with data
  uint64_t ignored_requests = 0;  // discards, flushes, zero-length IO
  uint64_t block_accesses = 0;
  uint64_t hits = 0;              // per block access
  uint64_t misses = 0;
  uint64_t read_block_accesses = 0;
  uint64_t read_hits = 0;
  uint64_t memory_bytes = 0;      // cache structures at the end of the run
  double miss_ratio() const { return block_accesses ? static_cast<double>(misses) / static_cast<double>(block_accesses) : 0; }
};

// Replays the whole workload through one cache. InvalidArgument for a bad
// block size or volume index; Cancelled if *cancel becomes true (polled
// every 4096 requests; may be null).
StatusOr<FixedCacheStats> SimulateFixedCache(const workload::BlockWorkload& w, FixedPolicy policy,
                                             uint32_t block_size, uint64_t capacity_blocks,
                                             const std::atomic<bool>* cancel = nullptr);

// Several capacities in one pass over the trace: element i equals
// SimulateFixedCache(..., capacity_blocks[i], ...) exactly.
StatusOr<std::vector<FixedCacheStats>> SimulateFixedCaches(const workload::BlockWorkload& w, FixedPolicy policy,
                                                           uint32_t block_size,
                                                           const std::vector<uint64_t>& capacity_blocks,
                                                           const std::atomic<bool>* cancel = nullptr);

}  // namespace kreplay::blockcache
