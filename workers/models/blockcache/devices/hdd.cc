#include "workers/models/blockcache/devices/hdd.h"

#include <algorithm>
#include <cmath>

namespace kreplay::blockcache {
namespace {

constexpr uint64_t kSector = 512;
// Angular units: one revolution is kRev units, and the platter turns rpm
// units per ns (kRev = ns per minute), so positions stay exact integers.
constexpr uint64_t kRev = 60'000'000'000ULL;
// Rounding the wait and transfer up to whole ns leaves the head a few units
// past a sector boundary it reached exactly; closer than this (in ns of
// rotation) still counts as on time, else every sequential IO would wait a
// full revolution. A sector passes in ~2 us, so 16 ns is far below it.
constexpr uint64_t kOnTimeNs = 16;
// Bins of the cylinder range used to average the seek curve when fitting.
constexpr int kFitBins = 1024;

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

Status Bad(const std::string& field, const std::string& why) {
  return InvalidArgument("hdd profile: " + field + ": " + why);
}

}  // namespace

StatusOr<std::unique_ptr<HddModel>> HddModel::Create(std::string name, const HddProfile& p,
                                                     uint64_t capacity_override_bytes) {
  if (p.capacity_bytes < (uint64_t{1} << 30)) return Bad("capacity_bytes", "must be at least 1 GiB");
  if (p.rpm < 1000 || p.rpm > 20000) return Bad("rpm", "must be in [1000, 20000]");
  if (p.heads < 1 || p.heads > 64) return Bad("heads", "must be in [1, 64]");
  if (p.zones < 1 || p.zones > 256) return Bad("zones", "must be in [1, 256]");
  if (!(p.single_track_seek_ms > 0)) return Bad("single_track_seek_ms", "must be > 0");
  if (!(p.average_seek_ms > p.single_track_seek_ms)) return Bad("average_seek_ms", "must exceed single_track_seek_ms");
  if (!(p.full_stroke_seek_ms > p.average_seek_ms)) return Bad("full_stroke_seek_ms", "must exceed average_seek_ms");
  if (!(p.inner_rate_mb_s > 0) || !(p.outer_rate_mb_s >= p.inner_rate_mb_s)) {
    return Bad("outer_rate_mb_s", "rates must be positive, outer >= inner");
  }
  if (p.overhead_ns < 0) return Bad("overhead_ns", "must be >= 0");
  uint64_t capacity = (capacity_override_bytes ? capacity_override_bytes : p.capacity_bytes) / kSector * kSector;
  if (capacity == 0) return Bad("capacity", "override is below one sector");

  std::unique_ptr<HddModel> m(new HddModel());
  m->name_ = std::move(name);
  m->capacity_ = capacity;
  m->rpm_ = p.rpm;
  m->overhead_ns_ = p.overhead_ns;
  m->readahead_bytes_ = p.readahead_bytes;

  // Geometry from the profile's own capacity: the stroke (cylinder count)
  // is a property of the drive family; an override scales sectors/cylinder.
  std::vector<uint64_t> spt(static_cast<size_t>(p.zones));
  uint64_t spt_sum = 0;
  for (int z = 0; z < p.zones; ++z) {
    double frac = p.zones == 1 ? 0.0 : static_cast<double>(z) / (p.zones - 1);
    double rate = (p.outer_rate_mb_s + (p.inner_rate_mb_s - p.outer_rate_mb_s) * frac) * 1e6;
    spt[static_cast<size_t>(z)] = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(rate * 60.0 / (p.rpm * 512.0))));
    spt_sum += spt[static_cast<size_t>(z)];
  }
  uint64_t profile_sectors = p.capacity_bytes / kSector;
  uint64_t per_zone_cyl = CeilDiv(profile_sectors, static_cast<uint64_t>(p.heads) * spt_sum);
  m->cylinders_ = per_zone_cyl * static_cast<uint64_t>(p.zones);
  if (m->cylinders_ < 16) return Bad("capacity_bytes", "gives fewer than 16 cylinders");
  double scale = static_cast<double>(capacity) / static_cast<double>(p.capacity_bytes);
  uint64_t sector = 0;
  for (int z = 0; z < p.zones; ++z) {
    Zone zone;
    zone.first_sector = sector;
    zone.first_cylinder = per_zone_cyl * static_cast<uint64_t>(z);
    zone.sectors_per_track = spt[static_cast<size_t>(z)];
    zone.sectors_per_cylinder = std::max<uint64_t>(
        1, static_cast<uint64_t>(std::ceil(static_cast<double>(zone.sectors_per_track * static_cast<uint64_t>(p.heads)) * scale)));
    sector += per_zone_cyl * zone.sectors_per_cylinder;
    m->zones_.push_back(zone);
  }

  // Seek-curve fit. Pair-distance weights over kFitBins bins of the stroke,
  // each bin weighted by the sectors it holds (uniformly random sectors, not
  // cylinders: outer cylinders hold more of them).
  const double n = static_cast<double>(m->cylinders_);
  std::vector<double> w(kFitBins);
  for (int i = 0; i < kFitBins; ++i) {
    auto cyl = static_cast<uint64_t>((i + 0.5) * n / kFitBins);
    auto it = std::upper_bound(m->zones_.begin(), m->zones_.end(), cyl,
                               [](uint64_t c, const Zone& zz) { return c < zz.first_cylinder; });
    w[static_cast<size_t>(i)] = static_cast<double>(std::prev(it)->sectors_per_cylinder);
  }
  std::vector<double> pair(kFitBins, 0.0);
  double total = 0;
  for (int i = 0; i < kFitBins; ++i) {
    for (int j = 0; j < kFitBins; ++j) {
      double ww = w[static_cast<size_t>(i)] * w[static_cast<size_t>(j)];
      pair[static_cast<size_t>(std::abs(i - j))] += ww;
      total += ww;
    }
  }
  const double bin = n / kFitBins;
  const double t1 = p.single_track_seek_ms * 1e6, tf = p.full_stroke_seek_ms * 1e6;
  const double target = p.average_seek_ms * 1e6;
  HddModel* mm = m.get();
  auto set_knee = [&](double knee) {
    double s = std::sqrt(knee);
    mm->knee_ = knee;
    mm->b_ = (tf - t1) / (s / 2 + (n - 1) / (2 * s) - 1);
    mm->a_ = t1 - mm->b_;
    mm->e_ = mm->b_ / (2 * s);
    mm->c_ = mm->a_ + mm->b_ * s / 2;
  };
  auto average = [&]() {
    double sum = 0;
    for (int k = 0; k < kFitBins; ++k) {
      double d = k == 0 ? bin / 3 : k * bin;  // mean |x - y| inside one bin is width / 3
      sum += pair[static_cast<size_t>(k)] * mm->SeekCurve(d);
    }
    return sum / total;
  };
  double lo = 1, hi = n - 1;
  set_knee(lo);
  double avg_lo = average();
  set_knee(hi);
  double avg_hi = average();
  if (target <= avg_lo) {
    set_knee(lo);
  } else if (target < avg_hi) {
    // Bisection on log(knee); the average rises with the knee (a longer
    // concave part), and the endpoints bracket the target.
    for (int it = 0; it < 100; ++it) {
      double mid = std::sqrt(lo * hi);
      set_knee(mid);
      (average() < target ? lo : hi) = mid;
    }
    set_knee(std::sqrt(lo * hi));
  }
  m->fitted_avg_ns_ = average();
  return m;
}

double HddModel::SeekCurve(double d) const {
  if (d <= 0) return 0;
  return d < knee_ ? a_ + b_ * std::sqrt(d) : c_ + e_ * d;
}

int64_t HddModel::SeekNs(uint64_t distance) const {
  return static_cast<int64_t>(std::llround(SeekCurve(static_cast<double>(distance))));
}

HddModel::Position HddModel::Locate(uint64_t offset) const {
  uint64_t lba = offset / kSector;
  auto it = std::upper_bound(zones_.begin(), zones_.end(), lba,
                             [](uint64_t s, const Zone& z) { return s < z.first_sector; });
  const Zone* z = &*std::prev(it);
  uint64_t idx = lba - z->first_sector;
  uint64_t cyl = std::min(cylinders_ - 1, z->first_cylinder + idx / z->sectors_per_cylinder);
  return Position{cyl, (idx % z->sectors_per_cylinder) % z->sectors_per_track, z};
}

uint64_t HddModel::CylinderOf(uint64_t offset) const { return Locate(offset).cylinder; }

int64_t HddModel::TransferNs(uint64_t offset, uint32_t bytes) const {
  if (bytes == 0) return 0;
  uint64_t sectors = CeilDiv(offset % kSector + bytes, kSector);
  const Zone* z = Locate(offset).zone;
  return static_cast<int64_t>(CeilDiv(sectors * kRev, z->sectors_per_track * static_cast<uint64_t>(rpm_)));
}

double HddModel::mean_media_rate() const {
  uint64_t cap_sectors = capacity_ / kSector;
  double weighted = 0;
  for (size_t i = 0; i < zones_.size(); ++i) {
    uint64_t begin = zones_[i].first_sector;
    uint64_t end = i + 1 < zones_.size() ? zones_[i + 1].first_sector : UINT64_MAX;
    if (begin >= cap_sectors) break;
    double sectors = static_cast<double>(std::min(end, cap_sectors) - begin);
    weighted += sectors * static_cast<double>(zones_[i].sectors_per_track) * 512.0 * static_cast<double>(rpm_) / 60.0;
  }
  return weighted / static_cast<double>(cap_sectors);
}

int64_t HddModel::Submit(int64_t now_ns, bool write, uint64_t offset, uint32_t bytes) {
  const int64_t start = std::max(now_ns + overhead_ns_, busy_until_);
  Position pos = Locate(offset);
  uint64_t distance = pos.cylinder > head_cylinder_ ? pos.cylinder - head_cylinder_ : head_cylinder_ - pos.cylinder;
  const uint64_t end_sector = CeilDiv(offset + bytes, kSector);

  if (!write && bytes > 0 && offset / kSector == ra_next_sector_) {
    // Continues the read stream. The segment holds what the head streamed
    // since ra_time_, up to readahead_bytes; the IO completes when its last
    // sector has streamed past (now, if it is already buffered).
    const int64_t xfer = TransferNs(offset, bytes);
    const int64_t buffer_ns = TransferNs(offset, static_cast<uint32_t>(std::min<uint64_t>(readahead_bytes_, UINT32_MAX)));
    if (start - ra_time_ <= buffer_ns || xfer <= buffer_ns) {
      int64_t done = std::max(start, ra_time_ + xfer);
      // Segment full before the IO: streaming resumes as the IO drains it.
      ra_time_ = start - ra_time_ > buffer_ns ? start - (buffer_ns - xfer) : ra_time_ + xfer;
      ra_next_sector_ = end_sector;
      seek_hist_.Record(0);
      busy_until_ = done;
      head_cylinder_ = CylinderOf(offset + bytes - 1);
      return done;
    }
  }

  seek_hist_.Record(static_cast<int64_t>(distance));
  int64_t t = start + SeekNs(distance);
  // Rotational wait from the platter angle when the seek ends.
  const auto rpm = static_cast<uint64_t>(rpm_);
  uint64_t angle_now = (static_cast<uint64_t>(t) % kRev) * rpm % kRev;
  uint64_t angle_target = pos.sector_in_track * kRev / pos.zone->sectors_per_track;
  uint64_t late = (angle_now + kRev - angle_target) % kRev;  // how far the head is past the target
  if (late > kOnTimeNs * rpm) {
    t += static_cast<int64_t>(CeilDiv(kRev - late, rpm));
  }
  t += TransferNs(offset, bytes);

  busy_until_ = t;
  head_cylinder_ = bytes ? CylinderOf(offset + bytes - 1) : pos.cylinder;
  if (write) {
    bytes_written_ += bytes;
    ra_next_sector_ = kNoStream;
  } else if (bytes > 0 && readahead_bytes_ > 0) {
    ra_next_sector_ = end_sector;
    ra_time_ = t;
  }
  return t;
}

}  // namespace kreplay::blockcache
