#include "workers/models/virtio/family.h"

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "services/blocktrace/reader.h"
#include "services/core/files.h"
#include "services/family/named_or_file.h"
#include "workers/models/virtio/calibrate/calibrate.h"
#include "workers/models/virtio/codec/virtio_trace.h"
#include "workers/models/virtio/models/virtio_models.h"
#include "workers/models/virtio/profile/virtio_profile.h"
#include "workers/models/virtio/workload/block_jobs.h"
#include "workers/models/virtio/workload/from_block_trace.h"
#include "workers/models/virtio/workload/packets.h"
#include "workers/models/virtio/workload/pcap_reader.h"
#include "workers/models/virtio/workload/virtio_workload.h"

namespace kreplay::virtio {
namespace {

const VirtioWorkload& W(const model::AnyValue& v) { return *v.As<VirtioWorkload>(); }
std::string Digest(const model::AnyValue& v) { return VirtioWorkloadDigest(W(v)); }

double Requests(const VirtioWorkload& w) {
  return static_cast<double>(w.kind == WorkloadKind::kNet ? w.packets.size() : VirtioWorkloadIos(w));
}

family::WorkloadEstimate EstimateBuilt(const VirtioWorkload& w) {
  family::WorkloadEstimate e;
  e.requests = Requests(w);
  e.trace_records = static_cast<uint64_t>(e.requests);
  e.trace_bytes = e.requests * 8;
  if (w.kind == WorkloadKind::kBlock) e.footprint_bytes = w.device_bytes;
  return e;
}

// `virtio_block:` and `virtio_net:` entries: regenerated per seed.
template <typename Spec>
family::WorkloadKind GeneratedKind(const std::string& key, const std::string& noun,
                                   StatusOr<Spec> (*parse)(const YAML::Node&, const std::string&),
                                   VirtioWorkload (*generate)(const Spec&, uint64_t), double (*requests)(const Spec&)) {
  family::WorkloadKind k;
  k.key = key;
  k.noun = noun;
  k.generated = true;
  k.parse = [key, parse](const family::KindInput& in) { return family::ParseGeneratorEntry(in, key, parse); };
  k.build = [generate](const family::ParsedWorkload& p, uint64_t seed) -> StatusOr<model::AnyValue> {
    VirtioWorkload w = generate(*p.spec.As<Spec>(), seed);
    const uint64_t bytes = VirtioWorkloadBytes(w);
    return model::AnyValue::Make(std::move(w), bytes);
  };
  k.digest = Digest;
  k.cost = [](const model::AnyValue& v) { return Requests(W(v)); };
  k.estimate = [requests](const family::ParsedWorkload& p) {
    family::WorkloadEstimate e;
    e.requests = requests(*p.spec.As<Spec>());
    e.trace_records = static_cast<uint64_t>(e.requests);
    e.trace_bytes = e.requests * 8;
    return e;
  };
  return k;
}

double BlockSpecRequests(const BlockJobSpec& s) {
  return static_cast<double>(s.ios_per_job()) * static_cast<double>(s.numjobs);
}
double PacketSpecRequests(const PacketSpec& s) { return static_cast<double>(s.packets); }

// An optional boolean option of a recorded kind.
std::optional<bool> BoolOption(const family::KindInput& in, const std::string& key, bool def, bool* ok) {
  auto it = in.options.find(key);
  if (it == in.options.end()) return def;
  try {
    return it->second.value.as<bool>();
  } catch (const YAML::Exception&) {
    in.errors->Error(it->second.value, in.field + "." + key, "expected true or false");
    *ok = false;
    return std::nullopt;
  }
}

// A recorded kind: the file is read at load (errors name file and packet or
// line) and the workload is shared by every seed.
family::WorkloadKind RecordedKind(const std::string& key, const std::string& noun, std::vector<std::string> options,
                                  std::function<StatusOr<VirtioWorkload>(const std::string& path,
                                                                         const family::KindInput& in, bool* ok)>
                                      read) {
  family::WorkloadKind k;
  k.key = key;
  k.options = std::move(options);
  k.noun = noun;
  k.parse = [key, read](const family::KindInput& in) -> std::optional<family::ParsedWorkload> {
    const std::string f = in.field + "." + key;
    auto path = family::SpecString(in.entry, f, *in.errors);
    if (!path) return std::nullopt;
    family::ParsedWorkload p;
    p.path = family::ResolveSpecPath(in.base_dir, *path);
    bool ok = true;
    auto w = read(p.path, in, &ok);
    if (!ok) return std::nullopt;
    if (!w.ok()) {
      in.errors->Error(in.entry.value, f, w.status().message());
      return std::nullopt;
    }
    const uint64_t bytes = VirtioWorkloadBytes(*w);
    p.spec = model::AnyValue::Make(std::move(w).value(), bytes);
    return p;
  };
  k.build = [](const family::ParsedWorkload& p, uint64_t) -> StatusOr<model::AnyValue> { return p.spec; };
  k.digest = Digest;
  k.cost = [](const model::AnyValue& v) { return Requests(W(v)); };
  k.estimate = [](const family::ParsedWorkload& p) { return EstimateBuilt(W(p.spec)); };
  return k;
}

// `pcap: FILE` with `direction: tx|rx` (which way the packets travel
// relative to the guest) and `timing: true|false` (false: replay as fast as
// the datapath takes them).
family::WorkloadKind PcapKind() {
  return RecordedKind(
      "pcap", "a packet capture", {"direction", "timing"},
      [](const std::string& path, const family::KindInput& in, bool* ok) -> StatusOr<VirtioWorkload> {
        PcapOptions o;
        if (auto it = in.options.find("direction"); it != in.options.end()) {
          auto d = family::SpecString(it->second, in.field + ".direction", *in.errors);
          if (!d || (*d != "tx" && *d != "rx")) {
            if (d) in.errors->Error(it->second.value, in.field + ".direction", "expected tx or rx, got '" + *d + "'");
            *ok = false;
            return InvalidArgument("");
          }
          o.direction = *d;
        }
        auto timing = BoolOption(in, "timing", true, ok);
        if (!timing) return InvalidArgument("");
        o.keep_timing = *timing;
        return ReadPcap(path, o);
      });
}

// `virtio_blocktrace: FILE` (the block family's importers: blkparse, MSR,
// fio iologs, ...) with `format:`, `iodepth:` and `timing:` (false: closed
// loop at iodepth instead of the recorded times).
family::WorkloadKind BlockTraceKind() {
  return RecordedKind(
      "virtio_blocktrace", "a recorded block trace", {"format", "iodepth", "timing"},
      [](const std::string& path, const family::KindInput& in, bool* ok) -> StatusOr<VirtioWorkload> {
        blocktrace::ReaderOptions o;
        if (auto it = in.options.find("format"); it != in.options.end()) {
          auto f = family::SpecString(it->second, in.field + ".format", *in.errors);
          auto fmt = f ? blocktrace::ParseFormat(*f) : StatusOr<blocktrace::Format>(InvalidArgument(""));
          if (!fmt.ok()) {
            if (f) in.errors->Error(it->second.value, in.field + ".format", fmt.status().message());
            *ok = false;
            return InvalidArgument("");
          }
          o.format = *fmt;
        }
        uint32_t iodepth = 32;
        if (auto it = in.options.find("iodepth"); it != in.options.end()) {
          auto d = family::SpecUint(it->second.value, in.field + ".iodepth", *in.errors);
          if (!d || *d < 1 || *d > 4096) {
            if (d) in.errors->Error(it->second.value, in.field + ".iodepth", "expected 1 to 4096");
            *ok = false;
            return InvalidArgument("");
          }
          iodepth = static_cast<uint32_t>(*d);
        }
        auto timing = BoolOption(in, "timing", true, ok);
        if (!timing) return InvalidArgument("");
        KREPLAY_ASSIGN_OR_RETURN(workload::BlockWorkload b, blocktrace::ReadBlockTrace(path, o, kMaxWorkloadItems + 1));
        if (b.requests.size() > kMaxWorkloadItems)
          return InvalidArgument(path + ": more than " + std::to_string(kMaxWorkloadItems) + " requests");
        return BlockJobsFromTrace(b, iodepth, *timing);
      });
}

// A `platforms:` entry: a shipped host profile or a profile YAML file.
std::optional<family::SystemEntry> ResolveProfile(const family::SpecEntry& entry, const std::string& field,
                                                  const std::string& base_dir, family::SpecErrors& errors) {
  auto p = family::ResolveNamedOrFile<VirtioProfile>(
      entry, field, base_dir, errors, "virtio host profile",
      [](const std::string& yaml, const std::string& path) { return ParseVirtioProfileYaml(yaml, path); },
      [](const std::string& name) { return LoadBuiltinVirtioProfile(name); },
      [] { return BuiltinVirtioProfileNames(); });
  if (!p) return std::nullopt;
  const std::string name = p->value.name;
  std::string canonical = CanonicalVirtioProfileText(p->value);
  std::string config = VirtioProfileYaml(p->value);
  const int cpus = p->value.cpus;
  return family::ToSystemEntry(std::move(*p), name, std::move(canonical), std::move(config), cpus);
}

StatusOr<model::AnyValue> DecodeProfile(std::string_view config) {
  KREPLAY_ASSIGN_OR_RETURN(VirtioProfile p, ParseVirtioProfileYaml(config, "work item virtio profile"));
  return model::AnyValue::Make(std::move(p), sizeof(VirtioProfile));
}

// `kreplay virtioprofiles [NAME]`.
StatusOr<std::string> ShowProfiles(const std::string& name) {
  if (!name.empty()) return BuiltinVirtioProfileYaml(name);
  std::string out;
  for (const auto& n : BuiltinVirtioProfileNames()) {
    KREPLAY_ASSIGN_OR_RETURN(VirtioProfile p, LoadBuiltinVirtioProfile(n));
    char line[512];
    std::snprintf(line, sizeof line, "%-12s %2d CPUs, VM exit %5.0f ns, irq inject %5.0f ns, eventfd wake %5.0f ns  %s\n",
                  n.c_str(), p.cpus, p.vm_exit_ns, p.irq_inject_ns, p.eventfd_wake_ns, p.description.c_str());
    out += line;
  }
  return out;
}

// `kreplay calibrate virtio`.
struct CalibrateCli {
  CLI::App* cmd = nullptr;
  CalibrateOptions o;
  std::string out;
  std::string base = "server-x86";  // documented values, not another VM's derived ones
  bool no_kvm = false;
};

std::shared_ptr<CalibrateCli> AddCalibrateCommand(CLI::App& app) {
  auto c = std::make_shared<CalibrateCli>();
  CLI::App* calibrate = nullptr;
  try {
    calibrate = app.get_subcommand("calibrate");
  } catch (const CLI::OptionNotFound&) {
    calibrate = app.add_subcommand("calibrate", "Measure this host for a model family's profile");
    calibrate->require_subcommand(1);
  }
  c->cmd = calibrate->add_subcommand("virtio", "Measure this host's datapath primitives and write a virtio host profile");
  c->cmd->footer(kCalibrateVirtioHelp);
  c->cmd->add_option("--out", c->out, "Write the profile here (default: print it)");
  c->cmd->add_option("--name", c->o.name, "The profile's name")->capture_default_str();
  c->cmd->add_option("--base", c->base, "Shipped profile whose documented values fill what cannot be measured")
      ->capture_default_str();
  c->cmd->add_option("--repeats", c->o.repeats, "Medians over this many runs")->capture_default_str()->check(CLI::Range(1, 100));
  c->cmd->add_option("--cold-mib", c->o.cold_mib, "Working set of the cold copies, MiB")
      ->capture_default_str()
      ->check(CLI::Range(8, 65536));
  c->cmd->add_option("--first-cpu", c->o.cpu_a, "First CPU to pin to")->capture_default_str();
  c->cmd->add_option("--second-cpu", c->o.cpu_b, "Second CPU (wake-ups, cache-line transfers)")->capture_default_str();
  c->cmd->add_flag("--no-kvm", c->no_kvm, "Do not open /dev/kvm (the VM-exit figures keep the base's values)");
  return c;
}

int RunCalibrate(CalibrateCli& c) {
  c.o.kvm = !c.no_kvm;
  auto base = LoadBuiltinVirtioProfile(c.base);
  if (!base.ok()) {
    std::fprintf(stderr, "kreplay calibrate virtio: --base: %s\n", base.status().message().c_str());
    return 2;
  }
  auto p = CalibrateVirtioHost(c.o, *base, [](const std::string& line) { std::fprintf(stderr, "calibrate: %s\n", line.c_str()); });
  if (!p.ok()) {
    std::fprintf(stderr, "kreplay calibrate virtio: %s\n", p.status().message().c_str());
    return 2;
  }
  const std::string yaml = VirtioProfileYaml(*p);
  if (c.out.empty()) {
    std::cout << yaml;
    return 0;
  }
  if (Status st = WriteFileAtomic(c.out, yaml); !st.ok()) {
    std::fprintf(stderr, "kreplay calibrate virtio: %s\n", st.message().c_str());
    return 3;
  }
  std::fprintf(stderr, "wrote %s\n", c.out.c_str());
  return 0;
}

// `kreplay trace inspect` of a pcap or pcapng file.
family::TraceInspector PcapInspector() {
  family::TraceInspector i;
  i.what = "packet captures (pcap and pcapng: Ethernet, raw IP, Linux cooked): packets, sizes, flows, duration";
  i.sniff = LooksLikePcap;
  i.add_flags = [](CLI::App&) -> std::function<int(family::TraceInput)> {
    return [](family::TraceInput in) {
      auto s = InspectPcapSource(std::move(in.source), in.name);
      if (!s.ok()) {
        std::fprintf(stderr, "kreplay trace: %s\n", s.status().message().c_str());
        return s.status().code() == StatusCode::kUnavailable ? 3 : 2;
      }
      std::cout << (in.json ? PcapSummaryJson(*s) + "\n" : FormatPcapSummary(*s)) << std::flush;
      return 0;
    };
  };
  return i;
}

family::RunWork VirtioRunWork(const family::RunWorkInput& in) {
  return {in.estimate ? in.estimate->requests : 0, false};
}

v1::TraceManifest Encode(const model::AnyValue& w, size_t max_chunk_bytes, const family::ChunkSink& sink,
                         const std::string& source) {
  const auto* vw = w.As<VirtioWorkload>();
  KREPLAY_CHECK(vw != nullptr, "virtio trace codec given another family's workload");
  return EncodeVirtioWorkload(*vw, max_chunk_bytes, sink, source);
}

}  // namespace

family::FamilyInfo VirtioFamilyInfo() {
  family::FamilyInfo f;
  f.name = "virtio";
  f.description = "Virtio datapaths: vhost-net, vhost-user, vDPA (vhost-vdpa, virtio-vdpa), VDUSE and ublk on one ring engine";
  f.workload_noun = "a virtio workload";
  f.kinds = {GeneratedKind<BlockJobSpec>("virtio_block", "a fio-like block job", ParseBlockJobSpec, GenerateBlockJobs,
                                         BlockSpecRequests),
             GeneratedKind<PacketSpec>("virtio_net", "a packet stream", ParsePacketSpec, GeneratePackets,
                                       PacketSpecRequests),
             PcapKind(), BlockTraceKind()};
  f.has_systems = true;
  f.resolve_system = ResolveProfile;
  f.decode_system = DecodeProfile;
  f.listings = {{"virtioprofiles", "List the shipped virtio host profiles (virtio models' platforms:), or show one",
                 "Profile to print as YAML", ShowProfiles}};
  f.add_commands = [](CLI::App& app) -> std::function<std::optional<int>()> {
    std::shared_ptr<CalibrateCli> c = AddCalibrateCommand(app);
    return [c]() -> std::optional<int> {
      if (!c->cmd->parsed()) return std::nullopt;
      return RunCalibrate(*c);
    };
  };
  f.trace_inspector = PcapInspector();
  // datapath.cc's one point per run, joined across the study's workloads.
  f.curve_series = {{"kiops_by_depth", "throughput", "kiops", "kIOPS", "queue_depth", "requests", true},
                    {"latency_by_depth", "median latency", "latency_p50_us", "us", "queue_depth", "requests", true},
                    {"mpps_by_size", "throughput", "mpps", "Mpps", "frame_size", "bytes", true},
                    {"latency_by_size", "median latency", "latency_p50_us", "us", "frame_size", "bytes", true}};
  f.default_work_unit = "requests";
  f.default_work_per_core_s = 1e6;
  f.run_work = VirtioRunWork;
  f.trace_family = "virtio";
  f.encode_trace = Encode;
  f.assemble_trace = [](const v1::TraceManifest& m) -> std::unique_ptr<family::TraceAssembler> {
    return std::make_unique<family::TypedAssembler<VirtioTraceAssembler, VirtioWorkload>>(m, VirtioWorkloadBytes);
  };
  return f;
}

Status RegisterVirtioFamily(family::Catalog& catalog) {
  KREPLAY_RETURN_IF_ERROR(catalog.RegisterFamily(VirtioFamilyInfo()));
  return RegisterVirtioModels(catalog.models());
}

}  // namespace kreplay::virtio
