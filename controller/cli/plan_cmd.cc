#include "controller/cli/plan_cmd.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "controller/cli/exit_codes.h"
#include "controller/server/server.h"
#include "controller/spec/plan.h"
#include "controller/spec/spec.h"
#include "services/core/strings.h"

namespace kreplay::cli {

struct PlanCli {
  CLI::App* spec = nullptr;
  CLI::App* check = nullptr;
  CLI::App* plan = nullptr;
  std::vector<std::string> check_files;
  std::string plan_file;
  bool yes = false, json = false;
  int workers = 2;
  int threads = 0;
};

namespace {

// Lists longer than this show their first kListHead entries and a count.
constexpr size_t kListAll = 12;
constexpr size_t kListHead = 8;

std::string ShortList(const std::vector<std::string>& items) {
  if (items.size() <= kListAll) return Join(items, ", ");
  std::vector<std::string> head(items.begin(), items.begin() + kListHead);
  return Join(head, ", ") + ", ... (" + std::to_string(items.size() - kListHead) + " more)";
}

// "1234", "12.3 k", "4.5 M", "6.7 G": counts in estimates.
std::string Count(double n) {
  char buf[32];
  if (n < 1e4)
    std::snprintf(buf, sizeof buf, "%.0f", n);
  else if (n < 1e6)
    std::snprintf(buf, sizeof buf, "%.1f k", n / 1e3);
  else if (n < 1e9)
    std::snprintf(buf, sizeof buf, "%.1f M", n / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1f G", n / 1e9);
  return buf;
}

std::string Bytes(double b) {
  char buf[32];
  if (b < 1024)
    std::snprintf(buf, sizeof buf, "%.0f B", b);
  else if (b < 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  else if (b < 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1024 / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.1f GiB", b / 1024 / 1024 / 1024);
  return buf;
}

std::string Summary(const spec::StudySpec& s) {
  return "study " + s.name + " (family " + s.family + "): " + std::to_string(s.variants.size()) + " variants x " +
         std::to_string(s.platforms.size()) + " platforms x " + std::to_string(s.workloads.size()) + " workloads x " +
         std::to_string(s.seeds.size()) + " seeds = " +
         std::to_string(s.variants.size() * s.platforms.size() * s.workloads.size() * s.seeds.size()) + " runs";
}

// Each line of a (multi-line) load error on its own stderr line, as is:
// LoadStudySpec already writes "file:line: field.path: message".
void PrintErrors(const Status& st) {
  for (auto line : Split(st.message(), '\n'))
    if (!Trim(line).empty()) std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

int Check(const family::Catalog& catalog, const PlanCli& p) {
  int rc = kExitOk;
  for (const auto& file : p.check_files) {
    auto s = spec::LoadStudySpec(file, catalog);
    if (!s.ok()) {
      PrintErrors(s.status());
      rc = kExitBadInput;
      continue;
    }
    std::printf("%s: ok: %s\n", file.c_str(), Summary(*s).c_str());
  }
  std::fflush(stdout);
  return rc;
}

int Threads(const PlanCli& p) {
  if (p.threads > 0) return p.threads;
  // As `kreplay run`: the machine's cores shared among the workers.
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, p.workers));
}

nlohmann::json PlanJson(const spec::StudySpec& s, const spec::StudyPlan& plan, int workers, int threads) {
  using nlohmann::json;
  json j;
  j["study"] = plan.study;
  j["family"] = plan.family;
  j["path"] = s.path;
  j["runs"] = plan.runs;
  j["counts"] = {{"variants", plan.variants.size()},
                 {"platforms", plan.platforms.size()},
                 {"workloads", plan.workloads.size()},
                 {"seeds", plan.seeds.size()}};
  j["work_items"] = plan.work_items;
  j["batched_runs"] = plan.batched_runs;
  j["platforms"] = plan.platforms;
  j["seeds"] = plan.seeds;
  json vs = json::array();
  for (const auto& v : plan.variants)
    vs.push_back({{"name", v.name},
                  {"model", v.model},
                  {"runs", v.runs},
                  {"batched", v.batched},
                  {"work", v.work},
                  {"work_unit", v.work_unit},
                  {"work_is_lower_bound", v.work_is_lower_bound},
                  {"rate_per_core_s", v.rate_per_core_s},
                  {"rate_measured", v.rate_measured},
                  {"core_seconds", v.core_seconds},
                  {"longest_run_core_seconds", v.longest_run_core_seconds}});
  j["variants"] = vs;
  json ws = json::array();
  for (const auto& w : plan.workloads) {
    json e = {{"name", w.name},         {"kind", w.kind},         {"per_seed", w.per_seed},
              {"instances", w.instances}, {"travels_as_trace", w.travels_as_trace},
              {"trace_bytes", w.trace_bytes}};
    if (w.tasks > 0) {  // scheduler-like workloads; else a request stream
      e["tasks"] = w.tasks;
      e["phases"] = w.phases;
      e["trace_records"] = w.trace_records;
      e["duration_ns"] = w.duration_ns;
    } else {
      e["requests"] = w.requests;
      e["volumes"] = w.volumes;
      e["footprint_bytes"] = w.footprint_bytes;
      e["mean_request_bytes"] = w.mean_request_bytes;
    }
    ws.push_back(e);
  }
  j["workloads"] = ws;
  j["trace_bytes"] = plan.trace_bytes;
  j["estimate"] = {{"core_seconds", plan.core_seconds},
                   {"longest_run_core_seconds", plan.longest_run_core_seconds},
                   {"workers", workers},
                   {"threads", threads},
                   {"wall_seconds", spec::EstimateWallSeconds(plan, workers, threads)},
                   {"note", "estimate of model time only, from the models' measured per-core rates (ModelInfo::work_per_core_s)"}};
  j["confirm"] = {{"needed", !spec::CheckPlanSize(plan, false).ok()},
                  {"max_runs", spec::kPlanConfirmRuns},
                  {"max_core_seconds", spec::kPlanConfirmCoreSeconds}};
  return j;
}

void PrintWorkload(const spec::WorkloadPlan& w) {
  std::string where = w.per_seed ? "generated per seed, " + std::to_string(w.instances) + " instances"
                                 : "one file for every seed";
  std::printf("  %-16s %s (%s), %s\n", w.name.c_str(), w.kind.c_str(), where.c_str(),
              w.travels_as_trace ? "travels as a trace" : "workers generate it (transport: generate)");
  // What the kind's estimate filled in: tasks (scheduler-like workloads) or
  // a request stream. Generated kinds' counts are expected values.
  if (w.tasks > 0) {
    std::printf("      %llu tasks, ~%s phases %s per instance, %s simulated\n",
                static_cast<unsigned long long>(w.tasks), Count(w.phases).c_str(),
                w.per_seed ? "expected" : "executed (loops unrolled)",
                w.duration_ns ? spec::HumanSeconds(static_cast<double>(w.duration_ns) / 1e9).c_str()
                              : "until the tasks end");
  } else if (w.requests > 0) {
    std::printf("      %s requests%s per instance", Count(w.requests).c_str(), w.per_seed ? " (expected)" : "");
    if (w.volumes) std::printf(", %llu volumes", static_cast<unsigned long long>(w.volumes));
    if (w.footprint_bytes) std::printf(", footprint <= %s", Bytes(static_cast<double>(w.footprint_bytes)).c_str());
    if (w.mean_request_bytes > 0) std::printf(", mean request %s", Bytes(w.mean_request_bytes).c_str());
    if (!w.per_seed) std::printf(" (sizes and footprint: kreplay trace inspect)");
    std::printf("\n");
  }
  std::printf("      as a trace: ~%s per instance%s\n", Bytes(w.trace_bytes).c_str(),
              w.travels_as_trace ? "" : " (only with transport: trace)");
}

void PrintPlan(const spec::StudySpec& s, const spec::StudyPlan& plan, int workers, int threads) {
  std::printf("%s: %s\n", s.path.c_str(), Summary(s).c_str());
  std::vector<std::string> variants, seeds;
  for (const auto& v : plan.variants) variants.push_back(v.name);
  for (uint64_t seed : plan.seeds) seeds.push_back(std::to_string(seed));
  std::printf("runs=%llu work_items=%llu\n", static_cast<unsigned long long>(plan.runs),
              static_cast<unsigned long long>(plan.work_items));
  std::printf("  variants (%zu): %s\n", variants.size(), ShortList(variants).c_str());
  std::printf("  platforms (%zu): %s\n", plan.platforms.size(),
              s.platforms.size() == 1 && s.platforms[0].implicit ? ("none (" + plan.family + " family)").c_str()
                                                                  : Join(plan.platforms, ", ").c_str());
  std::printf("  seeds (%zu): %s\n", seeds.size(), ShortList(seeds).c_str());
  if (plan.batched_runs)
    std::printf("  %llu runs of batching models share work items (up to %u runs each: one pass over the workload)\n",
                static_cast<unsigned long long>(plan.batched_runs), server::ControllerOptions{}.max_batch_runs);
  std::printf("workloads:\n");
  for (const auto& w : plan.workloads) PrintWorkload(w);
  std::printf("estimated work (ESTIMATE from the models' measured per-core rates):\n");
  for (size_t i = 0; i < plan.variants.size(); ++i) {
    if (i == kListHead && plan.variants.size() > kListAll) {
      std::printf("  ... (%zu more variants)\n", plan.variants.size() - kListHead);
      break;
    }
    const auto& v = plan.variants[i];
    std::printf("  %-24s %-12s %6llu runs  %s%s %s  ~%s core time  (%s %s/s per core%s)\n", v.name.c_str(),
                v.model.c_str(), static_cast<unsigned long long>(v.runs), v.work_is_lower_bound ? ">=" : "~",
                Count(v.work).c_str(), v.work_unit.c_str(), spec::HumanSeconds(v.core_seconds).c_str(),
                Count(v.rate_per_core_s).c_str(), v.work_unit.c_str(), v.rate_measured ? "" : ", not measured: a guess");
  }
  std::printf("  total ~%s of model work on one core; ~%s wall with %d workers x %d threads "
              "(model time only: no startup, generation or transport)\n",
              spec::HumanSeconds(plan.core_seconds).c_str(),
              spec::HumanSeconds(spec::EstimateWallSeconds(plan, workers, threads)).c_str(), workers, threads);
  if (plan.trace_bytes > 0)
    std::printf("trace transport: ~%s of chunks published (again for each further worker that runs a traced "
                "workload)\n",
                Bytes(plan.trace_bytes).c_str());
  else
    std::printf("trace transport: none (every workload travels as its generator spec)\n");
}

int Plan(const family::Catalog& catalog, const PlanCli& p) {
  auto s = spec::LoadStudySpec(p.plan_file, catalog);
  if (!s.ok()) {
    PrintErrors(s.status());
    return kExitBadInput;
  }
  spec::PlanOptions options;
  options.max_batch_runs = server::ControllerOptions{}.max_batch_runs;
  spec::StudyPlan plan = spec::PlanStudy(*s, catalog, options);
  // The plan is printed either way (it is what the user needs to decide);
  // above the threshold the exit status says it needs --yes, as `run` will.
  const int threads = Threads(p);
  if (p.json)
    std::cout << PlanJson(*s, plan, p.workers, threads).dump() << "\n";
  else
    PrintPlan(*s, plan, p.workers, threads);
  std::fflush(stdout);
  if (Status st = spec::CheckPlanSize(plan, p.yes); !st.ok()) {
    std::fprintf(stderr, "kreplay plan: %s\n", st.message().c_str());
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace

std::shared_ptr<PlanCli> AddPlanCommands(CLI::App& app) {
  auto p = std::make_shared<PlanCli>();
  p->spec = app.add_subcommand("spec", "Study specs: `spec check FILE...` validates them without running anything");
  p->spec->require_subcommand(1);
  p->check = p->spec->add_subcommand(
      "check",
      "Load each spec against the built-in models and platforms and report every error at once, one per line as "
      "file:line: field.path: message. A valid spec prints its study, family and run count. Exit 2 if any spec "
      "is invalid.");
  p->check->add_option("files", p->check_files, "Study specs (YAML)")->required();
  p->plan = app.add_subcommand(
      "plan",
      "Dry run: what a study would run (variants with grid points expanded, platforms, workloads, seeds, runs, "
      "shared work items), how big its workloads are, and an ESTIMATE of its model work and wall time. A study "
      "above " + std::to_string(spec::kPlanConfirmRuns) + " runs or ~1 core-hour of estimated work is refused "
      "(exit 2) unless --yes is given.");
  p->plan->add_option("spec", p->plan_file, "Study spec (YAML)")->required();
  p->plan->add_flag("--yes", p->yes, "Accept a study above the confirmation threshold");
  p->plan->add_option("--workers", p->workers, "Workers for the wall-time estimate")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  p->plan->add_option("--threads", p->threads, "Threads per worker (0 = cores / workers, at least 1, as `run`)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  p->plan->add_flag("--json", p->json, "Print the plan as one JSON object");
  return p;
}

bool PlanSelected(const PlanCli& p) { return (p.spec && p.spec->parsed()) || (p.plan && p.plan->parsed()); }

int RunPlanCommand(const family::Catalog& catalog, const PlanCli& p) {
  if (p.check->parsed()) return Check(catalog, p);
  if (p.plan->parsed()) return Plan(catalog, p);
  return kExitBadInput;
}

}  // namespace kreplay::cli
