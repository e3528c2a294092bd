// The foreground of a memory study: the contiguous allocations a driver
// makes (a camera, a video decoder, a display pipeline), each one
// cma_alloc() call and, after a hold time, its cma_release(). Generated
// from a seeded spec, or read back from a recorded trace (from_trace.h).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/sim/rng.h"
#include "services/sim/time.h"

namespace kreplay::memory {

// The longest time a spec may give (durations, holds, timeouts, starts).
inline constexpr sim::Duration kMaxSpecTime = 24 * 3600 * sim::kSec;

struct ContigCall {
  sim::Time at = 0;           // when the call is made
  uint64_t pages = 0;
  uint32_t align = 0;         // cma_alloc()'s align (an order); cma_alloc() caps it at 8
  uint16_t area = 0;          // index into Foreground::areas
  sim::Duration hold = -1;    // released this long after it returns; -1: not within the run
  sim::Duration timeout = 0;  // the caller is killed after this long (a fatal signal); 0: never
  bool operator==(const ContigCall&) const = default;
};

struct Foreground {
  std::vector<std::string> areas;  // CMA area names; "" = the profile's first area
  std::vector<ContigCall> calls;   // in arrival order
  bool operator==(const Foreground&) const = default;
};

// get_order(pages * PAGE_SIZE): the alignment dma_alloc_contiguous() asks
// for (cma_alloc_aligned(): min(get_order(size), CONFIG_CMA_ALIGNMENT)).
uint32_t DmaAlignOrder(uint64_t pages);

// `requests:` of a memory workload:
//   sizes: [1, 16, 256, 64MiB]  pages, or bytes with a suffix (rounded up to pages)
//   per_size: 32                 calls per size
//   order: shuffled | as_listed  the sequence of calls (shuffled: seeded)
//   arrival: {kind: fixed | poisson, rate: 5}   calls per second
//   start: 1s                    the first arrival (after the background warmed up)
//   hold: 100ms                  time each allocation is held before cma_release()
//   area: reserved               the CMA area ("" or absent: the profile's first)
//   align: dma | N               dma: get_order(size) as the DMA API; N: an order
//   timeout: 0                   the caller gives up after this long (0: never)
struct ForegroundSpec {
  std::vector<uint64_t> sizes;  // pages
  uint32_t per_size = 1;
  bool shuffled = true;
  bool poisson = false;
  double rate = 5;
  sim::Duration start = sim::kSec;
  sim::Duration hold = 100 * sim::kMs;
  std::string area;
  std::optional<uint32_t> align;  // nullopt: DmaAlignOrder()
  sim::Duration timeout = 0;

  uint64_t calls() const { return sizes.size() * uint64_t{per_size}; }
};

// Errors are "LINE: field.key: message" lines (the spec parser's nested
// form); limits keep one workload to at most 1e6 calls of at most 2^32 pages.
StatusOr<ForegroundSpec> ParseForegroundSpec(const YAML::Node& node, const std::string& field);

// The calls of `spec`, drawn from `rng` (order and arrivals). Deterministic.
Foreground GenerateForeground(const ForegroundSpec& spec, sim::Rng rng);

// Canonical text of a foreground (every field, in order) for digests.
std::string CanonicalForegroundText(const Foreground& f);

}  // namespace kreplay::memory
