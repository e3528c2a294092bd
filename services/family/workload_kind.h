// Workload kinds: the entries a family accepts under a study spec's
// `workloads:` (e.g. `synthetic:` and `rtapp:` for the scheduler family), and
// everything the core needs to name, build and ship one without knowing its
// type. The spec parser, the planner and the executor loop over these.
//
// Thread-safety: the functions are pure and may be called concurrently
// (parse reads files named by the spec).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/model/any_ref.h"

namespace kreplay::family {

// Where a family reports problems in its part of a study spec; each becomes
// "file:line: field: message".
class SpecErrors {
 public:
  virtual ~SpecErrors() = default;
  virtual void Error(const YAML::Node& at, const std::string& field, const std::string& msg) = 0;
  // A nested parser's (possibly multi-line) message. Lines "LINE: ..." of a
  // parser reading this same document (same_document) keep their line;
  // others are reported at `at`.
  virtual void Nested(const YAML::Node& at, const std::string& field, const std::string& msg,
                      bool same_document) = 0;
};

// SpecErrors for callers outside a spec (a worker regenerating a workload,
// `kreplay validate`): every error as "field: message", joined by "; ".
class CollectedErrors final : public SpecErrors {
 public:
  void Error(const YAML::Node&, const std::string& field, const std::string& msg) override {
    text_ += (text_.empty() ? "" : "; ") + field + ": " + msg;
  }
  void Nested(const YAML::Node& at, const std::string& field, const std::string& msg, bool) override {
    Error(at, field, msg);
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// One key of a workload entry: its key node (for "this key is wrong") and value.
struct SpecEntry {
  YAML::Node key;
  YAML::Node value;
};

// A workload entry as its kind's parser sees it.
struct KindInput {
  SpecEntry entry;                           // the kind key and its value
  std::map<std::string, SpecEntry> options;  // the kind's options present in the entry
  std::string field;                         // "workloads[2]"
  std::string base_dir;                      // relative paths resolve against it
  SpecErrors* errors = nullptr;
};

// A workload entry after its kind parsed it.
struct ParsedWorkload {
  model::AnyValue spec;        // the kind's own parsed form
  std::string generator_yaml;  // generated kinds: the text workers regenerate it from
  std::string path;            // file kinds: the resolved path; "" otherwise
};

// A workload's size estimated from its parsed spec alone (`kreplay plan`,
// controller/spec/plan.h): nothing is generated or read again. A family
// fills the fields that apply; counts from generators are expected values.
struct WorkloadEstimate {
  // Scheduler-like workloads.
  uint64_t tasks = 0;
  double phases = 0;            // executed phases
  uint64_t trace_records = 0;   // records in its trace
  int64_t duration_ns = 0;      // simulated length (0 = until every task ends)
  double cpu_work_ns = 0;       // run phases' work at calibration speed
  // Request streams (block workloads).
  double requests = 0;
  uint64_t volumes = 0;
  uint64_t footprint_bytes = 0;   // 0 = unknown
  double mean_request_bytes = 0;  // 0 = unknown
  // Chunk payload bytes of one instance travelling as a trace.
  double trace_bytes = 0;
};

// Helpers for kind parsers, with the spec parser's wording.
// The entry's scalar value, else "expected a string" (nullopt).
std::optional<std::string> SpecString(const SpecEntry& e, const std::string& field, SpecErrors& errors);
// A non-negative integer, else "expected a non-negative integer, got 'x'".
std::optional<uint64_t> SpecUint(const YAML::Node& n, const std::string& field, SpecErrors& errors);
// `p` relative to `base_dir` (absolute paths kept), normalised.
std::string ResolveSpecPath(const std::string& base_dir, const std::string& p);

// A generated kind's entry: `parse(node, field)` is the generator's own spec
// parser (StatusOr<Spec>, errors as "LINE: field: ..." lines of this
// document); the node's text is kept for workers, which re-parse it, so they
// validate it exactly as here.
template <typename Parse>
std::optional<ParsedWorkload> ParseGeneratorEntry(const KindInput& in, const std::string& key, Parse parse) {
  const std::string field = in.field + "." + key;
  decltype(parse(in.entry.value, field)) spec = InvalidArgument("");
  try {
    spec = parse(in.entry.value, field);
  } catch (const YAML::Exception& ex) {  // a bug in the nested parser must not escape as an exception
    spec = InvalidArgument(ex.what());
  }
  if (!spec.ok()) {
    in.errors->Nested(in.entry.key, field, spec.status().message(), true);
    return std::nullopt;
  }
  ParsedWorkload p;
  p.generator_yaml = YAML::Dump(in.entry.value);
  p.spec = model::AnyValue::Make(std::move(spec).value(), 0);
  return p;
}

// What check_system found: `path` is the dotted key under the workload
// entry ("requests.area"; "" for the entry itself), the line reported.
struct Misfit {
  std::string path;
  std::string message;
};

struct WorkloadKind {
  std::string key;                   // the spec key: "synthetic"
  std::vector<std::string> options;  // other keys allowed in its entries ("format", ...)
  std::string noun;                  // "an rt-app workload", for messages
  // Generated kinds: a new workload per seed, and it may travel as its
  // generator text (transport: generate, the default). Others are the same
  // for every seed and always travel as a trace.
  bool generated = false;

  // Parses and validates an entry (reading any file it names); nullopt after
  // reporting every problem to input.errors.
  std::function<std::optional<ParsedWorkload>(const KindInput& input)> parse;
  // The content digest of instance `seed` from its inputs alone (a generated
  // kind named by generator inputs and version), or nullopt when naming it
  // needs its content (build, then digest).
  std::function<std::optional<std::string>(const ParsedWorkload&, uint64_t seed)> name;
  // Builds instance `seed` (the seed is ignored by non-generated kinds). A
  // file that changed since load is FailedPrecondition.
  std::function<StatusOr<model::AnyValue>(const ParsedWorkload&, uint64_t seed)> build;
  // The content digest of a built workload (run keys name it).
  std::function<std::string(const model::AnyValue& built)> digest;
  // Estimated work of one run over it, relative (longest-first ordering):
  // from inputs when `name` names it without building, else from the
  // built workload.
  std::function<double(const ParsedWorkload&)> cost_from_inputs;
  std::function<double(const model::AnyValue& built)> cost;
  // Its size for `kreplay plan`.
  std::function<WorkloadEstimate(const ParsedWorkload&)> estimate;
  // Checks the workload against one of the study's systems at load (e.g. a
  // CMA area the memory profile lacks): what does not fit, or nullopt.
  // Null: nothing to check.
  std::function<std::optional<Misfit>(const ParsedWorkload&, const model::AnyValue& system)> check_system;
};

}  // namespace kreplay::family
