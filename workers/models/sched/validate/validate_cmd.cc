#include "workers/models/sched/validate/validate_cmd.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "workers/models/sched/validate/compare.h"
#include "workers/models/sched/validate/host_run.h"
#include "workers/models/sched/validate/model_run.h"
#include "workers/models/sched/sched_models.h"
#include "workers/models/sched/validate/scenarios.h"

namespace kreplay::sched::validate {

struct ValidateCli {
  CLI::App* cmd = nullptr;
  std::function<Status(family::Catalog&)> register_family;
  std::vector<std::string> scenarios;
  std::string cpus = "last";
  int duration = 4;
  std::string json, keep_logs, model, fault, cgroup_root = "/sys/fs/cgroup";
  bool strict = false;
};

namespace {
namespace fs = std::filesystem;

constexpr char kHelp[] =
    "Validate the scheduler model against this machine's kernel.\n"
    "\n"
    "Each scenario is an rt-app use case that validate writes, runs on this host pinned to --cpus, and\n"
    "measures (per-thread /proc/PID/task/TID/schedstat, rt-app's logs). The same JSON then runs through\n"
    "the sched model on a platform describing the host (one cluster of the pinned CPUs, capacity 1024,\n"
    "one OPP at the host's frequency, performance governor, the host's HZ). The model follows the\n"
    "kernel: >= 6.6 -> sched.eevdf, older -> sched.cfs (falls back to sched.cfs, with a note, when\n"
    "sched.eevdf is not built); --model overrides.\n"
    "\n"
    "Scenarios: nice-shares, cgroup-shares, periodic-vs-hogs, wakeup-chain (about --duration s each).\n"
    "Gates: CPU shares within 2 percentage points (always); wake-up latency p50/p99 only with --strict,\n"
    "within max(50 %, 250 us) for p50 and max(50 %, 1 ms) for p99; slack is report-only; cgroup-shares\n"
    "is measured on the host but not modelled yet (task groups).\n"
    "\n"
    "Needs root and rt-app. Exit codes: 0 all gated figures pass, 1 a gated figure failed, 2 bad flags,\n"
    "3 the validation broke (rt-app died, logs missing), 4 this host cannot validate (not root, no rt-app,\n"
    "CPU unavailable), 130 interrupted.\n"
    "\n"
    "Examples:\n"
    "  kreplay validate sched                                # all scenarios on the last CPU\n"
    "  kreplay validate sched --scenario nice-shares --cpus 1 --json out.json --keep-logs logs/\n"
    "  kreplay validate sched --strict --model sched.cfs";

// SIGINT/SIGTERM set a flag the run polls; the previous handlers come back after.
std::atomic<bool> g_interrupted{false};
extern "C" void OnSignal(int) { g_interrupted.store(true); }

class SignalGuard {
 public:
  SignalGuard() {
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// A temporary folder removed at the end unless the logs are to be kept.
class WorkDir {
 public:
  static StatusOr<WorkDir> Make(const std::string& keep) {
    WorkDir w;
    std::error_code ec;
    if (!keep.empty()) {
      fs::create_directories(keep, ec);
      if (ec) return InvalidArgument("--keep-logs " + keep + ": " + ec.message());
      w.path_ = fs::absolute(keep).string();
      return w;
    }
    std::string tmpl = (fs::temp_directory_path(ec) / "kreplay-validate-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return Unavailable("cannot create a temporary folder: " + tmpl);
    w.path_ = tmpl;
    w.remove_ = true;
    return w;
  }
  WorkDir() = default;
  WorkDir(WorkDir&& o) noexcept : path_(std::move(o.path_)), remove_(o.remove_) { o.remove_ = false; }
  ~WorkDir() {
    if (!remove_) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool remove_ = false;
};

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Unavailable(path + ": write failed");
  return OkStatus();
}

void Progress(const std::string& m) { std::fprintf(stderr, "kreplay validate: %s\n", m.c_str()); }

int Fail(int code, const std::string& m) {
  std::fprintf(stderr, "kreplay validate sched: %s\n", m.c_str());
  return code;
}

std::string Fixed(double v, int prec) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

}  // namespace

std::shared_ptr<ValidateCli> AddValidateCommand(CLI::App& app, std::function<Status(family::Catalog&)> register_family) {
  auto v = std::make_shared<ValidateCli>();
  v->register_family = std::move(register_family);
  CLI::App* validate = nullptr;
  try {
    validate = app.get_subcommand("validate");
  } catch (const CLI::OptionNotFound&) {
    validate = app.add_subcommand("validate", "Check models against this machine's kernel (`validate sched`)");
    validate->require_subcommand(1);
  }
  v->cmd = validate->add_subcommand("sched", "Run rt-app scenarios on this host and compare the sched model's CPU "
                                             "shares and wake-up latencies with the kernel's");
  v->cmd->footer(kHelp);
  v->cmd->add_option("--scenario", v->scenarios, "Scenario to run (repeatable; default: all)")
      ->check(CLI::IsMember(ScenarioNames()));
  v->cmd->add_option("--cpus", v->cpus, "Host CPUs to pin the scenarios to, e.g. 1 or 2-3 (default: the last CPU)")
      ->capture_default_str();
  v->cmd->add_option("--duration", v->duration, "Seconds per scenario (host run and simulated)")
      ->capture_default_str()
      ->check(CLI::Range(2, 120));
  v->cmd->add_option("--json", v->json, "Also write the results as JSON to this file");
  v->cmd->add_option("--keep-logs", v->keep_logs,
                     "Keep the scenario JSON, the model's copy, the host platform and rt-app's logs in this folder");
  v->cmd->add_option("--model", v->model, "Scheduler model to compare with (default: chosen by the kernel version)");
  v->cmd->add_flag("--strict", v->strict, "Gate wake-up latencies too (see below)");
  // Testing switches, hidden from --help.
  v->cmd->add_option("--inject-fault", v->fault, "")->group("")->check(CLI::IsMember({"nice-off-by-one"}));
  v->cmd->add_option("--cgroup-root", v->cgroup_root, "")->group("");
  return v;
}

bool ValidateSelected(const ValidateCli& v) { return v.cmd && v.cmd->parsed(); }

int RunValidateCommand(const ValidateCli& v) {
  const auto t0 = std::chrono::steady_clock::now();
  auto cpus = ParseCpuList(v.cpus);
  if (!cpus.ok())
    return Fail(cpus.status().code() == StatusCode::kInvalidArgument ? kExitBadInput : kExitEnvironment,
                cpus.status().message());
  auto host = ProbeHost(*cpus);
  if (!host.ok())
    return Fail(host.status().code() == StatusCode::kFailedPrecondition ? kExitEnvironment : kExitInfra,
                "cannot validate on this host: " + host.status().message());

  family::Catalog catalog;
  if (Status st = v.register_family(catalog); !st.ok()) return Fail(kExitInfra, st.message());
  auto choice = ChooseModel(host->kernel_release, catalog.models(), v.model);
  if (!choice.ok()) return Fail(kExitBadInput, choice.status().message());
  if (!choice->note.empty()) Progress("note: " + choice->note);

  std::vector<Scenario> selected;
  for (const auto& s : BuiltinScenarios())
    if (v.scenarios.empty() || std::find(v.scenarios.begin(), v.scenarios.end(), s.name) != v.scenarios.end())
      selected.push_back(s);

  auto work = WorkDir::Make(v.keep_logs);
  if (!work.ok()) return Fail(work.status().code() == StatusCode::kInvalidArgument ? kExitBadInput : kExitInfra, work.status().message());
  const std::string platform_path = work->path() + "/host-platform.yaml";
  // The model gets every online CPU of the host (as the kernel scales its
  // tunables by them), numbered as on the host; at most 64 (the models' limit).
  int model_cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  for (int c : *cpus) model_cpus = std::max(model_cpus, c + 1);
  if (model_cpus > 64) return Fail(kExitEnvironment, "validate models at most 64 CPUs; pin to CPUs below 64");
  if (Status st = WriteText(platform_path, HostPlatformYaml(model_cpus, host->khz)); !st.ok())
    return Fail(kExitInfra, st.message());

  std::string cpu_text;
  for (int c : *cpus) cpu_text += (cpu_text.empty() ? "" : ",") + std::to_string(c);
  Progress("kernel " + host->kernel_release + " (HZ " + (host->hz ? std::to_string(host->hz) : "unknown") +
           "), model " + choice->model + ", CPU(s) " + cpu_text + ", " + std::to_string(selected.size()) +
           " scenario(s) of " + std::to_string(v.duration) + " s" + (v.fault.empty() ? "" : ", FAULT " + v.fault));

  GateOptions gates;
  gates.strict = v.strict;
  std::map<std::string, model::ParamValue> params = {{"governor", std::string("performance")}};
  if (host->hz >= 24 && host->hz <= 1000) params["hz"] = static_cast<int64_t>(host->hz);

  if (!choice->note.empty()) std::cout << "note: " << choice->note << "\n\n" << std::flush;
  if (!v.fault.empty())
    std::cout << "FAULT INJECTED: " << v.fault << " (the model runs with every nice n != 0 as n+1)\n\n" << std::flush;
  SignalGuard signals;
  g_interrupted.store(false);
  std::vector<ScenarioReport> reports;
  for (size_t i = 0; i < selected.size(); ++i) {
    const Scenario& s = selected[i];
    Progress("[" + std::to_string(i + 1) + "/" + std::to_string(selected.size()) + "] " + s.name + ": " + s.summary);
    ScenarioReport r;
    r.scenario = s.name;
    r.summary = s.summary;
    HostRunOptions ho;
    ho.rtapp = host->rtapp;
    ho.cpus = *cpus;
    ho.duration_s = v.duration;
    ho.workdir = work->path();
    ho.interrupted = &g_interrupted;
    ho.progress = [&s](const std::string& m) { Progress("  " + s.name + ": " + m); };
    if (s.needs_cgroups()) {
      auto c = FindCpuController(v.cgroup_root);
      if (!c.ok()) {
        r.skipped = true;
        r.skip_reason = c.status().message();
        Progress("  " + s.name + ": skipped: " + r.skip_reason);
        std::cout << FormatTable(r) << "\n" << std::flush;
        reports.push_back(std::move(r));
        continue;
      }
      ho.cgroups = *c;
    }
    const std::string json_path = work->path() + "/" + s.name + ".json";
    const std::string model_json_path = work->path() + "/" + s.name + ".model.json";
    const std::string json = ScenarioJson(s, *cpus, v.duration, work->path(), s.name);
    auto model_json = ModelJson(json, *cpus, &s);
    if (!model_json.ok()) return Fail(kExitInfra, model_json.status().message());
    if (Status st = WriteText(json_path, json); !st.ok()) return Fail(kExitInfra, st.message());
    if (Status st = WriteText(model_json_path, *model_json); !st.ok()) return Fail(kExitInfra, st.message());

    auto measured = RunOnHost(s, json_path, s.name, ho);
    if (!measured.ok()) {
      if (measured.status().code() == StatusCode::kCancelled)
        return Fail(kExitInterrupted, "interrupted: rt-app stopped" +
                                          std::string(s.needs_cgroups() ? ", cgroups removed" : ""));
      return Fail(measured.status().code() == StatusCode::kFailedPrecondition ? kExitEnvironment : kExitInfra,
                  s.name + ": " + measured.status().message());
    }
    if (measured->foreign_busy_pct)
      r.notes.push_back("host: " + Fixed(*measured->foreign_busy_pct, 1) + " % of the pinned CPUs' time went to other " +
                        "processes during the " + Fixed(measured->window_s, 1) + " s window");

    std::optional<model::Result> result;
    if (!s.needs_cgroups() || sched::ModelsTaskGroups(choice->model)) {
      Progress("  " + s.name + ": running " + choice->model);
      ModelRunInput mi;
      mi.model = choice->model;
      mi.workload_json_path = model_json_path;
      mi.platform_yaml_path = platform_path;
      mi.params = params;
      mi.nice_off_by_one = v.fault == "nice-off-by-one";
      auto res = RunModel(catalog, mi);
      if (!res.ok()) return Fail(kExitInfra, s.name + ": model " + choice->model + ": " + res.status().message());
      result = std::move(res).value();
    }
    r.figures = BuildFigures(s, &*measured, result ? &*result : nullptr, "");
    Evaluate(r.figures, gates);
    std::cout << FormatTable(r) << "\n" << std::flush;
    reports.push_back(std::move(r));
    if (g_interrupted.load()) return Fail(kExitInterrupted, "interrupted");
  }

  if (!v.json.empty()) {
    RunInfo info{host->kernel_release, choice->model, choice->note, *cpus, v.duration, v.strict, v.fault};
    if (Status st = WriteText(v.json, ToJson(info, reports)); !st.ok()) return Fail(kExitInfra, st.message());
  }
  const Tally t = Count(reports);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("validate sched: %d gated figure(s) passed, %d failed; %d report-only, %d not modelled, %d without data; "
              "%d scenario(s) skipped (%.0f s)\n",
              t.passed, t.failed, t.report_only, t.not_modelled, t.no_data, t.skipped, secs);
  if (!v.keep_logs.empty()) Progress("logs kept in " + work->path());
  return t.failed > 0 ? kExitGateFailed : kExitOk;
}

}  // namespace kreplay::sched::validate
