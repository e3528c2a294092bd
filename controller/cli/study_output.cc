#include "controller/cli/study_output.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "controller/cli/exit_codes.h"
#include "controller/cli/progress.h"
#include "controller/planner/planner.h"
#include "controller/report/curves.h"
#include "controller/report/report.h"
#include "services/codec/convert.h"
#include "services/core/files.h"
#include "services/rpc/status.h"
#include "workers/executor/executor.h"

namespace kreplay::cli {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// Builds the report, prints the table, applies the gate, writes the output
// folder and the curves.
int EmitReport(const spec::StudySpec& spec, const family::Catalog& catalog, std::vector<report::RunRecord> records,
               const std::string& out, bool quiet, const GatePlan& gate_plan) {
  auto rep = report::BuildReport(spec, std::move(records), report::LocalHostName());
  if (!rep.ok()) return ReportFailure(rep.status());
  if (!quiet) std::fputs(report::FormatTable(*rep).c_str(), stdout);
  // The gate is judged before anything is written so that results.json,
  // summary.md and junit.xml tell the same story.
  std::optional<gate::GateResult> verdict;
  // A junit.xml from an earlier run in this folder must not outlive it: CI
  // would publish a stale verdict.
  std::error_code ec;
  fs::remove(fs::path(out) / "junit.xml", ec);
  if (gate_plan.active) {
    auto g = ApplyGate(gate_plan, *rep);
    if (!g.ok()) {
      // The results are still worth keeping: write them, then report the error.
      Status written = report::WriteReport(*rep, out);
      return ReportFailure(g.status().WithContext("regression gate (results " +
                                         (written.ok() ? "written to " + out : "not written: " + written.ToString()) + ")"));
    }
    verdict = std::move(*g);
  }
  Status st = verdict ? report::WriteReport(*rep, out, "gate", gate::GateJson(*verdict), gate::GateMarkdown(*verdict))
                      : report::WriteReport(*rep, out);
  if (st.ok() && verdict) st = WriteFileAtomic(out + "/junit.xml", gate::GateJunitXml(*verdict, rep->study));
  if (!st.ok()) return ReportFailure(st);
  std::fprintf(stderr, "kreplay: wrote %s/{results.json,results.csv,aggregates.csv,summary.md,resolved-spec.yaml%s}\n",
               out.c_str(), verdict ? ",junit.xml" : "");
  // What-if curves: metrics against the swept size, when the grid has one,
  // and the series the study's family draws (block.mrc's one-pass MRC).
  const std::string x = report::ChooseXParam(spec, catalog.models());
  const family::FamilyInfo* fam = catalog.Find(spec.family);
  auto curves = report::BuildCurves(*rep, x, rep->metrics,
                                    fam ? fam->curve_series : std::vector<family::FamilyInfo::CurveSeries>{});
  if (curves.ok() && !curves->empty()) {
    st = report::WriteCurveFiles(*curves, out);
    if (!st.ok()) return ReportFailure(st);
    std::string xs = x;
    if (xs.empty())  // the family's series curves, each with its own x
      for (const auto& c : *curves)
        if (xs.find(c.x_param) == std::string::npos) xs += (xs.empty() ? "" : ", ") + c.x_param;
    std::fprintf(stderr, "kreplay: wrote %s/curves.csv and one curves-<metric>.svg per metric (x: %s)\n", out.c_str(),
                 xs.c_str());
  }
  if (verdict) {
    std::fputs(gate::GateText(*verdict).c_str(), stdout);
    std::fflush(stdout);
    if (!verdict->passed()) return kExitRegression;
  }
  return kExitOk;
}

}  // namespace

std::string DefaultOut(const spec::StudySpec& spec) { return "kreplay-out/" + spec.name; }

int WatchAndReport(v1::Controller::Stub& stub, const std::string& study_id, const spec::StudySpec& spec,
                   const family::Catalog& catalog,
                   const std::string& out, const std::string& progress_mode, bool quiet, SignalWatcher& signals,
                   const GatePlan& gate_plan) {
  ProgressPrinter progress(progress_mode);
  v1::StudyProgress last;
  for (;;) {
    if (signals.interrupted()) break;
    grpc::ClientContext ctx;
    signals.OnSignal([&ctx] { ctx.TryCancel(); });
    v1::WatchStudyRequest req;
    req.set_study_id(study_id);
    auto reader = stub.WatchStudy(&ctx, req);
    v1::StudyProgress p;
    while (reader->Read(&p)) {
      last = p;
      progress.Update(p);
    }
    grpc::Status s = reader->Finish();
    signals.OnSignal(nullptr);
    if (last.state() != v1::STUDY_RUNNING && last.state() != v1::STUDY_PENDING && last.state() != 0) break;
    if (signals.interrupted()) break;
    if (!s.ok()) {
      PrintError("watching study " + study_id + ": " + s.error_message() + " (retrying)");
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  if (signals.interrupted()) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::CancelStudyRequest req;
    req.set_study_id(study_id);
    v1::CancelStudyResponse resp;
    (void)stub.CancelStudy(&ctx, req, &resp);
    PrintError("interrupted: study " + study_id + " cancelled; continue it with --resume");
    return kExitInterrupted;
  }
  if (last.state() != v1::STUDY_SUCCEEDED) {
    PrintError("study " + study_id + " ended " + v1::StudyState_Name(last.state()) + ": " + last.message());
    return kExitInfra;
  }
  // Fetch every run with its result.
  std::vector<report::RunRecord> records;
  grpc::ClientContext ctx;
  v1::GetStudyRunsRequest req;
  req.set_study_id(study_id);
  auto reader = stub.GetStudyRuns(&ctx, req);
  v1::StudyRun run;
  while (reader->Read(&run)) {
    if (run.state() != v1::RUN_DONE) continue;
    auto result = codec::ParseResult(run.result());
    if (!result.ok()) return ReportFailure(result.status().WithContext("run " + run.run_key()));
    report::RunRecord r;
    r.run_key = run.run_key();
    r.variant = run.variant();
    r.platform = run.platform();
    r.workload = run.workload();
    r.seed = run.seed();
    r.model = run.model();
    r.model_version = run.model_version();
    r.params = codec::ParamsFromProto(run.params()).Canonical();
    r.platform_digest = run.platform_digest();
    r.workload_digest = run.workload_digest();
    r.result = std::move(*result);
    records.push_back(std::move(r));
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return ReportFailure(rpc::FromGrpc(s, "fetching results"));
  return EmitReport(spec, catalog, std::move(records), out, quiet, gate_plan);
}

int RunLocal(const spec::StudySpec& spec, const family::Catalog& catalog, const std::string& out, int threads,
             bool quiet, const std::string& progress_mode, SignalWatcher& signals, const GatePlan& gate_plan) {
  std::vector<spec::RunSpec> runs = spec::ExpandRuns(spec);
  // Progress as a distributed study reports it, so that --progress plain/json
  // lines read the same either way (one "worker": this process).
  ProgressPrinter progress(quiet && progress_mode == "auto" ? "none" : progress_mode);
  std::mutex progress_mu;
  std::atomic<uint64_t> sim_events{0};
  std::atomic<uint64_t> failed_runs{0};
  const auto started = Clock::now();
  auto report_progress = [&](size_t finished, v1::StudyState state) {
    v1::StudyProgress p;
    p.set_study_id("local:" + spec.name);
    p.set_state(state);
    p.set_runs_total(runs.size());
    // As the controller counts them: done and failed apart.
    const uint64_t failed = failed_runs.load();
    p.set_runs_done(finished - std::min<uint64_t>(finished, failed));
    p.set_runs_failed(failed);
    p.set_workers_alive(1);
    double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    p.set_elapsed_seconds(elapsed);
    p.set_sim_events_per_second(elapsed > 0 ? static_cast<double>(sim_events.load()) / elapsed : 0);
    std::lock_guard<std::mutex> lock(progress_mu);
    progress.Update(p);
  };
  // The controller's planner, keeping every workload built; each run goes
  // through its work item and ExecuteRun, as on a worker.
  planner::PlanOptions popt;
  popt.keep_built = true;
  popt.threads = threads;
  auto plan = planner::StudyPlanner::PlanRuns(spec, popt);
  if (!plan.ok()) return ReportFailure(plan.status());
  std::vector<report::RunRecord> records(runs.size());
  std::vector<Status> errors(runs.size());
  std::atomic<size_t> next{0}, finished{0};
  std::atomic<bool> cancel{false};
  signals.OnSignal([&] { cancel.store(true); });
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < runs.size();) {
      const planner::PlannedRun& pr = plan->runs[i];
      const spec::RunSpec& r = pr.run;
      const v1::WorkItem item = planner::StudyPlanner::MakeWorkItem(spec, *plan, pr);
      executor::RunRequest request;
      request.item = &item;
      request.params.push_back(r.params);
      request.workload = plan->instances[pr.instance].built;
      request.cancel = &cancel;
      auto res = std::move(executor::ExecuteRun(catalog, request).front());
      if (!res.ok()) {
        errors[i] = res.status();
        failed_runs.fetch_add(1);
      } else {
        const auto& pe = spec.platforms[r.platform];
        auto& rec = records[i];
        rec.variant = spec.variants[r.variant].name;
        rec.platform = pe.name;
        rec.workload = spec.workloads[r.workload].name;
        rec.seed = r.seed;
        rec.model = r.model;
        rec.model_version = r.model_version;
        rec.params = r.params.Canonical();
        rec.platform_digest = pe.digest;
        rec.workload_digest = plan->instances[pr.instance].digest;
        rec.run_key = pr.run_key;
        // Through the wire format, as a distributed run's result is.
        auto back = codec::ParseResult(codec::SerializeResult(*res));
        rec.result = std::move(*back);
        sim_events.fetch_add(rec.result.sim_events);
      }
      size_t f = finished.fetch_add(1) + 1;
      report_progress(f, v1::STUDY_RUNNING);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  signals.OnSignal(nullptr);
  if (cancel.load()) {
    report_progress(finished.load(), v1::STUDY_CANCELLED);
    PrintError("interrupted: nothing recorded (--local keeps no ledger); run again to redo it");
    return kExitInterrupted;
  }
  bool failed = false;
  for (const auto& e : errors) failed |= !e.ok();
  report_progress(finished.load(), failed ? v1::STUDY_FAILED : v1::STUDY_SUCCEEDED);
  for (size_t i = 0; i < runs.size(); ++i)
    if (!errors[i].ok()) return ReportFailure(errors[i].WithContext("run " + spec.variants[runs[i].variant].name));
  return EmitReport(spec, catalog, std::move(records), out, quiet, gate_plan);
}

}  // namespace kreplay::cli
