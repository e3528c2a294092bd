// Model-versus-kernel figures of `kreplay validate sched`: the gate each
// figure is held to, the table and the JSON they are printed as, and the
// exit code they give. Pure functions; no host access.
//
// Gates (documented in docs/models/sched.md, "Validating against the host
// kernel"):
// - kShare: CPU shares in percent; pass when |model - kernel| <= 2
//   percentage points. Always gated.
// - kLatency: wake-up latency percentiles in us; report-only unless strict,
//   then pass when |model - kernel| <= max(floor_us, 50 % of kernel). The
//   floors (p50 250 us, p99 1 ms) cover what the model leaves out: syscall
//   and context-switch cost, timer interrupt delivery in a VM (tens of us),
//   and the host tick's granularity against the model's.
// - kInfo: printed for context (slack, the host's foreign load), never gated.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kreplay::sched::validate {

enum class Gate { kShare, kLatency, kInfo };
enum class Verdict { kPass, kFail, kReportOnly, kNotModelled, kNoData };
const char* VerdictName(Verdict v);  // "pass", "FAIL", "report-only", "not modelled", "no data"

struct Figure {
  std::string name;  // "CPU share nice5"
  std::string unit;  // "%", "us"
  Gate gate = Gate::kInfo;
  double floor = 0;  // kLatency: the absolute part of the tolerance, in `unit`
  std::optional<double> kernel;
  std::optional<double> model;
  std::string model_note;  // why there is no model value ("not modelled yet: task groups")

  // Filled by Evaluate.
  std::optional<double> error;  // model - kernel
  std::optional<double> tolerance;
  Verdict verdict = Verdict::kNoData;
};

struct GateOptions {
  bool strict = false;           // gate latencies too
  double share_pp = 2.0;         // kShare tolerance, percentage points
  double latency_rel = 0.5;      // kLatency tolerance, fraction of the kernel value
};

// Sets error, tolerance and verdict of each figure. A figure without a model
// value is kNotModelled (with a note) or kNoData; one without a kernel value
// is kNoData. Neither counts as a pass or a failure.
void Evaluate(std::vector<Figure>& figures, const GateOptions& opt);

// One scenario's results.
struct ScenarioReport {
  std::string scenario;
  std::string summary;              // what it runs
  std::vector<std::string> notes;   // model choice, host noise, skips
  bool skipped = false;
  std::string skip_reason;
  std::vector<Figure> figures;
};

// "figure | kernel | model | error | gate" as aligned text.
std::string FormatTable(const ScenarioReport& r);
// The whole run as JSON (for --json FILE): host, model, options, scenarios.
struct RunInfo {
  std::string kernel_release;
  std::string model;
  std::string model_note;
  std::vector<int> cpus;
  int duration_s = 0;
  bool strict = false;
  std::string fault;
};
std::string ToJson(const RunInfo& info, const std::vector<ScenarioReport>& reports);

// Counts over all reports.
struct Tally {
  int passed = 0, failed = 0, report_only = 0, not_modelled = 0, no_data = 0, skipped = 0;
};
Tally Count(const std::vector<ScenarioReport>& reports);

// Nearest-rank percentile (q in [0, 1]) of `v`; nullopt when empty.
std::optional<double> Percentile(std::vector<double> v, double q);

}  // namespace kreplay::sched::validate
