// rt-app JSON <-> SchedWorkload. The grammar followed is rt-app 1.0's
// (doc/tutorial.txt and src/rt-app_parse_config.c at upstream tag v1.0):
//  - objects keep insertion order (json-c does; event order is program order),
//    so this file uses nlohmann::ordered_json;
//  - event keys are matched by prefix in rt-app's table order, in which
//    "runtime" precedes "run";
//  - with a "phases" object the task "loop" defaults to -1 (forever) and each
//    phase "loop" to 1; without one the task object itself is the only phase
//    and its "loop" (default 1) repeats it.
#include "services/workload/rtapp.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kreplay::workload {
namespace {

using Json = nlohmann::ordered_json;

// A task whose expanded phase list would exceed this is rejected rather than
// silently truncated (phase loops are expanded by repetition).
constexpr size_t kMaxPhasesPerTask = 1'000'000;
constexpr int64_t kMaxUs = std::numeric_limits<int64_t>::max() / 1000;

// Replaces each trailing comma (one followed, after blanks and comments, by
// '}' or ']') with a space. Strings and comments are skipped; the text keeps
// its length so parse errors still report the original line and column.
std::string StripTrailingCommas(std::string_view in) {
  std::string out(in);
  const size_t n = out.size();
  // Index just past the comment starting at i, or i if none starts there.
  auto skip_comment = [&](size_t i) -> size_t {
    if (i + 1 >= n || out[i] != '/') return i;
    if (out[i + 1] == '/') {
      size_t j = out.find('\n', i + 2);
      return j == std::string::npos ? n : j;
    }
    if (out[i + 1] == '*') {
      size_t j = out.find("*/", i + 2);
      return j == std::string::npos ? n : j + 2;
    }
    return i;
  };
  size_t i = 0;
  while (i < n) {
    char c = out[i];
    if (c == '"') {
      for (++i; i < n && out[i] != '"'; ++i) {
        if (out[i] == '\\') ++i;
      }
      ++i;
      continue;
    }
    size_t after = skip_comment(i);
    if (after != i) {
      i = after;
      continue;
    }
    if (c == ',') {
      size_t j = i + 1;
      while (j < n) {
        if (out[j] == ' ' || out[j] == '\t' || out[j] == '\n' || out[j] == '\r') {
          ++j;
          continue;
        }
        size_t k = skip_comment(j);
        if (k == j) break;
        j = k;
      }
      if (j < n && (out[j] == '}' || out[j] == ']')) out[i] = ' ';
    }
    ++i;
  }
  return out;
}

// rt-app 1.0's event table, in its matching order.
struct EventPrefix {
  const char* prefix;
  bool supported;
};
constexpr EventPrefix kEventPrefixes[] = {
    {"lock", false},    {"unlock", false}, {"wait", true},     {"signal", true},
    {"broad", false},   {"sync", false},   {"sleep", true},    {"runtime", true},
    {"run", true},      {"timer", true},   {"suspend", false}, {"resume", false},
    {"mem", false},     {"iorun", false},  {"yield", false},   {"barrier", false},
    {"fork", false},
};

// The matching prefix of an event key, or nullptr if `key` is not an event.
const EventPrefix* MatchEvent(const std::string& key) {
  for (const auto& e : kEventPrefixes) {
    if (key.rfind(e.prefix, 0) == 0) return &e;
  }
  return nullptr;
}

// rt-app's policy names.
StatusOr<SchedPolicy> ParsePolicy(const std::string& policy, const std::string& path, const std::string& source) {
  static const std::pair<const char*, SchedPolicy> kPolicies[] = {
      {"SCHED_OTHER", SchedPolicy::kNormal}, {"SCHED_BATCH", SchedPolicy::kBatch},
      {"SCHED_IDLE", SchedPolicy::kIdle},    {"SCHED_FIFO", SchedPolicy::kFifo},
      {"SCHED_RR", SchedPolicy::kRr},        {"SCHED_DEADLINE", SchedPolicy::kDeadline}};
  for (const auto& [name, p] : kPolicies) {
    if (policy == name) return p;
  }
  return InvalidArgument(source + ": " + path + ": unknown policy '" + policy +
                         "' (expected SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR, SCHED_DEADLINE)");
}

// A task group path: "/" then names separated by '/', no empty, "." or ".."
// component, at most 16 levels (a cgroup directory tree).
Status CheckGroupPath(const std::string& g, const std::string& path, const std::string& source) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument(source + ": " + path + ": task group '" + g + "' " + why);
  };
  if (g.empty() || g[0] != '/') return bad("must start with '/' (\"/\" alone is the root group)");
  if (g.size() > 1024) return bad("is too long");
  if (g == "/") return OkStatus();
  int depth = 0;
  size_t start = 1;
  while (start <= g.size()) {
    size_t end = g.find('/', start);
    if (end == std::string::npos) end = g.size();
    std::string part = g.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return bad("has an empty, '.' or '..' component");
    if (++depth > 16) return bad("is nested deeper than 16 levels");
    start = end + 1;
  }
  return OkStatus();
}

// Every group a task names, and every ancestor of a group, gets an entry
// (1024 shares unless declared, as a new cgroup directory has); sorted by
// path, which puts each parent before its children.
void CompleteGroups(SchedWorkload* w) {
  std::map<std::string, uint64_t> all;
  for (const auto& g : w->groups) all[g.path] = g.shares;
  auto add_with_parents = [&](const std::string& path) {
    for (size_t i = 1; i <= path.size(); ++i) {
      if (i == path.size() || path[i] == '/') all.emplace(path.substr(0, i), 1024);
    }
  };
  for (const auto& g : w->groups) add_with_parents(g.path);
  for (const auto& t : w->tasks) {
    if (!t.group.empty()) add_with_parents(t.group);
  }
  w->groups.clear();
  for (const auto& [path, shares] : all) w->groups.push_back({path, shares});
}

class Parser {
 public:
  explicit Parser(const std::string& source) : source_(source) {}

  StatusOr<SchedWorkload> Parse(std::string_view text);

 private:
  Status Error(const std::string& path, const std::string& msg) const {
    return InvalidArgument(source_ + ": " + path + ": " + msg);
  }
  StatusOr<int64_t> Int(const Json& v, const std::string& path) const;
  // A duration in us, >= 0, converted to ns.
  StatusOr<int64_t> Micros(const Json& v, const std::string& path) const;
  StatusOr<std::string> String(const Json& v, const std::string& path) const;
  StatusOr<int64_t> Loop(const Json& v, const std::string& path) const;
  int64_t ResourceId(const std::string& name);

  Status ParseGlobal(const Json& g, SchedWorkload* w, std::string* default_policy);
  Status ParseGroups(const Json& groups, SchedWorkload* w);
  Status ParseTask(const std::string& name, const Json& t, const std::string& default_policy,
                   SchedWorkload* w);
  // A SCHED_DEADLINE task's dl-runtime, dl-period and dl-deadline.
  Status ParseDeadline(const Json& t, const std::string& path, SchedTaskSpec* spec) const;
  // Appends the events of `obj` (a phase, or a task in the one-phase form)
  // to `out`. Keys in `ignore` are attributes handled by the caller.
  Status ParseEvents(const Json& obj, const std::string& path, const std::set<std::string>& ignore,
                     std::vector<Phase>* out);
  Status ParseEvent(const std::string& key, const Json& v, const std::string& path,
                    std::vector<Phase>* out);

  const std::string& source_;
  std::map<std::string, int64_t> resources_;  // name -> id, ids in first-seen order
};

StatusOr<int64_t> Parser::Int(const Json& v, const std::string& path) const {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Error(path, "integer out of range");
    }
    return static_cast<int64_t>(v.get<uint64_t>());
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return Error(path, std::string("expected an integer, got ") + v.type_name());
}

StatusOr<int64_t> Parser::Micros(const Json& v, const std::string& path) const {
  KREPLAY_ASSIGN_OR_RETURN(int64_t us, Int(v, path));
  if (us < 0) return Error(path, "negative duration " + std::to_string(us) + " us");
  if (us > kMaxUs) return Error(path, "duration too large");
  return us * 1000;
}

StatusOr<std::string> Parser::String(const Json& v, const std::string& path) const {
  if (!v.is_string()) return Error(path, std::string("expected a string, got ") + v.type_name());
  return v.get<std::string>();
}

StatusOr<int64_t> Parser::Loop(const Json& v, const std::string& path) const {
  KREPLAY_ASSIGN_OR_RETURN(int64_t loop, Int(v, path));
  if (loop != -1 && loop < 1) {
    return Error(path, "loop must be -1 (forever) or >= 1, got " + std::to_string(loop));
  }
  return loop;
}

int64_t Parser::ResourceId(const std::string& name) {
  auto [it, inserted] = resources_.try_emplace(name, static_cast<int64_t>(resources_.size()));
  return it->second;
}

StatusOr<SchedWorkload> Parser::Parse(std::string_view text) {
  Json root;
  try {
    root = Json::parse(StripTrailingCommas(text), /*cb=*/nullptr, /*allow_exceptions=*/true,
                       /*ignore_comments=*/true);
  } catch (const Json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line L, column C: ...".
    std::string what = e.what();
    size_t at = what.find("parse error");
    return InvalidArgument(source_ + ": invalid JSON: " +
                           (at == std::string::npos ? what : what.substr(at)));
  }
  if (!root.is_object()) return Error("(root)", "expected an object");
  for (const auto& [key, value] : root.items()) {
    (void)value;
    // "resources" is accepted and ignored, as rt-app 1.0 does (kept there
    // for backward compatibility only).
    if (key != "global" && key != "tasks" && key != "resources") {
      return Error(key, "unknown key (expected global, tasks, resources)");
    }
  }
  SchedWorkload w;
  std::string default_policy = "SCHED_OTHER";
  if (root.contains("global")) {
    KREPLAY_RETURN_IF_ERROR(ParseGlobal(root["global"], &w, &default_policy));
  }
  if (!root.contains("tasks")) return Error("tasks", "missing");
  const Json& tasks = root["tasks"];
  if (!tasks.is_object()) return Error("tasks", std::string("expected an object, got ") + tasks.type_name());
  if (tasks.empty()) return Error("tasks", "no tasks");
  for (const auto& [name, t] : tasks.items()) {
    KREPLAY_RETURN_IF_ERROR(ParseTask(name, t, default_policy, &w));
  }
  std::set<std::string> names;
  for (const auto& t : w.tasks) {
    if (!names.insert(t.name).second) {
      return Error("tasks." + t.name, "duplicate task name after instance expansion");
    }
  }
  CompleteGroups(&w);
  return w;
}

Status Parser::ParseGlobal(const Json& g, SchedWorkload* w, std::string* default_policy) {
  if (!g.is_object()) return Error("global", std::string("expected an object, got ") + g.type_name());
  // rt-app 1.0's global keys; the kreplay_* keys are written by WriteRtApp
  // to carry what rt-app has no field for (rt-app ignores unknown keys).
  static const std::set<std::string> kKnown = {
      "duration", "calibration", "default_policy", "pi_enabled", "lock_pages", "logdir",
      "log_size", "log_basename", "ftrace", "gnuplot", "io_device", "mem_buffer_size",
      "cumulative_slack", "kreplay_duration_ns", "kreplay_calibration_cpu",
      "kreplay_calibration_khz", "kreplay_taskgroups"};
  for (const auto& [key, value] : g.items()) {
    (void)value;
    if (!kKnown.count(key)) return Error("global." + key, "unknown key");
  }
  if (g.contains("duration")) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t s, Int(g["duration"], "global.duration"));
    if (s < -1) return Error("global.duration", "must be -1 (forever) or >= 0 s, got " + std::to_string(s));
    if (s > std::numeric_limits<int64_t>::max() / 1'000'000'000) {
      return Error("global.duration", "too large");
    }
    // rt-app stops at the duration only when it is > 0.
    w->duration_ns = s > 0 ? s * 1'000'000'000 : 0;
  }
  if (g.contains("kreplay_duration_ns")) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t ns, Int(g["kreplay_duration_ns"], "global.kreplay_duration_ns"));
    if (ns < 0) return Error("global.kreplay_duration_ns", "must be >= 0");
    w->duration_ns = ns;
  }
  if (g.contains("calibration")) {
    const Json& c = g["calibration"];
    // "CPU0" names a CPU of the real board; an integer is ns per loop. Neither
    // maps onto a model platform, so both are only type-checked.
    if (!c.is_string() && !c.is_number_integer()) {
      return Error("global.calibration", "expected a CPU name string or an integer");
    }
  }
  if (g.contains("kreplay_calibration_cpu")) {
    KREPLAY_ASSIGN_OR_RETURN(w->calibration_cpu,
                             String(g["kreplay_calibration_cpu"], "global.kreplay_calibration_cpu"));
  }
  if (g.contains("kreplay_calibration_khz")) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t khz,
                             Int(g["kreplay_calibration_khz"], "global.kreplay_calibration_khz"));
    if (khz < 0) return Error("global.kreplay_calibration_khz", "must be >= 0");
    w->calibration_khz = static_cast<uint64_t>(khz);
  }
  if (g.contains("default_policy")) {
    KREPLAY_ASSIGN_OR_RETURN(*default_policy, String(g["default_policy"], "global.default_policy"));
  }
  if (g.contains("kreplay_taskgroups")) {
    KREPLAY_RETURN_IF_ERROR(ParseGroups(g["kreplay_taskgroups"], w));
  }
  return OkStatus();
}

// global.kreplay_taskgroups: {"/a": {"cpu.shares": 2048}, "/b": {"cpu.weight": 50}}
// (rt-app has no field for a group's weight; set it on the host).
Status Parser::ParseGroups(const Json& groups, SchedWorkload* w) {
  const std::string gp = "global.kreplay_taskgroups";
  if (!groups.is_object()) return Error(gp, std::string("expected an object, got ") + groups.type_name());
  for (const auto& [name, v] : groups.items()) {
    const std::string p = gp + "." + name;
    KREPLAY_RETURN_IF_ERROR(CheckGroupPath(name, p, source_));
    if (name == "/") return Error(p, "the root group's weight cannot be set");
    if (!v.is_object()) return Error(p, "expected an object {\"cpu.shares\": N} or {\"cpu.weight\": N}");
    TaskGroupSpec spec{name, 1024};
    bool set = false;
    for (const auto& [key, x] : v.items()) {
      (void)x;
      if (set) return Error(p, "give one of cpu.shares (cgroup v1) or cpu.weight (cgroup v2)");
      if (key == "cpu.shares") {
        KREPLAY_ASSIGN_OR_RETURN(int64_t shares, Int(v[key], p + ".cpu.shares"));
        // cgroup v1 accepts any value and clamps it to [2, 262144].
        if (shares < 0) return Error(p + ".cpu.shares", "must be >= 0");
        spec.shares = std::clamp<uint64_t>(static_cast<uint64_t>(shares), kMinGroupShares, kMaxGroupShares);
      } else if (key == "cpu.weight") {
        KREPLAY_ASSIGN_OR_RETURN(int64_t weight, Int(v[key], p + ".cpu.weight"));
        // cgroup v2 refuses values outside [1, 10000] (CGROUP_WEIGHT_MIN/MAX).
        if (weight < 1 || weight > 10000) return Error(p + ".cpu.weight", "must be in 1..10000, got " + std::to_string(weight));
        spec.shares = SharesFromCgroupWeight(static_cast<uint64_t>(weight));
      } else {
        return Error(p + "." + key, "unknown key (expected cpu.shares or cpu.weight)");
      }
      set = true;
    }
    w->groups.push_back(spec);
  }
  return OkStatus();
}

Status Parser::ParseTask(const std::string& name, const Json& t, const std::string& default_policy,
                         SchedWorkload* w) {
  const std::string path = "tasks." + name;
  if (!t.is_object()) return Error(path, std::string("expected an object, got ") + t.type_name());
  SchedTaskSpec spec;
  spec.name = name;
  int64_t instances = 1;
  if (t.contains("instance")) {
    KREPLAY_ASSIGN_OR_RETURN(instances, Int(t["instance"], path + ".instance"));
    if (instances < 0) return Error(path + ".instance", "must be >= 0");
    if (instances > 100'000) return Error(path + ".instance", "too many instances");
  }
  if (t.contains("delay")) {
    KREPLAY_ASSIGN_OR_RETURN(spec.delay_ns, Micros(t["delay"], path + ".delay"));
  }
  std::string policy = default_policy;
  const std::string policy_path = t.contains("policy") ? path + ".policy" : "global.default_policy";
  if (t.contains("policy")) {
    KREPLAY_ASSIGN_OR_RETURN(policy, String(t["policy"], path + ".policy"));
  }
  KREPLAY_ASSIGN_OR_RETURN(spec.policy, ParsePolicy(policy, policy_path, source_));
  if (spec.policy == SchedPolicy::kDeadline) {
    KREPLAY_RETURN_IF_ERROR(ParseDeadline(t, path, &spec));
  } else if (IsRealTime(spec.policy)) {
    // rt-app: a real-time thread's sched_priority, 10 when not given.
    spec.rt_priority = 10;
    if (t.contains("priority")) {
      KREPLAY_ASSIGN_OR_RETURN(int64_t prio, Int(t["priority"], path + ".priority"));
      if (prio < 1 || prio > 99) {
        return Error(path + ".priority", policy + " priority must be in 1..99, got " + std::to_string(prio));
      }
      spec.rt_priority = static_cast<int>(prio);
    }
  } else if (t.contains("priority")) {
    // For the fair policies rt-app passes "priority" to setpriority(): the nice value.
    KREPLAY_ASSIGN_OR_RETURN(int64_t nice, Int(t["priority"], path + ".priority"));
    if (nice < -20 || nice > 19) {
      return Error(path + ".priority", "nice value must be in -20..19, got " + std::to_string(nice));
    }
    spec.nice = static_cast<int>(nice);
  }
  if (t.contains("taskgroup")) {
    // The key later rt-app versions use to place a thread in a cpu cgroup.
    KREPLAY_ASSIGN_OR_RETURN(std::string g, String(t["taskgroup"], path + ".taskgroup"));
    KREPLAY_RETURN_IF_ERROR(CheckGroupPath(g, path + ".taskgroup", source_));
    spec.group = g == "/" ? "" : g;
  }
  if (t.contains("cpus")) {
    const Json& cpus = t["cpus"];
    if (!cpus.is_array()) return Error(path + ".cpus", "expected an array of CPU numbers");
    for (size_t i = 0; i < cpus.size(); ++i) {
      const std::string p = path + ".cpus[" + std::to_string(i) + "]";
      KREPLAY_ASSIGN_OR_RETURN(int64_t cpu, Int(cpus[i], p));
      if (cpu < 0 || cpu > 63) return Error(p, "CPU number must be in 0..63");
      spec.cpu_mask |= uint64_t{1} << cpu;
    }
  }
  if (t.contains("kreplay_kind")) {
    KREPLAY_ASSIGN_OR_RETURN(spec.kind, String(t["kreplay_kind"], path + ".kreplay_kind"));
  }
  if (spec.policy != SchedPolicy::kDeadline) {
    for (const char* dl : {"dl-runtime", "dl-period", "dl-deadline"}) {
      if (t.contains(dl)) return Error(path + "." + dl, "only used with policy SCHED_DEADLINE, the task is " + policy);
    }
  }

  static const std::set<std::string> kTaskKeys = {"instance", "delay",       "policy",    "priority",
                                                  "cpus",     "loop",        "phases",    "kreplay_kind",
                                                  "taskgroup", "dl-runtime", "dl-period", "dl-deadline"};
  if (t.contains("phases")) {
    const Json& phases = t["phases"];
    const std::string pp = path + ".phases";
    if (!phases.is_object()) return Error(pp, std::string("expected an object, got ") + phases.type_name());
    if (phases.empty()) return Error(pp, "no phases");
    for (const auto& [key, value] : t.items()) {
      (void)value;
      if (kTaskKeys.count(key)) continue;
      if (MatchEvent(key)) return Error(path + "." + key, "events must be inside a phase when \"phases\" is given");
      return Error(path + "." + key, "unknown key");
    }
    spec.loops = -1;  // rt-app 1.0 default for a task with phases
    if (t.contains("loop")) {
      KREPLAY_ASSIGN_OR_RETURN(spec.loops, Loop(t["loop"], path + ".loop"));
    }
    size_t index = 0;
    for (const auto& [pname, phase] : phases.items()) {
      const std::string ph = pp + "." + pname;
      if (!phase.is_object()) return Error(ph, std::string("expected an object, got ") + phase.type_name());
      int64_t loop = 1;
      if (phase.contains("loop")) {
        KREPLAY_ASSIGN_OR_RETURN(loop, Loop(phase["loop"], ph + ".loop"));
      }
      if (phase.contains("taskgroup")) {
        return Error(ph + ".taskgroup", "unsupported key (a task stays in one group; set taskgroup on the task)");
      }
      if (phase.contains("cpus")) {
        return Error(ph + ".cpus", "unsupported key (per-phase affinity is not modelled; set cpus on the task)");
      }
      std::vector<Phase> body;
      KREPLAY_RETURN_IF_ERROR(ParseEvents(phase, ph, {"loop"}, &body));
      if (loop == -1) {
        // The phase never ends: later phases are unreachable, and earlier
        // ones would run once, which SchedTaskSpec cannot express.
        if (index != 0) {
          return Error(ph + ".loop", "loop -1 is only supported in a task's first phase");
        }
        spec.phases = body;
        spec.loops = -1;
        break;
      }
      if (body.size() * static_cast<uint64_t>(loop) + spec.phases.size() > kMaxPhasesPerTask) {
        return Error(ph + ".loop", "task expands to more than " + std::to_string(kMaxPhasesPerTask) + " phases");
      }
      for (int64_t i = 0; i < loop; ++i) spec.phases.insert(spec.phases.end(), body.begin(), body.end());
      ++index;
    }
  } else {
    // One-phase form: the task object is the phase; its loop repeats it.
    std::set<std::string> ignore = kTaskKeys;
    KREPLAY_RETURN_IF_ERROR(ParseEvents(t, path, ignore, &spec.phases));
    spec.loops = 1;
    if (t.contains("loop")) {
      KREPLAY_ASSIGN_OR_RETURN(spec.loops, Loop(t["loop"], path + ".loop"));
    }
  }
  for (const auto& p : spec.phases) {
    if (p.op == PhaseOp::kTimer) spec.periodic = true;
  }
  for (int64_t i = 0; i < instances; ++i) {
    SchedTaskSpec copy = spec;
    if (instances > 1) copy.name = name + "-" + std::to_string(i);
    w->tasks.push_back(std::move(copy));
  }
  return OkStatus();
}

Status Parser::ParseDeadline(const Json& t, const std::string& path, SchedTaskSpec* spec) const {
  // rt-app: dl-runtime (default 0), dl-period (default the runtime) and
  // dl-deadline (default the period), in us, passed to sched_setattr().
  // "priority" is not used for SCHED_DEADLINE, and a restricted affinity
  // would make sched_setattr() fail (EPERM: a deadline task must be allowed
  // on its whole root domain).
  if (t.contains("priority")) {
    return Error(path + ".priority", "not used with SCHED_DEADLINE (its parameters are dl-runtime, dl-period, dl-deadline)");
  }
  if (t.contains("cpus")) {
    return Error(path + ".cpus", "a SCHED_DEADLINE task must be allowed on every CPU (sched_setattr() refuses a "
                                 "restricted affinity with EPERM)");
  }
  // rt-app's default runtime, 0, would fail sched_setattr(): say so by key.
  if (!t.contains("dl-runtime")) return Error(path + ".dl-runtime", "missing (a SCHED_DEADLINE task needs its runtime)");
  KREPLAY_ASSIGN_OR_RETURN(spec->dl_runtime_ns, Micros(t["dl-runtime"], path + ".dl-runtime"));
  spec->dl_period_ns = spec->dl_runtime_ns;
  if (t.contains("dl-period")) {
    KREPLAY_ASSIGN_OR_RETURN(spec->dl_period_ns, Micros(t["dl-period"], path + ".dl-period"));
  }
  spec->dl_deadline_ns = spec->dl_period_ns;
  if (t.contains("dl-deadline")) {
    KREPLAY_ASSIGN_OR_RETURN(spec->dl_deadline_ns, Micros(t["dl-deadline"], path + ".dl-deadline"));
  }
  std::string err = DeadlineParamsError(*spec);
  if (err.empty()) return OkStatus();
  // Name the rt-app key of the field __checkparam_dl() refused.
  std::string field = err.substr(0, err.find(':'));
  std::string key = field == "dl_runtime_ns" ? "dl-runtime" : field == "dl_period_ns" ? "dl-period" : "dl-deadline";
  return Error(path + "." + key, err.substr(err.find(':') + 2) + " (sched_setattr() would fail with EINVAL)");
}

Status Parser::ParseEvents(const Json& obj, const std::string& path, const std::set<std::string>& ignore,
                           std::vector<Phase>* out) {
  size_t before = out->size();
  for (const auto& [key, value] : obj.items()) {
    if (ignore.count(key)) continue;
    KREPLAY_RETURN_IF_ERROR(ParseEvent(key, value, path, out));
  }
  if (out->size() == before) return Error(path, "no events");
  return OkStatus();
}

Status Parser::ParseEvent(const std::string& key, const Json& v, const std::string& path,
                          std::vector<Phase>* out) {
  const EventPrefix* e = MatchEvent(key);
  const std::string ep = path + "." + key;
  if (e == nullptr) return Error(ep, "unknown key");
  if (!e->supported) {
    return InvalidArgument(source_ + ": unsupported event " + key + " at " + path);
  }
  const std::string prefix = e->prefix;
  Phase p;
  if (prefix == "run" || prefix == "runtime" || prefix == "sleep") {
    p.op = prefix == "run" ? PhaseOp::kRun : prefix == "runtime" ? PhaseOp::kRuntime : PhaseOp::kSleep;
    KREPLAY_ASSIGN_OR_RETURN(p.a, Micros(v, ep));
  } else if (prefix == "timer") {
    if (!v.is_object()) return Error(ep, "expected an object {ref, period, mode}");
    for (const auto& [k, x] : v.items()) {
      (void)x;
      if (k != "ref" && k != "period" && k != "mode") return Error(ep + "." + k, "unknown key (expected ref, period, mode)");
    }
    // Each task gets its own timer in the model, so the ref name is only
    // checked; a timer shared between different tasks is not modelled.
    if (v.contains("ref")) {
      KREPLAY_RETURN_IF_ERROR(String(v["ref"], ep + ".ref").status());
    }
    if (!v.contains("period")) return Error(ep + ".period", "missing");
    p.op = PhaseOp::kTimer;
    KREPLAY_ASSIGN_OR_RETURN(p.a, Micros(v["period"], ep + ".period"));
    if (p.a == 0) return Error(ep + ".period", "must be > 0");
    if (v.contains("mode")) {
      // "relative" (rt-app's default) and "absolute" differ only after an
      // overrun; the model's kTimer is absolute (see sched_workload.h).
      KREPLAY_ASSIGN_OR_RETURN(std::string mode, String(v["mode"], ep + ".mode"));
      if (mode != "relative" && mode != "absolute") {
        return Error(ep + ".mode", "unknown mode '" + mode + "' (expected relative, absolute)");
      }
    }
  } else if (prefix == "wait") {
    if (!v.is_object()) return Error(ep, "expected an object {ref, mutex}");
    for (const auto& [k, x] : v.items()) {
      (void)x;
      if (k != "ref" && k != "mutex") return Error(ep + "." + k, "unknown key (expected ref, mutex)");
    }
    if (!v.contains("ref")) return Error(ep + ".ref", "missing");
    KREPLAY_ASSIGN_OR_RETURN(std::string ref, String(v["ref"], ep + ".ref"));
    if (v.contains("mutex")) {
      KREPLAY_RETURN_IF_ERROR(String(v["mutex"], ep + ".mutex").status());
    }
    p.op = PhaseOp::kWait;
    p.a = ResourceId(ref);
  } else {  // signal
    KREPLAY_ASSIGN_OR_RETURN(std::string ref, String(v, ep));
    p.op = PhaseOp::kSignal;
    p.a = ResourceId(ref);
  }
  out->push_back(p);
  return OkStatus();
}

int64_t RoundToMicros(int64_t ns) { return ns >= 0 ? (ns + 500) / 1000 : -((-ns + 500) / 1000); }

}  // namespace

StatusOr<SchedWorkload> ParseRtApp(std::string_view json_text, const std::string& source_name) {
  Parser parser(source_name);
  return parser.Parse(json_text);
}

std::string WriteRtApp(const SchedWorkload& w) {
  Json global = Json::object();
  if (w.duration_ns <= 0) {
    global["duration"] = -1;
  } else {
    // rt-app takes whole seconds; round up and carry the exact value.
    int64_t s = (w.duration_ns + 999'999'999) / 1'000'000'000;
    global["duration"] = s;
    if (s * 1'000'000'000 != w.duration_ns) global["kreplay_duration_ns"] = w.duration_ns;
  }
  global["calibration"] = "CPU0";
  global["default_policy"] = "SCHED_OTHER";
  global["logdir"] = "./";
  global["log_basename"] = "kreplay";
  if (!w.calibration_cpu.empty()) global["kreplay_calibration_cpu"] = w.calibration_cpu;
  if (w.calibration_khz != 0) global["kreplay_calibration_khz"] = w.calibration_khz;
  if (!w.groups.empty()) {
    Json groups = Json::object();
    for (const auto& g : w.groups) groups[g.path] = Json{{"cpu.shares", g.shares}};
    global["kreplay_taskgroups"] = groups;
  }

  Json tasks = Json::object();
  for (const auto& t : w.tasks) {
    Json task = Json::object();
    task["instance"] = 1;
    task["loop"] = t.loops;
    task["policy"] = SchedPolicyName(t.policy);
    if (t.policy == SchedPolicy::kDeadline) {
      task["dl-runtime"] = RoundToMicros(t.dl_runtime_ns);
      task["dl-period"] = RoundToMicros(t.dl_period_ns != 0 ? t.dl_period_ns : t.dl_deadline_ns);
      task["dl-deadline"] = RoundToMicros(t.dl_deadline_ns);
    } else {
      task["priority"] = IsRealTime(t.policy) ? t.rt_priority : t.nice;
    }
    if (!t.group.empty()) task["taskgroup"] = t.group;
    if (t.delay_ns != 0) task["delay"] = RoundToMicros(t.delay_ns);
    if (t.cpu_mask != 0) {
      Json cpus = Json::array();
      for (int cpu = 0; cpu < 64; ++cpu) {
        if (t.cpu_mask & (uint64_t{1} << cpu)) cpus.push_back(cpu);
      }
      task["cpus"] = cpus;
    }
    if (!t.kind.empty()) task["kreplay_kind"] = t.kind;
    Json events = Json::object();
    for (size_t i = 0; i < t.phases.size(); ++i) {
      const Phase& p = t.phases[i];
      const std::string key = std::string(PhaseOpName(p.op)) + std::to_string(i);
      switch (p.op) {
        case PhaseOp::kRun:
        case PhaseOp::kRuntime:
        case PhaseOp::kSleep:
          events[key] = RoundToMicros(p.a);
          break;
        case PhaseOp::kTimer:
          // "unique": one timer per thread; absolute matches the model.
          events[key] = Json{{"ref", "unique"}, {"period", RoundToMicros(p.a)}, {"mode", "absolute"}};
          break;
        case PhaseOp::kWait: {
          std::string r = "r";
          r += std::to_string(p.a);
          events[key] = Json{{"ref", r}, {"mutex", r + "_mutex"}};
          break;
        }
        case PhaseOp::kSignal:
          events[key] = std::string("r").append(std::to_string(p.a));
          break;
      }
    }
    task["phases"] = Json{{"p0", events}};
    tasks[t.name] = task;
  }
  Json root = Json::object();
  root["global"] = global;
  root["tasks"] = tasks;
  return root.dump(1, '\t') + "\n";
}

}  // namespace kreplay::workload
