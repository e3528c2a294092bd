// Internal to the scheduler models: a mainline kernel release named by a
// study, e.g. "6.1", "6.12", "6.18". Mainline policies (CFS before 6.6,
// EEVDF from 6.6; EAS later) turn it into their version traits, so one
// parser and one set of error messages serve them all.
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

// The releases mainline CFS is modelled for (sched.cfs kernel_version):
// 5.15 has every rule MainlineCfsRules() switches on (BASE_SLICE 5.13,
// SCHED_IDLE sleeper credit and slice 5.15); 6.5 is the last before EEVDF.
inline constexpr MainlineVersion kOldestMainlineCfs = {5, 15};
inline constexpr MainlineVersion kNewestMainlineCfs = {6, 5};

// Parses "MAJOR.MINOR" (a leading 'v' is accepted) naming a mainline
// release that exists (5.0 .. 5.19, 6.x). InvalidArgument naming the text
// otherwise. Range checks are the callers'.
inline StatusOr<MainlineVersion> ParseMainlineRelease(std::string_view text) {
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
  if (v.major == 5 && v.minor > 19) {
    return InvalidArgument("kernel_version '" + std::string(text) + "': there is no such release (5.19 was followed by 6.0)");
  }
  return v;
}

// An EEVDF release (kOldest..kNewestMainline). InvalidArgument, naming the
// text, for anything else.
inline StatusOr<MainlineVersion> ParseMainlineVersion(std::string_view text) {
  KREPLAY_ASSIGN_OR_RETURN(MainlineVersion v, ParseMainlineRelease(text));
  if (!v.AtLeast(kOldestMainline.major, kOldestMainline.minor)) {
    return InvalidArgument("kernel_version '" + std::string(text) + "': EEVDF replaced CFS in " +
                           kOldestMainline.ToString() + "; for " + kOldestMainlineCfs.ToString() + " .. " +
                           kNewestMainlineCfs.ToString() + " use sched.cfs with this kernel_version");
  }
  if (v.AtLeast(kNewestMainline.major, kNewestMainline.minor + 1)) {
    return InvalidArgument("kernel_version '" + std::string(text) + "': not modelled yet (the newest release checked is " +
                           kNewestMainline.ToString() + ")");
  }
  return v;
}

// A mainline CFS release (kOldest..kNewestMainlineCfs).
inline StatusOr<MainlineVersion> ParseMainlineCfsVersion(std::string_view text) {
  KREPLAY_ASSIGN_OR_RETURN(MainlineVersion v, ParseMainlineRelease(text));
  if (v.AtLeast(kOldestMainline.major, kOldestMainline.minor)) {
    return InvalidArgument("kernel_version '" + std::string(text) + "': CFS was replaced by EEVDF in " +
                           kOldestMainline.ToString() + "; use sched.eevdf for " + kOldestMainline.ToString() +
                           " .. " + kNewestMainline.ToString());
  }
  if (!v.AtLeast(kOldestMainlineCfs.major, kOldestMainlineCfs.minor)) {
    return InvalidArgument("kernel_version '" + std::string(text) + "': mainline CFS is modelled from " +
                           kOldestMainlineCfs.ToString() + " (and LSK \"3.10\")");
  }
  return v;
}

}  // namespace kreplay::sched
