#include "services/codec/block_trace.h"

#include <algorithm>
#include <limits>

#include "services/codec/columns.h"
#include "services/core/crc32c.h"
#include "services/core/digest.h"

namespace kreplay::codec {
namespace {

constexpr char kFamily[] = "blockcache";  // the model family's name
// What controllers before the family table wrote: traces they stored, and
// work items pending in their ledgers, still read.
constexpr char kLegacyFamily[] = "block";
constexpr uint8_t kHeaderVersion = 1;
constexpr uint8_t kFlagTaskIds = 1;
constexpr uint8_t kFlagSync = 2;  // has_sync_flags: a seventh column, "sync"
constexpr int kMaxColumns = 7;

// Traces without sync flags keep the six columns (and so the bytes and
// digest) they always had.
const std::vector<std::string>& BlockColumns(bool sync) {
  static const std::vector<std::string> kNames = {"time_ns", "offset", "bytes", "volume", "task", "op"};
  static const std::vector<std::string> kWithSync = {"time_ns", "offset", "bytes", "volume", "task", "op", "sync"};
  return sync ? kWithSync : kNames;
}

int64_t WrappingDelta(int64_t to, int64_t from) {
  return static_cast<int64_t>(static_cast<uint64_t>(to) - static_cast<uint64_t>(from));
}

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

std::string EncodeHeader(const workload::BlockWorkload& w) {
  std::string h;
  h.push_back(static_cast<char>(kHeaderVersion));
  h.push_back(static_cast<char>((w.has_task_ids ? kFlagTaskIds : 0) | (w.has_sync_flags ? kFlagSync : 0)));
  PutU32(h, static_cast<uint32_t>(w.volumes.size()));
  for (const auto& v : w.volumes) {
    PutU32(h, static_cast<uint32_t>(v.size()));
    h += v;
  }
  return h;
}

// Parses the layout documented in block_trace.h into `w` (volumes and flags).
Status DecodeHeader(const std::string& h, workload::BlockWorkload* w) {
  size_t pos = 0;
  auto u32 = [&](const char* field, uint32_t* out) -> Status {
    if (h.size() - pos < 4)
      return DataLoss("header byte " + std::to_string(pos) + ": " + field + " truncated (" +
                      std::to_string(h.size()) + "-byte header)");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(h[pos + static_cast<size_t>(i)])) << (8 * i);
    pos += 4;
    *out = v;
    return OkStatus();
  };
  if (h.size() < 2) return DataLoss("header is " + std::to_string(h.size()) + " bytes, expected at least 6");
  const auto version = static_cast<uint8_t>(h[0]);
  const auto flags = static_cast<uint8_t>(h[1]);
  if (version != kHeaderVersion)
    return DataLoss("header byte 0: version " + std::to_string(version) + ", expected " + std::to_string(kHeaderVersion));
  if ((flags & ~(kFlagTaskIds | kFlagSync)) != 0)
    return DataLoss("header byte 1: unknown flags " + std::to_string(flags));
  w->has_task_ids = (flags & kFlagTaskIds) != 0;
  w->has_sync_flags = (flags & kFlagSync) != 0;
  pos = 2;
  uint32_t count = 0;
  KREPLAY_RETURN_IF_ERROR(u32("volume_count", &count));
  // Every volume takes at least its 4-byte length, so this bounds the reserve.
  if (count > (h.size() - pos) / 4)
    return DataLoss("header: volume_count " + std::to_string(count) + " does not fit in " +
                    std::to_string(h.size()) + " bytes");
  w->volumes.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len = 0;
    KREPLAY_RETURN_IF_ERROR(u32("volume name length", &len));
    if (h.size() - pos < len)
      return DataLoss("header byte " + std::to_string(pos) + ": volume " + std::to_string(i) + " name truncated");
    w->volumes.emplace_back(h, pos, len);
    pos += len;
  }
  if (pos != h.size()) return DataLoss("header: " + std::to_string(h.size() - pos) + " trailing bytes");
  return OkStatus();
}

// One chunk under construction. Tracks the exact serialized size of the
// RecordColumns payload (ColumnWriter's estimate ignores the length varints)
// so that the encoder can keep every chunk within its bound.
class ChunkBuilder {
 public:
  explicit ChunkBuilder(bool sync)
      : names_(BlockColumns(sync)), columns_(static_cast<int>(names_.size())), writer_(names_) {}

  // Payload size if `row` were appended.
  size_t SizeWith(const int64_t* row) const {
    size_t packed[kMaxColumns] = {};
    for (int c = 0; c < columns_; ++c) packed[c] = packed_[c] + VarintSize(ZigZag(WrappingDelta(row[c], last_[c])));
    return Size(packed);
  }
  void Append(const int64_t* row) {
    for (int c = 0; c < columns_; ++c) {
      packed_[c] += VarintSize(ZigZag(WrappingDelta(row[c], last_[c])));
      last_[c] = row[c];
    }
    writer_.Append(row);
  }
  size_t rows() const { return writer_.rows(); }
  size_t size() const { return Size(packed_); }
  std::string Take() {
    const size_t predicted = size();
    std::string payload = writer_.TakePayload();
    KREPLAY_CHECK(payload.size() == predicted, "block chunk size accounting is off: " + std::to_string(payload.size()) +
                                                   " bytes, predicted " + std::to_string(predicted));
    std::fill(std::begin(last_), std::end(last_), 0);
    std::fill(std::begin(packed_), std::end(packed_), 0);
    return payload;
  }

 private:
  // RecordColumns { repeated Column columns = 1 } with Column { name = 1;
  // packed sint64 deltas = 2 }: each column is tag + length + body.
  size_t Size(const size_t* packed) const {
    size_t total = 0;
    for (int c = 0; c < columns_; ++c) {
      const std::string& name = names_[static_cast<size_t>(c)];
      size_t body = 1 + VarintSize(name.size()) + name.size();
      if (packed[c] > 0) body += 1 + VarintSize(packed[c]) + packed[c];
      total += 1 + VarintSize(body) + body;
    }
    return total;
  }

  const std::vector<std::string>& names_;
  int columns_;
  ColumnWriter writer_;
  int64_t last_[kMaxColumns] = {};
  size_t packed_[kMaxColumns] = {};
};

// Decodes one payload into requests. `first_record` only numbers errors.
StatusOr<std::vector<workload::BlockRequest>> DecodeRequests(const std::string& payload, size_t volumes,
                                                             uint64_t first_record, bool sync) {
  auto cols = DecodeColumns(payload, BlockColumns(sync));
  if (!cols.ok()) return cols.status();
  const auto& time = (*cols)[0];
  const auto& offset = (*cols)[1];
  const auto& bytes = (*cols)[2];
  const auto& volume = (*cols)[3];
  const auto& task = (*cols)[4];
  const auto& op = (*cols)[5];
  constexpr int64_t kU32Max = std::numeric_limits<uint32_t>::max();
  std::vector<workload::BlockRequest> out(time.size());
  for (size_t r = 0; r < time.size(); ++r) {
    auto bad = [&](const char* field, int64_t v) {
      return DataLoss("record " + std::to_string(first_record + r) + ": " + field + " " + std::to_string(v) +
                      " out of range");
    };
    if (bytes[r] < 0 || bytes[r] > kU32Max) return bad("bytes", bytes[r]);
    if (volume[r] < 0 || static_cast<uint64_t>(volume[r]) >= volumes) return bad("volume", volume[r]);
    if (task[r] < 0 || task[r] > kU32Max) return bad("task", task[r]);
    if (op[r] < 0 || op[r] >= workload::kBlockOpCount) return bad("op", op[r]);
    if (sync && ((*cols)[6][r] < 0 || (*cols)[6][r] > 1)) return bad("sync", (*cols)[6][r]);
    auto& q = out[r];
    q.time_ns = time[r];
    q.offset = static_cast<uint64_t>(offset[r]);  // two's complement round trip of the full u64 range
    q.bytes = static_cast<uint32_t>(bytes[r]);
    q.volume = static_cast<uint32_t>(volume[r]);
    q.task = static_cast<uint32_t>(task[r]);
    q.op = static_cast<workload::BlockOp>(op[r]);
    q.sync = sync && (*cols)[6][r] == 1;
  }
  return out;
}

}  // namespace

struct BlockTraceAssembler::DigestState {
  Sha256 sha;
};

v1::TraceManifest EncodeBlockWorkload(const workload::BlockWorkload& w, size_t max_chunk_bytes,
                                      const ChunkSink& sink, const std::string& source) {
  v1::TraceManifest m;
  m.set_family(kFamily);
  m.set_source(source);
  m.set_header(EncodeHeader(w));
  Sha256 sha;
  sha.UpdateField(m.family());
  sha.UpdateField(m.header());

  ChunkBuilder builder(w.has_sync_flags);
  uint32_t index = 0;
  uint64_t first = 0, bytes = 0;
  auto flush = [&] {
    if (builder.rows() == 0) return;
    v1::TraceChunk c;
    c.set_index(index++);
    c.set_first_record(first);
    c.set_record_count(static_cast<uint32_t>(builder.rows()));
    first += builder.rows();
    std::string payload = builder.Take();
    c.set_crc32c(Crc32c(payload));
    sha.UpdateField(payload);
    bytes += payload.size();
    c.set_payload(std::move(payload));
    sink(std::move(c));
  };
  for (const auto& r : w.requests) {
    const int64_t row[kMaxColumns] = {r.time_ns, static_cast<int64_t>(r.offset), r.bytes, r.volume, r.task,
                                      static_cast<int64_t>(r.op), r.sync ? 1 : 0};
    // record_count is a uint32 on the wire.
    if (builder.rows() > 0 && (builder.SizeWith(row) > max_chunk_bytes ||
                               builder.rows() == std::numeric_limits<uint32_t>::max()))
      flush();
    builder.Append(row);
  }
  flush();
  m.set_chunk_count(index);
  m.set_record_count(w.requests.size());
  m.set_payload_bytes(bytes);
  m.set_digest(sha.HexDigest());
  return m;
}

EncodedTrace EncodeBlockWorkload(const workload::BlockWorkload& w, size_t max_chunk_bytes, const std::string& source) {
  EncodedTrace t;
  t.manifest = EncodeBlockWorkload(
      w, max_chunk_bytes, [&](v1::TraceChunk&& c) { t.chunks.push_back(std::move(c)); }, source);
  for (auto& c : t.chunks) c.set_digest(t.manifest.digest());
  return t;
}

BlockTraceAssembler::BlockTraceAssembler(v1::TraceManifest manifest)
    : manifest_(std::move(manifest)), digest_(std::make_unique<DigestState>()) {
  const std::string trace = "block trace " + manifest_.digest();
  if (manifest_.family() != kFamily && manifest_.family() != kLegacyFamily) {
    init_ = InvalidArgument(trace + ": manifest family '" + manifest_.family() + "' is not " + kFamily);
    return;
  }
  Status h = DecodeHeader(manifest_.header(), &w_);
  if (!h.ok()) {
    init_ = h.WithContext(trace + ": manifest");
    return;
  }
  // Every chunk holds at least one record; the encoder emits no empty chunks.
  if ((manifest_.chunk_count() == 0) != (manifest_.record_count() == 0) ||
      manifest_.chunk_count() > manifest_.record_count()) {
    init_ = DataLoss(trace + ": manifest has " + std::to_string(manifest_.chunk_count()) + " chunks for " +
                     std::to_string(manifest_.record_count()) + " records");
    return;
  }
  digest_->sha.UpdateField(manifest_.family());
  digest_->sha.UpdateField(manifest_.header());
  w_.requests.reserve(std::min<uint64_t>(manifest_.record_count(), uint64_t{1} << 20));
}

BlockTraceAssembler::~BlockTraceAssembler() = default;

std::string BlockTraceAssembler::Where(uint32_t index) const {
  return "block trace " + manifest_.digest().substr(0, 12) + " chunk " + std::to_string(index);
}

Status BlockTraceAssembler::Add(const v1::TraceChunk& c) {
  if (!init_.ok()) return init_;
  const uint32_t i = c.index();
  const std::string where = Where(i);
  if (c.digest() != manifest_.digest()) return DataLoss(where + ": chunk belongs to trace '" + c.digest() + "'");
  if (i >= manifest_.chunk_count())
    return DataLoss(where + ": index out of range (trace has " + std::to_string(manifest_.chunk_count()) + " chunks)");
  if (i < next_ || pending_.count(i) != 0) {
    ++duplicates_;
    return OkStatus();
  }
  if (Crc32c(c.payload()) != c.crc32c())
    return DataLoss(where + ": CRC32C mismatch over " + std::to_string(c.payload().size()) + " payload bytes");
  if (c.record_count() == 0) return DataLoss(where + ": chunk has no records");
  if (c.first_record() > manifest_.record_count() ||
      c.record_count() > manifest_.record_count() - c.first_record())
    return DataLoss(where + ": records [" + std::to_string(c.first_record()) + ", " +
                    std::to_string(c.first_record() + c.record_count()) + ") exceed the trace's " +
                    std::to_string(manifest_.record_count()));
  auto requests = DecodeRequests(c.payload(), w_.volumes.size(), c.first_record(), w_.has_sync_flags);
  if (!requests.ok()) return requests.status().WithContext(where);
  if (requests->size() != c.record_count())
    return DataLoss(where + ": payload holds " + std::to_string(requests->size()) + " records, chunk says " +
                    std::to_string(c.record_count()));
  pending_.emplace(i, Pending{c.first_record(), c.payload(), std::move(requests).value()});
  ++accepted_count_;
  return Splice();
}

Status BlockTraceAssembler::Splice() {
  for (auto it = pending_.begin(); it != pending_.end() && it->first == next_; it = pending_.erase(it)) {
    Pending& p = it->second;
    if (p.first_record != records_) {
      Status st = DataLoss(Where(it->first) + ": first_record " + std::to_string(p.first_record) + ", expected " +
                           std::to_string(records_) + " after chunk " + std::to_string(next_ - 1));
      // Forget it so that a corrected copy can still be added.
      pending_.erase(it);
      --accepted_count_;
      return st;
    }
    digest_->sha.UpdateField(p.payload);
    payload_bytes_ += p.payload.size();
    records_ += p.requests.size();
    w_.requests.insert(w_.requests.end(), p.requests.begin(), p.requests.end());
    ++next_;
  }
  return OkStatus();
}

StatusOr<workload::BlockWorkload> BlockTraceAssembler::Finish() {
  if (!init_.ok()) return init_;
  const std::string trace = "block trace " + manifest_.digest();
  if (!complete())
    return DataLoss(trace + ": chunk " + std::to_string(next_) + " missing (" + std::to_string(accepted_count_) +
                    " of " + std::to_string(manifest_.chunk_count()) + " chunks held)");
  if (records_ != manifest_.record_count())
    return DataLoss(trace + ": " + std::to_string(records_) + " records, manifest says " +
                    std::to_string(manifest_.record_count()));
  if (payload_bytes_ != manifest_.payload_bytes())
    return DataLoss(trace + ": " + std::to_string(payload_bytes_) + " payload bytes, manifest says " +
                    std::to_string(manifest_.payload_bytes()));
  std::string got = digest_->sha.HexDigest();
  if (got != manifest_.digest()) return DataLoss(trace + ": digest mismatch (chunks hash to " + got + ")");
  return std::move(w_);
}

StatusOr<workload::BlockWorkload> RoundTrip(const workload::BlockWorkload& w, size_t max_chunk_bytes) {
  EncodedTrace t = EncodeBlockWorkload(w, max_chunk_bytes, "roundtrip");
  BlockTraceAssembler a(t.manifest);
  for (const auto& c : t.chunks) KREPLAY_RETURN_IF_ERROR(a.Add(c));
  return a.Finish();
}

}  // namespace kreplay::codec
