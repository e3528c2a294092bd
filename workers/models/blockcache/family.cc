#include "workers/models/blockcache/family.h"

#include <yaml-cpp/yaml.h>

#include "services/blocktrace/synth.h"
#include "services/codec/block_trace.h"
#include "services/workload/block_workload.h"
#include "workers/models/blockcache/bcache/bcache_model.h"
#include "workers/models/blockcache/fixed/fixed_models.h"

namespace kreplay::blockcache {
namespace {

uint64_t WorkloadBytes(const workload::BlockWorkload& w) {
  return sizeof(w) + w.requests.size() * sizeof(workload::BlockRequest);
}

// Block workloads are named by content: always generated.
StatusOr<family::Generated> Generate(std::string_view yaml, uint64_t seed, const std::string&) {
  try {
    auto spec = blocktrace::ParseBlockSynthSpec(YAML::Load(std::string(yaml)), "block_synthetic");
    if (!spec.ok()) return spec.status();
    workload::BlockWorkload w = blocktrace::GenerateBlockSynthetic(*spec, seed);
    family::Generated g;
    g.digest = workload::BlockWorkloadDigest(w);
    const uint64_t bytes = WorkloadBytes(w);
    g.workload = model::AnyValue::Make(std::move(w), bytes);
    return g;
  } catch (const YAML::Exception& ex) {
    return InvalidArgument(ex.what());
  }
}

v1::TraceManifest Encode(const model::AnyValue& w, size_t max_chunk_bytes, const family::ChunkSink& sink,
                         const std::string& source) {
  const auto* bw = w.As<workload::BlockWorkload>();
  KREPLAY_CHECK(bw != nullptr, "block trace codec given another family's workload");
  return codec::EncodeBlockWorkload(*bw, max_chunk_bytes, sink, source);
}

}  // namespace

Status RegisterBlockCacheFamily(family::Catalog& catalog) {
  family::FamilyInfo f;
  f.name = "blockcache";
  f.description = "bcache-style block cache tiers and fixed-block caches over HDD/SSD device models";
  f.generate = Generate;
  f.trace_family = "block";
  f.encode_trace = Encode;
  f.assemble_trace = [](const v1::TraceManifest& m) -> std::unique_ptr<family::TraceAssembler> {
    return std::make_unique<family::TypedAssembler<codec::BlockTraceAssembler, workload::BlockWorkload>>(
        m, WorkloadBytes);
  };
  KREPLAY_RETURN_IF_ERROR(catalog.RegisterFamily(std::move(f)));
  KREPLAY_RETURN_IF_ERROR(RegisterFixedModels(catalog.models()));
  return bcache::RegisterBcacheModels(catalog.models());
}

}  // namespace kreplay::blockcache
