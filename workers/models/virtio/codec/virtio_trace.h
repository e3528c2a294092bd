// Virtio workloads as traces (family "virtio"): a manifest plus
// self-contained chunks of records, the shapes of
// services/codec/block_trace.h and of the memory family's mem_trace.h,
// which this codec follows rule for rule (services/codec/chunked_trace.h
// does the chunking, CRCs, digest and chunk checks).
//
// A trace holds one kind of record, by the workload's kind:
//   kBlock: one row per BlockIo, jobs in order and each job's ios in order,
//           columns  at, offset, bytes, write
//   kNet:   one row per PacketIo, columns  at, bytes, flow, to_guest
// each zigzag-delta-encoded from the previous row of the same chunk (the
// first from 0), so a chunk decodes on its own. `offset` carries the full
// u64 range (two's complement). Checked on decode (DataLoss naming the
// record and field):
//   at >= -1; bytes < 2^32; write, to_guest 0 or 1; flow < 2^16;
//   block: offset + bytes <= device_bytes (no wrap-around);
//   net (at Finish, across chunks): at non-decreasing, and either every at
//   is -1 or none is.
//
// The manifest header is a byte layout (no proto message exists for it and
// proto/ is shared), all integers little-endian:
//   u8  version = 1
//   u8  kind                  0 = kBlock, 1 = kNet
//   u64 device_bytes          kNet: 0; kBlock: any (each io is checked against it)
//   u32 job_count             kNet: 0; kBlock: <= 65536
//   job_count x {
//     u32 iodepth             [1, 4096] (the block spec's bound, block_jobs.h)
//     u64 io_count            the job's ios; their sum is the manifest's record_count
//   }
// and nothing after. A value outside is DataLoss naming the field and its
// header byte.
//
// The manifest digest is SHA-256 over the family, the header and every
// payload (length-prefixed, in index order): it names this encoding (it
// depends on the chunk size); VirtioWorkloadDigest() (virtio_workload.h) is
// the content digest that is independent of chunking.
//
// Thread-safety: the functions are reentrant; an assembler is not
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kreplay/v1/workload.pb.h"
#include "services/codec/chunked_trace.h"  // codec::EncodedTrace, codec::ChunkedTraceAssembler
#include "services/codec/sched_trace.h"    // codec::ChunkSink
#include "services/core/status.h"
#include "workers/models/virtio/workload/virtio_workload.h"

namespace kreplay::virtio {

// TraceManifest.family of virtio traces.
inline constexpr char kVirtioTraceFamily[] = "virtio";

// Encodes `w` into chunks whose payload is at most max_chunk_bytes (a chunk
// always holds at least one record, so a bound below one record's size
// gives one-record chunks), handing each to `sink` in index order with its
// digest left empty, and returns the manifest (digest included). A workload
// without records gives a manifest of zero chunks.
// REQUIRES: a kBlock workload has no packets, a kNet one no jobs and
// device_bytes 0 (traps otherwise: the trace could not carry them); every
// field within the bounds above, else the assembler rejects the trace.
v1::TraceManifest EncodeVirtioWorkload(const VirtioWorkload& w, size_t max_chunk_bytes, const codec::ChunkSink& sink,
                                       const std::string& source);

// The whole trace in memory: chunks in index order, each carrying the digest.
codec::EncodedTrace EncodeVirtioWorkload(const VirtioWorkload& w, size_t max_chunk_bytes, const std::string& source);

// Rebuilds a VirtioWorkload from its chunks, which may arrive in any order;
// a second copy of an accepted chunk index is ignored. The manifest is
// checked once (family, header layout and field bounds, counts); each chunk
// when it arrives (trace digest, index range, CRC32C, decodable columns,
// record count, field ranges) and again when it joins the in-order prefix
// (first record); Finish() checks the totals, the manifest digest and the
// packets' order. Errors are DataLoss naming the trace and the chunk index;
// a rejected chunk is not kept, so a good re-send of it can still be added.
// Memory is bounded by the chunks held, never by a count read from the
// wire (block ios are held in one vector and split into jobs by Finish(),
// which for more than one job copies them once). Not thread-safe.
class VirtioTraceAssembler {
 public:
  explicit VirtioTraceAssembler(v1::TraceManifest manifest);
  ~VirtioTraceAssembler();
  VirtioTraceAssembler(const VirtioTraceAssembler&) = delete;
  VirtioTraceAssembler& operator=(const VirtioTraceAssembler&) = delete;

  // OK when the chunk was accepted or is a duplicate; InvalidArgument when
  // the manifest is not a virtio manifest, DataLoss otherwise.
  Status Add(const v1::TraceChunk& chunk);
  uint32_t accepted() const { return net_ ? net_trace_.accepted() : block_trace_.accepted(); }
  uint32_t duplicates() const { return net_ ? net_trace_.duplicates() : block_trace_.duplicates(); }
  // First index not yet in the in-order prefix.
  uint32_t next_chunk() const { return net_ ? net_trace_.next_chunk() : block_trace_.next_chunk(); }
  bool complete() const { return net_ ? net_trace_.complete() : block_trace_.complete(); }
  // Verifies totals, digest and order, then hands over the workload.
  // REQUIRES: called at most once.
  StatusOr<VirtioWorkload> Finish();

 private:
  VirtioWorkload w_;                 // header fields; packets as spliced
  std::vector<uint64_t> job_ios_;    // io count per job, from the header
  std::vector<BlockIo> ios_;         // every job's ios, as spliced
  bool net_ = false;                 // which of the two below is in use
  codec::ChunkedTraceAssembler<BlockIo> block_trace_;  // appends to ios_
  codec::ChunkedTraceAssembler<PacketIo> net_trace_;   // appends to w_.packets
};

// Convenience for tests and the in-process path: encode then decode.
StatusOr<VirtioWorkload> RoundTrip(const VirtioWorkload& w, size_t max_chunk_bytes);

}  // namespace kreplay::virtio
