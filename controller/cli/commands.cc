// The role commands: `run` (a whole study on this machine), `broker`,
// `controller`, `worker` (the services, each until SIGTERM) and `submit` (a
// study to a running controller). Progress, the output folder and the local
// cluster live in their own files (progress.h, study_output.h,
// local_cluster.h).
#include "controller/cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "controller/cli/exit_codes.h"
#include "controller/cli/local_cluster.h"
#include "controller/cli/signals.h"
#include "controller/cli/study_output.h"
#include "controller/server/server.h"
#include "controller/spec/plan.h"
#include "controller/spec/spec.h"
#include "kreplay/v1/controller.grpc.pb.h"
#include "services/bus/embedded_broker.h"
#include "services/bus/topics.h"
#include "services/core/digest.h"
#include "services/core/files.h"
#include "services/rpc/status.h"
#include "workers/worker/worker.h"

namespace kreplay::cli {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// Hands a listening port to whoever started us (tests, `kreplay run`).
Status WritePortFile(const std::string& path, int port) {
  if (path.empty()) return OkStatus();
  return WriteFileAtomic(path, std::to_string(port) + "\n");
}

}  // namespace

int CmdRun(const family::Catalog& catalog, const RunOptions& o) {
  const model::Registry& registry = catalog.models();
  SignalWatcher signals;
  // Flags first: a bad -X is reported even when --local would not use it.
  auto kafka_check = KafkaFrom(o.bootstrap, o.kafka_props);
  if (!kafka_check.ok()) return ReportFailure(kafka_check.status());
  auto spec = spec::LoadStudySpec(o.spec, catalog);
  if (!spec.ok()) return ReportFailure(spec.status());
  if (Status st = spec::CheckPlanSize(*spec, catalog, o.yes); !st.ok()) return ReportFailure(st);
  auto gate_plan = PlanGate(*spec, registry, o.gate);
  if (!gate_plan.ok()) return ReportFailure(gate_plan.status());
  std::string out = o.out.empty() ? DefaultOut(*spec) : o.out;
  if (Status st = CheckBaselineNotOut(*gate_plan, out); !st.ok()) return ReportFailure(st);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return ReportFailure(InvalidArgument("--out " + out + ": " + ec.message()));
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (o.local) return RunLocal(*spec, catalog, out, o.threads > 0 ? o.threads : static_cast<int>(cores), o.quiet, o.progress, signals, *gate_plan);

  int threads = o.threads > 0 ? o.threads : std::max(1, static_cast<int>(cores) / o.workers);
  LocalClusterOptions lo;
  lo.catalog = &catalog;
  lo.run_dir = out + "/.run";
  lo.bootstrap = o.bootstrap;
  lo.kafka_props = o.kafka_props;
  lo.topic_prefix = o.topic_prefix;
  lo.data_dir = out;
  lo.db = o.db;
  lo.workers = o.workers;
  lo.threads = threads;
  auto cluster = LocalCluster::Start(lo);
  if (!cluster.ok()) return ReportFailure(cluster.status());
  std::fprintf(stderr, "kreplay: broker %s, controller %s, %d workers x %d threads (logs in %s)\n",
               (*cluster)->bootstrap().c_str(), (*cluster)->controller_address().c_str(), o.workers, threads,
               lo.run_dir.c_str());

  auto stub = v1::Controller::NewStub(rpc::MakeChannel((*cluster)->controller_address()));
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
  int rc = WatchAndReport(*stub, resp.study_id(), *spec, catalog, out, o.progress, o.quiet, signals, *gate_plan);
  // Stopped before the stub goes; every early return above stops it too (the
  // destructor), in the same order.
  (*cluster)->Stop();
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

int CmdController(const family::Catalog& catalog, const ControllerCliOptions& o) {
  SignalWatcher signals;
  auto kafka = KafkaFrom(o.bootstrap, o.kafka_props);
  if (!kafka.ok()) return ReportFailure(kafka.status());
  server::ControllerOptions co;
  co.catalog = &catalog;
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

int CmdWorker(const family::Catalog& catalog, const WorkerCliOptions& o) {
  SignalWatcher signals;
  auto kafka = KafkaFrom(o.bootstrap, o.kafka_props);
  if (!kafka.ok()) return ReportFailure(kafka.status());
  worker::WorkerOptions wo;
  wo.catalog = &catalog;
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

int CmdSubmit(const family::Catalog& catalog, const SubmitOptions& o) {
  const model::Registry& registry = catalog.models();
  SignalWatcher signals;
  auto spec = spec::LoadStudySpec(o.spec, catalog);
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
  return WatchAndReport(*stub, resp.study_id(), *spec, catalog, o.out.empty() ? DefaultOut(*spec) : o.out, o.progress, false,
                        signals, *gate_plan);
}

}  // namespace kreplay::cli
