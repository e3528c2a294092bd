// Block workloads: an open-loop stream of timed block requests, the input of
// the block cache family (bcache and fixed-block caches). Importers live in
// services/blocktrace; this header holds only the value types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kreplay::workload {

enum class BlockOp : uint8_t {
  kRead = 0,
  kWrite = 1,
  kDiscard = 2,  // bcache always bypasses discards (check_should_bypass)
  kFlush = 3,    // zero-length barrier; carries no data
};
constexpr int kBlockOpCount = 4;
const char* BlockOpName(BlockOp op);

// One request as the trace recorded it. Offsets and lengths are in bytes,
// not sectors, so that unaligned IO stays visible (bcache bypasses it).
struct BlockRequest {
  int64_t time_ns = 0;     // issue time, ns since the first request of the trace
  uint64_t offset = 0;     // bytes from the start of the volume
  uint32_t bytes = 0;      // length; 0 only for flushes
  uint32_t volume = 0;     // index into BlockWorkload::volumes
  uint32_t task = 0;       // issuing task (pid) when the trace has task IDs, else 0
  BlockOp op = BlockOp::kRead;
  // The bio counted as synchronous (op_is_sync(): REQ_SYNC, REQ_FUA or
  // REQ_PREFLUSH; or REQ_META), as the trace recorded it; false when the
  // trace cannot say (BlockWorkload::has_sync_flags).
  bool sync = false;
  bool operator==(const BlockRequest&) const = default;
};

struct BlockWorkload {
  std::vector<std::string> volumes;   // names, in order of first appearance
  bool has_task_ids = false;          // false: models apply their stated fallback
  bool has_sync_flags = false;        // the format records per-request sync flags (blkparse RWBS)
  std::vector<BlockRequest> requests; // in non-decreasing time_ns
  bool operator==(const BlockWorkload&) const = default;
};

// Content digest (lowercase hex SHA-256) over volumes, has_task_ids and every
// field of every request, fixed-width: names the workload in result keys
// whatever transport or chunking carried it. A workload without sync flags
// keeps its "kreplay.block_workload.v1" digest (requests' sync is then
// false and not hashed); one with them hashes each request's sync too, under
// "kreplay.block_workload.v2".
std::string BlockWorkloadDigest(const BlockWorkload& w);

}  // namespace kreplay::workload
