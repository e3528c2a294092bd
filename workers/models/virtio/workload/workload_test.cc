// The virtio family's generated workloads: spec errors (line and field),
// determinism per seed, and the statistics of what is drawn, with bounds
// from the distributions themselves (never from a generator's output).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "workers/models/virtio/workload/block_jobs.h"
#include "workers/models/virtio/workload/from_block_trace.h"
#include "workers/models/virtio/workload/packets.h"
#include "workers/models/virtio/workload/virtio_workload.h"

namespace kreplay::virtio {
namespace {

constexpr char kBlockField[] = "workloads[0].virtio_block";
constexpr char kNetField[] = "workloads[0].virtio_net";

BlockJobSpec Block(const std::string& yaml) {
  auto s = ParseBlockJobSpec(YAML::Load(yaml), kBlockField);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : BlockJobSpec{};
}
PacketSpec Net(const std::string& yaml) {
  auto s = ParsePacketSpec(YAML::Load(yaml), kNetField);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : PacketSpec{};
}
std::string BlockError(const std::string& yaml) {
  auto s = ParseBlockJobSpec(YAML::Load(yaml), kBlockField);
  return s.ok() ? "ok" : s.status().message();
}
std::string NetError(const std::string& yaml) {
  auto s = ParsePacketSpec(YAML::Load(yaml), kNetField);
  return s.ok() ? "ok" : s.status().message();
}

// |successes - n p| <= 5 standard deviations of Binomial(n, p): a correct
// generator fails this with probability below 1e-6.
void ExpectBinomial(uint64_t successes, uint64_t n, double p, const std::string& what) {
  const double mean = static_cast<double>(n) * p;
  const double sd = std::sqrt(static_cast<double>(n) * p * (1 - p));
  EXPECT_LE(std::fabs(static_cast<double>(successes) - mean), 5 * sd)
      << what << ": " << successes << " of " << n << ", expected " << mean << " +- 5 x " << sd;
}

// ---- block spec ------------------------------------------------------------

TEST(BlockJobSpecTest, DefaultsAreFio) {
  const BlockJobSpec s = Block("{ios: 10}");
  EXPECT_EQ(s.rw, BlockRw::kRead);
  EXPECT_EQ(s.rwmixread, 50u);
  EXPECT_EQ(s.bs, (SizeMix{{{4096, 1.0}}}));
  EXPECT_EQ(s.iodepth, 1u);
  EXPECT_EQ(s.numjobs, 1u);
  EXPECT_EQ(s.size, uint64_t{1} << 30);
  EXPECT_EQ(s.rate_iops, 0);
  EXPECT_FALSE(s.poisson);
}

TEST(BlockJobSpecTest, ErrorsNameLineAndField) {
  EXPECT_EQ(BlockError("rw: randread\nbs: 4KiB\niodepth: 5000\nios: 10\n"),
            "3: workloads[0].virtio_block.iodepth: out of range [1, 4096]: 5000");
  EXPECT_EQ(BlockError("{ios: 10, depth: 2}"),
            "1: workloads[0].virtio_block.depth: unknown key (allowed: arrivals, bs, iodepth, ios, numjobs, rate_iops, "
            "runtime, rw, rwmixread, size)");
  EXPECT_EQ(BlockError("ios: 10\nrw: randomread\n"),
            "2: workloads[0].virtio_block.rw: unknown 'randomread' (allowed: read, write, randread, randwrite, randrw, "
            "rw)");
  EXPECT_EQ(BlockError("ios: 10\nbs: 1000\n"), "2: workloads[0].virtio_block.bs: must be a multiple of 512 bytes (got '1000')");
  EXPECT_EQ(BlockError("ios: 10\nbs: 32MiB\n"),
            "2: workloads[0].virtio_block.bs: must be in 512..16777216 bytes (got '32MiB')");
  EXPECT_EQ(BlockError("ios: 10\nbs: {4KiB: 70, 6KiB: -1}\n"),
            "2: workloads[0].virtio_block.bs.6KiB: weight must be a number in (0, 1e9]");
  EXPECT_EQ(BlockError("ios: 10\nsize: 2KiB\n"),
            "2: workloads[0].virtio_block.size: must be at least the largest bs (4096 bytes)");
  EXPECT_EQ(BlockError("ios: 10\nsize: 65TiB\n").substr(0, 35), "2: workloads[0].virtio_block.size: ");
  EXPECT_EQ(BlockError("rw: read\n"),
            "1: workloads[0].virtio_block.ios: missing (give ios per job, or runtime with rate_iops)");
  EXPECT_EQ(BlockError("ios: 10\nruntime: 1s\nrate_iops: 5\n"),
            "2: workloads[0].virtio_block.runtime: give ios or runtime, not both");
  EXPECT_NE(BlockError("runtime: 1s\n").find("1: workloads[0].virtio_block.runtime: needs rate_iops > 0"),
            std::string::npos);
  EXPECT_NE(BlockError("ios: 5\narrivals: poisson\n").find("virtio_block.arrivals: needs rate_iops > 0"),
            std::string::npos);
  EXPECT_NE(BlockError("ios: 5\nrwmixread: 101\n").find("2: workloads[0].virtio_block.rwmixread: out of range"),
            std::string::npos);
}

TEST(BlockJobSpecTest, TotalCostLimit) {
  EXPECT_EQ(BlockError("ios: 50000000\n"), "ok");
  EXPECT_EQ(BlockError("ios: 50000001\n"),
            "1: workloads[0].virtio_block.ios: out of range [1, 50000000]: 50000001");
  EXPECT_EQ(BlockError("ios: 25000001\nnumjobs: 2\n"),
            "1: workloads[0].virtio_block.ios: ios x numjobs = 25000001 x 2 exceeds the limit of 50000000 ios per "
            "workload");
  EXPECT_EQ(BlockError("runtime: 60s\nrate_iops: 1000000\n"),
            "1: workloads[0].virtio_block.runtime: runtime x rate_iops x numjobs = 60000000 x 1 ios exceeds the limit "
            "of 50000000 per workload");
  EXPECT_EQ(BlockError("runtime: 1s\nrate_iops: 1000000\nnumjobs: 50\n"), "ok");
}

// ---- block generation ----------------------------------------------------------

TEST(BlockJobsTest, DeterministicPerSeedAndDifferentAcrossSeeds) {
  const BlockJobSpec s = Block("{rw: randrw, bs: {4KiB: 1, 16KiB: 1}, numjobs: 3, ios: 1000, rate_iops: 5000, arrivals: poisson}");
  const VirtioWorkload a = GenerateBlockJobs(s, 42);
  EXPECT_EQ(GenerateBlockJobs(s, 42), a);
  EXPECT_EQ(VirtioWorkloadDigest(GenerateBlockJobs(s, 42)), VirtioWorkloadDigest(a));
  const VirtioWorkload b = GenerateBlockJobs(s, 43);
  for (size_t j = 0; j < 3; ++j) EXPECT_NE(b.jobs[j].ios, a.jobs[j].ios) << "job " << j;
  // Each job has its own stream: no two jobs are the same.
  EXPECT_NE(a.jobs[0].ios, a.jobs[1].ios);
  EXPECT_NE(VirtioWorkloadDigest(a), VirtioWorkloadDigest(b));
  EXPECT_EQ(a.kind, WorkloadKind::kBlock);
  EXPECT_EQ(a.device_bytes, uint64_t{1} << 30);
}

// A parameter a generator does not use draws nothing from its stream:
// randread ignores rwmixread, so the offsets stay the same (a change of
// stream layout would change every result key).
TEST(BlockJobsTest, UnusedParametersDrawNothing) {
  const VirtioWorkload w = GenerateBlockJobs(Block("{rw: randread, size: 1MiB, ios: 3}"), 1);
  const VirtioWorkload again = GenerateBlockJobs(Block("{rw: randread, size: 1MiB, ios: 3, rwmixread: 10}"), 1);
  // rwmixread does not apply to randread and draws nothing: same offsets.
  EXPECT_EQ(w, again);
  for (const BlockIo& io : w.jobs[0].ios) {
    EXPECT_EQ(io.at, -1);
    EXPECT_EQ(io.bytes, 4096u);
    EXPECT_FALSE(io.write);
  }
}

TEST(BlockJobsTest, RwMixFollowsTheBinomial) {
  const uint64_t n = 20000;
  for (uint32_t mix : {0u, 30u, 70u, 100u}) {
    const BlockJobSpec s = Block("{rw: randrw, rwmixread: " + std::to_string(mix) + ", ios: 20000}");
    const VirtioWorkload w = GenerateBlockJobs(s, 7);
    uint64_t reads = 0;
    for (const BlockIo& io : w.jobs[0].ios) reads += io.write ? 0 : 1;
    ExpectBinomial(reads, n, mix / 100.0, "rwmixread " + std::to_string(mix));
    if (mix == 0) {
      EXPECT_EQ(reads, 0u);
    }
    if (mix == 100) {
      EXPECT_EQ(reads, n);
    }
  }
  // rw (sequential mixed) too.
  const VirtioWorkload w = GenerateBlockJobs(Block("{rw: rw, rwmixread: 70, ios: 20000}"), 9);
  uint64_t reads = 0;
  for (const BlockIo& io : w.jobs[0].ios) reads += io.write ? 0 : 1;
  ExpectBinomial(reads, n, 0.7, "rw 70");
  for (const char* rw : {"randwrite", "write"}) {
    const VirtioWorkload wr = GenerateBlockJobs(Block("{rw: " + std::string(rw) + ", ios: 100}"), 1);
    for (const BlockIo& io : wr.jobs[0].ios) EXPECT_TRUE(io.write) << rw;
  }
}

TEST(BlockJobsTest, BsWeightsFollowTheBinomial) {
  const VirtioWorkload w = GenerateBlockJobs(Block("{rw: randread, bs: {4KiB: 70, 64KiB: 20, 1MiB: 10}, ios: 30000}"), 3);
  std::map<uint32_t, uint64_t> count;
  for (const BlockIo& io : w.jobs[0].ios) ++count[io.bytes];
  EXPECT_EQ(count.size(), 3u);
  ExpectBinomial(count[4096], 30000, 0.7, "4KiB");
  ExpectBinomial(count[65536], 30000, 0.2, "64KiB");
  ExpectBinomial(count[1 << 20], 30000, 0.1, "1MiB");
}

TEST(BlockJobsTest, RandomOffsetsAlignedAndWithinSize) {
  const uint64_t size = 10 * (uint64_t{1} << 20) + 4096;  // not a multiple of 64 KiB
  const VirtioWorkload w =
      GenerateBlockJobs(Block("{rw: randrw, bs: {4KiB: 1, 64KiB: 1}, size: 10244KiB, numjobs: 4, ios: 5000}"), 11);
  EXPECT_EQ(w.device_bytes, size);
  uint64_t top = 0;
  bool last_block = false;
  for (const BlockJob& j : w.jobs) {
    for (const BlockIo& io : j.ios) {
      EXPECT_EQ(io.offset % 4096, 0u) << io.offset;  // the smallest bs
      EXPECT_LE(io.offset + io.bytes, size);
      top = std::max(top, io.offset);
      last_block |= io.offset + io.bytes == size;
    }
  }
  // 20000 draws over 2561 positions: the high end is reached.
  EXPECT_GT(top, size - 128 * 1024);
  EXPECT_TRUE(last_block);
}

TEST(BlockJobsTest, SequentialJobsAdvanceByBsFromTheirOwnStart) {
  const VirtioWorkload w = GenerateBlockJobs(Block("{rw: read, bs: 4KiB, size: 1MiB, numjobs: 2, ios: 300, iodepth: 8}"), 5);
  ASSERT_EQ(w.jobs.size(), 2u);
  for (size_t j = 0; j < 2; ++j) {
    const BlockJob& job = w.jobs[j];
    EXPECT_EQ(job.iodepth, 8u);
    EXPECT_EQ(job.ios[0].offset, j * 512 * 1024);
    for (size_t i = 1; i < job.ios.size(); ++i) {
      const uint64_t want = (job.ios[i - 1].offset + 4096) % (1 << 20);  // wraps at size
      EXPECT_EQ(job.ios[i].offset, want) << "job " << j << " io " << i;
    }
  }
  // Mixed sizes: each io starts where the previous ended.
  const VirtioWorkload m = GenerateBlockJobs(Block("{rw: write, bs: {4KiB: 1, 8KiB: 1}, size: 64MiB, ios: 1000}"), 5);
  for (size_t i = 1; i < m.jobs[0].ios.size(); ++i)
    EXPECT_EQ(m.jobs[0].ios[i].offset, m.jobs[0].ios[i - 1].offset + m.jobs[0].ios[i - 1].bytes);
}

TEST(BlockJobsTest, OpenLoopArrivals) {
  // Uniform: evenly spaced at 1 / rate.
  const VirtioWorkload u = GenerateBlockJobs(Block("{ios: 1000, rate_iops: 3000}"), 1);
  for (size_t i = 0; i < 1000; ++i) EXPECT_EQ(u.jobs[0].ios[i].at, std::llround(i * 1e9 / 3000)) << i;
  // Poisson: n - 1 exponential gaps of mean m; their mean has sd m / sqrt(n - 1).
  const uint64_t n = 20001;
  const VirtioWorkload p = GenerateBlockJobs(Block("{ios: 20001, rate_iops: 10000, arrivals: poisson}"), 2);
  const auto& ios = p.jobs[0].ios;
  EXPECT_EQ(ios[0].at, 0);
  for (size_t i = 1; i < ios.size(); ++i) ASSERT_GE(ios[i].at, ios[i - 1].at);
  const double m = 1e5, mean = static_cast<double>(ios.back().at) / (n - 1);
  EXPECT_LE(std::fabs(mean - m), 5 * m / std::sqrt(n - 1.0));
  // runtime: ceil(runtime x rate) ios per job.
  const BlockJobSpec r = Block("{runtime: 10ms, rate_iops: 1500, numjobs: 2}");
  EXPECT_EQ(r.ios_per_job(), 15u);
  const VirtioWorkload rw = GenerateBlockJobs(r, 1);
  EXPECT_EQ(rw.jobs[1].ios.size(), 15u);
  EXPECT_LT(rw.jobs[1].ios.back().at, 10'000'000);
}

// ---- packets -----------------------------------------------------------------

TEST(PacketSpecTest, ErrorsNameLineAndField) {
  EXPECT_EQ(NetError("packets: 10\nsize: 59\n"), "2: workloads[0].virtio_net.size: must be in 60..9018 bytes (got '59')");
  EXPECT_EQ(NetError("packets: 10\nsize: {64: 1, 9019: 1}\n"),
            "2: workloads[0].virtio_net.size.9019: must be in 60..9018 bytes (got '9019')");
  EXPECT_EQ(NetError("size: 64\n"), "1: workloads[0].virtio_net.packets: missing");
  EXPECT_EQ(NetError("packets: 50000001\n"),
            "1: workloads[0].virtio_net.packets: out of range [1, 50000000]: 50000001");
  EXPECT_EQ(NetError("packets: 10\ndirection: sideways\n"),
            "2: workloads[0].virtio_net.direction: unknown 'sideways' (allowed: tx, rx, both)");
  EXPECT_EQ(NetError("packets: 10\nburst: 4\n"),
            "2: workloads[0].virtio_net.burst: needs rate_pps > 0 (at saturation every packet is back-to-back)");
  EXPECT_EQ(NetError("packets: 10\nflows: 65537\n"), "2: workloads[0].virtio_net.flows: out of range [1, 65536]: 65537");
  EXPECT_EQ(NetError("packets: 10\nrx_fraction: 0.2\n"), "2: workloads[0].virtio_net.rx_fraction: only with direction: both");
  EXPECT_EQ(NetError("{packets: 10, mtu: 1500}").substr(0, 38), "1: workloads[0].virtio_net.mtu: unknow");
}

TEST(PacketsTest, SaturationRoundRobinAndDefaults) {
  const VirtioWorkload w = GeneratePackets(Net("{packets: 100, flows: 3}"), 1);
  EXPECT_EQ(w.kind, WorkloadKind::kNet);
  EXPECT_TRUE(w.jobs.empty());
  ASSERT_EQ(w.packets.size(), 100u);
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(w.packets[i].at, -1);
    EXPECT_EQ(w.packets[i].bytes, 64u);
    EXPECT_EQ(w.packets[i].flow, i % 3);
    EXPECT_FALSE(w.packets[i].to_guest);
  }
  const VirtioWorkload rx = GeneratePackets(Net("{packets: 10, direction: rx}"), 1);
  for (const PacketIo& p : rx.packets) EXPECT_TRUE(p.to_guest);
}

TEST(PacketsTest, DeterministicPerSeed) {
  const PacketSpec s = Net("{packets: 2000, size: imix, direction: both, rate_pps: 1e6, arrivals: poisson, flows: 8, flow_pick: uniform}");
  const VirtioWorkload a = GeneratePackets(s, 1);
  EXPECT_EQ(GeneratePackets(s, 1), a);
  EXPECT_NE(GeneratePackets(s, 2).packets, a.packets);
  EXPECT_NE(VirtioWorkloadDigest(GeneratePackets(s, 2)), VirtioWorkloadDigest(a));
}

TEST(PacketsTest, ImixDirectionAndFlowsFollowTheirDistributions) {
  const uint64_t n = 24000;
  const VirtioWorkload w =
      GeneratePackets(Net("{packets: 24000, size: imix, direction: both, rx_fraction: 0.25, flows: 4, flow_pick: uniform}"), 3);
  std::map<uint32_t, uint64_t> sizes;
  std::map<uint16_t, uint64_t> flows;
  uint64_t rx = 0;
  for (const PacketIo& p : w.packets) {
    ++sizes[p.bytes];
    ++flows[p.flow];
    rx += p.to_guest;
  }
  EXPECT_EQ(sizes.size(), 3u);
  ExpectBinomial(sizes[64], n, 7.0 / 12, "imix 64");
  ExpectBinomial(sizes[594], n, 4.0 / 12, "imix 594");
  ExpectBinomial(sizes[1518], n, 1.0 / 12, "imix 1518");
  ExpectBinomial(rx, n, 0.25, "rx_fraction");
  ASSERT_EQ(flows.size(), 4u);
  for (const auto& [f, c] : flows) ExpectBinomial(c, n, 0.25, "flow " + std::to_string(f));
}

TEST(PacketsTest, BurstsAndRates) {
  // 4-packet bursts at 1e6 pps: instants every 4 us, uniform.
  const VirtioWorkload w = GeneratePackets(Net("{packets: 40, rate_pps: 1000000, burst: 4}"), 1);
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(w.packets[i].at, static_cast<int64_t>(i / 4) * 4000) << i;
  // Poisson instants: the mean gap between instants is burst / rate.
  const uint64_t instants = 20000;
  const VirtioWorkload p = GeneratePackets(Net("{packets: 40000, rate_pps: 200000, burst: 2, arrivals: poisson}"), 4);
  for (size_t i = 1; i < p.packets.size(); ++i) {
    ASSERT_GE(p.packets[i].at, p.packets[i - 1].at);
    if (i % 2 == 1) {
      ASSERT_EQ(p.packets[i].at, p.packets[i - 1].at);
    }
  }
  const double m = 1e4, mean = static_cast<double>(p.packets.back().at) / (instants - 1);
  EXPECT_LE(std::fabs(mean - m), 5 * m / std::sqrt(instants - 1.0));
}

// ---- digest ------------------------------------------------------------------

TEST(DigestTest, ChangesWhenAnyFieldChanges) {
  VirtioWorkload base;
  base.kind = WorkloadKind::kBlock;
  base.device_bytes = 1 << 20;
  base.jobs = {{4, {{-1, 4096, 512, false}, {10, 0, 4096, true}}}, {1, {{5, 8192, 4096, false}}}};
  base.packets = {{-1, 64, 0, false}, {3, 1518, 7, true}};
  const std::string d = VirtioWorkloadDigest(base);
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(VirtioWorkloadDigest(VirtioWorkload(base)), d);
  std::vector<std::pair<std::string, void (*)(VirtioWorkload&)>> edits = {
      {"kind", [](VirtioWorkload& w) { w.kind = WorkloadKind::kNet; }},
      {"device_bytes", [](VirtioWorkload& w) { ++w.device_bytes; }},
      {"iodepth", [](VirtioWorkload& w) { w.jobs[0].iodepth = 5; }},
      {"at", [](VirtioWorkload& w) { w.jobs[0].ios[0].at = 0; }},
      {"offset", [](VirtioWorkload& w) { w.jobs[0].ios[1].offset = 512; }},
      {"bytes", [](VirtioWorkload& w) { w.jobs[1].ios[0].bytes = 512; }},
      {"write", [](VirtioWorkload& w) { w.jobs[0].ios[0].write = true; }},
      {"io moved to another job", [](VirtioWorkload& w) {
         w.jobs[1].ios.insert(w.jobs[1].ios.begin(), w.jobs[0].ios.back());
         w.jobs[0].ios.pop_back();
       }},
      {"job added", [](VirtioWorkload& w) { w.jobs.push_back({}); }},
      {"packet at", [](VirtioWorkload& w) { w.packets[0].at = 0; }},
      {"packet bytes", [](VirtioWorkload& w) { w.packets[1].bytes = 1514; }},
      {"packet flow", [](VirtioWorkload& w) { w.packets[1].flow = 8; }},
      {"packet to_guest", [](VirtioWorkload& w) { w.packets[0].to_guest = true; }},
      {"packet removed", [](VirtioWorkload& w) { w.packets.pop_back(); }},
  };
  for (const auto& [name, edit] : edits) {
    VirtioWorkload w = base;
    edit(w);
    EXPECT_NE(VirtioWorkloadDigest(w), d) << name;
  }
  EXPECT_GT(VirtioWorkloadBytes(base), sizeof(VirtioWorkload));
}

// ---- block traces --------------------------------------------------------------

workload::BlockWorkload TwoVolumes() {
  using workload::BlockOp;
  workload::BlockWorkload w;
  w.volumes = {"sda", "sdb", "sdc"};
  // time, offset, bytes, volume, task, op
  w.requests = {
      {1000, 0, 4096, 0, 1, BlockOp::kRead},
      {1500, 1 << 20, 8192, 1, 2, BlockOp::kWrite},
      {1600, 0, 0, 0, 1, BlockOp::kFlush},
      {1700, 4096, 65536, 2, 1, BlockOp::kDiscard},
      {2000, 3 * (1 << 20) + 512, 4096, 0, 1, BlockOp::kWrite},
      {2500, 8192, 0, 1, 2, BlockOp::kRead},  // zero-length: skipped
      {3000, 12288, 512, 1, 2, BlockOp::kRead},
  };
  return w;
}

TEST(FromBlockTraceTest, OneJobPerVolumeOpenLoopAtRecordedTimes) {
  const VirtioWorkload v = BlockJobsFromTrace(TwoVolumes(), 16, /*keep_timing=*/true);
  EXPECT_EQ(v.kind, WorkloadKind::kBlock);
  ASSERT_EQ(v.jobs.size(), 2u);  // sdc has only a discard
  EXPECT_EQ(v.jobs[0].iodepth, 16u);
  EXPECT_EQ(v.jobs[0].ios, (std::vector<BlockIo>{{0, 0, 4096, false}, {1000, 3 * (1 << 20) + 512, 4096, true}}));
  EXPECT_EQ(v.jobs[1].ios, (std::vector<BlockIo>{{500, 1 << 20, 8192, true}, {2000, 12288, 512, false}}));
  // The largest end, 3 MiB + 4608, rounded up to 1 MiB.
  EXPECT_EQ(v.device_bytes, uint64_t{4} << 20);
  for (const BlockJob& j : v.jobs)
    for (const BlockIo& io : j.ios) EXPECT_LE(io.offset + io.bytes, v.device_bytes);
}

TEST(FromBlockTraceTest, ClosedLoopAndSingleVolume) {
  const VirtioWorkload v = BlockJobsFromTrace(TwoVolumes(), 4, /*keep_timing=*/false);
  for (const BlockJob& j : v.jobs) {
    EXPECT_EQ(j.iodepth, 4u);
    for (const BlockIo& io : j.ios) EXPECT_EQ(io.at, -1);
  }
  workload::BlockWorkload one;
  one.volumes = {"nvme0n1"};
  one.requests = {{5, 1 << 20, 1 << 20, 0, 0, workload::BlockOp::kRead}};
  const VirtioWorkload o = BlockJobsFromTrace(one, 1, true);
  ASSERT_EQ(o.jobs.size(), 1u);
  EXPECT_EQ(o.jobs[0].ios[0].at, 0);
  EXPECT_EQ(o.device_bytes, uint64_t{2} << 20);  // an exact MiB end stays
  const VirtioWorkload none = BlockJobsFromTrace(workload::BlockWorkload{}, 1, true);
  EXPECT_TRUE(none.jobs.empty());
  EXPECT_EQ(none.device_bytes, 0u);
}

}  // namespace
}  // namespace kreplay::virtio
