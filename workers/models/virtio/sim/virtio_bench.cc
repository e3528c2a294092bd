// Datapath simulator speed (not a test): whole RunDatapath runs on the
// shipped server-x86 profile, on the workloads of the two example studies
// (examples/vduse-vs-ublk.yaml, examples/vhost-net-vs-vhost-user.yaml):
// 4 KiB random reads at depth 1, 32 and 4 jobs x 128 through VDUSE
// (virtio-vdpa bus), ublk and a hardware vhost-vdpa device; 64-byte frames
// at saturation, transmit and receive, through vhost-net and vhost-user on
// split and packed rings. Each configuration uses the model's defaults
// (models/virtio_models.cc). Reports, per CPU second of simulation:
//   descriptors  chains the backend took (the result's "descriptors")
//   requests     requests completed (the result's "requests")
//   events       engine events dispatched (Result::sim_events)
//
//   ./build/workers/models/virtio/sim/virtio_bench
//   ./build/workers/models/virtio/sim/virtio_bench --dump_results
//
// --dump_results runs every configuration once and prints its scalars with
// all 17 significant digits (and the event count) instead of timing them:
// the before/after check that a speed change left the results bit-identical.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "workers/models/virtio/profile/virtio_profile.h"
#include "workers/models/virtio/sim/datapath.h"
#include "workers/models/virtio/workload/block_jobs.h"
#include "workers/models/virtio/workload/packets.h"

namespace kreplay::virtio {
namespace {

struct Case {
  std::string name;
  DatapathConfig config;
  VirtioWorkload workload;
};

// The example's fio jobs: 4 KiB random reads, closed loop.
VirtioWorkload RandRead(uint32_t iodepth, uint32_t numjobs, uint64_t ios) {
  BlockJobSpec s;
  s.rw = BlockRw::kRandRead;
  s.iodepth = iodepth;
  s.numjobs = numjobs;
  s.ios = ios;
  return GenerateBlockJobs(s, 1);
}

VirtioWorkload Frames64(bool rx, uint64_t packets) {
  PacketSpec s;
  s.direction = rx ? PacketDirection::kRx : PacketDirection::kTx;
  s.packets = packets;
  return GeneratePackets(s, 1);
}

// The models' defaults (kernel 6.12) for each backend.
DatapathConfig Config(Backend b, bool packed = false) {
  DatapathConfig c;
  c.backend = b;
  c.packed = packed;
  switch (b) {
    case Backend::kVhostNet: c.batch = 64; break;
    case Backend::kVhostUser:
      c.batch = 32;
      c.poll = true;
      break;
    case Backend::kVhostVdpa: c.doorbell_mapped = true; break;
    case Backend::kVduse:
      c.bus = Bus::kVirtioVdpa;
      c.irq_path = IrqPath::kWorkqueue;
      break;
    case Backend::kUblk: c.queue_size = 128; break;
    case Backend::kVirtioVdpa: break;
  }
  return c;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  const struct {
    const char* name;
    Backend b;
  } block[] = {{"vduse", Backend::kVduse}, {"ublk", Backend::kUblk}, {"vhost-vdpa", Backend::kVhostVdpa}};
  for (const auto& be : block) {
    cases.push_back({std::string(be.name) + "/randread-qd1", Config(be.b), RandRead(1, 1, 20000)});
    cases.push_back({std::string(be.name) + "/randread-qd32", Config(be.b), RandRead(32, 1, 50000)});
    cases.push_back({std::string(be.name) + "/randread-qd128x4", Config(be.b), RandRead(128, 4, 25000)});
  }
  const struct {
    const char* name;
    Backend b;
    bool packed;
  } net[] = {{"vhost-net", Backend::kVhostNet, false},
             {"vhost-net-packed", Backend::kVhostNet, true},
             {"vhost-user", Backend::kVhostUser, false},
             {"vhost-user-packed", Backend::kVhostUser, true}};
  for (const auto& be : net) {
    cases.push_back({std::string(be.name) + "/tx-64", Config(be.b, be.packed), Frames64(false, 100000)});
    cases.push_back({std::string(be.name) + "/rx-64", Config(be.b, be.packed), Frames64(true, 100000)});
  }
  return cases;
}

const VirtioProfile& Profile() {
  static const VirtioProfile p = [] {
    auto r = LoadBuiltinVirtioProfile("server-x86");
    if (!r.ok()) {
      std::fprintf(stderr, "server-x86: %s\n", r.status().ToString().c_str());
      std::abort();
    }
    return *r;
  }();
  return p;
}

void BM_Datapath(benchmark::State& state, const Case* c) {
  const VirtioProfile& p = Profile();
  double descriptors = 0, requests = 0, events = 0;
  for (auto _ : state) {
    auto r = RunDatapath(c->config, p, c->workload, 1, nullptr);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    descriptors += r->scalars.at("descriptors").value;
    requests += r->scalars.at("requests").value;
    events += static_cast<double>(r->sim_events);
    benchmark::DoNotOptimize(r);
  }
  state.counters["descriptors"] = benchmark::Counter(descriptors, benchmark::Counter::kIsRate);
  state.counters["requests"] = benchmark::Counter(requests, benchmark::Counter::kIsRate);
  state.counters["events"] = benchmark::Counter(events, benchmark::Counter::kIsRate);
}

int DumpResults(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    auto r = RunDatapath(c.config, Profile(), c.workload, 1, nullptr);
    if (!r.ok()) {
      std::printf("%s error %s\n", c.name.c_str(), r.status().ToString().c_str());
      return 1;
    }
    for (const auto& [name, s] : r->scalars) std::printf("%s %s %.17g\n", c.name.c_str(), name.c_str(), s.value);
    std::printf("%s sim_events %llu\n", c.name.c_str(), static_cast<unsigned long long>(r->sim_events));
  }
  return 0;
}

}  // namespace
}  // namespace kreplay::virtio

int main(int argc, char** argv) {
  static const std::vector<kreplay::virtio::Case> cases = kreplay::virtio::Cases();
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--dump_results") == 0) return kreplay::virtio::DumpResults(cases);
  for (const auto& c : cases)
    benchmark::RegisterBenchmark(("BM_Datapath/" + c.name).c_str(), kreplay::virtio::BM_Datapath, &c)
        ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
