// What a model run produces: scalar metrics, histograms and optional time
// series, all mergeable. Holds no wall time, host or worker identity, so the
// same inputs and seed give the same result (and the same serialised bytes).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "services/sim/histogram.h"
#include "services/sim/time.h"

namespace kreplay::model {

enum class Better { kLower, kHigher, kNone };
const char* BetterName(Better b);

// Declared by a model for each metric it reports (kreplay models describe).
struct MetricSpec {
  std::string name;
  std::string unit;
  Better better = Better::kNone;
  std::string help;
};

struct Scalar {
  double value = 0;
  std::string unit;
  bool operator==(const Scalar&) const = default;
};

struct TimeSeries {
  std::string unit;
  std::vector<sim::Time> t;
  std::vector<double> value;
};

struct Result {
  std::map<std::string, Scalar> scalars;            // ordered: deterministic output
  std::map<std::string, sim::Histogram> histograms;
  std::map<std::string, TimeSeries> series;
  uint64_t sim_events = 0;
  sim::Time sim_time_ns = 0;

  void Set(const std::string& name, double value, const std::string& unit) {
    scalars[name] = Scalar{value, unit};
  }
};

}  // namespace kreplay::model
