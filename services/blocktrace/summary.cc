#include "services/blocktrace/summary.h"

#include <bit>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "services/core/strings.h"

namespace kreplay::blocktrace {
namespace {

using workload::BlockOp;

constexpr uint64_t kBlock = 4096;
constexpr int kSizeBits = 12;  // histogram sub-buckets: sizes exact to 1/2048

// splitmix64's finaliser: a bijection on 64-bit values, so distinct keys keep
// distinct hashes and the "exact" footprint really is exact.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::string Bytes(uint64_t b) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  else std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

std::string Pct(uint64_t a, uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %%", b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0);
  return buf;
}

std::string Seconds(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f s", static_cast<double>(ns) / 1e9);
  return buf;
}

const char* kOpPlural[workload::kBlockOpCount] = {"reads", "writes", "discards", "flushes"};

uint64_t DataRequests(const TraceSummary& s) {
  return s.ops[0] + s.ops[1] + s.ops[2];
}

}  // namespace

SummaryBuilder::SummaryBuilder(const SummaryOptions& opts) : opts_(opts), table_(1024, 0) {
  s_.sizes = sim::Histogram(kSizeBits);
  if (opts_.exact_block_limit < 16) opts_.exact_block_limit = 16;
}

void SummaryBuilder::Insert(uint64_t h) {
  if (h == 0) {
    if (!has_zero_) ++set_size_;
    has_zero_ = true;
    return;
  }
  size_t mask = table_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (table_[i] == h) return;
    if (table_[i] == 0) {
      table_[i] = h;
      ++set_size_;
      return;
    }
  }
}

void SummaryBuilder::Rebuild() {
  // Halve the sampling rate while over the limit, and size the table for the
  // survivors (at most half full).
  while (set_size_ > opts_.exact_block_limit) {
    ++shift_;
    uint64_t kept = 0;
    for (uint64_t h : table_) {
      if (h != 0 && (h >> (64 - shift_)) == 0) ++kept;
    }
    set_size_ = kept + (has_zero_ ? 1 : 0);
  }
  size_t cap = 1024;
  while (cap < 2 * (set_size_ + 1)) cap *= 2;
  std::vector<uint64_t> old;
  old.swap(table_);
  table_.assign(cap, 0);
  set_size_ = has_zero_ ? 1 : 0;
  for (uint64_t h : old) {
    if (h != 0 && (shift_ == 0 || (h >> (64 - shift_)) == 0)) Insert(h);
  }
}

void SummaryBuilder::Touch(uint64_t key) {
  uint64_t h = Mix(key);
  if (shift_ > 0 && (h >> (64 - shift_)) != 0) return;  // not in the sample
  Insert(h);
  if (set_size_ > opts_.exact_block_limit || 2 * set_size_ > table_.size()) Rebuild();
}

void SummaryBuilder::Add(const workload::BlockRequest& r) {
  ++s_.requests;
  ++s_.ops[static_cast<int>(r.op)];
  s_.duration_ns = r.time_ns;
  if (r.op == BlockOp::kFlush) return;
  if (r.op == BlockOp::kRead) s_.bytes_read += r.bytes;
  if (r.op == BlockOp::kWrite) s_.bytes_written += r.bytes;
  if (r.op == BlockOp::kDiscard) s_.bytes_discarded += r.bytes;
  s_.sizes.Record(r.bytes);
  size_t b = r.bytes <= 1 ? 0 : static_cast<size_t>(std::bit_width(uint64_t{r.bytes} - 1));
  if (s_.size_buckets.size() <= b) s_.size_buckets.resize(b + 1, 0);
  ++s_.size_buckets[b];
  if (last_end_.size() <= r.volume) last_end_.resize(r.volume + 1, 0);
  uint64_t& last = last_end_[r.volume];
  if (last != 0) {
    ++s_.with_predecessor;
    if (last - 1 == r.offset) ++s_.sequential;
  }
  last = r.offset + r.bytes + 1;
  if (r.op == BlockOp::kDiscard || r.bytes == 0) return;
  uint64_t first = r.offset / kBlock, end = (r.offset + r.bytes - 1) / kBlock;
  for (uint64_t blk = first; blk <= end; ++blk) {
    uint64_t key = (r.volume < (1u << 12) && blk < (uint64_t{1} << 52))
                       ? (uint64_t{r.volume} << 52) | blk
                       : Mix(uint64_t{r.volume} + 0x9e3779b97f4a7c15ULL) ^ blk;  // beyond 2^52 blocks: hashed
    Touch(key);
  }
}

TraceSummary SummaryBuilder::Finish() const {
  TraceSummary s = s_;
  s.footprint_exact = shift_ == 0;
  s.footprint_sample_rate = 1.0 / static_cast<double>(uint64_t{1} << shift_);
  s.footprint_blocks = set_size_ << shift_;
  return s;
}

StatusOr<TraceSummary> Summarize(BlockTraceReader& reader, const SummaryOptions& opts) {
  SummaryBuilder b(opts);
  workload::BlockRequest r;
  for (;;) {
    KREPLAY_ASSIGN_OR_RETURN(bool more, reader.Next(&r));
    if (!more) break;
    b.Add(r);
  }
  TraceSummary s = b.Finish();
  s.format = FormatName(reader.format());
  s.volumes = reader.volumes();
  s.has_task_ids = reader.has_task_ids();
  s.reader = reader.stats();
  return s;
}

namespace {
const char* kFallback = "one task per volume (the trace has no task IDs)";
}

std::string SummaryText(const TraceSummary& s) {
  std::string o;
  auto line = [&](const std::string& k, const std::string& v) { o += k + std::string(k.size() < 22 ? 22 - k.size() : 1, ' ') + v + "\n"; };
  line("format", s.format);
  line("requests", std::to_string(s.requests));
  for (int i = 0; i < workload::kBlockOpCount; ++i) {
    line(std::string("  ") + kOpPlural[i],
         std::to_string(s.ops[i]) + " (" + Pct(s.ops[i], s.requests) + ")");
  }
  line("bytes read", Bytes(s.bytes_read));
  line("bytes written", Bytes(s.bytes_written));
  if (s.bytes_discarded) line("bytes discarded", Bytes(s.bytes_discarded));
  line("footprint", std::string(s.footprint_exact ? "" : "estimated ") + std::to_string(s.footprint_blocks) +
                        " x 4 KiB blocks (" + Bytes(s.footprint_blocks * kBlock) + ")" +
                        (s.footprint_exact ? ", exact" : ", sampled at rate " + FormatDouble(s.footprint_sample_rate)));
  uint64_t data = DataRequests(s);
  if (data) {
    line("request size", "min " + Bytes(static_cast<uint64_t>(s.sizes.min())) + ", p50 " +
                             Bytes(static_cast<uint64_t>(s.sizes.Percentile(0.5))) + ", p90 " +
                             Bytes(static_cast<uint64_t>(s.sizes.Percentile(0.9))) + ", p99 " +
                             Bytes(static_cast<uint64_t>(s.sizes.Percentile(0.99))) + ", max " +
                             Bytes(static_cast<uint64_t>(s.sizes.max())));
    for (size_t i = 0; i < s.size_buckets.size(); ++i) {
      if (!s.size_buckets[i]) continue;
      line("  <= " + Bytes(uint64_t{1} << i), std::to_string(s.size_buckets[i]) + " (" + Pct(s.size_buckets[i], data) + ")");
    }
  }
  line("sequential", std::to_string(s.sequential) + " of " + std::to_string(s.with_predecessor) + " (" +
                         Pct(s.sequential, s.with_predecessor) + ") start where the volume's previous request ended");
  line("duration", Seconds(s.duration_ns));
  line("volumes", std::to_string(s.volumes.size()));
  for (size_t i = 0; i < s.volumes.size() && i < 16; ++i) line("  " + std::to_string(i), s.volumes[i]);
  if (s.volumes.size() > 16) line("  ...", std::to_string(s.volumes.size() - 16) + " more");
  line("task IDs", s.has_task_ids ? "yes (per-task stream tracking uses them)" : std::string("no; models use ") + kFallback);
  line("lines", std::to_string(s.reader.lines) + " read, " + std::to_string(s.reader.skipped_lines) + " skipped by rule");
  if (s.reader.clamped_times)
    line("warning", std::to_string(s.reader.clamped_times) + " requests went back in time and were clamped");
  return o;
}

std::string SummaryJson(const TraceSummary& s) {
  nlohmann::ordered_json j;
  j["format"] = s.format;
  j["requests"] = s.requests;
  for (int i = 0; i < workload::kBlockOpCount; ++i) j[kOpPlural[i]] = s.ops[i];
  j["bytes_read"] = s.bytes_read;
  j["bytes_written"] = s.bytes_written;
  j["bytes_discarded"] = s.bytes_discarded;
  j["footprint_blocks_4k"] = s.footprint_blocks;
  j["footprint_exact"] = s.footprint_exact;
  j["footprint_sample_rate"] = s.footprint_sample_rate;
  nlohmann::ordered_json sizes;
  uint64_t data = DataRequests(s);
  sizes["min"] = data ? s.sizes.min() : 0;
  sizes["p50"] = s.sizes.Percentile(0.5);
  sizes["p90"] = s.sizes.Percentile(0.9);
  sizes["p99"] = s.sizes.Percentile(0.99);
  sizes["max"] = s.sizes.max();
  nlohmann::ordered_json buckets = nlohmann::ordered_json::array();
  for (size_t i = 0; i < s.size_buckets.size(); ++i) {
    if (s.size_buckets[i]) buckets.push_back({{"le_bytes", uint64_t{1} << i}, {"count", s.size_buckets[i]}});
  }
  sizes["pow2_buckets"] = buckets;
  j["request_size_bytes"] = sizes;
  j["sequential"] = s.sequential;
  j["with_predecessor"] = s.with_predecessor;
  j["sequential_fraction"] = s.with_predecessor ? static_cast<double>(s.sequential) / static_cast<double>(s.with_predecessor) : 0.0;
  j["duration_ns"] = s.duration_ns;
  j["volumes"] = s.volumes;
  j["has_task_ids"] = s.has_task_ids;
  j["task_fallback"] = s.has_task_ids ? "none (task IDs present)" : kFallback;
  j["lines"] = s.reader.lines;
  j["skipped_lines"] = s.reader.skipped_lines;
  j["clamped_times"] = s.reader.clamped_times;
  return j.dump(2) + "\n";
}

}  // namespace kreplay::blocktrace
