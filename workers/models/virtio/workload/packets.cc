#include "workers/models/virtio/workload/packets.h"

#include <cmath>

#include "services/yamlread/yaml_reader.h"

namespace kreplay::virtio {

SizeMix SimpleImix() { return SizeMix{{{64, 7.0}, {594, 4.0}, {1518, 1.0}}}; }

StatusOr<PacketSpec> ParsePacketSpec(const YAML::Node& node, const std::string& field) {
  const yamlread::YamlReader r("");
  PacketSpec s;
  KREPLAY_RETURN_IF_ERROR(r.CheckKeys(node, field,
                                      {"size", "direction", "rx_fraction", "packets", "rate_pps", "arrivals", "burst",
                                       "flows", "flow_pick"}));
  if (node["size"]) {
    const YAML::Node n = node["size"];
    if (n.IsScalar() && n.Scalar() == "imix") {
      s.size = SimpleImix();
    } else {
      KREPLAY_ASSIGN_OR_RETURN(s.size, ParseSizeMix(r, n, field + ".size", {kMinFrameBytes, kMaxFrameBytes, 1}));
    }
  }
  if (node["direction"]) {
    KREPLAY_ASSIGN_OR_RETURN(std::string d, r.String(node, "direction", field + ".direction"));
    if (d == "tx") {
      s.direction = PacketDirection::kTx;
    } else if (d == "rx") {
      s.direction = PacketDirection::kRx;
    } else if (d == "both") {
      s.direction = PacketDirection::kBoth;
    } else {
      return r.Error(node["direction"], field + ".direction", "unknown '" + d + "' (allowed: tx, rx, both)");
    }
  }
  if (node["rx_fraction"]) {
    if (s.direction != PacketDirection::kBoth)
      return r.Error(node["rx_fraction"], field + ".rx_fraction", "only with direction: both");
    KREPLAY_ASSIGN_OR_RETURN(s.rx_fraction, r.Number(node, "rx_fraction", field + ".rx_fraction", 0, 1));
  }
  KREPLAY_ASSIGN_OR_RETURN(int64_t packets, r.Int(node, "packets", field + ".packets", 1,
                                                  static_cast<int64_t>(kMaxWorkloadItems)));
  s.packets = static_cast<uint64_t>(packets);
  if (node["rate_pps"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.rate_pps, r.Number(node, "rate_pps", field + ".rate_pps", 0, 1e9));
  }
  KREPLAY_ASSIGN_OR_RETURN(s.poisson, ParseArrivals(r, node, field, s.rate_pps, "rate_pps", "saturation has"));
  if (node["burst"]) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t b, r.Int(node, "burst", field + ".burst", 1, kMaxBurst));
    if (b > 1 && s.rate_pps == 0)
      return r.Error(node["burst"], field + ".burst", "needs rate_pps > 0 (at saturation every packet is back-to-back)");
    s.burst = static_cast<uint32_t>(b);
  }
  if (node["flows"]) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t f, r.Int(node, "flows", field + ".flows", 1, kMaxFlows));
    s.flows = static_cast<uint32_t>(f);
  }
  if (node["flow_pick"]) {
    KREPLAY_ASSIGN_OR_RETURN(std::string p, r.String(node, "flow_pick", field + ".flow_pick"));
    if (p != "round_robin" && p != "uniform")
      return r.Error(node["flow_pick"], field + ".flow_pick", "unknown '" + p + "' (allowed: round_robin, uniform)");
    s.flow_uniform = p == "uniform";
  }
  return s;
}

VirtioWorkload GeneratePackets(const PacketSpec& spec, uint64_t seed) {
  const sim::Rng root(seed);
  sim::Rng sizes = root.Fork(1), dirs = root.Fork(2), flows = root.Fork(3), arrivals = root.Fork(4);
  VirtioWorkload w;
  w.kind = WorkloadKind::kNet;
  w.packets.resize(spec.packets);
  const double gap_ns = spec.rate_pps > 0 ? spec.burst * 1e9 / spec.rate_pps : 0;
  ArrivalClock clock(gap_ns, spec.poisson, arrivals);
  int64_t burst_at = 0;
  for (uint64_t i = 0; i < spec.packets; ++i) {
    PacketIo& p = w.packets[i];
    p.bytes = spec.size.Pick(sizes);
    switch (spec.direction) {
      case PacketDirection::kTx:
        p.to_guest = false;
        break;
      case PacketDirection::kRx:
        p.to_guest = true;
        break;
      case PacketDirection::kBoth:
        p.to_guest = dirs.Bernoulli(spec.rx_fraction);
        break;
    }
    p.flow = static_cast<uint16_t>(spec.flow_uniform ? flows.Below(spec.flows) : i % spec.flows);
    if (spec.rate_pps > 0) {
      if (i % spec.burst == 0) burst_at = clock.At(i / spec.burst);  // a burst's packets share its instant
      p.at = burst_at;
    } else {
      p.at = -1;
    }
  }
  return w;
}

}  // namespace kreplay::virtio
