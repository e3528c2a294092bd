#include "workers/models/sched/validate/host_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

extern char** environ;

namespace kreplay::sched::validate {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// The whole of a small (/proc, /sys) file; those report size 0, so read to EOF.
StatusOr<std::string> ReadProc(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable(path + ": " + std::strerror(errno));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Unavailable(path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

bool WriteProc(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string FindRtApp() {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::string p = dir + "/rt-app";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return ::access("/usr/bin/rt-app", X_OK) == 0 ? "/usr/bin/rt-app" : "";
}

uint64_t CpuKhz(int cpu) {
  auto freq = ReadProc("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/scaling_cur_freq");
  if (freq.ok()) {
    uint64_t v = std::strtoull(freq->c_str(), nullptr, 10);
    if (v > 0) return v;
  }
  auto info = ReadProc("/proc/cpuinfo");
  if (info.ok()) {  // x86: "processor : N" ... "cpu MHz : 2596.148" per CPU
    std::istringstream in(*info);
    std::string line;
    int current = -1;
    while (std::getline(in, line)) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key = Trim(line.substr(0, colon));
      while (!key.empty() && (key.back() == '\t' || key.back() == ' ')) key.pop_back();
      if (key == "processor") current = std::atoi(line.c_str() + colon + 1);
      if (key == "cpu MHz" && current == cpu) return static_cast<uint64_t>(std::atof(line.c_str() + colon + 1) * 1000);
    }
  }
  return 1000000;  // unknown: 1 GHz (only the label of the single OPP)
}

// CONFIG_HZ from /proc/config.gz (CONFIG_IKCONFIG_PROC), else 0.
int KernelHz() {
  gzFile f = gzopen("/proc/config.gz", "rb");
  if (!f) return 0;
  char line[512];
  int hz = 0;
  while (gzgets(f, line, sizeof line))
    if (std::strncmp(line, "CONFIG_HZ=", 10) == 0) hz = std::atoi(line + 10);
  gzclose(f);
  return hz;
}

bool Interrupted(const HostRunOptions& o) { return o.interrupted && o.interrupted->load(); }

// rt-app, stopped by PID when the handle goes (SIGTERM, then SIGKILL).
class Child {
 public:
  static StatusOr<Child> Spawn(const std::vector<std::string>& argv, const std::string& out_path) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    // Its own process group, so a terminal's Ctrl-C reaches us first and we
    // stop it ourselves (its logs are still wanted up to that point).
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return Unavailable("cannot start " + argv[0] + ": " + std::strerror(rc));
    Child c;
    c.pid_ = pid;
    return c;
  }
  Child() = default;
  Child(Child&& o) noexcept : pid_(o.pid_), status_(o.status_) { o.pid_ = -1; }
  Child& operator=(Child&&) = delete;
  ~Child() { Stop(); }

  pid_t pid() const { return pid_; }
  // True once it has exited (reaped); its wait status in status().
  bool Exited() {
    if (pid_ < 0) return true;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      status_ = st;
      pid_ = -1;
      return true;
    }
    return false;
  }
  int status() const { return status_; }
  void Stop() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && !Exited(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (pid_ < 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
};

// Sleeps until `until`, in short steps; Cancelled when interrupted, Unavailable if rt-app died.
Status SleepUntil(Clock::time_point until, Child& child, const HostRunOptions& o, const std::string& out_path) {
  while (Clock::now() < until) {
    if (Interrupted(o)) return Cancelled("interrupted");
    if (child.Exited()) {
      auto out = ReadProc(out_path);
      return Unavailable("rt-app exited early (status " + std::to_string(child.status()) + "); its output (" +
                         out_path + "):\n" + (out.ok() ? *out : out.status().message()));
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(20)));
  }
  return OkStatus();
}

struct Snapshot {
  std::map<std::string, Schedstat> tasks;
  std::vector<CpuTimes> cpus;
  Clock::time_point at;
};

StatusOr<Snapshot> Take(pid_t pid, const std::map<std::string, pid_t>& tids, const std::vector<int>& cpus) {
  Snapshot s;
  s.at = Clock::now();
  for (const auto& [name, tid] : tids) {
    const std::string p = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/schedstat";
    KREPLAY_ASSIGN_OR_RETURN(std::string text, ReadProc(p));
    KREPLAY_ASSIGN_OR_RETURN(s.tasks[name], ParseSchedstat(text, p));
  }
  KREPLAY_ASSIGN_OR_RETURN(std::string stat, ReadProc("/proc/stat"));
  for (int c : cpus) {
    KREPLAY_ASSIGN_OR_RETURN(CpuTimes t, ParseProcStatCpu(stat, c));
    s.cpus.push_back(t);
  }
  return s;
}

}  // namespace

StatusOr<std::vector<int>> ParseCpuList(const std::string& text) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return Unavailable(std::string("sched_getaffinity: ") + std::strerror(errno));
  if (text == "last") {
    for (int c = CPU_SETSIZE - 1; c >= 0; --c)
      if (CPU_ISSET(c, &set)) return std::vector<int>{c};
    return FailedPrecondition("this process may run on no CPU");
  }
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    int a = -1, b = -1;
    char extra = 0;
    if (std::sscanf(item.c_str(), "%d-%d%c", &a, &b, &extra) == 2) {
    } else if (std::sscanf(item.c_str(), "%d%c", &a, &extra) == 1) {
      b = a;
    } else {
      return InvalidArgument("--cpus: '" + item + "' is not a CPU number or range (e.g. 1 or 2-3)");
    }
    if (a < 0 || b < a || b >= 64) return InvalidArgument("--cpus: bad range '" + item + "' (CPUs 0..63)");
    for (int c = a; c <= b; ++c)
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  if (out.empty()) return InvalidArgument("--cpus: empty list");
  return out;
}

StatusOr<HostInfo> ProbeHost(const std::vector<int>& cpus) {
  HostInfo h;
  struct utsname u {};
  if (::uname(&u) == 0) h.kernel_release = u.release;
  if (::geteuid() != 0)
    return FailedPrecondition("not running as root: rt-app needs it to set negative nice values, and moving "
                              "threads between cgroups and setting their timer slack need it too");
  h.rtapp = FindRtApp();
  if (h.rtapp.empty())
    return FailedPrecondition("rt-app not found on PATH or at /usr/bin/rt-app (Debian: apt-get install rt-app; "
                              "scripts/setup.sh installs it)");
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return Unavailable(std::string("sched_getaffinity: ") + std::strerror(errno));
  for (int c : cpus) {
    auto online = ReadProc("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/online");
    if (online.ok() && Trim(*online) != "1") return FailedPrecondition("CPU " + std::to_string(c) + " is offline");
    if (c >= CPU_SETSIZE || !CPU_ISSET(c, &set))
      return FailedPrecondition("CPU " + std::to_string(c) + " is not available to this process (offline, absent "
                                "or outside its affinity/cpuset)");
  }
  auto self = ReadProc("/proc/self/task/" + std::to_string(::gettid()) + "/schedstat");
  if (!self.ok()) return FailedPrecondition("no per-thread schedstat (/proc/PID/task/TID/schedstat): " + self.status().message());
  h.khz = CpuKhz(cpus.front());
  h.hz = KernelHz();
  return h;
}

StatusOr<HostData> RunOnHost(const Scenario& s, const std::string& json_path, const std::string& basename,
                             const HostRunOptions& o) {
  auto say = [&](const std::string& m) {
    if (o.progress) o.progress(m);
  };
  // Groups first: they must exist before the threads are moved, and outlive rt-app.
  std::unique_ptr<CgroupTree> tree;
  if (s.needs_cgroups()) {
    if (!o.cgroups) return FailedPrecondition("scenario " + s.name + " needs a CPU cgroup controller");
    const std::string name = "kreplay-validate-" + std::to_string(::getpid()) + "-" + s.name;
    KREPLAY_ASSIGN_OR_RETURN(tree, CgroupTree::Create(*o.cgroups, name));
    for (const auto& g : s.groups()) {
      uint64_t shares = 0;
      for (const auto& t : s.tasks)
        if (t.group == g) shares = t.group_shares;
      KREPLAY_RETURN_IF_ERROR(tree->AddGroup(g, shares));
    }
    say("cgroups under " + tree->top() + " (" + WeightFile(o.cgroups->version) + ")");
  }

  const std::string out_path = o.workdir + "/" + basename + ".rt-app.out";
  KREPLAY_ASSIGN_OR_RETURN(Child child, Child::Spawn({o.rtapp, json_path}, out_path));
  const auto started = Clock::now();
  say("rt-app " + std::to_string(child.pid()) + " started for " + std::to_string(o.duration_s) + " s");

  // Its threads, by name (rt-app names each thread after its task).
  std::map<std::string, pid_t> tids;
  const std::string task_dir = "/proc/" + std::to_string(child.pid()) + "/task";
  const auto find_deadline = started + std::chrono::seconds(10);
  while (tids.size() < s.tasks.size()) {
    if (Clock::now() > find_deadline)
      return Unavailable("rt-app's threads did not all appear within 10 s (found " + std::to_string(tids.size()) +
                         " of " + std::to_string(s.tasks.size()) + ")");
    KREPLAY_RETURN_IF_ERROR(SleepUntil(Clock::now() + std::chrono::milliseconds(10), child, o, out_path));
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(task_dir, ec)) {
      auto comm = ReadProc(e.path().string() + "/comm");
      if (!comm.ok()) continue;
      const std::string name = Trim(*comm);
      if (s.Find(name) && !tids.count(name)) tids[name] = static_cast<pid_t>(std::stol(e.path().filename().string()));
    }
  }
  if (tree) KREPLAY_RETURN_IF_ERROR(tree->AdoptProcess(child.pid()));
  for (const auto& [name, tid] : tids) {
    if (!WriteProc("/proc/" + std::to_string(tid) + "/timerslack_ns", "1"))
      say("could not set the timer slack of " + name + "; its wake-up latency includes the default 50 us");
    const ScenarioTask* t = s.Find(name);
    if (tree && !t->group.empty()) KREPLAY_RETURN_IF_ERROR(tree->MoveThread(t->group, tid));
  }
  const auto threads_at = Clock::now();

  // The window: after the warm-up, until shortly before rt-app stops.
  using Sec = std::chrono::duration<double>;
  const auto begin_at = threads_at + std::chrono::duration_cast<Clock::duration>(Sec(o.warmup_s));
  const auto end_at = started + std::chrono::duration_cast<Clock::duration>(Sec(o.duration_s - o.tail_s));
  if (end_at <= begin_at + std::chrono::milliseconds(500))
    return InvalidArgument("--duration " + std::to_string(o.duration_s) + " s leaves no measurement window");
  KREPLAY_RETURN_IF_ERROR(SleepUntil(begin_at, child, o, out_path));
  KREPLAY_ASSIGN_OR_RETURN(Snapshot a, Take(child.pid(), tids, o.cpus));
  say("measuring");
  KREPLAY_RETURN_IF_ERROR(SleepUntil(end_at, child, o, out_path));
  KREPLAY_ASSIGN_OR_RETURN(Snapshot b, Take(child.pid(), tids, o.cpus));

  // rt-app ends at its duration; give it a little longer, then stop it.
  const auto wait_until = started + std::chrono::seconds(o.duration_s + 5);
  while (!child.Exited() && Clock::now() < wait_until) {
    if (Interrupted(o)) return Cancelled("interrupted");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!child.Exited()) say("rt-app did not stop at its duration; stopping it");
  child.Stop();

  HostData d;
  d.window_s = Sec(b.at - a.at).count();
  double scenario_ns = 0;
  const double rel_begin_us = Sec(begin_at - started).count() * 1e6;
  const double rel_end_us = Sec(end_at - started).count() * 1e6;
  for (const auto& t : s.tasks) {
    HostTaskData& td = d.tasks[t.name];
    td.delta = Delta(a.tasks[t.name], b.tasks[t.name]);
    scenario_ns += static_cast<double>(td.delta.run_ns);
    // Its log: <basename>-<task>-<thread index>.log.
    std::string log;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(o.workdir, ec)) {
      const std::string f = e.path().filename().string();
      if (f.rfind(basename + "-" + t.name + "-", 0) == 0 && f.ends_with(".log")) log = e.path().string();
    }
    if (log.empty()) return Unavailable("rt-app wrote no log for task " + t.name + " in " + o.workdir);
    KREPLAY_ASSIGN_OR_RETURN(std::string text, ReadProc(log));
    KREPLAY_ASSIGN_OR_RETURN(std::vector<RtAppLogLine> lines, ParseRtAppLog(text, log));
    td.phases = t.role == TaskRole::kChainHead || t.role == TaskRole::kChainLink ? 2 : 1;
    for (size_t i = 0; i < lines.size(); ++i) {
      const double rel = static_cast<double>(lines[i].rel_st_us);
      if (rel < rel_begin_us || rel > rel_end_us) continue;
      td.lines.push_back(lines[i]);
      td.phase_of_line.push_back(static_cast<int>(i % static_cast<size_t>(td.phases)));
    }
  }
  // Busy time of the pinned CPUs that the scenario did not use (USER_HZ ticks).
  const double tick_ns = 1e9 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  double busy_ns = 0, total_ns = 0;
  for (size_t i = 0; i < o.cpus.size(); ++i) {
    busy_ns += static_cast<double>(b.cpus[i].busy - a.cpus[i].busy) * tick_ns;
    total_ns += static_cast<double>(b.cpus[i].total - a.cpus[i].total) * tick_ns;
  }
  if (total_ns > 0) d.foreign_busy_pct = std::clamp(100.0 * (busy_ns - scenario_ns) / total_ns, 0.0, 100.0);
  return d;
}

}  // namespace kreplay::sched::validate
