#include "workers/executor/executor.h"

#include <yaml-cpp/yaml.h>

#include <optional>

#include "services/codec/convert.h"

namespace kreplay::executor {

StatusOr<model::AnyValue> GenerateWorkload(const family::Catalog& catalog, const v1::WorkItem& item) {
  const std::string name = "work item " + item.run_key().substr(0, 12) + ": generated workload";
  // The generated kind the item names; items of older controllers name
  // none, and their family had only one.
  const family::FamilyInfo* f = catalog.Find(item.system().family());
  const family::WorkloadKind* kind = nullptr;
  int generated = 0;
  if (f)
    for (const auto& k : f->kinds) {
      if (!k.generated) continue;
      ++generated;
      if (item.generator_kind().empty() ? kind == nullptr : k.key == item.generator_kind()) kind = &k;
    }
  if (!kind)
    return InvalidArgument(name + ": model family '" + item.system().family() + "' has no generated kind '" +
                           item.generator_kind() + "'");
  if (item.generator_kind().empty() && generated > 1)
    return InvalidArgument(name + ": the item does not name its generated kind and family '" +
                           item.system().family() + "' has several");
  // The same parser, name and build as the planner's (family::WorkloadKind).
  family::KindInput in;
  try {
    in.entry.value = YAML::Load(item.synthetic_yaml());
  } catch (const YAML::Exception& ex) {
    return InvalidArgument(name + " does not parse: " + ex.what());
  }
  in.entry.key = in.entry.value;
  in.field = kind->key;
  family::CollectedErrors errors;
  in.errors = &errors;
  auto parsed = kind->parse(in);
  if (!parsed) return InvalidArgument(name + " does not parse: " + errors.text());
  std::optional<std::string> digest = kind->name ? kind->name(*parsed, item.seed()) : std::nullopt;
  model::AnyValue built;
  if (!digest || *digest == item.workload_digest()) {  // named by inputs: check before spending the build
    KREPLAY_ASSIGN_OR_RETURN(built, kind->build(*parsed, item.seed()));
    if (!digest) digest = kind->digest(built);
  }
  // The run key names this digest: a worker whose generator differs from the
  // controller's must not record results under it.
  if (*digest != item.workload_digest())
    return FailedPrecondition(name + " generated here has digest " + digest->substr(0, 16) + ", the study has " +
                              item.workload_digest().substr(0, 16) +
                              ": this build generates workloads differently from the controller's");
  return built;
}

model::ParamSet ItemParams(const v1::WorkItem& item, int batch_index) {
  return codec::ParamsFromProto(batch_index < 0 ? item.params() : item.batch(batch_index).params());
}

std::vector<StatusOr<model::Result>> ExecuteRun(const family::Catalog& catalog, const RunRequest& request) {
  const v1::WorkItem& item = *request.item;
  const size_t n = request.params.size();
  auto all = [n](const Status& st) { return std::vector<StatusOr<model::Result>>(n, st); };
  const model::ModelInfo* info = catalog.models().Find(item.model());
  if (!info) return all(InvalidArgument("unknown model '" + item.model() + "'"));
  if (info->version != item.model_version())
    return all(FailedPrecondition("model " + item.model() + " is version " + info->version +
                                  " in this build, the study wants " + item.model_version()));
  const family::FamilyInfo* f = catalog.Find(info->family);
  KREPLAY_CHECK(f != nullptr, "model " + info->name + " of an unregistered family");
  model::AnyValue system;
  if (f->decode_system) {
    auto s = f->decode_system(item.system().config());
    if (!s.ok()) return all(s.status().WithContext("work item " + item.run_key() + ": system"));
    system = std::move(*s);
  }

  model::RunInput in;
  in.seed = item.seed();
  in.system = system.ref();
  in.workload = request.workload.ref();
  in.cancel = request.cancel;
  in.observer = request.observer;
  if (n > 1 && info->run_batch) {
    // One pass over the workload for every configuration.
    std::vector<const model::ParamSet*> ptrs;
    for (const auto& p : request.params) ptrs.push_back(&p);
    auto results = info->run_batch(in, ptrs);
    if (results.size() != n) return all(Internal(item.model() + ": batch returned the wrong number of results"));
    return results;
  }
  std::vector<StatusOr<model::Result>> results;
  results.reserve(n);
  for (const auto& p : request.params) {
    in.params = &p;
    results.push_back(info->run(in));
  }
  return results;
}

}  // namespace kreplay::executor
