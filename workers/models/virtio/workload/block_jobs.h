// fio-like block jobs for a virtio-blk device: `numjobs` submitting threads,
// each keeping up to `iodepth` requests in flight (closed loop, fio without
// --rate_iops) or issuing at a rate (open loop, fio's --rate_iops), with
// fio's access patterns (`rw=`), read/write mix (`rwmixread=`) and block
// size split (`bs=` / `bssplit=`).
//
// YAML form (the value of a study's `virtio_block:` key):
//   virtio_block:
//     rw: randread       # read | write | randread | randwrite | randrw | rw (default read, as fio)
//     rwmixread: 70      # percent reads for randrw and rw, 0..100 (default 50, as fio)
//     bs: 4KiB           # or size -> weight, e.g. {4KiB: 70, 64KiB: 30}; multiples of 512 B,
//                        #   512 B .. 16 MiB (default 4KiB, as fio)
//     iodepth: 32        # 1..4096 (default 1, as fio)
//     numjobs: 1         # 1..256 (default 1)
//     size: 1GiB         # span of the device the offsets cover, >= the largest bs,
//                        #   <= 64 TiB, a multiple of 512 B (default 1 GiB)
//     ios: 100000        # per job, or
//     runtime: 1s        #   (with rate_iops > 0) the job issues ceil(runtime x rate_iops) ios
//     rate_iops: 0       # per job, <= 1e9; 0: closed loop; > 0: open loop
//     arrivals: uniform  # uniform (fio's rate_iops: evenly spaced) | poisson (exponential gaps)
// Exactly one of `ios` and `runtime` is required; ios x numjobs is at most
// kMaxWorkloadItems.
//
// Generation (GenerateBlockJobs): job j draws from its own stream
// sim::Rng(seed).Fork(j), split into sub-streams (Fork(1) sizes, Fork(2)
// directions, Fork(3) offsets, Fork(4) arrivals) so that, e.g., changing
// rwmixread changes no offset. Per io, in order:
//   - bytes: one draw from the bs mix (none for a single size);
//   - write: rw=read/randread never, write/randwrite always, rw/randrw one
//     Bernoulli(1 - rwmixread/100);
//   - offset, a multiple of the smallest bs (fio's default blockalign for
//     bssplit) with offset + bytes <= size:
//       random: uniform over the aligned positions that fit;
//       sequential: job j starts at j x size / numjobs (aligned down) and
//       each io follows the previous one (offset += bytes); an io that would
//       cross `size` wraps to 0, as fio loops over a file. rw= keeps one
//       cursor for reads and writes (fio keeps one per direction; a
//       simplification that keeps a mixed stream sequential as a whole).
//   - at: closed loop -1; open loop, io i of the job at round(i x 1e9 /
//     rate_iops) (uniform) or at the running sum of exponential gaps of mean
//     1e9 / rate_iops starting at 0 (poisson).
// Simplified: no think time, no ramp, no zoned/zipf offset distributions
// (services/blocktrace/synth.h has those for the block cache family).
//
// Thread-safety: pure functions.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>

#include "services/core/status.h"
#include "workers/models/virtio/workload/size_mix.h"
#include "workers/models/virtio/workload/virtio_workload.h"

namespace kreplay::virtio {

// fio's rw= patterns.
enum class BlockRw : uint8_t { kRead, kWrite, kRandRead, kRandWrite, kRandRw, kRw };
const char* BlockRwName(BlockRw rw);  // fio's name: "randread"

inline constexpr uint32_t kMaxBlockIodepth = 4096;
inline constexpr uint32_t kMaxBlockJobs = 256;
inline constexpr uint32_t kMaxBlockSize = 16u << 20;
inline constexpr uint64_t kMaxBlockSpan = uint64_t{64} << 40;  // 64 TiB

struct BlockJobSpec {
  BlockRw rw = BlockRw::kRead;
  uint32_t rwmixread = 50;  // percent
  SizeMix bs{{{4096, 1.0}}};
  uint32_t iodepth = 1;
  uint32_t numjobs = 1;
  uint64_t size = uint64_t{1} << 30;
  uint64_t ios = 0;      // per job; 0 when runtime is given
  int64_t runtime = 0;   // ns; > 0 only with rate_iops > 0 (then ios derives from it)
  double rate_iops = 0;  // per job; 0: closed loop
  bool poisson = false;  // open-loop arrivals: exponential gaps instead of even spacing

  // ios per job: `ios`, or ceil(runtime x rate_iops).
  uint64_t ios_per_job() const;
  bool operator==(const BlockJobSpec&) const = default;
};

// Errors are InvalidArgument "LINE: field.key: message" (the spec parser's
// nested form).
StatusOr<BlockJobSpec> ParseBlockJobSpec(const YAML::Node& node, const std::string& field);

// The jobs of `spec` (kind kBlock, device_bytes = spec.size). Deterministic
// for (spec, seed) on every machine. REQUIRES: `spec` as ParseBlockJobSpec
// validates it.
VirtioWorkload GenerateBlockJobs(const BlockJobSpec& spec, uint64_t seed);

}  // namespace kreplay::virtio
