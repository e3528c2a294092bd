#include "workers/models/memory/profiles/mem_profile.h"

#include <algorithm>
#include <set>

#include "services/core/embedded_text.h"
#include "services/core/strings.h"
#include "services/yamlread/yaml_reader.h"

namespace kreplay::memory {
namespace internal {
extern const EmbeddedText kEmbeddedTexts[];
extern const int kEmbeddedTextCount;
}  // namespace internal

namespace {

constexpr uint64_t kPagesPerMib = 256;  // 4 KiB pages
constexpr int64_t kMaxCostNs = 1'000'000'000;

struct CostField {
  const char* key;
  int64_t MemCosts::*field;
};
constexpr CostField kCostFields[] = {
    {"copy_page_hot", &MemCosts::copy_page_hot},       {"copy_page_cold", &MemCosts::copy_page_cold},
    {"page_fault", &MemCosts::page_fault},             {"unmap_pte", &MemCosts::unmap_pte},
    {"tlb_flush_local", &MemCosts::tlb_flush_local},   {"tlb_remote", &MemCosts::tlb_remote},
    {"ipi", &MemCosts::ipi},                           {"drop_clean_page", &MemCosts::drop_clean_page},
    {"map_pte", &MemCosts::map_pte},                   {"alloc_page", &MemCosts::alloc_page},
    {"isolate_pageblock", &MemCosts::isolate_pageblock},
};

const char* TlbName(TlbFlush t) { return t == TlbFlush::kIpi ? "ipi" : "broadcast"; }

}  // namespace

StatusOr<MemProfile> ParseMemProfileYaml(std::string_view yaml_text, const std::string& source_name) {
  yamlread::YamlReader r(source_name);
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node root, r.Load(yaml_text));
  KREPLAY_RETURN_IF_ERROR(r.RequireMap(root, "<document>"));
  MemProfile p;
  KREPLAY_ASSIGN_OR_RETURN(p.name, r.String(root, "name", "name"));
  KREPLAY_ASSIGN_OR_RETURN(p.description, r.String(root, "description", "description"));
  KREPLAY_ASSIGN_OR_RETURN(p.source, r.String(root, "source", "source"));
  KREPLAY_ASSIGN_OR_RETURN(p.arch, r.String(root, "arch", "arch"));
  if (p.arch != "arm" && p.arch != "arm64" && p.arch != "x86_64") {
    return r.Error(root["arch"], "arch", "expected arm, arm64 or x86_64, got '" + p.arch + "'");
  }
  // A run keeps about 22 bytes per simulated page (docs/models/memory.md):
  // 256 GiB is some 1.5 GB per run, the most one request may cost.
  constexpr int64_t kMaxMib = int64_t{256} << 10;
  KREPLAY_ASSIGN_OR_RETURN(int64_t mib, r.Int(root, "memory_mib", "memory_mib", 16, kMaxMib));
  p.pages = static_cast<uint64_t>(mib) * kPagesPerMib;
  KREPLAY_ASSIGN_OR_RETURN(int64_t cpus, r.Int(root, "cpus", "cpus", 1, 1024));
  p.cpus = static_cast<int>(cpus);
  KREPLAY_ASSIGN_OR_RETURN(int64_t max_order, r.Int(root, "max_order", "max_order", 1, 12));
  KREPLAY_ASSIGN_OR_RETURN(int64_t pb, r.Int(root, "pageblock_order", "pageblock_order", 1, max_order));
  p.max_order = static_cast<int>(max_order);
  p.pageblock_order = static_cast<int>(pb);
  KREPLAY_ASSIGN_OR_RETURN(std::string tlb, r.String(root, "tlb_flush", "tlb_flush"));
  if (tlb != "ipi" && tlb != "broadcast") return r.Error(root["tlb_flush"], "tlb_flush", "expected ipi or broadcast");
  p.tlb = tlb == "ipi" ? TlbFlush::kIpi : TlbFlush::kBroadcast;
  KREPLAY_ASSIGN_OR_RETURN(p.mem_bandwidth_mbps,
                           r.Number(root, "mem_bandwidth_mbps", "mem_bandwidth_mbps", 1, 1e7));
  KREPLAY_ASSIGN_OR_RETURN(int64_t mfk, r.Int(root, "min_free_kbytes", "min_free_kbytes", 0, int64_t{1} << 30));
  p.min_free_kbytes = static_cast<uint64_t>(mfk);
  KREPLAY_ASSIGN_OR_RETURN(int64_t wsf,
                           r.Int(root, "watermark_scale_factor", "watermark_scale_factor", 1, 3000));
  p.watermark_scale_factor = static_cast<uint32_t>(wsf);

  KREPLAY_ASSIGN_OR_RETURN(YAML::Node costs, r.Child(root, "costs_ns", "costs_ns"));
  KREPLAY_RETURN_IF_ERROR(r.RequireMap(costs, "costs_ns"));
  for (const CostField& c : kCostFields) {
    std::string f = std::string("costs_ns.") + c.key;
    KREPLAY_ASSIGN_OR_RETURN(p.costs.*c.field, r.Int(costs, c.key, f, 1, kMaxCostNs));
  }
  for (const auto& kv : costs) {
    std::string k = kv.first.Scalar();
    bool known = false;
    for (const CostField& c : kCostFields) known = known || k == c.key;
    if (!known) return r.Error(kv.first, "costs_ns." + k, "unknown cost");
  }

  KREPLAY_ASSIGN_OR_RETURN(YAML::Node wb, r.Child(root, "writeback", "writeback"));
  KREPLAY_RETURN_IF_ERROR(r.RequireMap(wb, "writeback"));
  KREPLAY_ASSIGN_OR_RETURN(p.writeback.bandwidth_mbps,
                           r.Number(wb, "bandwidth_mbps", "writeback.bandwidth_mbps", 0.01, 1e6));
  KREPLAY_ASSIGN_OR_RETURN(int64_t lat_us, r.Int(wb, "latency_us", "writeback.latency_us", 0, 10'000'000));
  p.writeback.latency_ns = lat_us * 1000;

  YAML::Node areas = root["cma_areas"];
  if (areas.IsDefined() && !areas.IsNull()) {
    if (!areas.IsSequence()) return r.Error(areas, "cma_areas", "expected a list");
    std::set<std::string> names;
    uint64_t total = 0;
    for (size_t i = 0; i < areas.size(); ++i) {
      std::string f = "cma_areas[" + std::to_string(i) + "]";
      const YAML::Node& a = areas[i];
      KREPLAY_RETURN_IF_ERROR(r.RequireMap(a, f));
      CmaArea area;
      KREPLAY_ASSIGN_OR_RETURN(area.name, r.String(a, "name", f + ".name"));
      if (!names.insert(area.name).second) return r.Error(a, f + ".name", "duplicate CMA area '" + area.name + "'");
      KREPLAY_ASSIGN_OR_RETURN(int64_t amib, r.Int(a, "mib", f + ".mib", 1, mib));
      area.pages = static_cast<uint64_t>(amib) * kPagesPerMib;
      // cma_init_reserved_mem(): the size must be a multiple of the
      // pageblock (of the MAX_ORDER block before 5.19; the model uses the
      // pageblock, which 5.19+ requires).
      if (area.pages % p.pageblock_pages() != 0) {
        return r.Error(a["mib"], f + ".mib",
                       "must be a multiple of the pageblock (" + std::to_string(p.pageblock_pages() / kPagesPerMib) +
                           " MiB at pageblock_order " + std::to_string(p.pageblock_order) + ")");
      }
      KREPLAY_ASSIGN_OR_RETURN(int64_t opb, r.Int(a, "order_per_bit", f + ".order_per_bit", 0, p.max_order));
      area.order_per_bit = static_cast<uint32_t>(opb);
      total += area.pages;
      p.cma_areas.push_back(std::move(area));
    }
    if (total >= p.pages) return r.Error(areas, "cma_areas", "the CMA areas take all of memory_mib");
  }
  return p;
}

std::string MemProfileYaml(const MemProfile& p) {
  auto q = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    return out + "\"";
  };
  std::string y;
  y += "name: " + q(p.name) + "\n";
  y += "description: " + q(p.description) + "\n";
  y += "source: " + q(p.source) + "\n";
  y += "arch: " + p.arch + "\n";
  y += "memory_mib: " + std::to_string(p.pages / kPagesPerMib) + "\n";
  y += "cpus: " + std::to_string(p.cpus) + "\n";
  y += "pageblock_order: " + std::to_string(p.pageblock_order) + "\n";
  y += "max_order: " + std::to_string(p.max_order) + "\n";
  y += std::string("tlb_flush: ") + TlbName(p.tlb) + "\n";
  y += "mem_bandwidth_mbps: " + FormatDouble(p.mem_bandwidth_mbps) + "\n";
  y += "min_free_kbytes: " + std::to_string(p.min_free_kbytes) + "\n";
  y += "watermark_scale_factor: " + std::to_string(p.watermark_scale_factor) + "\n";
  y += "costs_ns:\n";
  for (const CostField& c : kCostFields) y += std::string("  ") + c.key + ": " + std::to_string(p.costs.*c.field) + "\n";
  y += "writeback:\n";
  y += "  bandwidth_mbps: " + FormatDouble(p.writeback.bandwidth_mbps) + "\n";
  y += "  latency_us: " + std::to_string(p.writeback.latency_ns / 1000) + "\n";
  if (!p.cma_areas.empty()) {
    y += "cma_areas:\n";
    for (const CmaArea& a : p.cma_areas) {
      y += "  - {name: " + q(a.name) + ", mib: " + std::to_string(a.pages / kPagesPerMib) +
           ", order_per_bit: " + std::to_string(a.order_per_bit) + "}\n";
    }
  }
  return y;
}

std::string CanonicalMemProfileText(const MemProfile& p) {
  auto lp = [](const std::string& s) { return std::to_string(s.size()) + ":" + s; };
  std::string out = "kreplay-memprofile v1\n";
  out += "profile name=" + lp(p.name) + " arch=" + lp(p.arch) + " pages=" + std::to_string(p.pages) +
         " cpus=" + std::to_string(p.cpus) + " pageblock_order=" + std::to_string(p.pageblock_order) +
         " max_order=" + std::to_string(p.max_order) + " tlb=" + TlbName(p.tlb) +
         " mem_bandwidth_mbps=" + FormatDouble(p.mem_bandwidth_mbps) + " min_free_kbytes=" +
         std::to_string(p.min_free_kbytes) + " watermark_scale_factor=" + std::to_string(p.watermark_scale_factor) + "\n";
  out += "costs";
  for (const CostField& c : kCostFields) out += std::string(" ") + c.key + "=" + std::to_string(p.costs.*c.field);
  out += "\nwriteback bandwidth_mbps=" + FormatDouble(p.writeback.bandwidth_mbps) +
         " latency_ns=" + std::to_string(p.writeback.latency_ns) + "\n";
  for (const CmaArea& a : p.cma_areas) {
    out += "cma name=" + lp(a.name) + " pages=" + std::to_string(a.pages) +
           " order_per_bit=" + std::to_string(a.order_per_bit) + "\n";
  }
  return out;
}

std::vector<std::string> BuiltinMemProfileNames() {
  std::vector<std::string> out;
  for (int i = 0; i < internal::kEmbeddedTextCount; ++i) out.emplace_back(internal::kEmbeddedTexts[i].name);
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<std::string> BuiltinMemProfileYaml(const std::string& name) {
  for (int i = 0; i < internal::kEmbeddedTextCount; ++i) {
    if (name == internal::kEmbeddedTexts[i].name) return std::string(internal::kEmbeddedTexts[i].text);
  }
  return NotFound("unknown memory profile '" + name + "'; known: " + Join(BuiltinMemProfileNames(), ", "));
}

StatusOr<MemProfile> LoadBuiltinMemProfile(const std::string& name) {
  KREPLAY_ASSIGN_OR_RETURN(std::string text, BuiltinMemProfileYaml(name));
  return ParseMemProfileYaml(text, name + ".yaml");
}

}  // namespace kreplay::memory
