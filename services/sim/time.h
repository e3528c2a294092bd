// Simulated time: integer nanoseconds. Never wall-clock time.
#pragma once

#include <cstdint>

namespace kreplay::sim {

using Time = int64_t;  // ns since the start of the run
using Duration = int64_t;

constexpr Time kNs = 1;
constexpr Time kUs = 1000;
constexpr Time kMs = 1000 * kUs;
constexpr Time kSec = 1000 * kMs;
constexpr Time kTimeMax = INT64_MAX;

}  // namespace kreplay::sim
