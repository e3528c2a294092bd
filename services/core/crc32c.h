// CRC32C (Castagnoli), as used by Kafka record batches and iSCSI; guards each
// trace chunk end to end.
#pragma once

#include <cstdint>
#include <string_view>

namespace kreplay {

// Extends `crc` (0 to start) over `data`.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace kreplay
