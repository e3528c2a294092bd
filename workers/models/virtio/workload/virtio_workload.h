// What the virtio datapath family replays: block requests submitted by
// fio-like jobs to a virtio-blk device, or Ethernet frames crossing a
// virtio-net device. Value types only; the generators (block_jobs.h,
// packets.h) and importers (pcap_reader.h, from_block_trace.h) build them,
// the codec (virtio/codec/virtio_trace.h) carries them to workers, and the
// simulator reads them.
//
// Thread-safety: plain values; the functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kreplay::virtio {

// At most this many block ios (all jobs together) or packets in one
// workload: what one study entry or one imported file may cost a worker
// (16-24 bytes each in memory, so about 1.2 GB at the limit).
inline constexpr uint64_t kMaxWorkloadItems = 50'000'000;

struct BlockIo {
  // Open loop: issue time in ns since the start of the run. -1: closed loop
  // (issued as soon as one of the job's iodepth slots frees, as fio does
  // without --rate_iops).
  int64_t at = -1;
  uint64_t offset = 0;  // bytes from the start of the device
  uint32_t bytes = 0;
  bool write = false;
  bool operator==(const BlockIo&) const = default;
};

// One fio job: one submitting thread with up to `iodepth` requests in
// flight, submitting `ios` in order.
struct BlockJob {
  uint32_t iodepth = 1;
  std::vector<BlockIo> ios;
  bool operator==(const BlockJob&) const = default;
};

struct PacketIo {
  // Arrival (RX) or send (TX) time in ns; -1: as fast as the datapath
  // accepts it (saturation).
  int64_t at = -1;
  uint32_t bytes = 0;     // Ethernet frame bytes, without the 12-byte virtio_net_hdr
  uint16_t flow = 0;
  bool to_guest = false;  // false: the guest transmits (TX); true: the guest receives (RX)
  bool operator==(const PacketIo&) const = default;
};

enum class WorkloadKind : uint8_t { kBlock, kNet };
const char* WorkloadKindName(WorkloadKind k);  // "block", "net"

struct VirtioWorkload {
  WorkloadKind kind = WorkloadKind::kBlock;
  std::vector<BlockJob> jobs;     // kBlock
  uint64_t device_bytes = 0;      // kBlock: every io lies in [0, device_bytes)
  std::vector<PacketIo> packets;  // kNet: in non-decreasing `at` (all -1 for saturation)
  bool operator==(const VirtioWorkload&) const = default;
};

// Block ios over all jobs.
uint64_t VirtioWorkloadIos(const VirtioWorkload& w);

// Approximate bytes `w` holds in memory, for the family table's caches
// (family::TypedAssembler's `bytes`).
uint64_t VirtioWorkloadBytes(const VirtioWorkload& w);

// Content digest, lowercase hex SHA-256 over every field in a fixed-width
// little-endian layout under the tag "kreplay.virtio_workload.v1": kind
// (u8), device_bytes (u64), job count (u64), each job's iodepth (u32) and io
// count (u64) then its ios {at i64, offset u64, bytes u32, write u8}, packet
// count (u64), packets {at i64, bytes u32, flow u16, to_guest u8}. Names
// the workload in result keys whatever generated or carried it.
std::string VirtioWorkloadDigest(const VirtioWorkload& w);

}  // namespace kreplay::virtio
