// Registration of the plain fixed-block cache models (issue 3, items 5-6):
//   "block.lru", "block.fifo": one cache size per run, counts per 4 KiB (or
//       block_size) block access, plus the trace's request and block counts;
//   "block.mrc": the one-pass miss-ratio curve of fixed-block LRU over many
//       sizes, exact or SHARDS-sampled.
// All read RunInput.block and return InvalidArgument if it is null.
#pragma once

#include "services/model/registry.h"

namespace kreplay::blockcache {

Status RegisterFixedModels(model::Registry& registry);

}  // namespace kreplay::blockcache
