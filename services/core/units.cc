#include "services/core/units.h"

#include <limits>
#include <numeric>
#include <optional>
#include <string_view>

#include "services/core/strings.h"

namespace kreplay {

StatusOr<int64_t> ParseDuration(const std::string& text) {
  std::string_view s = Trim(text);
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  std::string_view number = s.substr(0, i);
  std::string_view unit = Trim(s.substr(i));
  if (number.empty()) return InvalidArgument("invalid duration '" + text + "' (expected e.g. 10ms, 250us, 2s)");
  int64_t mult = 0;
  if (unit.empty() || unit == "ns") {
    mult = 1;
  } else if (unit == "us") {
    mult = 1'000;
  } else if (unit == "ms") {
    mult = 1'000'000;
  } else if (unit == "s") {
    mult = 1'000'000'000;
  } else if (unit == "min") {
    mult = 60'000'000'000;
  } else {
    return InvalidArgument("invalid duration unit '" + std::string(unit) + "' in '" + text +
                           "' (allowed: ns, us, ms, s, min)");
  }
  // Integer arithmetic on the digits, so "1.5ms" is exactly 1'500'000.
  size_t dot = number.find('.');
  std::string_view whole = number.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
  if (frac.find('.') != std::string_view::npos || (whole.empty() && frac.empty()) ||
      (dot != std::string_view::npos && frac.empty())) {
    return InvalidArgument("invalid duration '" + text + "'");
  }
  if (unit.empty() && dot != std::string_view::npos) {
    return InvalidArgument("invalid duration '" + text + "': a bare number is integer ns");
  }
  std::optional<int64_t> w = whole.empty() ? std::optional<int64_t>(0) : ParseInt(whole);
  if (!w || *w > std::numeric_limits<int64_t>::max() / mult) {
    return InvalidArgument("duration '" + text + "' out of range");
  }
  int64_t ns = *w * mult;
  if (!frac.empty()) {
    if (frac.size() > 12) return InvalidArgument("duration '" + text + "' has too many decimals");
    std::optional<int64_t> f = ParseInt(frac);
    int64_t scale = 1;
    for (size_t k = 0; k < frac.size(); ++k) scale *= 10;
    if (!f) return InvalidArgument("invalid duration '" + text + "'");
    // f / scale * mult must be a whole number of ns: with g = gcd(mult,
    // scale), scale / g must divide f.
    int64_t g = std::gcd(mult, scale);
    int64_t m2 = mult / g, s2 = scale / g;
    if (*f % s2 != 0) return InvalidArgument("duration '" + text + "' is finer than 1ns");
    int64_t q = *f / s2;
    if (q > (std::numeric_limits<int64_t>::max() - ns) / m2) {
      return InvalidArgument("duration '" + text + "' out of range");
    }
    ns += q * m2;
  }
  return ns;
}

StatusOr<uint64_t> ParseByteSize(const std::string& text) {
  std::string_view t = Trim(text);
  size_t i = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  auto num = ParseUint(t.substr(0, i));
  if (!num) return Status(InvalidArgument("expected a size such as 4KiB (got '" + text + "')"));
  std::string_view suf = Trim(t.substr(i));
  uint64_t mult = 0;
  if (suf.empty() || suf == "B") mult = 1;
  else if (suf == "KiB" || suf == "K") mult = uint64_t{1} << 10;
  else if (suf == "MiB" || suf == "M") mult = uint64_t{1} << 20;
  else if (suf == "GiB" || suf == "G") mult = uint64_t{1} << 30;
  else if (suf == "TiB" || suf == "T") mult = uint64_t{1} << 40;
  else return Status(InvalidArgument("unknown size suffix '" + std::string(suf) + "' (B, KiB, MiB, GiB, TiB)"));
  if (*num > std::numeric_limits<uint64_t>::max() / mult) return Status(InvalidArgument("size out of range: " + text));
  return *num * mult;
}

}  // namespace kreplay
