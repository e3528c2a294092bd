// The block cache family's registration: its table entry (generated
// block_synthetic workloads, the block trace codec; no system: devices come
// from model parameters) and its models (fixed/, bcache/).
#pragma once

#include <cstdint>
#include <string>

#include "services/blocktrace/reader.h"
#include "services/core/status.h"
#include "services/family/family.h"

namespace kreplay::blockcache {

// What loading a block trace found (streamed once; the requests are not kept).
struct BlockTraceInfo {
  uint64_t requests = 0;          // after the max_requests cap
  size_t volumes = 0;             // distinct volumes among those requests
  bool has_task_ids = false;
  blocktrace::Format format = blocktrace::Format::kAuto;  // as detected
  uint64_t clamped_times = 0;     // out-of-order requests clamped by the reader
};

// A `blocktrace:` workload entry (ParsedWorkload::spec; the path is
// ParsedWorkload::path): read by blocktrace::BlockTraceReader, the same for
// every seed.
struct BlockTraceSpec {
  blocktrace::ReaderOptions options;  // format, blkparse_event, csv_mapping, strict_time_order
  uint64_t max_requests = 0;          // 0 = the whole trace
  BlockTraceInfo info;                // found at load
};

// Family "blockcache": block.lru, block.fifo, block.mrc, bcache, bcache.stack.
Status RegisterBlockCacheFamily(family::Catalog& catalog);
// The table entry alone (tests that register fake models of the family).
family::FamilyInfo BlockCacheFamilyInfo();

}  // namespace kreplay::blockcache
