#include "controller/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "controller/planner/planner.h"
#include "controller/server/clock.h"
#include "controller/server/ledger.h"
#include "controller/server/publisher.h"
#include "controller/server/run_table.h"
#include "controller/server/trace_store.h"
#include "controller/server/trace_streams.h"
#include "controller/spec/spec.h"
#include "controller/store/store.h"
#include "kreplay/v1/controller.grpc.pb.h"
#include "services/bus/producer.h"
#include "services/bus/topics.h"
#include "services/codec/convert.h"
#include "services/core/digest.h"
#include "services/metrics/metrics.h"
#include "services/rpc/status.h"

namespace kreplay::server {

// Wires the parts together: the planner (Submit, below), the run table and
// dispatch (run_table.h), trace streams (trace_streams.h), the two pump
// threads, and the gRPC services, which only convert at the edge.
struct ControllerServer::Impl {
  ControllerOptions opt;
  const family::Catalog* catalog = nullptr;  // opt.catalog
  std::unique_ptr<Ledger> store;  // a StoreLedger over the SQLite store
  std::unique_ptr<TraceStore> traces;
  bus::TopicNames topics;
  uint64_t epoch = 0;
  SteadyClock clock;
  // The planner's study-id nonce reads steady_clock directly (it is no
  // policy time); everything else uses `clock`.
  using Clock = std::chrono::steady_clock;

  std::unique_ptr<metrics::MetricsServer> metrics_server;  // may be null
  std::unique_ptr<metrics::ControllerProbe> probe;          // null without metrics
  // Declared before `producer`, so destroyed after it: its last delivery
  // callbacks reach into the run table.
  std::unique_ptr<RunTable> run_table;
  std::unique_ptr<TraceStreams> trace_streams;
  std::unique_ptr<Publisher> producer;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<grpc::Service> controller_svc, gateway_svc;
  int port = 0;
  std::atomic<bool> stopping{false};
  std::thread work_pump, trace_pump;  // joined by Shutdown

  // Plans a study, records it in the ledger and loads it into the run table
  // (or finds the study the request names again).
  Status Submit(const v1::SubmitStudyRequest& req, v1::SubmitStudyResponse* resp);
  // Adds what trace streams know to a study's progress.
  v1::StudyProgress WithTraceStats(v1::StudyProgress p) const {
    p.set_trace_resends(trace_streams->resends());
    return p;
  }

  void WorkPumpLoop();
  void TracePumpLoop();
};

// ---------------------------------------------------------------------------
// Studies

Status ControllerServer::Impl::Submit(const v1::SubmitStudyRequest& req, v1::SubmitStudyResponse* resp) {
  if (!req.request_id().empty()) {
    auto existing = store->FindStudyByRequestId(req.request_id());
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      const std::string& id = (*existing)->study_id;
      auto totals = run_table->Load(id);
      if (!totals.ok()) return totals.status();
      resp->set_study_id(id);
      resp->set_existing(true);
      resp->set_runs_total(totals->total);
      resp->set_runs_reused(totals->done);
      return OkStatus();
    }
  }
  std::string base_dir = std::filesystem::path(req.spec_path()).parent_path().string();
  auto spec = spec::ParseStudySpec(req.spec_yaml(), req.spec_path().empty() ? "<spec>" : req.spec_path(),
                                   base_dir, *catalog);
  if (!spec.ok()) return spec.status();
  const std::string spec_digest = Sha256Hex(req.spec_yaml());

  if (req.resume()) {
    auto all = store->ListStudies();
    if (!all.ok()) return all.status();
    for (const auto& row : *all) {
      if (row.spec_digest != spec_digest) continue;
      auto totals = run_table->Resume(row.study_id, row.state);
      if (!totals.ok()) return totals.status();
      resp->set_study_id(row.study_id);
      resp->set_existing(true);
      resp->set_runs_total(totals->total);
      resp->set_runs_reused(totals->done);  // recorded before this request: not recomputed
      return OkStatus();
    }
  }

  // Name every workload once (the planner); the ones that travel as trace
  // chunks are encoded into the trace store as they are built.
  std::vector<v1::TraceManifest> manifests;
  std::mutex manifests_mu;
  planner::PlanOptions popt;
  const family::FamilyInfo* fam = catalog->Find(spec->family);
  if (!fam) return Internal("study family " + spec->family + " is not registered");
  popt.on_built = [&](size_t index, const planner::WorkloadInstance& inst, const model::AnyValue& w) -> Status {
    auto m = traces->Put(*fam, w, opt.chunk_bytes, inst.source);
    if (!m.ok()) return m.status();
    std::lock_guard<std::mutex> lock(manifests_mu);
    if (manifests.size() <= index) manifests.resize(index + 1);
    manifests[index] = std::move(*m);
    return OkStatus();
  };
  auto plan = planner::StudyPlanner::PlanRuns(*spec, popt);
  if (!plan.ok()) return plan.status();
  manifests.resize(plan->instances.size());

  std::string study_id = "s-" + Sha256Hex(req.request_id().empty()
                                              ? spec_digest + std::to_string(::getpid()) +
                                                    std::to_string(Clock::now().time_since_epoch().count())
                                              : req.request_id()).substr(0, 16);
  store::StudyRow row;
  row.study_id = study_id;
  row.name = spec->name;
  row.spec_yaml = req.spec_yaml();
  row.spec_digest = spec_digest;
  row.request_id = req.request_id().empty() ? study_id : req.request_id();
  row.state = "STUDY_RUNNING";
  std::vector<store::StudyRunRow> rows;
  for (const auto& pr : plan->runs) {
    v1::WorkItem wi = planner::StudyPlanner::MakeWorkItem(*spec, *plan, pr);
    wi.set_study_id(study_id);
    wi.set_controller_epoch(epoch);
    if (plan->instances[pr.instance].travels_as_trace) *wi.mutable_workload() = manifests[pr.instance];
    store::StudyRunRow rr;
    rr.study_id = study_id;
    rr.run_key = pr.run_key;
    rr.variant = spec->variants[pr.run.variant].name;
    rr.platform = spec->platforms[pr.run.platform].name;
    rr.workload = spec->workloads[pr.run.workload].name;
    rr.seed = pr.run.seed;
    rr.work_item = codec::DeterministicBytes(wi);
    rows.push_back(std::move(rr));
  }
  Status st = store->CreateStudy(row, rows);
  if (!st.ok()) return st;

  auto totals = run_table->Add(study_id);
  if (!totals.ok()) return totals.status();
  resp->set_study_id(study_id);
  resp->set_runs_total(totals->total);
  resp->set_runs_reused(totals->reused);
  return OkStatus();
}

// ---------------------------------------------------------------------------
// Pumps: the threads; the logic is in RunTable and TraceStreams.

void ControllerServer::Impl::WorkPumpLoop() {
  // A change that lands while a round publishes waits for the next tick.
  while (run_table->WaitForChange(std::chrono::milliseconds(100))) {
    run_table->ExpireLeases();
    if (probe) {
      metrics::ControllerProbe::Snapshot snap = run_table->Gauges();
      snap.trace_streams = static_cast<int64_t>(trace_streams->stream_count());
      probe->Set(snap);
    }
    run_table->PublishRound();
  }
}

void ControllerServer::Impl::TracePumpLoop() {
  while (trace_streams->PumpOnce(std::chrono::milliseconds(200)) != TraceStreams::PumpResult::kStopped) {
  }
}

// ---------------------------------------------------------------------------
// gRPC services: thin adapters; the only place kreplay::Status becomes
// grpc::Status.

namespace {

class ControllerService final : public v1::Controller::Service {
 public:
  explicit ControllerService(ControllerServer::Impl* impl) : impl_(impl) {}

  grpc::Status SubmitStudy(grpc::ServerContext*, const v1::SubmitStudyRequest* req,
                           v1::SubmitStudyResponse* resp) override {
    return rpc::ToGrpc(impl_->Submit(*req, resp));
  }

  grpc::Status GetStudy(grpc::ServerContext*, const v1::GetStudyRequest* req, v1::GetStudyResponse* resp) override {
    auto progress = impl_->run_table->Progress(req->study_id());
    if (!progress.ok()) return rpc::ToGrpc(progress.status());
    *resp->mutable_progress() = impl_->WithTraceStats(*progress);
    auto row = impl_->store->FindStudy(req->study_id());
    if (row.ok() && row->has_value()) resp->set_spec_yaml((*row)->spec_yaml);
    return grpc::Status::OK;
  }

  grpc::Status GetStudyRuns(grpc::ServerContext* ctx, const v1::GetStudyRunsRequest* req,
                            grpc::ServerWriter<v1::StudyRun>* writer) override {
    auto rows = impl_->store->ListStudyRuns(req->study_id());
    if (!rows.ok()) return rpc::ToGrpc(rows.status());
    for (const auto& r : *rows) {
      if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
      v1::StudyRun out;
      out.set_run_key(r.run_key);
      out.set_variant(r.variant);
      out.set_platform(r.platform);
      out.set_workload(r.workload);
      out.set_seed(r.seed);
      v1::WorkItem wi;
      if (wi.ParseFromString(r.work_item)) {
        out.set_model(wi.model());
        out.set_model_version(wi.model_version());
        *out.mutable_params() = wi.params();
        out.set_platform_digest(wi.system().digest());
        out.set_workload_digest(wi.workload_digest());
      }
      if (r.has_result) {
        out.set_result(r.result);  // ListStudyRuns already joined the result
        out.set_state(v1::RUN_DONE);
      } else if (r.failed) {
        out.set_state(v1::RUN_FAILED);
        out.set_error(r.error);
      } else {
        out.set_state(v1::RUN_PENDING);
      }
      if (!writer->Write(out)) return grpc::Status::CANCELLED;
    }
    return grpc::Status::OK;
  }

  grpc::Status WatchStudy(grpc::ServerContext* ctx, const v1::WatchStudyRequest* req,
                          grpc::ServerWriter<v1::StudyProgress>* writer) override {
    for (;;) {
      auto progress = impl_->run_table->LoadedProgress(req->study_id());
      if (!progress.ok()) return rpc::ToGrpc(progress.status());
      v1::StudyProgress p = impl_->WithTraceStats(*progress);
      if (!writer->Write(p)) return grpc::Status::CANCELLED;
      bool terminal = p.state() != v1::STUDY_RUNNING && p.state() != v1::STUDY_PENDING;
      if (terminal) return grpc::Status::OK;
      if (!impl_->run_table->WaitForChange(std::chrono::milliseconds(250)))
        return rpc::ToGrpc(Unavailable("controller shutting down"));
      if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
    }
  }

  grpc::Status ListStudies(grpc::ServerContext*, const v1::ListStudiesRequest*, v1::ListStudiesResponse* resp) override {
    auto rows = impl_->store->ListStudies();
    if (!rows.ok()) return rpc::ToGrpc(rows.status());
    for (const auto& row : *rows) {
      auto progress = impl_->run_table->LoadedProgress(row.study_id);
      if (progress.ok()) {
        *resp->add_studies() = impl_->WithTraceStats(*progress);
      } else {
        auto* p = resp->add_studies();
        p->set_study_id(row.study_id);
        v1::StudyState state;
        if (v1::StudyState_Parse(row.state, &state)) p->set_state(state);
        p->set_message(row.message);
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status CancelStudy(grpc::ServerContext*, const v1::CancelStudyRequest* req, v1::CancelStudyResponse* resp) override {
    auto progress = impl_->run_table->Cancel(req->study_id());
    if (!progress.ok()) return rpc::ToGrpc(progress.status());
    *resp->mutable_progress() = impl_->WithTraceStats(*progress);
    return grpc::Status::OK;
  }

  grpc::Status ListWorkers(grpc::ServerContext*, const v1::ListWorkersRequest*, v1::ListWorkersResponse* resp) override {
    for (auto& w : impl_->run_table->ListWorkers()) *resp->add_workers() = std::move(w);
    return grpc::Status::OK;
  }

 private:
  ControllerServer::Impl* impl_;
};

class GatewayService final : public v1::WorkerGateway::Service {
 public:
  explicit GatewayService(ControllerServer::Impl* impl) : impl_(impl) {}

  grpc::Status RegisterWorker(grpc::ServerContext*, const v1::RegisterWorkerRequest* req,
                              v1::RegisterWorkerResponse* resp) override {
    Status st = impl_->run_table->RegisterWorker(req->worker());
    if (!st.ok()) return rpc::ToGrpc(st);
    resp->set_controller_epoch(impl_->epoch);
    resp->set_heartbeat_seconds(impl_->opt.heartbeat_seconds);
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* req, v1::HeartbeatResponse* resp) override {
    auto answer = impl_->run_table->Heartbeat(*req);
    if (!answer.ok()) return rpc::ToGrpc(answer.status());
    *resp = std::move(*answer);
    return grpc::Status::OK;
  }

  grpc::Status ClaimRun(grpc::ServerContext*, const v1::ClaimRunRequest* req, v1::ClaimRunResponse* resp) override {
    *resp = impl_->run_table->Claim(*req);
    return grpc::Status::OK;
  }

  grpc::Status ReportResult(grpc::ServerContext*, const v1::ReportResultRequest* req,
                            v1::ReportResultResponse* resp) override {
    auto answer = impl_->run_table->Report(*req);
    if (!answer.ok()) return rpc::ToGrpc(answer.status());
    *resp = std::move(*answer);
    return grpc::Status::OK;
  }

  grpc::Status OpenTrace(grpc::ServerContext*, const v1::OpenTraceRequest* req, v1::OpenTraceResponse* resp) override {
    auto answer = impl_->trace_streams->Open(*req);
    if (!answer.ok()) return rpc::ToGrpc(answer.status());
    *resp = std::move(*answer);
    return grpc::Status::OK;
  }

  grpc::Status AckTrace(grpc::ServerContext*, const v1::AckTraceRequest* req, v1::AckTraceResponse*) override {
    impl_->trace_streams->Ack(*req);
    return grpc::Status::OK;
  }

 private:
  ControllerServer::Impl* impl_;
};

}  // namespace

// ---------------------------------------------------------------------------

StatusOr<std::unique_ptr<ControllerServer>> ControllerServer::Start(const ControllerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  if (impl->opt.data_dir.empty()) return InvalidArgument("controller: --data-dir is required");
  std::error_code ec;
  std::filesystem::create_directories(impl->opt.data_dir, ec);
  if (ec) return InvalidArgument("controller: cannot create data directory " + impl->opt.data_dir + ": " + ec.message());
  if (impl->opt.db_path.empty()) impl->opt.db_path = impl->opt.data_dir + "/kreplay.db";
  if (!impl->opt.catalog) return InvalidArgument("controller: no model catalog");
  impl->catalog = impl->opt.catalog;

  auto st = store::Store::Open(impl->opt.db_path);
  if (!st.ok()) return st.status();
  impl->store = std::make_unique<StoreLedger>(std::move(*st));
  auto ts = TraceStore::Open(impl->opt.data_dir + "/traces");
  if (!ts.ok()) return ts.status();
  impl->traces = std::move(*ts);
  auto topics = bus::KreplayTopics(impl->opt.topic_prefix);
  if (!topics.ok()) return topics.status();
  impl->topics = *topics;
  // Chunks are published one at a time behind acks: batching delay only adds
  // latency to every window turn (user -X wins).
  bus::KafkaConfig producer_kafka = impl->opt.kafka;
  producer_kafka.properties.insert(producer_kafka.properties.begin(), {"linger.ms", "0"});
  auto producer = bus::Producer::Create(producer_kafka);
  if (!producer.ok()) return producer.status();
  auto parts = (*producer)->PartitionCount(impl->topics.traces, std::chrono::seconds(10));
  if (!parts.ok())
    return Unavailable("controller: cannot read metadata of topic " + impl->topics.traces + " from " +
                       impl->opt.kafka.bootstrap_servers + ": " + parts.status().ToString() +
                       " (create the kreplay topics first; see README)");
  impl->producer = std::make_unique<BusPublisher>(std::move(*producer));
  // A new epoch per start: streams and items of an earlier incarnation are
  // told apart from this one's.
  impl->epoch = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());

  if (!impl->opt.metrics_listen.empty()) {
    auto ms = metrics::MetricsServer::Start(impl->opt.metrics_listen);
    if (!ms.ok()) return ms.status();
    impl->metrics_server = std::move(*ms);
    impl->probe = std::make_unique<metrics::ControllerProbe>(*impl->metrics_server);
  }

  RunTableOptions rt;
  rt.items_per_thread = impl->opt.items_per_thread;
  rt.max_batch_runs = impl->opt.max_batch_runs;
  rt.lease_seconds = impl->opt.lease_seconds;
  rt.worker_timeout_seconds = impl->opt.worker_timeout_seconds;
  rt.claim_timeout_seconds = impl->opt.claim_timeout_seconds;
  rt.epoch = impl->epoch;
  rt.work_topic = impl->topics.work;
  const model::Registry* registry = &impl->catalog->models();
  auto batchable = [registry](const std::string& model) {
    const model::ModelInfo* info = registry->Find(model);
    return info && info->run_batch;
  };
  impl->run_table = std::make_unique<RunTable>(std::move(rt), impl->store.get(), impl->producer.get(), &impl->clock,
                                               batchable, impl->probe.get());
  TraceStreamsOptions tso;
  tso.window_bytes = impl->opt.trace_window_bytes;
  tso.reuse_published = impl->opt.reuse_published_traces;
  tso.epoch = impl->epoch;
  tso.topic = impl->topics.traces;
  tso.partitions = *parts;
  impl->trace_streams = std::make_unique<TraceStreams>(std::move(tso), impl->traces.get(), impl->producer.get(),
                                                       &impl->clock, impl->probe.get());

  // Reload unfinished studies: their pending runs are re-published.
  auto rows = impl->store->ListStudies();
  if (!rows.ok()) return rows.status();
  for (const auto& row : *rows) {
    if (row.state != "STUDY_RUNNING" && row.state != "STUDY_PENDING") continue;
    auto loaded = impl->run_table->Load(row.study_id);
    if (!loaded.ok()) return loaded.status();
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(impl->opt.listen, grpc::InsecureServerCredentials(), &impl->port);
  builder.SetMaxReceiveMessageSize(impl->opt.max_message_bytes);
  builder.SetMaxSendMessageSize(impl->opt.max_message_bytes);
  impl->controller_svc = std::make_unique<ControllerService>(impl.get());
  impl->gateway_svc = std::make_unique<GatewayService>(impl.get());
  builder.RegisterService(impl->controller_svc.get());
  builder.RegisterService(impl->gateway_svc.get());
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port == 0)
    return Unavailable("controller: cannot listen on " + impl->opt.listen + " (address in use?)");
  impl->work_pump = std::thread([p = impl.get()] { p->WorkPumpLoop(); });
  impl->trace_pump = std::thread([p = impl.get()] { p->TracePumpLoop(); });
  return std::unique_ptr<ControllerServer>(new ControllerServer(std::move(impl)));
}

ControllerServer::ControllerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControllerServer::~ControllerServer() { Shutdown(); }

int ControllerServer::port() const { return impl_->port; }
int ControllerServer::metrics_port() const { return impl_->metrics_server ? impl_->metrics_server->port() : 0; }
std::string ControllerServer::address() const { return "127.0.0.1:" + std::to_string(impl_->port); }

void ControllerServer::Shutdown() {
  if (impl_->stopping.exchange(true)) return;
  impl_->run_table->Stop();
  impl_->trace_streams->Stop();
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (impl_->work_pump.joinable()) impl_->work_pump.join();
  if (impl_->trace_pump.joinable()) impl_->trace_pump.join();
  (void)impl_->producer->Flush(std::chrono::seconds(5));
}

}  // namespace kreplay::server
