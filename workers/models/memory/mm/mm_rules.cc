#include "workers/models/memory/mm/mm_rules.h"

#include <charconv>

namespace kreplay::mm {

const char* MigrateTypeName(MigrateType mt) {
  switch (mt) {
    case MigrateType::kUnmovable: return "Unmovable";
    case MigrateType::kMovable: return "Movable";
    case MigrateType::kReclaimable: return "Reclaimable";
    case MigrateType::kHighAtomic: return "HighAtomic";
    case MigrateType::kCma: return "CMA";
    case MigrateType::kIsolate: return "Isolate";
  }
  return "?";
}

StatusOr<MmRules> MmRulesFor(std::string_view version) {
  std::string_view s = version;
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  MmRules r;
  const char* end = s.data() + s.size();
  auto r1 = std::from_chars(s.data(), end, r.major);
  bool ok = r1.ec == std::errc() && r1.ptr != end && *r1.ptr == '.';
  if (ok) {
    auto r2 = std::from_chars(r1.ptr + 1, end, r.minor);
    ok = r2.ec == std::errc() && r2.ptr == end && r2.ptr != r1.ptr + 1;
  }
  if (!ok) {
    return InvalidArgument("kernel_version '" + std::string(version) + "': give a release as MAJOR.MINOR, e.g. \"6.1\"");
  }
  if (!r.AtLeast(kOldestMajor, kOldestMinor) || r.AtLeast(kNewestMajor, kNewestMinor + 1) ||
      (r.major == 5 && r.minor > 19)) {
    return InvalidArgument("kernel_version '" + std::string(version) + "': the memory core models " +
                           std::to_string(kOldestMajor) + "." + std::to_string(kOldestMinor) + " .. " +
                           std::to_string(kNewestMajor) + "." + std::to_string(kNewestMinor) +
                           " (6.3 reworked the ALLOC_HARDER reserves, 6.7 auto-tunes pcp->high)");
  }
  r.cma_first = r.AtLeast(5, 7);
  r.merge_guard_non_mergeable = r.AtLeast(5, 18);
  r.pcp_high_order = r.AtLeast(5, 13);
  r.pcp_scaled = r.AtLeast(5, 14);
  r.pcp_free_high = r.AtLeast(5, 19);
  r.min_free_kbytes_max = r.AtLeast(5, 8) ? 262144 : 65536;
  return r;
}

}  // namespace kreplay::mm
