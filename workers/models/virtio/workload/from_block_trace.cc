#include "workers/models/virtio/workload/from_block_trace.h"

#include <algorithm>
#include <limits>
#include <map>

#include "services/core/status.h"

namespace kreplay::virtio {

VirtioWorkload BlockJobsFromTrace(const workload::BlockWorkload& w, uint32_t iodepth, bool keep_timing) {
  KREPLAY_CHECK(iodepth >= 1 && iodepth <= 4096, "BlockJobsFromTrace: iodepth out of range");
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  auto kept = [](const workload::BlockRequest& r) {
    return (r.op == workload::BlockOp::kRead || r.op == workload::BlockOp::kWrite) && r.bytes > 0;
  };
  VirtioWorkload out;
  out.kind = WorkloadKind::kBlock;
  std::map<uint32_t, BlockJob> jobs;  // by volume
  bool first = true;
  int64_t t0 = 0;
  uint64_t end = 0;
  for (const workload::BlockRequest& r : w.requests) {
    if (!kept(r)) continue;
    if (first) {
      t0 = r.time_ns;
      first = false;
    }
    BlockJob& j = jobs[r.volume];
    j.iodepth = iodepth;
    BlockIo io;
    io.at = keep_timing ? std::max<int64_t>(0, r.time_ns - t0) : -1;
    io.offset = r.offset;
    io.bytes = r.bytes;
    io.write = r.op == workload::BlockOp::kWrite;
    j.ios.push_back(io);
    end = std::max(end, r.offset > kMax - r.bytes ? kMax : r.offset + r.bytes);
  }
  out.device_bytes = end > kMax - (kMiB - 1) ? kMax / kMiB * kMiB : (end + kMiB - 1) / kMiB * kMiB;
  out.jobs.reserve(jobs.size());
  for (auto& [volume, j] : jobs) out.jobs.push_back(std::move(j));
  return out;
}

}  // namespace kreplay::virtio
