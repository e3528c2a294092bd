// Block workloads as traces (family "blockcache"; traces written before the
// family table say "block", and still read): a manifest plus self-contained
// chunks of request records, the same shapes as sched_trace.h.
//
// Records are RecordColumns with the columns, in this order,
//   time_ns, offset, bytes, volume, task, op[, sync]
// (sync, 0 or 1, only when the header's flag bit 1 says has_sync_flags)
// each zigzag-delta-encoded from the previous request of the same chunk (the
// first from 0), so a chunk decodes on its own and a sequential stream costs
// about one byte per column beyond its time and offset steps.
//
// The manifest header is a byte layout (no proto message exists for it and
// proto/ is shared), all integers little-endian:
//   u8  version        = 1
//   u8  flags          bit 0: has_task_ids; bit 1: has_sync_flags; other bits
//                      must be 0. A trace without sync flags is byte for byte
//                      what encoders before bit 1 wrote (they still read).
//   u32 volume_count
//   volume_count x { u32 name_length; name bytes }
// and nothing after. The manifest digest is SHA-256 over the family, the header
// and every payload (length-prefixed, in index order), exactly as for "sched":
// it names this encoding (it depends on the chunk size); the content digest
// that is independent of chunking is workload::BlockWorkloadDigest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kreplay/v1/workload.pb.h"
#include "services/codec/chunked_trace.h"  // EncodedTrace, ChunkedTraceAssembler
#include "services/codec/sched_trace.h"
#include "services/core/status.h"
#include "services/workload/block_workload.h"

namespace kreplay::codec {

// Encodes `w` into chunks whose payload is at most max_chunk_bytes (a chunk
// always holds at least one request, so a bound below one record's size gives
// one-request chunks), handing each to `sink` in index order with its digest
// left empty, and returns the manifest (digest included).
// REQUIRES: every request's volume < w.volumes.size(); otherwise the assembler
// rejects the trace. Requests are carried verbatim (time order is not checked).
v1::TraceManifest EncodeBlockWorkload(const workload::BlockWorkload& w, size_t max_chunk_bytes,
                                      const ChunkSink& sink, const std::string& source);

// The whole trace in memory (EncodedTrace, chunked_trace.h).
EncodedTrace EncodeBlockWorkload(const workload::BlockWorkload& w, size_t max_chunk_bytes,
                                 const std::string& source);

// Rebuilds a BlockWorkload from its chunks, which may arrive in any order;
// a second copy of an accepted chunk index is ignored. Each chunk is checked
// when it arrives (trace digest, index range, CRC32C, decodable columns, record
// count, field ranges) and again when it joins the in-order prefix (first
// record); Finish() checks the totals and the manifest digest. Errors are
// DataLoss naming the trace and the chunk index; a rejected chunk is not kept,
// so a good re-send of it can still be added. Not thread-safe.
class BlockTraceAssembler {
 public:
  explicit BlockTraceAssembler(v1::TraceManifest manifest);
  ~BlockTraceAssembler();
  BlockTraceAssembler(const BlockTraceAssembler&) = delete;
  BlockTraceAssembler& operator=(const BlockTraceAssembler&) = delete;

  // OK when the chunk was accepted or is a duplicate; InvalidArgument when the
  // manifest is not a block cache manifest, DataLoss otherwise.
  Status Add(const v1::TraceChunk& chunk);
  uint32_t accepted() const { return trace_.accepted(); }  // distinct chunks held
  uint32_t duplicates() const { return trace_.duplicates(); }
  uint32_t next_chunk() const { return trace_.next_chunk(); }  // first index not yet in the in-order prefix
  bool complete() const { return trace_.complete(); }
  // Verifies record and byte totals and the digest, then hands over the
  // workload. REQUIRES: called at most once.
  StatusOr<workload::BlockWorkload> Finish();

 private:
  workload::BlockWorkload w_;  // volumes and flags from the header; requests as spliced
  ChunkedTraceAssembler<workload::BlockRequest> trace_;  // appends to w_.requests
};

// Convenience for tests and the in-process path: encode then decode.
StatusOr<workload::BlockWorkload> RoundTrip(const workload::BlockWorkload& w, size_t max_chunk_bytes);

}  // namespace kreplay::codec
