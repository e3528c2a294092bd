// Scheduler workloads as traces: a manifest (header with the tasks, digest,
// counts) plus self-contained chunks of phase records (columns task, op, a, b).
//
// The digest is SHA-256 over the family, the header and every chunk payload
// (length-prefixed, in order): it names the workload in result keys and is
// re-checked by the reader, so a truncated or reordered trace cannot pass.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "kreplay/v1/workload.pb.h"
#include "services/core/status.h"
#include "services/workload/sched_workload.h"

namespace kreplay::codec {

constexpr size_t kDefaultChunkBytes = 512 * 1024;

// A chunk as produced by the encoder (digest and stream_id are filled in by
// whoever publishes it).
using ChunkSink = std::function<void(v1::TraceChunk&& chunk)>;

// Encodes `w` into chunks of at most ~max_chunk_bytes of payload, handing each
// to `sink` in order, and returns the manifest (digest included).
v1::TraceManifest EncodeSchedWorkload(const workload::SchedWorkload& w, size_t max_chunk_bytes,
                                      const ChunkSink& sink, const std::string& source);

// Rebuilds a workload from its chunks, verifying index order, CRC32C, record
// counts and finally the digest. Chunks must be added in index order.
class SchedTraceAssembler {
 public:
  explicit SchedTraceAssembler(v1::TraceManifest manifest);
  ~SchedTraceAssembler();
  // DataLoss on a CRC mismatch, wrong digest, or an index other than next_chunk().
  Status Add(const v1::TraceChunk& chunk);
  uint32_t next_chunk() const { return next_; }
  bool complete() const { return next_ == manifest_.chunk_count(); }
  // REQUIRES: complete(). Verifies the whole-trace digest.
  StatusOr<workload::SchedWorkload> Finish();

 private:
  struct DigestState;
  v1::TraceManifest manifest_;
  workload::SchedWorkload w_;
  std::unique_ptr<DigestState> digest_;
  uint32_t next_ = 0;
  uint64_t records_ = 0;
  size_t task_ = 0;  // task receiving the next phase
  bool bad_policy_ = false;  // a task's policy is beyond workload::SchedPolicy
};

// Convenience for tests and the in-process path: encode then decode.
StatusOr<workload::SchedWorkload> RoundTrip(const workload::SchedWorkload& w, size_t max_chunk_bytes);

}  // namespace kreplay::codec
