#include "controller/cli/catalog_cmd.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "controller/cli/exit_codes.h"
#include "controller/spec/spec.h"
#include "services/core/files.h"
#include "services/core/strings.h"

namespace kreplay::cli {

int CmdModels(const model::Registry& registry, const std::string& describe) {
  if (describe.empty()) {
    // Columns as wide as the longest name, so descriptions line up.
    int width = 14;
    for (const auto* m : registry.List()) width = std::max(width, static_cast<int>(m->name.size()));
    for (const auto* m : registry.List())
      std::printf("%-*s %-8s %s\n", width, m->name.c_str(), m->version.c_str(), m->description.c_str());
    return kExitOk;
  }
  const model::ModelInfo* m = registry.Find(describe);
  if (!m && registry.Reserved(describe))
    return ReportFailure(NotFound("model '" + describe + "' is reserved and not built yet (" + *registry.Reserved(describe) + ")"));
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

int CmdListing(const family::FamilyInfo::Listing& listing, const std::string& name) {
  auto text = listing.show(name);
  if (!text.ok()) {
    // An unknown name is bad input, said plainly (no status code).
    if (text.status().code() == StatusCode::kNotFound) {
      PrintError(text.status().message());
      return ExitCodeFor(text.status());
    }
    return ReportFailure(text.status());
  }
  std::fputs(text->c_str(), stdout);
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
  const family::FamilyInfo* fam = catalog.Find(spec->family);
  if (!fam->write_workload) {
    std::vector<std::string> can;
    for (const auto* f : catalog.List())
      if (f->write_workload) can.push_back(f->name + " (" + f->workload_format + ")");
    return ReportFailure(InvalidArgument("workload write: " + o.spec + " is a " + spec->family +
                                         " study, whose workloads have no file format to write (families that "
                                         "have one: " + Join(can, ", ") + ")"));
  }
  auto text = fam->write_workload(*built);
  if (!text.ok()) return ReportFailure(text.status());
  const std::string& json = *text;
  if (o.out.empty() || o.out == "-") {
    std::fputs(json.c_str(), stdout);
    return kExitOk;
  }
  Status st = WriteFileAtomic(o.out, json);
  if (!st.ok()) return ReportFailure(st);
  std::fprintf(stderr, "kreplay: wrote %s (%s, workload %s, seed %llu)\n", o.out.c_str(),
               fam->workload_format.c_str(), spec->workloads[index].name.c_str(), static_cast<unsigned long long>(seed));
  return kExitOk;
}

}  // namespace kreplay::cli
