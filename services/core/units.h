// Quantities written in configuration files: durations ("10ms") and byte
// sizes ("64MiB"), parsed exactly.
#pragma once

#include <cstdint>
#include <string>

#include "services/core/status.h"

namespace kreplay {

// "10ms" -> 10'000'000. Accepts ns, us, ms, s, min; a bare integer is ns;
// decimals are exact ("1.5ms") and must resolve to whole ns.
StatusOr<int64_t> ParseDuration(const std::string& text);

// "4KiB" -> 4096. Suffixes B, KiB, MiB, GiB, TiB (also K, M, G, T); plain
// integers are bytes.
StatusOr<uint64_t> ParseByteSize(const std::string& text);

}  // namespace kreplay
