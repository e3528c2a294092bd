// A test-only model family: proof that a family is one folder plus one
// registration line. Nothing outside tests/toy names it; production targets
// never link it (only the test binary `kreplay-toy`, toy_main.cc, does).
//
// Workload kind `toy_synthetic: {items: N, max: M}`: N numbers drawn
// uniformly from [1, M] with the run's seed (sim::Rng), named by content, and
// able to travel as trace chunks (`transport: trace`, the toy codec below).
// Model `toy.sum`: sums the numbers times `scale`; metrics `total`, `items`.
// `kreplay trace inspect` reads toy traces (a "toy trace" line, then one
// number a line) and prints their count and total (times --toy-scale).
#pragma once

#include <cstdint>
#include <vector>

#include "services/core/status.h"
#include "services/family/family.h"

namespace kreplay::toy {

struct ToyWorkload {
  std::vector<uint32_t> items;
  bool operator==(const ToyWorkload&) const = default;
};

// Registers family "toy" and its model.
Status RegisterToyFamily(family::Catalog& catalog);

}  // namespace kreplay::toy
