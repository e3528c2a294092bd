#include "workers/models/virtio/codec/virtio_trace.h"

#include <concepts>
#include <limits>
#include <string_view>
#include <type_traits>

#include "services/codec/columns.h"

namespace kreplay::virtio {
namespace {

// ---------------------------------------------------------------- tripwires
//
// The codec writes every field of these structs by name (EncodeHeader(),
// BlockRow()/PacketRow() and the decoders). If an assertion fails, a field
// was added, removed or retyped: carry it in the header layout or the
// columns (a new kHeaderVersion if old traces must still read), in the
// layout comment of virtio_trace.h and in virtio_trace_test.cc, then update
// the numbers here.
static_assert(sizeof(BlockIo) == 24, "BlockIo changed: update the virtio trace columns");
static_assert(sizeof(PacketIo) == 16, "PacketIo changed: update the virtio trace columns");
static_assert(sizeof(BlockJob) == 8 + sizeof(std::vector<BlockIo>), "BlockJob changed: update the virtio trace header");

constexpr uint8_t kHeaderVersion = 1;
constexpr uint32_t kMaxJobs = uint32_t{1} << 16;
constexpr uint32_t kMaxIodepth = 4096;  // the block spec's bound (block_jobs.h)

template <typename T>
constexpr T kMin = std::numeric_limits<T>::min();
template <typename T>
constexpr T kMax = std::numeric_limits<T>::max();

// ---------------------------------------------------------------- header

// Reads little-endian fields in order, checking each against its bounds.
// Keeps the first error; after it, reads do nothing.
class HeaderReader {
 public:
  explicit HeaderReader(std::string_view h) : h_(h) {}

  template <std::unsigned_integral T>
  void Int(std::string_view field, T& v, std::type_identity_t<T> lo = kMin<T>, std::type_identity_t<T> hi = kMax<T>) {
    const size_t at = pos_;
    if (!st_.ok()) return;
    if (remaining() < sizeof(T)) {
      Fail(at, std::string(field) + " truncated (" + std::to_string(h_.size()) + "-byte header)");
      return;
    }
    const T x = static_cast<T>(codec::GetLE(h_, pos_, sizeof(T)));
    pos_ += sizeof(T);
    if (x < lo || x > hi) {
      Fail(at, std::string(field) + " " + std::to_string(x) +
                   (lo == hi ? ", expected " + std::to_string(lo)
                             : " out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"));
      return;
    }
    v = x;
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
  std::string_view h_;
  size_t pos_ = 0;
  Status st_;
};

std::string EncodeHeader(const VirtioWorkload& w) {
  std::string h;
  codec::PutLE(h, kHeaderVersion, 1);
  codec::PutLE(h, static_cast<uint8_t>(w.kind), 1);
  codec::PutLE(h, w.device_bytes, 8);
  codec::PutLE(h, w.jobs.size(), 4);
  for (const BlockJob& j : w.jobs) {
    codec::PutLE(h, j.iodepth, 4);
    codec::PutLE(h, j.ios.size(), 8);
  }
  return h;
}

// Parses the layout documented in virtio_trace.h into `w` (kind,
// device_bytes, jobs' iodepth) and `job_ios`; `records` is the manifest's
// record_count, which the io counts of a block trace must sum to.
Status DecodeHeader(const std::string& h, uint64_t records, VirtioWorkload* w, std::vector<uint64_t>* job_ios) {
  HeaderReader in(h);
  uint8_t version = 0, kind = 0;
  in.Int("version", version, kHeaderVersion, kHeaderVersion);
  in.Int("kind", kind, 0, 1);
  const bool net = kind == static_cast<uint8_t>(WorkloadKind::kNet);
  in.Int("device_bytes", w->device_bytes, 0, net ? 0 : kMax<uint64_t>);
  uint32_t jobs = 0;
  in.Int("job_count", jobs, 0, net ? 0 : kMaxJobs);
  // Every job takes 12 bytes, so this bounds the reserve.
  if (in.ok() && jobs > in.remaining() / 12)
    in.Fail(in.pos() - 4, "job_count " + std::to_string(jobs) + " does not fit in the header's " +
                              std::to_string(in.remaining()) + " remaining bytes");
  if (!in.ok()) return in.Finish();
  w->kind = static_cast<WorkloadKind>(kind);
  w->jobs.resize(jobs);
  job_ios->resize(jobs);
  uint64_t sum = 0;
  for (uint32_t j = 0; j < jobs && in.ok(); ++j) {
    const std::string field = "job " + std::to_string(j);
    in.Int(field + " iodepth", w->jobs[j].iodepth, 1, kMaxIodepth);
    const size_t at = in.pos();
    in.Int(field + " io_count", (*job_ios)[j]);
    if (in.ok() && (*job_ios)[j] > records - sum)
      in.Fail(at, field + " io_count " + std::to_string((*job_ios)[j]) + " exceeds the trace's " +
                      std::to_string(records) + " records");
    sum += (*job_ios)[j];
  }
  KREPLAY_RETURN_IF_ERROR(in.Finish());
  if (!net && sum != records)
    return DataLoss("header: the jobs' io counts sum to " + std::to_string(sum) + ", the manifest has " +
                    std::to_string(records) + " records");
  return OkStatus();
}

// ---------------------------------------------------------------- records

const std::vector<std::string>& BlockColumns() {
  static const std::vector<std::string> kNames = {"at", "offset", "bytes", "write"};
  return kNames;
}
const std::vector<std::string>& PacketColumns() {
  static const std::vector<std::string> kNames = {"at", "bytes", "flow", "to_guest"};
  return kNames;
}

void BlockRow(const BlockIo& io, int64_t* row) {
  row[0] = io.at;
  row[1] = static_cast<int64_t>(io.offset);  // two's complement round trip of the full u64 range
  row[2] = io.bytes;
  row[3] = io.write;
}
void PacketRow(const PacketIo& p, int64_t* row) {
  row[0] = p.at;
  row[1] = p.bytes;
  row[2] = p.flow;
  row[3] = p.to_guest;
}

Status Bad(uint64_t record, const char* field, int64_t v) {
  return DataLoss("record " + std::to_string(record) + ": " + field + " " + std::to_string(v) + " out of range");
}

StatusOr<std::vector<BlockIo>> DecodeBlock(const std::string& payload, uint64_t device_bytes, uint64_t first_record) {
  auto cols = codec::DecodeColumns(payload, BlockColumns());
  if (!cols.ok()) return cols.status();
  const auto& at = (*cols)[0];
  const auto& offset = (*cols)[1];
  const auto& bytes = (*cols)[2];
  const auto& write = (*cols)[3];
  std::vector<BlockIo> out(at.size());
  for (size_t r = 0; r < at.size(); ++r) {
    const uint64_t rec = first_record + r;
    if (at[r] < -1) return Bad(rec, "at", at[r]);
    if (bytes[r] < 0 || bytes[r] > kMax<uint32_t>) return Bad(rec, "bytes", bytes[r]);
    if (write[r] != 0 && write[r] != 1) return Bad(rec, "write", write[r]);
    const uint64_t off = static_cast<uint64_t>(offset[r]);
    const uint64_t n = static_cast<uint64_t>(bytes[r]);
    if (n > device_bytes || off > device_bytes - n)
      return DataLoss("record " + std::to_string(rec) + ": offset " + std::to_string(off) + " + bytes " +
                      std::to_string(n) + " beyond device_bytes " + std::to_string(device_bytes));
    BlockIo& io = out[r];
    io.at = at[r];
    io.offset = off;
    io.bytes = static_cast<uint32_t>(n);
    io.write = write[r] == 1;
  }
  return out;
}

StatusOr<std::vector<PacketIo>> DecodePackets(const std::string& payload, uint64_t first_record) {
  auto cols = codec::DecodeColumns(payload, PacketColumns());
  if (!cols.ok()) return cols.status();
  const auto& at = (*cols)[0];
  const auto& bytes = (*cols)[1];
  const auto& flow = (*cols)[2];
  const auto& to_guest = (*cols)[3];
  std::vector<PacketIo> out(at.size());
  for (size_t r = 0; r < at.size(); ++r) {
    const uint64_t rec = first_record + r;
    if (at[r] < -1) return Bad(rec, "at", at[r]);
    if (bytes[r] < 0 || bytes[r] > kMax<uint32_t>) return Bad(rec, "bytes", bytes[r]);
    if (flow[r] < 0 || flow[r] > kMax<uint16_t>) return Bad(rec, "flow", flow[r]);
    if (to_guest[r] != 0 && to_guest[r] != 1) return Bad(rec, "to_guest", to_guest[r]);
    PacketIo& p = out[r];
    p.at = at[r];
    p.bytes = static_cast<uint32_t>(bytes[r]);
    p.flow = static_cast<uint16_t>(flow[r]);
    p.to_guest = to_guest[r] == 1;
  }
  return out;
}

}  // namespace

v1::TraceManifest EncodeVirtioWorkload(const VirtioWorkload& w, size_t max_chunk_bytes, const codec::ChunkSink& sink,
                                       const std::string& source) {
  if (w.kind == WorkloadKind::kNet) {
    KREPLAY_CHECK(w.jobs.empty() && w.device_bytes == 0, "EncodeVirtioWorkload: a kNet workload with block fields");
    codec::ChunkBuilder builder(PacketColumns(), "virtio");
    auto row = [&](size_t i, int64_t* values) { PacketRow(w.packets[i], values); };
    return codec::EncodeChunkedTrace(kVirtioTraceFamily, EncodeHeader(w), source, builder, w.packets.size(), row,
                                     max_chunk_bytes, sink);
  }
  KREPLAY_CHECK(w.packets.empty(), "EncodeVirtioWorkload: a kBlock workload with packets");
  codec::ChunkBuilder builder(BlockColumns(), "virtio");
  // Rows are asked for in order 0, 1, ...: walk the jobs with a cursor.
  size_t job = 0, pos = 0;
  auto row = [&](size_t, int64_t* values) {
    while (pos == w.jobs[job].ios.size()) {
      ++job;
      pos = 0;
    }
    BlockRow(w.jobs[job].ios[pos++], values);
  };
  return codec::EncodeChunkedTrace(kVirtioTraceFamily, EncodeHeader(w), source, builder, VirtioWorkloadIos(w), row,
                                   max_chunk_bytes, sink);
}

codec::EncodedTrace EncodeVirtioWorkload(const VirtioWorkload& w, size_t max_chunk_bytes, const std::string& source) {
  codec::EncodedTrace t;
  t.manifest = EncodeVirtioWorkload(
      w, max_chunk_bytes, [&](v1::TraceChunk&& c) { t.chunks.push_back(std::move(c)); }, source);
  for (auto& c : t.chunks) c.set_digest(t.manifest.digest());
  return t;
}

VirtioTraceAssembler::VirtioTraceAssembler(v1::TraceManifest manifest)
    : block_trace_("virtio", manifest, &ios_), net_trace_("virtio", std::move(manifest), &w_.packets) {
  const v1::TraceManifest& m = block_trace_.manifest();
  const bool family_ok = m.family() == kVirtioTraceFamily;
  Status header = family_ok ? DecodeHeader(m.header(), m.record_count(), &w_, &job_ios_) : OkStatus();
  net_ = family_ok && header.ok() && w_.kind == WorkloadKind::kNet;
  // record_count is read from the wire: reserve at most 64 Ki records up
  // front; the rest grows with the chunks actually received.
  auto start = [&](auto& trace) {
    trace.Start(family_ok, kVirtioTraceFamily, [&](const std::string&) { return header; }, uint64_t{1} << 16);
  };
  if (net_) {
    start(net_trace_);
  } else {
    start(block_trace_);
  }
}

VirtioTraceAssembler::~VirtioTraceAssembler() = default;

Status VirtioTraceAssembler::Add(const v1::TraceChunk& c) {
  if (net_) return net_trace_.Add(c, [&](const std::string& payload, uint64_t first) { return DecodePackets(payload, first); });
  return block_trace_.Add(
      c, [&](const std::string& payload, uint64_t first) { return DecodeBlock(payload, w_.device_bytes, first); });
}

StatusOr<VirtioWorkload> VirtioTraceAssembler::Finish() {
  if (net_) {
    KREPLAY_RETURN_IF_ERROR(net_trace_.Finish());
    const auto& p = w_.packets;
    for (size_t i = 1; i < p.size(); ++i) {
      if ((p[i].at == -1) != (p[0].at == -1))
        return DataLoss(net_trace_.Trace() + ": record " + std::to_string(i) + ": at " + std::to_string(p[i].at) +
                        " mixes saturation (-1) and timed packets");
      if (p[i].at < p[i - 1].at)
        return DataLoss(net_trace_.Trace() + ": record " + std::to_string(i) + ": at " + std::to_string(p[i].at) +
                        " before the previous packet's " + std::to_string(p[i - 1].at));
    }
    return std::move(w_);
  }
  KREPLAY_RETURN_IF_ERROR(block_trace_.Finish());
  if (w_.jobs.size() == 1) {
    w_.jobs[0].ios = std::move(ios_);
  } else {
    size_t at = 0;
    for (size_t j = 0; j < w_.jobs.size(); ++j) {
      const auto first = ios_.begin() + static_cast<std::ptrdiff_t>(at);
      w_.jobs[j].ios.assign(first, first + static_cast<std::ptrdiff_t>(job_ios_[j]));
      at += job_ios_[j];
    }
    ios_ = {};
  }
  return std::move(w_);
}

StatusOr<VirtioWorkload> RoundTrip(const VirtioWorkload& w, size_t max_chunk_bytes) {
  codec::EncodedTrace t = EncodeVirtioWorkload(w, max_chunk_bytes, "roundtrip");
  VirtioTraceAssembler a(t.manifest);
  for (const auto& c : t.chunks) KREPLAY_RETURN_IF_ERROR(a.Add(c));
  return a.Finish();
}

}  // namespace kreplay::virtio
