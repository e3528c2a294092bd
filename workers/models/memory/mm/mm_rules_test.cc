#include "workers/models/memory/mm/mm_rules.h"

#include <gtest/gtest.h>

namespace kreplay::mm {
namespace {

TEST(MmRulesTest, ReleaseSwitches) {
  auto r61 = MmRulesFor("6.1");
  ASSERT_TRUE(r61.ok());
  EXPECT_TRUE(r61->cma_first);
  EXPECT_TRUE(r61->merge_guard_non_mergeable);
  EXPECT_TRUE(r61->pcp_high_order);
  EXPECT_TRUE(r61->pcp_scaled);
  EXPECT_TRUE(r61->pcp_free_high);
  EXPECT_EQ(r61->min_free_kbytes_max, 262144);

  auto r54 = MmRulesFor("v5.4");
  ASSERT_TRUE(r54.ok());
  EXPECT_FALSE(r54->cma_first);
  EXPECT_FALSE(r54->merge_guard_non_mergeable);
  EXPECT_FALSE(r54->pcp_high_order);
  EXPECT_FALSE(r54->pcp_scaled);
  EXPECT_FALSE(r54->pcp_free_high);
  EXPECT_EQ(r54->min_free_kbytes_max, 65536);

  // Each boundary on both sides.
  EXPECT_FALSE(MmRulesFor("5.6")->cma_first);
  EXPECT_TRUE(MmRulesFor("5.7")->cma_first);
  EXPECT_FALSE(MmRulesFor("5.12")->pcp_high_order);
  EXPECT_TRUE(MmRulesFor("5.13")->pcp_high_order);
  EXPECT_FALSE(MmRulesFor("5.13")->pcp_scaled);
  EXPECT_TRUE(MmRulesFor("5.14")->pcp_scaled);
  EXPECT_FALSE(MmRulesFor("5.17")->merge_guard_non_mergeable);
  EXPECT_TRUE(MmRulesFor("5.18")->merge_guard_non_mergeable);
  EXPECT_FALSE(MmRulesFor("5.18")->pcp_free_high);
  EXPECT_TRUE(MmRulesFor("5.19")->pcp_free_high);
  EXPECT_EQ(MmRulesFor("6.2")->ToString(), "6.2");
}

TEST(MmRulesTest, RefusesWhatIsNotModelled) {
  for (const char* v : {"6.3", "6.6", "5.3", "4.19", "5.20", "6", "6.1.3", "abc", ""}) {
    auto r = MmRulesFor(v);
    EXPECT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << v;
    EXPECT_NE(r.status().message().find("kernel_version"), std::string::npos) << v;
  }
}

}  // namespace
}  // namespace kreplay::mm
