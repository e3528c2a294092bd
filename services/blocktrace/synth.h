// Seeded synthetic block workloads: Zipf hot sets, sequential scans,
// sequential streams, read/write mixes, Poisson or fixed arrivals, composed as
// a weighted mixture. Same spec + seed gives the identical request vector on
// every machine: only sim::Rng, integer arithmetic and IEEE +-*/ (sim::DetLog/
// DetExp for the Zipf sampler and exponential gaps).
//
// YAML form (the value of a study's `block_synthetic:` key):
//   block_synthetic:
//     requests: 100000           # stop after this many requests, and/or
//     duration: 10s              # stop at this time (at least one is required)
//     arrival: {kind: poisson, rate: 5000}   # or fixed; rate in requests/s
//     components:                # non-empty; each request picks one by weight
//       - kind: zipf             # hot set: slot rank k drawn with p ~ 1/k^skew
//         weight: 3              # default 1 (> 0)
//         volume: 0              # default 0 (0..1023); volume i is named "synth<i>"
//         start: 0               # region start, bytes (default 0)
//         footprint: 1GiB        # region length (required, >= size)
//         size: 4KiB             # request size (default 4KiB, 512 B .. 16 MiB)
//         read_fraction: 0.7     # default 1
//         skew: 0.99             # zipf only, 0..5 (0 = uniform); default 0.99
//         scatter: true          # zipf only: spread hot ranks over the region (default true)
//       - kind: scan             # one cursor walking the region, wrapping at its end
//         footprint: 8GiB
//         size: 128KiB
//       - kind: stream           # `streams` cursors; each runs `run` bytes from a
//         streams: 4             #   random aligned start, then jumps (default 1)
//         run: 64MiB             # default: the whole region
//         footprint: 16GiB
// Sizes accept B, KiB, MiB, GiB, TiB suffixes or plain byte counts.
//
// Generation: request i's time comes from the arrival stream (rng.Fork(1)),
// its component from the choice stream (Fork(2)), and everything else from
// the chosen component's own stream (Fork(100 + index)): offset draw(s) first,
// then one Bernoulli for read/write. Offsets are multiples of `size` from
// `start`. Tasks: has_task_ids is true and the task is the component index + 1,
// so a scan is one task (what bcache's per-task sequential detection sees).
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/core/units.h"
#include "services/sim/rng.h"
#include "services/workload/block_workload.h"

namespace YAML {
class Node;
}

namespace kreplay::blocktrace {

// Zipf over ranks 1..n with P(k) = k^-s / H(n, s), by rejection-inversion
// (Hörmann & Derflinger 1996, "Rejection-inversion to generate variates from
// monotone discrete distributions"): O(1) memory and expected O(1) time for any
// n, deterministic given the Rng. REQUIRES: n >= 1, 0 <= s <= 5.
class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double s);
  uint64_t Sample(sim::Rng& rng) const;

 private:
  double H(double x) const;          // h(x) = x^-s
  double HIntegral(double x) const;  // integral of h: (x^(1-s) - 1) / (1 - s), log x at s = 1
  double HIntegralInverse(double x) const;
  uint64_t n_;
  double s_;
  double h_integral_x1_, h_integral_n_, cutoff_;
};

struct BlockSynthComponent {
  enum class Kind { kZipf, kScan, kStream };
  Kind kind = Kind::kZipf;
  double weight = 1.0;
  uint32_t volume = 0;
  uint64_t start = 0;
  uint64_t footprint = 0;
  uint32_t size = 4096;
  double read_fraction = 1.0;
  double skew = 0.99;
  bool scatter = true;
  uint32_t streams = 1;
  uint64_t run = 0;  // 0 = footprint
};

struct BlockSynthSpec {
  uint64_t requests = 0;     // 0 = unbounded (then duration_ns > 0)
  int64_t duration_ns = 0;   // 0 = unbounded (then requests > 0)
  bool poisson = true;
  double rate = 1000.0;      // requests per second, > 0
  std::vector<BlockSynthComponent> components;
};

// Errors: InvalidArgument "<line>: <field>.path: <what>" (1-based YAML line),
// like workload::ParseSynthSpec. Specs expanding to more than 1e8 requests
// (duration x rate) are rejected.
StatusOr<BlockSynthSpec> ParseBlockSynthSpec(const YAML::Node& node, const std::string& field);

// REQUIRES: `spec` as ParseBlockSynthSpec validates it.
workload::BlockWorkload GenerateBlockSynthetic(const BlockSynthSpec& spec, uint64_t seed);

using ::kreplay::ParseByteSize;  // services/core/units.h

}  // namespace kreplay::blocktrace
