#include <gtest/gtest.h>

#include "services/model/params.h"
#include "services/model/registry.h"

namespace kreplay::model {
namespace {

std::vector<ParamSpec> Specs() {
  return {
      {"hz", ParamType::kInt, "Hz", int64_t{100}, 10, 1000, {}, "tick rate"},
      {"governor", ParamType::kEnum, "", std::string("performance"), {}, {}, {"performance", "powersave"}, "DVFS"},
      {"up", ParamType::kDouble, "", 700.0, 0, 1024, {}, "threshold"},
  };
}

TEST(Params, DefaultsFilledAndCanonical) {
  auto ps = ResolveParams(Specs(), {{"hz", int64_t{250}}}, "variants[0].params");
  ASSERT_TRUE(ps.ok()) << ps.status().ToString();
  EXPECT_EQ(ps->Int("hz"), 250);
  EXPECT_EQ(ps->Str("governor"), "performance");
  EXPECT_EQ(ps->Canonical(), "governor=performance;hz=250;up=700");
}

TEST(Params, AllErrorsReportedWithFieldNames) {
  auto ps = ResolveParams(Specs(), {{"hz", int64_t{5}}, {"governor", std::string("turbo")}, {"bogus", true}},
                          "variants[1].params");
  ASSERT_FALSE(ps.ok());
  const std::string& m = ps.status().message();
  EXPECT_NE(m.find("variants[1].params.hz: 5 is out of bounds [10, 1000] Hz"), std::string::npos) << m;
  EXPECT_NE(m.find("variants[1].params.governor: 'turbo' is not one of: performance, powersave"), std::string::npos) << m;
  EXPECT_NE(m.find("variants[1].params.bogus: unknown parameter"), std::string::npos) << m;
}

TEST(Params, PowerOfTwoRefusesOtherSizesNamingTheField) {
  ParamSpec ring = IntParam("queue_size", "", 256, 1, 32768, "ring size");
  ring.power_of_two = true;
  EXPECT_TRUE(ResolveParams({ring}, {{"queue_size", int64_t{32768}}}, "p").ok());
  EXPECT_TRUE(ResolveParams({ring}, {{"queue_size", int64_t{1}}}, "p").ok());
  auto bad = ResolveParams({ring}, {{"queue_size", int64_t{300}}}, "variants[0].params");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "variants[0].params.queue_size: 300 is not a power of two");
  auto big = ResolveParams({ring}, {{"queue_size", int64_t{65536}}}, "p");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("p.queue_size: 65536 is out of bounds [1, 32768]"), std::string::npos);
}

TEST(Params, IntegralDoubleAcceptedForIntButFractionRejected) {
  EXPECT_TRUE(ResolveParams(Specs(), {{"hz", 300.0}}, "p").ok());
  EXPECT_FALSE(ResolveParams(Specs(), {{"hz", 300.5}}, "p").ok());
}

TEST(Registry, RejectsDuplicatesAndListsSorted) {
  Registry r;
  EXPECT_EQ(r.Register({.name = "b", .family = "x"}).code(), StatusCode::kInvalidArgument) << "family x unknown";
  ASSERT_TRUE(r.RegisterFamily("x").ok());
  EXPECT_EQ(r.RegisterFamily("x").code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(r.Register({.name = "b", .family = "x"}).ok());
  ASSERT_TRUE(r.Register({.name = "a", .family = "x"}).ok());
  EXPECT_FALSE(r.Register({.name = "a", .family = "x"}).ok());
  EXPECT_EQ(r.Names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.Find("zzz"), nullptr);
}

TEST(Registry, ReservedNamesCannotBeTakenAndSayWhy) {
  Registry r;
  ASSERT_TRUE(r.RegisterFamily("x").ok());
  EXPECT_EQ(r.Reserve("x.later", "y", "soon").code(), StatusCode::kInvalidArgument) << "family y unknown";
  EXPECT_EQ(r.Reserve("y.later", "x", "soon").code(), StatusCode::kInvalidArgument) << "not a name of family x";
  EXPECT_EQ(r.Reserve("x.", "x", "soon").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(r.Reserve("x.later", "x", "a later issue builds it").ok());
  EXPECT_EQ(r.Reserve("x.later", "x", "again").code(), StatusCode::kAlreadyExists);
  Status taken = r.Register({.name = "x.later", .family = "x"});
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(taken.message().find("reserved: a later issue builds it"), std::string::npos) << taken.ToString();
  ASSERT_NE(r.Reserved("x.later"), nullptr);
  EXPECT_EQ(*r.Reserved("x.later"), "a later issue builds it");
  EXPECT_EQ(r.Reserved("x.other"), nullptr);
  EXPECT_EQ(r.Find("x.later"), nullptr);
  EXPECT_TRUE(r.Names().empty()) << "reserved names are not models";
  ASSERT_TRUE(r.Register({.name = "x.now", .family = "x"}).ok());
  EXPECT_EQ(r.Reserve("x.now", "x", "late").code(), StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace kreplay::model
