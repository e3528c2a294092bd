// /proc/pagetypeinfo and /proc/zoneinfo text (mm/vmstat.c
// pagetypeinfo_show(), zoneinfo_show_print()), read into plain values: the
// initial state of a memory study can be taken from a real machine.
//
// Column sets are read from the headers (the order count, which
// migratetypes exist: CMA and Isolate depend on the kernel's config), so
// kernels from 4.4 on read the same way; a free count capped by the kernel
// (">100000", 5.4+) reads as 100000 with `capped` set. zoneinfo lines are
// generic "key value" pairs per zone, so stats added or removed by later
// kernels need no change here. Errors name the source and line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "services/core/status.h"

namespace kreplay::memtrace {

struct PageTypeInfo {
  int pageblock_order = 0;
  uint64_t pages_per_block = 0;
  int orders = 0;                      // columns of the free table (orders 0 .. orders - 1)
  struct FreeRow {
    int node = 0;
    std::string zone;                  // "Normal", "DMA32", ...
    std::string type;                  // "Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate"
    std::vector<uint64_t> free;        // free blocks per order
    bool capped = false;               // some count was ">100000"
  };
  std::vector<FreeRow> free;
  std::vector<std::string> block_types;  // columns of the block table, in order
  struct BlockRow {
    int node = 0;
    std::string zone;
    std::vector<uint64_t> blocks;      // per block_types
  };
  std::vector<BlockRow> blocks;
};
StatusOr<PageTypeInfo> ParsePageTypeInfo(std::string_view text, const std::string& name);

struct ZoneInfo {
  struct Zone {
    int node = 0;
    std::string name;
    // "pages free", "min", "low", "high", "spanned", "present", "managed",
    // "cma", and every "nr_*" statistic, as printed.
    std::map<std::string, int64_t> values;
    std::vector<int64_t> protection;   // lowmem_reserve per zone
    bool populated() const { auto it = values.find("present"); return it != values.end() && it->second > 0; }
    int64_t Get(const std::string& key, int64_t def = 0) const {
      auto it = values.find(key);
      return it == values.end() ? def : it->second;
    }
  };
  std::vector<Zone> zones;
  // The node's "per-node stats" block (nr_inactive_anon, nr_file_pages,
  // nr_dirty, ...), by node.
  std::map<int, std::map<std::string, int64_t>> node_stats;
};
StatusOr<ZoneInfo> ParseZoneInfo(std::string_view text, const std::string& name);

}  // namespace kreplay::memtrace
