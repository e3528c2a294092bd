// One streaming pass over a block trace: counts, bytes, footprint, size
// distribution, sequentiality, duration, volumes and the task-ID fallback,
// for `kreplay trace inspect`. Memory is bounded whatever the trace length.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "services/blocktrace/reader.h"
#include "services/sim/histogram.h"
#include "services/workload/block_workload.h"

namespace kreplay::blocktrace {

struct TraceSummary {
  std::string format;
  uint64_t requests = 0;
  uint64_t ops[workload::kBlockOpCount] = {};  // indexed by BlockOp
  uint64_t bytes_read = 0, bytes_written = 0, bytes_discarded = 0;
  // Distinct 4 KiB blocks (per volume) touched by reads and writes. Exact up
  // to SummaryOptions::exact_block_limit distinct blocks; beyond, a spatially
  // sampled estimate (footprint_exact false, rate < 1).
  uint64_t footprint_blocks = 0;
  bool footprint_exact = true;
  double footprint_sample_rate = 1.0;
  // Request sizes (data requests only): power-of-two buckets, bucket i counts
  // sizes in (2^(i-1), 2^i] bytes (bucket 0: exactly 1 byte), and percentiles.
  std::vector<uint64_t> size_buckets;
  sim::Histogram sizes;
  // Data requests starting exactly where the previous data request of the same
  // volume ended, and the data requests that had such a predecessor.
  uint64_t sequential = 0, with_predecessor = 0;
  int64_t duration_ns = 0;  // time of the last request
  std::vector<std::string> volumes;
  bool has_task_ids = false;
  ReaderStats reader;
};

struct SummaryOptions {
  uint64_t exact_block_limit = 4u << 20;  // 4 Mi blocks = 16 GiB footprint, ~64 MiB of set
};

class SummaryBuilder {
 public:
  explicit SummaryBuilder(const SummaryOptions& opts = {});
  void Add(const workload::BlockRequest& r);
  // Fills the counts gathered so far; the caller sets format/volumes/reader.
  TraceSummary Finish() const;

 private:
  void Touch(uint64_t key);
  void Insert(uint64_t h);
  void Rebuild();
  SummaryOptions opts_;
  TraceSummary s_;
  std::vector<uint64_t> last_end_;     // per volume: end of the previous data request + 1 (0 = none)
  std::vector<uint64_t> table_;        // open addressing; 0 = empty (hash 0 held in has_zero_)
  bool has_zero_ = false;
  uint64_t set_size_ = 0;
  int shift_ = 0;                      // keep hashes with h >> (64 - shift_) == 0, i.e. rate 2^-shift_
};

// Reads the whole trace through `reader`.
StatusOr<TraceSummary> Summarize(BlockTraceReader& reader, const SummaryOptions& opts = {});

std::string SummaryText(const TraceSummary& s);
std::string SummaryJson(const TraceSummary& s);

}  // namespace kreplay::blocktrace
