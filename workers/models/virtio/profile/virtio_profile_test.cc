// Virtio profiles: the shipped files read and round-trip through the
// writer; MemcpyNs() interpolates as its contract says (expectations worked
// out by hand); bad files fail naming the file, line and field.
#include "workers/models/virtio/profile/virtio_profile.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kreplay::virtio {
namespace {

TEST(VirtioProfile, BuiltinsLoadAndRoundTrip) {
  EXPECT_EQ(BuiltinVirtioProfileNames(), (std::vector<std::string>{"server-x86", "vm-2core"}));
  for (const std::string& name : BuiltinVirtioProfileNames()) {
    auto p = LoadBuiltinVirtioProfile(name);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->name, name);
    EXPECT_FALSE(p->source.empty());
    EXPECT_GE(p->memcpy.size(), 8u) << name;
    // Every field a model reads says where its value comes from.
    for (const VirtioCostField& c : VirtioCostFields())
      EXPECT_EQ(p->sources.count(c.name), 1u) << name << " " << c.name;
    EXPECT_EQ(p->sources.count("memcpy"), 1u) << name;
    auto back = ParseVirtioProfileYaml(VirtioProfileYaml(*p), name + " (written)");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(CanonicalVirtioProfileText(*back), CanonicalVirtioProfileText(*p)) << name;
    EXPECT_EQ(VirtioProfileYaml(*back), VirtioProfileYaml(*p)) << name;
  }
  auto server = *LoadBuiltinVirtioProfile("server-x86");
  EXPECT_FALSE(server.nested);
  EXPECT_LT(server.posted_irq_ns, server.irq_inject_ns);
  auto vm = *LoadBuiltinVirtioProfile("vm-2core");
  EXPECT_EQ(vm.cpus, 2);
  EXPECT_TRUE(vm.nested);
  // The VM's primitives come from a calibration run on it.
  EXPECT_NE(vm.source.find("kreplay calibrate virtio"), std::string::npos);
  for (const char* f : {"vm_exit_ns", "ioeventfd_ns", "syscall_ns", "eventfd_wake_ns", "futex_wake_ns",
                        "context_switch_ns", "cacheline_transfer_ns", "atomic_ns", "memcpy"}) {
    EXPECT_EQ(vm.sources.at(f).rfind("measured: ", 0), 0u) << f;
  }
  // The server's values are all documented or stated estimates.
  for (const auto& [field, why] : server.sources) {
    EXPECT_TRUE(why.rfind("documented", 0) == 0 || why.rfind("estimate: ", 0) == 0) << field << ": " << why;
  }
  auto missing = LoadBuiltinVirtioProfile("server-x68");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("known: server-x86, vm-2core"), std::string::npos);
  EXPECT_FALSE(BuiltinVirtioProfileYaml("nope").ok());
}

// A profile with three memcpy points; every cost field set to a distinct value.
std::string Minimal() {
  std::string y =
      "name: t\n"       // 1
      "source: s\n"     // 2
      "cpus: 2\n"       // 3
      "cpu_ghz: 2.5\n"  // 4
      "nested: true\n"  // 5
      "costs:\n";       // 6
  int i = 1;
  for (const VirtioCostField& c : VirtioCostFields())
    y += std::string("  ") + c.key + ": " + std::to_string(i++) + "\n";
  y += "memcpy:\n"
       "  - {bytes: 64, hot: 10, cold: 40}\n"
       "  - {bytes: 1024, hot: 50, cold: 200}\n"
       "  - {bytes: 1048576, hot: 30000, cold: 90000}\n";
  return y;
}

TEST(VirtioProfile, ParsesEveryField) {
  auto p = ParseVirtioProfileYaml(
      Minimal() + "sources:\n  vm_exit_ns: \"measured: CPUID\"\n  memcpy: \"documented: x\"\n", "t.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->description, "");
  EXPECT_EQ(p->cpus, 2);
  EXPECT_EQ(p->cpu_ghz, 2.5);
  EXPECT_TRUE(p->nested);
  double want = 1;
  for (const VirtioCostField& c : VirtioCostFields()) EXPECT_EQ((*p).*c.field, want++) << c.name;
  EXPECT_EQ(p->vm_exit_ns, 1);
  EXPECT_EQ(p->mbuf_ns, static_cast<double>(VirtioCostFields().size()));  // the table's last
  ASSERT_EQ(p->memcpy.size(), 3u);
  EXPECT_EQ(p->memcpy[1].bytes, 1024u);
  EXPECT_EQ(p->memcpy[1].cold_ns, 200);
  EXPECT_EQ(p->sources.at("vm_exit_ns"), "measured: CPUID");
}

TEST(VirtioProfile, MemcpyInterpolation) {
  auto p = *ParseVirtioProfileYaml(Minimal(), "t.yaml");
  EXPECT_EQ(p.MemcpyNs(0, false), 0);
  // On the points.
  EXPECT_DOUBLE_EQ(p.MemcpyNs(64, false), 10);
  EXPECT_DOUBLE_EQ(p.MemcpyNs(64, true), 40);
  EXPECT_DOUBLE_EQ(p.MemcpyNs(1024, true), 200);
  EXPECT_DOUBLE_EQ(p.MemcpyNs(1048576, false), 30000);
  // Between 64 and 1024: 544 B is half way: 10 + 0.5 * 40 = 30; cold 40 + 0.5 * 160 = 120.
  EXPECT_DOUBLE_EQ(p.MemcpyNs(544, false), 30);
  EXPECT_DOUBLE_EQ(p.MemcpyNs(544, true), 120);
  // 256 B: t = 192 / 960 = 0.2: hot 10 + 8 = 18; cold 40 + 32 = 72.
  EXPECT_DOUBLE_EQ(p.MemcpyNs(256, false), 18);
  EXPECT_DOUBLE_EQ(p.MemcpyNs(256, true), 72);
  // Between 1 KiB and 1 MiB: 524800 B is half way: hot (50 + 30000) / 2 = 15025.
  EXPECT_DOUBLE_EQ(p.MemcpyNs(524800, false), 15025);
  // Below the first point, proportional: 16 B = 1/4 of 64 B: hot 2.5, cold 10.
  EXPECT_DOUBLE_EQ(p.MemcpyNs(16, false), 2.5);
  EXPECT_DOUBLE_EQ(p.MemcpyNs(16, true), 10);
  EXPECT_DOUBLE_EQ(p.MemcpyNs(1, false), 10.0 / 64);
  // Above the last point at the last segment's slope:
  // hot (30000 - 50) / (1048576 - 1024) per byte; 2 MiB = last + 1048576 B.
  const double hot_slope = 29950.0 / 1047552.0, cold_slope = 89800.0 / 1047552.0;
  EXPECT_NEAR(p.MemcpyNs(2097152, false), 30000 + 1048576 * hot_slope, 1e-6);
  EXPECT_NEAR(p.MemcpyNs(2097152, true), 90000 + 1048576 * cold_slope, 1e-6);
  // Monotone in size, cold >= hot, across the range.
  double prev_hot = 0, prev_cold = 0;
  for (uint64_t b = 1; b <= (uint64_t{4} << 20); b = b * 3 / 2 + 1) {
    double h = p.MemcpyNs(b, false), c = p.MemcpyNs(b, true);
    EXPECT_GE(h, prev_hot) << b;
    EXPECT_GE(c, prev_cold) << b;
    EXPECT_GE(c, h) << b;
    prev_hot = h;
    prev_cold = c;
  }
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(VirtioProfile, ErrorsNameFileLineAndField) {
  ASSERT_TRUE(ParseVirtioProfileYaml(Minimal(), "f.yaml").ok());
  const int first_cost_line = 7;  // costs start after the 6 lines of Minimal()'s header
  struct Case {
    std::string text;
    std::string want;
  } cases[] = {
      {Replace(Minimal(), "  vm_exit: 1\n", "  vm_exit: -1\n"),
       "f.yaml:" + std::to_string(first_cost_line) + ": costs.vm_exit: must be a finite non-negative number"},
      {Replace(Minimal(), "  vm_exit: 1\n", "  vm_exit: .nan\n"), "costs.vm_exit: expected a number"},
      {Replace(Minimal(), "  vm_exit: 1\n", "  vm_exit: nan\n"),
       "f.yaml:7: costs.vm_exit: expected a number, got 'nan'"},
      {Replace(Minimal(), "  ioeventfd: 2\n", "  ioeventfd: inf\n"), "f.yaml:8: costs.ioeventfd: expected a number"},
      {Replace(Minimal(), "  ioeventfd: 2\n", "  ioeventfd: 1e400\n"), "f.yaml:8: costs.ioeventfd: expected a number"},
      // A missing key points at its map (the line of the map's first key).
      {Replace(Minimal(), "  ioeventfd: 2\n", ""), "f.yaml:7: costs.ioeventfd: missing"},
      {Replace(Minimal(), "  ioeventfd: 2\n", "  ioeventfd: 2\n  warp: 3\n"), "f.yaml:9: costs.warp: unknown key"},
      {Minimal() + "colour: blue\n", "<document>.colour: unknown key"},
      {Replace(Minimal(), "cold: 200}", "cold: 20}"), "memcpy[1].cold: must be >= hot (50)"},
      {Replace(Minimal(), "bytes: 1024,", "bytes: 64,"),
       "memcpy[1].bytes: must be greater than the previous point's (64)"},
      {Replace(Minimal(), "bytes: 1048576,", "bytes: 65536,"),
       "memcpy: needs at least two points covering 64 B .. 1 MiB"},
      {Replace(Minimal(), "bytes: 64,", "bytes: 128,"), "memcpy: needs at least two points"},
      {Replace(Minimal(), "{bytes: 64, hot: 10, cold: 40}", "{bytes: 64, hot: 10, cold: 40, warm: 1}"),
       "memcpy[0].warm: unknown key"},
      {Replace(Minimal(), "nested: true", "nested: maybe"), "f.yaml:5: nested: expected true or false"},
      {Replace(Minimal(), "source: s\n", ""), "source: missing"},
      {Minimal() + "sources:\n  vm_exit: \"x\"\n", "sources.vm_exit: unknown key"},
      {"name: [", "f.yaml:"},
  };
  for (const Case& c : cases) {
    auto p = ParseVirtioProfileYaml(c.text, "f.yaml");
    ASSERT_FALSE(p.ok()) << c.want;
    EXPECT_NE(p.status().message().find(c.want), std::string::npos) << p.status().message() << "\nwant: " << c.want;
  }
}

TEST(VirtioProfile, WriterQuotesStringsAndKeepsDoublesExact) {
  auto p = *ParseVirtioProfileYaml(Minimal(), "t.yaml");
  p.description = "a \"quoted\"\\ line\nand\ta tab";
  p.vm_exit_ns = 0.1 + 0.2;  // not a short decimal
  p.memcpy[0].hot_ns = 1.0 / 3.0;
  p.sources["memcpy"] = "measured: x: y";
  auto back = ParseVirtioProfileYaml(VirtioProfileYaml(p), "w.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << VirtioProfileYaml(p);
  EXPECT_EQ(back->description, p.description);
  EXPECT_EQ(back->vm_exit_ns, p.vm_exit_ns);
  EXPECT_EQ(back->memcpy[0].hot_ns, p.memcpy[0].hot_ns);
  EXPECT_EQ(back->sources, p.sources);
  EXPECT_EQ(CanonicalVirtioProfileText(*back), CanonicalVirtioProfileText(p));
  // The canonical text leaves out what models do not read.
  VirtioProfile q = p;
  q.description = "other";
  q.source = "other";
  q.sources.clear();
  EXPECT_EQ(CanonicalVirtioProfileText(q), CanonicalVirtioProfileText(p));
  q.tap_ns += 1;
  EXPECT_NE(CanonicalVirtioProfileText(q), CanonicalVirtioProfileText(p));
}

}  // namespace
}  // namespace kreplay::virtio
