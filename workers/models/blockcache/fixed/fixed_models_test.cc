#include <gtest/gtest.h>

#include <cmath>

#include "services/model/params.h"
#include "workers/models/blockcache/fixed/fixed_models.h"
#include "workers/models/blockcache/fixed/fixed_test_util.h"

namespace kreplay::blockcache {
namespace {

using testing::Fixture;
using testing::RefRun;

class FixedModels : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.RegisterFamily("blockcache").ok());
    ASSERT_TRUE(RegisterFixedModels(registry_).ok());
  }
  StatusOr<model::Result> Run(const std::string& name, const std::map<std::string, model::ParamValue>& given,
                              const workload::BlockWorkload* w) {
    const model::ModelInfo* info = registry_.Find(name);
    EXPECT_NE(info, nullptr) << name;
    auto params = model::ResolveParams(info->params, given, "params");
    EXPECT_TRUE(params.ok()) << params.status().ToString();
    params_ = params.value();
    model::RunInput in;
    in.params = &params_;
    in.workload = model::AnyRef::Of(w);
    return info->run(in);
  }
  model::Registry registry_;
  model::ParamSet params_;
};

TEST_F(FixedModels, RegistersSelfDescribingModels) {
  for (const char* name : {"block.lru", "block.fifo", "block.mrc"}) {
    const model::ModelInfo* m = registry_.Find(name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_FALSE(m->description.empty());
    for (const auto& p : m->params) EXPECT_FALSE(p.help.empty()) << name << "." << p.name;
    for (const auto& x : m->metrics) {
      EXPECT_FALSE(x.help.empty()) << name << "." << x.name;
      EXPECT_FALSE(x.unit.empty()) << name << "." << x.name;
    }
  }
}

TEST_F(FixedModels, NullWorkloadIsInvalidArgument) {
  for (const char* name : {"block.lru", "block.fifo", "block.mrc"}) {
    auto r = Run(name, {}, nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(FixedModels, LruAndFifoReportReferenceCounts) {
  auto w = Fixture();
  for (bool lru : {true, false}) {
    auto r = Run(lru ? "block.lru" : "block.fifo", {{"cache_size", int64_t{300 * 8192}}, {"block_size", int64_t{8192}}}, &w);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto ref = RefRun(w, lru, 300, 8192);
    EXPECT_EQ(r->scalars.at("hits").value, static_cast<double>(ref.hits));
    EXPECT_EQ(r->scalars.at("misses").value, static_cast<double>(ref.misses));
    EXPECT_EQ(r->scalars.at("requests").value, static_cast<double>(ref.requests));
    EXPECT_EQ(r->scalars.at("block_accesses").value, static_cast<double>(ref.block_accesses));
    EXPECT_DOUBLE_EQ(r->scalars.at("miss_ratio").value,
                     static_cast<double>(ref.misses) / static_cast<double>(ref.block_accesses));
    EXPECT_EQ(r->scalars.at("cache_blocks").value, 300);
  }
}

// Several configurations in one pass give what each gives alone, bit for bit
// (mixed block sizes form separate passes).
TEST_F(FixedModels, BatchEqualsSeparateRuns) {
  auto w = Fixture();
  for (const char* name : {"block.lru", "block.fifo"}) {
    const model::ModelInfo* info = registry_.Find(name);
    ASSERT_TRUE(info->run_batch) << name;
    std::vector<model::ParamSet> sets;
    for (auto [size, block] : std::vector<std::pair<int64_t, int64_t>>{
             {100 * 4096, 4096}, {300 * 8192, 8192}, {1000 * 4096, 4096}, {0, 4096}, {7 * 8192, 8192}}) {
      auto p = model::ResolveParams(info->params, {{"cache_size", size}, {"block_size", block}}, "params");
      ASSERT_TRUE(p.ok());
      sets.push_back(*p);
    }
    std::vector<const model::ParamSet*> ptrs;
    for (const auto& p : sets) ptrs.push_back(&p);
    model::RunInput in;
    in.workload = model::AnyRef::Of(&w);
    auto batch = info->run_batch(in, ptrs);
    ASSERT_EQ(batch.size(), sets.size());
    for (size_t i = 0; i < sets.size(); ++i) {
      in.params = &sets[i];
      auto alone = info->run(in);
      ASSERT_TRUE(alone.ok() && batch[i].ok()) << name << " " << i;
      EXPECT_EQ(batch[i]->scalars, alone->scalars) << name << " config " << i;
      EXPECT_EQ(batch[i]->sim_events, alone->sim_events);
      // And against the plain reference, which shares no code with the model.
      const int64_t block = sets[i].Int("block_size");
      auto ref = RefRun(w, std::string(name) == "block.lru", static_cast<uint64_t>(sets[i].Int("cache_size") / block),
                        static_cast<uint32_t>(block));
      EXPECT_EQ(batch[i]->scalars.at("misses").value, static_cast<double>(ref.misses)) << name << " config " << i;
      EXPECT_EQ(batch[i]->scalars.at("hits").value, static_cast<double>(ref.hits)) << name << " config " << i;
    }
  }
}

TEST_F(FixedModels, MrcReportsCurveAndSizesForHitRatios) {
  auto w = Fixture();
  auto r = Run("block.mrc", {{"sizes", std::string("4096, 409600,4096000")}}, &w);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (uint64_t blocks : {1ull, 100ull, 1000ull}) {
    auto ref = RefRun(w, true, blocks, 4096);
    double want = static_cast<double>(ref.misses) / static_cast<double>(ref.block_accesses);
    EXPECT_NEAR(r->scalars.at("fixed_lru_miss_ratio." + std::to_string(blocks * 4096)).value, want, 1e-12);
  }
  const auto& series = r->series.at("fixed_lru_mrc");
  EXPECT_EQ(series.t, (std::vector<sim::Time>{4096, 409600, 4096000}));
  EXPECT_EQ(r->scalars.at("sampling_rate").value, 1);
  EXPECT_EQ(r->scalars.at("mrc_error_estimate").value, 0);
  // The answer for 50 %: an LRU of that size reaches it, one block less does not.
  ASSERT_TRUE(r->scalars.count("size_for_hit_ratio_50"));
  auto blocks = static_cast<uint64_t>(r->scalars.at("size_for_hit_ratio_50").value / 4096);
  auto at = RefRun(w, true, blocks, 4096), below = RefRun(w, true, blocks - 1, 4096);
  EXPECT_GE(static_cast<double>(at.hits) / static_cast<double>(at.block_accesses), 0.5);
  EXPECT_LT(static_cast<double>(below.hits) / static_cast<double>(below.block_accesses), 0.5);
  // Unreachable targets are absent, not invented.
  double best = r->scalars.at("max_hit_ratio").value;
  ASSERT_LT(best, 0.99);
  EXPECT_EQ(r->scalars.count("size_for_hit_ratio_99"), 0u);

  auto def = Run("block.mrc", {{"points", int64_t{20}}}, &w);
  ASSERT_TRUE(def.ok());
  const auto& s = def->series.at("fixed_lru_mrc");
  EXPECT_EQ(s.t.size(), 20u);
  EXPECT_EQ(s.t.front(), 4096);
  EXPECT_EQ(static_cast<double>(s.t.back()), def->scalars.at("distinct_blocks").value * 4096);
  for (size_t i = 1; i < s.value.size(); ++i) EXPECT_LE(s.value[i], s.value[i - 1]);
  EXPECT_NEAR(s.value.back(), 1 - best, 1e-12);

  auto sampled = Run("block.mrc", {{"sampling_rate", 0.5}}, &w);
  ASSERT_TRUE(sampled.ok());
  EXPECT_GT(sampled->scalars.at("mrc_error_estimate").value, 0);
  EXPECT_NEAR(sampled->scalars.at("sampling_rate").value, 0.5, 1e-6);

  auto bad = Run("block.mrc", {{"sizes", std::string("4096,lots")}}, &w);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("params.sizes[1]"), std::string::npos);
}

}  // namespace
}  // namespace kreplay::blockcache
