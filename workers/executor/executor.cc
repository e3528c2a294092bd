#include "workers/executor/executor.h"

#include <yaml-cpp/yaml.h>

#include "services/blocktrace/synth.h"
#include "services/codec/convert.h"
#include "services/workload/platform.h"
#include "services/workload/synth.h"

namespace kreplay::executor {

uint64_t Workload::ApproxBytes() const {
  uint64_t n = sizeof(*this);
  if (sched)
    for (const auto& t : sched->tasks) n += sizeof(t) + t.name.size() + t.phases.size() * sizeof(workload::Phase);
  if (block) n += block->requests.size() * sizeof(workload::BlockRequest);
  return n;
}

StatusOr<Generated> GenerateWorkload(const std::string& family, const std::string& yaml, uint64_t seed,
                                     const std::string& expected_digest) {
  try {
    YAML::Node node = YAML::Load(yaml);
    Generated g;
    if (family == "blockcache") {
      auto spec = blocktrace::ParseBlockSynthSpec(node, "block_synthetic");
      if (!spec.ok()) return spec.status();
      auto w = std::make_shared<const workload::BlockWorkload>(blocktrace::GenerateBlockSynthetic(*spec, seed));
      g.digest = workload::BlockWorkloadDigest(*w);
      g.workload.block = std::move(w);
      return g;
    }
    if (family != "sched") return InvalidArgument("model family '" + family + "' has no generated workloads");
    auto spec = workload::ParseSynthSpec(node, "synthetic");
    if (!spec.ok()) return spec.status();
    // Named by its inputs and the generator's version (synth.h): checked
    // before spending the generation.
    g.digest = workload::SyntheticWorkloadDigest(*spec, seed);
    if (g.digest == expected_digest)
      g.workload.sched = std::make_shared<const workload::SchedWorkload>(workload::GenerateSynthetic(*spec, seed));
    return g;
  } catch (const YAML::Exception& ex) {
    return InvalidArgument(ex.what());
  }
}

model::ParamSet ItemParams(const v1::WorkItem& item, int batch_index) {
  return codec::ParamsFromProto(batch_index < 0 ? item.params() : item.batch(batch_index).params());
}

std::vector<StatusOr<model::Result>> ExecuteRun(const model::Registry& registry, const RunRequest& request) {
  const v1::WorkItem& item = *request.item;
  const size_t n = request.params.size();
  auto all = [n](const Status& st) { return std::vector<StatusOr<model::Result>>(n, st); };
  const model::ModelInfo* info = registry.Find(item.model());
  if (!info) return all(InvalidArgument("unknown model '" + item.model() + "'"));
  if (info->version != item.model_version())
    return all(FailedPrecondition("model " + item.model() + " is version " + info->version +
                                  " in this build, the study wants " + item.model_version()));
  v1::Platform pp;
  if (!pp.ParseFromString(item.system().config()))
    return all(InvalidArgument("work item " + item.run_key() + ": platform config does not parse"));
  const workload::Platform platform = codec::PlatformFromProto(pp);

  model::RunInput in;
  in.seed = item.seed();
  if (request.workload.sched) in.platform = &platform;  // block cache runs have no platform
  in.sched = request.workload.sched.get();
  in.block = request.workload.block.get();
  in.cancel = request.cancel;
  in.sched_observer = request.sched_observer;
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
