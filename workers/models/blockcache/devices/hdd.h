// HddModel: service time of a rotating disk with one actuator and a FIFO queue.
//
//   T = overhead + seek(|cylinder distance|) + rotational wait + transfer
//
// - seek(d) = a + b*sqrt(d) for d < knee, c + e*d above (continuous with a
//   continuous slope), fitted at construction so that seek(1) is the
//   single-track time, seek(cylinders - 1) the full stroke and the mean over
//   pairs of uniformly random sectors the average seek time.
// - Rotation is deterministic: the platter angle is a function of simulated
//   time (angle 0 at t = 0), the target sector's angle is its index on the
//   track; the wait is the angle still to turn when the seek ends. No RNG.
// - Stepped zones (outer zone first, equal cylinder counts): sectors per track
//   fall linearly from the outer to the inner rate; transfer takes
//   sectors / sectors_per_track revolutions at the start zone's density.
// - Queue: FIFO, one IO at a time (no command reordering, no write cache:
//   writes cost the same as reads). The command overhead of a queued IO
//   overlaps the IO ahead of it (start = max(arrival + overhead, busy)).
// - Read-ahead: after a read the drive keeps streaming the following sectors
//   into a readahead_bytes segment while idle, so a read that continues the
//   last read (one stream) is served from the segment or from the still
//   streaming head, without a seek or a rotational wait. A write ends it.
// - Not modelled: head and track switch times and cylinder skew (a
//   sequential IO crossing a cylinder pays a single-track seek and waits for
//   sector 0), several read-ahead segments, command reordering (NCQ).
//
// A capacity override keeps the stroke (cylinder count), seek curve and zone
// rates and scales the sectors per cylinder (fewer or more platters).
//
// Thread-safety: none; one simulation owns a device.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "services/sim/histogram.h"
#include "workers/models/blockcache/devices/device.h"
#include "workers/models/blockcache/devices/profiles.h"

namespace kreplay::blockcache {

class HddModel final : public Device {
 public:
  // InvalidArgument naming the field when the profile is inconsistent
  // (e.g. seek times not increasing, rates not positive).
  static StatusOr<std::unique_ptr<HddModel>> Create(std::string name, const HddProfile& profile,
                                                    uint64_t capacity_override_bytes = 0);

  int64_t Submit(int64_t now_ns, bool write, uint64_t offset, uint32_t bytes) override;
  std::string_view profile() const override { return name_; }
  uint64_t capacity_bytes() const override { return capacity_; }
  uint64_t bytes_written() const override { return bytes_written_; }
  const sim::Histogram* seek_distance_histogram() const override { return &seek_hist_; }

  // Model internals, exposed for tests and for reports.
  const sim::Histogram& seek_distances() const { return seek_hist_; }
  uint64_t cylinders() const { return cylinders_; }
  uint64_t CylinderOf(uint64_t offset) const;
  // Seek time over `distance` cylinders (0 for 0), ns.
  int64_t SeekNs(uint64_t distance) const;
  // Mean seek over pairs of uniformly random sectors under the fitted curve
  // (equals the profile's average unless it was outside the reachable range).
  double fitted_average_seek_ns() const { return fitted_avg_ns_; }
  // One revolution, ns (not an integer: 60e9 / rpm).
  double revolution_ns() const { return 60e9 / rpm_; }
  // Time to transfer `bytes` starting at `offset` (at that zone's density).
  int64_t TransferNs(uint64_t offset, uint32_t bytes) const;
  // Capacity-weighted mean media rate, bytes/s (what uniform random IO sees).
  double mean_media_rate() const;

 private:
  struct Zone {
    uint64_t first_sector;    // LBA of the zone's first sector
    uint64_t first_cylinder;
    uint64_t sectors_per_track;
    uint64_t sectors_per_cylinder;
  };
  struct Position {
    uint64_t cylinder;
    uint64_t sector_in_track;
    const Zone* zone;
  };

  HddModel() = default;
  Position Locate(uint64_t offset) const;
  double SeekCurve(double d) const;

  std::string name_;
  uint64_t capacity_ = 0;
  int64_t rpm_ = 0;
  int64_t overhead_ns_ = 0;
  uint64_t cylinders_ = 0;
  std::vector<Zone> zones_;
  // Fitted seek curve, ns.
  double a_ = 0, b_ = 0, c_ = 0, e_ = 0, knee_ = 0;
  double fitted_avg_ns_ = 0;

  int64_t busy_until_ = 0;
  uint64_t head_cylinder_ = 0;
  // Read-ahead stream: the next sector after the last read, and the time the
  // (virtually) streaming head passes it; kNoStream when there is none.
  static constexpr uint64_t kNoStream = UINT64_MAX;
  uint64_t ra_next_sector_ = kNoStream;
  int64_t ra_time_ = 0;
  uint64_t readahead_bytes_ = 0;
  uint64_t bytes_written_ = 0;
  sim::Histogram seek_hist_;
};

}  // namespace kreplay::blockcache
