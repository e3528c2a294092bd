#include "workers/models/virtio/workload/block_jobs.h"

#include <cmath>

#include "services/yamlread/yaml_reader.h"

namespace kreplay::virtio {
namespace {

constexpr int64_t kMaxRuntime = 24 * 3600 * int64_t{1'000'000'000};  // 24 h
constexpr double kMaxRate = 1e9;
constexpr uint64_t kSector = 512;

struct RwInfo {
  const char* name;
  BlockRw rw;
  bool random;
};
constexpr RwInfo kRws[] = {
    {"read", BlockRw::kRead, false},         {"write", BlockRw::kWrite, false}, {"randread", BlockRw::kRandRead, true},
    {"randwrite", BlockRw::kRandWrite, true}, {"randrw", BlockRw::kRandRw, true}, {"rw", BlockRw::kRw, false},
};
// kRws is in enum order.
const RwInfo& Info(BlockRw rw) { return kRws[static_cast<size_t>(rw)]; }

}  // namespace

const char* BlockRwName(BlockRw rw) { return Info(rw).name; }

uint64_t BlockJobSpec::ios_per_job() const {
  if (runtime <= 0) return ios;
  return static_cast<uint64_t>(std::ceil(static_cast<double>(runtime) * rate_iops / 1e9));
}

StatusOr<BlockJobSpec> ParseBlockJobSpec(const YAML::Node& node, const std::string& field) {
  const yamlread::YamlReader r("");
  BlockJobSpec s;
  KREPLAY_RETURN_IF_ERROR(r.CheckKeys(node, field,
                                      {"rw", "rwmixread", "bs", "iodepth", "numjobs", "size", "ios", "runtime",
                                       "rate_iops", "arrivals"}));
  if (node["rw"]) {
    KREPLAY_ASSIGN_OR_RETURN(std::string rw, r.String(node, "rw", field + ".rw"));
    bool found = false;
    for (const RwInfo& i : kRws) {
      if (rw == i.name) {
        s.rw = i.rw;
        found = true;
      }
    }
    if (!found)
      return r.Error(node["rw"], field + ".rw",
                     "unknown '" + rw + "' (allowed: read, write, randread, randwrite, randrw, rw)");
  }
  if (node["rwmixread"]) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(node, "rwmixread", field + ".rwmixread", 0, 100));
    s.rwmixread = static_cast<uint32_t>(v);
  }
  if (node["bs"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.bs, ParseSizeMix(r, node["bs"], field + ".bs", {kSector, kMaxBlockSize, kSector}));
  }
  if (node["iodepth"]) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(node, "iodepth", field + ".iodepth", 1, kMaxBlockIodepth));
    s.iodepth = static_cast<uint32_t>(v);
  }
  if (node["numjobs"]) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(node, "numjobs", field + ".numjobs", 1, kMaxBlockJobs));
    s.numjobs = static_cast<uint32_t>(v);
  }
  if (node["size"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.size, r.Bytes(node, "size", field + ".size", kSector, kMaxBlockSpan));
    if (s.size % kSector != 0)
      return r.Error(node["size"], field + ".size", "must be a multiple of 512 bytes (got '" + node["size"].Scalar() + "')");
  }
  if (s.size < s.bs.max())
    return r.Error(node["size"] ? node["size"] : node, field + ".size",
                   "must be at least the largest bs (" + std::to_string(s.bs.max()) + " bytes)");
  if (node["rate_iops"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.rate_iops, r.Number(node, "rate_iops", field + ".rate_iops", 0, kMaxRate));
  }
  KREPLAY_ASSIGN_OR_RETURN(s.poisson, ParseArrivals(r, node, field, s.rate_iops, "rate_iops", "closed-loop jobs have"));
  const uint64_t limit = kMaxWorkloadItems;
  if (node["ios"] && node["runtime"])
    return r.Error(node["runtime"], field + ".runtime", "give ios or runtime, not both");
  if (node["ios"]) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(node, "ios", field + ".ios", 1, static_cast<int64_t>(limit)));
    s.ios = static_cast<uint64_t>(v);
  } else if (node["runtime"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.runtime, r.Duration(node, "runtime", field + ".runtime", 1, kMaxRuntime));
    if (s.rate_iops == 0)
      return r.Error(node["runtime"], field + ".runtime",
                     "needs rate_iops > 0 (a closed-loop job's ios depend on the device; give ios instead)");
    // runtime x rate <= 24 h x 1e9/s overflows nothing in a double; compare before the cast.
    const double n = std::ceil(static_cast<double>(s.runtime) * s.rate_iops / 1e9);
    if (n > static_cast<double>(limit) / s.numjobs)
      return r.Error(node["runtime"], field + ".runtime",
                     "runtime x rate_iops x numjobs = " + std::to_string(static_cast<uint64_t>(n)) + " x " +
                         std::to_string(s.numjobs) + " ios exceeds the limit of " + std::to_string(limit) +
                         " per workload");
    if (n < 1) return r.Error(node["runtime"], field + ".runtime", "runtime x rate_iops is less than one io");
  } else {
    return r.Error(node, field + ".ios", "missing (give ios per job, or runtime with rate_iops)");
  }
  if (s.ios_per_job() * s.numjobs > limit)
    return r.Error(node["ios"] ? node["ios"] : node["numjobs"], field + ".ios",
                   "ios x numjobs = " + std::to_string(s.ios_per_job()) + " x " + std::to_string(s.numjobs) +
                       " exceeds the limit of " + std::to_string(limit) + " ios per workload");
  return s;
}

VirtioWorkload GenerateBlockJobs(const BlockJobSpec& spec, uint64_t seed) {
  const RwInfo& info = Info(spec.rw);
  const sim::Rng root(seed);
  const uint64_t align = spec.bs.min();
  const uint64_t n = spec.ios_per_job();
  const double mean_ns = spec.rate_iops > 0 ? 1e9 / spec.rate_iops : 0;
  const double write_p = 1.0 - spec.rwmixread / 100.0;
  VirtioWorkload w;
  w.kind = WorkloadKind::kBlock;
  w.device_bytes = spec.size;
  w.jobs.resize(spec.numjobs);
  for (uint32_t j = 0; j < spec.numjobs; ++j) {
    const sim::Rng job = root.Fork(j);
    sim::Rng sizes = job.Fork(1), dirs = job.Fork(2), offsets = job.Fork(3), arrivals = job.Fork(4);
    BlockJob& out = w.jobs[j];
    out.iodepth = spec.iodepth;
    out.ios.resize(n);
    // Sequential cursor: j x size / numjobs (no overflow: size <= 2^46), aligned down.
    uint64_t cursor = spec.size / spec.numjobs * j / align * align;
    ArrivalClock clock(mean_ns, spec.poisson, arrivals);
    for (uint64_t i = 0; i < n; ++i) {
      BlockIo& io = out.ios[i];
      io.bytes = spec.bs.Pick(sizes);
      switch (spec.rw) {
        case BlockRw::kRead:
        case BlockRw::kRandRead:
          io.write = false;
          break;
        case BlockRw::kWrite:
        case BlockRw::kRandWrite:
          io.write = true;
          break;
        case BlockRw::kRandRw:
        case BlockRw::kRw:
          io.write = dirs.Bernoulli(write_p);
          break;
      }
      if (info.random) {
        io.offset = offsets.Below((spec.size - io.bytes) / align + 1) * align;
      } else {
        if (cursor + io.bytes > spec.size) cursor = 0;
        io.offset = cursor;
        cursor += io.bytes;
      }
      io.at = spec.rate_iops > 0 ? clock.At(i) : -1;
    }
  }
  return w;
}

}  // namespace kreplay::virtio
