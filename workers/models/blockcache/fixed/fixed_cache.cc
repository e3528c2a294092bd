#include "workers/models/blockcache/fixed/fixed_cache.h"

#include <algorithm>

#include "workers/models/blockcache/fixed/block_keys.h"

namespace kreplay::blockcache {
namespace {

// Initial table size: the structures grow with the blocks actually cached,
// so a huge capacity on a small trace costs nothing up front.
uint64_t InitialReserve(uint64_t capacity) { return std::min<uint64_t>(capacity, 1 << 16); }

// Feeds every cache the same block accesses in one pass over the trace: each
// chunk is expanded once and replayed into each cache while it is hot.
template <typename Cache>
Status Replay(const workload::BlockWorkload& w, const BlockKeyMapper& keys, std::vector<Cache>& caches,
              std::vector<FixedCacheStats>& stats, const std::atomic<bool>* cancel) {
  // Chunks of requests are expanded into their block keys first, so the
  // hash slot of the key kAhead accesses on can be prefetched: on traces
  // larger than the CPU caches the lookups are memory-latency bound.
  constexpr size_t kChunk = 4096, kAhead = 16;
  std::vector<uint64_t> batch;
  std::vector<uint32_t> blocks_of;  // per request in the chunk
  const auto& reqs = w.requests;
  for (size_t begin = 0; begin < reqs.size(); begin += kChunk) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("fixed-block cache run cancelled");
    size_t end = std::min(reqs.size(), begin + kChunk);
    batch.clear();
    blocks_of.clear();
    for (size_t i = begin; i < end; ++i) {
      size_t before = batch.size();
      if (BlockKeyMapper::IsAccess(reqs[i])) keys.ForEachBlock(reqs[i], [&](uint64_t key) { batch.push_back(key); });
      blocks_of.push_back(static_cast<uint32_t>(batch.size() - before));
    }
    for (size_t c = 0; c < caches.size(); ++c) {
      Cache& cache = caches[c];
      FixedCacheStats& s = stats[c];
      size_t k = 0;
      for (size_t i = begin; i < end; ++i) {
        const workload::BlockRequest& r = reqs[i];
        if (!BlockKeyMapper::IsAccess(r)) {
          ++s.ignored_requests;
          continue;
        }
        ++s.requests;
        uint64_t n = blocks_of[i - begin], hits = 0;
        for (uint64_t j = 0; j < n; ++j, ++k) {
          if (k + kAhead < batch.size()) cache.Prefetch(batch[k + kAhead]);
          hits += cache.Access(batch[k]) ? 1 : 0;
        }
        s.block_accesses += n;
        s.hits += hits;
        if (r.op == workload::BlockOp::kRead) {
          s.read_block_accesses += n;
          s.read_hits += hits;
        }
      }
    }
  }
  for (size_t c = 0; c < caches.size(); ++c) {
    stats[c].misses = stats[c].block_accesses - stats[c].hits;
    stats[c].memory_bytes = caches[c].memory_bytes();
  }
  return OkStatus();
}

}  // namespace

LruBlockCache::LruBlockCache(uint64_t capacity_blocks)
    : capacity_(std::min<uint64_t>(capacity_blocks, kNil - 1)), table_(InitialReserve(capacity_)) {}

void LruBlockCache::Miss(uint64_t key) {
  if (capacity_ == 0) return;
  uint32_t n;
  if (nodes_.size() < capacity_) {
    n = static_cast<uint32_t>(nodes_.size());
    nodes_.push_back(Node{key, kNil, kNil});
  } else {
    n = tail_;
    Unlink(n);
    table_.Erase(nodes_[n].key);
    nodes_[n].key = key;
  }
  PushFront(n);
  table_.Insert(key, n);
}

uint64_t LruBlockCache::memory_bytes() const {
  return table_.memory_bytes() + nodes_.capacity() * sizeof(Node);
}

FifoBlockCache::FifoBlockCache(uint64_t capacity_blocks)
    : capacity_(capacity_blocks), table_(InitialReserve(capacity_blocks)) {}

void FifoBlockCache::Miss(uint64_t key) {
  if (capacity_ == 0) return;
  if (ring_.size() < capacity_) {
    ring_.push_back(key);
  } else {
    table_.Erase(ring_[oldest_]);
    ring_[oldest_] = key;
    oldest_ = oldest_ + 1 == capacity_ ? 0 : oldest_ + 1;
  }
  table_.Insert(key, 0);
}

StatusOr<FixedCacheStats> SimulateFixedCache(const workload::BlockWorkload& w, FixedPolicy policy,
                                             uint32_t block_size, uint64_t capacity_blocks,
                                             const std::atomic<bool>* cancel) {
  KREPLAY_ASSIGN_OR_RETURN(std::vector<FixedCacheStats> s,
                           SimulateFixedCaches(w, policy, block_size, {capacity_blocks}, cancel));
  return s.front();
}

StatusOr<std::vector<FixedCacheStats>> SimulateFixedCaches(const workload::BlockWorkload& w, FixedPolicy policy,
                                                           uint32_t block_size,
                                                           const std::vector<uint64_t>& capacity_blocks,
                                                           const std::atomic<bool>* cancel) {
  KREPLAY_ASSIGN_OR_RETURN(BlockKeyMapper keys, BlockKeyMapper::Create(w, block_size));
  std::vector<FixedCacheStats> s(capacity_blocks.size());
  if (policy == FixedPolicy::kLru) {
    std::vector<LruBlockCache> caches;
    caches.reserve(capacity_blocks.size());
    for (uint64_t c : capacity_blocks) caches.emplace_back(c);
    KREPLAY_RETURN_IF_ERROR(Replay(w, keys, caches, s, cancel));
  } else {
    std::vector<FifoBlockCache> caches;
    caches.reserve(capacity_blocks.size());
    for (uint64_t c : capacity_blocks) caches.emplace_back(c);
    KREPLAY_RETURN_IF_ERROR(Replay(w, keys, caches, s, cancel));
  }
  return s;
}

}  // namespace kreplay::blockcache
