// The block cache family's registration: its table entry (generated
// block_synthetic workloads, the block trace codec; no system: devices come
// from model parameters) and its models (fixed/, bcache/).
#pragma once

#include "services/core/status.h"
#include "services/family/family.h"

namespace kreplay::blockcache {

// Family "blockcache": block.lru, block.fifo, block.mrc, bcache, bcache.stack.
Status RegisterBlockCacheFamily(family::Catalog& catalog);

}  // namespace kreplay::blockcache
