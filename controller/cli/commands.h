// The role subcommands: run, broker, controller, worker, submit. Each
// returns a process exit code (exit_codes.h). The catalog commands (models,
// platforms, devices, workload write) are in catalog_cmd.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/cli/gate_cli.h"
#include "services/family/family.h"

namespace kreplay::cli {

struct RunOptions {
  std::string spec, out, db, bootstrap, topic_prefix;
  std::vector<std::string> kafka_props;
  int workers = 2;
  int threads = 0;
  bool resume = false, local = false, quiet = false, yes = false;
  std::string progress = "auto";
  GateFlags gate;
};

struct BrokerOptions {
  int brokers = 3;
  int work_partitions = 16;
  int trace_partitions = 4;
  std::string topic_prefix, bootstrap_file;
};

struct ControllerCliOptions {
  std::string bootstrap, topic_prefix, listen = "127.0.0.1:7070", data_dir = "kreplay-data", db, port_file;
  std::vector<std::string> kafka_props;
  uint64_t trace_window_bytes = 3u << 20;
  double lease_seconds = 30;
  bool reuse_traces = false;
  std::string metrics_listen = "127.0.0.1:0", metrics_port_file;
};

struct WorkerCliOptions {
  std::string controller, bootstrap, topic_prefix, id, metrics_listen = "127.0.0.1:0", metrics_port_file;
  std::vector<std::string> kafka_props;
  int threads = 0;
  int session_timeout_ms = 6000;
  double grace_seconds = 60;
};

struct SubmitOptions {
  std::string spec, controller, request_id, out;
  bool wait = false, resume = false;
  std::string progress = "auto";
  GateFlags gate;
};

// The commands take the process's one catalog of families and models
// (main.cc), or its model registry.
int CmdRun(const family::Catalog& catalog, const RunOptions& o);
int CmdBroker(const BrokerOptions& o);
int CmdController(const family::Catalog& catalog, const ControllerCliOptions& o);
int CmdWorker(const family::Catalog& catalog, const WorkerCliOptions& o);
int CmdSubmit(const family::Catalog& catalog, const SubmitOptions& o);

}  // namespace kreplay::cli
