#include "workers/models/blockcache/devices/ssd.h"

#include <algorithm>
#include <cmath>

namespace kreplay::blockcache {
namespace {

Status Bad(const std::string& field, const std::string& why) {
  return InvalidArgument("ssd profile: " + field + ": " + why);
}

int64_t BytesAtRate(uint64_t bytes, double mb_s) {
  return static_cast<int64_t>(std::ceil(static_cast<double>(bytes) * 1e3 / mb_s));  // 1e9 ns / 1e6 B
}

}  // namespace

StatusOr<std::unique_ptr<SsdModel>> SsdModel::Create(std::string name, const SsdProfile& p,
                                                     uint64_t capacity_override_bytes) {
  if (p.channels < 1 || p.channels > 256) return Bad("channels", "must be in [1, 256]");
  if (p.chips_per_channel < 1 || p.dies_per_chip < 1 || p.planes_per_die < 1) {
    return Bad("chips_per_channel", "chips, dies and planes must be >= 1");
  }
  if (p.page_bytes < 512 || p.page_bytes % 512 != 0) return Bad("page_bytes", "must be a multiple of 512");
  if (p.pages_per_block < 1) return Bad("pages_per_block", "must be >= 1");
  if (p.read_ns <= 0 || p.program_ns <= 0 || p.erase_ns <= 0) return Bad("read_ns", "flash latencies must be > 0");
  if (!(p.channel_rate_mb_s > 0) || !(p.host_rate_mb_s > 0)) return Bad("channel_rate_mb_s", "rates must be > 0");
  if (p.overhead_ns < 0) return Bad("overhead_ns", "must be >= 0");
  if (!(p.overprovisioning > 0) || p.overprovisioning > 4) return Bad("overprovisioning", "must be in (0, 4]");
  if (p.gc_write_amplification != 0 && !(p.gc_write_amplification >= 1)) {
    return Bad("gc_write_amplification", "must be 0 (no GC) or >= 1");
  }
  uint64_t capacity = capacity_override_bytes ? capacity_override_bytes : p.capacity_bytes;
  if (capacity < p.page_bytes) return Bad("capacity_bytes", "must hold at least one page");

  std::unique_ptr<SsdModel> m(new SsdModel());
  m->name_ = std::move(name);
  m->p_ = p;
  m->capacity_ = capacity;
  m->physical_pages_ = static_cast<uint64_t>(
      std::ceil(static_cast<double>(capacity) * (1 + p.overprovisioning) / p.page_bytes));
  int dies = p.channels * p.chips_per_channel * p.dies_per_chip;
  m->die_busy_.assign(static_cast<size_t>(dies), 0);
  m->channel_busy_.assign(static_cast<size_t>(p.channels), 0);
  if (p.gc_write_amplification > 1) {
    double wa = p.gc_write_amplification;
    m->gc_ns_ = static_cast<int64_t>(std::llround((wa - 1) * static_cast<double>(p.read_ns + p.program_ns) +
                                                  wa / p.pages_per_block * static_cast<double>(p.erase_ns)));
  }
  return m;
}

int64_t SsdModel::ChannelNs(uint64_t bytes) const { return BytesAtRate(bytes, p_.channel_rate_mb_s); }
int64_t SsdModel::HostNs(uint64_t bytes) const { return BytesAtRate(bytes, p_.host_rate_mb_s); }

int64_t SsdModel::Submit(int64_t now_ns, bool write, uint64_t offset, uint32_t bytes) {
  const int64_t start = now_ns + p_.overhead_ns;
  if (bytes == 0) return start;
  const uint64_t page = p_.page_bytes;
  const uint64_t first = offset / page, last = (offset + bytes - 1) / page;
  const auto ndies = static_cast<uint64_t>(die_busy_.size());
  const auto nchan = static_cast<uint64_t>(channel_busy_.size());

  if (write) {
    const bool gc = gc_active();  // decided per request, before its pages count
    // Host link first: the whole request's data arrives, then pages go out.
    int64_t arrived = std::max(start, host_busy_) + HostNs(bytes);
    host_busy_ = arrived;
    int64_t done = arrived;
    for (uint64_t pg = first; pg <= last; ++pg) {
      uint64_t lo = std::max(offset, pg * page), hi = std::min(offset + bytes, (pg + 1) * page);
      size_t die = static_cast<size_t>(pg % ndies), ch = static_cast<size_t>(pg % ndies % nchan);
      int64_t xfer = std::max({arrived, channel_busy_[ch], die_busy_[die]});
      channel_busy_[ch] = xfer + ChannelNs(hi - lo);
      int64_t programmed = channel_busy_[ch] + p_.program_ns;
      if (gc) programmed += gc_ns_;
      die_busy_[die] = programmed;
      done = std::max(done, programmed);
      ++host_pages_programmed_;
    }
    bytes_written_ += bytes;
    media_bytes_written_ += bytes;
    if (gc) {
      // Relocated pages, whole pages, carried fractionally for exact totals.
      gc_relocated_pages_ += static_cast<double>(last - first + 1) * (p_.gc_write_amplification - 1);
      auto whole = static_cast<uint64_t>(gc_relocated_pages_);
      gc_relocated_pages_ -= static_cast<double>(whole);
      media_bytes_written_ += whole * page;
    }
    return done;
  }

  int64_t ready = start;
  for (uint64_t pg = first; pg <= last; ++pg) {
    uint64_t lo = std::max(offset, pg * page), hi = std::min(offset + bytes, (pg + 1) * page);
    size_t die = static_cast<size_t>(pg % ndies), ch = static_cast<size_t>(pg % ndies % nchan);
    int64_t sensed = std::max(start, die_busy_[die]) + p_.read_ns;
    int64_t xfer = std::max(sensed, channel_busy_[ch]);
    channel_busy_[ch] = xfer + ChannelNs(hi - lo);
    die_busy_[die] = channel_busy_[ch];  // the page register holds the data until it is out
    ready = std::max(ready, channel_busy_[ch]);
  }
  int64_t done = std::max(ready, host_busy_) + HostNs(bytes);
  host_busy_ = done;
  return done;
}

}  // namespace kreplay::blockcache
