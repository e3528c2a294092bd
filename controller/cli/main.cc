// kreplay: one binary, several roles. A thin main: each subcommand parses
// its flags, then hands over to a library (controller/server, workers/worker,
// controller/report). Exit codes: 0 ok, 1 regression (gate), 2 bad input,
// 3 infrastructure failure, 130 interrupted.
#include <CLI/CLI.hpp>
#include <string>

#include "controller/cli/catalog_cmd.h"
#include "controller/cli/commands.h"
#include "controller/cli/exit_codes.h"
#include "controller/cli/gate_cli.h"
#include "controller/cli/plan_cmd.h"
#include "controller/cli/rerun_cmd.h"
#include "controller/cli/subprocess.h"
#include "controller/cli/trace_cmd.h"
#include "controller/cli/main.h"

namespace kreplay::cli {

int Main(int argc, char** argv, const std::function<void(family::Catalog&)>& register_families) {
  // One catalog of families and models for the whole process: the families
  // contribute subcommands (their catalog listings) and help texts.
  family::Catalog catalog;
  register_families(catalog);
  const model::Registry& registry = catalog.models();
  CLI::App app{
      "kreplay: distributed workload replay and benchmarking for kernel subsystem models.\n"
      "\n"
      "Quick start:\n"
      "  kreplay run examples/hello.yaml                 # broker + controller + 2 workers on 127.0.0.1\n"
      "  kreplay run examples/biglittle-cfs-vs-hmp.yaml --out out/\n"
      "  kreplay models; kreplay models describe sched.hmp; kreplay platforms\n"
      "\n"
      "Distributed: kreplay broker | controller | worker | submit, against any Kafka\n"
      "cluster given by --bootstrap-servers (librdkafka properties via -X key=value).\n"
      "CI regression gate: kreplay run STUDY --baseline OLD_OUT --fail-if energy:+3% (docs/outputs.md).\n"
      "Exit codes: 0 ok, 1 regression, 2 bad input, 3 infrastructure failure, 130 interrupted.",
      "kreplay"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("kreplay ") + KREPLAY_VERSION);

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Run a study end to end on this machine (embedded broker by default)");
  run_cmd->add_option("spec", run.spec, "Study spec (YAML)")->required();
  run_cmd->add_option("--out", run.out, "Output folder (results.json, CSVs, summary.md); default kreplay-out/<study>");
  run_cmd->add_option("--workers", run.workers, "Worker processes to start")->capture_default_str()->check(CLI::Range(1, 64));
  run_cmd->add_option("--threads", run.threads, "Threads per worker (0 = cores / workers, at least 1)")->capture_default_str();
  run_cmd->add_option("--db", run.db, "SQLite ledger (default <out>/kreplay.db)");
  run_cmd->add_flag("--resume", run.resume, "Continue the unfinished study with this spec in the ledger");
  run_cmd->add_flag("--local", run.local, "Run every model in this process (no broker, no workers): the reference for determinism checks");
  run_cmd->add_option("--bootstrap-servers", run.bootstrap, "Use this Kafka cluster instead of the embedded broker");
  run_cmd->add_option("-X", run.kafka_props, "librdkafka property key=value (repeatable)");
  run_cmd->add_option("--topic-prefix", run.topic_prefix, "Prefix for the kreplay topics");
  run_cmd->add_option("--progress", run.progress, "Progress output: auto, plain, json, none")
      ->capture_default_str()->check(CLI::IsMember({"auto", "plain", "json", "none"}));
  run_cmd->add_flag("--quiet", run.quiet, "Do not print the table");
  run_cmd->add_flag("--yes", run.yes, "Run even a study above the size that needs confirmation (see `kreplay plan`)");
  AddGateFlags(run_cmd, &run.gate);

  BrokerOptions broker;
  auto* broker_cmd = app.add_subcommand("broker", "Run the embedded Kafka broker (librdkafka mock cluster) until SIGTERM");
  broker_cmd->add_option("--brokers", broker.brokers, "Mock brokers")->capture_default_str()->check(CLI::Range(1, 16));
  broker_cmd->add_option("--work-partitions", broker.work_partitions, "Partitions of the work topic")->capture_default_str()->check(CLI::Range(1, 1024));
  broker_cmd->add_option("--trace-partitions", broker.trace_partitions, "Partitions of the trace topic")->capture_default_str()->check(CLI::Range(1, 1024));
  broker_cmd->add_option("--topic-prefix", broker.topic_prefix, "Prefix for the kreplay topics");
  broker_cmd->add_option("--bootstrap-file", broker.bootstrap_file, "Write the bootstrap servers to this file when ready");

  ControllerCliOptions ctl;
  auto* ctl_cmd = app.add_subcommand("controller", "Run the controller (gRPC API, planner, ledger) until SIGTERM");
  ctl_cmd->add_option("--bootstrap-servers", ctl.bootstrap, "Kafka bootstrap servers")->required();
  ctl_cmd->add_option("-X", ctl.kafka_props, "librdkafka property key=value (repeatable)");
  ctl_cmd->add_option("--topic-prefix", ctl.topic_prefix, "Prefix for the kreplay topics");
  ctl_cmd->add_option("--listen", ctl.listen, "gRPC address")->capture_default_str();
  ctl_cmd->add_option("--data-dir", ctl.data_dir, "Ledger and trace store folder")->capture_default_str();
  ctl_cmd->add_option("--db", ctl.db, "SQLite ledger path (default <data-dir>/kreplay.db)");
  ctl_cmd->add_option("--port-file", ctl.port_file, "Write the gRPC port here when listening");
  ctl_cmd->add_option("--trace-window-bytes", ctl.trace_window_bytes, "Unacknowledged trace bytes per partition")->capture_default_str();
  ctl_cmd->add_option("--lease-seconds", ctl.lease_seconds, "Lease of a claimed run (renewed by heartbeats)")->capture_default_str();
  ctl_cmd->add_option("--metrics-listen", ctl.metrics_listen, "Prometheus /metrics address (port 0 = any; empty = off)")->capture_default_str();
  ctl_cmd->add_option("--metrics-port-file", ctl.metrics_port_file, "Write the metrics port here");
  ctl_cmd->add_flag("--reuse-traces", ctl.reuse_traces,
                    "Publish each trace once and let every run read that publication (real Kafka with long retention; "
                    "never with the embedded broker, which keeps ~5 MiB per partition)");

  WorkerCliOptions wk;
  auto* wk_cmd = app.add_subcommand("worker", "Run a worker until SIGTERM");
  wk_cmd->add_option("--controller", wk.controller, "Controller gRPC address host:port")->required();
  wk_cmd->add_option("--bootstrap-servers", wk.bootstrap, "Kafka bootstrap servers")->required();
  wk_cmd->add_option("-X", wk.kafka_props, "librdkafka property key=value (repeatable)");
  wk_cmd->add_option("--topic-prefix", wk.topic_prefix, "Prefix for the kreplay topics");
  wk_cmd->add_option("--threads", wk.threads, "Model threads (0 = cores)")->capture_default_str();
  wk_cmd->add_option("--id", wk.id, "Worker id (default host-pid)");
  wk_cmd->add_option("--metrics-listen", wk.metrics_listen, "Prometheus /metrics address (port 0 = any)")->capture_default_str();
  wk_cmd->add_option("--metrics-port-file", wk.metrics_port_file, "Write the metrics port here");
  wk_cmd->add_option("--session-timeout-ms", wk.session_timeout_ms, "Kafka group session timeout (>= 3000)")->capture_default_str()->check(CLI::Range(3000, 300000));
  wk_cmd->add_option("--grace-seconds", wk.grace_seconds, "On SIGTERM, finish in-flight runs for this long")->capture_default_str();

  SubmitOptions sub;
  auto* sub_cmd = app.add_subcommand("submit", "Submit a study to a running controller");
  sub_cmd->add_option("spec", sub.spec, "Study spec (YAML)")->required();
  sub_cmd->add_option("--controller", sub.controller, "Controller gRPC address host:port")->required();
  sub_cmd->add_option("--request-id", sub.request_id, "Idempotency key (default: derived from the spec and time)");
  sub_cmd->add_flag("--wait", sub.wait, "Wait for the study, print the table and write --out");
  sub_cmd->add_option("--out", sub.out, "Output folder when --wait");
  sub_cmd->add_flag("--resume", sub.resume, "Continue the unfinished study with this spec");
  sub_cmd->add_option("--progress", sub.progress, "Progress output: auto, plain, json, none")
      ->capture_default_str()->check(CLI::IsMember({"auto", "plain", "json", "none"}));
  AddGateFlags(sub_cmd, &sub.gate);

  std::string models_describe;
  auto* models_cmd = app.add_subcommand("models", "List models, or `models describe NAME` for parameters and metrics");
  auto* describe_cmd = models_cmd->add_subcommand("describe", "Every parameter and metric of a model");
  describe_cmd->add_option("name", models_describe, "Model name")->required();

  WorkloadWriteOptions ww;
  auto* wl_cmd = app.add_subcommand("workload", "Workload files: `workload write` exports a spec's workload as rt-app JSON");
  auto* ww_cmd = wl_cmd->add_subcommand("write", "Write one workload of a study (synthetic or rt-app) as rt-app JSON, "
                                                  "so rt-app can replay it on a real board");
  ww_cmd->add_option("spec", ww.spec, "Study spec (YAML)")->required();
  ww_cmd->add_option("--workload", ww.workload, "Workload name (default: the first)");
  ww_cmd->add_option("--seed", ww.seed, "Seed (default: the spec's first)");
  ww_cmd->add_option("-o,--output", ww.out, "Output file (default: stdout)");
  wl_cmd->require_subcommand(1);

  // Each family's catalog listings (e.g. `platforms`, `devices`).
  struct ListingCmd {
    const family::FamilyInfo::Listing* listing;
    CLI::App* cmd;
    std::string name;
  };
  std::vector<std::unique_ptr<ListingCmd>> listings;
  for (const auto* f : catalog.List()) {
    for (const auto& l : f->listings) {
      auto lc = std::make_unique<ListingCmd>();
      lc->listing = &l;
      lc->cmd = app.add_subcommand(l.command, l.help);
      lc->cmd->add_option("name", lc->name, l.arg_help);
      listings.push_back(std::move(lc));
    }
  }

  // `trace inspect` over every family's inspector; then each family's own
  // subcommands (e.g. `trace convert` under `trace`).
  auto trace_cli = AddTraceCommand(app, catalog);
  std::vector<std::function<std::optional<int>()>> family_commands;
  for (const auto* f : catalog.List())
    if (f->add_commands) family_commands.push_back(f->add_commands(app));
  auto rerun_cli = AddRerunCommand(app);
  auto plan_cli = AddPlanCommands(app);
  auto results_cli = AddResultsCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }

  DieWithParent();
  if (*run_cmd) return CmdRun(catalog, run);
  if (*broker_cmd) return CmdBroker(broker);
  if (*ctl_cmd) return CmdController(catalog, ctl);
  if (*wk_cmd) return CmdWorker(catalog, wk);
  if (*sub_cmd) return CmdSubmit(catalog, sub);
  if (*models_cmd) return CmdModels(registry, *describe_cmd ? models_describe : "");
  for (const auto& lc : listings)
    if (*lc->cmd) return CmdListing(*lc->listing, lc->name);
  if (*wl_cmd) return CmdWorkloadWrite(catalog, ww);
  if (TraceInspectSelected(*trace_cli)) return RunTraceInspect(*trace_cli);
  for (const auto& family_command : family_commands)
    if (auto rc = family_command()) return *rc;
  if (RerunSelected(*rerun_cli)) return RunRerunCommand(catalog, *rerun_cli);
  if (PlanSelected(*plan_cli)) return RunPlanCommand(catalog, *plan_cli);
  if (ResultsSelected(*results_cli)) return RunResultsCommand(registry, *results_cli);
  return kExitBadInput;
}

}  // namespace kreplay::cli
