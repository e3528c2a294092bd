// A regression-gate rule as the user writes it, in a spec's `gate.fail_if` or
// on the command line (`--fail-if energy:+3%`). Parsed here, where the spec is
// validated, so that `kreplay spec check` reports bad rules with positions;
// controller/gate applies them.
#pragma once

#include <string>
#include <string_view>

#include "services/core/status.h"
#include "services/model/result.h"

namespace kreplay::spec {

struct GateRule {
  std::string text;          // as written, e.g. "energy:+3%"
  std::string metric;
  double threshold_pct = 0;  // >= 0
  bool bad_is_increase = true;
};

// Parses "METRIC:[+|-]X%": "+" makes an increase beyond X % a regression, "-"
// a decrease; without a sign the metric's declared bad direction is used
// (`declared` = its model::MetricSpec::better). InvalidArgument, prefixed with
// `where`, for bad syntax, a missing sign on an undirected metric, or a sign
// against the declared direction (which would gate an improvement).
StatusOr<GateRule> ParseGateRule(std::string_view text, model::Better declared, const std::string& where);

}  // namespace kreplay::spec
