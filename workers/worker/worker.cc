#include "workers/worker/worker.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "kreplay/v1/controller.grpc.pb.h"
#include "services/bus/group_consumer.h"
#include "services/bus/partition_reader.h"
#include "services/bus/topics.h"
#include "services/codec/convert.h"
#include "services/metrics/metrics.h"
#include "services/rpc/status.h"
#include "workers/executor/executor.h"

namespace kreplay::worker {
namespace {

using Clock = std::chrono::steady_clock;
using Workload = model::AnyValue;

void Log(const std::string& who, const std::string& msg) {
  std::fprintf(stderr, "kreplay worker %s: %s\n", who.c_str(), msg.c_str());
}

struct Job {
  v1::WorkItem item;
  // The runs of the item this worker claimed (RUN): the primary run and any
  // batch runs, each with its parameters.
  struct Part {
    std::string run_key;
    int batch_index = -1;  // -1: the item's own run; else item.batch(batch_index)
  };
  std::vector<Part> parts;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
};

// Offsets of one partition still in progress; the committable position is
// the lowest one in progress (or one past the highest seen).
struct PartitionProgress {
  std::set<int64_t> in_progress;
  int64_t highest = -1;
  int64_t Committable() const { return in_progress.empty() ? highest + 1 : *in_progress.begin(); }
};

}  // namespace

struct Worker::Impl {
  WorkerOptions opt;
  const family::Catalog* catalog = nullptr;  // opt.catalog
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::WorkerGateway::Stub> stub;
  std::unique_ptr<bus::GroupConsumer> consumer;
  bus::TopicNames topics;
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  std::unique_ptr<metrics::WorkerProbe> probe;

  std::atomic<double> heartbeat_seconds{1.0};  // as the controller asks at registration
  std::atomic<bool> stop{false};
  std::atomic<bool> hard_stop{false};  // grace period over: cancel runs
  std::atomic<bool> heartbeat_now{false};  // the assignment changed: tell the controller
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> queue;
  int busy = 0;                                    // jobs queued or running
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> in_flight;  // run key -> cancel flag
  std::map<std::pair<std::string, int32_t>, PartitionProgress> progress;
  Status fatal;

  // Trace cache: digest -> decoded workload; LRU by use.
  std::mutex cache_mu;
  std::map<std::string, std::shared_future<StatusOr<Workload>>> fetching;
  std::map<std::string, std::pair<Workload, uint64_t>> cache;
  std::list<std::string> lru;
  uint64_t cache_bytes = 0;

  std::vector<std::thread> pool;
  std::thread heartbeat_thread, poll_thread;

  // ---- controller calls -------------------------------------------------
  Status Register();
  void HeartbeatLoop();
  // Retries transient RPC failures with backoff until `deadline_stop` says stop.
  template <typename Call>
  grpc::Status CallWithRetry(Call call, bool give_up_on_hard_stop);

  // ---- Kafka ------------------------------------------------------------
  void PollLoop();
  void Dispatch(Job job);  // claims, then queues for the pool or marks done
  void Done(const Job& job);

  // ---- runs ---------------------------------------------------------------
  void PoolLoop();
  void Execute(Job& job);
  // The item's workload from the cache, else generated (synthetic_yaml) or
  // fetched over the trace topic; concurrent requests for one workload share
  // one fetch.
  StatusOr<Workload> GetWorkload(const v1::WorkItem& item);
  StatusOr<Workload> FetchTrace(const v1::TraceManifest& m);
  // Reads the trace's chunks into `assembler` (re-sends, acks, DATA_LOSS).
  StatusOr<Workload> FetchInto(const v1::TraceManifest& m, family::TraceAssembler& assembler);
};

template <typename Call>
grpc::Status Worker::Impl::CallWithRetry(Call call, bool give_up_on_hard_stop) {
  auto backoff = std::chrono::milliseconds(100);
  for (;;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status s = call(&ctx);
    bool transient = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                     s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                     s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
    if (!transient) return s;
    if (give_up_on_hard_stop ? hard_stop.load() : stop.load()) return s;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

Status Worker::Impl::Register() {
  v1::RegisterWorkerRequest req;
  auto* w = req.mutable_worker();
  w->set_worker_id(opt.worker_id);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  w->set_host(host);
  w->set_threads(static_cast<uint32_t>(opt.threads));
  w->set_version(KREPLAY_VERSION);
  v1::RegisterWorkerResponse resp;
  grpc::Status s = CallWithRetry([&](grpc::ClientContext* ctx) { return stub->RegisterWorker(ctx, req, &resp); }, false);
  if (s.ok() && resp.heartbeat_seconds() > 0) heartbeat_seconds.store(resp.heartbeat_seconds());
  return rpc::FromGrpc(s, "register with controller " + opt.controller);
}

void Worker::Impl::HeartbeatLoop() {
  for (;;) {
    v1::HeartbeatRequest req;
    req.set_worker_id(opt.worker_id);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stop.load() && busy == 0) break;
      for (const auto& [key, _] : in_flight) req.add_in_flight(key);
    }
    // The controller publishes our next items to these partitions; a
    // stopping worker reports none, so it is sent no new work.
    if (auto parts = consumer->Assignment(); parts.ok()) {
      req.set_assignment_known(true);
      if (!stop.load())
        for (const auto& tp : *parts)
          if (tp.topic == topics.work) req.add_work_partitions(tp.partition);
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::HeartbeatResponse resp;
    grpc::Status s = stub->Heartbeat(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      (void)Register();  // the controller restarted and forgot us
    } else if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& key : resp.cancel())
        if (auto it = in_flight.find(key); it != in_flight.end()) it->second->store(true);
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::duration<double>(heartbeat_seconds.load()),
                [&] { return heartbeat_now.exchange(false) || (stop.load() && busy == 0); });
  }
}

void Worker::Impl::Done(const Job& job) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = progress.find({job.topic, job.partition});
  if (it == progress.end()) return;  // partition revoked meanwhile
  it->second.in_progress.erase(job.offset);
  // Storing can fail if the partition moved to another member: harmless, the
  // new owner re-reads and the controller tells it to skip recorded runs.
  (void)consumer->StoreOffset(job.topic, job.partition, it->second.Committable());
}

void Worker::Impl::PollLoop() {
  // Items polled but not yet claimed. Claiming only when a thread is free
  // keeps leases honest. The controller publishes to our partitions only as
  // many items as we have threads and prefetch slots, so the consumer need
  // not pause in normal operation; that matters, because a resume costs
  // ~0.7 s to the next record on the mock broker, longer than many runs.
  // Pausing stays as a safety valve for a backlog far beyond that (another
  // publisher, or a controller restart re-publishing). Unclaimed items are
  // never offset-stored, so a crash or stop re-delivers them.
  std::deque<Job> ready;
  const size_t prefetch = 4 * static_cast<size_t>(opt.threads);
  bool paused = false;
  auto last_lag = Clock::now();
  std::vector<bus::TopicPartition> assignment;
  while (!stop.load()) {
    // Dispatch: claim ready items while threads are free.
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (ready.empty() || busy >= opt.threads) break;
      }
      Job job = std::move(ready.front());
      ready.pop_front();
      Dispatch(std::move(job));
      if (stop.load()) return;
    }
    size_t held;
    {
      std::unique_lock<std::mutex> lock(mu);
      held = static_cast<size_t>(busy) + ready.size();
      if (held >= static_cast<size_t>(opt.threads) + prefetch) {
        if (!paused) {
          lock.unlock();
          (void)consumer->PauseAll();
          paused = true;
          lock.lock();
        }
        cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return busy < opt.threads || stop.load(); });
        continue;
      }
    }
    if (paused) {
      (void)consumer->ResumeAll();
      paused = false;
    }
    if (Clock::now() - last_lag > std::chrono::seconds(1)) {
      last_lag = Clock::now();
      if (auto lag = consumer->Lag(); lag.ok()) probe->SetConsumerLag(*lag);
    }
    // Short polls while a thread waits on a ready item elsewhere.
    auto msg = consumer->Poll(std::chrono::milliseconds(ready.empty() ? 200 : 20));
    // A new assignment is news for the controller, which publishes our work
    // to our partitions: heartbeat now rather than within a second.
    if (auto parts = consumer->Assignment(); parts.ok() && *parts != assignment) {
      assignment = std::move(*parts);
      heartbeat_now.store(true);
      cv.notify_all();
    }
    if (!msg.ok()) {
      Log(opt.worker_id, "work topic: " + msg.status().ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    if (!msg->has_value()) continue;
    bus::Message& m = **msg;
    Job job;
    job.topic = m.topic;
    job.partition = m.partition;
    job.offset = m.offset;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto& p = progress[{m.topic, m.partition}];
      p.in_progress.insert(m.offset);
      p.highest = std::max(p.highest, m.offset);
    }
    if (!job.item.ParseFromString(m.value) || job.item.run_key().empty()) {
      Log(opt.worker_id, "skipping malformed work item at " + m.topic + "/" + std::to_string(m.partition) + "@" +
                             std::to_string(m.offset));
      probe->ItemFinished("malformed", 0);
      Done(job);
      continue;
    }
    ready.push_back(std::move(job));
  }
}

void Worker::Impl::Dispatch(Job job) {
  // Claim every run the item carries; run the ones granted.
  std::vector<Job::Part> all = {{job.item.run_key(), -1}};
  for (int i = 0; i < job.item.batch_size(); ++i) all.push_back({job.item.batch(i).run_key(), i});
  for (const auto& part : all) {
    const std::string& key = part.run_key;
    v1::ClaimRunRequest req;
    req.set_worker_id(opt.worker_id);
    req.set_run_key(key);
    req.set_attempt(job.item.attempt());
    v1::ClaimRunResponse resp;
    grpc::Status s = CallWithRetry([&](grpc::ClientContext* ctx) { return stub->ClaimRun(ctx, req, &resp); }, false);
    if (!s.ok()) {
      // Stopping while the controller is unreachable: leave the offset
      // unstored so the item is delivered again (leases granted so far expire).
      Log(opt.worker_id, "claim " + key.substr(0, 12) + ": " + s.error_message());
      return;
    }
    if (resp.decision() == v1::ClaimRunResponse::RUN) {
      job.parts.push_back(part);
    } else {
      probe->ItemFinished("skipped", 0);
    }
  }
  if (job.parts.empty()) {
    Done(job);
    return;
  }
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& p : job.parts) in_flight[p.run_key] = job.cancel;
  ++busy;
  probe->SetInFlight(busy);
  queue.push_back(std::move(job));
  cv.notify_all();
}

void Worker::Impl::PoolLoop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !queue.empty() || (stop.load() && busy == 0) || hard_stop.load(); });
      if (queue.empty()) return;
      job = std::move(queue.front());
      queue.pop_front();
    }
    if (hard_stop.load()) job.cancel->store(true);
    Execute(job);
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& p : job.parts) in_flight.erase(p.run_key);
    --busy;
    probe->SetInFlight(busy);
    cv.notify_all();
  }
}

void Worker::Impl::Execute(Job& job) {
  const auto start = Clock::now();
  const v1::WorkItem& item = job.item;
  const size_t n = job.parts.size();
  executor::RunRequest request;
  request.item = &item;
  for (const auto& p : job.parts) request.params.push_back(executor::ItemParams(item, p.batch_index));
  request.cancel = job.cancel.get();
  std::vector<StatusOr<model::Result>> results;
  if (auto w = GetWorkload(item); !w.ok()) {
    results.assign(n, w.status());
  } else {
    request.workload = std::move(*w);
    results = executor::ExecuteRun(*catalog, request);
    for (auto& r : results)
      if (!r.ok() && r.status().code() != StatusCode::kCancelled)
        r = r.status().WithContext("worker " + opt.worker_id);
  }

  // Report each run on its own; the item is done when every run is recorded
  // (or released because its study no longer wants it).
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  bool all_settled = true;
  for (size_t i = 0; i < n; ++i) {
    const std::string& key = job.parts[i].run_key;
    StatusOr<model::Result>& result = results[i];
    if (!result.ok() && result.status().code() == StatusCode::kCancelled) {
      // Released, not failed: the offset stays unstored only on shutdown (so
      // the item comes back); a cancelled study's item is simply done.
      probe->ItemFinished("cancelled", 0);
      all_settled &= !hard_stop.load();
      continue;
    }
    v1::ReportResultRequest report;
    report.set_worker_id(opt.worker_id);
    report.set_run_key(key);
    std::string outcome = "ok";
    if (result.ok()) {
      report.set_result(codec::SerializeResult(*result));
      probe->SimulatedWork(result->sim_events, static_cast<double>(result->sim_time_ns) / 1e9);
    } else {
      outcome = result.status().code() == StatusCode::kDataLoss ? "data_loss" : "failed";
      report.set_error(result.status().ToString());
      report.set_error_is_data_loss(result.status().code() == StatusCode::kDataLoss);
    }
    auto* prov = report.mutable_provenance();
    prov->set_worker_id(opt.worker_id);
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    prov->set_host(host);
    prov->set_wall_seconds(wall / static_cast<double>(n));  // a batch's runs share its wall time
    prov->set_attempt(item.attempt());
    prov->set_kreplay_version(KREPLAY_VERSION);
    v1::ReportResultResponse resp;
    grpc::Status s = CallWithRetry([&](grpc::ClientContext* ctx) { return stub->ReportResult(ctx, report, &resp); }, true);
    if (!s.ok() || !resp.recorded()) {
      Log(opt.worker_id, "result of " + key.substr(0, 12) + " not recorded: " + s.error_message() +
                             " (the item will be delivered again)");
      probe->ItemFinished("unreported", wall);
      all_settled = false;
      continue;
    }
    if (resp.determinism_mismatch())
      Log(opt.worker_id, "DETERMINISM BUG: run " + key + " differs from the recorded result");
    probe->ItemFinished(outcome, wall / static_cast<double>(n));
  }
  if (all_settled) Done(job);
}

StatusOr<Workload> Worker::Impl::GetWorkload(const v1::WorkItem& item) {
  const bool generated = !item.synthetic_yaml().empty();
  // Generated workloads are cached under their content digest, traces under
  // their transport digest (which also covers the chunking).
  const std::string key = generated ? "g:" + item.workload_digest() : "t:" + item.workload().digest();
  std::shared_future<StatusOr<Workload>> fut;
  bool owner = false;
  std::promise<StatusOr<Workload>> promise;
  {
    std::lock_guard<std::mutex> lock(cache_mu);
    if (auto it = cache.find(key); it != cache.end()) {
      lru.remove(key);
      lru.push_front(key);
      return it->second.first;
    }
    if (auto it = fetching.find(key); it != fetching.end()) {
      fut = it->second;
    } else {
      fut = promise.get_future().share();
      fetching[key] = fut;
      owner = true;
    }
  }
  if (!owner) return fut.get();
  StatusOr<Workload> w = generated ? executor::GenerateWorkload(*catalog, item) : FetchTrace(item.workload());
  {
    std::lock_guard<std::mutex> lock(cache_mu);
    fetching.erase(key);
    if (w.ok()) {
      uint64_t bytes = w->ApproxBytes();
      cache[key] = {*w, bytes};
      lru.push_front(key);
      cache_bytes += bytes;
      while (cache_bytes > opt.trace_cache_bytes && lru.size() > 1) {
        const std::string victim = lru.back();
        lru.pop_back();
        cache_bytes -= cache[victim].second;
        cache.erase(victim);
      }
    }
  }
  promise.set_value(w);
  return w;
}

StatusOr<Workload> Worker::Impl::FetchTrace(const v1::TraceManifest& m) {
  const family::FamilyInfo* f = catalog->FindByTraceFamily(m.family());
  if (!f || !f->assemble_trace)
    return InvalidArgument("trace " + m.digest().substr(0, 12) + ": unknown trace family '" + m.family() + "'");
  std::unique_ptr<family::TraceAssembler> assembler = f->assemble_trace(m);
  return FetchInto(m, *assembler);
}

StatusOr<Workload> Worker::Impl::FetchInto(const v1::TraceManifest& m, family::TraceAssembler& assembler) {
  const auto fetch_start = Clock::now();
  const std::string name = "trace " + m.digest().substr(0, 12) + " (" + m.source() + ")";
  uint32_t failures = 0;
  Status last_error;
  while (!assembler.complete()) {
    if (hard_stop.load()) return Cancelled(name + ": worker stopping");
    uint32_t from = assembler.next_chunk();
    if (from > 0 || failures > 0) probe->TraceResend();
    v1::OpenTraceRequest req;
    req.set_worker_id(opt.worker_id);
    req.set_digest(m.digest());
    req.set_from_chunk(from);
    v1::OpenTraceResponse open;
    grpc::Status s = CallWithRetry([&](grpc::ClientContext* ctx) { return stub->OpenTrace(ctx, req, &open); }, true);
    if (!s.ok()) return rpc::FromGrpc(s, name + ": open");
    // The mock broker holds an empty fetch for the whole fetch.wait.max.ms
    // even when new data arrives, and the controller publishes just ahead of
    // our acks: keep the wait short (user -X wins).
    bus::KafkaConfig reader_kafka = opt.kafka;
    reader_kafka.properties.insert(reader_kafka.properties.begin(), {"fetch.wait.max.ms", "5"});
    auto reader = bus::PartitionReader::Create(reader_kafka);
    if (!reader.ok()) return reader.status();
    Status st = (*reader)->Assign(open.topic(), open.partition(), open.start_offset());
    auto idle_since = Clock::now();
    while (st.ok() && !assembler.complete()) {
      if (hard_stop.load()) return Cancelled(name + ": worker stopping");
      auto msg = (*reader)->Poll(std::chrono::milliseconds(500));
      if (!msg.ok()) {
        if (msg.status().code() == StatusCode::kDataLoss) {
          st = msg.status();
          break;
        }
        continue;  // transient
      }
      if (!msg->has_value()) {
        if (Clock::now() - idle_since > std::chrono::seconds(30)) st = DeadlineExceeded(name + ": no chunk for 30 s");
        continue;
      }
      idle_since = Clock::now();
      v1::TraceChunk chunk;
      if (!chunk.ParseFromString((*msg)->value)) continue;  // not a chunk: someone else's bytes
      if (chunk.stream_id() != open.stream_id()) continue;
      probe->TraceBytesRead((*msg)->value.size());
      if (chunk.index() < assembler.next_chunk()) continue;
      st = assembler.Add(chunk);  // gap, CRC or digest errors end this stream
      if (!st.ok()) break;
      v1::AckTraceRequest ack;
      ack.set_stream_id(open.stream_id());
      ack.set_next_chunk(assembler.next_chunk());
      ack.set_done(assembler.complete());
      v1::AckTraceResponse ack_resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      (void)stub->AckTrace(&ctx, ack, &ack_resp);  // best effort: a lost ack only slows the window
    }
    if (assembler.complete()) break;
    last_error = st;
    failures = assembler.next_chunk() > from ? 0 : failures + 1;
    if (failures > opt.trace_resend_limit)
      return DataLoss(name + ": chunk " + std::to_string(assembler.next_chunk()) + " of " +
                      std::to_string(m.chunk_count()) + " lost after " + std::to_string(opt.trace_resend_limit) +
                      " re-sends (last error: " + last_error.ToString() + ")");
    Log(opt.worker_id, name + ": re-requesting from chunk " + std::to_string(assembler.next_chunk()) + " after " +
                           st.ToString());
  }
  auto w = assembler.Finish();
  if (w.ok()) probe->TraceFetched(m.record_count(), std::chrono::duration<double>(Clock::now() - fetch_start).count());
  return w;
}

// ---------------------------------------------------------------------------

StatusOr<std::unique_ptr<Worker>> Worker::Start(const WorkerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  if (impl->opt.controller.empty()) return InvalidArgument("worker: --controller is required");
  if (impl->opt.threads <= 0) impl->opt.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (impl->opt.worker_id.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    impl->opt.worker_id = std::string(host) + "-" + std::to_string(::getpid());
  }
  if (!impl->opt.catalog) return InvalidArgument("worker: no model catalog");
  impl->catalog = impl->opt.catalog;
  auto topics = bus::KreplayTopics(impl->opt.topic_prefix);
  if (!topics.ok()) return topics.status();
  impl->topics = *topics;
  if (!impl->opt.metrics_listen.empty()) {
    auto ms = metrics::MetricsServer::Start(impl->opt.metrics_listen);
    if (!ms.ok()) return ms.status();
    impl->metrics_server = std::move(*ms);
  } else {
    // Probes still count; nothing serves them.
    auto ms = metrics::MetricsServer::Start("127.0.0.1:0");
    if (!ms.ok()) return ms.status();
    impl->metrics_server = std::move(*ms);
  }
  impl->probe = std::make_unique<metrics::WorkerProbe>(*impl->metrics_server, impl->opt.worker_id);
  impl->channel = rpc::MakeChannel(impl->opt.controller);
  impl->stub = v1::WorkerGateway::NewStub(impl->channel);
  KREPLAY_RETURN_IF_ERROR(impl->Register());

  bus::GroupConsumerOptions co;
  co.group_id = impl->opt.group_id;
  co.session_timeout_ms = impl->opt.session_timeout_ms;
  co.offset_reset = bus::OffsetReset::kEarliest;  // a new group starts at the oldest item; the controller skips stale ones
  Impl* raw = impl.get();
  co.on_rebalance = [raw](const bus::RebalanceEvent& ev) {
    if (ev.kind != bus::RebalanceEvent::Kind::kRevoked) return;
    std::lock_guard<std::mutex> lock(raw->mu);
    for (const auto& tp : ev.partitions) raw->progress.erase({tp.topic, tp.partition});
  };
  // Work items are small and latency matters more than batching: a fetch
  // should not sit out librdkafka's default 500 ms wait (user -X wins).
  bus::KafkaConfig consumer_kafka = impl->opt.kafka;
  consumer_kafka.properties.insert(consumer_kafka.properties.begin(), {"fetch.wait.max.ms", "20"});
  auto consumer = bus::GroupConsumer::Create(consumer_kafka, co);
  if (!consumer.ok()) return consumer.status();
  impl->consumer = std::move(*consumer);
  KREPLAY_RETURN_IF_ERROR(impl->consumer->Subscribe({impl->topics.work}));

  for (int i = 0; i < impl->opt.threads; ++i) impl->pool.emplace_back([raw] { raw->PoolLoop(); });
  impl->heartbeat_thread = std::thread([raw] { raw->HeartbeatLoop(); });
  impl->poll_thread = std::thread([raw] { raw->PollLoop(); });
  return std::unique_ptr<Worker>(new Worker(std::move(impl)));
}

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Worker::~Worker() {
  RequestStop();
  (void)Wait();
}

void Worker::RequestStop() {
  impl_->stop.store(true);
  impl_->cv.notify_all();
}

Status Worker::Wait() {
  if (impl_->poll_thread.joinable()) impl_->poll_thread.join();
  // Let in-flight runs finish within the grace period, then cancel them.
  {
    std::unique_lock<std::mutex> lock(impl_->mu);
    bool drained = impl_->cv.wait_for(lock, std::chrono::duration<double>(impl_->opt.shutdown_grace_seconds),
                                      [&] { return impl_->busy == 0; });
    if (!drained) {
      impl_->hard_stop.store(true);
      for (auto& [_, flag] : impl_->in_flight) flag->store(true);
      impl_->cv.notify_all();
    }
  }
  for (auto& t : impl_->pool)
    if (t.joinable()) t.join();
  impl_->pool.clear();
  impl_->cv.notify_all();
  if (impl_->heartbeat_thread.joinable()) impl_->heartbeat_thread.join();
  if (impl_->consumer) (void)impl_->consumer->Close();  // commits stored offsets, leaves the group
  return impl_->fatal;
}

int Worker::metrics_port() const { return impl_->metrics_server ? impl_->metrics_server->port() : 0; }
const std::string& Worker::worker_id() const { return impl_->opt.worker_id; }

}  // namespace kreplay::worker
