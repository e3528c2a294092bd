#include <gtest/gtest.h>

#include <cmath>

#include "services/sim/rng.h"
#include "workers/models/blockcache/devices/hdd.h"
#include "workers/models/blockcache/devices/profiles.h"
#include "workers/models/blockcache/devices/ssd.h"

namespace kreplay::blockcache {
namespace {

std::unique_ptr<HddModel> Hdd(const std::string& name, uint64_t capacity = 0) {
  const DeviceProfile* p = FindDeviceProfile(name);
  EXPECT_NE(p, nullptr);
  auto m = HddModel::Create(name, p->hdd, capacity);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

std::unique_ptr<SsdModel> Ssd(const SsdProfile& p) {
  auto m = SsdModel::Create("test-ssd", p);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

TEST(Profiles, FactoryKnowsEveryProfileAndListsThemOnError) {
  for (const auto& p : DeviceProfiles()) {
    auto d = MakeDevice(p.name);
    ASSERT_TRUE(d.ok()) << p.name << ": " << d.status().ToString();
    EXPECT_EQ((*d)->profile(), p.name);
    uint64_t want = p.kind == DeviceKind::kHdd ? p.hdd.capacity_bytes : p.ssd.capacity_bytes;
    EXPECT_EQ((*d)->capacity_bytes(), want);
    EXPECT_EQ((*d)->seek_distance_histogram() != nullptr, p.kind == DeviceKind::kHdd);
  }
  auto over = MakeDevice("hdd-7200", 1'000'000'000'000ULL);
  ASSERT_TRUE(over.ok());
  EXPECT_EQ((*over)->capacity_bytes(), 1'000'000'000'000ULL);
  auto bad = MakeDevice("floppy");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  EXPECT_NE(bad.status().message().find("floppy"), std::string::npos);
  EXPECT_NE(bad.status().message().find("hdd-7200"), std::string::npos);
  EXPECT_NE(bad.status().message().find("ssd-nvme"), std::string::npos);
}

TEST(Profiles, InconsistentProfileIsRejectedNamingTheField) {
  HddProfile p = FindDeviceProfile("hdd-7200")->hdd;
  p.full_stroke_seek_ms = 5;  // below the average
  auto m = HddModel::Create("x", p);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("full_stroke_seek_ms"), std::string::npos);
  SsdProfile s = FindDeviceProfile("ssd-sata")->ssd;
  s.page_bytes = 1000;
  auto n = SsdModel::Create("y", s);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("page_bytes"), std::string::npos);
}

TEST(Hdd, SeekCurvePassesThroughTheDatasheetFigures) {
  for (const char* name : {"hdd-7200", "hdd-5400", "hdd-15k"}) {
    SCOPED_TRACE(name);
    const HddProfile& p = FindDeviceProfile(name)->hdd;
    auto hdd = Hdd(name);
    EXPECT_EQ(hdd->SeekNs(0), 0);
    EXPECT_NEAR(hdd->SeekNs(1), p.single_track_seek_ms * 1e6, 1.0);
    EXPECT_NEAR(hdd->SeekNs(hdd->cylinders() - 1), p.full_stroke_seek_ms * 1e6, 1.0);
    EXPECT_NEAR(hdd->fitted_average_seek_ns(), p.average_seek_ms * 1e6, 1e3);
    int64_t prev = 0;
    for (uint64_t d = 1; d < hdd->cylinders(); d += hdd->cylinders() / 997) {
      int64_t s = hdd->SeekNs(d);
      EXPECT_GE(s, prev) << d;
      prev = s;
    }
  }
}

TEST(Hdd, ZonesMakeTheOuterEdgeAboutTwiceAsFastAsTheInner) {
  const HddProfile& p = FindDeviceProfile("hdd-7200")->hdd;
  auto hdd = Hdd("hdd-7200");
  const uint32_t mib = 1 << 20;
  double outer = mib / (hdd->TransferNs(0, mib) * 1e-9) / 1e6;
  double inner = mib / (hdd->TransferNs(hdd->capacity_bytes() - 2 * mib, mib) * 1e-9) / 1e6;
  EXPECT_NEAR(outer, p.outer_rate_mb_s, p.outer_rate_mb_s * 0.01);
  EXPECT_NEAR(inner, p.inner_rate_mb_s, p.inner_rate_mb_s * 0.01);
  EXPECT_EQ(hdd->CylinderOf(0), 0u);
  // Zones are whole cylinders, so the last few may lie past the capacity.
  EXPECT_GT(static_cast<double>(hdd->CylinderOf(hdd->capacity_bytes() - 512)), 0.999 * static_cast<double>(hdd->cylinders()));
}

// Closed loop at queue depth 1: each 4 KiB read is issued when the previous
// completes, at a uniformly random 4 KiB-aligned offset.
double MeanRandomReadNs(HddModel& hdd, uint32_t bytes, int n, uint64_t seed) {
  sim::Rng rng(seed);
  int64_t now = 0;
  double sum = 0;
  uint64_t slots = hdd.capacity_bytes() / bytes;
  for (int i = 0; i < n; ++i) {
    int64_t done = hdd.Submit(now, false, rng.Below(slots) * bytes, bytes);
    sum += static_cast<double>(done - now);
    now = done;
  }
  return sum / n;
}

TEST(Hdd, RandomReadAveragesSeekPlusHalfRotationPlusTransfer) {
  for (const char* name : {"hdd-7200", "hdd-5400"}) {
    SCOPED_TRACE(name);
    const HddProfile& p = FindDeviceProfile(name)->hdd;
    auto hdd = Hdd(name);
    // Expected from the datasheet numbers: half a revolution is 30/rpm s;
    // transfer at the capacity-weighted mean of the zone rates, whose
    // sectors per track fall linearly, so about (outer + inner) / 2 weighted
    // towards the outer zones; bounded here between the two extremes.
    double half_rev_ns = 30e9 / p.rpm;
    double xfer_fast = 4096 / (p.outer_rate_mb_s * 1e6) * 1e9, xfer_slow = 4096 / (p.inner_rate_mb_s * 1e6) * 1e9;
    double base = static_cast<double>(p.overhead_ns) + p.average_seek_ms * 1e6 + half_rev_ns;
    double mean = MeanRandomReadNs(*hdd, 4096, 20000, 7);
    EXPECT_GT(mean, (base + xfer_fast) * 0.97);
    EXPECT_LT(mean, (base + xfer_slow) * 1.03);
    // Every IO recorded one seek distance; random seeks average ~1/3 stroke.
    EXPECT_EQ(hdd->seek_distances().count(), 20000u);
    double third = hdd->seek_distances().Mean() / static_cast<double>(hdd->cylinders());
    EXPECT_GT(third, 0.28);
    EXPECT_LT(third, 0.36);
  }
}

TEST(Hdd, SequentialReadsAreMuchFasterThanRandom) {
  const HddProfile& p = FindDeviceProfile("hdd-7200")->hdd;
  const uint32_t io = 64 * 1024;
  const int n = 2000;
  // Closed loop QD1 sequential from the start of the disk: read-ahead keeps
  // the stream at the outer zone's media rate.
  auto seq = Hdd("hdd-7200");
  int64_t now = 0;
  for (int i = 0; i < n; ++i) now = seq->Submit(now, false, static_cast<uint64_t>(i) * io, io);
  double seq_rate = static_cast<double>(n) * io / (static_cast<double>(now) * 1e-9) / 1e6;
  EXPECT_GT(seq_rate, p.outer_rate_mb_s * 0.85);
  EXPECT_LE(seq_rate, p.outer_rate_mb_s * 1.01);
  auto rnd = Hdd("hdd-7200");
  double random_mean = MeanRandomReadNs(*rnd, io, n, 11);
  double seq_mean = static_cast<double>(now) / n;
  EXPECT_LT(seq_mean * 20, random_mean);

  // Without read-ahead, sequential IOs queued all at once still stream
  // (each starts where the head is), but issued one by one each misses its
  // sector and waits for most of a revolution.
  HddProfile no_ra = p;
  no_ra.readahead_bytes = 0;
  auto queued = HddModel::Create("x", no_ra).value();
  int64_t last = 0;
  for (int i = 0; i < 100; ++i) last = queued->Submit(0, false, static_cast<uint64_t>(i) * io, io);
  auto qd1 = HddModel::Create("x", no_ra).value();
  int64_t t = 0;
  for (int i = 0; i < 100; ++i) t = qd1->Submit(t, false, static_cast<uint64_t>(i) * io, io);
  EXPECT_GT(t - last, 99 * 0.5 * qd1->revolution_ns());
}

TEST(Hdd, QueueingDelaysAccumulate) {
  auto hdd = Hdd("hdd-7200");
  const uint64_t far = hdd->capacity_bytes() / 2;
  int64_t first = hdd->Submit(1000, false, far, 4096);
  int64_t second = hdd->Submit(1000, false, 0, 4096);
  EXPECT_GT(first, 1000);
  // The second waits for the first, then seeks half the stroke back.
  EXPECT_GE(second, first + hdd->SeekNs(hdd->CylinderOf(far)));
  // Alone on a fresh drive it would have been served at once (no seek).
  auto fresh = Hdd("hdd-7200");
  EXPECT_LT(fresh->Submit(1000, false, 0, 4096) - 1000, static_cast<int64_t>(fresh->revolution_ns()) + 200'000);
  EXPECT_EQ(hdd->bytes_written(), 0u);
  hdd->Submit(second, true, 8192, 4096);
  EXPECT_EQ(hdd->bytes_written(), 4096u);
}

TEST(Hdd, RotationIsDeterministicFromTime) {
  auto a = Hdd("hdd-7200");
  auto b = Hdd("hdd-7200");
  sim::Rng rng(3);
  int64_t now = 0;
  for (int i = 0; i < 500; ++i) {
    uint64_t off = rng.Below(a->capacity_bytes() / 4096) * 4096;
    int64_t da = a->Submit(now, false, off, 4096);
    ASSERT_EQ(da, b->Submit(now, false, off, 4096));
    now += rng.Range(0, 20'000'000);
  }
  // A read of sector 0 at time 0 with no seek: overhead, then the wait until
  // sector 0 comes round again (the platter is at angle 0 at t = 0, and the
  // overhead has turned it past), then one sector's transfer.
  auto c = Hdd("hdd-7200");
  const HddProfile& p = FindDeviceProfile("hdd-7200")->hdd;
  double rev = c->revolution_ns();
  double expect = rev + c->TransferNs(0, 512);  // overhead + (rev - overhead) + transfer
  EXPECT_NEAR(static_cast<double>(c->Submit(0, false, 0, 512)), expect, 2.0);
  (void)p;
}

SsdProfile Simple() {
  SsdProfile p;
  p.capacity_bytes = 1ULL << 30;
  p.channels = 4;
  p.chips_per_channel = 2;
  p.dies_per_chip = 1;
  p.page_bytes = 4096;
  p.read_ns = 50'000;
  p.program_ns = 500'000;
  p.channel_rate_mb_s = 400;
  p.host_rate_mb_s = 4000;
  p.overhead_ns = 1'000;
  return p;
}

TEST(Ssd, PagesOnDifferentDiesReadInParallel) {
  SsdProfile p = Simple();
  auto ssd = Ssd(p);
  ASSERT_EQ(ssd->dies(), 8);
  // Four page reads on four channels (pages 0..3): one tR each, in parallel.
  int64_t one = p.overhead_ns + p.read_ns + ssd->ChannelNs(4096) + ssd->HostNs(4096);
  int64_t last = 0;
  for (int i = 0; i < 4; ++i) last = std::max(last, ssd->Submit(0, false, static_cast<uint64_t>(i) * 4096, 4096));
  // Only the host link serialises them (4 x 4 KiB at 4 GB/s).
  EXPECT_LE(last, one + 3 * ssd->HostNs(4096));
  EXPECT_GE(last, one);

  // Four reads of pages on the same die (stride = dies): serial tR each.
  auto same = Ssd(p);
  int64_t end = 0;
  for (int i = 0; i < 4; ++i) end = same->Submit(0, false, static_cast<uint64_t>(i) * 8 * 4096, 4096);
  int64_t per = p.read_ns + same->ChannelNs(4096);
  EXPECT_EQ(end, p.overhead_ns + 4 * per + same->HostNs(4096));

  // Two dies sharing a channel (pages 0 and 4): tR overlaps, transfers queue.
  auto shared = Ssd(p);
  int64_t a = shared->Submit(0, false, 0, 4096);
  int64_t b = shared->Submit(0, false, 4 * 4096, 4096);
  EXPECT_EQ(a, p.overhead_ns + p.read_ns + shared->ChannelNs(4096) + shared->HostNs(4096));
  EXPECT_EQ(b, p.overhead_ns + p.read_ns + 2 * shared->ChannelNs(4096) + shared->HostNs(4096));
}

TEST(Ssd, OneRequestStripesOverDies) {
  SsdProfile p = Simple();
  auto ssd = Ssd(p);
  // 32 KiB = 8 pages on 8 dies; 2 per channel: tR + 2 channel transfers.
  int64_t done = ssd->Submit(0, false, 0, 32768);
  EXPECT_EQ(done, p.overhead_ns + p.read_ns + 2 * ssd->ChannelNs(4096) + ssd->HostNs(32768));
  // A program is slower than a read and counts host bytes.
  auto w = Ssd(p);
  int64_t wdone = w->Submit(0, true, 0, 4096);
  EXPECT_EQ(wdone, p.overhead_ns + w->HostNs(4096) + w->ChannelNs(4096) + p.program_ns);
  EXPECT_EQ(w->bytes_written(), 4096u);
  EXPECT_EQ(w->media_bytes_written(), 4096u);
}

TEST(Ssd, AmortisedGcStartsOncePhysicalSpaceIsWritten) {
  SsdProfile p = Simple();
  p.capacity_bytes = 4096 * 100;
  p.overprovisioning = 0.28;  // 128 physical pages
  p.gc_write_amplification = 3;
  p.pages_per_block = 64;
  auto ssd = Ssd(p);
  EXPECT_EQ(ssd->gc_cost_per_program_ns(),
            std::llround(2.0 * (p.read_ns + p.program_ns) + 3.0 / 64 * static_cast<double>(p.erase_ns)));
  int64_t now = 0;
  for (int i = 0; i < 128; ++i) now = ssd->Submit(now, true, static_cast<uint64_t>(i % 100) * 4096, 4096);
  EXPECT_TRUE(ssd->gc_active());
  EXPECT_EQ(ssd->media_bytes_written(), 128u * 4096);
  int64_t done = ssd->Submit(now, true, 0, 4096);
  EXPECT_EQ(done - now, p.overhead_ns + ssd->HostNs(4096) + ssd->ChannelNs(4096) + p.program_ns +
                            ssd->gc_cost_per_program_ns());
  EXPECT_EQ(ssd->bytes_written(), 129u * 4096);
  EXPECT_EQ(ssd->media_bytes_written(), 129u * 4096 + 2 * 4096);
}

}  // namespace
}  // namespace kreplay::blockcache
