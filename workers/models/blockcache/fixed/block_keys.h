// Fixed-block keys: every request split into the block-size blocks it
// touches, volumes kept apart by offsetting their block numbers (volume v's
// blocks start after the highest block any lower volume uses), as cache
// simulators commonly do (REFERENCE.md section 2, "Block trace formats").
//
// Reads and writes are plain block accesses. Discards and flushes carry no
// data to cache and are not accesses: they count as ignored requests.
#pragma once

#include <cstdint>
#include <vector>

#include "services/core/status.h"
#include "services/workload/block_workload.h"

namespace kreplay::blockcache {

class BlockKeyMapper {
 public:
  // Scans the workload once for each volume's highest block.
  // InvalidArgument if block_size is not a power of two >= 512, a request
  // names a volume outside workload.volumes, or the keys would overflow.
  static StatusOr<BlockKeyMapper> Create(const workload::BlockWorkload& w, uint32_t block_size);

  static bool IsAccess(const workload::BlockRequest& r) {
    return (r.op == workload::BlockOp::kRead || r.op == workload::BlockOp::kWrite) && r.bytes > 0;
  }
  // Calls f(key) for every block the request touches, in offset order.
  // REQUIRES: IsAccess(r) and r is from the workload given to Create.
  template <typename F>
  void ForEachBlock(const workload::BlockRequest& r, F&& f) const {
    uint64_t first = r.offset >> shift_, last = (r.offset + r.bytes - 1) >> shift_;
    uint64_t base = base_[r.volume];
    for (uint64_t b = first; b <= last; ++b) f(base + b);
  }
  // Number of blocks the request touches (0 for non-accesses).
  uint64_t BlockCount(const workload::BlockRequest& r) const {
    return IsAccess(r) ? ((r.offset + r.bytes - 1) >> shift_) - (r.offset >> shift_) + 1 : 0;
  }
  uint32_t block_size() const { return uint32_t{1} << shift_; }
  // One past the largest key (the key space, not the footprint).
  uint64_t key_space() const { return key_space_; }

 private:
  int shift_ = 12;
  std::vector<uint64_t> base_;
  uint64_t key_space_ = 0;
};

}  // namespace kreplay::blockcache
