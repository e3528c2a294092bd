#include "workers/models/virtio/ring/ring.h"

namespace kreplay::virtio {

const char* RingErrorName(RingError e) {
  switch (e) {
    case RingError::kFull: return "full";
    case RingError::kTooLong: return "too long";
    case RingError::kBadChain: return "bad chain";
  }
  return "?";
}

Status CheckQueueSize(uint32_t size, const std::string& field) {
  if (size == 0) return InvalidArgument(field + ": queue size must be > 0");
  if ((size & (size - 1)) != 0)
    return InvalidArgument(field + ": queue size " + std::to_string(size) + " is not a power of two");
  if (size > kMaxQueueSize)
    return InvalidArgument(field + ": queue size " + std::to_string(size) + " exceeds " +
                           std::to_string(kMaxQueueSize));
  return OkStatus();
}

}  // namespace kreplay::virtio
