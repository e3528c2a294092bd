#include "workers/models/memory/models/mem_spec.h"

#include <algorithm>
#include <cmath>

#include "services/core/strings.h"
#include "services/core/units.h"
#include "services/memtrace/mm_events.h"
#include "services/yamlread/yaml_reader.h"

namespace kreplay::memory {
namespace {

constexpr sim::Duration kMaxTime = kMaxSpecTime;
constexpr double kMaxRate = kMaxSpecRate;

// "30%" or a byte size.
StatusOr<MemSize> Size(const yamlread::YamlReader& r, const YAML::Node& parent, const std::string& key,
                       const std::string& field) {
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node n, r.Child(parent, key, field));
  if (!n.IsScalar()) return r.Error(n, field, "expected a size such as 30% or 300MiB");
  const std::string text(Trim(n.Scalar()));
  MemSize s;
  if (!text.empty() && text.back() == '%') {
    auto v = ParseDouble(Trim(std::string_view(text).substr(0, text.size() - 1)));
    if (!v || !(*v >= 0 && *v <= 100)) return r.Error(n, field, "expected a percentage in 0..100 (got '" + text + "')");
    s.fraction = *v / 100;
    return s;
  }
  auto b = ParseByteSize(text);
  if (!b.ok()) return r.Error(n, field, "expected a size such as 30% or 300MiB (got '" + text + "')");
  if (*b > kMaxSpecSizeBytes) return r.Error(n, field, "larger than 16 TiB");
  s.bytes = *b;
  return s;
}

StatusOr<double> Rate(const yamlread::YamlReader& r, const YAML::Node& n, const std::string& key, const std::string& f) {
  return r.Number(n, key, f + "." + key, 0, kMaxRate);
}

Status ParseBackground(const yamlread::YamlReader& r, const YAML::Node& b, const std::string& f, BackgroundTemplate* t) {
  BackgroundSpec& s = t->spec;
  KREPLAY_RETURN_IF_ERROR(
      r.CheckKeys(b, f, {"anon", "cache", "build", "pin", "slab", "lru_batch_pages", "sample_interval"}));
  if (const YAML::Node a = b["anon"]) {
    const std::string g = f + ".anon";
    KREPLAY_RETURN_IF_ERROR(r.CheckKeys(a, g, {"working_set", "fault_rate", "mapped_cpus"}));
    if (a["working_set"]) {
      KREPLAY_ASSIGN_OR_RETURN(t->anon_working_set, Size(r, a, "working_set", g + ".working_set"));
    }
    if (a["fault_rate"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.anon.fault_rate, Rate(r, a, "fault_rate", g));
    }
    if (a["mapped_cpus"]) {
      KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(a, "mapped_cpus", g + ".mapped_cpus", 0, 4096));
      s.anon.mapped_cpus = static_cast<unsigned>(v);
    }
  }
  if (const YAML::Node c = b["cache"]) {
    const std::string g = f + ".cache";
    KREPLAY_RETURN_IF_ERROR(r.CheckKeys(c, g,
                                        {"files", "read_rate", "write_rate", "hot_fraction", "hot_access",
                                         "dirty_ratio", "dirty_background_ratio", "dirty_expire",
                                         "dirty_writeback_interval", "mapped_cpus", "writeback_inflight_pages"}));
    if (c["files"]) {
      KREPLAY_ASSIGN_OR_RETURN(t->cache_files, Size(r, c, "files", g + ".files"));
    }
    if (c["read_rate"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.cache.read_rate, Rate(r, c, "read_rate", g));
    }
    if (c["write_rate"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.cache.write_rate, Rate(r, c, "write_rate", g));
    }
    if (c["hot_fraction"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.cache.hot_fraction, r.Number(c, "hot_fraction", g + ".hot_fraction", 0, 1));
    }
    if (c["hot_access"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.cache.hot_access, r.Number(c, "hot_access", g + ".hot_access", 0, 1));
    }
    if (c["dirty_ratio"]) {
      KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(c, "dirty_ratio", g + ".dirty_ratio", 0, 100));
      s.cache.dirty_ratio = static_cast<int>(v);
    }
    if (c["dirty_background_ratio"]) {
      KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(c, "dirty_background_ratio", g + ".dirty_background_ratio", 0, 100));
      s.cache.dirty_background_ratio = static_cast<int>(v);
    }
    if (c["dirty_expire"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.cache.dirty_expire, r.Duration(c, "dirty_expire", g + ".dirty_expire", 0, kMaxTime));
    }
    if (c["dirty_writeback_interval"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.cache.dirty_writeback_interval,
                               r.Duration(c, "dirty_writeback_interval", g + ".dirty_writeback_interval", 1, kMaxTime));
    }
    if (c["mapped_cpus"]) {
      KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(c, "mapped_cpus", g + ".mapped_cpus", 0, 4096));
      s.cache.mapped_cpus = static_cast<unsigned>(v);
    }
    if (c["writeback_inflight_pages"]) {
      KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(c, "writeback_inflight_pages", g + ".writeback_inflight_pages", 1, 1 << 24));
      s.cache.writeback_inflight_pages = static_cast<uint32_t>(v);
    }
  }
  if (const YAML::Node m = b["build"]) {
    const std::string g = f + ".build";
    KREPLAY_RETURN_IF_ERROR(r.CheckKeys(m, g, {"spawn_rate", "anon", "kernel", "file_reads", "lifetime", "mapped_cpus"}));
    if (m["spawn_rate"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.build.spawn_rate, Rate(r, m, "spawn_rate", g));
    }
    if (m["anon"]) {
      KREPLAY_ASSIGN_OR_RETURN(t->build_anon, Size(r, m, "anon", g + ".anon"));
    }
    if (m["kernel"]) {
      KREPLAY_ASSIGN_OR_RETURN(t->build_kernel, Size(r, m, "kernel", g + ".kernel"));
    }
    if (m["file_reads"]) {
      KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(m, "file_reads", g + ".file_reads", 0, kMaxSpecFileReads));
      s.build.file_reads = static_cast<uint32_t>(v);
    }
    if (m["lifetime"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.build.mean_lifetime, r.Duration(m, "lifetime", g + ".lifetime", 1, kMaxTime));
    }
    if (m["mapped_cpus"]) {
      KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(m, "mapped_cpus", g + ".mapped_cpus", 0, 4096));
      s.build.mapped_cpus = static_cast<unsigned>(v);
    }
  }
  if (const YAML::Node p = b["pin"]) {
    const std::string g = f + ".pin";
    KREPLAY_RETURN_IF_ERROR(r.CheckKeys(p, g, {"rate", "size", "duration", "longterm"}));
    if (p["rate"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.pin.rate, Rate(r, p, "rate", g));
    }
    if (p["size"]) {
      KREPLAY_ASSIGN_OR_RETURN(t->pin_size, Size(r, p, "size", g + ".size"));
    }
    if (p["duration"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.pin.duration, r.Duration(p, "duration", g + ".duration", 1, kMaxTime));
    }
    if (p["longterm"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.pin.longterm, r.Bool(p, "longterm", g + ".longterm"));
    }
  }
  if (const YAML::Node sl = b["slab"]) {
    const std::string g = f + ".slab";
    KREPLAY_RETURN_IF_ERROR(r.CheckKeys(sl, g, {"rate", "reclaimable_fraction", "lifetime"}));
    if (sl["rate"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.slab.rate, Rate(r, sl, "rate", g));
    }
    if (sl["reclaimable_fraction"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.slab.reclaimable_fraction,
                               r.Number(sl, "reclaimable_fraction", g + ".reclaimable_fraction", 0, 1));
    }
    if (sl["lifetime"]) {
      KREPLAY_ASSIGN_OR_RETURN(s.slab.mean_lifetime, r.Duration(sl, "lifetime", g + ".lifetime", 1, kMaxTime));
    }
  }
  if (b["lru_batch_pages"]) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t v, r.Int(b, "lru_batch_pages", f + ".lru_batch_pages", 0, 64));
    s.lru_batch_pages = static_cast<uint32_t>(v);
  }
  if (b["sample_interval"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.sample_interval, r.Duration(b, "sample_interval", f + ".sample_interval", 0, kMaxTime));
  }
  return OkStatus();
}

const char* kKindKeys[kPageKinds] = {nullptr,        "anon",           "file_clean", "file_dirty",
                                     "file_writeback", "slab_reclaimable", "kernel",   "pinned"};

Status ParseInitial(const yamlread::YamlReader& r, const YAML::Node& n, const std::string& f, InitialSpec* s) {
  std::set<std::string> keys = {"used", "churn", "mixed_blocks"};
  for (const char* k : kKindKeys)
    if (k) keys.insert(k);
  KREPLAY_RETURN_IF_ERROR(r.CheckKeys(n, f, keys));
  if (n["used"]) {
    KREPLAY_ASSIGN_OR_RETURN(MemSize u, Size(r, n, "used", f + ".used"));
    if (u.bytes) return r.Error(n["used"], f + ".used", "expected a percentage of memory such as 85%");
    if (u.fraction > 0.98) return r.Error(n["used"], f + ".used", "at most 98% (the min watermark stays free)");
    s->used = u.fraction;
  }
  bool any = false;
  for (int k = 1; k < kPageKinds; ++k) {
    if (!n[kKindKeys[k]]) continue;
    if (!any) s->shares.fill(0);  // shares given replace the default mix
    any = true;
    KREPLAY_ASSIGN_OR_RETURN(s->shares[k], r.Number(n, kKindKeys[k], f + "." + kKindKeys[k], 0, kMaxSpecShare));
  }
  double total = 0;
  for (double x : s->shares) total += x;
  if (total <= 0) return r.Error(n, f, "the shares of the page kinds add up to 0");
  if (n["churn"]) {
    KREPLAY_ASSIGN_OR_RETURN(s->churn, r.Number(n, "churn", f + ".churn", 0, kMaxSpecChurn));
  }
  if (n["mixed_blocks"]) {
    if (n["churn"]) return r.Error(n["mixed_blocks"], f + ".mixed_blocks", "give churn or mixed_blocks, not both");
    KREPLAY_ASSIGN_OR_RETURN(s->mixed_blocks, r.Number(n, "mixed_blocks", f + ".mixed_blocks", 0, 1));
  }
  return OkStatus();
}

std::string SizeText(const MemSize& s) {
  return s.bytes ? std::to_string(s.bytes) + "B" : FormatDouble(s.fraction);
}

}  // namespace

uint64_t MemSize::Pages(uint64_t total_pages) const {
  if (bytes) return (bytes + 4095) / 4096;
  return static_cast<uint64_t>(std::llround(fraction * static_cast<double>(total_pages)));
}

BackgroundTemplate DefaultBackground() {
  BackgroundTemplate t;
  t.anon_working_set.fraction = 0;
  t.cache_files.fraction = 0;
  t.build_anon.bytes = 256 * 4096;
  t.build_kernel.bytes = 8 * 4096;
  t.pin_size.bytes = 0;
  return t;
}

InitialSpec DefaultInitial() {
  InitialSpec s;
  auto set = [&](PageKind k, double v) { s.shares[static_cast<int>(k)] = v; };
  set(PageKind::kAnon, 40);
  set(PageKind::kFileClean, 30);
  set(PageKind::kFileDirty, 3);
  set(PageKind::kSlabReclaimable, 7);
  set(PageKind::kKernel, 20);
  return s;
}

StatusOr<MemWorkloadSpec> ParseMemWorkloadSpec(const YAML::Node& node, const std::string& field) {
  const yamlread::YamlReader r("");
  MemWorkloadSpec s;
  s.background = DefaultBackground();
  s.initial = DefaultInitial();
  KREPLAY_RETURN_IF_ERROR(r.CheckKeys(node, field, {"requests", "background", "initial", "duration"}));
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node req, r.Child(node, "requests", field + ".requests"));
  KREPLAY_ASSIGN_OR_RETURN(s.requests, ParseForegroundSpec(req, field + ".requests"));
  if (node["background"]) {
    KREPLAY_RETURN_IF_ERROR(ParseBackground(r, node["background"], field + ".background", &s.background));
  }
  if (node["initial"]) {
    KREPLAY_RETURN_IF_ERROR(ParseInitial(r, node["initial"], field + ".initial", &s.initial));
  }
  if (node["duration"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.duration, r.Duration(node, "duration", field + ".duration", 0, kMaxTime));
  }
  // The rest of the background's rules (rates against sizes) on a 1 GiB
  // machine, so the error comes at load rather than on a worker.
  Status st = ResolveBackground(s.background, uint64_t{1} << 18).Validate();
  if (!st.ok()) return r.Error(node["background"] ? node["background"] : node, field + ".background", st.message());
  return s;
}

StatusOr<BackgroundTemplate> ParseBackgroundTemplate(const YAML::Node& node, const std::string& field) {
  const yamlread::YamlReader r("");
  BackgroundTemplate t = DefaultBackground();
  KREPLAY_RETURN_IF_ERROR(ParseBackground(r, node, field, &t));
  Status st = ResolveBackground(t, uint64_t{1} << 18).Validate();
  if (!st.ok()) return r.Error(node, field, st.message());
  return t;
}

StatusOr<InitialSpec> ParseInitialSpec(const YAML::Node& node, const std::string& field) {
  const yamlread::YamlReader r("");
  InitialSpec s = DefaultInitial();
  KREPLAY_RETURN_IF_ERROR(ParseInitial(r, node, field, &s));
  return s;
}

MemWorkload WorkloadFromTrace(const MmTraceSummary& trace, const InitialSpec& initial) {
  MemWorkload w;
  w.foreground = trace.foreground;
  // A call the recording saw fail has no release to time its hold; the
  // replayed one, if it succeeds, is held for the recorded calls' median
  // hold (0 when none was released).
  std::vector<sim::Duration> holds;
  for (const ContigCall& c : w.foreground.calls)
    if (c.hold >= 0) holds.push_back(c.hold);
  sim::Duration median = 0;
  if (!holds.empty()) {
    std::nth_element(holds.begin(), holds.begin() + static_cast<std::ptrdiff_t>(holds.size() / 2), holds.end());
    median = holds[holds.size() / 2];
  }
  for (size_t i = 0; i < w.foreground.calls.size(); ++i)
    if (trace.outcomes[i].finished && !trace.outcomes[i].ok) w.foreground.calls[i].hold = median;
  w.initial = initial;
  w.background = DefaultBackground();
  BackgroundSpec& b = w.background.spec;
  double total = 0;
  for (double x : initial.shares) total += x;
  const double anon_share = total > 0 ? initial.shares[static_cast<int>(PageKind::kAnon)] / total : 0;
  w.background.anon_working_set.fraction = initial.used * anon_share;
  b.anon.fault_rate = trace.PagesAllocPerSec(memtrace::kMtMovable);
  const double unmovable = trace.PagesAllocPerSec(memtrace::kMtUnmovable) + trace.PagesAllocPerSec(memtrace::kMtHighAtomic);
  const double reclaimable = trace.PagesAllocPerSec(memtrace::kMtReclaimable);
  b.slab.rate = unmovable + reclaimable;
  b.slab.reclaimable_fraction = b.slab.rate > 0 ? reclaimable / b.slab.rate : 0.5;
  b.slab.mean_lifetime = sim::kSec;
  return w;
}

StatusOr<InitialSpec> InitialFromZoneInfo(const memtrace::ZoneInfo& zi) {
  constexpr uint64_t kScale = 1'000'000;  // pages per million of the node's managed pages
  KREPLAY_ASSIGN_OR_RETURN(StateMix mix, MixFromZoneInfo(zi, kScale));
  InitialSpec s;
  s.shares.fill(0);
  for (int k = 1; k < kPageKinds; ++k) s.shares[k] = static_cast<double>(mix.pages[k]);
  s.used = std::min(0.98, static_cast<double>(mix.total()) / kScale);
  if (mix.total() == 0) return InvalidArgument("zoneinfo: the node uses no memory");
  return s;
}

StatusOr<double> MixedBlocksFromPageTypeInfo(const memtrace::PageTypeInfo& pti) {
  uint64_t mixed = 0, total = 0;
  for (const auto& row : pti.blocks) {
    for (size_t i = 0; i < row.blocks.size() && i < pti.block_types.size(); ++i) {
      const std::string& t = pti.block_types[i];
      if (t == "Unmovable" || t == "Reclaimable") mixed += row.blocks[i];
      if (t == "Unmovable" || t == "Reclaimable" || t == "Movable" || t == "HighAtomic") total += row.blocks[i];
    }
  }
  if (total == 0) return InvalidArgument("pagetypeinfo: no pageblocks counted (no 'Number of blocks type' table?)");
  return static_cast<double>(mixed) / static_cast<double>(total);
}

BackgroundSpec ResolveBackground(const BackgroundTemplate& t, uint64_t total_pages) {
  BackgroundSpec s = t.spec;
  s.anon.working_set_pages = t.anon_working_set.Pages(total_pages);
  s.cache.file_pages = t.cache_files.Pages(total_pages);
  s.build.anon_pages = static_cast<uint32_t>(std::min<uint64_t>(t.build_anon.Pages(total_pages), 1u << 18));
  s.build.kernel_pages = static_cast<uint32_t>(std::min<uint64_t>(t.build_kernel.Pages(total_pages), 1u << 18));
  s.pin.pages = static_cast<uint32_t>(std::min<uint64_t>(t.pin_size.Pages(total_pages), (1u << 19) - 1));
  return s;
}

StateMix ResolveInitial(const InitialSpec& s, uint64_t zone_pages) {
  double total = 0;
  for (double x : s.shares) total += x;
  StateMix m;
  const double used = s.used * static_cast<double>(zone_pages);
  for (int k = 1; k < kPageKinds; ++k)
    m.pages[k] = total > 0 ? static_cast<uint64_t>(std::floor(used * s.shares[k] / total)) : 0;
  return m;
}

std::string CanonicalMemWorkloadText(const MemWorkload& w) {
  std::string out = "memory-workload v1\n" + CanonicalForegroundText(w.foreground);
  const BackgroundTemplate& t = w.background;
  const BackgroundSpec& b = t.spec;
  out += "anon " + SizeText(t.anon_working_set) + " " + FormatDouble(b.anon.fault_rate) + " " +
         std::to_string(b.anon.mapped_cpus) + "\n";
  out += "cache " + SizeText(t.cache_files) + " " + FormatDouble(b.cache.read_rate) + " " +
         FormatDouble(b.cache.write_rate) + " " + FormatDouble(b.cache.hot_fraction) + " " +
         FormatDouble(b.cache.hot_access) + " " + std::to_string(b.cache.mapped_cpus) + " " +
         std::to_string(b.cache.dirty_ratio) + " " + std::to_string(b.cache.dirty_background_ratio) + " " +
         std::to_string(b.cache.dirty_expire) + " " + std::to_string(b.cache.dirty_writeback_interval) + " " +
         std::to_string(b.cache.writeback_inflight_pages) + "\n";
  out += "build " + FormatDouble(b.build.spawn_rate) + " " + SizeText(t.build_anon) + " " + SizeText(t.build_kernel) +
         " " + std::to_string(b.build.file_reads) + " " + std::to_string(b.build.mean_lifetime) + " " +
         std::to_string(b.build.mapped_cpus) + "\n";
  out += "pin " + FormatDouble(b.pin.rate) + " " + SizeText(t.pin_size) + " " + std::to_string(b.pin.duration) + " " +
         (b.pin.longterm ? "longterm" : "short") + "\n";
  out += "slab " + FormatDouble(b.slab.rate) + " " + FormatDouble(b.slab.reclaimable_fraction) + " " +
         std::to_string(b.slab.mean_lifetime) + "\n";
  out += "lru_batch " + std::to_string(b.lru_batch_pages) + " sample " + std::to_string(b.sample_interval) + "\n";
  out += "initial " + FormatDouble(w.initial.used) + " " + FormatDouble(w.initial.churn) + " " +
         FormatDouble(w.initial.mixed_blocks);
  for (double x : w.initial.shares) out += " " + FormatDouble(x);
  out += "\nduration " + std::to_string(w.duration) + "\n";
  return out;
}

}  // namespace kreplay::memory
