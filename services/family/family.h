// The family table: what a model family brings besides its models, in one
// registration. The core (planner, executor, worker, trace store) loops over
// this table and never names a family; each family fills it in its own folder
// (workers/models/<family>/family.cc) and is listed once in
// models::RegisterBuiltinFamilies().
//
// A family registers: its name and description; its workload kinds
// (workload_kind.h: spec parsing, naming, building, plan estimates); its
// systems (`platforms:` entries) or none; how its generated workloads are
// rebuilt on a worker; how its system travels in a work item; its trace
// codec; and optional hooks: catalog listings and subcommands of its own,
// `trace inspect` of its trace files, `workload write`, `rerun --ftrace`,
// report curve series.
//
// Thread-safety: a Catalog is built once per process, then only read; its
// functions may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kreplay/v1/workload.pb.h"
#include "services/core/status.h"
#include "services/model/any_ref.h"
#include "services/family/workload_kind.h"
#include "services/model/registry.h"
#include "services/textio/source.h"

namespace CLI {
class App;
}

namespace kreplay::family {

// Rebuilds one trace from its chunks (codec assemblers behind one interface).
class TraceAssembler {
 public:
  virtual ~TraceAssembler() = default;
  // DataLoss on a damaged or foreign chunk (the trace and chunk named).
  virtual Status Add(const v1::TraceChunk& chunk) = 0;
  // The index of the first chunk not yet received.
  virtual uint32_t next_chunk() const = 0;
  virtual bool complete() const = 0;
  // REQUIRES: complete(). Verifies the whole-trace digest.
  virtual StatusOr<model::AnyValue> Finish() = 0;
};

// A codec assembler (Add, next_chunk, complete, Finish() -> StatusOr<T>)
// behind TraceAssembler; `bytes` sizes the finished workload for caches.
template <typename Assembler, typename T>
class TypedAssembler final : public TraceAssembler {
 public:
  TypedAssembler(const v1::TraceManifest& manifest, uint64_t (*bytes)(const T&)) : a_(manifest), bytes_(bytes) {}
  Status Add(const v1::TraceChunk& chunk) override { return a_.Add(chunk); }
  uint32_t next_chunk() const override { return a_.next_chunk(); }
  bool complete() const override { return a_.complete(); }
  StatusOr<model::AnyValue> Finish() override {
    KREPLAY_ASSIGN_OR_RETURN(T w, a_.Finish());
    const uint64_t n = bytes_(w);
    return model::AnyValue::Make(std::move(w), n);
  }

 private:
  Assembler a_;
  uint64_t (*bytes_)(const T&);
};

using ChunkSink = std::function<void(v1::TraceChunk&&)>;

// A system a study names under `platforms:` (e.g. an SoC platform),
// resolved by its family.
struct SystemEntry {
  std::string name;        // shipped name, or the name its file gives
  std::string source;      // "builtin:juno-r0" or the resolved file path
  model::AnyValue system;  // what models read through RunInput::system
  // Canonical text: every field a model can read, in a fixed order; the
  // input of the system's digest (run keys name it).
  std::string canonical;
  std::string config;      // the bytes a work item carries; decode_system reads them back
  int cpus = 0;            // CPUs it simulates (run costs scale with them)
};

// Writes one run's events as text while it runs (`kreplay rerun --ftrace`).
class RunTraceWriter {
 public:
  virtual ~RunTraceWriter() = default;
  // What the run's RunInput::observer is set to.
  virtual model::AnyMutRef observer() = 0;
  virtual uint64_t lines() const = 0;
};

// Estimated work of one run for `kreplay plan`, in the model's work unit.
struct RunWork {
  double work = 0;
  bool lower_bound = false;  // e.g. block accesses of a trace counted one per request
};
// What the estimate of one run sees.
struct RunWorkInput {
  const model::ModelInfo* model = nullptr;
  const model::ParamSet* params = nullptr;  // resolved
  int system_cpus = 0;                      // CPUs of the run's system; 0 without systems
  const WorkloadKind* kind = nullptr;
  const ParsedWorkload* workload = nullptr;
  const WorkloadEstimate* estimate = nullptr;
};

// `kreplay trace inspect FILE` is the core's (controller/cli/trace_cmd.h);
// it asks the families which one reads FILE. It picks, in this order:
// the family named by --family; the family whose own flag (add_flags) was
// given; the first family, in catalog order (by name), whose sniff accepts
// FILE's head. No family: exit 2, listing every inspector's `what`.
//
// What the chosen family reads. `source` holds FILE ("-" = stdin) from its
// first byte, decompressed if it is gzip or zstd (textio::OpenSource): the
// bytes the core read for sniffing are replayed, so stdin and pipes work.
struct TraceInput {
  std::string name;                           // FILE, or "<stdin>": labels messages
  std::unique_ptr<textio::ByteSource> source;
  bool json = false;                          // --json: print JSON, not text
};

// The bytes sniff sees: FILE's first kTraceHeadBytes (decompressed), cut
// after their last newline; the whole of FILE if it is shorter.
inline constexpr size_t kTraceHeadBytes = 64 * 1024;

struct TraceInspector {
  // What it reads, for `trace inspect --help` and the message for a file no
  // family reads: "block traces (blkparse, MSR, fio iolog v2/v3, ...)".
  std::string what;
  // Whether `head` begins a trace this family reads. Pure, cheap, never
  // fails. It should accept a file the family would reject further on (a
  // bad line 40), so that the family's own error names file, line and field.
  std::function<bool(std::string_view head)> sniff;
  // Registers the family's own flags (none is fine) on the `inspect`
  // subcommand, and returns what inspects a file: it prints the summary to
  // stdout, errors as "kreplay trace: ..." to stderr, and returns the exit
  // code (0 ok, 2 bad input, 3 I/O failure). Giving one of these flags
  // picks the family. REQUIRES: flag names unique across families (a clash
  // traps at startup).
  std::function<std::function<int(TraceInput input)>(CLI::App& inspect)> add_flags;
};

struct FamilyInfo {
  std::string name;         // "sched"; models name it in ModelInfo::family
  std::string description;  // one line
  std::string workload_noun;  // "a scheduler workload", for messages

  // The kinds of `workloads:` entries its studies take, in the order
  // messages list them.
  std::vector<WorkloadKind> kinds;

  // Whether its studies name systems under `platforms:` (the scheduler
  // family's SoC platforms). Without, a study has one implicit system and
  // `no_systems_hint` says where the configuration comes from instead.
  bool has_systems = false;
  std::string no_systems_hint;
  // Resolves one `platforms:` entry (a shipped name, or a file relative to
  // base_dir); nullopt after reporting the problem to `errors`. Required
  // with has_systems.
  std::function<std::optional<SystemEntry>(const SpecEntry& entry, const std::string& field,
                                           const std::string& base_dir, SpecErrors& errors)>
      resolve_system;

  // The system of a run (SystemConfig.config bytes) as the family's models
  // read it through RunInput::system. Null for families without a system.
  std::function<StatusOr<model::AnyValue>(std::string_view config)> decode_system;

  // Cost estimates (`kreplay plan`): a model's throughput is
  // ModelInfo::work_per_core_s in ModelInfo::work_unit; models without a
  // measurement take these defaults (flagged as guesses). `run_work` is the
  // work of one run in the model's unit.
  std::string default_work_unit;
  double default_work_per_core_s = 0;
  std::function<RunWork(const RunWorkInput&)> run_work;

  // `kreplay rerun --ftrace FILE`: the run's schedule as tracefs text, for a
  // system of `cpus` CPUs, headed by `title`. Null: the family has no such
  // trace.
  std::function<std::unique_ptr<RunTraceWriter>(std::ostream& out, int cpus, const std::string& title)> ftrace_writer;

  // `kreplay workload write`: a built workload in a format a real tool
  // replays (`workload_format`, e.g. "rt-app JSON"). Null: not supported.
  std::string workload_format;
  std::function<StatusOr<std::string>(const model::AnyValue& built)> write_workload;

  // Catalog commands, `kreplay <command> [NAME]`: what the family ships (the
  // scheduler's SoC platforms, the block family's device profiles), listed,
  // or one shown in full. `show` returns the text to print; NotFound for an
  // unknown name.
  struct Listing {
    std::string command;  // "platforms"
    std::string help;     // one line, for --help
    std::string arg_help; // what NAME is
    std::function<StatusOr<std::string>(const std::string& name)> show;
  };
  std::vector<Listing> listings;

  // Subcommands of the family's own (the block family: `kreplay trace
  // convert`). `add_commands` registers them on the command line (CLI11) and
  // returns a runner that gives the exit code if one of them was selected,
  // nullopt otherwise. `kreplay trace` is the core's (`trace inspect`, see
  // trace_inspector) and exists when add_commands runs: a family adds its
  // own trace subcommands under app.get_subcommand("trace").
  std::function<std::function<std::optional<int>()>(CLI::App& app)> add_commands;

  // `kreplay trace inspect FILE`: a summary of a trace in one of the
  // family's formats. Null: the family reads no trace files.
  std::optional<TraceInspector> trace_inspector;

  // Report series: names of per-run result series (model::Result::series)
  // that the report draws as what-if curves (x = the series' t, y = its
  // values, mean over seeds), each with its legend label and axes; e.g.
  // block.mrc's one-pass miss-ratio curve. An x in "bytes" or "pages" is
  // drawn on a log2 axis.
  // A run may also report "<series>/<group>" (e.g. "kiops_by_depth/read"):
  // each group is a curve of its own, labelled "<label> <group>".
  // `across_workloads`: a run contributes one point (its workload's queue
  // depth, say) and the curve joins the points of every workload of the
  // variant and platform (its workload column reads "all").
  struct CurveSeries {
    std::string series;  // "fixed_lru_mrc"
    std::string label;   // "fixed-block LRU (one-pass MRC)"
    std::string metric;  // y: "miss_ratio" (a scalar metric of the same name shares the plot)
    std::string unit;    // y unit: "ratio"
    std::string x_param; // "cache_size"
    std::string x_unit;  // "bytes"
    bool across_workloads = false;
  };
  std::vector<CurveSeries> curve_series;

  // The trace codec. `trace_family` is TraceManifest.family of its traces.
  std::string trace_family;
  // Older TraceManifest.family names its assembler still reads (traces stored
  // by earlier controllers, work items pending in their ledgers).
  std::vector<std::string> legacy_trace_families;
  std::function<v1::TraceManifest(const model::AnyValue& workload, size_t max_chunk_bytes, const ChunkSink& sink,
                                  const std::string& source)>
      encode_trace;
  std::function<std::unique_ptr<TraceAssembler>(const v1::TraceManifest& manifest)> assemble_trace;
};

// Every family and every model of the process.
class Catalog {
 public:
  // Registers the family and declares its name to models(). AlreadyExists on
  // a duplicate name or trace family.
  Status RegisterFamily(FamilyInfo info);
  // nullptr if unknown.
  const FamilyInfo* Find(const std::string& name) const;
  const FamilyInfo* FindByTraceFamily(const std::string& trace_family) const;
  // The family that has a workload kind with this spec key, and the kind.
  std::pair<const FamilyInfo*, const WorkloadKind*> FindKind(const std::string& key) const;
  std::vector<const FamilyInfo*> List() const;  // sorted by name

  model::Registry& models() { return models_; }
  const model::Registry& models() const { return models_; }

 private:
  std::map<std::string, std::unique_ptr<FamilyInfo>> families_;
  model::Registry models_;
};

}  // namespace kreplay::family
