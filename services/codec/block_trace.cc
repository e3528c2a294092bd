#include "services/codec/block_trace.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include "services/codec/columns.h"

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

void PutU32(std::string& out, uint32_t v) { PutLE(out, v, 4); }

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
    *out = static_cast<uint32_t>(GetLE(h, pos, 4));
    pos += 4;
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

v1::TraceManifest EncodeBlockWorkload(const workload::BlockWorkload& w, size_t max_chunk_bytes,
                                      const ChunkSink& sink, const std::string& source) {
  ChunkBuilder builder(BlockColumns(w.has_sync_flags), "block");
  auto row = [&](size_t i, int64_t* values) {
    const workload::BlockRequest& r = w.requests[i];
    const int64_t v[kMaxColumns] = {r.time_ns, static_cast<int64_t>(r.offset), r.bytes, r.volume, r.task,
                                    static_cast<int64_t>(r.op), r.sync ? 1 : 0};
    std::copy(std::begin(v), std::end(v), values);
  };
  return EncodeChunkedTrace(kFamily, EncodeHeader(w), source, builder, w.requests.size(), row, max_chunk_bytes,
                            sink);
}

EncodedTrace EncodeBlockWorkload(const workload::BlockWorkload& w, size_t max_chunk_bytes, const std::string& source) {
  EncodedTrace t;
  t.manifest = EncodeBlockWorkload(
      w, max_chunk_bytes, [&](v1::TraceChunk&& c) { t.chunks.push_back(std::move(c)); }, source);
  for (auto& c : t.chunks) c.set_digest(t.manifest.digest());
  return t;
}

BlockTraceAssembler::BlockTraceAssembler(v1::TraceManifest manifest)
    : trace_("block", std::move(manifest), &w_.requests) {
  const std::string& family = trace_.manifest().family();
  trace_.Start(
      family == kFamily || family == kLegacyFamily, kFamily,
      [&](const std::string& header) { return DecodeHeader(header, &w_); }, uint64_t{1} << 20);
}

BlockTraceAssembler::~BlockTraceAssembler() = default;

Status BlockTraceAssembler::Add(const v1::TraceChunk& c) {
  return trace_.Add(c, [&](const std::string& payload, uint64_t first_record) {
    return DecodeRequests(payload, w_.volumes.size(), first_record, w_.has_sync_flags);
  });
}

StatusOr<workload::BlockWorkload> BlockTraceAssembler::Finish() {
  KREPLAY_RETURN_IF_ERROR(trace_.Finish());
  return std::move(w_);
}

StatusOr<workload::BlockWorkload> RoundTrip(const workload::BlockWorkload& w, size_t max_chunk_bytes) {
  EncodedTrace t = EncodeBlockWorkload(w, max_chunk_bytes, "roundtrip");
  BlockTraceAssembler a(t.manifest);
  for (const auto& c : t.chunks) KREPLAY_RETURN_IF_ERROR(a.Add(c));
  return a.Finish();
}

}  // namespace kreplay::codec
