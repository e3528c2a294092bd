#include "workers/models/memory/codec/mem_trace.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "services/codec/columns.h"
#include "services/core/crc32c.h"
#include "services/core/digest.h"
#include "services/family/family.h"
#include "services/sim/rng.h"

namespace kreplay::memory {
namespace {

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// ---- workloads ---------------------------------------------------------------

// `n` calls over three areas (one unnamed), Poisson-ish arrivals, a mix of
// sizes, holds (some never released) and timeouts.
Foreground Calls(size_t n, uint64_t seed) {
  Foreground f;
  f.areas = {"reserved", "", "linux,cma"};
  sim::Rng rng(seed);
  sim::Time t = sim::kSec;
  const uint64_t sizes[] = {1, 16, 256, 4096, 16384, uint64_t{1} << 20};
  for (size_t i = 0; i < n; ++i) {
    t += static_cast<sim::Time>(rng.Below(400 * sim::kMs));
    ContigCall c;
    c.at = t;
    c.pages = sizes[rng.Below(6)];
    c.align = rng.Below(4) == 0 ? 8 : DmaAlignOrder(c.pages);
    c.area = static_cast<uint16_t>(rng.Below(3));
    c.hold = rng.Below(10) == 0 ? -1 : static_cast<sim::Duration>(rng.Below(2 * sim::kSec));
    c.timeout = rng.Below(5) == 0 ? static_cast<sim::Duration>(rng.Below(sim::kSec)) + 1 : 0;
    f.calls.push_back(c);
  }
  return f;
}

MemWorkload Workload(size_t calls, uint64_t seed) {
  MemWorkload w;
  w.foreground = Calls(calls, seed);
  w.background = DefaultBackground();
  w.initial = DefaultInitial();
  w.duration = 0;
  return w;
}

// Every field of the header, each set to a value distinct from its default
// (and most from each other), at or near the bounds where there are any.
MemWorkload FillEveryField() {
  MemWorkload w;
  w.foreground.areas = {"reserved", "", std::string("bin\0\xff", 5)};
  w.foreground.calls = {
      {0, 0, 0, 0, -1, 0},
      {kI64Max, kU64Max, std::numeric_limits<uint32_t>::max(), 2, kI64Max, kI64Max},
      {1, uint64_t{1} << 63, 8, 1, 0, 1},
      {5, 3, 1, 0, -1, 0},
  };
  BackgroundTemplate& t = w.background;
  BackgroundSpec& s = t.spec;
  s.anon.working_set_pages = 0x0123456789abcdefull;
  s.anon.fault_rate = 12345.678901234567;
  s.anon.mapped_cpus = 0xfedcba98u;
  s.cache.file_pages = 0xfedcba9876543210ull;
  s.cache.read_rate = std::nextafter(5000.0, 6000.0);
  s.cache.write_rate = 1e9;
  s.cache.hot_fraction = std::numeric_limits<double>::denorm_min();
  s.cache.hot_access = 0.8;
  s.cache.mapped_cpus = 3;
  s.cache.dirty_ratio = 100;
  s.cache.dirty_background_ratio = 13;
  s.cache.dirty_expire = 29 * sim::kSec + 7;
  s.cache.dirty_writeback_interval = 1;
  s.cache.writeback_inflight_pages = 1u << 24;
  s.build.spawn_rate = 0.1;
  s.build.anon_pages = 0xffffffffu;
  s.build.kernel_pages = 0x80000001u;
  s.build.file_reads = 1u << 20;
  s.build.mean_lifetime = 24 * 3600 * sim::kSec;
  s.build.mapped_cpus = 4096;
  s.pin.rate = std::numeric_limits<double>::denorm_min();
  s.pin.pages = 77;
  s.pin.duration = 3 * sim::kSec + 1;
  s.pin.longterm = false;
  s.slab.rate = 1e-300;
  s.slab.reclaimable_fraction = 1.0;
  s.slab.mean_lifetime = 123456789;
  s.lru_batch_pages = 64;
  s.sample_interval = 100 * sim::kMs + 1;
  t.anon_working_set = {0.3, 1};
  t.cache_files = {std::nextafter(1.0, 0.0), uint64_t{1} << 44};
  t.build_anon = {1e-9, 4097};
  t.build_kernel = {1.0, 12345};
  t.pin_size = {std::numeric_limits<double>::denorm_min(), 7};
  w.initial.used = 0.97;
  for (int k = 0; k < kPageKinds; ++k) w.initial.shares[static_cast<size_t>(k)] = 1.5 + 0.1 * k;
  w.initial.shares[0] = 1e6;
  w.initial.churn = 99.5;
  w.initial.mixed_blocks = 0.125;
  w.duration = 23 * 3600 * sim::kSec + 1;
  return w;
}

// The names of the fields where a and b differ, doubles compared bit for bit.
// Lists every field of the header (50; the codec's static_asserts keep the
// structs from growing without it).
std::vector<std::string> DiffFields(const MemWorkload& a, const MemWorkload& b) {
  std::vector<std::string> out;
  auto eq = [&](const char* name, auto x, auto y) {
    if constexpr (std::is_same_v<decltype(x), double>) {
      if (std::bit_cast<uint64_t>(x) != std::bit_cast<uint64_t>(y)) out.push_back(name);
    } else {
      if (x != y) out.push_back(name);
    }
  };
  const BackgroundSpec& s = a.background.spec;
  const BackgroundSpec& r = b.background.spec;
  eq("anon.working_set_pages", s.anon.working_set_pages, r.anon.working_set_pages);
  eq("anon.fault_rate", s.anon.fault_rate, r.anon.fault_rate);
  eq("anon.mapped_cpus", s.anon.mapped_cpus, r.anon.mapped_cpus);
  eq("cache.file_pages", s.cache.file_pages, r.cache.file_pages);
  eq("cache.read_rate", s.cache.read_rate, r.cache.read_rate);
  eq("cache.write_rate", s.cache.write_rate, r.cache.write_rate);
  eq("cache.hot_fraction", s.cache.hot_fraction, r.cache.hot_fraction);
  eq("cache.hot_access", s.cache.hot_access, r.cache.hot_access);
  eq("cache.mapped_cpus", s.cache.mapped_cpus, r.cache.mapped_cpus);
  eq("cache.dirty_ratio", s.cache.dirty_ratio, r.cache.dirty_ratio);
  eq("cache.dirty_background_ratio", s.cache.dirty_background_ratio, r.cache.dirty_background_ratio);
  eq("cache.dirty_expire", s.cache.dirty_expire, r.cache.dirty_expire);
  eq("cache.dirty_writeback_interval", s.cache.dirty_writeback_interval, r.cache.dirty_writeback_interval);
  eq("cache.writeback_inflight_pages", s.cache.writeback_inflight_pages, r.cache.writeback_inflight_pages);
  eq("build.spawn_rate", s.build.spawn_rate, r.build.spawn_rate);
  eq("build.anon_pages", s.build.anon_pages, r.build.anon_pages);
  eq("build.kernel_pages", s.build.kernel_pages, r.build.kernel_pages);
  eq("build.file_reads", s.build.file_reads, r.build.file_reads);
  eq("build.mean_lifetime", s.build.mean_lifetime, r.build.mean_lifetime);
  eq("build.mapped_cpus", s.build.mapped_cpus, r.build.mapped_cpus);
  eq("pin.rate", s.pin.rate, r.pin.rate);
  eq("pin.pages", s.pin.pages, r.pin.pages);
  eq("pin.duration", s.pin.duration, r.pin.duration);
  eq("pin.longterm", s.pin.longterm, r.pin.longterm);
  eq("slab.rate", s.slab.rate, r.slab.rate);
  eq("slab.reclaimable_fraction", s.slab.reclaimable_fraction, r.slab.reclaimable_fraction);
  eq("slab.mean_lifetime", s.slab.mean_lifetime, r.slab.mean_lifetime);
  eq("lru_batch_pages", s.lru_batch_pages, r.lru_batch_pages);
  eq("sample_interval", s.sample_interval, r.sample_interval);
  const std::pair<const char*, const MemSize BackgroundTemplate::*> sizes[] = {
      {"anon_working_set", &BackgroundTemplate::anon_working_set}, {"cache_files", &BackgroundTemplate::cache_files},
      {"build_anon", &BackgroundTemplate::build_anon},             {"build_kernel", &BackgroundTemplate::build_kernel},
      {"pin_size", &BackgroundTemplate::pin_size}};
  for (const auto& [name, m] : sizes) {
    eq(name, (a.background.*m).fraction, (b.background.*m).fraction);
    eq(name, (a.background.*m).bytes, (b.background.*m).bytes);
  }
  eq("initial.used", a.initial.used, b.initial.used);
  for (size_t k = 0; k < kPageKinds; ++k) eq("initial.shares", a.initial.shares[k], b.initial.shares[k]);
  eq("initial.churn", a.initial.churn, b.initial.churn);
  eq("initial.mixed_blocks", a.initial.mixed_blocks, b.initial.mixed_blocks);
  eq("duration", a.duration, b.duration);
  return out;
}
constexpr size_t kHeaderFields = 51;

// ---- the documented layout, written independently --------------------------

// The header as mem_trace.h's table says, with each field's offset by name.
struct ReferenceHeader {
  std::string bytes;
  std::map<std::string, size_t> at;
  void Put(const std::string& name, uint64_t v, int width) {
    at[name] = bytes.size();
    for (int i = 0; i < width; ++i) bytes.push_back(static_cast<char>(v >> (8 * i)));
  }
  void Real(const std::string& name, double v) { Put(name, std::bit_cast<uint64_t>(v), 8); }
};

ReferenceHeader Reference(const MemWorkload& w) {
  ReferenceHeader h;
  h.Put("version", 1, 1);
  h.Put("area_count", w.foreground.areas.size(), 4);
  for (size_t i = 0; i < w.foreground.areas.size(); ++i) {
    h.Put("area " + std::to_string(i) + " name length", w.foreground.areas[i].size(), 4);
    h.bytes += w.foreground.areas[i];
  }
  const BackgroundSpec& s = w.background.spec;
  h.Put("anon.working_set_pages", s.anon.working_set_pages, 8);
  h.Real("anon.fault_rate", s.anon.fault_rate);
  h.Put("anon.mapped_cpus", s.anon.mapped_cpus, 4);
  h.Put("cache.file_pages", s.cache.file_pages, 8);
  h.Real("cache.read_rate", s.cache.read_rate);
  h.Real("cache.write_rate", s.cache.write_rate);
  h.Real("cache.hot_fraction", s.cache.hot_fraction);
  h.Real("cache.hot_access", s.cache.hot_access);
  h.Put("cache.mapped_cpus", s.cache.mapped_cpus, 4);
  h.Put("cache.dirty_ratio", static_cast<uint32_t>(s.cache.dirty_ratio), 4);
  h.Put("cache.dirty_background_ratio", static_cast<uint32_t>(s.cache.dirty_background_ratio), 4);
  h.Put("cache.dirty_expire", static_cast<uint64_t>(s.cache.dirty_expire), 8);
  h.Put("cache.dirty_writeback_interval", static_cast<uint64_t>(s.cache.dirty_writeback_interval), 8);
  h.Put("cache.writeback_inflight_pages", s.cache.writeback_inflight_pages, 4);
  h.Real("build.spawn_rate", s.build.spawn_rate);
  h.Put("build.anon_pages", s.build.anon_pages, 4);
  h.Put("build.kernel_pages", s.build.kernel_pages, 4);
  h.Put("build.file_reads", s.build.file_reads, 4);
  h.Put("build.mean_lifetime", static_cast<uint64_t>(s.build.mean_lifetime), 8);
  h.Put("build.mapped_cpus", s.build.mapped_cpus, 4);
  h.Real("pin.rate", s.pin.rate);
  h.Put("pin.pages", s.pin.pages, 4);
  h.Put("pin.duration", static_cast<uint64_t>(s.pin.duration), 8);
  h.Put("pin.longterm", s.pin.longterm, 1);
  h.Real("slab.rate", s.slab.rate);
  h.Real("slab.reclaimable_fraction", s.slab.reclaimable_fraction);
  h.Put("slab.mean_lifetime", static_cast<uint64_t>(s.slab.mean_lifetime), 8);
  h.Put("lru_batch_pages", s.lru_batch_pages, 4);
  h.Put("sample_interval", static_cast<uint64_t>(s.sample_interval), 8);
  const std::pair<const char*, MemSize> sizes[] = {{"anon_working_set", w.background.anon_working_set},
                                                   {"cache_files", w.background.cache_files},
                                                   {"build_anon", w.background.build_anon},
                                                   {"build_kernel", w.background.build_kernel},
                                                   {"pin_size", w.background.pin_size}};
  for (const auto& [name, m] : sizes) {
    h.Real(std::string(name) + ".fraction", m.fraction);
    h.Put(std::string(name) + ".bytes", m.bytes, 8);
  }
  h.Real("initial.used", w.initial.used);
  h.Put("initial.share_count", kPageKinds, 1);
  for (size_t k = 0; k < kPageKinds; ++k) h.Real("initial.share " + std::to_string(k), w.initial.shares[k]);
  h.Real("initial.churn", w.initial.churn);
  h.Real("initial.mixed_blocks", w.initial.mixed_blocks);
  h.Put("duration", static_cast<uint64_t>(w.duration), 8);
  return h;
}

void ExpectCode(const Status& st, StatusCode code, const std::string& what) {
  EXPECT_EQ(st.code(), code) << st.ToString();
  EXPECT_NE(st.message().find(what), std::string::npos) << "'" << what << "' not in: " << st.message();
}
void ExpectDataLossNaming(const Status& st, const std::string& what) { ExpectCode(st, StatusCode::kDataLoss, what); }

// ---- round trips -------------------------------------------------------------

TEST(MemTrace, EveryFieldRoundTripsBitExact) {
  const MemWorkload w = FillEveryField();
  // The fill really is distinct from the defaults in every field.
  EXPECT_EQ(DiffFields(w, MemWorkload{}).size(), kHeaderFields);
  for (size_t bound : {size_t{1}, codec::kDefaultChunkBytes}) {
    auto back = RoundTrip(w, bound);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(DiffFields(w, *back), std::vector<std::string>{});
    EXPECT_EQ(back->foreground, w.foreground);
  }
}

TEST(MemTrace, HeaderIsTheDocumentedLayout) {
  for (const MemWorkload& w : {FillEveryField(), Workload(3, 1), MemWorkload{}}) {
    const v1::TraceManifest m = EncodeMemWorkload(w, 4096, "t").manifest;
    EXPECT_EQ(m.header(), Reference(w).bytes);
  }
  // Without areas: version, count and 358 bytes of fixed fields.
  EXPECT_EQ(EncodeMemWorkload(MemWorkload{}, 4096, "t").manifest.header().size(), 1u + 4 + 358);
}

TEST(MemTrace, RoundTripAcrossChunkSizes) {
  const MemWorkload w = Workload(5000, 11);
  for (size_t bound : {size_t{1}, size_t{100}, size_t{1000}, size_t{65536}, codec::kDefaultChunkBytes}) {
    SCOPED_TRACE("chunk bound " + std::to_string(bound));
    codec::EncodedTrace t = EncodeMemWorkload(w, bound, "synthetic");
    EXPECT_EQ(t.manifest.family(), "memory");
    EXPECT_EQ(t.manifest.source(), "synthetic");
    EXPECT_EQ(t.manifest.record_count(), w.foreground.calls.size());
    EXPECT_EQ(t.manifest.chunk_count(), t.chunks.size());
    uint64_t next = 0, bytes = 0;
    for (size_t i = 0; i < t.chunks.size(); ++i) {
      const auto& c = t.chunks[i];
      EXPECT_EQ(c.index(), i);
      EXPECT_EQ(c.first_record(), next);
      EXPECT_EQ(c.crc32c(), Crc32c(c.payload()));
      if (c.payload().size() > bound) {
        EXPECT_EQ(c.record_count(), 1u) << "chunk " << i;  // only a record that cannot be split
      }
      next += c.record_count();
      bytes += c.payload().size();
    }
    EXPECT_EQ(next, w.foreground.calls.size());
    EXPECT_EQ(bytes, t.manifest.payload_bytes());
    if (bound == 1) {
      EXPECT_EQ(t.chunks.size(), w.foreground.calls.size());
    }
    if (bound == codec::kDefaultChunkBytes) {
      EXPECT_EQ(t.chunks.size(), 1u);
    }
    auto back = RoundTrip(w, bound);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->foreground, w.foreground);
    EXPECT_TRUE(DiffFields(*back, w).empty());
  }
}

TEST(MemTrace, ColumnsAreTheDocumentedOnes) {
  const MemWorkload w = Workload(10, 2);
  codec::EncodedTrace t = EncodeMemWorkload(w, 1 << 20, "t");
  ASSERT_EQ(t.chunks.size(), 1u);
  auto cols = codec::DecodeColumns(t.chunks[0].payload(), {"at", "pages", "align", "area", "hold", "timeout"});
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  for (size_t r = 0; r < w.foreground.calls.size(); ++r) {
    const ContigCall& c = w.foreground.calls[r];
    EXPECT_EQ((*cols)[0][r], c.at);
    EXPECT_EQ(static_cast<uint64_t>((*cols)[1][r]), c.pages);
    EXPECT_EQ((*cols)[2][r], c.align);
    EXPECT_EQ((*cols)[3][r], c.area);
    EXPECT_EQ((*cols)[4][r], c.hold);
    EXPECT_EQ((*cols)[5][r], c.timeout);
  }
}

TEST(MemTrace, EmptyForegroundKeepsEverythingElse) {
  MemWorkload w = FillEveryField();
  w.foreground.calls.clear();
  codec::EncodedTrace t = EncodeMemWorkload(w, 4096, "empty");
  EXPECT_EQ(t.manifest.chunk_count(), 0u);
  EXPECT_EQ(t.manifest.record_count(), 0u);
  MemTraceAssembler a(t.manifest);
  EXPECT_TRUE(a.complete());
  auto back = a.Finish();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->foreground, w.foreground);
  EXPECT_TRUE(DiffFields(*back, w).empty());

  // And no areas at all.
  auto bare = RoundTrip(MemWorkload{}, 4096);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_TRUE(bare->foreground.areas.empty());
  EXPECT_TRUE(DiffFields(*bare, MemWorkload{}).empty());
}

TEST(MemTrace, ShuffledChunksWithDuplicates) {
  const MemWorkload w = Workload(3000, 13);
  codec::EncodedTrace t = EncodeMemWorkload(w, 256, "t");
  const size_t n = t.chunks.size();
  ASSERT_GT(n, 20u);
  // Every chunk once, plus every third chunk again, in a seeded random order.
  std::vector<size_t> order;
  for (size_t i = 0; i < n; ++i) order.push_back(i);
  for (size_t i = 0; i < n; i += 3) order.push_back(i);
  sim::Rng rng(99);
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.Below(i + 1)]);
  ASSERT_NE(order[0], 0u);  // the seed must actually test out-of-order arrival

  MemTraceAssembler a(t.manifest);
  std::set<size_t> seen;
  for (size_t k = 0; k < order.size(); ++k) {
    ASSERT_TRUE(a.Add(t.chunks[order[k]]).ok()) << "chunk " << order[k];
    seen.insert(order[k]);
    EXPECT_EQ(a.accepted(), seen.size());
    EXPECT_EQ(a.complete(), seen.size() == n);
    size_t prefix = 0;
    while (seen.count(prefix)) ++prefix;
    EXPECT_EQ(a.next_chunk(), prefix);
  }
  EXPECT_EQ(a.duplicates(), order.size() - n);
  auto back = a.Finish();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->foreground, w.foreground);
  EXPECT_TRUE(DiffFields(*back, w).empty());
}

TEST(MemTrace, FitsTheFamilyTable) {
  const MemWorkload w = Workload(500, 3);
  codec::EncodedTrace t = EncodeMemWorkload(w, 512, "t");
  std::unique_ptr<family::TraceAssembler> a =
      std::make_unique<family::TypedAssembler<MemTraceAssembler, MemWorkload>>(t.manifest, MemWorkloadBytes);
  for (auto it = t.chunks.rbegin(); it != t.chunks.rend(); ++it) ASSERT_TRUE(a->Add(*it).ok());
  ASSERT_TRUE(a->complete());
  EXPECT_EQ(a->next_chunk(), t.chunks.size());
  auto v = a->Finish();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const MemWorkload* back = v->As<MemWorkload>();
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->foreground, w.foreground);
  EXPECT_GE(v->ApproxBytes(), w.foreground.calls.size() * sizeof(ContigCall));
}

// ---- damaged and foreign chunks ----------------------------------------------

class MemTraceFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    w_ = Workload(2000, 14);
    t_ = EncodeMemWorkload(w_, 512, "t");
    ASSERT_GT(t_.chunks.size(), 5u);
  }
  void AddAllBut(MemTraceAssembler& a, size_t skip) {
    for (size_t i = 0; i < t_.chunks.size(); ++i) {
      if (i != skip) {
        ASSERT_TRUE(a.Add(t_.chunks[i]).ok()) << i;
      }
    }
  }
  void ExpectIntact(MemTraceAssembler& a) {
    auto back = a.Finish();
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->foreground, w_.foreground);
  }
  // A copy of chunk i whose calls were changed by `edit`, re-encoded with a
  // matching CRC (so only the decoder's checks can catch it).
  v1::TraceChunk Edited(size_t i, const std::function<void(std::vector<int64_t>*)>& edit) {
    const v1::TraceChunk& c = t_.chunks[i];
    auto cols = codec::DecodeColumns(c.payload(), {"at", "pages", "align", "area", "hold", "timeout"});
    EXPECT_TRUE(cols.ok());
    std::vector<int64_t> row(6);
    codec::ColumnWriter out({"at", "pages", "align", "area", "hold", "timeout"});
    for (size_t r = 0; r < (*cols)[0].size(); ++r) {
      for (size_t k = 0; k < 6; ++k) row[k] = (*cols)[k][r];
      if (r == 1) edit(&row);
      out.Append(row.data());
    }
    v1::TraceChunk e = c;
    e.set_payload(out.TakePayload());
    e.set_crc32c(Crc32c(e.payload()));
    return e;
  }
  MemWorkload w_;
  codec::EncodedTrace t_;
};

TEST_F(MemTraceFaults, FlippedByteRejectedThenGoodCopyAccepted) {
  MemTraceAssembler a(t_.manifest);
  AddAllBut(a, 3);
  v1::TraceChunk bad = t_.chunks[3];
  (*bad.mutable_payload())[bad.payload().size() / 2] ^= 0x10;
  Status st = a.Add(bad);
  ExpectDataLossNaming(st, "memory trace " + t_.manifest.digest().substr(0, 12) + " chunk 3: CRC32C");
  EXPECT_FALSE(a.complete());
  EXPECT_EQ(a.next_chunk(), 3u);
  ASSERT_TRUE(a.Add(t_.chunks[3]).ok());
  EXPECT_EQ(a.duplicates(), 0u);  // the bad copy was not kept
  ExpectIntact(a);
}

TEST_F(MemTraceFaults, TruncatedPayloadWithMatchingCrc) {
  v1::TraceChunk cut = t_.chunks[2];
  cut.mutable_payload()->resize(cut.payload().size() - 5);
  cut.set_crc32c(Crc32c(cut.payload()));
  MemTraceAssembler a(t_.manifest);
  ExpectDataLossNaming(a.Add(cut), "chunk 2");
  AddAllBut(a, 99999);
  ExpectIntact(a);
}

TEST_F(MemTraceFaults, ChunkOfAnotherTrace) {
  MemTraceAssembler a(t_.manifest);
  v1::TraceChunk c = t_.chunks[5];
  c.set_digest(std::string(64, '0'));
  ExpectDataLossNaming(a.Add(c), "chunk 5: chunk belongs to trace '0000");
  // A real chunk of another memory trace.
  codec::EncodedTrace other = EncodeMemWorkload(Workload(2000, 15), 512, "t");
  ExpectDataLossNaming(a.Add(other.chunks[0]), "chunk 0: chunk belongs to trace '" + other.manifest.digest());
  EXPECT_EQ(a.accepted(), 0u);
  AddAllBut(a, 99999);
  ExpectIntact(a);
}

TEST_F(MemTraceFaults, WrongIndexAndCounts) {
  MemTraceAssembler a(t_.manifest);
  v1::TraceChunk c = t_.chunks[1];
  c.set_index(t_.manifest.chunk_count());
  ExpectDataLossNaming(a.Add(c), "chunk " + std::to_string(t_.manifest.chunk_count()) + ": index out of range");
  c = t_.chunks[0];
  c.set_record_count(c.record_count() - 1);
  ExpectDataLossNaming(a.Add(c), "chunk 0: payload holds");
  c = t_.chunks[0];
  c.set_first_record(kU64Max);
  ExpectDataLossNaming(a.Add(c), "chunk 0: records [");
  c = t_.chunks[0];
  c.set_record_count(0);
  ExpectDataLossNaming(a.Add(c), "chunk 0: chunk has no records");
}

TEST_F(MemTraceFaults, ChunkFiledUnderAnotherIndex) {
  MemTraceAssembler a(t_.manifest);
  v1::TraceChunk c = t_.chunks[4];
  c.set_index(2);
  ASSERT_TRUE(a.Add(c).ok());  // nothing to compare it with yet
  ASSERT_TRUE(a.Add(t_.chunks[0]).ok());
  ExpectDataLossNaming(a.Add(t_.chunks[1]), "chunk 2: first_record");
  for (size_t i = 2; i < t_.chunks.size(); ++i) ASSERT_TRUE(a.Add(t_.chunks[i]).ok()) << i;
  ExpectIntact(a);
}

TEST_F(MemTraceFaults, OutOfRangeRecordsNamed) {
  const uint64_t rec = t_.chunks[2].first_record() + 1;
  const std::string where = "chunk 2: record " + std::to_string(rec) + ": ";
  struct Case {
    int column;
    int64_t value;
    std::string what;
  };
  for (const Case& k : {Case{3, 3, "area 3"}, Case{3, -1, "area -1"}, Case{0, -5, "at -5"}, Case{4, -2, "hold -2"},
                        Case{5, -1, "timeout -1"}, Case{2, int64_t{1} << 32, "align 4294967296"},
                        Case{2, -1, "align -1"}}) {
    MemTraceAssembler a(t_.manifest);
    ExpectDataLossNaming(a.Add(Edited(2, [&](std::vector<int64_t>* row) { (*row)[k.column] = k.value; })),
                         where + k.what + " out of range");
  }
  // In range but different: passes every chunk check, caught by the digest.
  MemTraceAssembler a(t_.manifest);
  AddAllBut(a, 2);
  const v1::TraceChunk moved = Edited(2, [](std::vector<int64_t>* row) { (*row)[0] += 1; });
  ASSERT_EQ(moved.payload().size(), t_.chunks[2].payload().size());  // so the byte total still agrees
  ASSERT_TRUE(a.Add(moved).ok());
  auto back = a.Finish();
  ASSERT_FALSE(back.ok());
  ExpectDataLossNaming(back.status(), "digest mismatch");
}

TEST_F(MemTraceFaults, MissingChunkNamedAtFinish) {
  MemTraceAssembler a(t_.manifest);
  AddAllBut(a, 4);
  auto back = a.Finish();
  ASSERT_FALSE(back.ok());
  ExpectDataLossNaming(back.status(), "chunk 4 missing");
}

// ---- manifests ------------------------------------------------------------------

TEST_F(MemTraceFaults, WrongFamilyIsInvalidArgument) {
  for (const char* family : {"blockcache", "sched", "", "Memory"}) {
    v1::TraceManifest m = t_.manifest;
    m.set_family(family);
    MemTraceAssembler a(m);
    ExpectCode(a.Add(t_.chunks[0]), StatusCode::kInvalidArgument, "is not memory");
    EXPECT_FALSE(a.complete());
    EXPECT_EQ(a.Finish().status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(MemTraceFaults, HostileCounts) {
  // Counts far beyond what the chunks hold: nothing is allocated from them,
  // and the trace never completes.
  v1::TraceManifest m = t_.manifest;
  m.set_record_count(kU64Max);
  m.set_chunk_count(std::numeric_limits<uint32_t>::max());
  MemTraceAssembler a(m);
  for (const auto& c : t_.chunks) ASSERT_TRUE(a.Add(c).ok());
  EXPECT_FALSE(a.complete());
  ExpectDataLossNaming(a.Finish().status(), "chunk " + std::to_string(t_.chunks.size()) + " missing");

  m = t_.manifest;
  m.set_chunk_count(m.record_count() + 1);
  ExpectDataLossNaming(MemTraceAssembler(m).Add(t_.chunks[0]), "chunks for");
  m = t_.manifest;
  m.set_record_count(0);
  ExpectDataLossNaming(MemTraceAssembler(m).Add(t_.chunks[0]), "chunks for 0 records");
  m = t_.manifest;
  m.set_payload_bytes(m.payload_bytes() + 1);
  MemTraceAssembler b(m);
  for (const auto& c : t_.chunks) ASSERT_TRUE(b.Add(c).ok());
  ExpectDataLossNaming(b.Finish().status(), "payload bytes, manifest says");
}

// A manifest of FillEveryField() with its header changed by `edit`.
v1::TraceManifest CraftedManifest(const std::function<void(std::string& h, const ReferenceHeader& r)>& edit) {
  const MemWorkload w = FillEveryField();
  v1::TraceManifest m = EncodeMemWorkload(w, 4096, "t").manifest;
  const ReferenceHeader r = Reference(w);
  std::string h = m.header();
  edit(h, r);
  m.set_header(h);
  return m;
}

void PokeLe(std::string& h, size_t at, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) h[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
}

// The header error of a crafted manifest, reported by Add() and Finish().
Status HeaderError(const v1::TraceManifest& m) {
  MemTraceAssembler a(m);
  v1::TraceChunk c;
  Status st = a.Add(c);
  EXPECT_FALSE(a.complete());
  EXPECT_EQ(a.Finish().status().ToString(), st.ToString());
  return st;
}

TEST(MemTraceHeader, OutOfRangeFieldsAreDataLossNamingTheField) {
  struct Case {
    std::string field;  // Reference() name of the field poked
    uint64_t value;     // raw bits
    std::string what;   // expected in the message
  };
  auto real = [](double d) { return std::bit_cast<uint64_t>(d); };
  const std::vector<Case> cases = {
      {"version", 2, "version 2, expected 1"},
      {"version", 0, "version 0, expected 1"},
      {"anon.fault_rate", real(-1), "background.anon.fault_rate -1 out of range [0, 1000000000]"},
      {"cache.read_rate", real(std::nan("")), "background.cache.read_rate nan"},
      {"cache.write_rate", real(INFINITY), "background.cache.write_rate inf"},
      {"build.spawn_rate", real(1e300), "background.build.spawn_rate 1.0000000000000001e+300 out of range"},
      {"pin.rate", real(-0.5), "background.pin.rate -0.5"},
      {"slab.rate", real(-std::numeric_limits<double>::denorm_min()), "background.slab.rate"},
      {"cache.hot_fraction", real(0), "background.cache.hot_fraction 0 out of range"},
      {"cache.hot_access", real(1.5), "background.cache.hot_access 1.5"},
      {"cache.dirty_ratio", 101, "background.cache.dirty_ratio 101 out of range [0, 100]"},
      {"cache.dirty_background_ratio", 0xffffffff, "background.cache.dirty_background_ratio -1"},
      {"cache.dirty_expire", kU64Max, "background.cache.dirty_expire -1"},
      {"cache.dirty_writeback_interval", 0, "background.cache.dirty_writeback_interval 0"},
      {"cache.writeback_inflight_pages", 0, "background.cache.writeback_inflight_pages 0"},
      {"cache.writeback_inflight_pages", (1u << 24) + 1, "background.cache.writeback_inflight_pages 16777217"},
      {"build.file_reads", (1u << 20) + 1, "background.build.file_reads 1048577"},
      {"build.mean_lifetime", 0, "background.build.mean_lifetime 0"},
      {"pin.duration", uint64_t{1} << 63, "background.pin.duration -9223372036854775808"},
      {"pin.longterm", 2, "background.pin.longterm 2 out of range [0, 1]"},
      {"slab.reclaimable_fraction", real(1.0000000000000002), "background.slab.reclaimable_fraction"},
      {"slab.mean_lifetime", 24 * 3600 * sim::kSec + 1, "background.slab.mean_lifetime 86400000000001"},
      {"lru_batch_pages", 65, "background.lru_batch_pages 65 out of range [0, 64]"},
      {"sample_interval", kU64Max, "background.sample_interval -1"},
      {"anon_working_set.fraction", real(1.01), "background.anon.working_set.fraction 1.01"},
      {"cache_files.bytes", (uint64_t{1} << 44) + 1, "background.cache.files.bytes 17592186044417"},
      {"pin_size.fraction", real(-0.0) + 1, "background.pin.size.fraction -4.9406564584124654e-324"},  // -denorm_min
      {"initial.used", real(-0.1), "initial.used -0.10000000000000001"},
      {"initial.share_count", 7, "initial.share_count 7, expected 8"},
      {"initial.share 3", real(-1), "initial.file_dirty -1"},
      {"initial.share 0", real(1e7), "initial.unused 10000000"},
      {"initial.churn", real(1e300), "initial.churn 1.0000000000000001e+300"},
      {"initial.mixed_blocks", real(2), "initial.mixed_blocks 2"},
      {"duration", kU64Max, "duration -1 out of range"},
  };
  const ReferenceHeader r = Reference(FillEveryField());
  for (const Case& k : cases) {
    SCOPED_TRACE(k.field);
    ASSERT_TRUE(r.at.count(k.field)) << k.field;
    const size_t at = r.at.at(k.field);
    const size_t next = [&] {
      size_t n = r.bytes.size();
      for (const auto& [name, off] : r.at)
        if (off > at) n = std::min(n, off);
      return n;
    }();
    const v1::TraceManifest m = CraftedManifest(
        [&](std::string& h, const ReferenceHeader&) { PokeLe(h, at, k.value, static_cast<int>(next - at)); });
    const Status st = HeaderError(m);
    ExpectDataLossNaming(st, "memory trace " + m.digest() + ": manifest: header byte " + std::to_string(at) + ": ");
    ExpectDataLossNaming(st, k.what);
  }
}

// The codec's bounds are copies of the spec parser's: a workload built from
// any spec the parser accepts, at its bounds, must travel. (If the parser
// widens a bound, this fails until mem_trace.cc follows.)
TEST(MemTraceHeader, SpecsAtTheParsersBoundsTravel) {
  const char* specs[] = {
      // Upper bounds (kept within BackgroundSpec::Validate()'s joint rules on
      // the parser's 1 GiB machine).
      R"(requests: {sizes: [1, 4GiB], per_size: 2, hold: 86400s, timeout: 86400s}
background:
  anon: {working_set: 100%, fault_rate: 1000000000, mapped_cpus: 4096}
  cache: {files: 100%, read_rate: 1000000000, write_rate: 1000000000, hot_fraction: 1, hot_access: 1,
          dirty_ratio: 100, dirty_background_ratio: 100, dirty_expire: 86400s,
          dirty_writeback_interval: 86400s, mapped_cpus: 4096, writeback_inflight_pages: 16777216}
  build: {spawn_rate: 1000000000, anon: 16TiB, kernel: 4KiB, file_reads: 1048576, lifetime: 86400s, mapped_cpus: 4096}
  pin: {rate: 1000000000, size: 16TiB, duration: 86400s, longterm: false}
  slab: {rate: 1000000000, reclaimable_fraction: 1, lifetime: 86400s}
  lru_batch_pages: 64
  sample_interval: 86400s
initial: {used: 98%, anon: 1000000, file_clean: 1000000, file_dirty: 1000000, file_writeback: 1000000,
          slab_reclaimable: 1000000, kernel: 1000000, pinned: 1000000, churn: 100}
duration: 86400s
)",
      // Lower bounds.
      R"(requests: {sizes: [1], hold: 0}
background:
  anon: {working_set: 0%, fault_rate: 0, mapped_cpus: 0}
  cache: {files: 0B, read_rate: 0, write_rate: 0, hot_fraction: 0.000001, hot_access: 0, dirty_ratio: 0,
          dirty_background_ratio: 0, dirty_expire: 0, dirty_writeback_interval: 1, mapped_cpus: 0,
          writeback_inflight_pages: 1}
  build: {spawn_rate: 0, anon: 0B, kernel: 0B, file_reads: 0, lifetime: 1, mapped_cpus: 0}
  pin: {rate: 0, size: 0B, duration: 1}
  slab: {rate: 0, reclaimable_fraction: 0, lifetime: 1}
  lru_batch_pages: 0
  sample_interval: 0
initial: {used: 0%, anon: 0.000001, churn: 0}
duration: 0
)",
  };
  for (const char* text : specs) {
    auto spec = ParseMemWorkloadSpec(YAML::Load(text), "memory");
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    MemWorkload w;
    w.foreground = GenerateForeground(spec->requests, sim::Rng(1));
    w.background = spec->background;
    w.initial = spec->initial;
    w.duration = spec->duration;
    auto back = RoundTrip(w, 64);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->foreground, w.foreground);
    EXPECT_TRUE(DiffFields(*back, w).empty());
    EXPECT_EQ(MemWorkloadDigest(*back), MemWorkloadDigest(w));
  }
}

TEST(MemTraceHeader, HostileLengthsAndCounts) {
  const ReferenceHeader r = Reference(FillEveryField());
  // An area count no header could hold.
  ExpectDataLossNaming(HeaderError(CraftedManifest([&](std::string& h, auto&) {
                         PokeLe(h, r.at.at("area_count"), 0xffffffff, 4);
                       })),
                       "header byte 1: area_count 4294967295 out of range [0, 65536]");
  // One that is allowed but does not fit in what is left of the header.
  ExpectDataLossNaming(HeaderError(CraftedManifest([&](std::string& h, auto&) {
                         PokeLe(h, r.at.at("area_count"), 65536, 4);
                       })),
                       "area_count 65536 does not fit");
  // A name longer than the header.
  ExpectDataLossNaming(HeaderError(CraftedManifest([&](std::string& h, auto&) {
                         PokeLe(h, r.at.at("area 1 name length"), 0xfffffff0, 4);
                       })),
                       "area 1 name truncated (4294967280 bytes");
  // A header cut anywhere, or with a byte more: DataLoss, never a crash.
  const std::string full = r.bytes;
  for (size_t len = 0; len < full.size(); ++len) {
    const Status st = HeaderError(CraftedManifest([&](std::string& h, auto&) { h.resize(len); }));
    ASSERT_EQ(st.code(), StatusCode::kDataLoss) << len;
    const bool named = st.message().find("truncated") != std::string::npos ||
                       st.message().find("does not fit") != std::string::npos;
    ASSERT_TRUE(named) << len << ": " << st.message();
  }
  ExpectDataLossNaming(HeaderError(CraftedManifest([&](std::string& h, auto&) { h.push_back('\0'); })),
                       "1 trailing bytes");
}

TEST(MemTraceHeader, RandomDamageNeverCrashes) {
  // Seeded random byte changes in the header: each decodes to a workload or
  // is DataLoss; a decoded workload always passes the codec's own bounds, so
  // it re-encodes to the same header.
  const MemWorkload w = FillEveryField();
  const v1::TraceManifest good = EncodeMemWorkload(w, 4096, "t").manifest;
  sim::Rng rng(7);
  int decoded = 0;
  for (int i = 0; i < 3000; ++i) {
    v1::TraceManifest m = good;
    std::string h = m.header();
    const int edits = 1 + static_cast<int>(rng.Below(3));
    for (int e = 0; e < edits; ++e) h[rng.Below(h.size())] = static_cast<char>(rng.Below(256));
    m.set_header(h);
    m.set_chunk_count(0);
    m.set_record_count(0);
    m.set_payload_bytes(0);
    Sha256 sha;  // the documented digest of a trace without chunks
    sha.UpdateField("memory");
    sha.UpdateField(h);
    m.set_digest(sha.HexDigest());
    MemTraceAssembler a(m);
    auto back = a.Finish();
    if (back.ok()) {
      ++decoded;
      EXPECT_EQ(EncodeMemWorkload(*back, 4096, "t").manifest.header(), h);
    } else {
      EXPECT_EQ(back.status().code(), StatusCode::kDataLoss) << back.status().ToString();
    }
  }
  EXPECT_GT(decoded, 0);  // some changes stay in range (e.g. in a verbatim field or an area name)
}

// ---- digests ------------------------------------------------------------------------

TEST(MemWorkloadDigest, IsTheCanonicalTextsSha256AndIgnoresChunking) {
  const MemWorkload w = Workload(3000, 18);
  const std::string d = MemWorkloadDigest(w);
  EXPECT_EQ(d, Sha256Hex(CanonicalMemWorkloadText(w)));
  EXPECT_EQ(d.size(), 64u);
  std::set<std::string> manifests;
  for (size_t bound : {size_t{1}, size_t{300}, size_t{7000}, codec::kDefaultChunkBytes}) {
    auto back = RoundTrip(w, bound);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(MemWorkloadDigest(*back), d) << bound;
    manifests.insert(EncodeMemWorkload(w, bound, "t").manifest.digest());
  }
  // The manifest digest names the encoding, so it follows the chunk size.
  EXPECT_EQ(manifests.size(), 4u);
  // The source is not part of either digest.
  EXPECT_EQ(EncodeMemWorkload(w, 300, "a").manifest.digest(), EncodeMemWorkload(w, 300, "b").manifest.digest());
}

TEST(MemWorkloadDigest, FollowsTheContent) {
  const MemWorkload base = Workload(100, 19);
  std::set<std::string> digests = {MemWorkloadDigest(base)};
  size_t variants = 1;
  auto add = [&](const MemWorkload& w) {
    digests.insert(MemWorkloadDigest(w));
    ++variants;
  };
  for (int field = 0; field < 6; ++field) {
    MemWorkload w = base;
    ContigCall& c = w.foreground.calls[50];
    switch (field) {
      case 0: c.at += 1; break;
      case 1: c.pages += 1; break;
      case 2: c.align += 1; break;
      case 3: c.area = static_cast<uint16_t>((c.area + 1) % 3); break;
      case 4: c.hold += 1; break;
      case 5: c.timeout += 1; break;
    }
    add(w);
  }
  MemWorkload w = base;
  w.background.spec.cache.read_rate = std::nextafter(w.background.spec.cache.read_rate, 1.0);
  add(w);
  w = base;
  w.initial.shares[2] = std::nextafter(w.initial.shares[2], 100.0);
  add(w);
  w = base;
  w.duration = 1;
  add(w);
  w = base;
  w.foreground.areas[0] += "x";
  add(w);
  EXPECT_EQ(digests.size(), variants);
}

}  // namespace
}  // namespace kreplay::memory
