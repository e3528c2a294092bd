// A weighted choice of sizes, shared by the block (`bs:`) and packet
// (`size:`) specs: one size, or a map of size -> weight. Internal to
// kreplay::virtioworkload.
#pragma once

#include <yaml-cpp/yaml.h>

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

}  // namespace kreplay::virtio
