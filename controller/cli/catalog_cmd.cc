#include "controller/cli/catalog_cmd.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "controller/cli/exit_codes.h"
#include "controller/spec/spec.h"
#include "services/core/files.h"
#include "services/core/strings.h"
#include "services/workload/rtapp.h"
#include "workers/models/blockcache/devices/profiles.h"
#include "workers/models/sched/platforms/platforms.h"

namespace kreplay::cli {

int CmdModels(const model::Registry& registry, const std::string& describe) {
  if (describe.empty()) {
    for (const auto* m : registry.List())
      std::printf("%-14s %-8s %s\n", m->name.c_str(), m->version.c_str(), m->description.c_str());
    return kExitOk;
  }
  const model::ModelInfo* m = registry.Find(describe);
  if (!m) return ReportFailure(NotFound("unknown model '" + describe + "' (known: " + Join(registry.Names(), ", ") + ")"));
  std::printf("%s %s (%s family)\n  %s\n  mirrors: %s\n\nParameters:\n", m->name.c_str(), m->version.c_str(),
              m->family.c_str(), m->description.c_str(), m->mirrors.c_str());
  for (const auto& p : m->params) {
    std::string bounds;
    if (p.min || p.max)
      bounds = " [" + (p.min ? FormatDouble(*p.min) : std::string("-inf")) + ", " +
               (p.max ? FormatDouble(*p.max) : std::string("inf")) + "]";
    if (!p.choices.empty()) bounds = " {" + Join(p.choices, ", ") + "}";
    std::printf("  %-28s %-6s default %s%s%s\n      %s\n", p.name.c_str(), model::ParamTypeName(p.type),
                model::ParamValueText(p.default_value).c_str(), p.unit.empty() ? "" : (" " + p.unit).c_str(),
                bounds.c_str(), p.help.c_str());
  }
  std::printf("\nMetrics:\n");
  for (const auto& x : m->metrics)
    std::printf("  %-32s %-6s %-6s %s\n", x.name.c_str(), x.unit.c_str(), model::BetterName(x.better), x.help.c_str());
  std::printf("\nA scalar metric is one value per run; reports average it over seeds (mean, 95%% Student-t CI),\n"
              "so a percentile scalar such as wakeup_latency_p99_us is the mean of per-run percentiles. A\n"
              "histogram metric (unit ns, e.g. wakeup_latency) is merged over seeds: its \"pooled\" percentiles\n"
              "are percentiles of all samples together.\n"
              "Gate rules: METRIC:+X%% / METRIC:-X%% / METRIC:X%% (the bad direction above; docs/outputs.md).\n");
  return kExitOk;
}

int CmdPlatforms(const std::string& show) {
  if (!show.empty()) {
    auto y = platforms::BuiltinPlatformYaml(show);
    if (!y.ok()) return ReportFailure(y.status());
    std::fputs(y->c_str(), stdout);
    return kExitOk;
  }
  for (const auto& name : platforms::BuiltinPlatformNames()) {
    auto p = platforms::LoadBuiltinPlatform(name);
    if (!p.ok()) return ReportFailure(p.status());
    std::string clusters;
    for (const auto& c : p->clusters)
      clusters += (clusters.empty() ? "" : " + ") + std::to_string(c.cpus) + "x " + c.core;
    std::printf("%-10s %-34s power in %s\n", name.c_str(), clusters.c_str(), p->power_unit.c_str());
  }
  return kExitOk;
}

int CmdDevices(const std::string& show) {
  using blockcache::DeviceKind;
  const auto gb = [](uint64_t b) { return static_cast<double>(b) / 1e9; };
  if (!show.empty()) {
    const blockcache::DeviceProfile* p = blockcache::FindDeviceProfile(show);
    if (!p) return ReportFailure(NotFound("no device profile '" + show + "' (known: " + blockcache::DeviceProfileNames() + ")"));
    std::printf("%s: %s\n", p->name.c_str(), p->description.c_str());
    if (p->kind == DeviceKind::kHdd) {
      const auto& h = p->hdd;
      std::printf("  kind HDD, capacity %.0f GB, %d rpm, %d heads, %d zones\n", gb(h.capacity_bytes), h.rpm, h.heads,
                  h.zones);
      std::printf("  seek: single track %.2f ms, average %.2f ms, full stroke %.2f ms\n", h.single_track_seek_ms,
                  h.average_seek_ms, h.full_stroke_seek_ms);
      std::printf("  media rate %.0f MB/s (outer) .. %.0f MB/s (inner), overhead %.0f us, read-ahead %llu KiB\n",
                  h.outer_rate_mb_s, h.inner_rate_mb_s, static_cast<double>(h.overhead_ns) / 1e3,
                  static_cast<unsigned long long>(h.readahead_bytes >> 10));
    } else {
      const auto& d = p->ssd;
      std::printf("  kind SSD, capacity %.0f GB, %d channels x %d chips x %d dies x %d planes, %u-byte pages\n",
                  gb(d.capacity_bytes), d.channels, d.chips_per_channel, d.dies_per_chip, d.planes_per_die,
                  d.page_bytes);
      std::printf("  read %.0f us, program %.0f us, erase %.2f ms; channel %.0f MB/s, host %.0f MB/s\n",
                  static_cast<double>(d.read_ns) / 1e3, static_cast<double>(d.program_ns) / 1e3,
                  static_cast<double>(d.erase_ns) / 1e6, d.channel_rate_mb_s, d.host_rate_mb_s);
      std::printf("  over-provisioning %.0f %%, FTL GC write amplification %s\n", d.overprovisioning * 100,
                  d.gc_write_amplification > 1 ? std::to_string(d.gc_write_amplification).c_str()
                                               : "not modelled (host writes only)");
    }
    return kExitOk;
  }
  for (const auto& p : blockcache::DeviceProfiles()) {
    uint64_t cap = p.kind == DeviceKind::kHdd ? p.hdd.capacity_bytes : p.ssd.capacity_bytes;
    std::printf("%-10s %-4s %6.0f GB  %s\n", p.name.c_str(), p.kind == DeviceKind::kHdd ? "HDD" : "SSD", gb(cap),
                p.description.c_str());
  }
  return kExitOk;
}

int CmdWorkloadWrite(const family::Catalog& catalog, const WorkloadWriteOptions& o) {
  auto spec = spec::LoadStudySpec(o.spec, catalog);
  if (!spec.ok()) return ReportFailure(spec.status());
  size_t index = 0;
  if (!o.workload.empty()) {
    std::vector<std::string> names;
    for (const auto& w : spec->workloads) names.push_back(w.name);
    auto it = std::find(names.begin(), names.end(), o.workload);
    if (it == names.end())
      return ReportFailure(InvalidArgument("--workload: no workload '" + o.workload + "' in " + o.spec + " (has: " +
                                  Join(names, ", ") + ")"));
    index = static_cast<size_t>(it - names.begin());
  }
  uint64_t seed = o.seed ? o.seed : spec->seeds.front();
  auto built = spec::BuildWorkload(*spec, index, seed);
  if (!built.ok()) return ReportFailure(built.status());
  const auto* w = built->As<workload::SchedWorkload>();
  if (!w)
    return ReportFailure(InvalidArgument("workload write: '" + spec->workloads[index].name + "' is a " +
                                         spec->workloads[index].kind + " workload of a " + spec->family +
                                         " study; only scheduler workloads can be written as rt-app JSON"));
  std::string json = workload::WriteRtApp(*w);
  if (o.out.empty() || o.out == "-") {
    std::fputs(json.c_str(), stdout);
    return kExitOk;
  }
  Status st = WriteFileAtomic(o.out, json);
  if (!st.ok()) return ReportFailure(st);
  std::fprintf(stderr, "kreplay: wrote %s (%zu tasks, content digest %s)\n", o.out.c_str(), w->tasks.size(),
               workload::SchedWorkloadDigest(*w).substr(0, 16).c_str());
  return kExitOk;
}

}  // namespace kreplay::cli
