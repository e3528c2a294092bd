// Internal to the scheduler models: a mainline (6.x) kernel release named by
// a study, e.g. "6.6", "6.12", "6.18". Mainline policies (EEVDF today; EAS
// later) turn it into their version traits, so one parser and one set of
// error messages serve them all.
//
// Only release tags MAJOR.MINOR are accepted: a stable point release
// ("6.12.30") carries backports (the 0.70 ms base slice reached 6.14.y, the
// zero_vruntime rework reached 6.12.y and 6.18.y) that the traits do not
// model, so naming one would silently get the wrong kernel.
#pragma once

#include <charconv>
#include <string>
#include <string_view>

#include "services/core/status.h"

namespace kreplay::sched {

struct MainlineVersion {
  int major = 6;
  int minor = 6;

  // True if this release is at least MAJOR.MINOR.
  constexpr bool AtLeast(int ma, int mi) const { return major != ma ? major > ma : minor >= mi; }
  std::string ToString() const { return std::to_string(major) + "." + std::to_string(minor); }
};

// The releases the mainline models mirror (inclusive).
inline constexpr MainlineVersion kOldestMainline = {6, 6};   // EEVDF replaced CFS in 6.6
inline constexpr MainlineVersion kNewestMainline = {6, 18};  // newest release checked against

// Parses "6.12" (a leading 'v' is accepted). InvalidArgument, naming the
// text, for anything else or for a release outside kOldest..kNewestMainline.
inline StatusOr<MainlineVersion> ParseMainlineVersion(std::string_view text) {
  std::string_view s = text;
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  MainlineVersion v;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  auto r1 = std::from_chars(p, end, v.major);
  bool ok = r1.ec == std::errc() && r1.ptr != end && *r1.ptr == '.';
  if (ok) {
    auto r2 = std::from_chars(r1.ptr + 1, end, v.minor);
    ok = r2.ec == std::errc() && r2.ptr == end && r2.ptr != r1.ptr + 1;
  }
  if (!ok) {
    return InvalidArgument("kernel_version '" + std::string(text) +
                           "': give a mainline release as MAJOR.MINOR, e.g. \"6.12\" (stable point releases carry "
                           "backports that are not modelled)");
  }
  if (!v.AtLeast(kOldestMainline.major, kOldestMainline.minor)) {
    return InvalidArgument("kernel_version '" + std::string(text) + "': EEVDF replaced CFS in " +
                           kOldestMainline.ToString() +
                           "; older kernels are not mainline-modelled (the LSK 3.10 CFS models cover 3.10)");
  }
  if (v.AtLeast(kNewestMainline.major, kNewestMainline.minor + 1)) {
    return InvalidArgument("kernel_version '" + std::string(text) + "': not modelled yet (the newest release checked is " +
                           kNewestMainline.ToString() + ")");
  }
  return v;
}

}  // namespace kreplay::sched
