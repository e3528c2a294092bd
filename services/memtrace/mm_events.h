// Memory-management trace events read from ftrace text: the CMA, kmem page
// and migrate events of include/trace/events/{cma,kmem,migrate}.h in every
// layout they have had (the formats and when they changed are listed in
// services/memtrace/README.md), turned into one flat record.
//
// Numbers follow each event's TP_printk: CMA pfns are hexadecimal with or
// without "0x" (%lx before 5.14), kmem pfns decimal before 5.14 and "0x..."
// after; a failed allocation shows as pfn -1 (old cma_alloc, Android's
// cma_alloc_info) or a NULL page (mm_page_alloc). Keys a record does not
// need are ignored, so later kernels that add fields still read.
//
// MmTraceReader streams a file (gzip/zstd by magic number, constant memory)
// and reports errors as "file:LINE: message". Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "services/core/status.h"
#include "services/memtrace/ftrace_text.h"

namespace kreplay::textio {
class ByteSource;
class LineReader;
}

namespace kreplay::memtrace {

enum class MmEventType : uint8_t {
  kCmaAlloc,          // cma:cma_alloc (up to 5.12): the outcome, no start event
  kCmaAllocStart,     // cma:cma_alloc_start (5.13+)
  kCmaAllocFinish,    // cma:cma_alloc_finish (5.13+; errorno from 6.3)
  kCmaAllocBusyRetry, // cma:cma_alloc_busy_retry (5.13+)
  kCmaRelease,        // cma:cma_release
  kCmaAllocInfo,      // cma:cma_alloc_info (Android common kernel)
  kPageAlloc,         // kmem:mm_page_alloc
  kPageFree,          // kmem:mm_page_free
  kPageFreeBatched,   // kmem:mm_page_free_batched (order 0)
  kPageAllocZoneLocked,  // kmem:mm_page_alloc_zone_locked
  kPagePcpuDrain,     // kmem:mm_page_pcpu_drain
  kPageAllocExtfrag,  // kmem:mm_page_alloc_extfrag
  kMigratePagesStart, // migrate:mm_migrate_pages_start (5.13+)
  kMigratePages,      // migrate:mm_migrate_pages
};
const char* MmEventName(MmEventType t);

// The kernel's migratetype numbers as kmem events print them.
inline constexpr int kMtUnmovable = 0, kMtMovable = 1, kMtReclaimable = 2, kMtHighAtomic = 3;

struct MmEvent {
  MmEventType type = MmEventType::kPageAlloc;
  int64_t ts_ns = 0;
  int cpu = 0;
  int64_t pid = 0;
  std::string comm;
  std::string area;        // CMA area name ("" before 5.13)
  bool failed = false;     // no page: pfn -1 / NULL page, or errorno != 0
  uint64_t pfn = 0;        // when !failed
  uint64_t count = 0;      // CMA: pages requested / released
  uint32_t align = 0;      // CMA: alignment order
  std::optional<int> errorno;  // cma_alloc_finish from 6.3
  int order = 0;           // kmem: block order
  int migratetype = -1;    // kmem: as printed (0 unmovable, 1 movable, ...)
  std::string gfp;         // mm_page_alloc: gfp_flags text
  // mm_page_alloc_extfrag
  int fallback_order = 0, fallback_migratetype = -1;
  bool change_ownership = false;
  // mm_page_alloc_zone_locked
  bool percpu_refill = false;
  // mm_migrate_pages (thp fields from 5.9, split from 6.7) and the start event
  uint64_t succeeded = 0, failed_pages = 0, thp_succeeded = 0, thp_failed = 0, thp_split = 0, split = 0;
  std::string mode, reason;
  // cma_alloc_info (Android)
  uint64_t nr_migrated = 0, nr_reclaimed = 0, nr_mapped = 0, err_iso = 0, err_mig = 0, err_test = 0;
};

// The record for a parsed line, or nullopt for an event this reader does
// not take (other tracepoints); InvalidArgument naming the key for one it
// takes but cannot read.
StatusOr<std::optional<MmEvent>> DecodeMmEvent(const FtraceLine& line);

struct MmTraceStats {
  uint64_t lines = 0;
  uint64_t events = 0;          // records returned
  uint64_t other_events = 0;    // event lines of other tracepoints, skipped
  uint64_t skipped_lines = 0;   // headers, blank and bookkeeping lines
};

class MmTraceReader {
 public:
  // Opens `path` ("-" = stdin); NotFound/IO errors name it.
  static StatusOr<std::unique_ptr<MmTraceReader>> Open(const std::string& path);
  // Reads `text` held in memory; `name` labels errors.
  static std::unique_ptr<MmTraceReader> FromString(std::string text, const std::string& name);
  // Reads an open (already decompressed) source; `name` labels errors.
  static std::unique_ptr<MmTraceReader> FromSource(std::unique_ptr<textio::ByteSource> src, const std::string& name);
  ~MmTraceReader();

  // The next record into *ev: true, or false at the end. Errors are
  // "name:LINE: message". Timestamps may go backwards across CPUs in
  // trace_pipe output; records are returned in file order.
  StatusOr<bool> Next(MmEvent* ev);
  const MmTraceStats& stats() const { return stats_; }

 private:
  MmTraceReader(std::unique_ptr<textio::LineReader> lines, std::string name);
  std::unique_ptr<textio::LineReader> lines_;
  std::string name_;
  MmTraceStats stats_;
};

}  // namespace kreplay::memtrace
