#include "controller/cli/commands.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "controller/cli/exit_codes.h"
#include "controller/cli/subprocess.h"
#include "controller/planner/planner.h"
#include "controller/report/curves.h"
#include "controller/report/report.h"
#include "controller/server/server.h"
#include "controller/spec/plan.h"
#include "controller/spec/run_key.h"
#include "controller/spec/spec.h"
#include "kreplay/v1/controller.grpc.pb.h"
#include "services/bus/embedded_broker.h"
#include "services/bus/topics.h"
#include "services/codec/convert.h"
#include "services/core/digest.h"
#include "services/core/files.h"
#include "services/core/parallel.h"
#include "services/core/strings.h"
#include "services/rpc/status.h"
#include "workers/models/blockcache/devices/profiles.h"
#include "workers/models/builtin.h"
#include "workers/models/sched/platforms/platforms.h"
#include "services/workload/rtapp.h"
#include "services/workload/synth.h"
#include "workers/executor/executor.h"
#include "workers/worker/worker.h"

namespace kreplay::cli {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// Blocks SIGINT/SIGTERM process-wide (call before starting threads) and runs
// `on_signal` on a dedicated thread when one arrives.
class SignalWatcher {
 public:
  SignalWatcher() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] {
      int sig = 0;
      while (sigwait(&set_, &sig) == 0) {
        if (done_.load()) return;
        signal_.store(sig);
        // The callback runs under the lock, so once OnSignal(nullptr) returns
        // no callback is still touching what it captured (a gRPC context on
        // the caller's stack: cancelling a destroyed one aborts the process).
        std::lock_guard<std::mutex> lock(mu_);
        if (on_signal_) on_signal_();
      }
    });
  }
  ~SignalWatcher() {
    done_.store(true);
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }
  void OnSignal(std::function<void()> cb) {
    std::lock_guard<std::mutex> lock(mu_);
    on_signal_ = std::move(cb);
  }
  int signal() const { return signal_.load(); }
  bool interrupted() const { return signal_.load() != 0; }
  // Sleeps until a signal arrives.
  void WaitForSignal() {
    while (!interrupted()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

 private:
  sigset_t set_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::atomic<int> signal_{0};
  std::mutex mu_;
  std::function<void()> on_signal_;
};


// Hands a listening port to whoever started us (tests, `kreplay run`).
Status WritePortFile(const std::string& path, int port) {
  if (path.empty()) return OkStatus();
  return WriteFileAtomic(path, std::to_string(port) + "\n");
}


StatusOr<bus::KafkaConfig> KafkaFrom(const std::string& bootstrap, const std::vector<std::string>& props) {
  bus::KafkaConfig k;
  k.bootstrap_servers = bootstrap;
  KREPLAY_RETURN_IF_ERROR(bus::AddKafkaProperties(props, "-X", &k));
  return k;
}

// ---- progress ---------------------------------------------------------------

class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::string mode) : mode_(std::move(mode)) {
    if (mode_ == "auto") mode_ = ::isatty(2) ? "bar" : "plain";
  }
  void Update(const v1::StudyProgress& p) {
    if (mode_ == "none") return;
    uint64_t finished = p.runs_done() + p.runs_failed();
    double rate = p.elapsed_seconds() > 0 ? static_cast<double>(finished - p.runs_reused()) / p.elapsed_seconds() : 0;
    double eta = rate > 0 ? static_cast<double>(p.runs_total() - finished) / rate : -1;
    bool terminal = p.state() != v1::STUDY_RUNNING && p.state() != v1::STUDY_PENDING;
    auto now = Clock::now();
    // Throttled (a line per finished run would flood CI logs), but the first
    // and the terminal update always print.
    auto gap = mode_ == "bar" ? std::chrono::milliseconds(200) : std::chrono::milliseconds(2000);
    if (!terminal && last_finished_ != UINT64_MAX && now - last_print_ < gap) return;
    last_finished_ = finished;
    last_print_ = now;
    if (mode_ == "json") {
      std::fprintf(stderr, "{\"study\":\"%s\",\"state\":\"%s\",\"runs_total\":%llu,\"runs_done\":%llu,\"runs_failed\":%llu,"
                  "\"runs_reused\":%llu,\"workers_alive\":%u,\"sim_events_per_second\":%.0f,\"republished\":%llu,"
                  "\"trace_resends\":%llu,\"elapsed_seconds\":%.3f,\"eta_seconds\":%.1f}\n",
                  p.study_id().c_str(), v1::StudyState_Name(p.state()).c_str(),
                  static_cast<unsigned long long>(p.runs_total()), static_cast<unsigned long long>(p.runs_done()),
                  static_cast<unsigned long long>(p.runs_failed()), static_cast<unsigned long long>(p.runs_reused()),
                  p.workers_alive(), p.sim_events_per_second(), static_cast<unsigned long long>(p.republished()),
                  static_cast<unsigned long long>(p.trace_resends()), p.elapsed_seconds(), eta);
      std::fflush(stderr);
      return;
    }
    char line[512];
    std::snprintf(line, sizeof line, "%llu/%llu runs (%llu reused, %llu failed), %u workers, %s events/s, "
                  "re-published %llu, trace re-sends %llu, %s",
                  static_cast<unsigned long long>(finished), static_cast<unsigned long long>(p.runs_total()),
                  static_cast<unsigned long long>(p.runs_reused()), static_cast<unsigned long long>(p.runs_failed()),
                  p.workers_alive(), FormatRate(p.sim_events_per_second()).c_str(),
                  static_cast<unsigned long long>(p.republished()), static_cast<unsigned long long>(p.trace_resends()),
                  terminal ? ("done in " + FormatSeconds(p.elapsed_seconds())).c_str()
                           : ("ETA " + (eta >= 0 ? FormatSeconds(eta) : std::string("?"))).c_str());
    if (mode_ == "bar") {
      int width = 24;
      int fill = p.runs_total() ? static_cast<int>(width * finished / p.runs_total()) : width;
      std::string bar = "[" + std::string(static_cast<size_t>(fill), '#') + std::string(static_cast<size_t>(width - fill), '.') + "] ";
      std::fprintf(stderr, "\r\033[K%s%s", bar.c_str(), line);
      if (terminal) std::fprintf(stderr, "\n");
    } else {
      std::fprintf(stderr, "progress: %s\n", line);
    }
  }

 private:
  // "12.3 M", "45 k" or "7": simulated events per second.
  static std::string FormatRate(double r) {
    char b[32];
    if (r >= 1e6) std::snprintf(b, sizeof b, "%.1f M", r / 1e6);
    else if (r >= 1e3) std::snprintf(b, sizeof b, "%.0f k", r / 1e3);
    else std::snprintf(b, sizeof b, "%.0f", r);
    return b;
  }
  static std::string FormatSeconds(double s) {
    char b[32];
    if (s < 60) std::snprintf(b, sizeof b, "%.1fs", s);
    else std::snprintf(b, sizeof b, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(std::fmod(s, 60)));
    return b;
  }
  std::string mode_;
  uint64_t last_finished_ = UINT64_MAX;
  Clock::time_point last_print_{};
};

// ---- reports -------------------------------------------------------------------

int EmitReport(const spec::StudySpec& spec, const model::Registry& registry, std::vector<report::RunRecord> records, const std::string& out, bool quiet,
               const GatePlan& gate_plan) {
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
  // and the one-pass MRC of block.mrc runs.
  const std::string x = report::ChooseXParam(spec, registry);
  auto curves = report::BuildCurves(*rep, x, rep->metrics);
  if (curves.ok() && !curves->empty()) {
    st = report::WriteCurveFiles(*curves, out);
    if (!st.ok()) return ReportFailure(st);
    std::fprintf(stderr, "kreplay: wrote %s/curves.csv and one curves-<metric>.svg per metric (x: %s)\n", out.c_str(),
                 x.empty() ? "cache size of the one-pass MRC" : x.c_str());
  }
  if (verdict) {
    std::fputs(gate::GateText(*verdict).c_str(), stdout);
    std::fflush(stdout);
    if (!verdict->passed()) return kExitRegression;
  }
  return kExitOk;
}

// Watches a study to its end, fetches its runs and writes the report.
int WatchAndReport(v1::Controller::Stub& stub, const std::string& study_id, const spec::StudySpec& spec,
                   const model::Registry& registry,
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
  return EmitReport(spec, registry, std::move(records), out, quiet, gate_plan);
}

std::string DefaultOut(const spec::StudySpec& spec) { return "kreplay-out/" + spec.name; }

// Runs every model in this process: no broker, no workers. The reference that
// distributed runs must equal bit for bit.
int RunLocal(const spec::StudySpec& spec, const model::Registry& registry, const std::string& out, int threads,
             bool quiet, const std::string& progress_mode, SignalWatcher& signals, const GatePlan& gate_plan) {
  std::vector<spec::RunSpec> runs = spec::ExpandRuns(spec);
  // Progress as a distributed study reports it, so that --progress plain/json
  // lines read the same either way (one "worker": this process).
  ProgressPrinter progress(quiet && progress_mode == "auto" ? "none" : progress_mode);
  std::mutex progress_mu;
  std::atomic<uint64_t> sim_events{0};
  const auto started = Clock::now();
  auto report_progress = [&](size_t finished, v1::StudyState state) {
    v1::StudyProgress p;
    p.set_study_id("local:" + spec.name);
    p.set_state(state);
    p.set_runs_total(runs.size());
    p.set_runs_done(finished);
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
      auto res = std::move(executor::ExecuteRun(registry, request).front());
      if (!res.ok()) {
        errors[i] = res.status();
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
  return EmitReport(spec, registry, std::move(records), out, quiet, gate_plan);
}

// Waits for a file to appear with content (a child's "ready" signal).
StatusOr<std::string> WaitForFile(const std::string& path, Subprocess& child, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    std::ifstream in(path);
    std::string s;
    if (in && std::getline(in, s) && !s.empty()) return s;
    if (!child.running()) return Unavailable("child process exited before writing " + path);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return DeadlineExceeded("timed out waiting for " + path);
}

}  // namespace

// ---------------------------------------------------------------------------

int CmdRun(const model::Registry& registry, const RunOptions& o) {
  SignalWatcher signals;
  // Flags first: a bad -X is reported even when --local would not use it.
  auto kafka_check = KafkaFrom(o.bootstrap, o.kafka_props);
  if (!kafka_check.ok()) return ReportFailure(kafka_check.status());
  auto spec = spec::LoadStudySpec(o.spec, registry);
  if (!spec.ok()) return ReportFailure(spec.status());
  if (Status st = spec::CheckPlanSize(*spec, registry, o.yes); !st.ok()) return ReportFailure(st);
  auto gate_plan = PlanGate(*spec, registry, o.gate);
  if (!gate_plan.ok()) return ReportFailure(gate_plan.status());
  std::string out = o.out.empty() ? DefaultOut(*spec) : o.out;
  if (Status st = CheckBaselineNotOut(*gate_plan, out); !st.ok()) return ReportFailure(st);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return ReportFailure(InvalidArgument("--out " + out + ": " + ec.message()));
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (o.local) return RunLocal(*spec, registry, out, o.threads > 0 ? o.threads : static_cast<int>(cores), o.quiet, o.progress, signals, *gate_plan);

  std::string run_dir = out + "/.run";
  fs::create_directories(run_dir, ec);
  std::string self = SelfExe();
  Subprocess broker;
  std::string bootstrap = o.bootstrap;
  if (bootstrap.empty()) {
    std::string bfile = run_dir + "/bootstrap";
    fs::remove(bfile, ec);
    auto b = Subprocess::Spawn({self, "broker", "--bootstrap-file", bfile, "--topic-prefix", o.topic_prefix,
                                "--work-partitions", std::to_string(std::max(8, 4 * o.workers * 2))},
                               run_dir + "/broker.log");
    if (!b.ok()) return ReportFailure(b.status());
    broker = std::move(*b);
    auto bs = WaitForFile(bfile, broker, std::chrono::seconds(20));
    if (!bs.ok()) return ReportFailure(bs.status().WithContext("embedded broker (log: " + run_dir + "/broker.log)"));
    bootstrap = *bs;
  }
  auto kafka = KafkaFrom(bootstrap, o.kafka_props);
  if (!kafka.ok()) return ReportFailure(kafka.status());
  server::ControllerOptions co;
  co.data_dir = out;
  co.db_path = o.db;
  co.kafka = *kafka;
  co.topic_prefix = o.topic_prefix;
  auto controller = server::ControllerServer::Start(co);
  if (!controller.ok()) return ReportFailure(controller.status());
  int threads = o.threads > 0 ? o.threads : std::max(1, static_cast<int>(cores) / o.workers);
  std::vector<Subprocess> workers;
  for (int i = 0; i < o.workers; ++i) {
    std::vector<std::string> argv = {self, "worker", "--controller", (*controller)->address(), "--bootstrap-servers",
                                     bootstrap, "--threads", std::to_string(threads), "--id",
                                     "w" + std::to_string(i) + "-" + std::to_string(::getpid()), "--topic-prefix",
                                     o.topic_prefix, "--grace-seconds", "5"};
    for (const auto& p : o.kafka_props) {
      argv.push_back("-X");
      argv.push_back(p);
    }
    auto w = Subprocess::Spawn(argv, run_dir + "/worker" + std::to_string(i) + ".log");
    if (!w.ok()) return ReportFailure(w.status());
    workers.push_back(std::move(*w));
  }
  std::fprintf(stderr, "kreplay: broker %s, controller %s, %d workers x %d threads (logs in %s)\n", bootstrap.c_str(),
               (*controller)->address().c_str(), o.workers, threads, run_dir.c_str());

  auto stub = v1::Controller::NewStub(rpc::MakeChannel((*controller)->address()));
  auto text = ReadFile(o.spec);
  if (!text.ok()) return ReportFailure(text.status());
  v1::SubmitStudyRequest req;
  req.set_spec_yaml(*text);
  req.set_spec_path(fs::absolute(o.spec).string());
  req.set_resume(o.resume);
  req.set_request_id(o.resume ? "" : "run-" + Sha256Hex(*text + std::to_string(::getpid()) +
                                                       std::to_string(Clock::now().time_since_epoch().count())).substr(0, 16));
  v1::SubmitStudyResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub->SubmitStudy(&ctx, req, &resp);
  if (!s.ok()) return ReportFailure(rpc::FromGrpc(s, "submit"));
  std::fprintf(stderr, "kreplay: study %s: %llu runs (%llu already recorded)\n", resp.study_id().c_str(),
               static_cast<unsigned long long>(resp.runs_total()), static_cast<unsigned long long>(resp.runs_reused()));
  int rc = WatchAndReport(*stub, resp.study_id(), *spec, registry, out, o.progress, o.quiet, signals, *gate_plan);
  // Order matters: workers, then the controller (its producer flushes to
  // the broker), then the broker.
  for (auto& w : workers) w.Signal(SIGTERM);  // all at once: each takes ~2 s to leave the group
  for (auto& w : workers) w.Stop(std::chrono::seconds(10));
  controller->reset();
  broker.Stop(std::chrono::seconds(5));
  return rc;
}

int CmdBroker(const BrokerOptions& o) {
  SignalWatcher signals;
  auto topics = bus::KreplayTopics(o.topic_prefix, "--topic-prefix");
  if (!topics.ok()) return ReportFailure(topics.status());
  auto broker = bus::EmbeddedBroker::Start(o.brokers, {{topics->work, o.work_partitions}, {topics->traces, o.trace_partitions}});
  if (!broker.ok()) return ReportFailure(broker.status());
  if (!o.bootstrap_file.empty()) {
    Status st = WriteFileAtomic(o.bootstrap_file, (*broker)->bootstrap_servers() + "\n");
    if (!st.ok()) return ReportFailure(st);
  }
  std::printf("kreplay broker: %s (topics %s x%d, %s x%d)\n", (*broker)->bootstrap_servers().c_str(),
              topics->work.c_str(), o.work_partitions, topics->traces.c_str(), o.trace_partitions);
  std::fflush(stdout);
  signals.WaitForSignal();
  return kExitOk;
}

int CmdController(const model::Registry& registry, const ControllerCliOptions& o) {
  SignalWatcher signals;
  auto kafka = KafkaFrom(o.bootstrap, o.kafka_props);
  if (!kafka.ok()) return ReportFailure(kafka.status());
  server::ControllerOptions co;
  co.listen = o.listen;
  co.data_dir = o.data_dir;
  co.db_path = o.db;
  co.kafka = *kafka;
  co.topic_prefix = o.topic_prefix;
  co.trace_window_bytes = o.trace_window_bytes;
  co.lease_seconds = o.lease_seconds;
  co.reuse_published_traces = o.reuse_traces;
  co.metrics_listen = o.metrics_listen;
  auto controller = server::ControllerServer::Start(co);
  if (!controller.ok()) return ReportFailure(controller.status());
  Status st = WritePortFile(o.port_file, (*controller)->port());
  if (st.ok()) st = WritePortFile(o.metrics_port_file, (*controller)->metrics_port());
  if (!st.ok()) return ReportFailure(st);
  std::printf("kreplay controller: listening on port %d, metrics on port %d\n", (*controller)->port(),
              (*controller)->metrics_port());
  std::fflush(stdout);
  signals.WaitForSignal();
  (*controller)->Shutdown();
  return kExitOk;
}

int CmdWorker(const model::Registry& registry, const WorkerCliOptions& o) {
  SignalWatcher signals;
  auto kafka = KafkaFrom(o.bootstrap, o.kafka_props);
  if (!kafka.ok()) return ReportFailure(kafka.status());
  worker::WorkerOptions wo;
  wo.registry = &registry;
  wo.controller = o.controller;
  wo.kafka = *kafka;
  wo.topic_prefix = o.topic_prefix;
  wo.threads = o.threads;
  wo.worker_id = o.id;
  wo.metrics_listen = o.metrics_listen;
  wo.session_timeout_ms = o.session_timeout_ms;
  wo.shutdown_grace_seconds = o.grace_seconds;
  auto w = worker::Worker::Start(wo);
  if (!w.ok()) return ReportFailure(w.status());
  if (Status st = WritePortFile(o.metrics_port_file, (*w)->metrics_port()); !st.ok()) return ReportFailure(st);
  std::fprintf(stderr, "kreplay worker %s: running, metrics on port %d\n", (*w)->worker_id().c_str(), (*w)->metrics_port());
  signals.WaitForSignal();
  (*w)->RequestStop();
  Status st = (*w)->Wait();
  int rc = st.ok() ? kExitOk : ReportFailure(st);
  // Everything that must survive is out: results recorded, offsets committed,
  // the group left. Skip the destructors: freeing gigabytes of cached
  // workloads one vector at a time takes seconds the OS does at once.
  std::fflush(nullptr);
  std::_Exit(rc);
}

int CmdSubmit(const model::Registry& registry, const SubmitOptions& o) {
  SignalWatcher signals;
  auto spec = spec::LoadStudySpec(o.spec, registry);
  if (!spec.ok()) return ReportFailure(spec.status());
  if (!o.wait && (!o.gate.baseline.empty() || !o.gate.fail_if.empty() || o.gate.alpha > 0 ||
                  o.gate.allow_model_change || o.gate.no_gate))
    return ReportFailure(InvalidArgument("--baseline/--fail-if/--alpha/--allow-model-change/--no-gate need --wait (the gate "
                                "judges the finished study)"));
  GatePlan no_gate;
  auto gate_plan = o.wait ? PlanGate(*spec, registry, o.gate) : StatusOr<GatePlan>(no_gate);
  if (!gate_plan.ok()) return ReportFailure(gate_plan.status());
  if (o.wait) {
    if (Status st = CheckBaselineNotOut(*gate_plan, o.out.empty() ? DefaultOut(*spec) : o.out); !st.ok())
      return ReportFailure(st);
  }
  auto text = ReadFile(o.spec);
  if (!text.ok()) return ReportFailure(text.status());
  auto stub = v1::Controller::NewStub(rpc::MakeChannel(o.controller));
  v1::SubmitStudyRequest req;
  req.set_spec_yaml(*text);
  req.set_spec_path(fs::absolute(o.spec).string());
  req.set_resume(o.resume);
  req.set_request_id(!o.request_id.empty() ? o.request_id
                                           : "submit-" + Sha256Hex(*text + std::to_string(::getpid()) +
                                                                   std::to_string(Clock::now().time_since_epoch().count()))
                                                             .substr(0, 16));
  v1::SubmitStudyResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  grpc::Status s = stub->SubmitStudy(&ctx, req, &resp);
  if (!s.ok()) return ReportFailure(rpc::FromGrpc(s, "submit to " + o.controller));
  std::printf("%s\n", resp.study_id().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "kreplay: study %s: %llu runs (%llu already recorded)%s\n", resp.study_id().c_str(),
               static_cast<unsigned long long>(resp.runs_total()), static_cast<unsigned long long>(resp.runs_reused()),
               resp.existing() ? " [existing study]" : "");
  if (!o.wait) return kExitOk;
  return WatchAndReport(*stub, resp.study_id(), *spec, registry, o.out.empty() ? DefaultOut(*spec) : o.out, o.progress, false,
                        signals, *gate_plan);
}

int CmdModels(const model::Registry& registry, const std::string& describe) {
  if (describe.empty()) {
    for (const auto* m : registry.List())
      std::printf("%-14s %-8s %s\n", m->name.c_str(), m->version.c_str(), m->description.c_str());
    return kExitOk;
  }
  const model::ModelInfo* m = registry.Find(describe);
  if (!m) return ReportFailure(NotFound("unknown model '" + describe + "' (known: " + Join(registry.Names(), ", ") + ")"));
  std::printf("%s %s (%s family)\n  %s\n  mirrors: %s\n\nParameters:\n", m->name.c_str(), m->version.c_str(),
              m->family.c_str(), m->description.c_str(), m->mirrors.c_str());
  for (const auto& p : m->params) {
    std::string bounds;
    if (p.min || p.max)
      bounds = " [" + (p.min ? FormatDouble(*p.min) : std::string("-inf")) + ", " +
               (p.max ? FormatDouble(*p.max) : std::string("inf")) + "]";
    if (!p.choices.empty()) bounds = " {" + Join(p.choices, ", ") + "}";
    std::printf("  %-28s %-6s default %s%s%s\n      %s\n", p.name.c_str(), model::ParamTypeName(p.type),
                model::ParamValueText(p.default_value).c_str(), p.unit.empty() ? "" : (" " + p.unit).c_str(),
                bounds.c_str(), p.help.c_str());
  }
  std::printf("\nMetrics:\n");
  for (const auto& x : m->metrics)
    std::printf("  %-32s %-6s %-6s %s\n", x.name.c_str(), x.unit.c_str(), model::BetterName(x.better), x.help.c_str());
  std::printf("\nA scalar metric is one value per run; reports average it over seeds (mean, 95%% Student-t CI),\n"
              "so a percentile scalar such as wakeup_latency_p99_us is the mean of per-run percentiles. A\n"
              "histogram metric (unit ns, e.g. wakeup_latency) is merged over seeds: its \"pooled\" percentiles\n"
              "are percentiles of all samples together.\n"
              "Gate rules: METRIC:+X%% / METRIC:-X%% / METRIC:X%% (the bad direction above; docs/outputs.md).\n");
  return kExitOk;
}

int CmdPlatforms(const std::string& show) {
  if (!show.empty()) {
    auto y = platforms::BuiltinPlatformYaml(show);
    if (!y.ok()) return ReportFailure(y.status());
    std::fputs(y->c_str(), stdout);
    return kExitOk;
  }
  for (const auto& name : platforms::BuiltinPlatformNames()) {
    auto p = platforms::LoadBuiltinPlatform(name);
    if (!p.ok()) return ReportFailure(p.status());
    std::string clusters;
    for (const auto& c : p->clusters)
      clusters += (clusters.empty() ? "" : " + ") + std::to_string(c.cpus) + "x " + c.core;
    std::printf("%-10s %-34s power in %s\n", name.c_str(), clusters.c_str(), p->power_unit.c_str());
  }
  return kExitOk;
}

int CmdDevices(const std::string& show) {
  using blockcache::DeviceKind;
  const auto gb = [](uint64_t b) { return static_cast<double>(b) / 1e9; };
  if (!show.empty()) {
    const blockcache::DeviceProfile* p = blockcache::FindDeviceProfile(show);
    if (!p) return ReportFailure(NotFound("no device profile '" + show + "' (known: " + blockcache::DeviceProfileNames() + ")"));
    std::printf("%s: %s\n", p->name.c_str(), p->description.c_str());
    if (p->kind == DeviceKind::kHdd) {
      const auto& h = p->hdd;
      std::printf("  kind HDD, capacity %.0f GB, %d rpm, %d heads, %d zones\n", gb(h.capacity_bytes), h.rpm, h.heads,
                  h.zones);
      std::printf("  seek: single track %.2f ms, average %.2f ms, full stroke %.2f ms\n", h.single_track_seek_ms,
                  h.average_seek_ms, h.full_stroke_seek_ms);
      std::printf("  media rate %.0f MB/s (outer) .. %.0f MB/s (inner), overhead %.0f us, read-ahead %llu KiB\n",
                  h.outer_rate_mb_s, h.inner_rate_mb_s, static_cast<double>(h.overhead_ns) / 1e3,
                  static_cast<unsigned long long>(h.readahead_bytes >> 10));
    } else {
      const auto& d = p->ssd;
      std::printf("  kind SSD, capacity %.0f GB, %d channels x %d chips x %d dies x %d planes, %u-byte pages\n",
                  gb(d.capacity_bytes), d.channels, d.chips_per_channel, d.dies_per_chip, d.planes_per_die,
                  d.page_bytes);
      std::printf("  read %.0f us, program %.0f us, erase %.2f ms; channel %.0f MB/s, host %.0f MB/s\n",
                  static_cast<double>(d.read_ns) / 1e3, static_cast<double>(d.program_ns) / 1e3,
                  static_cast<double>(d.erase_ns) / 1e6, d.channel_rate_mb_s, d.host_rate_mb_s);
      std::printf("  over-provisioning %.0f %%, FTL GC write amplification %s\n", d.overprovisioning * 100,
                  d.gc_write_amplification > 1 ? std::to_string(d.gc_write_amplification).c_str()
                                               : "not modelled (host writes only)");
    }
    return kExitOk;
  }
  for (const auto& p : blockcache::DeviceProfiles()) {
    uint64_t cap = p.kind == DeviceKind::kHdd ? p.hdd.capacity_bytes : p.ssd.capacity_bytes;
    std::printf("%-10s %-4s %6.0f GB  %s\n", p.name.c_str(), p.kind == DeviceKind::kHdd ? "HDD" : "SSD", gb(cap),
                p.description.c_str());
  }
  return kExitOk;
}

}  // namespace kreplay::cli

namespace kreplay::cli {

int CmdWorkloadWrite(const model::Registry& registry, const WorkloadWriteOptions& o) {
  auto spec = spec::LoadStudySpec(o.spec, registry);
  if (!spec.ok()) return ReportFailure(spec.status());
  size_t index = 0;
  if (!o.workload.empty()) {
    std::vector<std::string> names;
    for (const auto& w : spec->workloads) names.push_back(w.name);
    auto it = std::find(names.begin(), names.end(), o.workload);
    if (it == names.end())
      return ReportFailure(InvalidArgument("--workload: no workload '" + o.workload + "' in " + o.spec + " (has: " +
                                  Join(names, ", ") + ")"));
    index = static_cast<size_t>(it - names.begin());
  }
  uint64_t seed = o.seed ? o.seed : spec->seeds.front();
  auto w = spec::BuildWorkload(*spec, index, seed);
  if (!w.ok()) return ReportFailure(w.status());
  std::string json = workload::WriteRtApp(*w);
  if (o.out.empty() || o.out == "-") {
    std::fputs(json.c_str(), stdout);
    return kExitOk;
  }
  Status st = WriteFileAtomic(o.out, json);
  if (!st.ok()) return ReportFailure(st);
  std::fprintf(stderr, "kreplay: wrote %s (%zu tasks, content digest %s)\n", o.out.c_str(), w->tasks.size(),
               spec::WorkloadDigest(*w).substr(0, 16).c_str());
  return kExitOk;
}

}  // namespace kreplay::cli
