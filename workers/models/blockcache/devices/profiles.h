// Shipped device profiles: the numbers behind "hdd-7200", "ssd-sata", ...
//
// Profiles are data (a table in profiles.cc), not code paths: HddModel and
// SsdModel read every figure from these structs, so a new drive is one more
// table row. The figures are typical of the class of drive, not of one
// product; each row's description says where they come from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "services/core/status.h"

namespace kreplay::blockcache {

// A rotating disk. Seek times are fitted to a + b*sqrt(d) below a knee and
// linear above it (Ruemmler & Wilkes, "An introduction to disk drive
// modeling", 1994), through the three datasheet figures.
struct HddProfile {
  uint64_t capacity_bytes = 0;
  int rpm = 7200;
  int heads = 8;                     // recording surfaces: sets cylinders = capacity / (heads * track)
  int zones = 16;                    // stepped zones, equal cylinder counts, outer zone first
  double single_track_seek_ms = 0.8; // seek over one cylinder
  double average_seek_ms = 8.5;      // mean seek between two uniformly random sectors
  double full_stroke_seek_ms = 17.0; // outermost to innermost cylinder
  double outer_rate_mb_s = 220;      // media rate of the outermost zone (MB = 1e6 bytes)
  double inner_rate_mb_s = 110;      // media rate of the innermost zone
  int64_t overhead_ns = 100'000;     // command overhead per IO, overlapped with a busy drive's work
  uint64_t readahead_bytes = 2 << 20; // drive read-ahead segment for one sequential read stream (0: off)
};

// A flash SSD: channels x chips x dies, pages striped over dies. Planes are
// counted for capacity only (multi-plane operations are not modelled).
struct SsdProfile {
  uint64_t capacity_bytes = 0;        // user capacity
  int channels = 8;
  int chips_per_channel = 4;
  int dies_per_chip = 2;
  int planes_per_die = 2;
  uint32_t page_bytes = 8192;
  uint32_t pages_per_block = 256;
  int64_t read_ns = 75'000;           // tR: array to page register
  int64_t program_ns = 750'000;       // tPROG
  int64_t erase_ns = 3'800'000;       // tBERS
  double channel_rate_mb_s = 333;     // flash bus (ONFI) transfer rate per channel
  double host_rate_mb_s = 550;        // host link (SATA 6 Gb/s payload ~550 MB/s)
  int64_t overhead_ns = 20'000;       // command processing per IO
  double overprovisioning = 0.07;     // spare / user capacity
  // Garbage collection. 0: no FTL GC is modelled (programs cost tPROG only,
  // bytes_written are host writes). > 1: once the host has written the whole
  // physical space once, every page program also pays (wa - 1) page
  // relocations (tR + tPROG) and wa / pages_per_block erases on its die.
  double gc_write_amplification = 0;
};

enum class DeviceKind { kHdd, kSsd };

struct DeviceProfile {
  std::string name;
  DeviceKind kind = DeviceKind::kHdd;
  std::string description;
  // The block layer's logical block size (BLKSSZGET): the smallest unit the
  // device addresses. 512 B for every shipped profile: 512e HDDs, SATA SSDs,
  // and NVMe drives in their usual 512 B LBA format. make-bcache's default
  // block size derives from it (bcache's `block_size` parameter).
  uint32_t logical_block_bytes = 512;
  HddProfile hdd;  // kind == kHdd
  SsdProfile ssd;  // kind == kSsd
};

// The shipped profiles, in a fixed order. The table is immutable.
const std::vector<DeviceProfile>& DeviceProfiles();
// nullptr if unknown.
const DeviceProfile* FindDeviceProfile(std::string_view name);
// "hdd-5400, hdd-7200, ..." for error messages and help text.
std::string DeviceProfileNames();

}  // namespace kreplay::blockcache
