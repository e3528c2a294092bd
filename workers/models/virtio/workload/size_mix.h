// What the block (`virtio_block:`) and packet (`virtio_net:`) specs share:
// a weighted choice of sizes (`bs:`, `size:`: one size, or a map of size ->
// weight) and open-loop arrivals (`arrivals: uniform|poisson`). Internal to
// kreplay::virtioworkload.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "services/core/status.h"
#include "services/sim/rng.h"
#include "services/yamlread/yaml_reader.h"

namespace kreplay::virtio {

struct SizeMix {
  // (size, weight) with weight > 0, sizes distinct, in the order written.
  std::vector<std::pair<uint32_t, double>> sizes;
  bool operator==(const SizeMix&) const = default;

  uint32_t min() const;
  uint32_t max() const;
  // One size drawn by weight: exactly one Uniform() draw, and none when
  // there is a single size. REQUIRES: !sizes.empty().
  uint32_t Pick(sim::Rng& rng) const;
};

// How a size is written: "bytes" (a plain integer or "4KiB"), within [lo, hi]
// and a multiple of `multiple`.
struct SizeRule {
  uint64_t lo = 1, hi = UINT32_MAX, multiple = 1;
};

// `node` is a size, or a map of size -> weight (a number in (0, 1e9]).
// Errors name `field` (and `field.<key>` for an entry).
StatusOr<SizeMix> ParseSizeMix(const yamlread::YamlReader& r, const YAML::Node& node, const std::string& field,
                               const SizeRule& rule);

// `arrivals:` of `node`, if given: true for poisson, false for uniform (the
// default). It needs a rate: `rate` is the spec's `rate_key` value, and
// `without` says what the spec is without one ("closed-loop jobs").
StatusOr<bool> ParseArrivals(const yamlread::YamlReader& r, const YAML::Node& node, const std::string& field,
                             double rate, const std::string& rate_key, const std::string& without);

// Open-loop arrival instants `gap_ns` apart on average: evenly spaced, or
// with exponential gaps drawn from `rng`. At(k) for k = 0, 1, ... in order.
class ArrivalClock {
 public:
  ArrivalClock(double gap_ns, bool poisson, sim::Rng& rng) : gap_(gap_ns), poisson_(poisson), rng_(rng) {}
  int64_t At(uint64_t k) {
    if (!poisson_) {
      t_ = static_cast<double>(k) * gap_;
    } else if (k > 0) {
      t_ += rng_.Exponential(gap_);
    }
    return static_cast<int64_t>(std::llround(t_));
  }

 private:
  double gap_;
  bool poisson_;
  sim::Rng& rng_;
  double t_ = 0;
};

}  // namespace kreplay::virtio
