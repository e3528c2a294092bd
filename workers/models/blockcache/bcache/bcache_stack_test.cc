// Tests of stacked bcache (bcache_stack.h). Expectations are derived by hand
// from the per-instance rules, or from an independent single-level run.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "services/model/params.h"
#include "services/model/registry.h"
#include "workers/models/blockcache/bcache/bcache_model.h"
#include "workers/models/blockcache/bcache/bcache_test_util.h"
#include "workers/models/blockcache/bcache/bcache_stack.h"

namespace kreplay::blockcache::bcache {
namespace {

using workload::BlockOp;
using workload::BlockRequest;
using workload::BlockWorkload;

using namespace testutil;  // FakeDevice, Req, Trace, kUs ... kMiB

BcacheConfig Quiet(CacheMode mode) {
  BcacheConfig c;
  c.mode = mode;
  c.congested_read_threshold_us = 0;
  c.congested_write_threshold_us = 0;
  c.sequential_cutoff_bytes = 0;
  return c;
}

// Two levels over one fake HDD: top SSD 20 us, lower SSD 100 us, HDD 10 ms.
struct Rig {
  std::unique_ptr<BcacheStack> stack;
  FakeDevice *top_ssd = nullptr, *low_ssd = nullptr, *hdd = nullptr;
};

Rig MakeRig(const BcacheConfig& top, const BcacheConfig& low) {
  Rig rig;
  std::vector<StackLevel> levels(2);
  auto t = std::make_unique<FakeDevice>(8 * kMiB, 20 * kUs);
  auto l = std::make_unique<FakeDevice>(16 * kMiB, 100 * kUs);
  auto h = std::make_unique<FakeDevice>(1024 * kMiB, 10 * kMs);
  rig.top_ssd = t.get();
  rig.low_ssd = l.get();
  rig.hdd = h.get();
  levels[0] = StackLevel{top, std::move(t)};
  levels[1] = StackLevel{low, std::move(l)};
  std::vector<std::unique_ptr<Device>> backing;
  backing.push_back(std::move(h));
  auto s = BcacheStack::Create(std::move(levels), std::move(backing));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  rig.stack = std::move(s).value();
  return rig;
}

StackStats RunOk(BcacheStack& s, const BlockWorkload& w) {
  auto st = s.Run(w);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  return st.ok() ? *st : StackStats();
}

// Every counter and histogram of a level, field by field.
void ExpectSameLevel(const BcacheStats& a, const BcacheStats& b) {
  EXPECT_EQ(a.cache_hits, b.cache_hits);
  EXPECT_EQ(a.cache_misses, b.cache_misses);
  EXPECT_EQ(a.cache_bypass_hits, b.cache_bypass_hits);
  EXPECT_EQ(a.cache_bypass_misses, b.cache_bypass_misses);
  EXPECT_EQ(a.cache_miss_collisions, b.cache_miss_collisions);
  EXPECT_EQ(a.bypassed_sectors, b.bypassed_sectors);
  EXPECT_EQ(a.dirty_sectors_end, b.dirty_sectors_end);
  EXPECT_EQ(a.dirty_sectors_max, b.dirty_sectors_max);
  EXPECT_EQ(a.writeback_rate_mean, b.writeback_rate_mean);
  EXPECT_EQ(a.writeback_rate_final, b.writeback_rate_final);
  EXPECT_EQ(a.writeback_rate_updates, b.writeback_rate_updates);
  EXPECT_EQ(a.writeback_max_rate_updates, b.writeback_max_rate_updates);
  EXPECT_EQ(a.writeback_sectors, b.writeback_sectors);
  EXPECT_EQ(a.writeback_keys_failed, b.writeback_keys_failed);
  EXPECT_EQ(a.requests, b.requests);
  EXPECT_EQ(a.measured_requests, b.measured_requests);
  EXPECT_EQ(a.reads, b.reads);
  EXPECT_EQ(a.writes, b.writes);
  EXPECT_EQ(a.discards, b.discards);
  EXPECT_EQ(a.flushes, b.flushes);
  EXPECT_EQ(a.ssd_bytes_written, b.ssd_bytes_written);
  EXPECT_EQ(a.ssd_bytes_read, b.ssd_bytes_read);
  EXPECT_EQ(a.hdd_bytes_written, b.hdd_bytes_written);
  EXPECT_EQ(a.hdd_bytes_read, b.hdd_bytes_read);
  EXPECT_EQ(a.buckets_invalidated, b.buckets_invalidated);
  EXPECT_EQ(a.sectors_evicted, b.sectors_evicted);
  EXPECT_EQ(a.gc_runs, b.gc_runs);
  EXPECT_EQ(a.moving_gc_sectors, b.moving_gc_sectors);
  EXPECT_EQ(a.alloc_failures, b.alloc_failures);
  EXPECT_EQ(a.max_in_use, b.max_in_use);
  EXPECT_TRUE(a.read_latency == b.read_latency);
  EXPECT_TRUE(a.write_latency == b.write_latency);
  EXPECT_TRUE(a.seek_distance == b.seek_distance);
  EXPECT_EQ(a.end_ns, b.end_ns);
}

// A mixed trace over two volumes: scattered and sequential reads and
// writes of 4-32 KiB, some unaligned, discards and flushes, five tasks.
BlockWorkload Mixed(size_t n, bool task_ids) {
  std::vector<BlockRequest> reqs;
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    uint64_t block = (x >> 20) % 20000;
    if (x % 100 < 70) block %= 2000;
    if ((x >> 44) % 8 == 0) block = (i % 1000) * 2;  // a stream
    const uint64_t offset = block * 8 * kKiB + ((x >> 33) % 64 == 0 ? 512 : 0);
    const uint64_t o = (x >> 40) % 100;
    const BlockOp op = o < 60 ? BlockOp::kRead : o < 96 ? BlockOp::kWrite : o < 98 ? BlockOp::kDiscard : BlockOp::kFlush;
    reqs.push_back(Req(static_cast<int64_t>(i) * 3 * kMs, op, offset, static_cast<uint32_t>(4 * kKiB << ((x >> 36) % 4)),
                       static_cast<uint32_t>((x >> 50) % 2), static_cast<uint32_t>((x >> 30) % 5)));
  }
  return Trace(std::move(reqs), 2, task_ids);
}

std::vector<std::unique_ptr<Device>> Hdds() {
  std::vector<std::unique_ptr<Device>> b;
  b.push_back(std::move(MakeDevice("hdd-7200", 2048 * kMiB)).value());
  b.push_back(std::move(MakeDevice("hdd-5400", 2048 * kMiB)).value());
  return b;
}

// ---------------------------------------------------------------- the lower level sees the upper's backing IO

TEST(BcacheStack, UpperModeNoneLeavesTheLowerLevelASingleRun) {
  // With cache_mode none every bio bypasses the top cache set and goes to its
  // backing device unchanged (check_should_bypass(): mode none -> skip), so
  // the lower level must behave exactly as a single bcache run on the trace:
  // the same counters, the same latencies, the same HDD seeks.
  for (CacheMode lower_mode : {CacheMode::kWritethrough, CacheMode::kWriteback}) {
    for (bool task_ids : {false, true}) {
      BcacheConfig low;  // defaults: congestion and sequential cutoff on
      low.block_bytes = 4096;  // Mixed()'s 512-byte shifted offsets then bypass as unaligned
      low.mode = lower_mode;
      low.seed = 77;
      low.warmup_requests = 500;
      low.writeback_delay_ns = 2 * kSec;
      BcacheConfig top = low;
      top.mode = CacheMode::kNone;
      top.seed = 5;
      const BlockWorkload w = Mixed(20000, task_ids);

      auto single = BcacheSim::Create(low, std::move(MakeDevice("ssd-sata", 64 * kMiB)).value(), Hdds());
      ASSERT_TRUE(single.ok());
      auto want = (*single)->Run(w);
      ASSERT_TRUE(want.ok()) << want.status().ToString();

      std::vector<StackLevel> levels;
      levels.push_back(StackLevel{top, std::move(MakeDevice("ssd-nvme", 32 * kMiB)).value()});
      levels.push_back(StackLevel{low, std::move(MakeDevice("ssd-sata", 64 * kMiB)).value()});
      auto stack = BcacheStack::Create(std::move(levels), Hdds());
      ASSERT_TRUE(stack.ok()) << stack.status().ToString();
      const StackStats got = RunOk(**stack, w);
      ASSERT_EQ(got.levels.size(), 2u);
      SCOPED_TRACE(testing::Message() << "lower mode " << static_cast<int>(lower_mode) << " task_ids " << task_ids);
      ExpectSameLevel(got.levels[1], *want);
      EXPECT_GT(want->cache_hits, 0u);
      EXPECT_GT(want->cache_bypass_misses, 0u);

      // The top cache set took nothing, bypassed everything it was sent.
      const BcacheStats& t = got.levels[0];
      EXPECT_EQ(t.ssd_bytes_written + t.ssd_bytes_read, 0u);
      EXPECT_EQ(t.cache_hits + t.cache_misses, 0u);
      // Every measured read is a bypass there, and a miss (its cache is empty);
      // the single run counted each measured read once in one of four counters.
      EXPECT_EQ(t.cache_bypass_hits, 0u);
      EXPECT_EQ(t.cache_bypass_misses,
                want->cache_hits + want->cache_misses + want->cache_bypass_hits + want->cache_bypass_misses);
      // End to end = the lower device's latency.
      EXPECT_TRUE(t.read_latency == want->read_latency);
      EXPECT_TRUE(t.write_latency == want->write_latency);
      EXPECT_EQ(got.end_ns, want->end_ns);
    }
  }
}

TEST(BcacheStack, ReadHittingTheUpperCacheNeverReachesTheLowerLevel) {
  Rig rig = MakeRig(Quiet(CacheMode::kWritethrough), Quiet(CacheMode::kWritethrough));
  // Read A misses both levels; 1 s later (the insert long done) it hits the top.
  const StackStats s = RunOk(*rig.stack, Trace({Req(0, BlockOp::kRead, 64 * kKiB, 8 * kKiB),
                                                Req(kSec, BlockOp::kRead, 64 * kKiB, 8 * kKiB)}));
  EXPECT_EQ(s.levels[0].cache_misses, 1u);
  EXPECT_EQ(s.levels[0].cache_hits, 1u);
  EXPECT_EQ(s.levels[1].requests, 1u);  // the top's miss only
  EXPECT_EQ(s.levels[1].reads, 1u);
  EXPECT_EQ(s.levels[1].cache_misses, 1u);
  EXPECT_EQ(rig.hdd->ios.size(), 1u);
  // End to end: the miss waited for the HDD (10 ms), the hit for the top SSD.
  EXPECT_EQ(s.levels[0].read_latency.max(), 10 * kMs);
  EXPECT_EQ(s.levels[0].read_latency.min(), 20 * kUs);
  // The top read 16 sectors from its backing device (the lower level).
  EXPECT_EQ(s.levels[0].hdd_bytes_read, 8 * kKiB);
}

TEST(BcacheStack, UpperMissThatHitsTheLowerLevelCostsTheLowerSsd) {
  // Writearound at the top: the write bypasses it and is written through
  // the lower level (HDD + lower SSD). The read then misses the top, hits
  // the lower SSD (100 us, not the HDD's 10 ms), and the top inserts it; the
  // next read hits the top (20 us).
  BcacheConfig top = Quiet(CacheMode::kWritearound);
  Rig rig = MakeRig(top, Quiet(CacheMode::kWritethrough));
  const StackStats s = RunOk(*rig.stack, Trace({Req(0, BlockOp::kWrite, 0, 4 * kKiB),
                                                Req(kSec, BlockOp::kRead, 0, 4 * kKiB),
                                                Req(2 * kSec, BlockOp::kRead, 0, 4 * kKiB)}));
  EXPECT_EQ(s.levels[0].cache_misses, 1u);
  EXPECT_EQ(s.levels[0].cache_hits, 1u);
  EXPECT_EQ(s.levels[1].cache_hits, 1u);
  EXPECT_EQ(s.levels[1].writes, 1u);
  EXPECT_EQ(rig.hdd->Count(false), 0u);  // no read ever reached the HDD
  EXPECT_EQ(rig.hdd->Count(true), 1u);
  ASSERT_EQ(s.levels[0].read_latency.count(), 2u);
  EXPECT_EQ(s.levels[0].read_latency.max(), 100 * kUs);
  EXPECT_EQ(s.levels[0].read_latency.min(), 20 * kUs);
  EXPECT_EQ(s.levels[1].read_latency.max(), 100 * kUs);  // what the top waited for
  // The write: max(HDD 10 ms, lower SSD 100 us).
  EXPECT_EQ(s.levels[0].write_latency.max(), 10 * kMs);
  // The top inserted the 8 sectors at 1 s + 100 us.
  ASSERT_EQ(rig.top_ssd->Count(true), 1u);
  EXPECT_EQ(rig.top_ssd->ios.front().now, kSec + 100 * kUs);
}

TEST(BcacheStack, UpperWritebackReachesTheLowerLevelOnlyWhenWrittenBack) {
  // Ten scattered 4 KiB writes, writeback mode at the top. With writeback off
  // the lower level receives nothing. With it on (the idle maximum rate
  // drains everything within the 60 s gap) it receives exactly the written
  // back keys: one 8-sector write each, from the writeback worker, each
  // after the top's SSD read of that key (20 us).
  std::vector<BlockRequest> reqs;
  for (int i = 0; i < 10; ++i) reqs.push_back(Req(i * kMs, BlockOp::kWrite, static_cast<uint64_t>(i) * kMiB, 4096));
  reqs.push_back(Req(60 * kSec, BlockOp::kRead, 900 * kMiB, 4096));
  for (bool running : {false, true}) {
    BcacheConfig top = Quiet(CacheMode::kWriteback);
    top.writeback_running = running;
    Rig rig = MakeRig(top, Quiet(CacheMode::kWritethrough));
    const StackStats s = RunOk(*rig.stack, Trace(reqs));
    const BcacheStats &t = s.levels[0], &l = s.levels[1];
    EXPECT_EQ(t.write_latency.max(), 20 * kUs);  // the top SSD only
    EXPECT_EQ(l.reads, 1u);                      // the final read's miss
    if (!running) {
      EXPECT_EQ(l.writes, 0u);
      EXPECT_EQ(t.dirty_sectors_end, 80u);
      EXPECT_EQ(rig.hdd->Count(true), 0u);
      continue;
    }
    EXPECT_EQ(t.writeback_sectors, 80u);
    EXPECT_EQ(t.dirty_sectors_end, 0u);
    EXPECT_EQ(l.writes, 10u);
    EXPECT_EQ(t.hdd_bytes_written, 80u * 512);
    // Written through the lower level: 10 HDD writes, each 20 us after a top
    // SSD read at the same offset's key.
    ASSERT_EQ(rig.hdd->Count(true), 10u);
    std::vector<int64_t> ssd_reads;
    for (const auto& io : rig.top_ssd->ios) {
      if (!io.write) ssd_reads.push_back(io.now);
    }
    ASSERT_EQ(ssd_reads.size(), 10u);
    size_t k = 0;
    for (const auto& io : rig.hdd->ios) {
      if (!io.write) continue;
      EXPECT_EQ(io.now, ssd_reads[k] + 20 * kUs);
      EXPECT_EQ(io.bytes, 4096u);
      ++k;
    }
  }
  // A writeback lower level with its own writeback off keeps what the top
  // wrote back as its own dirty data: the HDD sees no write at all.
  BcacheConfig top = Quiet(CacheMode::kWriteback);
  BcacheConfig low = Quiet(CacheMode::kWriteback);
  low.writeback_running = false;
  Rig rig = MakeRig(top, low);
  const StackStats s = RunOk(*rig.stack, Trace(reqs));
  EXPECT_EQ(s.levels[0].dirty_sectors_end, 0u);
  EXPECT_EQ(s.levels[1].dirty_sectors_end, 80u);
  EXPECT_EQ(rig.hdd->Count(true), 0u);
}

// ---------------------------------------------------------------- per-instance settings

TEST(BcacheStack, SequentialCutoffIsPerInstance) {
  // Ten back-to-back 512 KiB reads of one stream. An instance with a 1 MiB
  // cutoff bypasses from the 2nd read on (2 x 512 KiB >= 1 MiB); one with
  // cutoff 0 caches all. The lower level sees the top's misses and bypasses
  // as the same stream from the same task (the reader's context).
  std::vector<BlockRequest> reqs;
  for (int k = 0; k < 10; ++k) reqs.push_back(Req(k * 20 * kMs, BlockOp::kRead, k * 512 * kKiB, 512 * kKiB));
  {
    BcacheConfig top = Quiet(CacheMode::kWritethrough);
    top.sequential_cutoff_bytes = 1 * kMiB;
    Rig rig = MakeRig(top, Quiet(CacheMode::kWritethrough));
    const StackStats s = RunOk(*rig.stack, Trace(reqs));
    EXPECT_EQ(s.levels[0].cache_misses, 1u);
    EXPECT_EQ(s.levels[0].cache_bypass_misses, 9u);
    EXPECT_EQ(s.levels[1].cache_misses, 10u);
    EXPECT_EQ(s.levels[1].cache_bypass_misses, 0u);
  }
  {
    BcacheConfig low = Quiet(CacheMode::kWritethrough);
    low.sequential_cutoff_bytes = 1 * kMiB;
    Rig rig = MakeRig(Quiet(CacheMode::kWritethrough), low);
    const StackStats s = RunOk(*rig.stack, Trace(reqs));
    EXPECT_EQ(s.levels[0].cache_misses, 10u);
    EXPECT_EQ(s.levels[1].cache_misses, 1u);
    EXPECT_EQ(s.levels[1].cache_bypass_misses, 9u);
    EXPECT_EQ(s.levels[1].bypassed_sectors, 9u * 1024);
  }
}

TEST(BcacheStack, ThreeLevelsPassMissesDown) {
  // Three writethrough levels: the first read misses everywhere and is
  // inserted at every level; the second hits the top. Each level below the
  // top receives exactly one read.
  std::vector<StackLevel> levels;
  std::vector<FakeDevice*> ssds;
  for (int64_t ns : {10 * kUs, 50 * kUs, 100 * kUs}) {
    auto d = std::make_unique<FakeDevice>(8 * kMiB, ns);
    ssds.push_back(d.get());
    levels.push_back(StackLevel{Quiet(CacheMode::kWritethrough), std::move(d)});
  }
  std::vector<std::unique_ptr<Device>> backing;
  backing.push_back(std::make_unique<FakeDevice>(1024 * kMiB, 10 * kMs));
  auto stack = BcacheStack::Create(std::move(levels), std::move(backing));
  ASSERT_TRUE(stack.ok());
  ASSERT_EQ((*stack)->depth(), 3u);
  const StackStats s = RunOk(**stack, Trace({Req(0, BlockOp::kRead, 0, 4096), Req(kSec, BlockOp::kRead, 0, 4096)}));
  EXPECT_EQ(s.levels[0].cache_hits, 1u);
  EXPECT_EQ(s.levels[1].reads, 1u);
  EXPECT_EQ(s.levels[2].reads, 1u);
  for (FakeDevice* d : ssds) EXPECT_EQ(d->Count(true), 1u);  // one insert per level
  // Inserts follow the backing reads: the bottom at 10 ms, then both above.
  EXPECT_EQ(ssds[2]->ios[0].now, 10 * kMs);
  EXPECT_EQ(ssds[1]->ios[0].now, 10 * kMs);
  EXPECT_EQ(ssds[0]->ios[0].now, 10 * kMs);
  EXPECT_TRUE((*stack)->level(0).Cached(0, 0, 8));
  EXPECT_TRUE((*stack)->level(2).Cached(0, 0, 8));
}

TEST(BcacheStack, RejectsMisuse) {
  Rig rig = MakeRig(Quiet(CacheMode::kWritethrough), Quiet(CacheMode::kWritethrough));
  // IO beyond the bottom HDD is caught at the top.
  auto st = rig.stack->Run(Trace({Req(0, BlockOp::kRead, 2048 * kMiB, 4096)}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("requests[0].offset"), std::string::npos);
  // A level with too few buckets is named.
  std::vector<StackLevel> levels;
  levels.push_back(StackLevel{Quiet(CacheMode::kWritethrough), std::make_unique<FakeDevice>(8 * kMiB, kUs)});
  levels.push_back(StackLevel{Quiet(CacheMode::kWritethrough), std::make_unique<FakeDevice>(1 * kMiB, kUs)});
  std::vector<std::unique_ptr<Device>> backing;
  backing.push_back(std::make_unique<FakeDevice>(1024 * kMiB, kMs));
  auto bad = BcacheStack::Create(std::move(levels), std::move(backing));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("levels[1]"), std::string::npos) << bad.status().ToString();
}

TEST(BcacheStack, Deterministic) {
  auto run = [] {
    BcacheConfig top;  // congestion and cutoffs on
    top.mode = CacheMode::kWriteback;
    top.replacement = Replacement::kRandom;
    top.seed = 3;
    BcacheConfig low;
    low.replacement = Replacement::kRandom;
    low.seed = 4;
    std::vector<StackLevel> levels;
    levels.push_back(StackLevel{top, std::move(MakeDevice("ssd-nvme", 16 * kMiB)).value()});
    levels.push_back(StackLevel{low, std::move(MakeDevice("ssd-sata", 64 * kMiB)).value()});
    auto stack = BcacheStack::Create(std::move(levels), Hdds());
    EXPECT_TRUE(stack.ok());
    return RunOk(**stack, Mixed(15000, true));
  };
  const StackStats a = run(), b = run();
  ASSERT_EQ(a.levels.size(), 2u);
  ASSERT_EQ(b.levels.size(), 2u);
  for (size_t i = 0; i < 2; ++i) ExpectSameLevel(a.levels[i], b.levels[i]);
  EXPECT_EQ(a.sim_events, b.sim_events);
  EXPECT_GT(a.levels[0].buckets_invalidated, 0u);
  EXPECT_GT(a.levels[1].requests, 0u);
}

// ---------------------------------------------------------------- the registered model

TEST(BcacheStackModel, RegistersAndReportsPerLevel) {
  model::Registry reg;
  ASSERT_TRUE(reg.RegisterFamily("blockcache").ok());
  ASSERT_TRUE(RegisterBcacheModels(reg).ok());
  const model::ModelInfo* m = reg.Find("bcache.stack");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->version, "1.1.0");
  for (const auto& p : m->params) EXPECT_FALSE(p.help.empty()) << p.name;
  auto params = model::ResolveParams(
      m->params, {{"l1_cache_size", int64_t{256} << 20}, {"l2_cache_size", int64_t{1} << 30}}, "params");
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_EQ(params->Str("l1_ssd_profile"), "ssd-nvme");
  EXPECT_EQ(params->Str("l2_ssd_profile"), "ssd-sata");
  // 500 scattered 4 KiB reads, then the same 500 again: the first pass
  // misses both levels, the second hits the top, so the lower level sees
  // the 500 first-pass reads only.
  BlockWorkload w = Trace({});
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t i = 0; i < 500; ++i) {
      w.requests.push_back(Req(pass * 20 * kSec + static_cast<int64_t>(i) * 20 * kMs, BlockOp::kRead,
                               (i * 7919 % 100'000) * 32 * kKiB, 4096));
    }
  }
  model::RunInput in;
  in.params = &*params;
  in.workload = model::AnyRef::Of(&w);
  in.seed = 1;
  auto r = m->run(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->scalars.at("l1.cache_misses").value, 500);
  EXPECT_EQ(r->scalars.at("l1.cache_hits").value, 500);
  EXPECT_EQ(r->scalars.at("l2.requests").value, 500);
  EXPECT_EQ(r->scalars.at("l2.cache_misses").value, 500);
  EXPECT_EQ(r->scalars.at("l1.backing_bytes_read").value, 500 * 4096);
  EXPECT_EQ(r->scalars.at("hdd_bytes_read").value, 500 * 4096);
  EXPECT_EQ(r->scalars.at("requests").value, 1000);
  EXPECT_TRUE(r->histograms.count("hdd_seek_distance"));
  EXPECT_TRUE(r->histograms.count("l2.read_latency"));
  // End to end: half the reads waited for the HDD, half for the NVMe SSD.
  EXPECT_EQ(r->histograms.at("read_latency").count(), 1000u);
  EXPECT_GT(r->scalars.at("read_latency_p99_us").value, 1000.0);
  EXPECT_LT(r->scalars.at("read_latency_p50_us").value, r->scalars.at("read_latency_p99_us").value);
  // Every declared metric is reported, and nothing undeclared.
  size_t declared_scalars = 0;
  for (const auto& spec : m->metrics) {
    const bool present = r->scalars.count(spec.name) || r->histograms.count(spec.name);
    EXPECT_TRUE(present) << spec.name;
    declared_scalars += r->scalars.count(spec.name);
  }
  EXPECT_EQ(declared_scalars, r->scalars.size());
}

}  // namespace
}  // namespace kreplay::blockcache::bcache
