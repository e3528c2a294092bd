// Encode, decode+verify and content-digest throughput for block traces.
// Items are requests. Run by hand for figures; ctest runs it once, briefly.
#include <benchmark/benchmark.h>

#include "services/blocktrace/synth.h"
#include "services/codec/block_trace.h"

namespace kreplay::codec {
namespace {

const workload::BlockWorkload& Mix() {
  static const workload::BlockWorkload w = [] {
    blocktrace::BlockSynthSpec s;
    s.requests = 500000;
    s.rate = 5000;
    blocktrace::BlockSynthComponent zipf;
    zipf.footprint = uint64_t{1} << 30;
    zipf.read_fraction = 0.7;
    blocktrace::BlockSynthComponent scan;
    scan.kind = blocktrace::BlockSynthComponent::Kind::kScan;
    scan.footprint = uint64_t{8} << 30;
    scan.size = 128 * 1024;
    s.components = {zipf, scan};
    return blocktrace::GenerateBlockSynthetic(s, 1);
  }();
  return w;
}

void BM_Encode(benchmark::State& state) {
  const auto& w = Mix();
  for (auto _ : state) {
    size_t bytes = 0;
    auto m = EncodeBlockWorkload(w, kDefaultChunkBytes, [&](v1::TraceChunk&& c) { bytes += c.payload().size(); }, "bench");
    benchmark::DoNotOptimize(bytes);
    state.counters["bytes_per_request"] = static_cast<double>(m.payload_bytes()) / static_cast<double>(w.requests.size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.requests.size()));
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond);

void BM_DecodeVerify(benchmark::State& state) {
  const auto& w = Mix();
  const EncodedTrace t = EncodeBlockWorkload(w, kDefaultChunkBytes, "bench");
  for (auto _ : state) {
    BlockTraceAssembler a(t.manifest);
    for (const auto& c : t.chunks)
      if (!a.Add(c).ok()) state.SkipWithError("chunk rejected");
    auto back = a.Finish();
    if (!back.ok()) state.SkipWithError("trace rejected");
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.requests.size()));
}
BENCHMARK(BM_DecodeVerify)->Unit(benchmark::kMillisecond);

void BM_ContentDigest(benchmark::State& state) {
  const auto& w = Mix();
  for (auto _ : state) benchmark::DoNotOptimize(workload::BlockWorkloadDigest(w));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.requests.size()));
}
BENCHMARK(BM_ContentDigest)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kreplay::codec

BENCHMARK_MAIN();
