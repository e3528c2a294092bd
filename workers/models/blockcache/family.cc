#include "workers/models/blockcache/family.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <map>
#include <variant>

#include "services/blocktrace/reader.h"
#include "services/blocktrace/synth.h"
#include "services/codec/block_trace.h"
#include "services/workload/block_workload.h"
#include "workers/models/blockcache/bcache/bcache_model.h"
#include "workers/models/blockcache/devices/profiles.h"
#include "workers/models/blockcache/trace_cmd.h"
#include "workers/models/blockcache/fixed/fixed_models.h"

namespace kreplay::blockcache {
namespace {

uint64_t WorkloadBytes(const workload::BlockWorkload& w) {
  return sizeof(w) + w.requests.size() * sizeof(workload::BlockRequest);
}

std::string Digest(const model::AnyValue& w) { return workload::BlockWorkloadDigest(*w.As<workload::BlockWorkload>()); }
// Block models' work is per request.
double Requests(const model::AnyValue& w) { return static_cast<double>(w.As<workload::BlockWorkload>()->requests.size()); }

// Streams a block trace once: checks every line, counts requests (up to
// `max_requests` > 0) and keeps nothing else.
StatusOr<BlockTraceInfo> ScanBlockTrace(const std::string& path, const blocktrace::ReaderOptions& opts,
                                        uint64_t max_requests) {
  KREPLAY_ASSIGN_OR_RETURN(auto reader, blocktrace::BlockTraceReader::Open(path, opts));
  BlockTraceInfo info;
  workload::BlockRequest r;
  while (max_requests == 0 || info.requests < max_requests) {
    KREPLAY_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
    if (!more) break;
    ++info.requests;
  }
  info.volumes = reader->volumes().size();
  info.has_task_ids = reader->has_task_ids();
  info.format = reader->format();
  info.clamped_times = reader->stats().clamped_times;
  return info;
}

std::optional<family::ParsedWorkload> ParseBlockTrace(const family::KindInput& in) {
  family::SpecErrors& err = *in.errors;
  const std::string& f = in.field;
  bool ok = true;
  auto path = family::SpecString(in.entry, f + ".blocktrace", err);
  if (path && path->empty()) {
    err.Error(in.entry.value, f + ".blocktrace", "expected a trace file path");
    path.reset();
  } else if (path && *path == "-") {
    // The controller reads the trace at load and again when runs need it.
    err.Error(in.entry.value, f + ".blocktrace", "stdin ('-') cannot be a study workload: give a file");
    path.reset();
  }
  ok &= path.has_value();
  BlockTraceSpec spec;
  blocktrace::ReaderOptions& opts = spec.options;
  const family::SpecEntry* format = nullptr;
  if (auto it = in.options.find("format"); it != in.options.end()) {
    format = &it->second;
    if (auto s = family::SpecString(it->second, f + ".format", err)) {
      auto fmt = blocktrace::ParseFormat(*s);
      if (fmt.ok()) {
        opts.format = *fmt;
      } else {
        err.Error(it->second.value, f + ".format",
                  "unknown format '" + *s + "' (auto, blkparse, msr, fio-v2, fio-v3, alibaba, tencent, csv)");
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  const std::string format_name = blocktrace::FormatName(opts.format);
  if (auto it = in.options.find("blkparse_event"); it != in.options.end()) {
    auto s = family::SpecString(it->second, f + ".blkparse_event", err);
    if (!s) {
      ok = false;
    } else if (*s != "Q" && *s != "D") {
      err.Error(it->second.value, f + ".blkparse_event",
                "expected Q (bios as queued) or D (requests issued to the driver), got '" + *s + "'");
      ok = false;
    } else if (opts.format != blocktrace::Format::kAuto && opts.format != blocktrace::Format::kBlkparse) {
      err.Error(it->second.key, f + ".blkparse_event", "only for format blkparse (format is " + format_name + ")");
      ok = false;
    } else {
      opts.blkparse_event = *s == "D" ? blocktrace::BlkparseEvent::kIssue : blocktrace::BlkparseEvent::kQueue;
    }
  }
  const family::SpecEntry* mapping = nullptr;
  if (auto it = in.options.find("csv_mapping"); it != in.options.end()) {
    mapping = &it->second;
    auto s = family::SpecString(it->second, f + ".csv_mapping", err);
    if (!s) {
      ok = false;
    } else if (opts.format != blocktrace::Format::kCsv) {
      err.Error(it->second.key, f + ".csv_mapping",
                "needs format: csv (format is " + format_name + (format ? ")" : ", the default)"));
      ok = false;
    } else {
      opts.csv_mapping = *s;
    }
  }
  if (auto it = in.options.find("strict_time_order"); it != in.options.end()) {
    const YAML::Node& v = it->second.value;
    if (v.IsScalar() && (v.Scalar() == "true" || v.Scalar() == "false")) {
      opts.strict_time_order = v.Scalar() == "true";
    } else {
      err.Error(v.IsNull() ? it->second.key : v, f + ".strict_time_order", "expected true or false");
      ok = false;
    }
  }
  if (auto it = in.options.find("max_requests"); it != in.options.end()) {
    auto v = family::SpecUint(it->second.value, f + ".max_requests", err);
    if (v && *v == 0)
      err.Error(it->second.value, f + ".max_requests", "must be at least 1 (leave it out for the whole trace)");
    if (!v || *v == 0) ok = false;
    if (v) spec.max_requests = *v;
  }
  if (!ok) return std::nullopt;

  family::ParsedWorkload p;
  p.path = family::ResolveSpecPath(in.base_dir, *path);
  auto info = ScanBlockTrace(p.path, opts, spec.max_requests);
  if (!info.ok()) {
    std::string msg = info.status().message();
    // A bad mapping is the spec's own field; the reader reports it without a file.
    if (mapping && msg.rfind("field 'csv_mapping': ", 0) == 0) {
      err.Error(mapping->value, f + ".csv_mapping", msg.substr(std::string("field 'csv_mapping': ").size()));
      return std::nullopt;
    }
    // Name the trace as the spec wrote it: the resolved path is just noise.
    if (msg.rfind(p.path + ":", 0) == 0) msg = *path + msg.substr(p.path.size());
    err.Nested(in.entry.value, f + ".blocktrace", msg, false);
    return std::nullopt;
  }
  if (info->requests == 0) {
    err.Error(in.entry.value, f + ".blocktrace", *path + ": the trace has no requests");
    return std::nullopt;
  }
  spec.info = *info;
  p.spec = model::AnyValue::Make(std::move(spec), 0);
  return p;
}

// ---- plan estimates (kreplay plan) --------------------------------------------
// Chunk payload per request (zigzag-delta varint columns): 10 bytes on a
// sequential stream, ~11 on a Zipf mix (block_trace_test BlockTraceSize).
constexpr double kTraceBytesPerRequest = 11;

family::WorkloadEstimate EstimateBlockSynthetic(const blocktrace::BlockSynthSpec& s) {
  family::WorkloadEstimate p;
  double n = s.requests ? static_cast<double>(s.requests) : 0;
  if (s.duration_ns) {
    double by_time = static_cast<double>(s.duration_ns) / 1e9 * s.rate;
    n = s.requests ? std::min(n, by_time) : by_time;
  }
  p.requests = n;
  double weight = 0, bytes = 0;
  std::map<uint32_t, bool> volumes;
  for (const auto& c : s.components) {
    weight += c.weight;
    bytes += c.weight * c.size;
    p.footprint_bytes += c.footprint;
    volumes[c.volume] = true;
  }
  p.mean_request_bytes = weight > 0 ? bytes / weight : 0;
  p.volumes = volumes.size();
  p.trace_bytes = p.requests * kTraceBytesPerRequest;
  return p;
}

// Expected block accesses per request for a cache of `block_size` bytes:
// each component's requests are size-aligned from its region start, so they
// touch about ceil(size / block_size) blocks (at least one). Traces count
// one per request (their sizes are not known without reading them again).
double AccessesPerRequest(const family::ParsedWorkload& w, int64_t block_size) {
  const auto* synth = w.spec.As<blocktrace::BlockSynthSpec>();
  if (!synth || block_size <= 0) return 1;
  double weight = 0, acc = 0;
  for (const auto& c : synth->components) {
    weight += c.weight;
    acc += c.weight * std::max(1.0, std::ceil(static_cast<double>(c.size) / static_cast<double>(block_size)));
  }
  return weight > 0 ? acc / weight : 1;
}

// Requests, or block accesses for the fixed-block models.
family::RunWork BlockRunWork(const family::RunWorkInput& in) {
  const double requests = in.estimate->requests;
  if (in.model->work_unit != "block accesses") return {requests, false};
  const auto& values = in.params->values();
  auto bs = values.find("block_size");
  const int64_t block_size =
      bs != values.end() && std::holds_alternative<int64_t>(bs->second) ? std::get<int64_t>(bs->second) : 0;
  return {requests * AccessesPerRequest(*in.workload, block_size), in.workload->spec.As<BlockTraceSpec>() != nullptr};
}

// printf into a string, for the listing below.
template <typename... Args>
void Appendf(std::string& out, const char* fmt, Args... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  out += buf;
}

// `kreplay devices [NAME]`: the shipped device profiles (the models'
// ssd_profile / hdd_profile), or one in full.
StatusOr<std::string> ShowDevices(const std::string& show) {
  const auto gb = [](uint64_t b) { return static_cast<double>(b) / 1e9; };
  std::string out;
  if (!show.empty()) {
    const DeviceProfile* p = FindDeviceProfile(show);
    if (!p) return NotFound("no device profile '" + show + "' (known: " + DeviceProfileNames() + ")");
    Appendf(out, "%s: %s\n", p->name.c_str(), p->description.c_str());
    if (p->kind == DeviceKind::kHdd) {
      const auto& h = p->hdd;
      Appendf(out, "  kind HDD, capacity %.0f GB, %d rpm, %d heads, %d zones\n", gb(h.capacity_bytes), h.rpm, h.heads,
              h.zones);
      Appendf(out, "  seek: single track %.2f ms, average %.2f ms, full stroke %.2f ms\n", h.single_track_seek_ms,
              h.average_seek_ms, h.full_stroke_seek_ms);
      Appendf(out, "  media rate %.0f MB/s (outer) .. %.0f MB/s (inner), overhead %.0f us, read-ahead %llu KiB\n",
              h.outer_rate_mb_s, h.inner_rate_mb_s, static_cast<double>(h.overhead_ns) / 1e3,
              static_cast<unsigned long long>(h.readahead_bytes >> 10));
    } else {
      const auto& d = p->ssd;
      Appendf(out, "  kind SSD, capacity %.0f GB, %d channels x %d chips x %d dies x %d planes, %u-byte pages\n",
              gb(d.capacity_bytes), d.channels, d.chips_per_channel, d.dies_per_chip, d.planes_per_die, d.page_bytes);
      Appendf(out, "  read %.0f us, program %.0f us, erase %.2f ms; channel %.0f MB/s, host %.0f MB/s\n",
              static_cast<double>(d.read_ns) / 1e3, static_cast<double>(d.program_ns) / 1e3,
              static_cast<double>(d.erase_ns) / 1e6, d.channel_rate_mb_s, d.host_rate_mb_s);
      const std::string wa = d.gc_write_amplification > 1 ? std::to_string(d.gc_write_amplification)
                                                          : "not modelled (host writes only)";
      Appendf(out, "  over-provisioning %.0f %%, FTL GC write amplification %s\n", d.overprovisioning * 100, wa.c_str());
    }
    return out;
  }
  for (const auto& p : DeviceProfiles()) {
    uint64_t cap = p.kind == DeviceKind::kHdd ? p.hdd.capacity_bytes : p.ssd.capacity_bytes;
    Appendf(out, "%-10s %-4s %6.0f GB  %s\n", p.name.c_str(), p.kind == DeviceKind::kHdd ? "HDD" : "SSD", gb(cap),
            p.description.c_str());
  }
  return out;
}

// `blocktrace:` workloads: the trace is read whole (up to max_requests; a
// request is 32 bytes) each time it is built, the same for every seed.
family::WorkloadKind BlockTraceKind() {
  family::WorkloadKind k;
  k.key = "blocktrace";
  k.options = {"format", "blkparse_event", "csv_mapping", "strict_time_order", "max_requests"};
  k.noun = "a block trace workload";
  k.parse = ParseBlockTrace;
  k.build = [](const family::ParsedWorkload& p, uint64_t) -> StatusOr<model::AnyValue> {
    const auto& spec = *p.spec.As<BlockTraceSpec>();
    auto b = blocktrace::ReadBlockTrace(p.path, spec.options, spec.max_requests);
    if (!b.ok()) return b.status();
    // Load validated this file and run keys name its content: a file edited
    // since then must not be replayed under the study's name.
    const BlockTraceInfo& want = spec.info;
    if (b->requests.size() != want.requests || b->volumes.size() != want.volumes ||
        b->has_task_ids != want.has_task_ids) {
      return FailedPrecondition(p.path + " changed since the study was loaded (now " +
                                std::to_string(b->requests.size()) + " requests, " +
                                std::to_string(b->volumes.size()) + " volumes; loaded " +
                                std::to_string(want.requests) + " requests, " + std::to_string(want.volumes) +
                                " volumes)");
    }
    const uint64_t bytes = WorkloadBytes(*b);
    return model::AnyValue::Make(std::move(b).value(), bytes);
  };
  k.digest = Digest;
  k.cost = Requests;
  k.estimate = [](const family::ParsedWorkload& p) {
    family::WorkloadEstimate e;
    const BlockTraceInfo& info = p.spec.As<BlockTraceSpec>()->info;
    e.requests = static_cast<double>(info.requests);
    e.volumes = info.volumes;
    e.trace_bytes = e.requests * kTraceBytesPerRequest;
    return e;
  };
  return k;
}

// `block_synthetic:`: blocktrace::ParseBlockSynthSpec, regenerated per seed
// and named by content (generated to name it).
family::WorkloadKind BlockSyntheticKind() {
  family::WorkloadKind k;
  k.key = "block_synthetic";
  k.noun = "a block_synthetic workload";
  k.generated = true;
  k.parse = [](const family::KindInput& in) {
    return family::ParseGeneratorEntry(in, "block_synthetic", blocktrace::ParseBlockSynthSpec);
  };
  k.build = [](const family::ParsedWorkload& p, uint64_t seed) -> StatusOr<model::AnyValue> {
    workload::BlockWorkload w = blocktrace::GenerateBlockSynthetic(*p.spec.As<blocktrace::BlockSynthSpec>(), seed);
    const uint64_t bytes = WorkloadBytes(w);
    return model::AnyValue::Make(std::move(w), bytes);
  };
  k.digest = Digest;
  k.cost = Requests;
  k.estimate = [](const family::ParsedWorkload& p) {
    return EstimateBlockSynthetic(*p.spec.As<blocktrace::BlockSynthSpec>());
  };
  return k;
}

v1::TraceManifest Encode(const model::AnyValue& w, size_t max_chunk_bytes, const family::ChunkSink& sink,
                         const std::string& source) {
  const auto* bw = w.As<workload::BlockWorkload>();
  KREPLAY_CHECK(bw != nullptr, "block trace codec given another family's workload");
  return codec::EncodeBlockWorkload(*bw, max_chunk_bytes, sink, source);
}

}  // namespace

family::FamilyInfo BlockCacheFamilyInfo() {
  family::FamilyInfo f;
  f.name = "blockcache";
  f.description = "bcache-style block cache tiers and fixed-block caches over HDD/SSD device models";
  f.workload_noun = "a block workload";
  f.kinds = {BlockTraceKind(), BlockSyntheticKind()};
  f.no_systems_hint = "whose devices come from model params (ssd_profile, hdd_profile, cache_size, ...)";
  // Unmeasured models: the slowest measured block model (bcache.stack).
  f.default_work_unit = "requests";
  f.default_work_per_core_s = 1.2e6;
  f.run_work = BlockRunWork;
  f.listings = {{"devices",
                 "List the shipped block device profiles (block cache models' ssd_profile / hdd_profile), or show one in full",
                 "Profile to show", ShowDevices}};
  f.trace_inspector = BlockTraceInspector();
  f.add_commands = [](CLI::App& app) -> std::function<std::optional<int>()> {
    std::shared_ptr<ConvertCli> c = AddConvertCommand(app);
    return [c]() -> std::optional<int> {
      if (!ConvertSelected(*c)) return std::nullopt;
      return RunConvertCommand(*c);
    };
  };
  // block.mrc (fixed/mrc.h); drawn as block.lru's miss_ratio so a per-size
  // block.lru sweep and the MRC share a plot.
  f.curve_series = {{"fixed_lru_mrc", "fixed-block LRU (one-pass MRC)", "miss_ratio", "ratio", "cache_size", "bytes"}};
  f.trace_family = "blockcache";
  f.legacy_trace_families = {"block"};
  f.encode_trace = Encode;
  f.assemble_trace = [](const v1::TraceManifest& m) -> std::unique_ptr<family::TraceAssembler> {
    return std::make_unique<family::TypedAssembler<codec::BlockTraceAssembler, workload::BlockWorkload>>(
        m, WorkloadBytes);
  };
  return f;
}

Status RegisterBlockCacheFamily(family::Catalog& catalog) {
  KREPLAY_RETURN_IF_ERROR(catalog.RegisterFamily(BlockCacheFamilyInfo()));
  KREPLAY_RETURN_IF_ERROR(RegisterFixedModels(catalog.models()));
  return bcache::RegisterBcacheModels(catalog.models());
}

}  // namespace kreplay::blockcache
