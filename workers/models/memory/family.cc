#include "workers/models/memory/family.h"

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <queue>

#include "services/core/digest.h"
#include "services/core/files.h"
#include "services/core/strings.h"
#include "services/family/named_or_file.h"
#include "services/memtrace/procfs.h"
#include "workers/models/memory/calibrate/calibrate.h"
#include "workers/models/memory/codec/mem_trace.h"
#include "workers/models/memory/models/mem_models.h"
#include "workers/models/memory/models/mem_sim.h"
#include "workers/models/memory/models/mem_spec.h"
#include "workers/models/memory/profiles/mem_profile.h"
#include "workers/models/memory/workload/from_trace.h"

namespace kreplay::memory {
namespace {

uint64_t WorkloadBytes(const MemWorkload& w) { return MemWorkloadBytes(w); }
const MemWorkload& W(const model::AnyValue& v) { return *v.As<MemWorkload>(); }
std::string Digest(const model::AnyValue& v) { return MemWorkloadDigest(W(v)); }
// Relative cost: calls weigh by the pages they move, the background by its events.
double Cost(const MemWorkload& w) {
  double pages = 0;
  for (const ContigCall& c : w.foreground.calls) pages += static_cast<double>(c.pages);
  return static_cast<double>(w.foreground.calls.size()) + pages / 32;
}

sim::Duration ForegroundSpan(const ForegroundSpec& s) {
  const double calls = static_cast<double>(s.calls());
  return s.start + static_cast<sim::Duration>(calls / s.rate * 1e9) + s.hold;
}

// Background simulator events per second of a template (generators and the
// work each event starts), for plan estimates.
double BackgroundEventsPerSec(const BackgroundSpec& b) {
  return b.anon.fault_rate + b.cache.read_rate + 2 * b.cache.write_rate + 2 * b.build.spawn_rate + 2 * b.pin.rate +
         2 * b.slab.rate;
}

// A parsed workload's calls, simulated span and background, whichever the
// kind (`memory:` holds its spec, `memtrace:` the workload itself).
struct Extent {
  double calls = 0;
  sim::Duration span = 0;
  BackgroundSpec background;
};
Extent ExtentOf(const family::ParsedWorkload& p) {
  Extent x;
  const BackgroundTemplate* bg = nullptr;
  if (const auto* s = p.spec.As<MemWorkloadSpec>()) {
    x.calls = static_cast<double>(s->requests.calls());
    x.span = s->duration > 0 ? s->duration : ForegroundSpan(s->requests);
    bg = &s->background;
  } else {
    const MemWorkload& w = W(p.spec);
    x.calls = static_cast<double>(w.foreground.calls.size());
    x.span = w.duration;
    for (const ContigCall& c : w.foreground.calls) x.span = std::max(x.span, c.at + std::max<sim::Duration>(0, c.hold));
    bg = &w.background;
  }
  x.background = ResolveBackground(*bg, uint64_t{1} << 18);  // rates do not depend on the machine
  return x;
}

family::WorkloadEstimate Estimate(const family::ParsedWorkload& p) {
  const Extent x = ExtentOf(p);
  family::WorkloadEstimate e;
  e.requests = x.calls;
  e.duration_ns = x.span;
  e.trace_records = static_cast<uint64_t>(x.calls);
  e.trace_bytes = x.calls * 12;
  return e;
}

// The workload's areas against a profile: every area a call names must be
// one of the profile's CMA areas ("" names the first).
std::optional<family::Misfit> CheckAreas(const std::vector<std::string>& areas, const model::AnyValue& system,
                                         const std::string& field) {
  const auto* p = system.As<MemProfile>();
  if (!p) return std::nullopt;
  std::vector<std::string> known;
  for (const auto& a : p->cma_areas) known.push_back(a.name);
  for (const std::string& a : areas) {
    if (a.empty()) continue;  // the first area; a profile without one still serves memory.buddy
    if (std::find(known.begin(), known.end(), a) == known.end())
      return family::Misfit{field, "unknown CMA area '" + a + "'" + DidYouMean(a, known) + " (" + p->name + " has " +
                                       Join(known, ", ") + ")"};
  }
  return std::nullopt;
}

// `memory:` entries: regenerated per seed, named by content.
family::WorkloadKind MemoryKind() {
  family::WorkloadKind k;
  k.key = "memory";
  k.noun = "a memory workload";
  k.generated = true;
  k.parse = [](const family::KindInput& in) { return family::ParseGeneratorEntry(in, "memory", ParseMemWorkloadSpec); };
  k.build = [](const family::ParsedWorkload& p, uint64_t seed) -> StatusOr<model::AnyValue> {
    const auto& s = *p.spec.As<MemWorkloadSpec>();
    MemWorkload w;
    w.foreground = GenerateForeground(s.requests, sim::Rng(seed));
    w.background = s.background;
    w.initial = s.initial;
    w.duration = s.duration;
    const uint64_t bytes = WorkloadBytes(w);
    return model::AnyValue::Make(std::move(w), bytes);
  };
  k.digest = Digest;
  k.cost = [](const model::AnyValue& v) { return Cost(W(v)); };
  k.check_system = [](const family::ParsedWorkload& p, const model::AnyValue& system) {
    return CheckAreas({p.spec.As<MemWorkloadSpec>()->requests.area}, system, "requests.area");
  };
  k.estimate = Estimate;
  return k;
}

// `memtrace: FILE` entries: a recorded cma/kmem/migrate trace read at load
// (the calls and the page rates), with optional `background:`, `initial:`
// `zoneinfo: FILE` (the mix of page kinds) or `pagetypeinfo: FILE` (how
// mixed the pageblocks are) to set what the trace cannot say.
family::WorkloadKind MemTraceKind() {
  family::WorkloadKind k;
  k.key = "memtrace";
  k.options = {"background", "initial", "zoneinfo", "pagetypeinfo"};
  k.noun = "a recorded memory trace";
  k.parse = [](const family::KindInput& in) -> std::optional<family::ParsedWorkload> {
    family::SpecErrors& err = *in.errors;
    const std::string f = in.field + ".memtrace";
    auto path = family::SpecString(in.entry, f, err);
    if (!path) return std::nullopt;
    family::ParsedWorkload p;
    p.path = family::ResolveSpecPath(in.base_dir, *path);
    InitialSpec initial = DefaultInitial();
    bool ok = true;
    if (auto it = in.options.find("zoneinfo"); it != in.options.end()) {
      if (auto zpath = family::SpecString(it->second, in.field + ".zoneinfo", err)) {
        const std::string zp = family::ResolveSpecPath(in.base_dir, *zpath);
        auto text = ReadFile(zp);
        auto zi = text.ok() ? memtrace::ParseZoneInfo(*text, zp) : StatusOr<memtrace::ZoneInfo>(text.status());
        auto init = zi.ok() ? InitialFromZoneInfo(*zi) : StatusOr<InitialSpec>(zi.status());
        if (init.ok()) {
          initial = *init;
        } else {
          err.Error(it->second.value, in.field + ".zoneinfo", init.status().message());
          ok = false;
        }
      } else {
        ok = false;
      }
    }
    std::optional<double> mixed_blocks;  // applied after `initial:`
    if (auto it = in.options.find("pagetypeinfo"); it != in.options.end()) {
      if (auto ppath = family::SpecString(it->second, in.field + ".pagetypeinfo", err)) {
        const std::string pp = family::ResolveSpecPath(in.base_dir, *ppath);
        auto text = ReadFile(pp);
        auto pti = text.ok() ? memtrace::ParsePageTypeInfo(*text, pp) : StatusOr<memtrace::PageTypeInfo>(text.status());
        auto share = pti.ok() ? MixedBlocksFromPageTypeInfo(*pti) : StatusOr<double>(pti.status());
        if (share.ok()) {
          mixed_blocks = *share;
        } else {
          err.Error(it->second.value, in.field + ".pagetypeinfo", share.status().message());
          ok = false;
        }
      } else {
        ok = false;
      }
    }
    if (auto it = in.options.find("initial"); it != in.options.end()) {
      auto s = ParseInitialSpec(it->second.value, in.field + ".initial");
      if (s.ok()) {
        initial = *s;
      } else {
        err.Nested(it->second.key, in.field + ".initial", s.status().message(), true);
        ok = false;
      }
    }
    if (mixed_blocks) initial.mixed_blocks = *mixed_blocks;  // the run picks the churn
    auto trace = ReadMmTrace(p.path);
    if (!trace.ok()) {
      err.Error(in.entry.value, f, trace.status().message());
      return std::nullopt;
    }
    MemWorkload w = WorkloadFromTrace(*trace, initial);
    if (auto it = in.options.find("background"); it != in.options.end()) {
      auto b = ParseBackgroundTemplate(it->second.value, in.field + ".background");
      if (b.ok()) {
        w.background = *b;
      } else {
        err.Nested(it->second.key, in.field + ".background", b.status().message(), true);
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    const uint64_t bytes = WorkloadBytes(w);
    p.spec = model::AnyValue::Make(std::move(w), bytes);
    return p;
  };
  // The trace was read at load: building shares it.
  k.build = [](const family::ParsedWorkload& p, uint64_t) -> StatusOr<model::AnyValue> { return p.spec; };
  k.check_system = [](const family::ParsedWorkload& p, const model::AnyValue& system) {
    return CheckAreas(W(p.spec).foreground.areas, system, "areas");
  };
  k.digest = Digest;
  k.cost = [](const model::AnyValue& v) { return Cost(W(v)); };
  k.estimate = Estimate;
  return k;
}

// A `platforms:` entry: a shipped memory profile, or a profile YAML file
// (a '/' or a .yaml/.yml suffix) relative to the spec.
std::optional<family::SystemEntry> ResolveProfile(const family::SpecEntry& entry, const std::string& field,
                                                  const std::string& base_dir, family::SpecErrors& errors) {
  auto p = family::ResolveNamedOrFile<MemProfile>(
      entry, field, base_dir, errors, "memory profile",
      [](const std::string& yaml, const std::string& path) { return ParseMemProfileYaml(yaml, path); },
      [](const std::string& name) { return LoadBuiltinMemProfile(name); }, [] { return BuiltinMemProfileNames(); });
  if (!p) return std::nullopt;
  const std::string name = p->value.name;
  std::string canonical = CanonicalMemProfileText(p->value);
  std::string config = MemProfileYaml(p->value);
  const int cpus = p->value.cpus;
  return family::ToSystemEntry(std::move(*p), name, std::move(canonical), std::move(config), cpus);
}

StatusOr<model::AnyValue> DecodeProfile(std::string_view config) {
  KREPLAY_ASSIGN_OR_RETURN(MemProfile p, ParseMemProfileYaml(config, "work item memory profile"));
  return model::AnyValue::Make(std::move(p), sizeof(MemProfile));
}

// `kreplay memprofiles [NAME]`: the shipped profiles, or one as YAML.
StatusOr<std::string> ShowProfiles(const std::string& name) {
  if (!name.empty()) return BuiltinMemProfileYaml(name);
  std::string out;
  for (const auto& n : BuiltinMemProfileNames()) {
    KREPLAY_ASSIGN_OR_RETURN(MemProfile p, LoadBuiltinMemProfile(n));
    uint64_t cma = 0;
    for (const auto& a : p.cma_areas) cma += a.pages;
    char line[256];
    std::snprintf(line, sizeof line, "%-16s %-7s %6.0f MiB, %2d CPUs, CMA %5.0f MiB in %zu area(s)\n", n.c_str(),
                  p.arch.c_str(), static_cast<double>(p.pages) / 256, p.cpus, static_cast<double>(cma) / 256,
                  p.cma_areas.size());
    out += line;
  }
  return out;
}

// `kreplay calibrate memory`: measure this host, write a profile.
struct CalibrateCli {
  CLI::App* cmd = nullptr;
  CalibrateOptions o;
  std::string out;
  bool no_writeback = false;
};

constexpr char kCalibrateHelp[] =
    "Measures on this host what a memory profile's costs are made of: a 4 KiB copy hot and cold, an anonymous\n"
    "fault, unmapping a page, a local and a remote TLB flush, a cross-CPU call, dropping a clean page-cache page,\n"
    "writeback bandwidth; derives what user space cannot reach and says so in the profile's `source`. Run it on\n"
    "an otherwise idle machine; it pins itself to two CPUs and writes a scratch file (removed afterwards).\n"
    "Use the profile in a study: platforms: [./host.yaml].";

std::shared_ptr<CalibrateCli> AddCalibrateCommand(CLI::App& app) {
  auto c = std::make_shared<CalibrateCli>();
  CLI::App* calibrate = nullptr;
  try {
    calibrate = app.get_subcommand("calibrate");
  } catch (const CLI::OptionNotFound&) {
    calibrate = app.add_subcommand("calibrate", "Measure this host for a model family's profile (`calibrate memory`)");
    calibrate->require_subcommand(1);
  }
  c->cmd = calibrate->add_subcommand("memory", "Measure this host's memory primitives and write a memory profile");
  c->cmd->footer(kCalibrateHelp);
  c->cmd->add_option("--out", c->out, "Write the profile here (default: print it)");
  c->cmd->add_option("--name", c->o.name, "The profile's name")->capture_default_str();
  c->cmd->add_option("--scratch-dir", c->o.scratch_dir, "Directory for the scratch file (a disk-backed filesystem)")
      ->capture_default_str();
  c->cmd->add_option("--repeats", c->o.repeats, "Medians over this many runs")->capture_default_str()->check(CLI::Range(1, 100));
  c->cmd->add_option("--cold-mib", c->o.cold_mib, "Working set of the cold copy, MiB")->capture_default_str()->check(CLI::Range(16, 65536));
  c->cmd->add_option("--first-cpu", c->o.cpu_a, "First CPU to pin to")->capture_default_str();
  c->cmd->add_option("--second-cpu", c->o.cpu_b, "Second CPU (remote flushes, cross-CPU calls)")->capture_default_str();
  c->cmd->add_flag("--no-writeback", c->no_writeback, "Do not write to disk (the writeback section keeps its default)");
  return c;
}

int RunCalibrate(CalibrateCli& c) {
  c.o.measure_writeback = !c.no_writeback;
  auto p = CalibrateHost(c.o, [](const std::string& line) { std::fprintf(stderr, "calibrate: %s\n", line.c_str()); });
  if (!p.ok()) {
    std::fprintf(stderr, "kreplay calibrate memory: %s\n", p.status().message().c_str());
    return 2;
  }
  const std::string yaml = MemProfileYaml(*p);
  if (c.out.empty()) {
    std::cout << yaml;
    return 0;
  }
  if (Status st = WriteFileAtomic(c.out, yaml); !st.ok()) {
    std::fprintf(stderr, "kreplay calibrate memory: %s\n", st.message().c_str());
    return 3;
  }
  std::fprintf(stderr, "wrote %s\n", c.out.c_str());
  return 0;
}

// `kreplay rerun --ftrace`: a CMA model's calls as the cma tracepoints
// print them (include/trace/events/cma.h, the 5.14 to 6.2 layouts: pfn as
// 0x%lx, no errorno), each call by its own task (pid 100 + its index) on
// the calls' CPU; `trace inspect` and `memtrace:` read it back. Lines are
// held until no earlier one can come (MemObserver's ordering rule) and
// written in time order, ties in the order reported.
class CmaFtraceWriter final : public family::RunTraceWriter, public MemObserver {
 public:
  CmaFtraceWriter(std::ostream& out, const std::string& title) : out_(out) {
    out_ << "# tracer: nop\n# " << title << "\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n";
  }
  ~CmaFtraceWriter() override { Flush(sim::kTimeMax); }
  model::AnyMutRef observer() override { return model::AnyMutRef::Of<MemObserver>(this); }
  uint64_t lines() const override { return lines_; }

  void CmaAllocStart(sim::Time t, size_t call, const std::string& area, uint64_t count, unsigned align) override {
    Add(t, call, "cma_alloc_start", "name=" + area + " count=" + std::to_string(count) + " align=" + std::to_string(align));
    Flush(t);
  }
  void CmaAllocBusyRetry(sim::Time t, size_t call, const std::string& area, uint32_t pfn, uint64_t count,
                         unsigned align) override {
    Add(t, call, "cma_alloc_busy_retry", Body(area, pfn, true, count) + " align=" + std::to_string(align));
  }
  void CmaAllocFinish(sim::Time t, size_t call, const std::string& area, std::optional<uint32_t> pfn, uint64_t count,
                      unsigned align) override {
    Add(t, call, "cma_alloc_finish", Body(area, pfn.value_or(0), pfn.has_value(), count) + " align=" + std::to_string(align));
  }
  void CmaRelease(sim::Time t, size_t call, const std::string& area, uint32_t pfn, uint64_t count) override {
    Add(t, call, "cma_release", Body(area, pfn, true, count));
    Flush(t);
  }

 private:
  struct Pending {
    sim::Time t;
    uint64_t seq;
    std::string line;
    bool operator>(const Pending& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  // A failed call prints a NULL page (pfn 0), as cma_alloc_finish does.
  static std::string Body(const std::string& area, uint32_t pfn, bool ok, uint64_t count) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "name=%s pfn=0x%x page=%016llx count=%llu", area.c_str(), ok ? pfn : 0u,
                  ok ? 0xffff000000000000ull + uint64_t{pfn} * 64 : 0ull, static_cast<unsigned long long>(count));
    return buf;
  }
  void Add(sim::Time t, size_t call, const char* event, const std::string& body) {
    char head[96];
    std::snprintf(head, sizeof head, "%16s-%-7llu [000] ..... %6lld.%06lld: ", "kreplay-cma",
                  static_cast<unsigned long long>(100 + call), static_cast<long long>(t / sim::kSec),
                  static_cast<long long>(t % sim::kSec / sim::kUs));
    pending_.push(Pending{t, seq_++, std::string(head) + event + ": " + body + "\n"});
  }
  // Writes every held line up to `upto`.
  void Flush(sim::Time upto) {
    while (!pending_.empty() && pending_.top().t <= upto) {
      out_ << pending_.top().line;
      pending_.pop();
      ++lines_;
    }
  }
  std::ostream& out_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> pending_;
  uint64_t seq_ = 0;
  uint64_t lines_ = 0;
};

// `kreplay trace inspect` of a memory trace.
family::TraceInspector MemTraceInspector() {
  family::TraceInspector i;
  i.what = "memory traces (ftrace text of the cma, kmem and migrate events, any layout since 4.x and Android's "
           "cma_alloc_info; gzip or zstd): contiguous calls, sizes, outcomes, latencies, background page rates";
  i.sniff = LooksLikeMmTrace;
  i.add_flags = [](CLI::App&) -> std::function<int(family::TraceInput)> {
    return [](family::TraceInput in) {
      auto s = ReadMmTraceSource(std::move(in.source), in.name);
      if (!s.ok()) {
        std::fprintf(stderr, "kreplay trace: %s\n", s.status().message().c_str());
        return s.status().code() == StatusCode::kUnavailable ? 3 : 2;
      }
      std::cout << (in.json ? MmTraceSummaryJson(*s) : FormatMmTraceSummary(*s)) << std::flush;
      return 0;
    };
  };
  return i;
}

family::RunWork MemRunWork(const family::RunWorkInput& in) {
  // Background events over the span plus a few per call; Populate() and
  // migrations add page work the estimate does not see.
  const Extent x = ExtentOf(*in.workload);
  const double events = BackgroundEventsPerSec(x.background) * static_cast<double>(x.span) / 1e9 + 3 * x.calls;
  return {events, true};
}

v1::TraceManifest Encode(const model::AnyValue& w, size_t max_chunk_bytes, const family::ChunkSink& sink,
                         const std::string& source) {
  const auto* mw = w.As<MemWorkload>();
  KREPLAY_CHECK(mw != nullptr, "memory trace codec given another family's workload");
  return EncodeMemWorkload(*mw, max_chunk_bytes, sink, source);
}

}  // namespace

family::FamilyInfo MemoryFamilyInfo() {
  family::FamilyInfo f;
  f.name = "memory";
  f.description = "Contiguous memory: CMA against carve-out, GCMA and buddy allocation under a background load";
  f.workload_noun = "a memory workload";
  f.kinds = {MemoryKind(), MemTraceKind()};
  f.has_systems = true;
  f.resolve_system = ResolveProfile;
  f.decode_system = DecodeProfile;
  f.listings = {{"memprofiles", "List the shipped memory profiles (memory models' platforms:), or show one",
                 "Profile to print as YAML", ShowProfiles}};
  f.add_commands = [](CLI::App& app) -> std::function<std::optional<int>()> {
    std::shared_ptr<CalibrateCli> c = AddCalibrateCommand(app);
    return [c]() -> std::optional<int> {
      if (!c->cmd->parsed()) return std::nullopt;
      return RunCalibrate(*c);
    };
  };
  // mem_sim.cc's per-size mean latency of the successful calls.
  f.trace_inspector = MemTraceInspector();
  f.ftrace_writer = [](std::ostream& out, int, const std::string& title) -> std::unique_ptr<family::RunTraceWriter> {
    return std::make_unique<CmaFtraceWriter>(out, title);
  };
  f.curve_series = {{"latency_by_size", "mean latency", "alloc_latency_ms", "ms", "request_size", "pages"}};
  f.default_work_unit = "events";
  f.default_work_per_core_s = 1e6;
  f.run_work = MemRunWork;
  f.trace_family = "memory";
  f.encode_trace = Encode;
  f.assemble_trace = [](const v1::TraceManifest& m) -> std::unique_ptr<family::TraceAssembler> {
    return std::make_unique<family::TypedAssembler<MemTraceAssembler, MemWorkload>>(m, WorkloadBytes);
  };
  return f;
}

Status RegisterMemoryFamily(family::Catalog& catalog) {
  KREPLAY_RETURN_IF_ERROR(catalog.RegisterFamily(MemoryFamilyInfo()));
  return RegisterMemoryModels(catalog.models());
}

}  // namespace kreplay::memory
