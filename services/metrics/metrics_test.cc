#include "services/metrics/metrics.h"

#include <gtest/gtest.h>

namespace kreplay::metrics {
namespace {

TEST(Metrics, WorkerProbeExposesConventionalNames) {
  auto server = MetricsServer::Start("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_GT((*server)->port(), 0);
  WorkerProbe probe(**server, "w1");
  probe.ItemFinished("ok", 0.3);
  probe.ItemFinished("ok", 0.7);
  probe.ItemFinished("skipped", 0);
  probe.SimulatedWork(1000, 2.5);
  probe.SetInFlight(3);
  std::string text = (*server)->Scrape();
  EXPECT_NE(text.find("kreplay_worker_work_items_total{outcome=\"ok\",worker=\"w1\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("kreplay_worker_work_items_total{outcome=\"skipped\",worker=\"w1\"} 1"), std::string::npos);
  EXPECT_NE(text.find("kreplay_worker_simulated_events_total{worker=\"w1\"} 1000"), std::string::npos);
  EXPECT_NE(text.find("kreplay_worker_in_flight_items{worker=\"w1\"} 3"), std::string::npos);
  EXPECT_NE(text.find("kreplay_worker_item_duration_seconds_count{worker=\"w1\"} 2"), std::string::npos);
}

}  // namespace
}  // namespace kreplay::metrics
