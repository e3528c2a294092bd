// calibrate virtio on this host, quickly (one repeat, a small cold working
// set): the figures obey laws that hold on any host, every field says where
// it comes from, and the profile reads back. No host figure is asserted.
#include "workers/models/virtio/calibrate/calibrate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace kreplay::virtio {
namespace {

bool CpuinfoHasHypervisorFlag() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) return (line + " ").find(" hypervisor ") != std::string::npos;
  }
  return false;
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

CalibrateOptions Quick() {
  CalibrateOptions o;
  o.name = "test-host";
  o.repeats = 3;  // medians of 3: one run disturbed by another task does not decide
  o.cold_mib = 64;
  return o;
}

TEST(CalibrateVirtio, MeasuresThisHostWithinTheLawsOfAnyHost) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs 2 online CPUs";
  VirtioProfile base = *LoadBuiltinVirtioProfile("server-x86");
  std::vector<std::string> lines;
  auto p = CalibrateVirtioHost(Quick(), base, [&](const std::string& s) { lines.push_back(s); });
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_GE(lines.size(), 6u);
  EXPECT_EQ(p->name, "test-host");
  EXPECT_EQ(p->cpus, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));

  // memcpy: 64 B .. 1 MiB in powers of 4; a cold copy costs more than a hot
  // one (strictly: a miss to DRAM is never free); a copy four times larger
  // never costs less, up to timing noise (64 B and 256 B cold are both about
  // one DRAM latency; 25 % allowed), and 1 MiB costs far more than 64 B.
  ASSERT_EQ(p->memcpy.size(), 8u);
  EXPECT_EQ(p->memcpy.front().bytes, 64u);
  EXPECT_EQ(p->memcpy.back().bytes, 1u << 20);
  for (size_t i = 0; i < p->memcpy.size(); ++i) {
    const MemcpyPoint& m = p->memcpy[i];
    EXPECT_GT(m.hot_ns, 0) << m.bytes;
    EXPECT_GT(m.cold_ns, m.hot_ns) << m.bytes;
    if (i > 0) {
      EXPECT_GE(m.hot_ns, 0.75 * p->memcpy[i - 1].hot_ns) << m.bytes;
      EXPECT_GE(m.cold_ns, 0.75 * p->memcpy[i - 1].cold_ns) << m.bytes;
    }
  }
  EXPECT_GT(p->memcpy.back().hot_ns, 100 * p->memcpy.front().hot_ns);
  EXPECT_GT(p->memcpy.back().cold_ns, 100 * p->memcpy.front().cold_ns);
  // A wake-up on another CPU is a syscall and then some.
  EXPECT_GT(p->syscall_ns, 0);
  EXPECT_GT(p->eventfd_wake_ns, p->syscall_ns);
  EXPECT_GT(p->futex_wake_ns, p->syscall_ns);
  EXPECT_GT(p->eventfd_signal_ns, 0);
  EXPECT_GT(p->context_switch_ns, p->syscall_ns);
  EXPECT_GT(p->cacheline_transfer_ns, 0);
  EXPECT_GT(p->atomic_ns, 0);

  // nested says whether this host is a VM, whether or not KVM was measured:
  // a CPU that reports the hypervisor flag runs in one (other signs, such
  // as /sys/hypervisor, may say so without the flag).
  if (CpuinfoHasHypervisorFlag()) EXPECT_TRUE(p->nested);
  EXPECT_EQ(p->sources.count("nested"), 1u);
  if (StartsWith(p->sources.at("vm_exit_ns"), "measured")) {
    EXPECT_GT(p->vm_exit_ns, 0);
    EXPECT_GE(p->ioeventfd_ns, 0);
  } else {
    EXPECT_EQ(p->vm_exit_ns, base.vm_exit_ns);
  }

  // Every field says whether it was measured here or taken from the base.
  for (const std::string& f : VirtioSourceFields()) {
    ASSERT_EQ(p->sources.count(f), 1u) << f;
    const std::string& s = p->sources.at(f);
    EXPECT_TRUE(StartsWith(s, "measured: ") || StartsWith(s, "from base profile 'server-x86': ")) << f << ": " << s;
  }
  for (const char* f : {"memcpy", "syscall_ns", "eventfd_wake_ns", "context_switch_ns", "cacheline_transfer_ns"}) {
    EXPECT_TRUE(StartsWith(p->sources.at(f), "measured: ")) << f;
  }
  EXPECT_EQ(p->blk_submit_ns, base.blk_submit_ns);
  EXPECT_TRUE(StartsWith(p->sources.at("blk_submit_ns"), "from base profile 'server-x86': documented"));
  EXPECT_NE(p->source.find("kreplay calibrate virtio"), std::string::npos);

  std::string yaml = VirtioProfileYaml(*p);
  auto back = ParseVirtioProfileYaml(yaml, "calibrated.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  EXPECT_EQ(CanonicalVirtioProfileText(*back), CanonicalVirtioProfileText(*p));
}

TEST(CalibrateVirtio, WithoutKvmTheBaseValuesStay) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs 2 online CPUs";
  VirtioProfile base = *LoadBuiltinVirtioProfile("server-x86");
  CalibrateOptions o = Quick();
  o.kvm = false;
  std::string said;
  auto p = CalibrateVirtioHost(o, base, [&](const std::string& s) { said += s + "\n"; });
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->vm_exit_ns, base.vm_exit_ns);
  EXPECT_EQ(p->ioeventfd_ns, base.ioeventfd_ns);
  EXPECT_TRUE(StartsWith(p->sources.at("vm_exit_ns"), "from base profile 'server-x86': "));
  EXPECT_NE(said.find("KVM not measured"), std::string::npos) << said;
  EXPECT_NE(p->source.find("KVM not measured"), std::string::npos);
}

TEST(CalibrateVirtio, RefusesBadOptions) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs 2 online CPUs (else that is the refusal)";
  VirtioProfile base = *LoadBuiltinVirtioProfile("server-x86");
  CalibrateOptions o;
  o.cpu_b = o.cpu_a;
  auto same = CalibrateVirtioHost(o, base, nullptr);
  EXPECT_EQ(same.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(same.status().message().find("cpu_a and cpu_b"), std::string::npos) << same.status().message();
  o = CalibrateOptions{};
  o.repeats = 0;
  auto repeats = CalibrateVirtioHost(o, base, nullptr);
  EXPECT_FALSE(repeats.ok());
  EXPECT_NE(repeats.status().message().find("repeats"), std::string::npos) << repeats.status().message();
  o = CalibrateOptions{};
  o.cold_mib = 1;
  auto cold = CalibrateVirtioHost(o, base, nullptr);
  EXPECT_FALSE(cold.ok());
  EXPECT_NE(cold.status().message().find("cold_mib"), std::string::npos) << cold.status().message();
}

}  // namespace
}  // namespace kreplay::virtio
