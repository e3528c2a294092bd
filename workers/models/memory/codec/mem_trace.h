// Memory workloads as traces (family "memory"): a manifest plus
// self-contained chunks of contiguous-call records, the shapes of
// services/codec/block_trace.h, which this codec follows rule for rule.
//
// Records are RecordColumns (services/codec/columns.h), one row per
// ContigCall, with the columns, in this order,
//   at, pages, align, area, hold, timeout
// each zigzag-delta-encoded from the previous call of the same chunk (the
// first from 0), so a chunk decodes on its own. `pages` carries the full u64
// range (two's complement); the others are checked on decode:
//   at >= 0, align < 2^32, area < area_count, hold >= -1, timeout >= 0.
//
// The manifest header is a byte layout (no proto message exists for it and
// proto/ is shared), all integers little-endian, doubles as their IEEE-754
// bits (u64), so every field decodes bit for bit:
//   u8  version = 1
//   u32 area_count                       <= 65536 (ContigCall::area is a u16)
//   area_count x { u32 name_length; name bytes }
//   -- background.spec (BackgroundSpec), in declaration order
//   u64 anon.working_set_pages           verbatim (ResolveBackground() overrides)
//   f64 anon.fault_rate                  rate
//   u32 anon.mapped_cpus                 verbatim
//   u64 cache.file_pages                 verbatim (overridden)
//   f64 cache.read_rate                  rate
//   f64 cache.write_rate                 rate
//   f64 cache.hot_fraction               (0, 1]
//   f64 cache.hot_access                 [0, 1]
//   u32 cache.mapped_cpus                verbatim
//   i32 cache.dirty_ratio                [0, 100]
//   i32 cache.dirty_background_ratio     [0, 100]
//   i64 cache.dirty_expire               [0, 24 h]
//   i64 cache.dirty_writeback_interval   [1 ns, 24 h]
//   u32 cache.writeback_inflight_pages   [1, 2^24]
//   f64 build.spawn_rate                 rate
//   u32 build.anon_pages                 verbatim (overridden)
//   u32 build.kernel_pages               verbatim (overridden)
//   u32 build.file_reads                 [0, 2^20]
//   i64 build.mean_lifetime              [1 ns, 24 h]
//   u32 build.mapped_cpus                verbatim
//   f64 pin.rate                         rate
//   u32 pin.pages                        verbatim (overridden)
//   i64 pin.duration                     [1 ns, 24 h]
//   u8  pin.longterm                     0 or 1
//   f64 slab.rate                        rate
//   f64 slab.reclaimable_fraction        [0, 1]
//   i64 slab.mean_lifetime               [1 ns, 24 h]
//   u32 lru_batch_pages                  [0, 64]
//   i64 sample_interval                  [0, 24 h]
//   -- background's sizes (BackgroundTemplate), each { f64 fraction; u64 bytes }
//   anon_working_set, cache_files, build_anon, build_kernel, pin_size
//                                        fraction in [0, 1], bytes <= 2^44
//   -- initial (InitialSpec)
//   f64 used                             [0, 1]
//   u8  share_count                      = kPageKinds (8)
//   share_count x f64 shares             [0, 1e6], by PageKind
//   f64 churn                            [0, 100]
//   f64 mixed_blocks                     [-1, 1] (below 0: none)
//   -- the workload
//   i64 duration                         [0, 24 h]
// and nothing after. A "rate" is a finite number of events per second in
// [0, 1e9]. The bounds are the study spec's (the kMaxSpec* constants of
// mem_spec.h and foreground.h, which its parser uses), so a trace
// carries exactly what a spec can say, and a crafted header cannot hand a run
// a value that hangs it (a churn or rate of 1e300) or is undefined for it
// (NaN); "verbatim" fields are ones the spec does not set. A value outside is
// DataLoss naming the field and its header byte.
//
// The manifest digest is SHA-256 over the family, the header and every
// payload (length-prefixed, in index order), as for "blockcache": it names
// this encoding (it depends on the chunk size); MemWorkloadDigest() is the
// content digest that is independent of chunking.
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
#include "workers/models/memory/models/mem_spec.h"

namespace kreplay::memory {

// TraceManifest.family of memory traces.
inline constexpr char kMemTraceFamily[] = "memory";

// Encodes `w` into chunks whose payload is at most max_chunk_bytes (a chunk
// always holds at least one call, so a bound below one record's size gives
// one-call chunks), handing each to `sink` in index order with its digest
// left empty, and returns the manifest (digest included). An empty
// foreground gives a manifest of zero chunks.
// REQUIRES: every call's area < w.foreground.areas.size(), areas.size() <=
// 65536, and every field within the bounds above; otherwise the assembler
// rejects the trace (DataLoss naming the field). Calls are carried verbatim
// (time order is not checked).
v1::TraceManifest EncodeMemWorkload(const MemWorkload& w, size_t max_chunk_bytes, const codec::ChunkSink& sink,
                                    const std::string& source);

// The whole trace in memory: chunks in index order, each carrying the digest.
codec::EncodedTrace EncodeMemWorkload(const MemWorkload& w, size_t max_chunk_bytes, const std::string& source);

// Rebuilds a MemWorkload from its chunks, which may arrive in any order; a
// second copy of an accepted chunk index is ignored. The manifest is checked
// once (family, header layout and field bounds, counts); each chunk when it
// arrives (trace digest, index range, CRC32C, decodable columns, record
// count, field ranges) and again when it joins the in-order prefix (first
// record); Finish() checks the totals and the manifest digest. Errors are
// DataLoss naming the trace and the chunk index; a rejected chunk is not
// kept, so a good re-send of it can still be added. Memory is bounded by the
// chunks held, never by a count read from the wire. Not thread-safe.
class MemTraceAssembler {
 public:
  explicit MemTraceAssembler(v1::TraceManifest manifest);
  ~MemTraceAssembler();
  MemTraceAssembler(const MemTraceAssembler&) = delete;
  MemTraceAssembler& operator=(const MemTraceAssembler&) = delete;

  // OK when the chunk was accepted or is a duplicate; InvalidArgument when the
  // manifest is not a memory manifest, DataLoss otherwise.
  Status Add(const v1::TraceChunk& chunk);
  uint32_t accepted() const { return trace_.accepted(); }  // distinct chunks held
  uint32_t duplicates() const { return trace_.duplicates(); }
  uint32_t next_chunk() const { return trace_.next_chunk(); }  // first index not yet in the in-order prefix
  bool complete() const { return trace_.complete(); }
  // Verifies record and byte totals and the digest, then hands over the
  // workload. REQUIRES: called at most once.
  StatusOr<MemWorkload> Finish();

 private:
  MemWorkload w_;  // everything but the calls from the header; calls as spliced
  codec::ChunkedTraceAssembler<ContigCall> trace_;  // appends to w_.foreground.calls
};

// Convenience for tests and the in-process path: encode then decode.
StatusOr<MemWorkload> RoundTrip(const MemWorkload& w, size_t max_chunk_bytes);

// Content digest, independent of chunking: SHA-256 (lowercase hex) of
// CanonicalMemWorkloadText(w), i.e. of every field a run reads.
std::string MemWorkloadDigest(const MemWorkload& w);

// Approximate bytes `w` holds in memory, for the family table's caches
// (family::TypedAssembler's `bytes`).
uint64_t MemWorkloadBytes(const MemWorkload& w);

}  // namespace kreplay::memory
