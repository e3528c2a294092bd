#include "workers/models/sched/platforms/platforms.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "services/core/strings.h"
#include "services/yamlread/yaml_reader.h"
#include "workers/models/sched/platforms/embedded.h"

namespace kreplay::platforms {
namespace {

using Reader = yamlread::YamlReader;

StatusOr<workload::Opp> ParseOpp(const Reader& r, const YAML::Node& n, const std::string& f) {
  if (!n.IsMap()) return r.Error(n, f, "expected a mapping");
  workload::Opp opp;
  KREPLAY_ASSIGN_OR_RETURN(int64_t khz, r.Int(n, "khz", f + ".khz", 1, 100'000'000));
  KREPLAY_ASSIGN_OR_RETURN(int64_t cap, r.Int(n, "capacity", f + ".capacity", 1, 1024));
  KREPLAY_ASSIGN_OR_RETURN(opp.cpu_power, r.Number(n, "cpu_power", f + ".cpu_power"));
  KREPLAY_ASSIGN_OR_RETURN(opp.cluster_power, r.Number(n, "cluster_power", f + ".cluster_power"));
  opp.khz = static_cast<uint64_t>(khz);
  opp.capacity = static_cast<uint32_t>(cap);
  return opp;
}

StatusOr<workload::IdleState> ParseIdle(const Reader& r, const YAML::Node& n, const std::string& f) {
  if (!n.IsMap()) return r.Error(n, f, "expected a mapping");
  workload::IdleState s;
  constexpr int64_t kMaxNs = 10'000'000'000;  // 10 s: anything longer is a unit mistake
  KREPLAY_ASSIGN_OR_RETURN(s.name, r.String(n, "name", f + ".name"));
  KREPLAY_ASSIGN_OR_RETURN(s.cpu_power, r.Number(n, "cpu_power", f + ".cpu_power"));
  KREPLAY_ASSIGN_OR_RETURN(s.cluster_power, r.Number(n, "cluster_power", f + ".cluster_power"));
  KREPLAY_ASSIGN_OR_RETURN(s.exit_latency_ns, r.Int(n, "exit_latency_ns", f + ".exit_latency_ns", 0, kMaxNs));
  KREPLAY_ASSIGN_OR_RETURN(s.min_residency_ns,
                           r.Int(n, "min_residency_ns", f + ".min_residency_ns", 0, kMaxNs));
  return s;
}

StatusOr<workload::Cluster> ParseCluster(const Reader& r, const YAML::Node& n, const std::string& f) {
  if (!n.IsMap()) return r.Error(n, f, "expected a mapping");
  workload::Cluster c;
  KREPLAY_ASSIGN_OR_RETURN(c.name, r.String(n, "name", f + ".name"));
  KREPLAY_ASSIGN_OR_RETURN(c.core, r.String(n, "core", f + ".core"));
  KREPLAY_ASSIGN_OR_RETURN(int64_t cpus, r.Int(n, "cpus", f + ".cpus", 1, 64));
  KREPLAY_ASSIGN_OR_RETURN(int64_t cap, r.Int(n, "capacity", f + ".capacity", 1, 1024));
  KREPLAY_ASSIGN_OR_RETURN(int64_t eff, r.Int(n, "cpu_efficiency", f + ".cpu_efficiency", 1, 1 << 20));
  KREPLAY_ASSIGN_OR_RETURN(c.big, r.Bool(n, "big", f + ".big"));
  KREPLAY_ASSIGN_OR_RETURN(c.dvfs_transition_ns,
                           r.Int(n, "dvfs_transition_ns", f + ".dvfs_transition_ns", 0, 1'000'000'000));
  c.cpus = static_cast<uint32_t>(cpus);
  c.capacity = static_cast<uint32_t>(cap);
  c.cpu_efficiency = static_cast<uint32_t>(eff);

  KREPLAY_ASSIGN_OR_RETURN(YAML::Node opps, r.List(n, "opps", f + ".opps"));
  for (size_t i = 0; i < opps.size(); ++i) {
    std::string of = f + ".opps[" + std::to_string(i) + "]";
    KREPLAY_ASSIGN_OR_RETURN(workload::Opp opp, ParseOpp(r, opps[i], of));
    if (!c.opps.empty()) {
      const workload::Opp& prev = c.opps.back();
      if (opp.khz <= prev.khz) return r.Error(opps[i], of + ".khz", "OPPs must be in ascending frequency");
      if (opp.capacity < prev.capacity) {
        return r.Error(opps[i], of + ".capacity", "capacity must not fall as frequency rises");
      }
    }
    c.opps.push_back(opp);
  }
  if (c.opps.back().capacity != c.capacity) {
    return r.Error(opps[opps.size() - 1], f + ".opps[" + std::to_string(opps.size() - 1) + "].capacity",
                   "top OPP capacity " + std::to_string(c.opps.back().capacity) +
                       " differs from the cluster capacity " + std::to_string(c.capacity));
  }

  KREPLAY_ASSIGN_OR_RETURN(YAML::Node idles, r.List(n, "idle_states", f + ".idle_states"));
  std::set<std::string> seen;
  for (size_t i = 0; i < idles.size(); ++i) {
    std::string sf = f + ".idle_states[" + std::to_string(i) + "]";
    KREPLAY_ASSIGN_OR_RETURN(workload::IdleState s, ParseIdle(r, idles[i], sf));
    if (!seen.insert(s.name).second) return r.Error(idles[i], sf + ".name", "duplicate idle state '" + s.name + "'");
    if (!c.idle_states.empty() && s.min_residency_ns < c.idle_states.back().min_residency_ns) {
      return r.Error(idles[i], sf + ".min_residency_ns", "idle states must be listed shallowest first");
    }
    c.idle_states.push_back(s);
  }
  return c;
}

}  // namespace

StatusOr<workload::Platform> ParsePlatformYaml(std::string_view yaml_text, const std::string& source_name) {
  Reader r(source_name);
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node root, r.Load(yaml_text));
  if (!root.IsMap()) return r.Error(root, "<document>", "expected a mapping");
  workload::Platform p;
  KREPLAY_ASSIGN_OR_RETURN(p.name, r.String(root, "name", "name"));
  KREPLAY_ASSIGN_OR_RETURN(p.description, r.String(root, "description", "description"));
  KREPLAY_ASSIGN_OR_RETURN(p.power_unit, r.String(root, "power_unit", "power_unit"));
  if (p.power_unit != "mW" && p.power_unit != "relative") {
    return r.Error(root["power_unit"], "power_unit", "expected 'mW' or 'relative', got '" + p.power_unit + "'");
  }
  KREPLAY_ASSIGN_OR_RETURN(p.source, r.String(root, "source", "source"));
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node clusters, r.List(root, "clusters", "clusters"));
  std::set<std::string> names;
  for (size_t i = 0; i < clusters.size(); ++i) {
    std::string f = "clusters[" + std::to_string(i) + "]";
    KREPLAY_ASSIGN_OR_RETURN(workload::Cluster c, ParseCluster(r, clusters[i], f));
    if (!names.insert(c.name).second) return r.Error(clusters[i], f + ".name", "duplicate cluster '" + c.name + "'");
    if (!p.clusters.empty() && c.capacity < p.clusters.back().capacity) {
      return r.Error(clusters[i], f + ".capacity", "clusters must be listed LITTLE first (ascending capacity)");
    }
    p.clusters.push_back(std::move(c));
  }
  if (p.clusters.back().capacity != 1024) {
    return r.Error(clusters[clusters.size() - 1], "clusters[" + std::to_string(clusters.size() - 1) + "].capacity",
                   "the biggest cluster must have capacity 1024");
  }
  if (p.total_cpus() > 64) return r.Error(clusters, "clusters", "at most 64 CPUs (cpu_mask is 64 bits)");
  return p;
}

std::vector<std::string> BuiltinPlatformNames() {
  std::vector<std::string> out;
  for (int i = 0; i < internal::kEmbeddedTextCount; ++i) out.emplace_back(internal::kEmbeddedTexts[i].name);
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<std::string> BuiltinPlatformYaml(const std::string& name) {
  for (int i = 0; i < internal::kEmbeddedTextCount; ++i) {
    if (name == internal::kEmbeddedTexts[i].name) return std::string(internal::kEmbeddedTexts[i].text);
  }
  return NotFound("unknown platform '" + name + "'; known: " + Join(BuiltinPlatformNames(), ", "));
}

StatusOr<workload::Platform> LoadBuiltinPlatform(const std::string& name) {
  KREPLAY_ASSIGN_OR_RETURN(std::string text, BuiltinPlatformYaml(name));
  return ParsePlatformYaml(text, name + ".yaml");
}

namespace {
std::string LenPrefixed(const std::string& s) { return std::to_string(s.size()) + ":" + s; }
}  // namespace

std::string CanonicalPlatformText(const workload::Platform& p) {
  std::string out = "kreplay-platform v1\n";
  out += "platform name=" + LenPrefixed(p.name) + " power_unit=" + LenPrefixed(p.power_unit) +
         " clusters=" + std::to_string(p.clusters.size()) + "\n";
  for (const auto& c : p.clusters) {
    out += "cluster name=" + LenPrefixed(c.name) + " core=" + LenPrefixed(c.core) + " cpus=" + std::to_string(c.cpus) +
           " capacity=" + std::to_string(c.capacity) + " cpu_efficiency=" + std::to_string(c.cpu_efficiency) +
           " big=" + (c.big ? "1" : "0") + " dvfs_transition_ns=" + std::to_string(c.dvfs_transition_ns) +
           " opps=" + std::to_string(c.opps.size()) + " idle_states=" + std::to_string(c.idle_states.size()) +
           "\n";
    for (const auto& o : c.opps) {
      out += "opp khz=" + std::to_string(o.khz) + " capacity=" + std::to_string(o.capacity) +
             " cpu_power=" + FormatDouble(o.cpu_power) + " cluster_power=" + FormatDouble(o.cluster_power) + "\n";
    }
    for (const auto& s : c.idle_states) {
      out += "idle name=" + LenPrefixed(s.name) + " cpu_power=" + FormatDouble(s.cpu_power) +
             " cluster_power=" + FormatDouble(s.cluster_power) +
             " exit_latency_ns=" + std::to_string(s.exit_latency_ns) +
             " min_residency_ns=" + std::to_string(s.min_residency_ns) + "\n";
    }
  }
  return out;
}

}  // namespace kreplay::platforms
