#include <string>

#include "services/core/digest.h"
#include "services/workload/block_workload.h"

namespace kreplay::workload {
namespace {

void PutLe(std::string& buf, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) buf.push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

// Layout (all integers little-endian, fixed width, so no two workloads share a
// byte stream): the domain tag, the volume count and each name length-prefixed,
// has_task_ids, the request count, then 29 bytes per request: time_ns (8),
// offset (8), bytes (4), volume (4), task (4), op (1); v2 (has_sync_flags)
// adds sync (1) to each request.
std::string BlockWorkloadDigest(const BlockWorkload& w) {
  Sha256 h;
  h.UpdateField(w.has_sync_flags ? "kreplay.block_workload.v2" : "kreplay.block_workload.v1");
  h.UpdateU64(w.volumes.size());
  for (const auto& v : w.volumes) h.UpdateField(v);
  h.UpdateU64(w.has_task_ids ? 1 : 0);
  h.UpdateU64(w.requests.size());
  // Requests go in 64 KiB blocks: one digest call per field would cost more
  // than the hashing itself on traces of millions of requests.
  constexpr size_t kBlock = 64 * 1024;
  constexpr size_t kRecord = 8 + 8 + 4 + 4 + 4 + 1 + 1;
  std::string buf;
  buf.reserve(kBlock);
  for (const auto& r : w.requests) {
    if (buf.size() + kRecord > kBlock) {
      h.Update(buf);
      buf.clear();
    }
    PutLe(buf, static_cast<uint64_t>(r.time_ns), 8);
    PutLe(buf, r.offset, 8);
    PutLe(buf, r.bytes, 4);
    PutLe(buf, r.volume, 4);
    PutLe(buf, r.task, 4);
    PutLe(buf, static_cast<uint8_t>(r.op), 1);
    if (w.has_sync_flags) PutLe(buf, r.sync ? 1 : 0, 1);
  }
  h.Update(buf);
  return h.HexDigest();
}

}  // namespace kreplay::workload
