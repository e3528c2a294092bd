#include "workers/models/sched/family.h"

#include <yaml-cpp/yaml.h>

#include "services/codec/convert.h"
#include "services/codec/sched_trace.h"
#include "services/workload/platform.h"
#include "services/workload/sched_workload.h"
#include "services/workload/synth.h"
#include "workers/models/sched/sched_models.h"

namespace kreplay::sched {
namespace {

uint64_t WorkloadBytes(const workload::SchedWorkload& w) {
  uint64_t n = sizeof(w);
  for (const auto& t : w.tasks) n += sizeof(t) + t.name.size() + t.phases.size() * sizeof(workload::Phase);
  return n;
}

StatusOr<family::Generated> Generate(std::string_view yaml, uint64_t seed, const std::string& expected_digest) {
  try {
    auto spec = workload::ParseSynthSpec(YAML::Load(std::string(yaml)), "synthetic");
    if (!spec.ok()) return spec.status();
    family::Generated g;
    // Named by its inputs and the generator's version (synth.h): checked
    // before spending the generation.
    g.digest = workload::SyntheticWorkloadDigest(*spec, seed);
    if (g.digest == expected_digest) {
      workload::SchedWorkload w = workload::GenerateSynthetic(*spec, seed);
      const uint64_t bytes = WorkloadBytes(w);
      g.workload = model::AnyValue::Make(std::move(w), bytes);
    }
    return g;
  } catch (const YAML::Exception& ex) {
    return InvalidArgument(ex.what());
  }
}

StatusOr<model::AnyValue> DecodePlatform(std::string_view config) {
  v1::Platform pp;
  if (!pp.ParseFromArray(config.data(), static_cast<int>(config.size())))
    return InvalidArgument("platform config does not parse");
  return model::AnyValue::Make(codec::PlatformFromProto(pp), sizeof(workload::Platform));
}

v1::TraceManifest Encode(const model::AnyValue& w, size_t max_chunk_bytes, const family::ChunkSink& sink,
                         const std::string& source) {
  const auto* sw = w.As<workload::SchedWorkload>();
  KREPLAY_CHECK(sw != nullptr, "sched trace codec given another family's workload");
  return codec::EncodeSchedWorkload(*sw, max_chunk_bytes, sink, source);
}

}  // namespace

Status RegisterSchedFamily(family::Catalog& catalog) {
  family::FamilyInfo f;
  f.name = "sched";
  f.description = "CPU scheduling on big.LITTLE SoCs: task placement, DVFS and energy";
  f.generate = Generate;
  f.decode_system = DecodePlatform;
  f.trace_family = "sched";
  f.encode_trace = Encode;
  f.assemble_trace = [](const v1::TraceManifest& m) -> std::unique_ptr<family::TraceAssembler> {
    return std::make_unique<family::TypedAssembler<codec::SchedTraceAssembler, workload::SchedWorkload>>(
        m, WorkloadBytes);
  };
  KREPLAY_RETURN_IF_ERROR(catalog.RegisterFamily(std::move(f)));
  return RegisterSchedModels(catalog.models());
}

}  // namespace kreplay::sched
