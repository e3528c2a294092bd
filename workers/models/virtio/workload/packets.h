// Packet streams for a virtio-net device: Ethernet frames the guest sends
// (TX) or receives (RX), at saturation or at a rate, in bursts, over a
// number of flows.
//
// YAML form (the value of a study's `virtio_net:` key):
//   virtio_net:
//     size: 64           # frame bytes 60..9018, or size -> weight ({64: 7, 1518: 1}), or
//                        #   imix: the simple IMIX, 64/594/1518 bytes in 7:4:1 (default 64)
//     direction: tx      # tx | rx | both (default tx)
//     rx_fraction: 0.5   # both: each packet is RX with this probability (default 0.5)
//     packets: 1000000   # 1 .. kMaxWorkloadItems (required)
//     rate_pps: 0        # packets per second, <= 1e9; 0: saturation (every at = -1)
//     arrivals: uniform  # uniform | poisson: the spacing of arrival instants (open loop)
//     burst: 1           # packets arriving back-to-back (the same `at`) at each instant,
//                        #   1..4096; instants come at rate_pps / burst (default 1)
//     flows: 1           # flow ids 0..flows-1, 1..65536 (default 1)
//     flow_pick: round_robin  # round_robin (packet i: flow i mod flows) | uniform (seeded)
//
// Frame sizes count the Ethernet header and payload as the virtio-net
// device carries them, without the 12-byte virtio_net_hdr. 60 is the
// shortest frame Ethernet sends (64 on the wire less the 4-byte FCS), 9018
// a 9000-byte-MTU jumbo frame with its header and FCS.
//
// The simple IMIX: 7 packets of 64 bytes, 4 of 594 and 1 of 1518 (IP
// packets of 40, 576 and 1500 bytes in Ethernet frames, FCS counted), the
// "Simple IMIX" of the traffic-generator vendors (Spirent, Ixia/Keysight),
// tabulated at https://en.wikipedia.org/wiki/Internet_Mix; RFC 6985 ("IMIX
// Genome", 2013) gives a notation for such fixed mixes but no standard mix
// of its own. The sizes are kept as the vendors give them (with the FCS,
// which the virtio-net frame does not carry), so results compare with those
// tools' IMIX numbers.
//
// Generation (GeneratePackets): streams sim::Rng(seed).Fork(1) sizes,
// Fork(2) directions, Fork(3) flows, Fork(4) arrivals. Per packet: a size
// draw (none for a single size), a Bernoulli(rx_fraction) for `both`, a
// uniform flow draw for flow_pick uniform; per burst instant k: at = round(k
// x burst x 1e9 / rate_pps) (uniform), or the running sum of exponential
// gaps of mean burst x 1e9 / rate_pps from 0 (poisson).
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

inline constexpr uint32_t kMinFrameBytes = 60;
inline constexpr uint32_t kMaxFrameBytes = 9018;
inline constexpr uint32_t kMaxBurst = 4096;
inline constexpr uint32_t kMaxFlows = 65536;  // PacketIo::flow is a u16

// The simple IMIX (see above).
SizeMix SimpleImix();

enum class PacketDirection : uint8_t { kTx, kRx, kBoth };

struct PacketSpec {
  SizeMix size{{{64, 1.0}}};
  PacketDirection direction = PacketDirection::kTx;
  double rx_fraction = 0.5;  // kBoth only
  uint64_t packets = 0;
  double rate_pps = 0;       // 0: saturation
  bool poisson = false;
  uint32_t burst = 1;
  uint32_t flows = 1;
  bool flow_uniform = false;  // false: round robin
  bool operator==(const PacketSpec&) const = default;
};

// Errors are InvalidArgument "LINE: field.key: message".
StatusOr<PacketSpec> ParsePacketSpec(const YAML::Node& node, const std::string& field);

// The packets of `spec` (kind kNet). Deterministic for (spec, seed).
// REQUIRES: `spec` as ParsePacketSpec validates it.
VirtioWorkload GeneratePackets(const PacketSpec& spec, uint64_t seed);

}  // namespace kreplay::virtio
