// Block device service-time models (HDD, SSD) for the block cache family.
//
// A Device answers one question: an IO submitted at simulated time `now`
// completes when? It keeps its own queue state (busy-until per actuator,
// channel or die), so callers submit in non-decreasing time and read the
// completion time back; they never own device time themselves.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "services/core/status.h"

namespace kreplay::sim {
class Histogram;
}

namespace kreplay::blockcache {

class Device {
 public:
  virtual ~Device() = default;

  // Submits one IO of `bytes` at byte `offset`, issued at `now_ns`.
  // Returns its completion time (>= now_ns).
  // REQUIRES: now_ns is not earlier than the previous call's now_ns;
  //           offset + bytes <= capacity_bytes().
  virtual int64_t Submit(int64_t now_ns, bool write, uint64_t offset, uint32_t bytes) = 0;

  virtual std::string_view profile() const = 0;  // shipped profile name, e.g. "hdd-7200"
  virtual uint64_t capacity_bytes() const = 0;
  // Bytes written to the media so far (host writes; no FTL write amplification
  // unless the model says it has one).
  virtual uint64_t bytes_written() const = 0;

  // Seek distances (in cylinders, one value per IO, 0 for no seek) for
  // devices that have a head; nullptr otherwise. Owned by the device.
  virtual const sim::Histogram* seek_distance_histogram() const { return nullptr; }
};

// A fresh device of a shipped profile ("hdd-7200", "hdd-5400", "hdd-15k",
// "ssd-sata", "ssd-nvme"; see profiles.h). capacity_override_bytes = 0 keeps
// the profile's capacity. NotFound lists the known profiles.
// Defined in kreplay::blockdev.
StatusOr<std::unique_ptr<Device>> MakeDevice(std::string_view profile,
                                             uint64_t capacity_override_bytes = 0);

}  // namespace kreplay::blockcache
