#include "services/family/family.h"

#include <gtest/gtest.h>

namespace kreplay::family {
namespace {

FamilyInfo Named(const std::string& name, const std::string& trace_family) {
  FamilyInfo f;
  f.name = name;
  f.trace_family = trace_family;
  return f;
}

TEST(CatalogTest, FamiliesAreFoundByNameAndTraceFamily) {
  Catalog c;
  ASSERT_TRUE(c.RegisterFamily(Named("toy", "toytrace")).ok());
  ASSERT_TRUE(c.RegisterFamily(Named("alpha", "")).ok());
  ASSERT_NE(c.Find("toy"), nullptr);
  EXPECT_EQ(c.FindByTraceFamily("toytrace"), c.Find("toy"));
  EXPECT_EQ(c.FindByTraceFamily(""), nullptr) << "a family without traces is not found by an empty name";
  EXPECT_EQ(c.Find("nope"), nullptr);
  FamilyInfo renamed = Named("renamed", "renamed");
  renamed.legacy_trace_families = {"oldname"};
  ASSERT_TRUE(c.RegisterFamily(renamed).ok());
  EXPECT_EQ(c.FindByTraceFamily("oldname"), c.Find("renamed")) << "traces stored under an older name still read";
  ASSERT_EQ(c.List().size(), 3u);
  EXPECT_EQ(c.List()[0]->name, "alpha");
}

TEST(CatalogTest, DuplicatesAreRefused) {
  Catalog c;
  ASSERT_TRUE(c.RegisterFamily(Named("toy", "t")).ok());
  EXPECT_EQ(c.RegisterFamily(Named("toy", "u")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(c.RegisterFamily(Named("other", "t")).code(), StatusCode::kAlreadyExists);
}

TEST(CatalogTest, ATraceInspectorMustBeComplete) {
  Catalog c;
  FamilyInfo f = Named("half", "");
  f.trace_inspector = TraceInspector{"half traces", nullptr, nullptr};
  EXPECT_EQ(c.RegisterFamily(f).code(), StatusCode::kInvalidArgument);
  f.trace_inspector->sniff = [](std::string_view) { return true; };
  f.trace_inspector->add_flags = [](CLI::App&) { return std::function<int(TraceInput)>(); };
  EXPECT_TRUE(c.RegisterFamily(f).ok());
}

TEST(CatalogTest, ModelsNeedARegisteredFamily) {
  Catalog c;
  model::ModelInfo m;
  m.name = "toy.one";
  m.family = "toy";
  EXPECT_EQ(c.models().Register(m).code(), StatusCode::kInvalidArgument) << "family not registered yet";
  ASSERT_TRUE(c.RegisterFamily(Named("toy", "")).ok());
  EXPECT_TRUE(c.models().Register(m).ok());
  EXPECT_NE(c.models().Find("toy.one"), nullptr);
}

TEST(AnyRefTest, DowncastIsChecked) {
  int i = 3;
  double d = 2.5;
  model::AnyRef ri = model::AnyRef::Of(&i);
  ASSERT_NE(ri.As<int>(), nullptr);
  EXPECT_EQ(*ri.As<int>(), 3);
  EXPECT_EQ(ri.As<double>(), nullptr) << "another type reads as missing, never as garbage";
  EXPECT_FALSE(model::AnyRef());
  EXPECT_EQ(model::AnyRef().As<int>(), nullptr);
  model::AnyMutRef rd = model::AnyMutRef::Of(&d);
  *rd.As<double>() = 4.0;
  EXPECT_EQ(d, 4.0);
  model::AnyValue v = model::AnyValue::Make(std::string("held"), 4);
  model::AnyValue copy = v;
  EXPECT_EQ(copy.As<std::string>(), v.As<std::string>()) << "copies share one value";
  EXPECT_EQ(copy.ApproxBytes(), 4u);
  EXPECT_EQ(v.As<int>(), nullptr);
}

}  // namespace
}  // namespace kreplay::family
