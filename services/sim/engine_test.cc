#include "services/sim/engine.h"

#include <gtest/gtest.h>

#include <vector>

namespace kreplay::sim {
namespace {

struct Recorder : EventHandler {
  Simulator* sim = nullptr;
  std::vector<std::pair<Time, uint64_t>> seen;
  void OnEvent(uint64_t tag) override { seen.emplace_back(sim->Now(), tag); }
};

TEST(Engine, OrdersByTimeThenScheduleOrder) {
  Simulator sim;
  Recorder r;
  r.sim = &sim;
  sim.At(30, &r, 1);
  sim.At(10, &r, 2);
  sim.At(10, &r, 3);  // same time as tag 2, scheduled later: fires after it
  sim.At(20, &r, 4);
  sim.At(10, &r, 5);
  sim.Run();
  std::vector<std::pair<Time, uint64_t>> want = {{10, 2}, {10, 3}, {10, 5}, {20, 4}, {30, 1}};
  EXPECT_EQ(r.seen, want);
  EXPECT_EQ(sim.events_processed(), 5u);
}

TEST(Engine, CancelledEventsDoNotFireOrCount) {
  Simulator sim;
  Recorder r;
  r.sim = &sim;
  EventId a = sim.At(5, &r, 1);
  sim.At(6, &r, 2);
  EXPECT_TRUE(sim.Cancel(a));
  EXPECT_FALSE(sim.Cancel(a));
  sim.Run();
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].second, 2u);
  EXPECT_EQ(sim.events_processed(), 1u);
}

TEST(Engine, RunUntilStopsAtBoundaryAndAdvancesClock) {
  Simulator sim;
  Recorder r;
  r.sim = &sim;
  sim.At(100, &r, 1);
  sim.At(200, &r, 2);
  sim.RunUntil(150);
  EXPECT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(sim.Now(), 150);
  sim.RunUntil(200);  // inclusive
  EXPECT_EQ(r.seen.size(), 2u);
}

// A self-rescheduling handler with pseudo-random delays: two runs give the
// same trace, which is what determinism across workers rests on.
struct Chain : EventHandler {
  Simulator* sim;
  uint64_t state = 12345;
  std::vector<Time> times;
  void OnEvent(uint64_t tag) override {
    times.push_back(sim->Now());
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    if (times.size() < 1000) sim->After(static_cast<Duration>(state >> 54), this, tag);
  }
};

TEST(Engine, RepeatedRunsAreIdentical) {
  auto run = [] {
    Simulator sim;
    Chain a, b;
    a.sim = b.sim = &sim;
    b.state = 99;
    sim.At(0, &a, 0);
    sim.At(0, &b, 1);
    sim.Run();
    std::vector<Time> all = a.times;
    all.insert(all.end(), b.times.begin(), b.times.end());
    return all;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace kreplay::sim
