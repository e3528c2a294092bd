#include "services/metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <sstream>

namespace kreplay::metrics {

struct MetricsServer::Impl {
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
};

StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& listen) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    return Unavailable("metrics: cannot listen on " + listen + ": " + e.what());
  }
  impl->exposer->RegisterCollectable(impl->registry);
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsServer::~MetricsServer() = default;

int MetricsServer::port() const {
  auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

std::string MetricsServer::Scrape() const {
  prometheus::TextSerializer ser;
  std::ostringstream out;
  ser.Serialize(out, impl_->registry->Collect());
  return out.str();
}

struct WorkerProbe::Impl {
  prometheus::Family<prometheus::Counter>* items;
  prometheus::Histogram* duration;
  prometheus::Counter* events;
  prometheus::Counter* sim_seconds;
  prometheus::Gauge* in_flight;
  prometheus::Gauge* lag;
  prometheus::Counter* trace_bytes;
  prometheus::Counter* resends;
  prometheus::Counter* trace_records;
  prometheus::Counter* trace_seconds;
  std::map<std::string, std::string> labels;
};

WorkerProbe::WorkerProbe(MetricsServer& server, const std::string& worker_id) : impl_(std::make_unique<Impl>()) {
  auto& reg = *server.impl()->registry;
  impl_->labels = {{"worker", worker_id}};
  const auto& l = impl_->labels;
  impl_->items = &prometheus::BuildCounter()
                      .Name("kreplay_worker_work_items_total")
                      .Help("Work items handled by this worker, by outcome")
                      .Register(reg);
  impl_->duration = &prometheus::BuildHistogram()
                         .Name("kreplay_worker_item_duration_seconds")
                         .Help("Wall time to run one work item (trace fetch included)")
                         .Register(reg)
                         .Add(l, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300});
  impl_->events = &prometheus::BuildCounter()
                       .Name("kreplay_worker_simulated_events_total")
                       .Help("Discrete events processed by model runs")
                       .Register(reg)
                       .Add(l);
  impl_->sim_seconds = &prometheus::BuildCounter()
                            .Name("kreplay_worker_simulated_seconds_total")
                            .Help("Simulated time covered by model runs")
                            .Register(reg)
                            .Add(l);
  impl_->in_flight = &prometheus::BuildGauge()
                          .Name("kreplay_worker_in_flight_items")
                          .Help("Work items currently running")
                          .Register(reg)
                          .Add(l);
  impl_->lag = &prometheus::BuildGauge()
                    .Name("kreplay_worker_consumer_lag_records")
                    .Help("Work-topic records not yet consumed on this worker's partitions")
                    .Register(reg)
                    .Add(l);
  impl_->trace_bytes = &prometheus::BuildCounter()
                            .Name("kreplay_worker_trace_read_bytes_total")
                            .Help("Trace chunk bytes read from the trace topic")
                            .Register(reg)
                            .Add(l);
  impl_->trace_records = &prometheus::BuildCounter()
                              .Name("kreplay_worker_trace_records_total")
                              .Help("Workload records received whole through the trace topic")
                              .Register(reg)
                              .Add(l);
  impl_->trace_seconds = &prometheus::BuildCounter()
                              .Name("kreplay_worker_trace_fetch_seconds_total")
                              .Help("Wall time spent fetching traces (open to last chunk)")
                              .Register(reg)
                              .Add(l);
  impl_->resends = &prometheus::BuildCounter()
                        .Name("kreplay_worker_trace_resends_total")
                        .Help("Trace re-sends requested after a gap or loss")
                        .Register(reg)
                        .Add(l);
}

WorkerProbe::~WorkerProbe() = default;

void WorkerProbe::ItemFinished(const std::string& outcome, double wall_seconds) {
  auto labels = impl_->labels;
  labels["outcome"] = outcome;
  impl_->items->Add(labels).Increment();
  if (outcome == "ok") impl_->duration->Observe(wall_seconds);
}
void WorkerProbe::SimulatedWork(uint64_t events, double simulated_seconds) {
  impl_->events->Increment(static_cast<double>(events));
  impl_->sim_seconds->Increment(simulated_seconds);
}
void WorkerProbe::SetInFlight(int64_t n) { impl_->in_flight->Set(static_cast<double>(n)); }
void WorkerProbe::SetConsumerLag(int64_t records) { impl_->lag->Set(static_cast<double>(records)); }
void WorkerProbe::TraceBytesRead(uint64_t bytes) { impl_->trace_bytes->Increment(static_cast<double>(bytes)); }
void WorkerProbe::TraceResend() { impl_->resends->Increment(); }
void WorkerProbe::TraceFetched(uint64_t records, double seconds) {
  impl_->trace_records->Increment(static_cast<double>(records));
  impl_->trace_seconds->Increment(seconds);
}

struct ControllerProbe::Impl {
  prometheus::Gauge *studies, *pending, *in_flight, *workers, *threads, *streams;
  prometheus::Family<prometheus::Counter>* recorded;
  prometheus::Counter *republished, *resends, *chunks, *chunk_bytes;
};

ControllerProbe::ControllerProbe(MetricsServer& server) : impl_(std::make_unique<Impl>()) {
  auto& reg = *server.impl()->registry;
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(reg).Add({});
  };
  auto counter = [&](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(reg).Add({});
  };
  impl_->studies = gauge("kreplay_controller_studies_running", "Studies running");
  impl_->pending = gauge("kreplay_controller_runs_pending", "Runs of running studies not yet recorded");
  impl_->in_flight = gauge("kreplay_controller_runs_in_flight", "Runs published or leased (the work window)");
  impl_->workers = gauge("kreplay_controller_workers_alive", "Workers heartbeating");
  impl_->threads = gauge("kreplay_controller_worker_threads", "Model threads of live workers");
  impl_->streams = gauge("kreplay_controller_trace_streams", "Trace publications being read");
  impl_->recorded = &prometheus::BuildCounter()
                         .Name("kreplay_controller_results_total")
                         .Help("Results reported by workers, by outcome in the ledger")
                         .Register(reg);
  impl_->republished = counter("kreplay_controller_republished_total", "Work items re-published (lease or claim expired)");
  impl_->resends = counter("kreplay_controller_trace_resends_total", "Trace re-sends requested by workers");
  impl_->chunks = counter("kreplay_controller_trace_chunks_published_total", "Trace chunks published");
  impl_->chunk_bytes = counter("kreplay_controller_trace_published_bytes_total", "Trace chunk bytes published");
}

ControllerProbe::~ControllerProbe() = default;

void ControllerProbe::Set(const Snapshot& s) {
  impl_->studies->Set(static_cast<double>(s.studies_running));
  impl_->pending->Set(static_cast<double>(s.runs_pending));
  impl_->in_flight->Set(static_cast<double>(s.runs_in_flight));
  impl_->workers->Set(static_cast<double>(s.workers_alive));
  impl_->threads->Set(static_cast<double>(s.worker_threads));
  impl_->streams->Set(static_cast<double>(s.trace_streams));
}
void ControllerProbe::RunRecorded(const std::string& outcome) { impl_->recorded->Add({{"outcome", outcome}}).Increment(); }
void ControllerProbe::Republished() { impl_->republished->Increment(); }
void ControllerProbe::TraceResend() { impl_->resends->Increment(); }
void ControllerProbe::TraceChunkPublished(uint64_t bytes) {
  impl_->chunks->Increment();
  impl_->chunk_bytes->Increment(static_cast<double>(bytes));
}

}  // namespace kreplay::metrics
