#include "controller/cli/local_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>

#include "controller/server/server.h"

namespace kreplay::cli {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

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

StatusOr<bus::KafkaConfig> KafkaFrom(const std::string& bootstrap, const std::vector<std::string>& props) {
  bus::KafkaConfig k;
  k.bootstrap_servers = bootstrap;
  KREPLAY_RETURN_IF_ERROR(bus::AddKafkaProperties(props, "-X", &k));
  return k;
}

StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(const LocalClusterOptions& o) {
  std::unique_ptr<LocalCluster> c(new LocalCluster);
  const std::string& run_dir = o.run_dir;
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  std::string self = SelfExe();
  c->bootstrap_ = o.bootstrap;
  if (c->bootstrap_.empty()) {
    std::string bfile = run_dir + "/bootstrap";
    fs::remove(bfile, ec);
    auto b = Subprocess::Spawn({self, "broker", "--bootstrap-file", bfile, "--topic-prefix", o.topic_prefix,
                                "--work-partitions", std::to_string(std::max(8, 4 * o.workers * 2))},
                               run_dir + "/broker.log");
    if (!b.ok()) return b.status();
    c->broker_ = std::move(*b);
    auto bs = WaitForFile(bfile, c->broker_, std::chrono::seconds(20));
    if (!bs.ok()) return bs.status().WithContext("embedded broker (log: " + run_dir + "/broker.log)");
    c->bootstrap_ = *bs;
  }
  auto kafka = KafkaFrom(c->bootstrap_, o.kafka_props);
  if (!kafka.ok()) return kafka.status();
  server::ControllerOptions co;
  co.catalog = o.catalog;
  co.data_dir = o.data_dir;
  co.db_path = o.db;
  co.kafka = *kafka;
  co.topic_prefix = o.topic_prefix;
  auto controller = server::ControllerServer::Start(co);
  if (!controller.ok()) return controller.status();
  c->controller_ = std::move(*controller);
  for (int i = 0; i < o.workers; ++i) {
    // "w<i>-<pid>", appended piecewise: GCC 12 warns falsely on "w" + std::string (-Wrestrict, PR105651).
    std::string id = "w";
    id += std::to_string(i);
    id += "-";
    id += std::to_string(::getpid());
    std::vector<std::string> argv = {self, "worker", "--controller", c->controller_->address(), "--bootstrap-servers",
                                     c->bootstrap_, "--threads", std::to_string(o.threads), "--id", id,
                                     "--topic-prefix", o.topic_prefix, "--grace-seconds", "5"};
    for (const auto& p : o.kafka_props) {
      argv.push_back("-X");
      argv.push_back(p);
    }
    auto w = Subprocess::Spawn(argv, run_dir + "/worker" + std::to_string(i) + ".log");
    if (!w.ok()) return w.status();
    c->workers_.push_back(std::move(*w));
  }
  return c;
}

LocalCluster::~LocalCluster() { Stop(); }

std::string LocalCluster::controller_address() const { return controller_->address(); }

void LocalCluster::Stop() {
  // Order matters: workers, then the controller (its producer flushes to
  // the broker), then the broker.
  for (auto& w : workers_) w.Signal(SIGTERM);  // all at once: each takes ~2 s to leave the group
  for (auto& w : workers_) w.Stop(std::chrono::seconds(10));
  controller_.reset();
  broker_.Stop(std::chrono::seconds(5));
}

}  // namespace kreplay::cli
