#include "controller/spec/gate_rule.h"

#include <cmath>
#include <cstdlib>

#include "services/core/strings.h"

namespace kreplay::spec {

StatusOr<GateRule> ParseGateRule(std::string_view text, model::Better declared, const std::string& where) {
  std::string t(text);
  auto bad = [&](const std::string& why) {
    return InvalidArgument(where + ": '" + t + "': " + why +
                           " (expected METRIC:+X% for 'an increase beyond X% is a regression', METRIC:-X% for a "
                           "decrease, or METRIC:X% for the metric's bad direction)");
  };
  size_t colon = t.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("no METRIC: prefix");
  GateRule r;
  r.text = t;
  r.metric = std::string(Trim(t.substr(0, colon)));
  std::string th(Trim(t.substr(colon + 1)));
  if (th.empty() || th.back() != '%') return bad("the threshold must be a percentage ending in '%'");
  th.pop_back();
  char sign = 0;
  if (!th.empty() && (th[0] == '+' || th[0] == '-')) {
    sign = th[0];
    th.erase(0, 1);
  }
  char* end = nullptr;
  double x = std::strtod(th.c_str(), &end);
  if (th.empty() || end != th.c_str() + th.size() || !std::isfinite(x) || x < 0)
    return bad("the threshold '" + th + "' is not a non-negative number");
  r.threshold_pct = x;
  if (sign == 0) {
    if (declared == model::Better::kNone)
      return bad("metric '" + r.metric + "' declares no good direction; write +X% or -X%");
    r.bad_is_increase = declared == model::Better::kLower;
  } else {
    r.bad_is_increase = sign == '+';
    if ((declared == model::Better::kLower && !r.bad_is_increase) ||
        (declared == model::Better::kHigher && r.bad_is_increase))
      return bad("metric '" + r.metric + "' is " + (declared == model::Better::kLower ? "lower" : "higher") +
                 "-is-better, so a regression is " + (declared == model::Better::kLower ? "an increase (+)" : "a decrease (-)") +
                 "; write " + r.metric + ":" + (declared == model::Better::kLower ? "+" : "-") + th + "%");
  }
  return r;
}

}  // namespace kreplay::spec
