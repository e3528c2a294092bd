// SsdModel: service time of a flash SSD with channels x chips x dies.
//
// Logical pages (offset / page_bytes) are striped over dies statically,
// channel first (page p -> die p mod dies, channel die mod channels), so
// consecutive pages land on different channels. Each die and each channel
// has a busy-until time; a request touches every page it covers:
// - read:  die busy tR, then the page (only the bytes requested) crosses
//          its channel; the data then crosses the host link.
// - write: the data crosses the host link, each page crosses its channel,
//          then the die programs it (tPROG). The write completes when the
//          last page is programmed: no DRAM write buffer is modelled.
// Every IO pays the command overhead first. Planes count for capacity only.
//
// FTL: the mapping is static (no out-of-place writes). With
// gc_write_amplification = 0 (every shipped profile) no garbage collection
// is modelled and bytes_written() are host writes. With wa > 1, once the
// host has written the physical capacity once, each page program adds the
// amortised GC cost (wa - 1) * (tR + tPROG) + wa / pages_per_block * tBERS to
// its die, and media_bytes_written() counts the relocated pages too.
//
// Thread-safety: none; one simulation owns a device.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "workers/models/blockcache/devices/device.h"
#include "workers/models/blockcache/devices/profiles.h"

namespace kreplay::blockcache {

class SsdModel final : public Device {
 public:
  static StatusOr<std::unique_ptr<SsdModel>> Create(std::string name, const SsdProfile& profile,
                                                    uint64_t capacity_override_bytes = 0);

  int64_t Submit(int64_t now_ns, bool write, uint64_t offset, uint32_t bytes) override;
  std::string_view profile() const override { return name_; }
  uint64_t capacity_bytes() const override { return capacity_; }
  uint64_t bytes_written() const override { return bytes_written_; }

  // Host writes plus GC relocations (equals bytes_written() without GC).
  uint64_t media_bytes_written() const { return media_bytes_written_; }
  int dies() const { return static_cast<int>(die_busy_.size()); }
  int channels() const { return static_cast<int>(channel_busy_.size()); }
  // Channel / host-link time of `bytes`, ns (rounded up).
  int64_t ChannelNs(uint64_t bytes) const;
  int64_t HostNs(uint64_t bytes) const;
  const SsdProfile& params() const { return p_; }
  // Extra die time per page program once GC is active (0 without GC).
  int64_t gc_cost_per_program_ns() const { return gc_ns_; }
  bool gc_active() const { return gc_ns_ > 0 && host_pages_programmed_ >= physical_pages_; }

 private:
  SsdModel() = default;

  std::string name_;
  SsdProfile p_;
  uint64_t capacity_ = 0;
  uint64_t physical_pages_ = 0;
  int64_t gc_ns_ = 0;
  std::vector<int64_t> die_busy_;
  std::vector<int64_t> channel_busy_;
  int64_t host_busy_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t media_bytes_written_ = 0;
  uint64_t host_pages_programmed_ = 0;
  double gc_relocated_pages_ = 0;  // fractional, carried between programs
};

}  // namespace kreplay::blockcache
