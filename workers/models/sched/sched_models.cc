// Registration of "sched.cfs", "sched.hmp" and "sched.eevdf": parameters,
// metrics and the run function that turns a ParamSet into SchedOptions.
#include "workers/models/sched/sched_models.h"

#include "workers/models/sched/mainline_version.h"
#include "workers/models/sched/sched_sim.h"

namespace kreplay::sched {
namespace {

using model::Better;
using model::MetricSpec;
using model::ParamSpec;
using model::ParamType;

// 1.1.0: adds batch_makespan_ms (other results unchanged from 1.0.0).
// 1.2.0: results change. CFS: min_vruntime moves only where 3.10 updates it
// (not at pick), wake-ups and migrations update the running task first, fork
// placement uses half the imbalance_pct. HMP: wake decisions read the ratio
// left at the sleep; the forced up-migration pass walks every CPU from the
// rebalance softirq (when a busy CPU's balance is due); curr-plus-5 task
// searches; offload of the lightest task; idle pull after newidle balance,
// behind avg_idle, without settling or priority checks; migrations clear the
// other direction's settling stamp; hmp_domain_min_load() ties by last
// migration; performance/powersave pin the load scale at 1024; the settling
// time is hmp_next_up/down_threshold in 1024-ns units (replacing
// hmp_min_migration_interval_us).
constexpr char kVersion[] = "1.2.0";
// sched.cfs 1.3.0: kernel_version (mainline CFS 5.15 .. 6.5 beside LSK
// 3.10); hz, governor, imbalance_pct, mc_imbalance_pct and busy_factor
// default to the release's values; LSK 3.10 results unchanged from 1.2.0.
constexpr char kCfsVersion[] = "1.3.0";
// sched.eevdf, on the mainline core. 1.1.0: fork placement walks the
// domains (sched_balance_find_dst_cpu()) instead of taking the first idle
// CPU; results of workloads that fork while CPUs are busy or idle change.
constexpr char kEevdfVersion[] = "1.1.0";
// The deadline class (SCHED_DEADLINE, dl_class.h) changes no version: a
// workload without deadline tasks runs none of its paths (one flag test per
// hook) and reports exactly the metrics it did, bit for bit (the goldens pin
// it); migrations_dl_push/pull and dl_throttles appear only for workloads
// with deadline tasks, which these versions refused before (their inputs
// digest tells them apart). The RT class was added to the same rule.



// The mainline release defaults shared by sched.cfs (mainline releases) and
// sched.eevdf.
constexpr int kMainlineImbalancePct = 117;  // sd_init() in 5.x/6.x
constexpr int kMainlineBusyFactor = 16;     // sd_init() since 5.10
constexpr int kLskImbalancePct = 125;       // 3.10 SD_CPU_INIT / SD_MC_INIT
constexpr int kLskBusyFactor = 64;

std::vector<ParamSpec> CommonParams() {
  std::vector<ParamSpec> v;
  v.push_back(model::IntParam("hz", "Hz", 100, 24, 1000,
                  "Scheduler tick rate. 100: arm64 in 3.10 fixed HZ at 100 (Juno), and the arm "
                  "vexpress defconfig (TC2) leaves the Kconfig default of 100."));
  ParamSpec gov;
  gov.name = "governor";
  gov.type = ParamType::kEnum;
  gov.default_value = std::string("ondemand");
  gov.choices = {"performance", "powersave", "ondemand", "interactive", "schedutil"};
  gov.help =
      "cpufreq governor per cluster. ondemand (default, the Linaro LSK boards' choice): busiest CPU's busy % "
      "each sampling_rate_us; interactive: busy % each sampling_rate_us (timer_rate), hold min_sample_time; "
      "schedutil-like: invariant utilisation at ticks and wake-ups, up/down_rate_limit_us; performance/powersave: "
      "top/bottom OPP. Changes take the platform's dvfs_transition_ns.";
  v.push_back(gov);
  v.push_back(model::IntParam("sampling_rate_us", "us", 20000, 1000, 1000000,
                  "ondemand sampling_rate / interactive timer_rate (20 ms: interactive's default; ondemand's "
                  "1000 x transition latency would be 1 s on these boards, so the common tuned value is used)."));
  v.push_back(model::IntParam("up_threshold", "%", 80, 11, 100, "ondemand up_threshold: above it jump to the top OPP."));
  v.push_back(model::IntParam("down_differential", "%", 10, 0, 50, "ondemand down_differential (3.10 adj_up_threshold = up - this)."));
  v.push_back(model::IntParam("go_hispeed_load", "%", 99, 1, 100, "interactive: load that jumps to hispeed (the top OPP)."));
  v.push_back(model::IntParam("target_load", "%", 90, 1, 100, "interactive: target load; next = cur * load / target_load."));
  v.push_back(model::IntParam("min_sample_time_us", "us", 80000, 0, 10000000, "interactive: minimum time at a speed before lowering it."));
  v.push_back(model::IntParam("up_rate_limit_us", "us", 500, 0, 10000000, "schedutil: minimum time between frequency increases."));
  v.push_back(model::IntParam("down_rate_limit_us", "us", 20000, 0, 10000000, "schedutil: minimum time between frequency decreases."));
  v.push_back(model::IntParam("sched_latency_ns", "ns", 0, 0, 1e10,
                  "CFS targeted preemption latency; 0 = 6 ms x (1 + ilog2(min(ncpus, 8))) (SCHED_TUNABLESCALING_LOG)."));
  v.push_back(model::IntParam("min_granularity_ns", "ns", 0, 0, 1e10, "CFS minimum slice; 0 = 0.75 ms x the CPU-count factor."));
  v.push_back(model::IntParam("wakeup_granularity_ns", "ns", 0, 0, 1e10,
                  "CFS wake-up preemption granularity; 0 = 1 ms x the CPU-count factor."));
  v.push_back(model::IntParam("migration_cost_ns", "ns", 500000, 0, 1e9,
                  "sysctl_sched_migration_cost: tasks that ran more recently are cache-hot; newidle balance is "
                  "skipped while rq->avg_idle is below it."));
  v.push_back(model::IntParam("imbalance_pct", "%", 125, 100, 400, "DIE (cluster-level) domain imbalance_pct (3.10 SD_CPU_INIT)."));
  v.push_back(model::IntParam("mc_imbalance_pct", "%", 125, 100, 400,
                  "MC (within-cluster) domain imbalance_pct: 125 in 3.10 SD_MC_INIT (117 from 3.16 sd_init)."));
  v.push_back(model::IntParam("busy_factor", "", 64, 1, 1024, "Balance interval multiplier on a busy CPU (3.10 sd busy_factor)."));
  v.push_back(model::IntParam("max_sim_time", "s", 600, 1, 86400,
                  "Safety cap on simulated time when the workload has no duration and a task never finishes."));
  return v;
}

// The mainline model's parameters: the common ones that apply to the
// mainline base with its defaults, without CFS's latency tunables (EEVDF
// has base_slice, set by the release) and with schedutil's single
// rate_limit_us instead of the Android up/down pair.
std::vector<ParamSpec> EevdfParams() {
  std::vector<ParamSpec> v;
  for (ParamSpec& p : CommonParams()) {
    if (p.name == "sched_latency_ns" || p.name == "min_granularity_ns" || p.name == "wakeup_granularity_ns" ||
        p.name == "up_rate_limit_us" || p.name == "down_rate_limit_us") {
      continue;
    }
    if (p.name == "hz") {
      p.default_value = int64_t{kMainlineTraits.default_hz};
      p.help = "Scheduler tick rate (CONFIG_HZ). 250: the kernel/Kconfig.hz default, kept by the arm64 defconfig.";
    } else if (p.name == "governor") {
      p.default_value = std::string("schedutil");
      p.help =
          "cpufreq governor per cluster. schedutil (default, the mainline choice with invariant PELT): "
          "sugov_next_freq_shared()/get_next_freq() on cpu_util() (max of util_avg and util_est), 1.25 x f_max x "
          "util / capacity, the lowest OPP at or above, at most once per rate_limit_us; performance/powersave: "
          "top/bottom OPP; ondemand/interactive as on sched.cfs. Changes take the platform's dvfs_transition_ns.";
    } else if (p.name == "imbalance_pct") {
      p.default_value = int64_t{kMainlineImbalancePct};
      p.help = "PKG/DIE (cluster-level) domain imbalance_pct (sd_init() default 117 in 6.x).";
    } else if (p.name == "mc_imbalance_pct") {
      p.default_value = int64_t{kMainlineImbalancePct};
      p.help = "MC (within-cluster, SD_SHARE_LLC) domain imbalance_pct (sd_init() 117 in 6.x).";
    } else if (p.name == "busy_factor") {
      p.default_value = int64_t{kMainlineBusyFactor};
      p.help = "Balance interval multiplier on a busy CPU (sd_init() busy_factor 16 since 5.10).";
    }
    v.push_back(std::move(p));
  }
  v.push_back(model::StringParam("kernel_version", "6.12",
                  "Mainline release MAJOR.MINOR, 6.6 to 6.18: picks the EEVDF rules (base_slice 0.75 ms before 6.15, "
                  "0.70 ms from 6.15, x 1 + ilog2(min(ncpus, 8)); PREEMPT_SHORT, DELAY_DEQUEUE, PLACE_REL_DEADLINE "
                  "from 6.12; 6.17's lag clamp and slice protection) and schedutil's default rate limit."));
  for (const char* f : {"run_to_parity", "place_lag", "delay_dequeue"}) {
    v.push_back(model::EnumParam(f, "default", {"default", "on", "off"},
                    std::string("kernel/sched/features.h ") + (f[0] == 'r' ? "RUN_TO_PARITY" : f[0] == 'p' ? "PLACE_LAG" : "DELAY_DEQUEUE") +
                        ": default = the release's setting (on where the release has it); switching on a feature "
                        "the release does not have (DELAY_DEQUEUE before 6.12) is an error."));
  }
  v.push_back(model::IntParam("rate_limit_us", "us", -1, -1, 10000000,
                  "schedutil rate_limit_us; -1: cpufreq_policy_transition_delay_us() of the cluster's "
                  "dvfs_transition_ns (6.6-6.8: min(latency x 1000, 10 ms); 6.9+: min(latency x 1000, 2 ms), "
                  "or the latency itself above 2 ms)."));
  return v;
}

// sched.cfs: the common parameters with the release-dependent defaults left
// to kernel_version (0 / "default": the release's value), plus
// kernel_version and mainline schedutil's rate_limit_us.
std::vector<ParamSpec> CfsParams() {
  std::vector<ParamSpec> v;
  v.push_back(model::StringParam("kernel_version", "3.10",
                  "Kernel release: \"3.10\" (Linaro LSK 3.10, the big.LITTLE-era base) or a mainline release 5.15 "
                  "to 6.5 as MAJOR.MINOR (mainline CFS: PELT with util_est, capacity-aware wake placement and "
                  "misfit, mainline schedutil; min_vruntime ignores a dequeued curr, BASE_SLICE and SCHED_IDLE "
                  "rules; 6.3+ caps the tick's ideal runtime at sched_latency). 6.6+ is sched.eevdf."));
  for (ParamSpec& p : CommonParams()) {
    if (p.name == "hz") {
      p.default_value = int64_t{0};
      p.min = 0;
      p.help = "Scheduler tick rate; 0 = the release's CONFIG_HZ default: 100 on 3.10 (arm64 fixed HZ at 100, the "
               "vexpress defconfig keeps 100), 250 on mainline (kernel/Kconfig.hz, arm64 defconfig).";
    } else if (p.name == "governor") {
      p.default_value = std::string("default");
      p.choices.insert(p.choices.begin(), "default");
      p.help = "cpufreq governor per cluster; default = ondemand on 3.10 (the Linaro LSK boards' choice), schedutil "
               "on mainline (PELT cpu_util(), 1.25 x f_max x util / capacity, at most once per rate_limit_us). "
               "ondemand: busiest CPU's busy % each sampling_rate_us; interactive: busy % each sampling_rate_us, "
               "hold min_sample_time; schedutil on 3.10: invariant utilisation, up/down_rate_limit_us; "
               "performance/powersave: top/bottom OPP. Changes take the platform's dvfs_transition_ns.";
    } else if (p.name == "imbalance_pct") {
      p.default_value = int64_t{0};
      p.min = 0;
      p.help = "DIE/PKG (cluster-level) domain imbalance_pct; 0 = the release's: 125 on 3.10 (SD_CPU_INIT), 117 on "
               "mainline (sd_init()).";
    } else if (p.name == "mc_imbalance_pct") {
      p.default_value = int64_t{0};
      p.min = 0;
      p.help = "MC (within-cluster) domain imbalance_pct; 0 = the release's: 125 on 3.10 (SD_MC_INIT), 117 on "
               "mainline (sd_init()).";
    } else if (p.name == "busy_factor") {
      p.default_value = int64_t{0};
      p.min = 0;
      p.help = "Balance interval multiplier on a busy CPU; 0 = the release's: 64 on 3.10, 16 on mainline "
               "(sd_init() since 5.10).";
    } else if (p.name == "up_rate_limit_us" || p.name == "down_rate_limit_us") {
      p.help += " 3.10 only (mainline schedutil has one rate_limit_us).";
    }
    v.push_back(std::move(p));
  }
  v.push_back(model::IntParam("rate_limit_us", "us", -1, -1, 10000000,
                  "Mainline releases: schedutil rate_limit_us; -1: cpufreq_policy_transition_delay_us() of the "
                  "cluster's dvfs_transition_ns (min(latency x 1000, 10 ms) in 5.15 .. 6.5)."));
  return v;
}

std::vector<ParamSpec> HmpParams() {
  std::vector<ParamSpec> v;
  v.push_back(model::IntParam("hmp_up_threshold", "", 700, 1, 1023, "load_avg_ratio above which a task moves to a faster cluster."));
  v.push_back(model::IntParam("hmp_down_threshold", "", 512, 0, 1023,
                  "load_avg_ratio below which a task moves to a slower cluster (older LSK: 256)."));
  v.push_back(model::BoolParam("hmp_prio_filter", false,
                   "CONFIG_SCHED_HMP_PRIO_FILTER: tasks with nice >= hmp_up_prio never go up and always go down."));
  v.push_back(model::IntParam("hmp_up_prio", "nice", 5, -20, 19, "Priority filter threshold as a nice value (PRIO_FILTER_VAL 5)."));
  v.push_back(model::IntParam("hmp_next_up_threshold", "1024ns", 4096, 0, 1e9,
                  "hmp_next_up_threshold: a task is not moved up again while ((now - its last up-migration) >> 10) "
                  "is below this, in 1024-ns units (4096 = 4.194304 ms); a down-migration clears the last "
                  "up-migration time (hmp_next_down_delay())."));
  v.push_back(model::IntParam("hmp_next_down_threshold", "1024ns", 4096, 0, 1e9,
                  "hmp_next_down_threshold: a task is not moved down at wake-up again while ((now - its last "
                  "down-migration) >> 10) is below this, in 1024-ns units (4096 = 4.194304 ms); an up-migration "
                  "clears the last down-migration time (hmp_next_up_delay())."));
  v.push_back(model::BoolParam("frequency_invariant", true,
                   "CONFIG_HMP_FREQUENCY_INVARIANT_SCALE: scale load contributions by the CPU's cur kHz / (max kHz >> 10); "
                   "the performance and powersave governors count as single-frequency and keep the scale at 1024 "
                   "(cpufreq_policy_callback())."));
  v.push_back(model::IntParam("load_avg_period_ms", "ms", 32, 1, 1024,
                  "Half-life of load_avg_ratio (/sys/kernel/hmp/load_avg_period_ms); 32 is the kernel's own series."));
  return v;
}

std::vector<MetricSpec> Metrics(bool hmp) {
  std::vector<MetricSpec> m = {
      {"energy", "J|units", Better::kLower,
       "Energy integrated the legacy-EAS way (CPU busy/idle-state power, cluster active/idle power). "
       "J when the platform's power_unit is mW, else power-unit x seconds ('units')."},
      {"wakeup_latency_p50_us", "us", Better::kLower, "Median wake-up latency: wake-up (or fork) to running, including idle exit latency."},
      {"wakeup_latency_p99_us", "us", Better::kLower, "99th percentile wake-up latency."},
      {"wakeup_latency_mean_us", "us", Better::kLower, "Mean wake-up latency."},
      {"response_time_p50_ms", "ms", Better::kLower,
       "Median response time. Interactive (and other non-batch) tasks: wake-up to the end of the burst "
       "(next block); periodic: timer activation to completion (next timer phase); batch: start to finish."},
      {"response_time_p99_ms", "ms", Better::kLower, "99th percentile response time (definitions as response_time_p50_ms)."},
      {"makespan_ms", "ms", Better::kLower,
       "Time the last finite task finished if all finite tasks finished, else the run length."},
      {"batch_makespan_ms", "ms", Better::kLower,
       "Time the last task of kind \"batch\" finished (ms since the start of the run); the run length if a batch "
       "task had not finished when the run ended; 0 if the workload has no batch task. Unlike makespan_ms it is "
       "not masked by looping tasks of other kinds (loops -1) that run until the duration."},
      {"migrations", "count", Better::kLower, "Task migrations of all kinds."},
      {"migrations_fork", "count", Better::kNone, "New tasks placed away from the parent's CPU (0)."},
      {"migrations_wake", "count", Better::kNone, "Wake-ups on a CPU other than the previous one (HMP up/down at wake included)."},
      {"migrations_forced", "count", Better::kNone, "HMP forced up-migrations at the tick."},
      {"migrations_idle_pull", "count", Better::kNone, "HMP idle pulls by an idle big CPU."},
      {"migrations_offload", "count", Better::kNone, "HMP offloads from an oversubscribed big CPU to an idle LITTLE one."},
      {"migrations_balance", "count", Better::kNone, "CFS load-balancer moves (periodic, newidle, NOHZ idle, active)."},
      {"migrations_rt_push", "count", Better::kNone,
       "RT tasks pushed to a CPU running lower-priority work (push_rt_task(); on the mainline base also its pulls, "
       "made by the source's push). Only for workloads with SCHED_FIFO/SCHED_RR tasks."},
      {"migrations_rt_pull", "count", Better::kNone,
       "RT tasks pulled by a CPU whose priority dropped (3.10 pull_rt_task()). Only for workloads with RT tasks."},
      {"migrations_dl_push", "count", Better::kNone,
       "SCHED_DEADLINE tasks pushed to a CPU whose earliest deadline is later (push_dl_task()). Only for workloads "
       "with deadline tasks (sched.eevdf, sched.cfs on a mainline kernel_version)."},
      {"migrations_dl_pull", "count", Better::kNone,
       "SCHED_DEADLINE tasks pulled by a CPU a deadline task left (pull_dl_task()). Only for workloads with deadline "
       "tasks."},
      {"dl_throttles", "count", Better::kNone,
       "Times a SCHED_DEADLINE task ran out of runtime and was throttled until its next period "
       "(update_curr_dl(); charged at ticks and switches, so up to a tick late). Only for workloads with deadline "
       "tasks."},
      {"context_switches", "count", Better::kLower, "Times a task left a CPU (voluntary + involuntary switches)."},
      {"deadline_misses", "count", Better::kLower, "Periodic activations that overran their period (timer already expired)."},
      {"cpu_time_ms", "ms", Better::kNone, "CPU time of all tasks."},
      {"cluster.<name>.utilization", "ratio", Better::kNone, "Busy share (0..1) of the cluster's CPUs over the run (idle exits count as busy)."},
      {"cluster.<name>.opp.<khz>.time_ms", "ms", Better::kNone, "Wall time the cluster spent at the OPP."},
      {"cluster.<name>.idle.<state>.time_ms", "ms", Better::kNone, "CPU-time the cluster's CPUs spent in the idle state (summed over CPUs)."},
      {"task.<name>.cpu_time_ms", "ms", Better::kNone, "CPU time of the task."},
      {"task.<name>.wakeup_latency_p99_us", "us", Better::kLower, "99th percentile wake-up latency of the task."},
      {"wakeup_latency", "ns", Better::kLower, "Histogram of wake-up latencies."},
      {"response_time", "ns", Better::kLower, "Histogram of response times (see response_time_p50_ms)."},
      {"task.<name>.wakeup_latency", "ns", Better::kLower, "Histogram of the task's wake-up latencies."},
  };
  if (hmp) {
    // sched.hmp runs LSK 3.10 only, which has no deadline class.
    std::erase_if(m, [](const MetricSpec& x) { return x.name.starts_with("migrations_dl_") || x.name == "dl_throttles"; });
  }
  return m;
}

// sched.cfs's release: "3.10" (LSK) or a mainline CFS release; the
// release-dependent parameters resolved, and parameters of the other base
// refused when set.
Status ResolveCfsRelease(const model::ParamSet& p, SchedOptions* o) {
  const std::string& release = p.Str("kernel_version");
  bool mainline = IsMainlineCfsVersion(release);
  if (mainline) {
    auto v = ParseMainlineCfsVersion(release);
    if (!v.ok()) return InvalidArgument("params." + v.status().message());
  }
  o->kernel_version = release;
  if (o->hz == 0) o->hz = mainline ? kMainlineTraits.default_hz : kLsk310Traits.default_hz;
  if (p.Str("governor") == "default") {
    o->governor.kind = mainline ? GovernorKind::kSchedutil : GovernorKind::kOndemand;
  }
  if (o->imbalance_pct == 0) o->imbalance_pct = mainline ? kMainlineImbalancePct : kLskImbalancePct;
  if (o->mc_imbalance_pct == 0) o->mc_imbalance_pct = mainline ? kMainlineImbalancePct : kLskImbalancePct;
  if (o->busy_factor == 0) o->busy_factor = mainline ? kMainlineBusyFactor : kLskBusyFactor;
  int64_t rl = p.Int("rate_limit_us");
  if (mainline) {
    for (const char* name : {"up_rate_limit_us", "down_rate_limit_us"}) {
      int64_t def = name[0] == 'u' ? 500 : 20000;
      if (p.Int(name) != def) {
        return InvalidArgument(std::string("params.") + name + ": applies to kernel_version 3.10 only; mainline "
                               "schedutil has one rate_limit_us");
      }
    }
    o->sugov_rate_limit_ns = rl < 0 ? -1 : rl * sim::kUs;
  } else if (rl != -1) {
    return InvalidArgument("params.rate_limit_us: applies to mainline releases; on 3.10 use up_rate_limit_us and "
                           "down_rate_limit_us");
  }
  return OkStatus();
}

StatusOr<SchedOptions> OptionsFrom(const model::ParamSet& p, Policy policy) {
  SchedOptions o;
  o.policy = policy;
  o.hz = static_cast<int>(p.Int("hz"));
  if (o.hz != 0 && o.hz < 24) return InvalidArgument("params.hz: must be 24..1000 (0: the release's default)");
  if (p.Str("governor") != "default" && !ParseGovernor(p.Str("governor"), &o.governor.kind)) {
    return InvalidArgument("params.governor: unknown governor '" + p.Str("governor") + "'");
  }
  o.governor.sampling_ns = p.Int("sampling_rate_us") * sim::kUs;
  o.governor.up_threshold = static_cast<int>(p.Int("up_threshold"));
  o.governor.down_differential = static_cast<int>(p.Int("down_differential"));
  if (o.governor.down_differential >= o.governor.up_threshold) {
    return InvalidArgument("params.down_differential: must be below up_threshold");
  }
  o.governor.go_hispeed_load = static_cast<int>(p.Int("go_hispeed_load"));
  o.governor.target_load = static_cast<int>(p.Int("target_load"));
  o.governor.min_sample_time = p.Int("min_sample_time_us") * sim::kUs;
  if (policy == Policy::kEevdf) {
    // The release is checked here, so that the error names the parameter
    // whatever the platform.
    auto v = ParseMainlineVersion(p.Str("kernel_version"));
    if (!v.ok()) return InvalidArgument("params." + v.status().message());
    o.kernel_version = p.Str("kernel_version");
    auto feature = [&p](const char* name) -> std::optional<bool> {
      const std::string& s = p.Str(name);
      if (s == "default") return std::nullopt;
      return s == "on";
    };
    o.run_to_parity = feature("run_to_parity");
    o.place_lag = feature("place_lag");
    o.delay_dequeue = feature("delay_dequeue");
    if (o.delay_dequeue.value_or(false) && !v->AtLeast(6, 12)) {
      return InvalidArgument("params.delay_dequeue: DELAY_DEQUEUE does not exist in " + v->ToString() +
                             " (added in 6.12)");
    }
    int64_t rl = p.Int("rate_limit_us");
    o.sugov_rate_limit_ns = rl < 0 ? -1 : rl * sim::kUs;
  } else {
    o.governor.up_rate_limit_ns = p.Int("up_rate_limit_us") * sim::kUs;
    o.governor.down_rate_limit_ns = p.Int("down_rate_limit_us") * sim::kUs;
    o.latency_ns = p.Int("sched_latency_ns");
    o.min_granularity_ns = p.Int("min_granularity_ns");
    o.wakeup_granularity_ns = p.Int("wakeup_granularity_ns");
  }
  o.migration_cost_ns = p.Int("migration_cost_ns");
  o.imbalance_pct = static_cast<int>(p.Int("imbalance_pct"));
  o.mc_imbalance_pct = static_cast<int>(p.Int("mc_imbalance_pct"));
  o.busy_factor = static_cast<int>(p.Int("busy_factor"));
  for (const char* name : {"imbalance_pct", "mc_imbalance_pct"}) {
    if (p.Int(name) != 0 && p.Int(name) < 100) {
      return InvalidArgument(std::string("params.") + name + ": must be 100..400 (0: the release's default)");
    }
  }
  o.max_sim_time_ns = p.Int("max_sim_time") * sim::kSec;
  if (policy == Policy::kCfs) KREPLAY_RETURN_IF_ERROR(ResolveCfsRelease(p, &o));
  if (policy == Policy::kHmp) {
    o.hmp_up_threshold = static_cast<uint32_t>(p.Int("hmp_up_threshold"));
    o.hmp_down_threshold = static_cast<uint32_t>(p.Int("hmp_down_threshold"));
    if (o.hmp_down_threshold >= o.hmp_up_threshold) {
      return InvalidArgument("params.hmp_down_threshold: must be below hmp_up_threshold");
    }
    o.hmp_prio_filter = p.Bool("hmp_prio_filter");
    o.hmp_up_prio_nice = static_cast<int>(p.Int("hmp_up_prio"));
    o.hmp_next_up_threshold = static_cast<uint32_t>(p.Int("hmp_next_up_threshold"));
    o.hmp_next_down_threshold = static_cast<uint32_t>(p.Int("hmp_next_down_threshold"));
    o.frequency_invariant = p.Bool("frequency_invariant");
    o.load_avg_period_ms = p.Int("load_avg_period_ms");
  }
  return o;
}

// What the models do not model is refused by name rather than run as
// something else: task groups on the LSK 3.10 base (sched.eevdf models them,
// group_sched.h), and SCHED_DEADLINE there (`lsk`: the LSK 3.10 model, which
// predates the deadline class). Otherwise every policy is modelled:
// SCHED_OTHER, SCHED_BATCH and SCHED_IDLE in the fair class, SCHED_FIFO and
// SCHED_RR in the RT class (rt_class.h), SCHED_DEADLINE in the deadline
// class on the mainline base (dl_class.h). Version: results of workloads
// these models ran before are unchanged, so the versions stay (see
// docs/models/sched.md).
Status CheckModelled(const workload::SchedWorkload& w, const char* models, bool groups, const char* lsk) {
  for (const auto& t : w.tasks) {
    if (workload::IsRealTime(t.policy) && (t.rt_priority < 1 || t.rt_priority > 99)) {
      return InvalidArgument("sched: task '" + t.name + "' has policy " + workload::SchedPolicyName(t.policy) +
                             " with priority " + std::to_string(t.rt_priority) + " (1..99)");
    }
    if (t.policy == workload::SchedPolicy::kDeadline && lsk) {
      return InvalidArgument("sched: task '" + t.name + "' has policy SCHED_DEADLINE; " + lsk +
                             " runs Linaro LSK 3.10, which predates the deadline class (added in Linux 3.14); "
                             "sched.eevdf and sched.cfs with a mainline kernel_version (5.15..6.5) model it");
    }
    if (!t.group.empty() && !groups) {
      return InvalidArgument("sched: task '" + t.name + "' is in task group '" + t.group + "'; " + models +
                             " not model group scheduling (sched.eevdf does)");
    }
  }
  return OkStatus();
}

constexpr char kCfsName[] = "sched.cfs";
constexpr char kHmpName[] = "sched.hmp";
constexpr char kEevdfName[] = "sched.eevdf";

// The policies whose core has group entities (group_sched.h).
bool PolicyModelsGroups(Policy policy) { return policy == Policy::kEevdf; }

model::RunFn MakeRun(Policy policy) {
  return [policy](const model::RunInput& in) -> StatusOr<model::Result> {
    if (!in.params) return InvalidArgument("sched: params missing");
    const auto* platform = in.SystemAs<workload::Platform>();
    const auto* w = in.WorkloadAs<workload::SchedWorkload>();
    if (!platform) return InvalidArgument("sched: platform missing");
    if (!w) return InvalidArgument("sched: scheduler workload missing");
    const char* lsk = policy == Policy::kHmp ? "sched.hmp"
                      : policy == Policy::kCfs && !IsMainlineCfsVersion(in.params->Str("kernel_version"))
                          ? "sched.cfs with kernel_version 3.10"
                          : nullptr;
    KREPLAY_RETURN_IF_ERROR(CheckModelled(*w, policy == Policy::kEevdf ? "sched.eevdf does" : "sched.cfs and sched.hmp do",
                                          PolicyModelsGroups(policy), lsk));
    KREPLAY_ASSIGN_OR_RETURN(SchedOptions o, OptionsFrom(*in.params, policy));
    return RunSchedSim(*platform, *w, o, in.seed, in.cancel, nullptr, in.ObserverAs<model::SchedObserver>());
  };
}

}  // namespace

bool ModelsTaskGroups(const std::string& model) {
  // Each registered name runs one policy (RegisterSchedModels()).
  if (model == kCfsName) return PolicyModelsGroups(Policy::kCfs);
  if (model == kHmpName) return PolicyModelsGroups(Policy::kHmp);
  if (model == kEevdfName) return PolicyModelsGroups(Policy::kEevdf);
  return false;
}

Status RegisterSchedModels(model::Registry& registry) {
  model::ModelInfo cfs;
  cfs.name = kCfsName;
  cfs.family = "sched";
  cfs.version = kCfsVersion;
  cfs.description =
      "CFS on big.LITTLE: Linaro LSK 3.10 (kernel_version 3.10, default: cpu_power-scaled load balancing, no task "
      "fit) or mainline 5.15..6.5 (PELT, capacity-aware placement and misfit, schedutil); DVFS and legacy-EAS energy";
  cfs.mirrors =
      "kernel/sched/fair.c, kernel/sched/core.c, arch/arm/kernel/topology.c (Linaro LSK 3.10); kernel/sched/pelt.c, "
      "kernel/sched/cpufreq_schedutil.c (mainline v5.15..v6.5)";
  cfs.params = CfsParams();
  cfs.metrics = Metrics(false);
  cfs.run = MakeRun(Policy::kCfs);
  // sched_bench, 64 mixed tasks on juno-r0, one core of the 2-core dev VM.
  cfs.work_unit = "events";
  cfs.work_per_core_s = 13e6;
  KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(cfs)));

  model::ModelInfo hmp;
  hmp.name = kHmpName;
  hmp.family = "sched";
  hmp.version = kVersion;
  hmp.description = "Linaro big.LITTLE MP (global task scheduling) on LSK 3.10 CFS: load_avg_ratio up/down migration";
  hmp.mirrors = "kernel/sched/fair.c, Linaro LSK 3.10 (CONFIG_SCHED_HMP, CONFIG_HMP_FREQUENCY_INVARIANT_SCALE)";
  hmp.params = CommonParams();
  for (auto& p : HmpParams()) hmp.params.push_back(std::move(p));
  hmp.metrics = Metrics(true);
  hmp.run = MakeRun(Policy::kHmp);
  hmp.work_unit = "events";
  hmp.work_per_core_s = 13e6;
  KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(hmp)));

  model::ModelInfo eevdf;
  eevdf.name = kEevdfName;
  eevdf.family = "sched";
  eevdf.version = kEevdfVersion;
  eevdf.description =
      "EEVDF on the mainline 6.x base (kernel_version 6.6..6.18): lag, eligibility, virtual deadlines, "
      "RUN_TO_PARITY, DELAY_DEQUEUE; invariant PELT with util_est, capacity-aware wake placement and misfit, schedutil; "
      "task groups (CONFIG_FAIR_GROUP_SCHED)";
  eevdf.mirrors =
      "kernel/sched/fair.c, kernel/sched/pelt.c, kernel/sched/cpufreq_schedutil.c, drivers/cpufreq/cpufreq.c, "
      "mainline v6.6..v6.18 (kernel_version)";
  eevdf.params = EevdfParams();
  eevdf.metrics = Metrics(false);
  eevdf.run = MakeRun(Policy::kEevdf);
  eevdf.work_unit = "events";
  eevdf.work_per_core_s = 8.7e6;  // sched_bench eevdf_juno_64 (6.12), one core of the 2-core dev VM
  KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(eevdf)));

  // Names a later piece of work builds on these bases; held so that no one
  // else takes them and a study naming one is told why it cannot run yet.
  KREPLAY_RETURN_IF_ERROR(registry.Reserve(
      "sched.eas", "sched", "Energy Aware Scheduling on the mainline base: find_energy_efficient_cpu() over the energy model"));
  KREPLAY_RETURN_IF_ERROR(registry.Reserve(
      "sched.iks", "sched", "the in-kernel switcher: big/LITTLE CPU pairs behind one cpufreq table, on the LSK 3.10 base"));
  return registry.Reserve("sched.walt", "sched",
                          "Qualcomm's window-assisted load tracking (HMP/WALT), window-based demand placement");
}

}  // namespace kreplay::sched
