// Unit tests of the bcache model, one mechanism at a time. Expected values
// are derived here from the kernel rules the model mirrors.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "services/model/params.h"
#include "services/model/registry.h"
#include "workers/models/blockcache/bcache/bcache_model.h"
#include "workers/models/blockcache/bcache/bcache_test_util.h"
#include "workers/models/blockcache/bcache/bcache_parts.h"
#include "workers/models/blockcache/bcache/bcache_sim.h"

namespace kreplay::blockcache::bcache {
namespace {

using workload::BlockOp;
using workload::BlockRequest;
using workload::BlockWorkload;

using namespace testutil;  // FakeDevice, Req, Trace, kUs ... kMiB

struct Rig {
  std::unique_ptr<BcacheSim> sim;
  FakeDevice* cache = nullptr;
  std::vector<FakeDevice*> backing;
};

// A cache of `cache_bytes` (512 KiB buckets) over `volumes` 1 GiB backing devices.
// SSD: 100 us reads and writes; HDD: 10 ms.
Rig MakeRig(BcacheConfig cfg, uint64_t cache_bytes = 8 * kMiB, uint32_t volumes = 1, int64_t ssd_read_ns = 100 * kUs,
            int64_t ssd_write_ns = 100 * kUs) {
  Rig rig;
  auto cache = std::make_unique<FakeDevice>(cache_bytes, ssd_read_ns, ssd_write_ns);
  rig.cache = cache.get();
  std::vector<std::unique_ptr<Device>> backing;
  for (uint32_t v = 0; v < volumes; ++v) {
    auto d = std::make_unique<FakeDevice>(1024 * kMiB, 10 * kMs, 10 * kMs);
    rig.backing.push_back(d.get());
    backing.push_back(std::move(d));
  }
  auto sim = BcacheSim::Create(cfg, std::move(cache), std::move(backing));
  EXPECT_TRUE(sim.ok()) << sim.status().ToString();
  rig.sim = std::move(sim).value();
  return rig;
}

// Mechanism isolation: no congestion, no sequential cutoff unless a test sets them.
BcacheConfig Quiet() {
  BcacheConfig c;
  c.congested_read_threshold_us = 0;
  c.congested_write_threshold_us = 0;
  c.sequential_cutoff_bytes = 0;
  return c;
}

BcacheStats RunOk(Rig& rig, const BlockWorkload& w) {
  auto st = rig.sim->Run(w);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  return st.ok() ? *st : BcacheStats();
}

// ---------------------------------------------------------------- bypass

TEST(BcacheBypass, SequentialCutoffTripsAtDocumentedSize) {
  BcacheConfig c = Quiet();
  c.sequential_cutoff_bytes = 4 * kMiB;
  Rig rig = MakeRig(c, 64 * kMiB);
  // Ten back-to-back 512 KiB reads of one stream: after the k-th (1-based)
  // the stream holds k * 512 KiB, so it bypasses once k * 512 KiB >= 4 MiB.
  std::vector<BlockRequest> reqs;
  const uint64_t io = 512 * kKiB;
  for (int k = 0; k < 10; ++k) reqs.push_back(Req(k * kMs, BlockOp::kRead, k * io, io));
  const BcacheStats s = RunOk(rig, Trace(reqs));
  const uint64_t first_bypass = 4 * kMiB / io;  // k = 8
  EXPECT_EQ(s.cache_misses, first_bypass - 1);
  EXPECT_EQ(s.cache_bypass_misses, 10 - (first_bypass - 1));
  EXPECT_EQ(s.bypassed_sectors, (10 - (first_bypass - 1)) * io / 512);
}

TEST(BcacheBypass, StreamExpiresAfterFiveSeconds) {
  BcacheConfig c = Quiet();
  c.sequential_cutoff_bytes = 1 * kMiB;
  Rig rig = MakeRig(c, 64 * kMiB);
  // 512 KiB + (6 s later, contiguous) 512 KiB: the stream expired, so the
  // second read starts a new one and stays below the cutoff.
  const BcacheStats s =
      RunOk(rig, Trace({Req(0, BlockOp::kRead, 0, 512 * kKiB), Req(6 * kSec, BlockOp::kRead, 512 * kKiB, 512 * kKiB)}));
  EXPECT_EQ(s.cache_misses, 2u);
  EXPECT_EQ(s.cache_bypass_misses, 0u);
}

TEST(BcacheBypass, UnalignedIoIsBypassed) {
  BcacheConfig c = Quiet();
  c.block_bytes = 4096;
  Rig rig = MakeRig(c);
  // block_size 4096: offset 512 and a 2 KiB write are both unaligned.
  const BcacheStats s = RunOk(rig, Trace({Req(0, BlockOp::kRead, 512, 4096), Req(kMs, BlockOp::kWrite, 8192, 2048)}));
  EXPECT_EQ(s.cache_bypass_misses, 1u);
  EXPECT_EQ(s.cache_misses + s.cache_hits, 0u);
  EXPECT_EQ(s.bypassed_sectors, 4096u / 512 + 2048u / 512);
  EXPECT_EQ(rig.cache->ios.size(), 0u);  // nothing touched the SSD
  EXPECT_FALSE(rig.sim->Cached(0, 16, 4));
}

TEST(BcacheBypass, CongestionLowersTheLimit) {
  BcacheConfig c;
  c.sequential_cutoff_bytes = 0;  // only congestion can bypass
  // SSD reads take 2 s: one such read is > CONGESTED_MAX "ms" (1024 x 1024 us
  // units) over the 2000 us threshold, so congested drops to -1024 and
  // bch_get_congested() returns 1 sector right after it completes.
  Rig rig = MakeRig(c, 8 * kMiB, 1, 2 * kSec, 100 * kUs);
  const BcacheStats s = RunOk(rig, Trace({
                                       Req(0, BlockOp::kWrite, 0, 4096),             // cached (writethrough)
                                       Req(1 * kMs, BlockOp::kRead, 0, 4096),        // hit; its SSD read ends at ~2.001 s
                                       Req(1500 * kMs, BlockOp::kRead, 1 * kMiB, 4096),  // before that: a normal miss
                                       Req(2100 * kMs, BlockOp::kRead, 2 * kMiB, 4096),  // congested: bypass
                                       // ((5 s - 2.001 s) >> 10) / 1024 ~ 2861 > 1024: congestion has decayed.
                                       Req(5000 * kMs, BlockOp::kRead, 3 * kMiB, 4096),
                                   }));
  EXPECT_EQ(s.cache_hits, 1u);
  EXPECT_EQ(s.cache_misses, 2u);
  EXPECT_EQ(s.cache_bypass_misses, 1u);
}

TEST(BcacheBypass, TaskFallbackDecidesWhoseHistoryCounts) {
  // Volume 0 streams 40 x 1 MiB; then volume 1 issues one 4 KiB read. If
  // both volumes are one task, that read starts a new stream and
  // add_sequential() folds 40 MiB into the EWMA: (0 * 7 + 40 MiB) / 8 =
  // 5 MiB >= the 4 MiB cutoff, so it bypasses. One task per volume: no history.
  std::vector<BlockRequest> reqs;
  for (int k = 0; k < 40; ++k) reqs.push_back(Req(k * kMs, BlockOp::kRead, k * kMiB, kMiB, 0, 7));
  reqs.push_back(Req(100 * kMs, BlockOp::kRead, 300 * kMiB, 4096, 1, 7));
  const uint64_t cutoff_stream_reads = 3;  // 1, 2, 3 MiB pass; from 4 MiB on they bypass
  for (TaskFallback fb : {TaskFallback::kPerVolume, TaskFallback::kSingle}) {
    BcacheConfig c = Quiet();
    c.sequential_cutoff_bytes = 4 * kMiB;
    c.task_fallback = fb;
    Rig rig = MakeRig(c, 256 * kMiB, 2);
    const BcacheStats s = RunOk(rig, Trace(reqs, 2, false));
    EXPECT_FALSE(s.task_ids_from_trace);
    const bool last_bypassed = fb == TaskFallback::kSingle;
    EXPECT_EQ(s.cache_misses, cutoff_stream_reads + (last_bypassed ? 0 : 1));
    EXPECT_EQ(s.cache_bypass_misses, 40 - cutoff_stream_reads + (last_bypassed ? 1 : 0));
  }
  // With task IDs from the trace the same task issues both: the history counts.
  BcacheConfig c = Quiet();
  c.sequential_cutoff_bytes = 4 * kMiB;
  Rig rig = MakeRig(c, 256 * kMiB, 2);
  const BcacheStats s = RunOk(rig, Trace(reqs, 2, true));
  EXPECT_TRUE(s.task_ids_from_trace);
  EXPECT_EQ(s.cache_bypass_misses, 40 - cutoff_stream_reads + 1);
}

// ---------------------------------------------------------------- reads

TEST(BcacheRead, PartialHitCountsAsMissAndSplitsTheIo) {
  Rig rig = MakeRig(Quiet());
  const BcacheStats s = RunOk(rig, Trace({Req(0, BlockOp::kWrite, 0, 4096), Req(kSec, BlockOp::kRead, 0, 8192)}));
  EXPECT_EQ(s.cache_misses, 1u);
  EXPECT_EQ(s.cache_hits, 0u);
  // The backing device read only the missing half; the SSD served the rest.
  const FakeDevice::Io& last_hdd = rig.backing[0]->ios.back();
  EXPECT_FALSE(last_hdd.write);
  EXPECT_EQ(last_hdd.offset, 4096u);
  EXPECT_EQ(last_hdd.bytes, 4096u);
  EXPECT_EQ(rig.cache->Count(false), 1u);
  // And the missing half was inserted after the backing read.
  EXPECT_TRUE(rig.sim->Cached(0, 0, 16));
}

TEST(BcacheRead, MissCollisionDropsTheInsert) {
  BcacheConfig c = Quiet();
  c.mode = CacheMode::kWritearound;  // the write itself is not cached
  Rig rig = MakeRig(c);
  // The miss's backing read takes 10 ms; a write to the range at 1 ms wins.
  const BcacheStats s = RunOk(rig, Trace({Req(0, BlockOp::kRead, 0, 4096), Req(kMs, BlockOp::kWrite, 0, 4096)}));
  EXPECT_EQ(s.cache_misses, 1u);
  EXPECT_EQ(s.cache_miss_collisions, 1u);
  EXPECT_FALSE(rig.sim->Cached(0, 0, 8));
  EXPECT_EQ(rig.cache->Count(true), 0u);
}

TEST(BcacheRead, HitResetsPriority) {
  Rig rig = MakeRig(Quiet());  // 16 buckets of 1024 sectors
  // bch_rescale_priorities(): every 16 * 1024 / 1024 = 16 sectors of
  // non-bypassed IO the priorities of all buckets not pinned drop by one.
  // c->rescale starts at 0 and gains 16 once per call, so after A's 1024
  // sectors it stays negative and every later call drops them once. A fills
  // its bucket, which then leaves the open list (bch_alloc_sectors()) and is
  // no longer pinned; it was allocated (prio 32768) after its own rescale.
  std::vector<BlockRequest> reqs;
  reqs.push_back(Req(0, BlockOp::kWrite, 0, 512 * kKiB));  // A: a whole bucket
  const int k = 10;
  for (int i = 1; i <= k; ++i) reqs.push_back(Req(i * kMs, BlockOp::kWrite, kMiB + i * 64 * kKiB, 8192));
  reqs.push_back(Req(100 * kMs, BlockOp::kRead, 0, 8192));  // hit on A
  const BlockWorkload w = Trace(reqs);
  ASSERT_TRUE(rig.sim->Start(w).ok());
  rig.sim->RunUntil(50 * kMs);
  const int64_t b = rig.sim->BucketOf(0, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(rig.sim->prio(static_cast<uint32_t>(b)), 32768 - k);
  rig.sim->RunUntil(200 * kMs);
  EXPECT_EQ(rig.sim->prio(static_cast<uint32_t>(b)), 32768);
  EXPECT_EQ(rig.sim->Stats().cache_hits, 1u);
}

// Overwrites cut cached extents in all three ways (split by a discard, end
// trimmed, front trimmed) and a read then walks pieces and holes. Every
// figure below is derived by hand from the extent rules (btree extent
// overwrite, cache_lookup_fn(), cached_dev_cache_miss()), with sectors of
// 512 bytes and one open bucket filled from cache sector 0.
TEST(BcacheExtents, OverwritesCutExtentsAndReadsWalkPiecesAndHoles) {
  Rig rig = MakeRig(Quiet());  // writethrough, 16 buckets of 1024 sectors
  const BlockWorkload w = Trace({
      Req(0, BlockOp::kWrite, 0, 64 * kKiB),                 // [0,128) at cache 0..128
      Req(kSec, BlockOp::kDiscard, 16 * kKiB, 8 * kKiB),     // cuts [32,48): [0,32) + [48,128)
      Req(2 * kSec, BlockOp::kWrite, 56 * kKiB, 16 * kKiB),  // [112,144) at 128; [48,128) -> [48,112)
      Req(2500 * kMs, BlockOp::kWrite, 0, 8 * kKiB),         // [0,16) at 160; [0,32) -> [16,32) at 16
      Req(3 * kSec, BlockOp::kRead, 0, 80 * kKiB),           // [0,160): 4 pieces, holes [32,48) [144,160)
      Req(4 * kSec, BlockOp::kRead, 0, 72 * kKiB),           // [0,144): all cached now
      Req(5 * kSec, BlockOp::kRead, 72 * kKiB, 8 * kKiB),    // [144,160): never inserted
  });
  ASSERT_TRUE(rig.sim->Start(w).ok());
  rig.sim->RunUntil(1500 * kMs);
  EXPECT_TRUE(rig.sim->Cached(0, 0, 32));
  EXPECT_FALSE(rig.sim->Cached(0, 32, 1));
  EXPECT_FALSE(rig.sim->Cached(0, 47, 1));
  EXPECT_TRUE(rig.sim->Cached(0, 48, 80));
  EXPECT_FALSE(rig.sim->Cached(0, 128, 1));
  rig.sim->RunUntil(2700 * kMs);
  EXPECT_TRUE(rig.sim->Cached(0, 0, 32));
  EXPECT_TRUE(rig.sim->Cached(0, 48, 96));
  EXPECT_FALSE(rig.sim->Cached(0, 144, 1));
  rig.sim->RunUntil(10 * kSec);
  const BcacheStats s = rig.sim->Stats();

  // The first read: SSD reads in LBA order, at the cache sectors the cuts
  // left (a trimmed front moves its cache sector by as much).
  std::vector<std::pair<uint64_t, uint32_t>> first_read;  // (cache sector, sectors)
  for (const FakeDevice::Io& io : rig.cache->ios) {
    if (!io.write && io.now == 3 * kSec) first_read.emplace_back(io.offset / 512, io.bytes / 512);
  }
  const std::vector<std::pair<uint64_t, uint32_t>> want = {{160, 16}, {16, 16}, {48, 64}, {128, 32}};
  EXPECT_EQ(first_read, want);
  // Only the first hole is inserted (at cache sector 176); the second is
  // read from the backing device alone, so the third read misses.
  EXPECT_EQ(s.cache_misses, 2u);
  EXPECT_EQ(s.cache_hits, 1u);
  EXPECT_EQ(s.bypassed_sectors, 16u);  // the discard
  EXPECT_EQ(s.discards, 1u);
  // SSD reads: 128 sectors (first read) + 144 (second).
  EXPECT_EQ(s.ssd_bytes_read, (128u + 144u) * 512);
  // Backing reads: the two holes, then [144,160) again.
  EXPECT_EQ(s.hdd_bytes_read, 48u * 512);
  EXPECT_EQ(rig.backing[0]->Count(false), 3u);
  EXPECT_EQ(rig.backing[0]->Count(true), 3u);
  // SSD writes: 128 + 32 + 16 sectors written, 16 + 16 inserted.
  EXPECT_EQ(rig.cache->Count(true), 5u);
  EXPECT_EQ(s.ssd_bytes_written, 208u * 512);
  EXPECT_EQ(rig.sim->BucketOf(0, 150), 0);
  EXPECT_TRUE(rig.sim->Cached(0, 0, 160));
  EXPECT_EQ(s.gc_runs, 0u);  // 208 sectors inserted < 16 * 1024 / 16
}

// ---------------------------------------------------------------- writes

TEST(BcacheWrite, WritethroughWritesBothDevices) {
  Rig rig = MakeRig(Quiet());
  const BcacheStats s = RunOk(rig, Trace({Req(0, BlockOp::kWrite, 64 * kKiB, 8192)}));
  ASSERT_EQ(rig.backing[0]->ios.size(), 1u);
  EXPECT_TRUE(rig.backing[0]->ios[0].write);
  EXPECT_EQ(rig.backing[0]->ios[0].bytes, 8192u);
  ASSERT_EQ(rig.cache->ios.size(), 1u);
  EXPECT_TRUE(rig.cache->ios[0].write);
  EXPECT_EQ(rig.cache->ios[0].bytes, 8192u);
  EXPECT_TRUE(rig.sim->Cached(0, 128, 16));
  EXPECT_EQ(s.dirty_sectors_end, 0u);
  // Completion waits for both: max(100 us, 10 ms).
  EXPECT_EQ(s.write_latency.max(), 10 * kMs);
}

TEST(BcacheWrite, WritearoundDoesNotInsertWrites) {
  BcacheConfig c = Quiet();
  c.mode = CacheMode::kWritearound;
  Rig rig = MakeRig(c);
  const BcacheStats s = RunOk(rig, Trace({Req(0, BlockOp::kWrite, 0, 8192), Req(kSec, BlockOp::kRead, 0, 8192),
                                          Req(2 * kSec, BlockOp::kRead, 0, 8192)}));
  EXPECT_EQ(s.bypassed_sectors, 16u);  // the write
  EXPECT_EQ(s.cache_misses, 1u);       // so the first read misses ...
  EXPECT_EQ(s.cache_hits, 1u);         // ... and inserts; the second hits
  EXPECT_EQ(rig.backing[0]->Count(true), 1u);
}

TEST(BcacheWrite, WritebackKeepsDirtyDataOnTheSsdOnly) {
  BcacheConfig c = Quiet();
  c.mode = CacheMode::kWriteback;
  c.writeback_running = false;
  Rig rig = MakeRig(c);
  const BcacheStats s = RunOk(rig, Trace({Req(0, BlockOp::kWrite, 0, 8192)}));
  EXPECT_EQ(rig.backing[0]->ios.size(), 0u);
  EXPECT_EQ(s.dirty_sectors_end, 16u);
  EXPECT_EQ(s.write_latency.max(), 100 * kUs);  // the SSD write only
}

TEST(BcacheReplacement, DirtyBucketsSurviveEvictionPressure) {
  // 16 buckets. One dirty bucket's worth is written first, then 48 buckets'
  // worth of clean misses (separate streams) forces invalidations. Dirty
  // buckets can't be invalidated, so in writeback mode the first data stays;
  // in writethrough (clean) it is gone.
  for (CacheMode mode : {CacheMode::kWriteback, CacheMode::kWritethrough}) {
    BcacheConfig c = Quiet();
    c.mode = mode;
    c.writeback_running = false;
    Rig rig = MakeRig(c, 8 * kMiB);
    std::vector<BlockRequest> reqs;
    reqs.push_back(Req(0, BlockOp::kWrite, 0, 512 * kKiB));
    for (int i = 0; i < 48; ++i) {
      reqs.push_back(Req((i + 1) * 20 * kMs, BlockOp::kRead, (10 + 2 * i) * kMiB, 512 * kKiB));
    }
    const BcacheStats s = RunOk(rig, Trace(reqs));
    EXPECT_GT(s.buckets_invalidated, 16u);
    EXPECT_EQ(rig.sim->Cached(0, 0, 1024), mode == CacheMode::kWriteback);
    EXPECT_EQ(s.dirty_sectors_end, mode == CacheMode::kWriteback ? 1024u : 0u);
  }
}

TEST(BcacheReplacement, BucketCleanedByWritebackIsReusableOnlyAfterGc) {
  // bch_data_insert_start() marks a bucket GC_MARK_DIRTY when dirty data is
  // written to it; writeback making the key clean (write_dirty_finish())
  // does not touch the mark; bch_can_invalidate_bucket() takes only GC_MARK
  // 0 / RECLAIMABLE buckets, and only GC recomputes marks (btree_gc_start(),
  // __bch_btree_mark_key()). 64 buckets: GC when more than 64 * 1024 / 16 =
  // 4096 sectors were inserted. X fills bucket 0, a small miss opens bucket
  // 1 (so bucket 0 is no longer the open, pinned one); then two 1 MiB
  // misses (2048 sectors inserted each) take the count below zero: GC.
  BcacheConfig c = Quiet();
  c.mode = CacheMode::kWriteback;
  Rig rig = MakeRig(c, 32 * kMiB);
  const BlockWorkload w = Trace({Req(0, BlockOp::kWrite, 0, 512 * kKiB),  // X: a whole bucket, dirty
                                 Req(10 * kMs, BlockOp::kRead, 8 * kMiB, 4096),
                                 Req(2 * kSec, BlockOp::kRead, 16 * kMiB, kMiB),
                                 Req(2100 * kMs, BlockOp::kRead, 18 * kMiB, kMiB),
                                 Req(5 * kSec, BlockOp::kRead, 30 * kMiB, 4096)});
  ASSERT_TRUE(rig.sim->Start(w).ok());
  rig.sim->RunUntil(1 * kSec);
  const int64_t b = rig.sim->BucketOf(0, 0);
  ASSERT_GE(b, 0);
  const auto bucket = static_cast<uint32_t>(b);
  EXPECT_EQ(rig.sim->bucket_dirty_sectors(bucket), 0u);  // written back
  EXPECT_EQ(rig.sim->Stats().gc_runs, 0u);               // 4096 - 1032 >= 0: not yet
  EXPECT_FALSE(rig.sim->Reclaimable(bucket));            // still GC_MARK_DIRTY
  rig.sim->RunUntil(3 * kSec);
  EXPECT_EQ(rig.sim->Stats().gc_runs, 1u);
  EXPECT_TRUE(rig.sim->Reclaimable(bucket));
}

TEST(BcacheReplacement, LruSkipsACleanedBucketUntilGcAndPicksTheOldestReclaimable) {
  // 16 buckets, lru, free lists sized from roundup_pow_of_two(16) >> 10 = 0
  // (at least 1): the allocator invalidates one bucket when a single free
  // bucket is left. R0..R13 fill buckets 0-13 with clean misses; X (dirty)
  // fills bucket 14 and is written back at once. That is 15 inserts of
  // 1024 sectors: GC after every second one, the last after R13, so X's
  // bucket is still GC_MARK_DIRTY. Reads then hit R0..R13 in order (a hit
  // resets its bucket's prio to 32768; each request first ages all
  // unpinned buckets by one), leaving R0's bucket the oldest of them and X's
  // older still. The next miss needs bucket 15, the last free one, so the
  // allocator invalidates first: bucket_prio() would pick X, but
  // bch_can_invalidate_bucket() refuses it, so R0's bucket goes.
  BcacheConfig c = Quiet();
  c.mode = CacheMode::kWriteback;
  Rig rig = MakeRig(c);
  std::vector<BlockRequest> reqs;
  int64_t t = 0;
  for (int i = 0; i < 14; ++i) reqs.push_back(Req(t += 100 * kMs, BlockOp::kRead, i * kMiB, 512 * kKiB));
  reqs.push_back(Req(t += 100 * kMs, BlockOp::kWrite, 100 * kMiB, 512 * kKiB));  // X
  for (int i = 0; i < 14; ++i) reqs.push_back(Req(t += 100 * kMs, BlockOp::kRead, i * kMiB, 4096));
  reqs.push_back(Req(t += 100 * kMs, BlockOp::kRead, 200 * kMiB, 512 * kKiB));
  const BcacheStats s = RunOk(rig, Trace(reqs));
  EXPECT_EQ(s.writeback_sectors, 1024u);
  EXPECT_EQ(s.buckets_invalidated, 1u);
  EXPECT_TRUE(rig.sim->Cached(0, 100 * kMiB / 512, 1024));  // X stays
  EXPECT_FALSE(rig.sim->Cached(0, 0, 1));                   // R0 was reused
  EXPECT_TRUE(rig.sim->Cached(0, kMiB / 512, 1024));
}

TEST(BcacheCongestion, MovingGcIoFeedsTheCongestionEstimate) {
  // read_moving() submits with bch_submit_bbio() and read_moving_endio()
  // ends in bch_bbio_endio() -> bch_bbio_count_io_errors(): a moving-GC read
  // slower than congested_read_threshold_us lowers c->congested as any
  // foreground cache read does. The SSD reads take 3 ms (> 2 ms); the
  // foreground IO here is writes only (100 us, under the 20 ms threshold),
  // which cannot lower it.
  BcacheConfig c = Quiet();
  c.congested_read_threshold_us = 2000;
  c.congested_write_threshold_us = 20000;
  Rig rig = MakeRig(c, 8 * kMiB, 1, 3 * kMs, 100 * kUs);
  // A whole bucket, then half of it overwritten (512 sectors inserted: GC,
  // which finds bucket 0 half used and moves its live half).
  const BlockWorkload w = Trace({Req(0, BlockOp::kWrite, 0, 512 * kKiB), Req(kSec, BlockOp::kWrite, 0, 256 * kKiB),
                                 Req(2 * kSec, BlockOp::kWrite, 50 * kMiB, 4096)});
  const BcacheStats s = RunOk(rig, w);
  EXPECT_EQ(s.gc_runs, 1u);
  EXPECT_EQ(s.moving_gc_sectors, 512u);
  EXPECT_LT(rig.sim->congestion_counter(), 0);
}

TEST(BcacheReplacement, FifoAndRandomAreDeterministic) {
  for (Replacement r : {Replacement::kFifo, Replacement::kRandom, Replacement::kLru}) {
    std::vector<BlockRequest> reqs;
    for (int i = 0; i < 400; ++i) {
      reqs.push_back(Req(i * kMs, BlockOp::kRead, static_cast<uint64_t>((i * 7919) % 97) * 256 * kKiB, 64 * kKiB));
    }
    BcacheConfig c = Quiet();
    c.replacement = r;
    c.seed = 42;
    Rig a = MakeRig(c, 4 * kMiB), b = MakeRig(c, 4 * kMiB);
    const BcacheStats sa = RunOk(a, Trace(reqs)), sb = RunOk(b, Trace(reqs));
    EXPECT_EQ(sa.cache_hits, sb.cache_hits);
    EXPECT_EQ(sa.buckets_invalidated, sb.buckets_invalidated);
    EXPECT_GT(sa.buckets_invalidated, 0u);
    EXPECT_EQ(sa.cache_hits + sa.cache_misses, 400u);
  }
}

// ---------------------------------------------------------------- writeback

TEST(BcacheWriteback, PiControllerFirstStepIsPPlusI) {
  WritebackRate r(true, false);
  RateInputs in;
  in.dirty = 2'000'000;
  in.target = 1'000'000;
  r.Update(in);
  // P = error / 40; the integral gains error * 5 and counts 1/10000 of it.
  EXPECT_EQ(r.rate(), 1'000'000 / 40 + 1'000'000 * 5 / 10000);
  // Below target with no integral: the minimum rate, 8.
  WritebackRate low(true, false);
  in.dirty = 10;
  low.Update(in);
  EXPECT_EQ(low.rate(), 8);
}

TEST(BcacheWriteback, PiControllerConvergesTowardsTarget) {
  // Plant: dirty data grows by `incoming` sectors/s and shrinks by the rate.
  // With integral action the steady state is rate == incoming, dirty == target.
  WritebackRate r(true, false);
  const int64_t target = 1'000'000, incoming = 3000;
  int64_t dirty = 0;
  for (int step = 0; step < 20000; ++step) {
    RateInputs in;
    in.dirty = dirty;
    in.target = target;
    r.Update(in);
    dirty = std::max<int64_t>(0, dirty + (incoming - r.rate()) * WritebackRate::kUpdateSeconds);
  }
  EXPECT_NEAR(static_cast<double>(dirty), static_cast<double>(target), 0.02 * target);
  EXPECT_NEAR(static_cast<double>(r.rate()), static_cast<double>(incoming), 0.05 * incoming);
}

TEST(BcacheWriteback, DirtyTargetIsTheDevicesShare) {
  // 10 % of 1,048,576 sectors, device holding a quarter of the backing sectors.
  EXPECT_EQ(DirtyTarget(1 << 20, 10, 1000, 4000, true), ((1 << 20) / 10 * ((1000 << 14) / 4000)) >> 14);
  EXPECT_EQ(DirtyTarget(1 << 20, 10, 1000, 4000, false), (1 << 20) / 10 / 4);
}

TEST(BcacheWriteback, WritesBackInLbaOrderAndDrainsWhenIdle) {
  // 2500 dirty 4 KiB keys (every other block, written in descending LBA
  // order) = 20000 sectors, below the 10 % target of a 256 MiB cache
  // (52428 sectors), so the controller sits at its 8 sectors/s minimum after
  // the first update at 5 s. Without the idle path at most
  // 1024 * 5 + 8 * 115 + a batch per update (< 7000 sectors) go back by
  // 120 s; with it (6 updates without a request = 30 s) everything does.
  std::vector<BlockRequest> reqs;
  const int keys = 2500;
  for (int i = 0; i < keys; ++i) {
    reqs.push_back(Req(i * 10 * kUs, BlockOp::kWrite, static_cast<uint64_t>(keys - 1 - i) * 8192, 4096));
  }
  reqs.push_back(Req(120 * kSec, BlockOp::kRead, 900 * kMiB, 4096));
  for (bool idle : {false, true}) {
    BcacheConfig c = Quiet();
    c.mode = CacheMode::kWriteback;
    c.idle_max_writeback_rate = idle;
    Rig rig = MakeRig(c, 256 * kMiB);
    const BcacheStats s = RunOk(rig, Trace(reqs));
    if (idle) {
      EXPECT_EQ(s.dirty_sectors_end, 0u);
      EXPECT_GT(s.writeback_max_rate_updates, 0u);
    } else {
      EXPECT_GT(s.dirty_sectors_end, 20000u - 7000u);
    }
    // LBA order within each pass: backing writes rise except where a pass wraps.
    int descents = 0;
    uint64_t prev = 0;
    for (const auto& io : rig.backing[0]->ios) {
      if (!io.write) continue;
      if (io.offset < prev) ++descents;
      prev = io.offset;
    }
    EXPECT_LE(descents, 2);
    EXPECT_EQ(s.writeback_sectors + s.dirty_sectors_end, 20000u);
  }
}

// The cutoff rule of should_writeback() replayed for 12 writes of one
// bucket each (512 KiB) into 16 buckets, writeback off: write i is written
// back iff in_use <= `cutoff` when it arrives. Each write takes a new bucket
// (bch_bucket_alloc: one bucket less available, in_use recomputed) and fills
// it, so the bucket leaves the open list and is not pinned; every 1024
// inserted sectors (1/16 of the cache) sectors_to_gc goes negative on
// alternate writes and GC recounts the available buckets
// (bch_btree_gc_finish(): unpinned, not GC_MARK_DIRTY). Returns which
// writes were written back. `cutoff_of(i)` is write i's cutoff in %.
template <typename CutoffOf>
std::vector<bool> CutoffReplay(CutoffOf cutoff_of) {
  int64_t avail = 16, sectors_to_gc = 1024;
  int in_use = 0;
  std::vector<bool> dirty(12, false);
  for (int i = 0; i < 12; ++i) {
    dirty[i] = in_use <= cutoff_of(i);
    sectors_to_gc -= 1024;
    --avail;
    in_use = static_cast<int>((16 - avail) * 100 / 16);
    if (sectors_to_gc < 0) {
      sectors_to_gc = 1024;
      int dirty_closed = 0;
      for (int j = 0; j <= i; ++j) dirty_closed += dirty[j];
      avail = 16 - dirty_closed;
      in_use = static_cast<int>((16 - avail) * 100 / 16);
    }
  }
  return dirty;
}
std::vector<bool> CutoffReplay(int cutoff) {
  return CutoffReplay([cutoff](int) { return cutoff; });
}

TEST(BcacheWriteback, CutoffWritebackSendsWritesThroughWhenBucketsAreInUse) {
  // Once in_use > 40 % (CUTOFF_WRITEBACK) async writes are no longer written
  // back but go through to the backing device too.
  BcacheConfig c = Quiet();
  c.mode = CacheMode::kWriteback;
  c.writeback_running = false;
  Rig rig = MakeRig(c, 8 * kMiB);
  std::vector<BlockRequest> reqs;
  for (int i = 0; i < 12; ++i) reqs.push_back(Req(i * 20 * kMs, BlockOp::kWrite, i * 2 * kMiB, 512 * kKiB));
  const BcacheStats s = RunOk(rig, Trace(reqs));
  uint64_t expected_dirty = 0;
  for (bool d : CutoffReplay(40)) expected_dirty += d ? 1024 : 0;
  EXPECT_EQ(s.dirty_sectors_end, expected_dirty);
  EXPECT_EQ(rig.backing[0]->Count(true), 12u - expected_dirty / 1024);
}

TEST(BcacheWriteback, SyncFlagsOfTheTraceSelectTheSyncCutoff) {
  // should_writeback(): op_is_sync() writes are written back up to
  // CUTOFF_WRITEBACK_SYNC (70 %), others up to CUTOFF_WRITEBACK (40 %). The
  // even writes are marked sync by the trace (blkparse WS); with
  // sync_from_trace they use 70 %, without it (or unmarked) 40 %; sync_writes
  // makes every write sync.
  for (int mode = 0; mode < 3; ++mode) {
    BcacheConfig c = Quiet();
    c.mode = CacheMode::kWriteback;
    c.writeback_running = false;
    c.sync_from_trace = mode != 1;
    c.sync_writes = mode == 2;
    Rig rig = MakeRig(c, 8 * kMiB);
    std::vector<BlockRequest> reqs;
    for (int i = 0; i < 12; ++i) {
      reqs.push_back(Req(i * 20 * kMs, BlockOp::kWrite, i * 2 * kMiB, 512 * kKiB));
      reqs.back().sync = i % 2 == 0;
    }
    BlockWorkload w = Trace(reqs);
    w.has_sync_flags = true;
    const BcacheStats s = RunOk(rig, w);
    // The replay with each write's own cutoff.
    const std::vector<bool> dirty = CutoffReplay([mode](int i) {
      const bool sync = mode == 2 || (mode == 0 && i % 2 == 0);
      return sync ? 70 : 40;
    });
    uint64_t expected_dirty = 0;
    for (bool d : dirty) expected_dirty += d ? 1024 : 0;
    EXPECT_EQ(s.dirty_sectors_end, expected_dirty) << "mode " << mode;
    uint64_t async_only = 0;
    for (bool d : CutoffReplay(40)) async_only += d ? 1024 : 0;
    if (mode == 1) {
      EXPECT_EQ(expected_dirty, async_only);  // the trace's flags ignored
    } else {
      EXPECT_GT(expected_dirty, async_only);  // the flags made a difference
    }
  }
}

TEST(BcacheWriteback, DelayFollowsEveryFullPassAndAWakeUpDoesNotCutItShort) {
  // bch_writeback_thread() (writeback.c, v6.1): after every pass that
  // searched the whole index (refill_dirty() true) the thread sleeps
  // writeback_delay (30 s) in a loop of schedule_timeout_interruptible()
  // calls, including after a pass that found nothing and cleared has_dirty.
  // bch_writeback_add() wakes it with wake_up_process(): that ends one
  // schedule_timeout call early, and the loop sleeps the time left.
  //
  // A (t = 0) starts pass 1 at once (the thread sleeps in schedule() with
  // nothing dirty); the pass ends when A's backing write completes, at t1 =
  // 100 us (SSD read) + 10 ms (HDD write). Sleep to t1 + 30 s; pass 2 finds
  // nothing, clears has_dirty and sleeps to t1 + 60 s. B, written at 40 s,
  // therefore goes back at t1 + 60 s, not at 40 s.
  BcacheConfig c = Quiet();
  c.mode = CacheMode::kWriteback;
  Rig rig = MakeRig(c);
  const BlockWorkload w = Trace({Req(0, BlockOp::kWrite, 0, 4096), Req(40 * kSec, BlockOp::kWrite, kMiB, 4096),
                                 Req(70 * kSec, BlockOp::kRead, 8 * kMiB, 4096)});
  const int64_t t1 = 100 * kUs + 10 * kMs;
  ASSERT_TRUE(rig.sim->Start(w).ok());
  rig.sim->RunUntil(t1 + 1);
  EXPECT_EQ(rig.sim->dirty_sectors(0), 0u);  // A went back at once
  rig.sim->RunUntil(t1 + 60 * kSec - 1);
  EXPECT_EQ(rig.sim->dirty_sectors(0), 8u);  // B still waits
  rig.sim->RunUntil(t1 + 61 * kSec);
  EXPECT_EQ(rig.sim->dirty_sectors(0), 0u);
  int64_t b_issued = -1;
  for (const auto& io : rig.backing[0]->ios) {
    if (io.write && io.offset == kMiB) b_issued = io.now;
  }
  // B's writeback: the SSD read is issued when the sleep ends, the backing
  // write when that read completes.
  EXPECT_EQ(b_issued, t1 + 60 * kSec + 100 * kUs);
}

// ---------------------------------------------------------------- timing

TEST(BcacheReplay, ClosedLoopAndWarmup) {
  BcacheConfig c = Quiet();
  c.queue_depth = 1;
  c.warmup_requests = 2;
  Rig rig = MakeRig(c);
  // Closed loop at depth 1: each 10 ms miss issues after the previous one.
  std::vector<BlockRequest> reqs;
  for (int i = 0; i < 5; ++i) reqs.push_back(Req(0, BlockOp::kRead, i * kMiB, 4096));
  const BcacheStats s = RunOk(rig, Trace(reqs));
  EXPECT_EQ(s.end_ns, 5 * 10 * kMs);
  EXPECT_EQ(s.measured_requests, 3u);
  EXPECT_EQ(s.cache_misses, 3u);
  EXPECT_EQ(s.read_latency.count(), 3u);
}

TEST(BcacheReplay, RejectsIoBeyondTheBackingDevice) {
  Rig rig = MakeRig(Quiet());
  auto st = rig.sim->Run(Trace({Req(0, BlockOp::kRead, 2048 * kMiB, 4096)}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("requests[0].offset"), std::string::npos);
}

// ---------------------------------------------------------------- registry + real devices

TEST(BcacheModel, DefaultBlockSizeIsTheDevicesLogicalBlockSize) {
  // make-bcache without --block takes the largest logical block size
  // (BLKSSZGET) of the devices it formats; every shipped profile has 512 B
  // logical blocks, so IO aligned to 512 B (as in MSR or blkparse traces)
  // is cached, while an explicit 4 KiB block size bypasses it as unaligned
  // (check_should_bypass()).
  model::Registry reg;
  ASSERT_TRUE(reg.RegisterFamily("blockcache").ok());
  ASSERT_TRUE(RegisterBcacheModels(reg).ok());
  for (const char* name : {"bcache", "bcache.stack"}) {
    const model::ModelInfo* m = reg.Find(name);
    ASSERT_NE(m, nullptr);
    const bool stack = std::string(name) == "bcache.stack";
    const std::string block = stack ? "l1_block_size" : "block_size";
    const uint64_t expected_block = 512;
    for (int64_t explicit_block : {int64_t{0}, int64_t{4096}}) {
      std::map<std::string, model::ParamValue> given;
      if (explicit_block) given[block] = explicit_block;
      auto params = model::ResolveParams(m->params, given, "params");
      ASSERT_TRUE(params.ok()) << params.status().ToString();
      // 3 KiB at byte 1536: aligned to 512 B, not to 4 KiB.
      BlockWorkload w = Trace({Req(0, BlockOp::kWrite, 1536, 3072), Req(kSec, BlockOp::kRead, 1536, 3072)});
      model::RunInput in;
      in.params = &*params;
      in.workload = model::AnyRef::Of(&w);
      in.seed = 1;
      auto r = m->run(in);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      const uint64_t used_block = explicit_block ? static_cast<uint64_t>(explicit_block) : expected_block;
      const bool aligned = 1536 % used_block == 0 && 3072 % used_block == 0;
      const std::string pre = stack ? "l1." : "";
      EXPECT_EQ(r->scalars.at(pre + "bypassed_bytes").value, aligned ? 0 : 2 * 3072) << name << " " << explicit_block;
      EXPECT_EQ(r->scalars.at(pre + "cache_hits").value, aligned ? 1 : 0) << name << " " << explicit_block;
    }
  }
}

TEST(BcacheModel, RegistersAndRunsWithShippedProfiles) {
  model::Registry reg;
  ASSERT_TRUE(reg.RegisterFamily("blockcache").ok());
  ASSERT_TRUE(RegisterBcacheModels(reg).ok());
  const model::ModelInfo* m = reg.Find("bcache");
  ASSERT_NE(m, nullptr);
  for (const auto& p : m->params) EXPECT_FALSE(p.help.empty()) << p.name;
  auto params = model::ResolveParams(m->params, {{"cache_size", int64_t{1} << 30}}, "params");
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  // 500 random 4 KiB reads, then the same 500 again 10 s later: the second
  // pass hits (every first-pass miss was inserted long before).
  BlockWorkload w = Trace({});
  std::vector<uint64_t> offsets;  // 500 distinct, scattered blocks
  for (uint64_t i = 0; i < 500; ++i) offsets.push_back((i * 7919 % 100'000) * 32 * kKiB);
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < 500; ++i) {
      w.requests.push_back(Req(pass * 20 * kSec + i * 20 * kMs, BlockOp::kRead, offsets[i], 4096));
    }
  }
  model::RunInput in;
  in.params = &*params;
  in.workload = model::AnyRef::Of(&w);
  in.seed = 1;
  auto r = m->run(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->scalars.at("cache_misses").value, 500);
  EXPECT_EQ(r->scalars.at("cache_hits").value, 500);
  EXPECT_EQ(r->scalars.at("task_fallback").value, 1);
  EXPECT_TRUE(r->histograms.count("hdd_seek_distance"));
  // Misses wait for the disk, hits only for the SSD.
  EXPECT_GT(r->scalars.at("read_latency_p99_us").value, r->scalars.at("read_latency_p50_us").value);
  model::RunInput none;
  none.params = &*params;
  EXPECT_FALSE(m->run(none).ok());
}

}  // namespace
}  // namespace kreplay::blockcache::bcache
