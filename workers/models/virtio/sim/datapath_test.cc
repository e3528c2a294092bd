// Sanity laws of the datapath simulator, with expectations computed here from
// the profile's entries and the kernel's path (docs/models/virtio.md lists
// each path), never from the simulator's own output.
#include "workers/models/virtio/sim/datapath.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "services/sim/rng.h"

#include "workers/models/virtio/profile/virtio_profile.h"

namespace kreplay::virtio {
namespace {

// Distinct round values, so that a missing or doubled entry shows.
constexpr char kProfile[] = R"(name: test
description: "round numbers for the laws"
source: "datapath_test.cc"
cpus: 4
cpu_ghz: 3
nested: false
costs:
  vm_exit: 1000
  ioeventfd: 200
  irq_inject: 3000
  posted_irq: 900
  eoi_exit: 70
  host_irq: 600
  doorbell_mmio: 110
  pcie_read: 450
  syscall: 130
  eventfd_signal: 170
  eventfd_wake: 2500
  futex_wake: 2300
  context_switch: 1900
  workqueue_hop: 4000
  task_work: 1700
  io_uring_enter: 350
  cacheline_transfer: 50
  atomic: 5
  iova_alloc: 90
  page_pin: 40
  page_alloc: 150
  blk_submit: 700
  blk_complete: 500
  net_tx_stack: 800
  net_rx_stack: 650
  tap: 300
  dpdk_burst: 45
  mbuf: 25
memcpy:
  - {bytes: 64, hot: 8, cold: 80}
  - {bytes: 4096, hot: 100, cold: 600}
  - {bytes: 65536, hot: 2000, cold: 7000}
  - {bytes: 1048576, hot: 40000, cold: 90000}
)";

VirtioProfile Profile() {
  auto p = ParseVirtioProfileYaml(kProfile, "test");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return *p;
}

// `n` reads (or writes) of `bytes`, one at a time (closed loop, depth 1).
VirtioWorkload Qd1Block(int n, uint32_t bytes, bool write, uint32_t depth = 1, int jobs = 1) {
  VirtioWorkload w;
  w.kind = WorkloadKind::kBlock;
  w.device_bytes = 1ull << 30;
  for (int j = 0; j < jobs; ++j) {
    BlockJob job;
    job.iodepth = depth;
    for (int i = 0; i < n; ++i) job.ios.push_back(BlockIo{-1, static_cast<uint64_t>(i) * bytes, bytes, write});
    w.jobs.push_back(job);
  }
  return w;
}

VirtioWorkload Packets(int n, uint32_t bytes, bool to_guest, int64_t gap_ns) {
  VirtioWorkload w;
  w.kind = WorkloadKind::kNet;
  for (int i = 0; i < n; ++i)
    w.packets.push_back(PacketIo{gap_ns < 0 ? -1 : i * gap_ns, bytes, 0, to_guest});
  return w;
}

double MeanNs(const DatapathConfig& c, const VirtioWorkload& w) {
  auto r = RunDatapath(c, Profile(), w, 1, nullptr);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return -1;
  return r->scalars.at("latency_mean_us").value * 1e3;
}

model::Result Simulate(const DatapathConfig& c, const VirtioWorkload& w) {
  auto r = RunDatapath(c, Profile(), w, 1, nullptr);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : model::Result{};
}

// The profile's copy of `bytes` below its first point scales from it.
double Copy(const VirtioProfile& p, double bytes) {
  if (bytes <= 64) return p.memcpy[0].hot_ns * bytes / 64;
  if (bytes == 4096) return p.memcpy[1].hot_ns;
  ADD_FAILURE() << "no point for " << bytes;
  return 0;
}

// A split ring with indirect descriptors: the device pulls, per virtio-blk
// request, the avail index, the avail slot, the ring descriptor and the
// indirect table (4 lines); the driver pulls the used index and slot (2).
constexpr int kBlkLines = 6;

TEST(DatapathLaws, Qd1VduseOverVirtioVdpaIsTheSumOfItsPath) {
  const VirtioProfile p = Profile();
  DatapathConfig c;
  c.backend = Backend::kVduse;
  c.bus = Bus::kVirtioVdpa;
  // virtio_queue_rq: the stack, three IOVA mappings (header, data, status),
  // the header copied to its bounce page; the kick is an eventfd write; the
  // daemon wakes; VDUSE_VQ_INJECT_IRQ is an ioctl; the work item runs
  // vring_interrupt; unmap copies the status and the read's data back.
  const double read = p.blk_submit_ns + 3 * p.iova_alloc_ns + Copy(p, 16) + p.eventfd_signal_ns + p.eventfd_wake_ns +
                      kBlkLines * p.cacheline_transfer_ns + p.syscall_ns + p.workqueue_hop_ns + Copy(p, 1) +
                      Copy(p, 4096) + p.blk_complete_ns;
  // The first request also allocates its three bounce pages (kept after).
  const double first = 3 * p.page_alloc_ns / 20;
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, false)), read + first, 1.0);
  // A write's data is copied at map time instead: the same sum.
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, true)), read + first, 1.0);
  // REG_UMEM: the daemon's pages are the bounce pages; the copies stay.
  c.reg_umem = true;
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, false)), read, 1.0);
}

TEST(DatapathLaws, Qd1VduseOverVhostVdpaHasNoBounceAndTheWorkqueueHopByRelease) {
  const VirtioProfile p = Profile();
  DatapathConfig c;
  c.backend = Backend::kVduse;
  c.bus = Bus::kVhostVdpa;
  c.irq_path = IrqPath::kWorkqueue;
  // The guest's kick exits to KVM, whose ioeventfd is vhost-vdpa's kick
  // handler: vduse_vdpa_kick_vq signals the daemon's eventfd. Before 6.4 the
  // injection is a work item that signals the irqfd; KVM injects it; the
  // guest's EOI exits.
  const double wq = p.blk_submit_ns + p.vm_exit_ns + p.ioeventfd_ns + p.eventfd_signal_ns + p.eventfd_wake_ns +
                    kBlkLines * p.cacheline_transfer_ns + p.syscall_ns + p.workqueue_hop_ns + p.eventfd_signal_ns +
                    p.irq_inject_ns + p.eoi_exit_ns + p.blk_complete_ns;
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, false)), wq, 1.0);
  // From 6.4 the ioctl signals the irqfd itself: no hop.
  c.irq_path = IrqPath::kDirect;
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, false)), wq - p.workqueue_hop_ns, 1.0);
}

TEST(DatapathLaws, Qd1UblkIsTheSumOfItsPath) {
  const VirtioProfile p = Profile();
  DatapathConfig c;
  c.backend = Backend::kUblk;
  // ublk_queue_rq -> task work in the server; its io_uring_enter returns the
  // FETCH CQE; the null target completes at once; COMMIT_AND_FETCH (one
  // enter) copies the read's data back and ends the request.
  const double read = p.blk_submit_ns + p.task_work_ns + p.io_uring_enter_ns + Copy(p, 4096) + p.blk_complete_ns;
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, false)), read, 1.0);
  c.zero_copy = true;
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, false)), read - Copy(p, 4096), 1.0);
}

TEST(DatapathLaws, Qd1VhostNetTransmitIsTheSumOfItsPathPlusTheWire) {
  const VirtioProfile p = Profile();
  DatapathConfig c;
  c.backend = Backend::kVhostNet;
  c.line_rate_gbps = 10;
  // The stack, the kick's exit through the ioeventfd, the worker's wake-up,
  // the avail index and slot and the descriptor (3 lines), the copy of
  // header and frame, tun, then the frame on a 10 Gbit/s wire with its
  // preamble, FCS and gap (24 bytes).
  const double bytes = 1000;
  const double expect = p.net_tx_stack_ns + p.vm_exit_ns + p.ioeventfd_ns + p.eventfd_wake_ns +
                        3 * p.cacheline_transfer_ns + p.memcpy[0].hot_ns +
                        (bytes + 12 - 64) / (4096 - 64) * (p.memcpy[1].hot_ns - p.memcpy[0].hot_ns) + p.tap_ns +
                        (bytes + 24) * 8 / 10;
  // Packets 1 ms apart: each finds everything idle.
  EXPECT_NEAR(MeanNs(c, Packets(20, 1000, false, 1'000'000)), expect, 1.0);
}

TEST(DatapathLaws, Qd1HardwareVhostVdpaIsTheSumOfItsPath) {
  const VirtioProfile p = Profile();
  DatapathConfig c;
  c.backend = Backend::kVhostVdpa;
  // The guest rings the doorbell mapped into it (no exit); the device
  // fetches the avail index, slot, descriptor and indirect table (4 DMA
  // reads, one after the other) and, for a write, the data; its MSI-X goes
  // through the host handler and vhost-vdpa's irqfd into the guest, whose
  // EOI exits; the guest reads the used index and slot.
  const double read = p.blk_submit_ns + p.doorbell_mmio_ns + 4 * p.pcie_read_ns + p.host_irq_ns +
                      p.eventfd_signal_ns + p.irq_inject_ns + p.eoi_exit_ns + 2 * p.cacheline_transfer_ns +
                      p.blk_complete_ns;
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, false)), read, 1.0);
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, true)), read + p.pcie_read_ns, 1.0);
  // The irq bypass posts the interrupt straight into the guest.
  c.posted_interrupts = true;
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, false)),
              read - p.host_irq_ns - p.eventfd_signal_ns - p.irq_inject_ns + p.posted_irq_ns, 1.0);
  // A packed ring needs only the descriptor and the table.
  c.posted_interrupts = false;
  c.packed = true;
  EXPECT_NEAR(MeanNs(c, Qd1Block(20, 4096, false)), read - 2 * p.pcie_read_ns - p.cacheline_transfer_ns, 1.0);
}

TEST(DatapathLaws, ThroughputNeverExceedsTheLineRate) {
  for (double gbps : {1.0, 10.0, 100.0}) {
    for (Backend b : {Backend::kVhostNet, Backend::kVhostUser, Backend::kVhostVdpa}) {
      DatapathConfig c;
      c.backend = b;
      c.poll = b == Backend::kVhostUser;
      c.line_rate_gbps = gbps;
      for (uint32_t size : {64u, 1500u}) {
        for (bool rx : {false, true}) {
          const model::Result r = Simulate(c, Packets(20000, size, rx, -1));
          const double line_mpps = gbps * 1e3 / (8.0 * (size + 24));
          EXPECT_LE(r.scalars.at("mpps").value, line_mpps * 1.0001)
              << BackendName(b) << " " << size << " B " << (rx ? "rx" : "tx") << " at " << gbps << " Gbit/s";
          EXPECT_EQ(r.scalars.at("requests").value + r.scalars.at("drops").value, 20000)
              << BackendName(b) << " " << size << " B " << (rx ? "rx" : "tx") << " at " << gbps << " Gbit/s";
        }
      }
    }
  }
}

TEST(DatapathLaws, ThroughputNeverExceedsTheSlowestStagesCpuBound) {
  const VirtioProfile p = Profile();
  // Every block request runs blk_submit on its job's CPU; one job, so at
  // most 1e9 / blk_submit requests per second however deep the queue.
  for (Backend b : {Backend::kVduse, Backend::kUblk, Backend::kVhostVdpa, Backend::kVirtioVdpa}) {
    DatapathConfig c;
    c.backend = b;
    const model::Result r = Simulate(c, Qd1Block(5000, 4096, false, 128));
    EXPECT_LE(r.scalars.at("kiops").value * 1e3, 1e9 / p.blk_submit_ns * 1.0001) << BackendName(b);
    EXPECT_EQ(r.scalars.at("requests").value, 5000) << BackendName(b);
  }
}

// REG_UMEM keeps the bounce copies (vduse_domain_bounce() copies into the
// registered pages as into its own) and only spares the lazy page
// allocations: it never costs more CPU nor raises the unqueued latency.
// With a queue, removing a one-time cost shifts when later requests meet,
// which moves throughput by a little either way; it stays within 3 %.
TEST(DatapathLaws, RegisteredBounceMemoryNeverMakesVduseSlower) {
  for (uint32_t bytes : {4096u, 65536u}) {
    for (uint32_t depth : {1u, 32u}) {
      for (bool write : {false, true}) {
        DatapathConfig c;
        c.backend = Backend::kVduse;
        const model::Result plain = Simulate(c, Qd1Block(2000, bytes, write, depth));
        c.reg_umem = true;
        const model::Result umem = Simulate(c, Qd1Block(2000, bytes, write, depth));
        const std::string what = std::to_string(bytes) + " B at depth " + std::to_string(depth);
        EXPECT_LE(umem.scalars.at("host_cpu_ns_per_req").value, plain.scalars.at("host_cpu_ns_per_req").value) << what;
        EXPECT_EQ(umem.scalars.at("copied_bytes_per_req").value, plain.scalars.at("copied_bytes_per_req").value);
        if (depth == 1) {
          EXPECT_LE(umem.scalars.at("latency_mean_us").value, plain.scalars.at("latency_mean_us").value) << what;
          EXPECT_GE(umem.scalars.at("kiops").value, plain.scalars.at("kiops").value) << what;
        } else {
          EXPECT_GE(umem.scalars.at("kiops").value, plain.scalars.at("kiops").value * 0.97) << what;
        }
      }
    }
  }
}

TEST(DatapathLaws, AFullBounceBufferMakesRequestsWaitNotFail) {
  DatapathConfig c;
  c.backend = Backend::kVduse;
  c.bounce_bytes = 1 << 20;  // 256 pages: 14 requests of 64 KiB (16 + 2 pages each) fit
  c.device_latency_ps = 200'000'000;  // a slow target keeps all 32 in flight
  const model::Result r = Simulate(c, Qd1Block(400, 65536, true, 32));
  EXPECT_EQ(r.scalars.at("requests").value, 400);
  EXPECT_GT(r.scalars.at("bounce_full_waits").value, 0);
  EXPECT_LE(r.scalars.at("bounce_peak_mib").value, 1.0);
  c.bounce_bytes = 64 << 20;
  const model::Result big = Simulate(c, Qd1Block(400, 65536, true, 32));
  EXPECT_EQ(big.scalars.at("bounce_full_waits").value, 0);
  EXPECT_GT(big.scalars.at("kiops").value, r.scalars.at("kiops").value);
}

TEST(DatapathLaws, NoBounceCopiesWithoutTheBounceBuffer) {
  // vhost-vdpa shares guest memory and hardware DMAs it: no copy at all.
  for (Backend b : {Backend::kVhostVdpa, Backend::kVirtioVdpa}) {
    DatapathConfig c;
    c.backend = b;
    EXPECT_EQ(Simulate(c, Qd1Block(100, 4096, false, 4)).scalars.at("copies_per_req").value, 0) << BackendName(b);
  }
  DatapathConfig c;
  c.backend = Backend::kVduse;
  c.bus = Bus::kVhostVdpa;
  EXPECT_EQ(Simulate(c, Qd1Block(100, 4096, true, 4)).scalars.at("copies_per_req").value, 0);
  // On virtio-vdpa: header and status always, the data once, by direction.
  c.bus = Bus::kVirtioVdpa;
  EXPECT_EQ(Simulate(c, Qd1Block(100, 4096, true, 4)).scalars.at("copies_per_req").value, 3);
  EXPECT_EQ(Simulate(c, Qd1Block(100, 4096, true, 4)).scalars.at("copied_bytes_per_req").value, 16 + 4096 + 1);
}

TEST(DatapathLaws, EventIndexSuppressesKicksWhileTheBackendRuns) {
  // At depth 32 the daemon is mostly busy with notifications off: fewer
  // kicks than requests. Without a queue (depth 1) every request kicks.
  DatapathConfig c;
  c.backend = Backend::kVduse;
  const model::Result deep = Simulate(c, Qd1Block(3000, 4096, false, 32));
  const model::Result qd1 = Simulate(c, Qd1Block(300, 4096, false, 1));
  EXPECT_EQ(qd1.scalars.at("kicks_per_req").value, 1);
  EXPECT_LT(deep.scalars.at("kicks_per_req").value, 1);
}

TEST(DatapathLaws, BusyPollingTradesCpuForKicks) {
  // Packets every 5 us: without busy polling the worker sleeps between them
  // and every packet kicks; spinning 50 us catches the next one.
  DatapathConfig c;
  c.backend = Backend::kVhostNet;
  const model::Result sleep = Simulate(c, Packets(2000, 256, false, 5000));
  c.busyloop_timeout_ps = 50'000'000;
  const model::Result spin = Simulate(c, Packets(2000, 256, false, 5000));
  EXPECT_NEAR(sleep.scalars.at("kicks_per_req").value, 1, 1e-9);
  EXPECT_LT(spin.scalars.at("kicks_per_req").value, 0.01);
  EXPECT_GT(spin.scalars.at("host_cpu_ns_per_req").value, sleep.scalars.at("host_cpu_ns_per_req").value);
  EXPECT_LT(spin.scalars.at("latency_mean_us").value, sleep.scalars.at("latency_mean_us").value);
}

TEST(DatapathLaws, SplitAndPackedServeTheSameRequests) {
  for (Backend b : {Backend::kVduse, Backend::kVhostVdpa}) {
    DatapathConfig c;
    c.backend = b;
    const model::Result split = Simulate(c, Qd1Block(1000, 4096, false, 16));
    c.packed = true;
    const model::Result packed = Simulate(c, Qd1Block(1000, 4096, false, 16));
    EXPECT_EQ(split.scalars.at("requests").value, packed.scalars.at("requests").value);
    // A packed ring keeps the avail and used marks in the descriptor: fewer
    // lines per request, never slower.
    EXPECT_LE(packed.scalars.at("latency_mean_us").value, split.scalars.at("latency_mean_us").value);
  }
}

TEST(DatapathLaws, RefusesWhatTheBackendCannotDo) {
  DatapathConfig c;
  c.backend = Backend::kUblk;
  auto net = RunDatapath(c, Profile(), Packets(10, 64, false, -1), 1, nullptr);
  ASSERT_FALSE(net.ok());
  EXPECT_NE(net.status().message().find("block workloads only"), std::string::npos);
  c.backend = Backend::kVduse;
  c.queue_size = 300;
  auto ring = RunDatapath(c, Profile(), Qd1Block(10, 4096, false), 1, nullptr);
  ASSERT_FALSE(ring.ok());
  EXPECT_NE(ring.status().message().find("params.queue_size"), std::string::npos) << ring.status().message();
}

TEST(DatapathLaws, ARingTooSmallForOneRequestIsRefused) {
  DatapathConfig c;
  c.backend = Backend::kVduse;
  c.indirect = false;
  c.queue_size = 2;
  auto blk = RunDatapath(c, Profile(), Qd1Block(10, 4096, false), 1, nullptr);
  ASSERT_FALSE(blk.ok());
  EXPECT_NE(blk.status().message().find("params.queue_size: a virtio-blk request takes 3 descriptors"),
            std::string::npos) << blk.status().message();
  c.indirect = true;  // one ring slot with an indirect table
  EXPECT_TRUE(RunDatapath(c, Profile(), Qd1Block(10, 4096, false), 1, nullptr).ok());
  c.backend = Backend::kVhostNet;
  c.queue_size = 2;  // a 9000-byte frame takes 6 mergeable buffers of 1526 bytes
  auto net = RunDatapath(c, Profile(), Packets(10, 9000, true, 1000), 1, nullptr);
  ASSERT_FALSE(net.ok());
  EXPECT_NE(net.status().message().find("takes 6 receive buffers"), std::string::npos) << net.status().message();
}

TEST(DatapathLaws, ColocatedSubmittersShareTheVirtqueueLock) {
  // Two jobs on two CPUs into one VDUSE queue: the mapping and bounce copy
  // of one waits, spinning, for the other's (the vq spinlock); on two
  // queues they run side by side. The same work is done either way, so the
  // spin is the difference in CPU time per request.
  DatapathConfig c;
  c.backend = Backend::kVduse;
  c.driver_cpus = 2;
  c.backend_cpus = 2;
  const VirtioWorkload w = Qd1Block(2000, 65536, true, 8, 2);
  const model::Result one = Simulate(c, w);
  c.queues = 2;
  const model::Result two = Simulate(c, w);
  EXPECT_GT(one.scalars.at("host_cpu_ns_per_req").value, two.scalars.at("host_cpu_ns_per_req").value);
}

TEST(DatapathLaws, SameInputsSameResult) {
  DatapathConfig c;
  c.backend = Backend::kVhostUser;
  c.poll = true;
  const model::Result a = Simulate(c, Packets(5000, 512, true, 300));
  const model::Result b = Simulate(c, Packets(5000, 512, true, 300));
  EXPECT_EQ(a.scalars, b.scalars);
  EXPECT_EQ(a.sim_events, b.sim_events);
}

}  // namespace
}  // namespace kreplay::virtio


namespace kreplay::virtio {
namespace {

// Every configuration finishes: random backends, rings, queues, CPUs,
// devices and workloads (seeded, so a failure names a reproducible case),
// each run cancelled after 5 s of wall time, which only a run that stopped
// advancing (events at one instant forever) would need.
TEST(DatapathRobustness, RandomConfigurationsAllFinish) {
  const VirtioProfile prof = Profile();
  sim::Rng g(2026);
  auto pick = [&g](uint64_t n) { return static_cast<uint32_t>(g.Below(n)); };
  for (int run = 0; run < 1000; ++run) {
    DatapathConfig c;
    const bool net = pick(2);
    const Backend nets[] = {Backend::kVhostNet, Backend::kVhostUser, Backend::kVhostVdpa, Backend::kVirtioVdpa,
                            Backend::kVduse};
    const Backend blks[] = {Backend::kVhostVdpa, Backend::kVirtioVdpa, Backend::kVduse, Backend::kUblk,
                            Backend::kVhostUser};
    c.backend = net ? nets[pick(5)] : blks[pick(5)];
    c.packed = pick(2);
    c.queue_size = 1u << (3 + pick(6));
    c.event_idx = pick(4) != 0;
    c.indirect = pick(4) != 0;
    c.queues = 1 + pick(3);
    c.driver_cpus = 1 + pick(2);
    c.backend_cpus = 1 + pick(2);
    c.poll = c.backend == Backend::kVhostUser || (c.backend == Backend::kVduse && pick(3) == 0);
    c.colocate = !c.poll && pick(4) == 0;
    if (c.backend == Backend::kVhostNet && pick(3) == 0) c.busyloop_timeout_ps = 1000 * (1000 + pick(50000));
    c.batch = 1 + pick(64);
    c.bus = pick(2) ? Bus::kVhostVdpa : Bus::kVirtioVdpa;
    c.posted_interrupts = c.bus == Bus::kVhostVdpa && pick(2);
    c.irq_path = c.bus == Bus::kVhostVdpa && pick(2) ? IrqPath::kDirect : IrqPath::kWorkqueue;
    c.reg_umem = pick(3) == 0;
    c.bounce_bytes = pick(3) == 0 ? (1ull << 20) : (64ull << 20);
    c.completion_on_submitter = pick(3) == 0;
    c.zero_copy = pick(3) == 0;
    if (!net && pick(4) == 0) c.device = DeviceKind::kNvme;
    if (pick(4) == 0) c.device_latency_ps = 1000 * (1 + pick(20000));
    c.line_rate_gbps = pick(2) ? 100 : 10;
    c.device_mops = pick(3) == 0 ? 0.5 + pick(10) : 0;
    VirtioWorkload w;
    if (net) {
      const uint32_t size = pick(2) ? 64 : 1500 + pick(3000);
      // Saturation, microseconds apart, or hours of idle time between packets.
      const int64_t gaps[] = {-1, 1000 + static_cast<int64_t>(pick(20000)), int64_t{4} << 30};
      const int64_t gap = gaps[pick(3)];
      for (uint32_t i = 0, n = 300 + pick(1500); i < n; ++i) {
        const uint32_t dir = pick(3);
        w.packets.push_back(PacketIo{gap < 0 ? -1 : static_cast<int64_t>(i) * gap, size, static_cast<uint16_t>(pick(4)), dir == 1});
      }
      w.kind = WorkloadKind::kNet;
    } else {
      const uint32_t depths[] = {1, 4, 32, 128};
      w = Qd1Block(200 + pick(800), pick(2) ? 4096 : 65536, pick(2), depths[pick(4)], 1 + pick(4));
    }
    std::atomic<bool> cancel{false}, done{false};
    std::thread watchdog([&] {
      for (int i = 0; i < 500 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      cancel = true;
    });
    auto r = RunDatapath(c, prof, w, 1, &cancel);
    done = true;
    watchdog.join();
    const std::string what = "run " + std::to_string(run) + ": " + BackendName(c.backend) + (net ? " net" : " block") +
                             " queue_size " + std::to_string(c.queue_size) + " queues " + std::to_string(c.queues) +
                             " packed " + std::to_string(c.packed) + " event_idx " + std::to_string(c.event_idx) +
                             " busyloop " + std::to_string(c.busyloop_timeout_ps) + " colocate " +
                             std::to_string(c.colocate) + " cpus " + std::to_string(c.driver_cpus) + "/" +
                             std::to_string(c.backend_cpus) + " batch " + std::to_string(c.batch) +
                             (net ? " size " + std::to_string(w.packets[0].bytes) : "");
    if (!r.ok()) {
      // Refusals name what they refuse; a cancellation is a hang.
      EXPECT_NE(r.status().code(), StatusCode::kCancelled) << what;
      continue;
    }
    const double requests = r->scalars.at("requests").value + r->scalars.at("drops").value;
    const double total = static_cast<double>(net ? w.packets.size() : VirtioWorkloadIos(w));
    EXPECT_EQ(requests, total) << what;
  }
}

}  // namespace
}  // namespace kreplay::virtio
