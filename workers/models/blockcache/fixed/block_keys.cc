#include "workers/models/blockcache/fixed/block_keys.h"

#include <bit>
#include <string>

namespace kreplay::blockcache {

StatusOr<BlockKeyMapper> BlockKeyMapper::Create(const workload::BlockWorkload& w, uint32_t block_size) {
  if (block_size < 512 || !std::has_single_bit(block_size)) {
    return InvalidArgument("params.block_size: " + std::to_string(block_size) + " is not a power of two >= 512");
  }
  BlockKeyMapper m;
  m.shift_ = std::countr_zero(block_size);
  std::vector<uint64_t> blocks(w.volumes.size(), 0);  // per volume: highest block + 1
  for (size_t i = 0; i < w.requests.size(); ++i) {
    const auto& r = w.requests[i];
    if (!IsAccess(r)) continue;
    if (r.volume >= w.volumes.size()) {
      return InvalidArgument("requests[" + std::to_string(i) + "].volume: " + std::to_string(r.volume) +
                             " but the workload has " + std::to_string(w.volumes.size()) + " volumes");
    }
    if (r.offset > UINT64_MAX - r.bytes) {
      return InvalidArgument("requests[" + std::to_string(i) + "].offset: offset + bytes overflows");
    }
    uint64_t end = ((r.offset + r.bytes - 1) >> m.shift_) + 1;
    if (end > blocks[r.volume]) blocks[r.volume] = end;
  }
  m.base_.resize(w.volumes.size());
  uint64_t base = 0;
  for (size_t v = 0; v < blocks.size(); ++v) {
    m.base_[v] = base;
    // Keys stay below 2^62: the caches use the top values as markers.
    if (blocks[v] > (uint64_t{1} << 62) - base) return InvalidArgument("volumes: block key space overflows");
    base += blocks[v];
  }
  m.key_space_ = base;
  return m;
}

}  // namespace kreplay::blockcache
