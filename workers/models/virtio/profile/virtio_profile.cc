#include "workers/models/virtio/profile/virtio_profile.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "services/core/embedded_text.h"
#include "services/core/strings.h"
#include "services/yamlread/yaml_reader.h"

namespace kreplay::virtio {
namespace internal {
extern const EmbeddedText kEmbeddedTexts[];
extern const int kEmbeddedTextCount;
}  // namespace internal

namespace {

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string G17(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::set<std::string> Keys(std::initializer_list<const char*> keys) { return {keys.begin(), keys.end()}; }

}  // namespace

const std::vector<VirtioCostField>& VirtioCostFields() {
  static const std::vector<VirtioCostField> kFields = {
      {"vm_exit", "vm_exit_ns", &VirtioProfile::vm_exit_ns},
      {"ioeventfd", "ioeventfd_ns", &VirtioProfile::ioeventfd_ns},
      {"irq_inject", "irq_inject_ns", &VirtioProfile::irq_inject_ns},
      {"posted_irq", "posted_irq_ns", &VirtioProfile::posted_irq_ns},
      {"eoi_exit", "eoi_exit_ns", &VirtioProfile::eoi_exit_ns},
      {"host_irq", "host_irq_ns", &VirtioProfile::host_irq_ns},
      {"doorbell_mmio", "doorbell_mmio_ns", &VirtioProfile::doorbell_mmio_ns},
      {"pcie_read", "pcie_read_ns", &VirtioProfile::pcie_read_ns},
      {"syscall", "syscall_ns", &VirtioProfile::syscall_ns},
      {"eventfd_signal", "eventfd_signal_ns", &VirtioProfile::eventfd_signal_ns},
      {"eventfd_wake", "eventfd_wake_ns", &VirtioProfile::eventfd_wake_ns},
      {"futex_wake", "futex_wake_ns", &VirtioProfile::futex_wake_ns},
      {"context_switch", "context_switch_ns", &VirtioProfile::context_switch_ns},
      {"workqueue_hop", "workqueue_hop_ns", &VirtioProfile::workqueue_hop_ns},
      {"task_work", "task_work_ns", &VirtioProfile::task_work_ns},
      {"io_uring_enter", "io_uring_enter_ns", &VirtioProfile::io_uring_enter_ns},
      {"cacheline_transfer", "cacheline_transfer_ns", &VirtioProfile::cacheline_transfer_ns},
      {"atomic", "atomic_ns", &VirtioProfile::atomic_ns},
      {"iova_alloc", "iova_alloc_ns", &VirtioProfile::iova_alloc_ns},
      {"page_pin", "page_pin_ns", &VirtioProfile::page_pin_ns},
      {"page_alloc", "page_alloc_ns", &VirtioProfile::page_alloc_ns},
      {"blk_submit", "blk_submit_ns", &VirtioProfile::blk_submit_ns},
      {"blk_complete", "blk_complete_ns", &VirtioProfile::blk_complete_ns},
      {"net_tx_stack", "net_tx_stack_ns", &VirtioProfile::net_tx_stack_ns},
      {"net_rx_stack", "net_rx_stack_ns", &VirtioProfile::net_rx_stack_ns},
      {"tap", "tap_ns", &VirtioProfile::tap_ns},
      {"dpdk_burst", "dpdk_burst_ns", &VirtioProfile::dpdk_burst_ns},
      {"mbuf", "mbuf_ns", &VirtioProfile::mbuf_ns},
  };
  return kFields;
}

std::vector<std::string> VirtioSourceFields() {
  std::vector<std::string> out = {"cpus", "cpu_ghz", "nested", "memcpy"};
  for (const VirtioCostField& c : VirtioCostFields()) out.emplace_back(c.name);
  return out;
}

double VirtioProfile::MemcpyNs(uint64_t bytes, bool cold) const {
  KREPLAY_CHECK(memcpy.size() >= 2, "VirtioProfile::MemcpyNs: fewer than two memcpy points in '" + name + "'");
  if (bytes == 0) return 0;
  auto cost = [cold](const MemcpyPoint& m) { return cold ? m.cold_ns : m.hot_ns; };
  const double b = static_cast<double>(bytes);
  const MemcpyPoint& first = memcpy.front();
  if (bytes <= first.bytes) {
    const double scale = b / static_cast<double>(first.bytes);
    return std::max(cost(first) * scale, first.hot_ns * scale);
  }
  const MemcpyPoint& last = memcpy.back();
  if (bytes >= last.bytes) {
    const MemcpyPoint& prev = memcpy[memcpy.size() - 2];
    const double slope = (cost(last) - cost(prev)) / static_cast<double>(last.bytes - prev.bytes);
    // A profile whose cost falls with size at the top would extrapolate
    // below zero; no copy costs less than nothing.
    return std::max(0.0, cost(last) + (b - static_cast<double>(last.bytes)) * slope);
  }
  // The segment [lo, hi] with lo.bytes < bytes < hi.bytes (or == hi.bytes).
  auto hi = std::lower_bound(memcpy.begin(), memcpy.end(), bytes,
                             [](const MemcpyPoint& m, uint64_t v) { return m.bytes < v; });
  auto lo = hi - 1;
  const double t = (b - static_cast<double>(lo->bytes)) / static_cast<double>(hi->bytes - lo->bytes);
  return cost(*lo) + t * (cost(*hi) - cost(*lo));
}

StatusOr<VirtioProfile> ParseVirtioProfileYaml(std::string_view yaml, const std::string& source_name) {
  yamlread::YamlReader r(source_name);
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node root, r.Load(yaml));
  KREPLAY_RETURN_IF_ERROR(
      r.CheckKeys(root, "<document>",
                  Keys({"name", "description", "source", "cpus", "cpu_ghz", "nested", "costs", "memcpy", "sources"})));
  VirtioProfile p;
  KREPLAY_ASSIGN_OR_RETURN(p.name, r.String(root, "name", "name"));
  if (root["description"].IsDefined() && !root["description"].IsNull()) {
    KREPLAY_ASSIGN_OR_RETURN(p.description, r.String(root, "description", "description", /*allow_empty=*/true));
  }
  KREPLAY_ASSIGN_OR_RETURN(p.source, r.String(root, "source", "source"));
  KREPLAY_ASSIGN_OR_RETURN(int64_t cpus, r.Int(root, "cpus", "cpus", 1, 4096));
  p.cpus = static_cast<int>(cpus);
  KREPLAY_ASSIGN_OR_RETURN(p.cpu_ghz, r.Number(root, "cpu_ghz", "cpu_ghz", 0, 100));
  KREPLAY_ASSIGN_OR_RETURN(p.nested, r.Bool(root, "nested", "nested"));

  KREPLAY_ASSIGN_OR_RETURN(YAML::Node costs, r.Child(root, "costs", "costs"));
  std::set<std::string> cost_keys;
  for (const VirtioCostField& c : VirtioCostFields()) {
    cost_keys.insert(c.key);
  }
  KREPLAY_RETURN_IF_ERROR(r.CheckKeys(costs, "costs", cost_keys));
  for (const VirtioCostField& c : VirtioCostFields()) {
    KREPLAY_ASSIGN_OR_RETURN(p.*c.field, r.Number(costs, c.key, std::string("costs.") + c.key));
  }

  KREPLAY_ASSIGN_OR_RETURN(YAML::Node points, r.List(root, "memcpy", "memcpy"));
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string f = "memcpy[" + std::to_string(i) + "]";
    const YAML::Node& n = points[i];
    KREPLAY_RETURN_IF_ERROR(r.CheckKeys(n, f, Keys({"bytes", "hot", "cold"})));
    MemcpyPoint m;
    KREPLAY_ASSIGN_OR_RETURN(int64_t bytes, r.Int(n, "bytes", f + ".bytes", 1, std::numeric_limits<uint32_t>::max()));
    m.bytes = static_cast<uint32_t>(bytes);
    KREPLAY_ASSIGN_OR_RETURN(m.hot_ns, r.Number(n, "hot", f + ".hot"));
    KREPLAY_ASSIGN_OR_RETURN(m.cold_ns, r.Number(n, "cold", f + ".cold"));
    if (m.cold_ns < m.hot_ns) {
      return r.Error(n["cold"], f + ".cold", "must be >= hot (" + FormatDouble(m.hot_ns) + ")");
    }
    if (!p.memcpy.empty() && m.bytes <= p.memcpy.back().bytes) {
      return r.Error(n["bytes"], f + ".bytes",
                     "must be greater than the previous point's (" + std::to_string(p.memcpy.back().bytes) + ")");
    }
    p.memcpy.push_back(m);
  }
  constexpr uint32_t kMinFirst = 64, kMinLast = 1u << 20;
  if (p.memcpy.size() < 2 || p.memcpy.front().bytes > kMinFirst || p.memcpy.back().bytes < kMinLast) {
    return r.Error(points, "memcpy",
                   "needs at least two points covering " + std::to_string(kMinFirst) + " B .. 1 MiB (first bytes <= " +
                       std::to_string(kMinFirst) + ", last >= " + std::to_string(kMinLast) + ")");
  }

  YAML::Node sources = root["sources"];
  if (sources.IsDefined() && !sources.IsNull()) {
    const std::vector<std::string> names = VirtioSourceFields();
    KREPLAY_RETURN_IF_ERROR(r.CheckKeys(sources, "sources", std::set<std::string>(names.begin(), names.end())));
    for (auto it = sources.begin(); it != sources.end(); ++it) {
      const std::string key = it->first.Scalar();
      KREPLAY_ASSIGN_OR_RETURN(p.sources[key], r.String(sources, key, "sources." + key));
    }
  }
  return p;
}

std::string VirtioProfileYaml(const VirtioProfile& p) {
  std::string y;
  y += "name: " + Quote(p.name) + "\n";
  y += "description: " + Quote(p.description) + "\n";
  y += "source: " + Quote(p.source) + "\n";
  y += "cpus: " + std::to_string(p.cpus) + "\n";
  y += "cpu_ghz: " + FormatDouble(p.cpu_ghz) + "\n";
  y += std::string("nested: ") + (p.nested ? "true" : "false") + "\n";
  y += "costs:  # ns\n";
  for (const VirtioCostField& c : VirtioCostFields())
    y += std::string("  ") + c.key + ": " + FormatDouble(p.*c.field) + "\n";
  y += "memcpy:  # ns per copy\n";
  for (const MemcpyPoint& m : p.memcpy) {
    y += "  - {bytes: " + std::to_string(m.bytes) + ", hot: " + FormatDouble(m.hot_ns) +
         ", cold: " + FormatDouble(m.cold_ns) + "}\n";
  }
  if (!p.sources.empty()) {
    y += "sources:\n";
    for (const auto& [k, v] : p.sources) y += "  " + k + ": " + Quote(v) + "\n";
  }
  return y;
}

std::string CanonicalVirtioProfileText(const VirtioProfile& p) {
  std::string out = "kreplay-virtioprofile v1\n";
  out += "profile name=" + std::to_string(p.name.size()) + ":" + p.name + " cpus=" + std::to_string(p.cpus) +
         " cpu_ghz=" + G17(p.cpu_ghz) + " nested=" + (p.nested ? "1" : "0") + "\n";
  out += "costs";
  for (const VirtioCostField& c : VirtioCostFields()) out += std::string(" ") + c.name + "=" + G17(p.*c.field);
  out += "\n";
  for (const MemcpyPoint& m : p.memcpy) {
    out += "memcpy bytes=" + std::to_string(m.bytes) + " hot_ns=" + G17(m.hot_ns) + " cold_ns=" + G17(m.cold_ns) + "\n";
  }
  return out;
}

std::vector<std::string> BuiltinVirtioProfileNames() {
  std::vector<std::string> out;
  for (int i = 0; i < internal::kEmbeddedTextCount; ++i) out.emplace_back(internal::kEmbeddedTexts[i].name);
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<std::string> BuiltinVirtioProfileYaml(const std::string& name) {
  for (int i = 0; i < internal::kEmbeddedTextCount; ++i) {
    if (name == internal::kEmbeddedTexts[i].name) return std::string(internal::kEmbeddedTexts[i].text);
  }
  return NotFound("unknown virtio profile '" + name + "'" + DidYouMean(name, BuiltinVirtioProfileNames()) +
                  "; known: " + Join(BuiltinVirtioProfileNames(), ", "));
}

StatusOr<VirtioProfile> LoadBuiltinVirtioProfile(const std::string& name) {
  KREPLAY_ASSIGN_OR_RETURN(std::string text, BuiltinVirtioProfileYaml(name));
  return ParseVirtioProfileYaml(text, name + ".yaml");
}

}  // namespace kreplay::virtio
