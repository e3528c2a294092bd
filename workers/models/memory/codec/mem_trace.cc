#include "workers/models/memory/codec/mem_trace.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <limits>
#include <string_view>
#include <type_traits>

#include "services/codec/columns.h"
#include "services/core/digest.h"

namespace kreplay::memory {
namespace {

// ---------------------------------------------------------------- tripwires
//
// The header writes every field of these structs by name (HeaderFields()
// below). If one of these assertions fails, a field was added, removed or
// retyped: add it to HeaderFields() (and so to the header layout, with a new
// kHeaderVersion if old traces must still read), to the layout comment in
// mem_trace.h and to FillEveryField()/ExpectBitExact() in mem_trace_test.cc,
// then update the numbers here. The member count catches a field hidden in
// padding that sizeof alone would miss.

struct AnyField {
  template <typename T>
  operator T() const;  // never defined: only used in unevaluated contexts
};

// Direct members of aggregate T (the largest N for which T{AnyField x N}
// compiles; AnyField converts to any member type, so no brace elision).
template <typename T, typename... A>
consteval size_t FieldCount() {
  if constexpr (requires { T{A{}..., AnyField{}}; }) {
    return FieldCount<T, A..., AnyField>();
  } else {
    return sizeof...(A);
  }
}

static_assert(sizeof(unsigned) == 4, "the header stores `unsigned` fields as u32");
static_assert(FieldCount<BackgroundSpec::Anon>() == 3 && sizeof(BackgroundSpec::Anon) == 24,
              "BackgroundSpec::Anon changed: update the memory trace header (see above)");
static_assert(FieldCount<BackgroundSpec::Cache>() == 11 && sizeof(BackgroundSpec::Cache) == 80,
              "BackgroundSpec::Cache changed: update the memory trace header (see above)");
static_assert(FieldCount<BackgroundSpec::Build>() == 6 && sizeof(BackgroundSpec::Build) == 40,
              "BackgroundSpec::Build changed: update the memory trace header (see above)");
static_assert(FieldCount<BackgroundSpec::Pin>() == 4 && sizeof(BackgroundSpec::Pin) == 32,
              "BackgroundSpec::Pin changed: update the memory trace header (see above)");
static_assert(FieldCount<BackgroundSpec::Slab>() == 3 && sizeof(BackgroundSpec::Slab) == 24,
              "BackgroundSpec::Slab changed: update the memory trace header (see above)");
static_assert(FieldCount<BackgroundSpec>() == 7 && sizeof(BackgroundSpec) == 216,
              "BackgroundSpec changed: update the memory trace header (see above)");
static_assert(FieldCount<MemSize>() == 2 && sizeof(MemSize) == 16,
              "MemSize changed: update the memory trace header (see above)");
static_assert(FieldCount<BackgroundTemplate>() == 6 && sizeof(BackgroundTemplate) == 216 + 5 * 16,
              "BackgroundTemplate changed: update the memory trace header (see above)");
static_assert(FieldCount<InitialSpec>() == 4 && sizeof(InitialSpec) == 8 + 8 * kPageKinds + 8 + 8,
              "InitialSpec changed: update the memory trace header (see above)");
static_assert(FieldCount<MemWorkload>() == 4, "MemWorkload changed: update the memory trace header (see above)");
static_assert(FieldCount<Foreground>() == 2, "Foreground changed: update the memory trace codec (see above)");
static_assert(FieldCount<ContigCall>() == 6 && sizeof(ContigCall) == 40,
              "ContigCall changed: update the memory trace columns (kColumns, Row(), DecodeCalls())");

// ---------------------------------------------------------------- header

constexpr uint8_t kHeaderVersion = 1;
constexpr uint32_t kMaxAreas = uint32_t{1} << 16;  // ContigCall::area is a u16
// The study spec's bounds, shared with its parser (mem_spec.h, foreground.h).
constexpr double kMaxRate = kMaxSpecRate;  // the spec parser's bounds (mem_spec.h)
constexpr sim::Duration kMaxTime = kMaxSpecTime;
constexpr uint64_t kMaxSizeBytes = kMaxSpecSizeBytes;
constexpr double kMaxShare = kMaxSpecShare;
constexpr double kMaxChurn = kMaxSpecChurn;
constexpr uint32_t kMaxFileReads = kMaxSpecFileReads;
constexpr double kTiny = std::numeric_limits<double>::denorm_min();  // (0, 1] as [kTiny, 1]

template <typename T>
constexpr T kMin = std::numeric_limits<T>::min();
template <typename T>
constexpr T kMax = std::numeric_limits<T>::max();

// Appends the header's fields, little-endian; bounds are the decoder's.
class HeaderWriter {
 public:
  template <std::integral T>
  void Int(std::string_view, const T& v, std::type_identity_t<T> = kMin<T>, std::type_identity_t<T> = kMax<T>) {
    Put(static_cast<uint64_t>(v), sizeof(T));
  }
  void Real(std::string_view, const double& v, double, double) { Put(std::bit_cast<uint64_t>(v), 8); }
  void Bool(std::string_view, const bool& v) { Put(v ? 1 : 0, 1); }
  void Bytes(const std::string& s) { out_ += s; }
  std::string Take() { return std::move(out_); }

 private:
  void Put(uint64_t v, size_t width) { codec::PutLE(out_, v, width); }
  std::string out_;
};

// Reads the header's fields in the same order, checking each against its
// bounds. Keeps the first error; after it, reads do nothing.
class HeaderReader {
 public:
  explicit HeaderReader(std::string_view h) : h_(h) {}

  template <std::integral T>
  void Int(std::string_view field, T& v, std::type_identity_t<T> lo = kMin<T>, std::type_identity_t<T> hi = kMax<T>) {
    const size_t at = pos_;
    uint64_t raw = 0;
    if (!Get(field, sizeof(T), &raw)) return;
    T x;
    if constexpr (std::is_signed_v<T>) {
      // Sign-extend from sizeof(T) bytes.
      const int shift = 64 - 8 * static_cast<int>(sizeof(T));
      x = static_cast<T>(static_cast<int64_t>(raw << shift) >> shift);
    } else {
      x = static_cast<T>(raw);
    }
    if (x < lo || x > hi) {
      Fail(at, std::string(field) + " " + std::to_string(x) +
                   (lo == hi ? ", expected " + std::to_string(lo)
                             : " out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"));
      return;
    }
    v = x;
  }
  void Real(std::string_view field, double& v, double lo, double hi) {
    const size_t at = pos_;
    uint64_t raw = 0;
    if (!Get(field, 8, &raw)) return;
    const double x = std::bit_cast<double>(raw);
    if (!std::isfinite(x) || x < lo || x > hi) {
      Fail(at, std::string(field) + " " + FormatReal(x) + " out of range [" + FormatReal(lo) + ", " + FormatReal(hi) +
                   "]");
      return;
    }
    v = x;
  }
  void Bool(std::string_view field, bool& v) {
    uint8_t b = 0;
    Int(field, b, 0, 1);
    v = b == 1;
  }
  // `n` bytes into `out`. REQUIRES: n checked against remaining() by the caller.
  void Bytes(std::string_view field, size_t n, std::string* out) {
    if (!st_.ok()) return;
    if (n > remaining()) {
      Fail(pos_, std::string(field) + " truncated (" + std::to_string(n) + " bytes, " +
                     std::to_string(remaining()) + " left)");
      return;
    }
    out->assign(h_.substr(pos_, n));
    pos_ += n;
  }
  size_t pos() const { return pos_; }
  size_t remaining() const { return h_.size() - pos_; }
  bool ok() const { return st_.ok(); }
  void Fail(size_t at, const std::string& msg) {
    if (st_.ok()) st_ = DataLoss("header byte " + std::to_string(at) + ": " + msg);
  }
  Status Finish() {
    if (st_.ok() && remaining() != 0) Fail(pos_, std::to_string(remaining()) + " trailing bytes");
    return st_;
  }

 private:
  static std::string FormatReal(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
  }
  bool Get(std::string_view field, size_t width, uint64_t* v) {
    if (!st_.ok()) return false;
    if (remaining() < width) {
      Fail(pos_, std::string(field) + " truncated (" + std::to_string(h_.size()) + "-byte header)");
      return false;
    }
    *v = codec::GetLE(h_, pos_, width);
    pos_ += width;
    return true;
  }

  std::string_view h_;
  size_t pos_ = 0;
  Status st_;
};

// Every fixed-size field of the header after the areas, in layout order (the
// table in mem_trace.h). One list for both directions, so the writer and
// the reader cannot disagree. W is MemWorkload or const MemWorkload.
template <typename V, typename W>
void HeaderFields(V& v, W& w) {
  auto& t = w.background;
  auto& s = t.spec;
  v.Int("background.anon.working_set_pages", s.anon.working_set_pages);
  v.Real("background.anon.fault_rate", s.anon.fault_rate, 0, kMaxRate);
  v.Int("background.anon.mapped_cpus", s.anon.mapped_cpus);
  v.Int("background.cache.file_pages", s.cache.file_pages);
  v.Real("background.cache.read_rate", s.cache.read_rate, 0, kMaxRate);
  v.Real("background.cache.write_rate", s.cache.write_rate, 0, kMaxRate);
  v.Real("background.cache.hot_fraction", s.cache.hot_fraction, kTiny, 1);
  v.Real("background.cache.hot_access", s.cache.hot_access, 0, 1);
  v.Int("background.cache.mapped_cpus", s.cache.mapped_cpus);
  v.Int("background.cache.dirty_ratio", s.cache.dirty_ratio, 0, 100);
  v.Int("background.cache.dirty_background_ratio", s.cache.dirty_background_ratio, 0, 100);
  v.Int("background.cache.dirty_expire", s.cache.dirty_expire, 0, kMaxTime);
  v.Int("background.cache.dirty_writeback_interval", s.cache.dirty_writeback_interval, 1, kMaxTime);
  v.Int("background.cache.writeback_inflight_pages", s.cache.writeback_inflight_pages, 1, 1u << 24);
  v.Real("background.build.spawn_rate", s.build.spawn_rate, 0, kMaxRate);
  v.Int("background.build.anon_pages", s.build.anon_pages);
  v.Int("background.build.kernel_pages", s.build.kernel_pages);
  v.Int("background.build.file_reads", s.build.file_reads, 0, kMaxFileReads);
  v.Int("background.build.mean_lifetime", s.build.mean_lifetime, 1, kMaxTime);
  v.Int("background.build.mapped_cpus", s.build.mapped_cpus);
  v.Real("background.pin.rate", s.pin.rate, 0, kMaxRate);
  v.Int("background.pin.pages", s.pin.pages);
  v.Int("background.pin.duration", s.pin.duration, 1, kMaxTime);
  v.Bool("background.pin.longterm", s.pin.longterm);
  v.Real("background.slab.rate", s.slab.rate, 0, kMaxRate);
  v.Real("background.slab.reclaimable_fraction", s.slab.reclaimable_fraction, 0, 1);
  v.Int("background.slab.mean_lifetime", s.slab.mean_lifetime, 1, kMaxTime);
  v.Int("background.lru_batch_pages", s.lru_batch_pages, 0, 64);
  v.Int("background.sample_interval", s.sample_interval, 0, kMaxTime);
  auto size = [&](const char* fraction, const char* bytes, auto& m) {
    v.Real(fraction, m.fraction, 0, 1);
    v.Int(bytes, m.bytes, 0, kMaxSizeBytes);
  };
  size("background.anon.working_set.fraction", "background.anon.working_set.bytes", t.anon_working_set);
  size("background.cache.files.fraction", "background.cache.files.bytes", t.cache_files);
  size("background.build.anon.fraction", "background.build.anon.bytes", t.build_anon);
  size("background.build.kernel.fraction", "background.build.kernel.bytes", t.build_kernel);
  size("background.pin.size.fraction", "background.pin.size.bytes", t.pin_size);
  v.Real("initial.used", w.initial.used, 0, 1);
  uint8_t shares = kPageKinds;  // the reader checks the count it reads
  v.Int("initial.share_count", shares, kPageKinds, kPageKinds);
  for (int k = 0; k < kPageKinds; ++k)
    v.Real(std::string("initial.") + PageKindName(static_cast<PageKind>(k)), w.initial.shares[static_cast<size_t>(k)],
           0, kMaxShare);
  v.Real("initial.churn", w.initial.churn, 0, kMaxChurn);
  v.Real("initial.mixed_blocks", w.initial.mixed_blocks, -1, 1);
  v.Int("duration", w.duration, 0, kMaxTime);
}

std::string EncodeHeader(const MemWorkload& w) {
  HeaderWriter out;
  uint8_t version = kHeaderVersion;
  out.Int("version", version);
  out.Int("area_count", static_cast<uint32_t>(w.foreground.areas.size()));
  for (const auto& a : w.foreground.areas) {
    out.Int("area name length", static_cast<uint32_t>(a.size()));
    out.Bytes(a);
  }
  HeaderFields(out, w);
  return out.Take();
}

// Parses the layout documented in mem_trace.h into `w` (everything but the
// calls).
Status DecodeHeader(const std::string& h, MemWorkload* w) {
  HeaderReader in(h);
  uint8_t version = 0;
  in.Int("version", version, kHeaderVersion, kHeaderVersion);
  uint32_t count = 0;
  in.Int("area_count", count, 0, kMaxAreas);
  // Every area takes at least its 4-byte length, so this bounds the reserve.
  if (in.ok() && count > in.remaining() / 4)
    in.Fail(in.pos() - 4, "area_count " + std::to_string(count) + " does not fit in the header's " +
                              std::to_string(in.remaining()) + " remaining bytes");
  if (in.ok()) w->foreground.areas.reserve(count);
  for (uint32_t i = 0; i < count && in.ok(); ++i) {
    const std::string field = "area " + std::to_string(i) + " name";
    uint32_t len = 0;
    in.Int(field + " length", len);
    std::string name;
    in.Bytes(field, len, &name);  // checks len against what is left
    if (in.ok()) w->foreground.areas.push_back(std::move(name));
  }
  HeaderFields(in, *w);
  return in.Finish();
}

// ---------------------------------------------------------------- records

constexpr int kColumns = 6;
static_assert(kColumns <= codec::ChunkBuilder::kMaxColumns, "Row() writes into a ChunkBuilder row");
const std::vector<std::string>& CallColumns() {
  static const std::vector<std::string> kNames = {"at", "pages", "align", "area", "hold", "timeout"};
  return kNames;
}

void Row(const ContigCall& c, int64_t* row) {
  row[0] = c.at;
  row[1] = static_cast<int64_t>(c.pages);  // two's complement round trip of the full u64 range
  row[2] = c.align;
  row[3] = c.area;
  row[4] = c.hold;
  row[5] = c.timeout;
}

// Decodes one payload into calls. `first_record` only numbers errors.
StatusOr<std::vector<ContigCall>> DecodeCalls(const std::string& payload, size_t areas, uint64_t first_record) {
  auto cols = codec::DecodeColumns(payload, CallColumns());
  if (!cols.ok()) return cols.status();
  const auto& at = (*cols)[0];
  const auto& pages = (*cols)[1];
  const auto& align = (*cols)[2];
  const auto& area = (*cols)[3];
  const auto& hold = (*cols)[4];
  const auto& timeout = (*cols)[5];
  std::vector<ContigCall> out(at.size());
  for (size_t r = 0; r < at.size(); ++r) {
    auto bad = [&](const char* field, int64_t v) {
      return DataLoss("record " + std::to_string(first_record + r) + ": " + field + " " + std::to_string(v) +
                      " out of range");
    };
    if (at[r] < 0) return bad("at", at[r]);
    if (align[r] < 0 || align[r] > kMax<uint32_t>) return bad("align", align[r]);
    if (area[r] < 0 || static_cast<uint64_t>(area[r]) >= areas) return bad("area", area[r]);
    if (hold[r] < -1) return bad("hold", hold[r]);
    if (timeout[r] < 0) return bad("timeout", timeout[r]);
    ContigCall& c = out[r];
    c.at = at[r];
    c.pages = static_cast<uint64_t>(pages[r]);
    c.align = static_cast<uint32_t>(align[r]);
    c.area = static_cast<uint16_t>(area[r]);
    c.hold = hold[r];
    c.timeout = timeout[r];
  }
  return out;
}

}  // namespace

v1::TraceManifest EncodeMemWorkload(const MemWorkload& w, size_t max_chunk_bytes, const codec::ChunkSink& sink,
                                    const std::string& source) {
  codec::ChunkBuilder builder(CallColumns(), "memory");
  auto row = [&](size_t i, int64_t* values) { Row(w.foreground.calls[i], values); };
  return codec::EncodeChunkedTrace(kMemTraceFamily, EncodeHeader(w), source, builder, w.foreground.calls.size(), row,
                                   max_chunk_bytes, sink);
}

codec::EncodedTrace EncodeMemWorkload(const MemWorkload& w, size_t max_chunk_bytes, const std::string& source) {
  codec::EncodedTrace t;
  t.manifest = EncodeMemWorkload(
      w, max_chunk_bytes, [&](v1::TraceChunk&& c) { t.chunks.push_back(std::move(c)); }, source);
  for (auto& c : t.chunks) c.set_digest(t.manifest.digest());
  return t;
}

MemTraceAssembler::MemTraceAssembler(v1::TraceManifest manifest)
    : trace_("memory", std::move(manifest), &w_.foreground.calls) {
  // record_count is read from the wire: reserve at most 64 Ki calls (2.5 MiB)
  // up front; the rest grows with the chunks actually received.
  trace_.Start(
      trace_.manifest().family() == kMemTraceFamily, kMemTraceFamily,
      [&](const std::string& header) { return DecodeHeader(header, &w_); }, uint64_t{1} << 16);
}

MemTraceAssembler::~MemTraceAssembler() = default;

Status MemTraceAssembler::Add(const v1::TraceChunk& c) {
  return trace_.Add(c, [&](const std::string& payload, uint64_t first_record) {
    return DecodeCalls(payload, w_.foreground.areas.size(), first_record);
  });
}

StatusOr<MemWorkload> MemTraceAssembler::Finish() {
  KREPLAY_RETURN_IF_ERROR(trace_.Finish());
  return std::move(w_);
}

StatusOr<MemWorkload> RoundTrip(const MemWorkload& w, size_t max_chunk_bytes) {
  codec::EncodedTrace t = EncodeMemWorkload(w, max_chunk_bytes, "roundtrip");
  MemTraceAssembler a(t.manifest);
  for (const auto& c : t.chunks) KREPLAY_RETURN_IF_ERROR(a.Add(c));
  return a.Finish();
}

std::string MemWorkloadDigest(const MemWorkload& w) { return Sha256Hex(CanonicalMemWorkloadText(w)); }

uint64_t MemWorkloadBytes(const MemWorkload& w) {
  uint64_t n = sizeof(MemWorkload) + w.foreground.calls.capacity() * sizeof(ContigCall) +
               w.foreground.areas.capacity() * sizeof(std::string);
  for (const auto& a : w.foreground.areas) n += a.capacity();
  return n;
}

}  // namespace kreplay::memory
