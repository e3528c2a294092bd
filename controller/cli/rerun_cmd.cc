#include "controller/cli/rerun_cmd.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/cli/exit_codes.h"
#include "controller/planner/planner.h"
#include "controller/report/results_file.h"
#include "controller/spec/run_key.h"
#include "controller/spec/spec.h"
#include "controller/store/store.h"
#include "services/codec/convert.h"
#include "services/core/files.h"
#include "workers/executor/executor.h"

namespace kreplay::cli {

struct RerunCli {
  CLI::App* cmd = nullptr;
  std::string key, results, spec, ftrace;
};

namespace fs = std::filesystem;

namespace {

constexpr size_t kMinKeyPrefix = 8;

int Fail(int code, const std::string& msg) {
  std::fprintf(stderr, "kreplay rerun: %s\n", msg.c_str());
  return code;
}
int Fail(const Status& st) { return Fail(ExitCodeFor(st), st.message()); }

// The recorded run the key names, and the result set it is in.
struct Found {
  report::ResultSet set;
  size_t index = 0;
  const report::RunRecord& run() const { return set.runs[index]; }
};

// Looks the key (or a unique prefix) up in `--results DIR`, else in every
// ./kreplay-out/*/results.json.
StatusOr<Found> FindRun(const RerunCli& c) {
  std::string key = c.key;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (key.size() < kMinKeyPrefix || key.find_first_not_of("0123456789abcdef") != std::string::npos)
    return InvalidArgument("RUN_KEY '" + c.key + "': expected a run key or a prefix of at least " +
                           std::to_string(kMinKeyPrefix) + " hex digits (results.json runs[].run_key)");
  std::vector<std::string> files;
  if (!c.results.empty()) {
    files.push_back(c.results);
  } else {
    std::error_code ec;
    for (const auto& d : fs::directory_iterator("kreplay-out", ec))
      if (fs::exists(d.path() / "results.json", ec)) files.push_back((d.path() / "results.json").string());
    std::sort(files.begin(), files.end());
    if (files.empty())
      return InvalidArgument("no ./kreplay-out/*/results.json here; give the result folder with --results DIR");
  }
  std::vector<std::pair<report::ResultSet, size_t>> hits;  // one per distinct full key (first folder wins)
  std::vector<std::string> where;
  for (const auto& f : files) {
    auto set = report::LoadResults(f);
    if (!set.ok()) {
      if (!c.results.empty()) return set.status();
      std::fprintf(stderr, "kreplay rerun: skipping %s: %s\n", f.c_str(), set.status().message().c_str());
      continue;
    }
    for (size_t i = 0; i < set->runs.size(); ++i) {
      const std::string& k = set->runs[i].run_key;
      if (k.compare(0, key.size(), key) != 0) continue;
      bool seen = false;
      for (const auto& h : hits) seen = seen || h.first.runs[h.second].run_key == k;
      if (seen) continue;
      hits.emplace_back(*set, i);
      where.push_back(k + " (" + set->runs[i].variant + "/" + set->runs[i].platform + "/" + set->runs[i].workload +
                      " seed " + std::to_string(set->runs[i].seed) + ", " + set->path + ")");
    }
  }
  std::string searched = c.results.empty() ? "./kreplay-out/*/results.json" : files[0];
  if (hits.empty()) return InvalidArgument("no run with key " + c.key + " in " + searched);
  if (hits.size() > 1) {
    std::string msg = "run key prefix " + c.key + " is ambiguous in " + searched + "; it matches:";
    for (const auto& w : where) msg += "\n  " + w;
    return InvalidArgument(msg);
  }
  return Found{std::move(hits[0].first), hits[0].second};
}

// The spec to expand: --spec, else the study's recorded spec path, else the
// folder's resolved-spec.yaml copy.
StatusOr<std::string> SpecPath(const RerunCli& c, const report::ResultSet& set) {
  if (!c.spec.empty()) return c.spec;
  std::error_code ec;
  const std::string& recorded = set.layout.spec_path;
  if (!recorded.empty() && fs::exists(recorded, ec)) return recorded;
  fs::path resolved = fs::path(set.path).parent_path() / "resolved-spec.yaml";
  if (fs::exists(resolved, ec)) {
    if (!recorded.empty())
      std::fprintf(stderr, "kreplay rerun: %s is gone; using %s\n", recorded.c_str(), resolved.string().c_str());
    return resolved.string();
  }
  return InvalidArgument("no spec for " + set.path + ": provenance.spec_path " +
                         (recorded.empty() ? "is not recorded" : "(" + recorded + ") does not exist") + " and there is no " +
                         resolved.string() + "; give it with --spec FILE");
}

// The planned run of `spec` whose key is `key`: first among the runs named
// like the recorded one (cheap), then among all (a renamed variant keeps its
// key). The plan holds just that run.
StatusOr<std::optional<planner::Plan>> FindPlannedRun(const spec::StudySpec& spec, const report::RunRecord& rec) {
  for (int pass = 0; pass < 2; ++pass) {
    planner::PlanOptions popt;
    if (pass == 0)
      popt.filter = [&](const spec::RunSpec& r) {
        return spec.variants[r.variant].name == rec.variant && spec.platforms[r.platform].name == rec.platform &&
               spec.workloads[r.workload].name == rec.workload && r.seed == rec.seed;
      };
    KREPLAY_ASSIGN_OR_RETURN(planner::Plan plan, planner::StudyPlanner::PlanRuns(spec, popt));
    for (auto& pr : plan.runs) {
      if (pr.run_key != rec.run_key) continue;
      planner::PlannedRun found = std::move(pr);
      plan.runs = {std::move(found)};
      return std::optional<planner::Plan>(std::move(plan));
    }
  }
  return std::optional<planner::Plan>();
}

std::string Exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// results.json keeps non-finite values as null (read back as NaN): any
// non-finite value matches it. Otherwise equal means the same bits.
bool SameRecorded(double recorded, double now) {
  if (std::isnan(recorded)) return !std::isfinite(now);
  return std::bit_cast<uint64_t>(recorded) == std::bit_cast<uint64_t>(now);
}

// Differences between the recorded run (results.json) and the new result.
std::vector<std::string> DiffRecorded(const report::RunRecord& rec, const model::Result& now) {
  std::vector<std::string> d;
  if (rec.result.sim_events != now.sim_events)
    d.push_back("sim_events: recorded " + std::to_string(rec.result.sim_events) + ", rerun " + std::to_string(now.sim_events));
  if (rec.result.sim_time_ns != now.sim_time_ns)
    d.push_back("sim_time_ns: recorded " + std::to_string(rec.result.sim_time_ns) + ", rerun " +
                std::to_string(now.sim_time_ns));
  for (const auto& [name, s] : rec.result.scalars) {
    auto it = now.scalars.find(name);
    if (it == now.scalars.end()) {
      d.push_back("scalars." + name + ": recorded " + Exact(s.value) + ", missing from the rerun");
    } else if (!SameRecorded(s.value, it->second.value)) {
      d.push_back("scalars." + name + ": recorded " + Exact(s.value) + ", rerun " + Exact(it->second.value));
    } else if (s.unit != it->second.unit) {
      d.push_back("scalars." + name + ": unit recorded '" + s.unit + "', rerun '" + it->second.unit + "'");
    }
  }
  for (const auto& [name, s] : now.scalars)
    if (!rec.result.scalars.count(name)) d.push_back("scalars." + name + ": not recorded, rerun " + Exact(s.value));
  return d;
}

// Differences with the ledger's result, which also holds the histograms.
std::vector<std::string> DiffLedger(const model::Result& old, const model::Result& now) {
  std::vector<std::string> d;
  for (const auto& [name, s] : old.scalars) {
    auto it = now.scalars.find(name);
    if (it == now.scalars.end() || !(std::bit_cast<uint64_t>(it->second.value) == std::bit_cast<uint64_t>(s.value)))
      d.push_back("ledger scalars." + name + ": " + Exact(s.value) + " vs " +
                  (it == now.scalars.end() ? std::string("missing") : Exact(it->second.value)));
  }
  for (const auto& [name, h] : old.histograms) {
    auto it = now.histograms.find(name);
    if (it == now.histograms.end() || !(it->second == h)) d.push_back("ledger histograms." + name + " differs");
  }
  for (const auto& [name, h] : now.histograms)
    if (!old.histograms.count(name)) d.push_back("ledger histograms." + name + ": not recorded");
  if (old.series.size() != now.series.size()) d.push_back("ledger series differ");
  if (d.empty()) d.push_back("ledger result bytes differ (same values: encoding changed?)");
  return d;
}

int Rerun(const family::Catalog& catalog, const RerunCli& c) {
  const model::Registry& registry = catalog.models();
  auto found = FindRun(c);
  if (!found.ok()) return Fail(found.status());
  const report::RunRecord& rec = found->run();
  const std::string what = rec.variant + "/" + rec.platform + "/" + rec.workload + " seed " + std::to_string(rec.seed) +
                           ", model " + rec.model + " v" + rec.model_version;
  auto spec_path = SpecPath(c, found->set);
  if (!spec_path.ok()) return Fail(spec_path.status());

  // The folder's resolved-spec.yaml copy names its files relative to where
  // the original spec was, so it is parsed against that directory.
  StatusOr<spec::StudySpec> spec = InvalidArgument("");
  const std::string& recorded = found->set.layout.spec_path;
  if (c.spec.empty() && *spec_path != recorded && !recorded.empty()) {
    auto text = ReadFile(*spec_path);
    if (!text.ok()) return Fail(text.status());
    std::string base = fs::path(recorded).parent_path().string();
    spec = spec::ParseStudySpec(*text, *spec_path + " (paths relative to " + base + ")", base, catalog);
  } else {
    spec = spec::LoadStudySpec(*spec_path, catalog);
  }
  if (!spec.ok()) return Fail(spec.status());
  auto planned = FindPlannedRun(*spec, rec);
  if (!planned.ok()) return Fail(planned.status());
  if (!planned->has_value()) {
    std::string hint;
    const model::ModelInfo* info = registry.Find(rec.model);
    if (!info) {
      hint = " (this build has no model " + rec.model + ")";
    } else if (info->version != rec.model_version) {
      hint = " (" + rec.model + " is v" + info->version + " in this build, the run used v" + rec.model_version + ")";
    }
    return Fail(kExitBadInput, *spec_path + " no longer produces run " + rec.run_key + " (" + what +
                                   "): the spec or its inputs changed since" + hint +
                                   "; give the spec the study ran from with --spec FILE");
  }
  planner::Plan& plan = **planned;
  const planner::PlannedRun& pr = plan.runs.front();
  const spec::RunSpec& r = pr.run;
  const model::ModelInfo* info = registry.Find(r.model);
  const family::FamilyInfo* fam = catalog.Find(info->family);
  if (!c.ftrace.empty() && !fam->ftrace_writer)
    return Fail(kExitBadInput, "--ftrace: " + r.model + " is of family " + info->family +
                                   ", which has no schedule trace (the sched family has)");
  planner::WorkloadInstance& inst = plan.instances[pr.instance];
  if (Status st = planner::StudyPlanner::Build(*spec, inst); !st.ok()) return Fail(st);

  const spec::PlatformEntry& pe = spec->platforms[r.platform];
  const v1::WorkItem item = planner::StudyPlanner::MakeWorkItem(*spec, plan, pr);
  executor::RunRequest request;
  request.item = &item;
  request.params.push_back(r.params);
  request.workload = inst.built;

  std::ofstream trace_file;
  std::unique_ptr<family::RunTraceWriter> writer;
  const std::string trace_tmp = c.ftrace + ".tmp";
  if (!c.ftrace.empty()) {
    trace_file.open(trace_tmp, std::ios::binary | std::ios::trunc);
    if (!trace_file) return Fail(kExitInfra, "--ftrace: cannot write " + trace_tmp);
    writer = fam->ftrace_writer(trace_file, pe.cpus, "run " + rec.run_key + " (" + what + ")");
    request.observer = writer->observer();
  }
  auto res = std::move(executor::ExecuteRun(catalog, request).front());
  if (!res.ok()) return Fail(res.status().WithContext("rerun " + rec.run_key));
  if (writer) {
    trace_file.close();
    std::error_code ec;
    if (!trace_file) return Fail(kExitInfra, "--ftrace: writing " + trace_tmp + " failed");
    fs::rename(trace_tmp, c.ftrace, ec);
    if (ec) return Fail(kExitInfra, "--ftrace: " + c.ftrace + ": " + ec.message());
    std::fprintf(stderr, "kreplay rerun: wrote %llu trace lines to %s\n",
                 static_cast<unsigned long long>(writer->lines()), c.ftrace.c_str());
  }

  // Compare as the result was recorded: through the wire format.
  const std::string bytes = codec::SerializeResult(*res);
  auto back = codec::ParseResult(bytes);
  if (!back.ok()) return Fail(kExitInfra, "re-reading the new result: " + back.status().message());
  std::vector<std::string> diffs = DiffRecorded(rec, *back);

  std::string ledger_note;
  const fs::path db = fs::path(found->set.path).parent_path() / "kreplay.db";
  std::error_code ec;
  if (fs::exists(db, ec)) {
    auto store = store::Store::Open(db.string());
    if (!store.ok()) return Fail(kExitInfra, "ledger " + db.string() + ": " + store.status().message());
    auto old = (*store)->GetResult(rec.run_key);
    if (!old.ok()) return Fail(kExitInfra, "ledger " + db.string() + ": " + old.status().message());
    if (!old->has_value()) {
      ledger_note = "; not in the ledger";
    } else if (**old == bytes) {
      ledger_note = ", ledger bytes equal";
    } else {
      auto parsed = codec::ParseResult(**old);
      if (!parsed.ok()) {
        diffs.push_back("ledger result bytes differ and do not parse: " + parsed.status().message());
      } else {
        for (auto& d : DiffLedger(*parsed, *back)) diffs.push_back(std::move(d));
      }
    }
  }
  if (!diffs.empty()) {
    std::printf("run %s (%s): DIFFERS from the recorded result (%zu fields)\n", rec.run_key.c_str(), what.c_str(),
                diffs.size());
    for (const auto& d : diffs) std::printf("  %s\n", d.c_str());
    return kExitRegression;
  }
  std::printf("run %s (%s): bit-identical (%zu scalars, %llu events%s)\n", rec.run_key.c_str(), what.c_str(),
              back->scalars.size(), static_cast<unsigned long long>(back->sim_events), ledger_note.c_str());
  return kExitOk;
}

}  // namespace

std::shared_ptr<RerunCli> AddRerunCommand(CLI::App& app) {
  auto c = std::make_shared<RerunCli>();
  c->cmd = app.add_subcommand(
      "rerun",
      "Run one recorded run again in this process and check the result is bit-identical.\n"
      "Exit codes: 0 bit-identical, 1 differs (the differing fields are listed), 2 bad input (unknown or ambiguous "
      "key, missing spec, the spec no longer produces the run), 3 output or ledger failure.");
  c->cmd->add_option("run_key", c->key, "Run key (results.json runs[].run_key), or a unique prefix of >= 8 hex digits")
      ->required();
  c->cmd->add_option("--results", c->results,
                     "Result folder (or its results.json); default: search ./kreplay-out/*/results.json");
  c->cmd->add_option("--spec", c->spec,
                     "Study spec to rebuild the run from (default: provenance.spec_path, else the folder's "
                     "resolved-spec.yaml)");
  c->cmd->add_option("--ftrace", c->ftrace,
                     "Also write the run's simulated schedule here as ftrace text (sched_switch, sched_wakeup, "
                     "sched_migrate_task, cpu_frequency, cpu_idle; scheduler models only)");
  return c;
}

bool RerunSelected(const RerunCli& r) { return r.cmd && r.cmd->parsed(); }

int RunRerunCommand(const family::Catalog& catalog, const RerunCli& r) { return Rerun(catalog, r); }

}  // namespace kreplay::cli
