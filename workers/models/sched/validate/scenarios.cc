#include "workers/models/sched/validate/scenarios.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace kreplay::sched::validate {
namespace {

using Json = nlohmann::ordered_json;

constexpr int64_t kHogBurstUs = 100000;  // one rt-app log line per 100 ms of a hog

ScenarioTask Task(std::string name, TaskRole role, int nice = 0, int cpu_index = 0) {
  ScenarioTask t;
  t.name = std::move(name);
  t.role = role;
  t.nice = nice;
  t.cpu_index = cpu_index;
  return t;
}

ScenarioTask Grouped(std::string name, std::string group, uint64_t shares) {
  ScenarioTask t = Task(std::move(name), TaskRole::kHog);
  t.group = std::move(group);
  t.group_shares = shares;
  return t;
}

Json Timer(int64_t period_us) { return Json{{"ref", "unique"}, {"period", period_us}, {"mode", "absolute"}}; }

// The link index of a chain task: head 0, links 1.. in the scenario's order.
int ChainIndex(const Scenario& s, const ScenarioTask& t) {
  int i = 0;
  for (const auto& u : s.tasks) {
    if (u.role != TaskRole::kChainHead && u.role != TaskRole::kChainLink) continue;
    if (&u == &t) return i;
    ++i;
  }
  return -1;
}
int ChainLength(const Scenario& s) {
  int n = 0;
  for (const auto& u : s.tasks) n += u.role == TaskRole::kChainHead || u.role == TaskRole::kChainLink;
  return n;
}
// Appended rather than "c" + to_string(i): GCC 12 warns falsely (-Wrestrict) on the latter.
std::string Named(char prefix, int i) {
  std::string s(1, prefix);
  s += std::to_string(i);
  return s;
}
std::string Cond(int i) { return Named('c', i); }
std::string Mutex(int i) { return Named('m', i); }

// The log line index (phase) where a chain task's burst is logged: the head
// logs its burst in phase 0 ("run", then "tick" with the timer); a link
// waits in phase 0 ("wait") and runs in phase 1 ("run").
int BurstPhase(TaskRole r) { return r == TaskRole::kChainLink ? 1 : 0; }

double ModelScalar(const model::Result& r, const std::string& name, double fallback) {
  auto it = r.scalars.find(name);
  return it == r.scalars.end() ? fallback : it->second.value;
}

}  // namespace

bool Scenario::needs_cgroups() const {
  return std::any_of(tasks.begin(), tasks.end(), [](const ScenarioTask& t) { return !t.group.empty(); });
}

std::vector<std::string> Scenario::groups() const {
  std::vector<std::string> g;
  for (const auto& t : tasks)
    if (!t.group.empty() && std::find(g.begin(), g.end(), t.group) == g.end()) g.push_back(t.group);
  return g;
}

const ScenarioTask* Scenario::Find(const std::string& task) const {
  for (const auto& t : tasks)
    if (t.name == task) return &t;
  return nullptr;
}

std::vector<Scenario> BuiltinScenarios() {
  std::vector<Scenario> v;
  {
    Scenario s;
    s.name = "nice-shares";
    s.summary = "three hogs at nice -3, 0 and 5 on one CPU: CPU share per task";
    s.tasks = {Task("nice_m3", TaskRole::kHog, -3), Task("nice_0", TaskRole::kHog, 0), Task("nice_5", TaskRole::kHog, 5)};
    v.push_back(s);
  }
  {
    Scenario s;
    s.name = "cgroup-shares";
    s.summary = "one hog in group A (shares 1024), two in group B (512), one CPU: CPU share per task and group";
    s.tasks = {Grouped("grpA_0", "A", 1024), Grouped("grpB_0", "B", 512), Grouped("grpB_1", "B", 512)};
    v.push_back(s);
  }
  {
    Scenario s;
    s.name = "periodic-vs-hogs";
    s.summary = "a periodic task (1 ms every 10.3 ms) against two nice-0 hogs on one CPU: wake-up latency, slack, share";
    // Not a multiple of any HZ's tick: on the host the timer's phase against
    // the tick is arbitrary, and in the model (which starts both at 0) a
    // 10 ms period would meet every tick in the same state.
    s.period_us = 10300;
    s.burst_us = 1000;
    s.tasks = {Task("periodic", TaskRole::kPeriodic), Task("hog_0", TaskRole::kHog), Task("hog_1", TaskRole::kHog)};
    v.push_back(s);
  }
  {
    Scenario s;
    s.name = "wakeup-chain";
    s.summary = "a chain of three tasks waking each other every 10.3 ms (300 us each) beside a nice-0 hog: wake-up latency";
    s.period_us = 10300;  // off the tick grid, as above
    s.burst_us = 300;
    // With two CPUs given, the middle link sits on the second: cross-CPU wake-ups.
    s.tasks = {Task("chain_0", TaskRole::kChainHead), Task("chain_1", TaskRole::kChainLink, 0, 1),
               Task("chain_2", TaskRole::kChainLink), Task("hog_0", TaskRole::kHog)};
    v.push_back(s);
  }
  return v;
}

std::vector<std::string> ScenarioNames() {
  std::vector<std::string> n;
  for (const auto& s : BuiltinScenarios()) n.push_back(s.name);
  return n;
}

std::string ScenarioJson(const Scenario& s, const std::vector<int>& cpus, int duration_s, const std::string& logdir,
                         const std::string& basename) {
  KREPLAY_CHECK(!cpus.empty(), "no CPUs");
  Json global = {{"duration", duration_s},
                 // Only `runtime` events: no calibration run (it takes tens of
                 // seconds on a busy host); the value is never used.
                 {"calibration", 100},
                 {"default_policy", "SCHED_OTHER"},
                 {"logdir", logdir},
                 {"log_basename", basename},
                 // Buffered, MB per thread, written at exit ("file" writes
                 // nothing in rt-app 1.0); 4 MB holds ~30k lines.
                 {"log_size", 4}};
  const int links = ChainLength(s);
  Json tasks = Json::object();
  for (const auto& t : s.tasks) {
    Json j;
    j["cpus"] = Json::array({cpus[static_cast<size_t>(t.cpu_index) % cpus.size()]});
    j["priority"] = t.nice;  // SCHED_OTHER: rt-app passes it to setpriority() as the nice value
    j["loop"] = -1;
    Json phases = Json::object();
    switch (t.role) {
      case TaskRole::kHog:
        phases["run"] = {{"runtime", kHogBurstUs}};
        break;
      case TaskRole::kPeriodic:
        phases["run"] = {{"runtime", s.burst_us}, {"timer", Timer(s.period_us)}};
        break;
      case TaskRole::kChainHead: {
        Json run = {{"runtime", s.burst_us}};
        if (links > 1) {
          run["lock"] = Mutex(1);
          run["signal"] = Cond(1);
          run["unlock"] = Mutex(1);
        }
        phases["run"] = run;
        phases["tick"] = {{"timer", Timer(s.period_us)}};
        break;
      }
      case TaskRole::kChainLink: {
        const int i = ChainIndex(s, t);
        phases["wait"] = {{"lock", Mutex(i)}, {"wait", {{"ref", Cond(i)}, {"mutex", Mutex(i)}}}, {"unlock", Mutex(i)}};
        Json run = {{"runtime", s.burst_us}};
        if (i + 1 < links) {
          run["lock"] = Mutex(i + 1);
          run["signal"] = Cond(i + 1);
          run["unlock"] = Mutex(i + 1);
        }
        phases["run"] = run;
        break;
      }
    }
    j["phases"] = std::move(phases);
    tasks[t.name] = std::move(j);
  }
  Json root = {{"global", global}, {"tasks", tasks}};
  return root.dump(2) + "\n";
}

StatusOr<std::string> ModelJson(const std::string& rtapp_json, const std::vector<int>& cpus, const Scenario* s) {
  Json root;
  try {
    root = Json::parse(rtapp_json);
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("scenario JSON: ") + e.what());
  }
  if (!root.contains("tasks") || !root["tasks"].is_object()) return InvalidArgument("scenario JSON: no tasks");
  for (auto& [name, t] : root["tasks"].items()) {
    // The model's platform numbers CPUs as the host does (it has all of the
    // host's online CPUs), so a task keeps its host CPU.
    if (t.contains("cpus")) {
      for (const auto& c : t["cpus"]) {
        if (std::find(cpus.begin(), cpus.end(), c.get<int>()) == cpus.end())
          return InvalidArgument("scenario JSON: task " + name + " uses CPU " + std::to_string(c.get<int>()) +
                                 ", which is not among the validated CPUs");
      }
    }
    if (!t.contains("phases")) continue;
    for (auto& [pname, phase] : t["phases"].items()) {
      (void)pname;
      std::vector<std::string> drop;
      for (const auto& [key, value] : phase.items()) {
        (void)value;
        if (key.rfind("lock", 0) == 0 || key.rfind("unlock", 0) == 0) drop.push_back(key);
      }
      for (const auto& k : drop) phase.erase(k);
    }
  }
  if (s && s->needs_cgroups()) {
    // Task groups for the model: rt-app's `taskgroup` per task, the groups'
    // weights (cgroup v1 units) in global.kreplay_taskgroups.
    Json groups = Json::object();
    for (const auto& t : s->tasks) {
      if (t.group.empty()) continue;
      const std::string path = "/" + t.group;
      if (root["tasks"].contains(t.name)) root["tasks"][t.name]["taskgroup"] = path;
      groups[path] = Json{{"cpu.shares", t.group_shares}};
    }
    if (!root.contains("global")) root["global"] = Json::object();
    root["global"]["kreplay_taskgroups"] = groups;
  }
  return root.dump(2) + "\n";
}

void InjectNiceOffByOne(workload::SchedWorkload& w) {
  for (auto& t : w.tasks)
    if (t.nice != 0 && t.nice < 19) t.nice += 1;
}

std::vector<Figure> BuildFigures(const Scenario& s, const HostData* host, const model::Result* model,
                                 const std::string& model_note) {
  std::vector<Figure> out;
  const bool groups = s.needs_cgroups();
  const std::string note = groups && !model ? "not modelled yet: task groups" : model_note;

  // Hogs (always runnable): each one's part of the CPU time all the hogs got.
  // Foreign load on the host takes from the hogs as a whole but leaves their
  // ratios alone, so this holds on a busy machine too.
  std::vector<const ScenarioTask*> hogs;
  for (const auto& t : s.tasks)
    if (t.role == TaskRole::kHog) hogs.push_back(&t);
  double host_total = 0, model_total = 0;
  for (const auto* t : hogs) {
    if (host) {
      auto it = host->tasks.find(t->name);
      if (it != host->tasks.end()) host_total += static_cast<double>(it->second.delta.run_ns);
    }
    if (model) model_total += ModelScalar(*model, "task." + t->name + ".cpu_time_ms", 0);
  }
  auto host_share = [&](const std::string& task) -> std::optional<double> {
    if (!host || host_total <= 0) return std::nullopt;
    auto it = host->tasks.find(task);
    if (it == host->tasks.end()) return std::nullopt;
    return 100.0 * static_cast<double>(it->second.delta.run_ns) / host_total;
  };
  auto model_share = [&](const std::string& task) -> std::optional<double> {
    if (!model || model_total <= 0) return std::nullopt;
    return 100.0 * ModelScalar(*model, "task." + task + ".cpu_time_ms", 0) / model_total;
  };
  if (hogs.size() >= 2) {
    for (const auto* t : hogs) {
      Figure f;
      f.name = "CPU share " + t->name + (t->nice != 0 ? " (nice " + std::to_string(t->nice) + ")" : "") +
               (t->group.empty() ? "" : " (group " + t->group + ")");
      f.unit = "%";
      f.gate = Gate::kShare;
      f.kernel = host_share(t->name);
      f.model = model_share(t->name);
      f.model_note = note;
      out.push_back(f);
    }
  }
  for (const auto& g : s.groups()) {
    Figure f;
    uint64_t shares = 0;
    std::optional<double> k = 0.0, m = 0.0;
    for (const auto* t : hogs) {
      if (t->group != g) continue;
      shares = t->group_shares;
      auto hs = host_share(t->name);
      auto ms = model_share(t->name);
      k = k && hs ? std::optional<double>(*k + *hs) : std::nullopt;
      m = m && ms ? std::optional<double>(*m + *ms) : std::nullopt;
    }
    f.name = "CPU share group " + g + " (shares " + std::to_string(shares) + ")";
    f.unit = "%";
    f.gate = Gate::kShare;
    f.kernel = k;
    f.model = m;
    f.model_note = note;
    out.push_back(f);
  }
  // Tasks that sleep take what they ask for: their CPU time over the run, in
  // percent of one CPU.
  for (const auto& t : s.tasks) {
    if (t.role == TaskRole::kHog) continue;
    Figure f;
    f.name = "CPU use " + t.name + " (of one CPU)";
    f.unit = "%";
    f.gate = Gate::kShare;
    if (host && host->window_s > 0) {
      auto it = host->tasks.find(t.name);
      if (it != host->tasks.end()) f.kernel = 100.0 * static_cast<double>(it->second.delta.run_ns) / (host->window_s * 1e9);
    }
    if (model && model->sim_time_ns > 0)
      f.model = 100.0 * ModelScalar(*model, "task." + t.name + ".cpu_time_ms", 0) / (static_cast<double>(model->sim_time_ns) / 1e6);
    f.model_note = note;
    out.push_back(f);
  }

  auto latency = [&](const std::string& name, const std::vector<double>& host_us, const sim::Histogram* hist) {
    for (const auto& [q, label, floor] : {std::tuple{0.5, "p50", 250.0}, std::tuple{0.99, "p99", 1000.0}}) {
      Figure f;
      f.name = name + " " + label;
      f.unit = "us";
      f.gate = Gate::kLatency;
      f.floor = floor;
      f.kernel = Percentile(host_us, q);
      if (hist && hist->count() > 0) f.model = static_cast<double>(hist->Percentile(q)) / 1000.0;
      f.model_note = note;
      out.push_back(f);
    }
  };
  auto hist_of = [&](const std::string& task) -> const sim::Histogram* {
    if (!model) return nullptr;
    auto it = model->histograms.find("task." + task + ".wakeup_latency");
    return it == model->histograms.end() ? nullptr : &it->second;
  };

  // Periodic tasks: rt-app's wu_lat (timer expiry to running) and slack.
  for (const auto& t : s.tasks) {
    if (t.role != TaskRole::kPeriodic) continue;
    std::vector<double> lat, slack;
    if (host) {
      auto it = host->tasks.find(t.name);
      if (it != host->tasks.end())
        for (const auto& l : it->second.lines) {
          lat.push_back(static_cast<double>(l.wu_lat_us));
          slack.push_back(static_cast<double>(l.slack_us));
        }
    }
    latency("wake-up latency " + t.name, lat, hist_of(t.name));
    Figure f;
    f.name = "slack " + t.name + " p50";
    f.unit = "us";
    f.gate = Gate::kInfo;
    f.kernel = Percentile(slack, 0.5);
    // The model's response time of a periodic task is timer expiry to the end
    // of its burst, so its slack is the period minus that (the scenario has
    // no other task that records response times).
    if (model) {
      auto it = model->histograms.find("response_time");
      if (it != model->histograms.end() && it->second.count() > 0)
        f.model = static_cast<double>(s.period_us) - static_cast<double>(it->second.Percentile(0.5)) / 1000.0;
    }
    f.model_note = note;
    out.push_back(f);
  }

  // Chains: a link's wake-up latency is the start of its burst phase minus
  // the end of the previous link's burst (start + run), when it signalled.
  std::vector<const ScenarioTask*> chain;
  for (const auto& t : s.tasks)
    if (t.role == TaskRole::kChainHead || t.role == TaskRole::kChainLink) chain.push_back(&t);
  if (chain.size() > 1) {
    std::vector<double> lat;
    sim::Histogram merged;
    bool have_model = false;
    for (size_t i = 1; i < chain.size(); ++i) {
      if (const sim::Histogram* h = hist_of(chain[i]->name)) {
        merged.Merge(*h);
        have_model = true;
      }
      if (!host) continue;
      auto prev = host->tasks.find(chain[i - 1]->name);
      auto cur = host->tasks.find(chain[i]->name);
      if (prev == host->tasks.end() || cur == host->tasks.end()) continue;
      std::vector<int64_t> signalled;  // times the previous link signalled, ascending
      const auto& p = prev->second;
      for (size_t k = 0; k < p.lines.size(); ++k)
        if (p.phase_of_line[k] == BurstPhase(chain[i - 1]->role)) signalled.push_back(p.lines[k].start_us + p.lines[k].run_us);
      std::sort(signalled.begin(), signalled.end());
      const auto& c = cur->second;
      for (size_t k = 0; k < c.lines.size(); ++k) {
        if (c.phase_of_line[k] != BurstPhase(chain[i]->role)) continue;
        const int64_t start = c.lines[k].start_us;
        auto it = std::upper_bound(signalled.begin(), signalled.end(), start);
        if (it == signalled.begin()) continue;
        const int64_t d = start - *std::prev(it);
        if (d >= 0 && d < s.period_us) lat.push_back(static_cast<double>(d));
      }
    }
    latency("chain wake-up latency", lat, have_model ? &merged : nullptr);
  }
  return out;
}

}  // namespace kreplay::sched::validate
