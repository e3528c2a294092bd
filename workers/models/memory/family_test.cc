// The memory family through its table entry only (MemoryFamilyInfo(), a
// family::Catalog with RegisterMemoryFamily()), as the spec parser, the
// controller's trace store and a worker use it: a `memtrace:` entry parsed
// and built from a trace file, its workload through the family's trace
// codec and back, a model run through the registry with the family's
// profile, and the `memory:` kind's plan estimate. The expected values are
// derived by hand from the trace text below.
#include "workers/models/memory/family.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "services/family/family.h"
#include "services/family/workload_kind.h"
#include "services/model/params.h"
#include "workers/models/memory/codec/mem_trace.h"
#include "workers/models/memory/models/mem_spec.h"
#include "workers/models/memory/profiles/mem_profile.h"

namespace kreplay::memory {
namespace {
namespace fs = std::filesystem;

// A 5.14+ trace (6.3's errorno= on one finish, 6.18's request_count= on one
// start) of four calls on two areas, with a background of page events.
// t0 = 1.000000 (the first event); the last event is at 1.500000, so the
// span is 0.5 s.
//   call 0: reserved,  t=0,      512 pages align 8, ok at 0.8 ms, released at 100.8 ms: hold 100 ms
//   call 1: linux,cma, t=0.2 ms,  32 pages align 5 (interleaved with call 0), ok at 0.5 ms,
//           released at 50.5 ms: hold 50 ms
//   call 2: reserved,  t=300 ms, 2048 pages align 8, failed (NULL page): hold -1
//   call 3: linux,cma, t=400 ms,   1 page  align 0, ok, never released: hold -1
//   background: movable 8 pages (order 3), unmovable 1 page: 16 and 2 pages/s.
constexpr char kTrace[] =
    "# tracer: nop\n"
    "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
    "             cam-100     [000] .....     1.000000: cma_alloc_start: name=reserved count=512 align=8\n"
    "            vdec-200     [001] .....     1.000200: cma_alloc_start: name=linux,cma count=32 align=5\n"
    "            vdec-200     [001] .....     1.000500: cma_alloc_finish: name=linux,cma pfn=0x20000 "
    "page=00000000a1b20000 count=32 align=5 errorno=0\n"
    "             cam-100     [000] .....     1.000800: cma_alloc_finish: name=reserved pfn=0x10000 "
    "page=00000000a1b10000 count=512 align=8\n"
    "            vdec-200     [001] .....     1.050500: cma_release: name=linux,cma pfn=0x20000 "
    "page=00000000a1b20000 count=32\n"
    "             cam-100     [000] .....     1.100800: cma_release: name=reserved pfn=0x10000 "
    "page=00000000a1b10000 count=512\n"
    "            make-900     [002] .....     1.200000: mm_page_alloc: page=00000000c0ffee00 pfn=0x104a50 order=3 "
    "migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_COMP\n"
    "            make-900     [002] .....     1.250000: mm_page_alloc: page=00000000c0ffee10 pfn=0x104b00 order=0 "
    "migratetype=0 gfp_flags=GFP_KERNEL\n"
    "             cam-100     [000] .....     1.300000: cma_alloc_start: name=reserved request_count=2048 "
    "available_count=2048 total_count=2048 align=8\n"
    "             cam-100     [000] .....     1.305000: cma_alloc_finish: name=reserved pfn=0x10000 "
    "page=0000000000000000 count=2048 align=8\n"
    "            disp-300     [003] .....     1.400000: cma_alloc_start: name=linux,cma count=1 align=0\n"
    "            disp-300     [003] .....     1.400010: cma_alloc_finish: name=linux,cma pfn=0x20100 "
    "page=00000000a1b20100 count=1 align=0\n"
    "            make-900     [002] .....     1.500000: mm_page_free: page=00000000c0ffee00 pfn=0x104a50 order=3\n";

constexpr sim::Duration kMs = 1'000'000;

std::vector<ContigCall> ExpectedCalls() {
  auto call = [](sim::Time at, uint64_t pages, uint32_t align, uint16_t area, sim::Duration hold) {
    ContigCall c;
    c.at = at;
    c.pages = pages;
    c.align = align;
    c.area = area;
    c.hold = hold;
    return c;
  };
  // Call 2 failed when recorded: replayed, it is held for the recorded
  // calls' median hold, the upper of {50 ms, 100 ms}. Call 3 never finished:
  // no hold (-1).
  return {call(0, 512, 8, 0, 100 * kMs), call(200'000, 32, 5, 1, 50 * kMs), call(300 * kMs, 2048, 8, 0, 100 * kMs),
          call(400 * kMs, 1, 0, 1, -1)};
}

// A 64 MiB arm64-like machine with both areas of the trace.
constexpr char kProfile[] =
    "name: unit-64m\n"
    "description: \"64 MiB, two 8 MiB CMA areas (family_test)\"\n"
    "source: \"made up for a unit test\"\n"
    "arch: arm64\n"
    "memory_mib: 64\n"
    "cpus: 2\n"
    "pageblock_order: 9\n"
    "max_order: 10\n"
    "tlb_flush: broadcast\n"
    "mem_bandwidth_mbps: 5000\n"
    "min_free_kbytes: 0\n"
    "watermark_scale_factor: 10\n"
    "costs_ns: {copy_page_hot: 400, copy_page_cold: 1600, page_fault: 2000, unmap_pte: 300, tlb_flush_local: 100,\n"
    "           tlb_remote: 200, ipi: 3000, drop_clean_page: 300, map_pte: 50, alloc_page: 1500,\n"
    "           isolate_pageblock: 20000}\n"
    "writeback: {bandwidth_mbps: 100, latency_us: 500}\n"
    "cma_areas:\n"
    "  - {name: reserved, mib: 8, order_per_bit: 0}\n"
    "  - {name: \"linux,cma\", mib: 8, order_per_bit: 0}\n";

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "kreplay-memfamily-test-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Put(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::string path_;
};

// A spec entry as the spec parser hands it over: the key node and value of
// `key` in a YAML map.
family::SpecEntry EntryOf(const YAML::Node& map, const std::string& key) {
  for (auto it = map.begin(); it != map.end(); ++it)
    if (it->first.Scalar() == key) return {it->first, it->second};
  ADD_FAILURE() << "no key " << key;
  return {};
}

class MemoryFamilyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterMemoryFamily(catalog_).ok());
    family_ = catalog_.Find("memory");
    ASSERT_NE(family_, nullptr);
    trace_path_ = dir_.Put("cma.trace", kTrace);
    profile_path_ = dir_.Put("unit-64m.yaml", kProfile);
  }

  const family::WorkloadKind& Kind(const std::string& key) {
    auto [f, k] = catalog_.FindKind(key);
    EXPECT_EQ(f, family_) << key;
    EXPECT_NE(k, nullptr) << key;
    return *k;
  }

  // Parses `yaml` (one workload entry) with the kind named `key`; nullopt
  // with `errors` filled on failure.
  std::optional<family::ParsedWorkload> Parse(const std::string& key, const std::string& yaml,
                                              family::CollectedErrors& errors) {
    const family::WorkloadKind& k = Kind(key);
    YAML::Node doc = YAML::Load(yaml);
    family::KindInput in;
    in.entry = EntryOf(doc, key);
    for (const auto& o : k.options)
      if (doc[o]) in.options[o] = EntryOf(doc, o);
    in.field = "workloads[0]";
    in.base_dir = "";
    in.errors = &errors;
    return k.parse(in);
  }

  model::AnyValue BuildTrace() {
    family::CollectedErrors errors;
    auto p = Parse("memtrace", "memtrace: " + trace_path_ + "\n", errors);
    EXPECT_TRUE(p.has_value()) << errors.text();
    if (!p) return {};
    auto built = Kind("memtrace").build(*p, 1);
    EXPECT_TRUE(built.ok()) << built.status().message();
    return built.ok() ? *built : model::AnyValue{};
  }

  family::SystemEntry Profile() {
    family::CollectedErrors errors;
    YAML::Node doc = YAML::Load("platform: " + profile_path_ + "\n");
    auto se = family_->resolve_system(EntryOf(doc, "platform"), "platforms[0]", "", errors);
    EXPECT_TRUE(se.has_value()) << errors.text();
    return se ? *se : family::SystemEntry{};
  }

  StatusOr<model::Result> Run(const std::string& model_name, const model::AnyValue& system,
                              const model::AnyValue& workload, uint64_t seed) {
    const model::ModelInfo* info = catalog_.models().Find(model_name);
    if (!info) return NotFound(model_name);
    EXPECT_EQ(info->family, "memory");
    KREPLAY_ASSIGN_OR_RETURN(model::ParamSet params, model::ResolveParams(info->params, {}, "params"));
    model::RunInput in;
    in.params = &params;
    in.seed = seed;
    in.system = system.ref();
    in.workload = workload.ref();
    return info->run(in);
  }

  TempDir dir_;
  family::Catalog catalog_;
  const family::FamilyInfo* family_ = nullptr;
  std::string trace_path_, profile_path_;
};

TEST_F(MemoryFamilyTest, RegistersItsKindsModelsAndTraceFamily) {
  EXPECT_EQ(catalog_.FindByTraceFamily("memory"), family_);
  EXPECT_TRUE(family_->has_systems);
  for (const char* m : {"memory.cma", "memory.cma.android", "memory.gcma", "memory.carveout", "memory.buddy"}) {
    const model::ModelInfo* info = catalog_.models().Find(m);
    ASSERT_NE(info, nullptr) << m;
    EXPECT_EQ(info->family, "memory") << m;
  }
  EXPECT_TRUE(Kind("memory").generated);
  EXPECT_FALSE(Kind("memtrace").generated);
  // A second registration is refused (duplicate family).
  EXPECT_FALSE(RegisterMemoryFamily(catalog_).ok());
}

TEST_F(MemoryFamilyTest, MemtraceBuildsTheTracesCallsInOrder) {
  model::AnyValue built = BuildTrace();
  const MemWorkload* w = built.As<MemWorkload>();
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->foreground.areas, (std::vector<std::string>{"reserved", "linux,cma"}));
  const std::vector<ContigCall> want = ExpectedCalls();
  ASSERT_EQ(w->foreground.calls.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const ContigCall& c = w->foreground.calls[i];
    EXPECT_EQ(c.at, want[i].at) << "call " << i;
    EXPECT_EQ(c.pages, want[i].pages) << "call " << i;
    EXPECT_EQ(c.align, want[i].align) << "call " << i;
    EXPECT_EQ(c.area, want[i].area) << "call " << i;
    EXPECT_EQ(c.hold, want[i].hold) << "call " << i;
    EXPECT_EQ(c.timeout, 0) << "call " << i;
  }
  // The background from the page rates (WorkloadFromTrace): movable pages
  // as anonymous faults, the rest as slab.
  EXPECT_DOUBLE_EQ(w->background.spec.anon.fault_rate, 16.0);
  EXPECT_DOUBLE_EQ(w->background.spec.slab.rate, 2.0);
  EXPECT_DOUBLE_EQ(w->background.spec.slab.reclaimable_fraction, 0.0);
  EXPECT_EQ(w->initial.used, DefaultInitial().used);

  // Not generated: every seed builds the same workload.
  const family::WorkloadKind& k = Kind("memtrace");
  family::CollectedErrors errors;
  auto p = Parse("memtrace", "memtrace: " + trace_path_ + "\n", errors);
  ASSERT_TRUE(p.has_value());
  auto other = k.build(*p, 7);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(k.digest(*other), k.digest(built));
  EXPECT_EQ(k.digest(built), MemWorkloadDigest(*w));
  // The plan estimate counts the trace's calls; the span reaches the last release.
  family::WorkloadEstimate e = k.estimate(*p);
  EXPECT_EQ(e.requests, 4);
  EXPECT_EQ(e.trace_records, 4u);
  EXPECT_EQ(e.duration_ns, 400 * kMs);  // the last call's arrival (400 ms) is past every at + hold
}

TEST_F(MemoryFamilyTest, MemtraceOptionsSetWhatTheTraceCannotSay) {
  family::CollectedErrors errors;
  auto p = Parse("memtrace",
                 "memtrace: " + trace_path_ + "\ninitial: {used: 50%, anon: 1}\n" +
                     "background: {slab: {rate: 7, reclaimable_fraction: 1, lifetime: 2s}}\n",
                 errors);
  ASSERT_TRUE(p.has_value()) << errors.text();
  auto built = Kind("memtrace").build(*p, 1);
  ASSERT_TRUE(built.ok());
  const MemWorkload* w = built->As<MemWorkload>();
  ASSERT_NE(w, nullptr);
  EXPECT_DOUBLE_EQ(w->initial.used, 0.5);
  EXPECT_DOUBLE_EQ(w->background.spec.slab.rate, 7.0);
  EXPECT_DOUBLE_EQ(w->background.spec.anon.fault_rate, 0.0);  // `background:` replaces the trace's rates
  EXPECT_EQ(w->foreground.calls.size(), 4u);
}

TEST_F(MemoryFamilyTest, MemtraceErrorsNameTheFieldAndTheTraceLine) {
  {
    family::CollectedErrors errors;
    EXPECT_FALSE(Parse("memtrace", "memtrace: " + trace_path_ + ".missing\n", errors).has_value());
    EXPECT_NE(errors.text().find("workloads[0].memtrace"), std::string::npos) << errors.text();
    EXPECT_NE(errors.text().find("cma.trace.missing"), std::string::npos) << errors.text();
  }
  {
    // Line 5 of the trace: a finish whose pfn is not hex.
    std::string text = kTrace;
    const std::string good = "pfn=0x20000 page=00000000a1b20000 count=32 align=5 errorno=0";
    text.replace(text.find(good), 11, "pfn=0xzz000");
    const std::string bad = dir_.Put("bad.trace", text);
    family::CollectedErrors errors;
    EXPECT_FALSE(Parse("memtrace", "memtrace: " + bad + "\n", errors).has_value());
    EXPECT_NE(errors.text().find("workloads[0].memtrace"), std::string::npos) << errors.text();
    EXPECT_NE(errors.text().find(bad + ":5:"), std::string::npos) << errors.text();
    EXPECT_NE(errors.text().find("pfn"), std::string::npos) << errors.text();
  }
  {
    family::CollectedErrors errors;
    EXPECT_FALSE(Parse("memtrace", "memtrace: " + trace_path_ + "\ninitial: {used: 150%}\n", errors).has_value());
    EXPECT_NE(errors.text().find("workloads[0].initial"), std::string::npos) << errors.text();
  }
}

TEST_F(MemoryFamilyTest, TraceCodecRoundTripsThroughTheFamilyTable) {
  model::AnyValue built = BuildTrace();
  const MemWorkload* w = built.As<MemWorkload>();
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(family_->encode_trace && family_->assemble_trace);
  // Small chunks: several, so that order and splicing matter.
  std::vector<v1::TraceChunk> chunks;
  v1::TraceManifest m =
      family_->encode_trace(built, 16, [&](v1::TraceChunk&& c) { chunks.push_back(std::move(c)); }, trace_path_);
  EXPECT_EQ(m.family(), family_->trace_family);
  EXPECT_EQ(m.record_count(), 4u);
  ASSERT_EQ(chunks.size(), m.chunk_count());
  ASSERT_GT(chunks.size(), 1u);
  // The trace store names each chunk by the manifest's digest.
  for (auto& c : chunks) c.set_digest(m.digest());
  std::unique_ptr<family::TraceAssembler> a = family_->assemble_trace(m);
  ASSERT_NE(a, nullptr);
  for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) {  // any order
    Status st = a->Add(*it);
    ASSERT_TRUE(st.ok()) << st.message();
  }
  ASSERT_TRUE(a->complete());
  auto back = a->Finish();
  ASSERT_TRUE(back.ok()) << back.status().message();
  const MemWorkload* b = back->As<MemWorkload>();
  ASSERT_NE(b, nullptr);
  const family::WorkloadKind& k = Kind("memtrace");
  EXPECT_EQ(k.digest(*back), k.digest(built));
  EXPECT_EQ(b->foreground, w->foreground);
  EXPECT_EQ(CanonicalMemWorkloadText(*b), CanonicalMemWorkloadText(*w));

  // A damaged chunk is refused.
  std::unique_ptr<family::TraceAssembler> a2 = family_->assemble_trace(m);
  v1::TraceChunk bad = chunks[0];
  std::string payload = bad.payload();
  payload[payload.size() / 2] ^= 0x5a;
  bad.set_payload(payload);
  EXPECT_FALSE(a2->Add(bad).ok());
}

TEST_F(MemoryFamilyTest, ProfileResolvesAndTravelsAsItsConfig) {
  family::SystemEntry se = Profile();
  EXPECT_EQ(se.name, "unit-64m");
  EXPECT_EQ(se.cpus, 2);
  EXPECT_EQ(se.source, profile_path_);
  const MemProfile* p = se.system.As<MemProfile>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->pages, 64u * 256);
  ASSERT_EQ(p->cma_areas.size(), 2u);
  EXPECT_EQ(p->cma_areas[1].name, "linux,cma");
  // What a work item carries decodes to the same profile.
  auto decoded = family_->decode_system(se.config);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_NE(decoded->As<MemProfile>(), nullptr);
  EXPECT_EQ(CanonicalMemProfileText(*decoded->As<MemProfile>()), se.canonical);
  // A shipped profile by name, and an unknown one with the shipped names.
  family::CollectedErrors errors;
  YAML::Node doc = YAML::Load("a: armv7-800m\nb: armv7-800\n");
  auto builtin = family_->resolve_system(EntryOf(doc, "a"), "platforms[0]", "", errors);
  ASSERT_TRUE(builtin.has_value()) << errors.text();
  EXPECT_EQ(builtin->source, "builtin:armv7-800m");
  auto shipped = LoadBuiltinMemProfile("armv7-800m");
  ASSERT_TRUE(shipped.ok());
  EXPECT_EQ(builtin->canonical, CanonicalMemProfileText(*shipped));
  EXPECT_FALSE(family_->resolve_system(EntryOf(doc, "b"), "platforms[1]", "", errors).has_value());
  EXPECT_NE(errors.text().find("platforms[1]: unknown memory profile 'armv7-800'"), std::string::npos) << errors.text();
}

TEST_F(MemoryFamilyTest, ModelsRunTheTraceDeterministically) {
  model::AnyValue built = BuildTrace();
  family::SystemEntry se = Profile();
  auto decoded = family_->decode_system(se.config);
  ASSERT_TRUE(decoded.ok());
  for (const char* m : {"memory.cma", "memory.cma.android", "memory.gcma", "memory.carveout", "memory.buddy"}) {
    SCOPED_TRACE(m);
    auto r = Run(m, se.system, built, 1);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE(r->scalars.count("calls"));
    EXPECT_EQ(r->scalars.at("calls").value, 4);
    EXPECT_EQ(r->scalars.at("alloc_success").value + r->scalars.at("alloc_fail").value +
                  r->scalars.at("alloc_unfinished").value,
              4);
    // The same inputs give the same result; so does the profile a work item
    // carries (a worker's decode_system) instead of the resolved one.
    auto again = Run(m, se.system, built, 1);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->scalars, r->scalars);
    EXPECT_EQ(again->sim_events, r->sim_events);
    auto remote = Run(m, *decoded, built, 1);
    ASSERT_TRUE(remote.ok());
    EXPECT_EQ(remote->scalars, r->scalars);
  }
  // The registry's model rejects a workload of another type.
  auto wrong = Run("memory.cma", se.system, se.system, 1);
  EXPECT_FALSE(wrong.ok());
}

TEST_F(MemoryFamilyTest, MemoryKindEstimatesSizesTimesPerSize) {
  const family::WorkloadKind& k = Kind("memory");
  family::CollectedErrors errors;
  auto p = Parse("memory",
                 "memory:\n"
                 "  requests: {sizes: [1, 16, 256, 1MiB, 5000], per_size: 3, arrival: {kind: fixed, rate: 10}, "
                 "start: 1s, hold: 100ms}\n",
                 errors);
  ASSERT_TRUE(p.has_value()) << errors.text();
  EXPECT_FALSE(p->generator_yaml.empty());
  family::WorkloadEstimate e = k.estimate(*p);
  EXPECT_EQ(e.requests, 15);
  EXPECT_EQ(e.trace_records, 15u);
  EXPECT_GT(e.duration_ns, 2400 * kMs);  // at least to the last arrival, 1 s + 14 / (10/s)
  auto a = k.build(*p, 3);
  auto b = k.build(*p, 3);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(k.digest(*a), k.digest(*b));
  const MemWorkload* w = a->As<MemWorkload>();
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->foreground.calls.size(), 15u);
  std::map<uint64_t, int> sizes;
  for (const ContigCall& c : w->foreground.calls) ++sizes[c.pages];
  EXPECT_EQ(sizes, (std::map<uint64_t, int>{{1, 3}, {16, 3}, {256, 6}, {5000, 3}}));  // 1MiB = 256 pages
  // A bad size names its entry.
  family::CollectedErrors bad;
  EXPECT_FALSE(Parse("memory", "memory:\n  requests: {sizes: [1, 2 pages]}\n", bad).has_value());
  EXPECT_NE(bad.text().find("workloads[0].memory.requests.sizes[1]"), std::string::npos) << bad.text();
}

}  // namespace
}  // namespace kreplay::memory
