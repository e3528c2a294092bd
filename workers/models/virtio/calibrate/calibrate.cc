#include "workers/models/virtio/calibrate/calibrate.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "services/core/strings.h"
#include "workers/models/virtio/calibrate/kvm_probe.h"

namespace kreplay::virtio {
namespace {

using Progress = std::function<void(const std::string&)>;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
StatusOr<double> MedianOf(int repeats, F&& f) {
  std::vector<double> v;
  for (int i = 0; i < repeats; ++i) {
    KREPLAY_ASSIGN_OR_RETURN(double x, f());
    v.push_back(x);
  }
  return Median(v);
}

// Pins the calling thread (sched_setaffinity() with pid 0 acts on the thread).
Status PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    return FailedPrecondition("calibrate: cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(errno));
  }
  return OkStatus();
}

// Restores the calling thread's CPU affinity on scope exit.
class AffinityGuard {
 public:
  AffinityGuard() { saved_ = sched_getaffinity(0, sizeof set_, &set_) == 0; }
  ~AffinityGuard() {
    if (saved_) sched_setaffinity(0, sizeof set_, &set_);
  }
  AffinityGuard(const AffinityGuard&) = delete;
  AffinityGuard& operator=(const AffinityGuard&) = delete;

 private:
  cpu_set_t set_{};
  bool saved_ = false;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// An anonymous mapping, faulted in (so no measurement pays page faults).
class Buffer {
 public:
  explicit Buffer(size_t bytes) : bytes_(bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    p_ = static_cast<char*>(p);
    std::memset(p_, 0x5a, bytes);
  }
  ~Buffer() {
    if (p_) munmap(p_, bytes_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  char* data() const { return p_; }

 private:
  char* p_ = nullptr;
  size_t bytes_;
};

// memcpy() called through a volatile pointer: the compiler can neither
// inline it (and specialise it for a constant size) nor drop a copy whose
// result is never read.
void* (*volatile g_copy)(void*, const void*, size_t) = &::memcpy;

// Hot copy: the same source and destination buffers copied over and over,
// so both stay in the caches (L1/L2 up to 16 KiB, L2/L3 above); ~16 MiB are
// copied per figure.
double HotCopyNs(const Buffer& src, const Buffer& dst, size_t bytes) {
  const size_t loops = std::clamp<size_t>((size_t{16} << 20) / bytes, 64, size_t{1} << 20);
  g_copy(dst.data(), src.data(), bytes);
  int64_t t0 = NowNs();
  for (size_t i = 0; i < loops; ++i) g_copy(dst.data(), src.data(), bytes);
  return static_cast<double>(NowNs() - t0) / static_cast<double>(loops);
}

// Cold copy: the working set is split into a source and a destination half,
// each cut into slots of the copy size rounded up to 4 KiB. One pass copies
// slot s[i] of the source half to slot d[i] of the destination half, both
// orders shuffled: consecutive copies touch unrelated pages (no help from
// the stream prefetchers) and a slot is reused only after the whole half,
// far larger than the last-level cache, went through. Includes the TLB
// misses a cold guest buffer also has.
double ColdCopyNs(const Buffer& ws, size_t half_bytes, size_t bytes, uint64_t seed) {
  const size_t slot = (bytes + 4095) / 4096 * 4096;
  const size_t n = std::min<size_t>(half_bytes / slot, 65536);
  std::vector<uint32_t> s(n), d(n);
  std::iota(s.begin(), s.end(), 0);
  std::iota(d.begin(), d.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(s.begin(), s.end(), rng);
  std::shuffle(d.begin(), d.end(), rng);
  char* src = ws.data();
  char* dst = ws.data() + half_bytes;
  int64_t t0 = NowNs();
  for (size_t i = 0; i < n; ++i) g_copy(dst + d[i] * slot, src + s[i] * slot, bytes);
  return static_cast<double>(NowNs() - t0) / static_cast<double>(n);
}

// A trivial syscall round trip: getppid() through syscall() (glibc caches
// nothing for it; no vDSO shortcut).
double SyscallNs() {
  constexpr int kLoops = 200000;
  int64_t t0 = NowNs();
  for (int i = 0; i < kLoops; ++i) syscall(SYS_getppid);
  return static_cast<double>(NowNs() - t0) / kLoops;
}

// Pins this thread to cpu_a, runs `b` in a new thread pinned to cpu_b, then
// `a` here; returns a's result once both are done. Both pins happen before
// either side starts, so neither waits for a partner that never comes.
template <class A, class B>
StatusOr<double> RunPair(int cpu_a, int cpu_b, A&& a, B&& b) {
  KREPLAY_RETURN_IF_ERROR(PinTo(cpu_a));
  Status pin_b = OkStatus();
  std::atomic<bool> b_pinned{false}, go{false};
  std::thread tb([&] {
    pin_b = PinTo(cpu_b);
    b_pinned = true;
    while (!go) std::this_thread::yield();
    if (pin_b.ok()) b();
  });
  while (!b_pinned) std::this_thread::yield();
  go = true;
  if (!pin_b.ok()) {
    tb.join();
    return pin_b;
  }
  double r = a();
  tb.join();
  return r;
}

void SpinFor(int64_t ns) {
  int64_t end = NowNs() + ns;
  while (NowNs() < end) {
  }
}

// Eventfd ping-pong between cpu_a and cpu_b: A writes eventfd 1 and blocks
// reading eventfd 2; B blocks reading 1, then writes 2. A round trip is two
// wake-ups of a reader blocked on another CPU (eventfd_signal() ->
// try_to_wake_up() -> IPI -> the reader's CPU leaves idle and switches to
// it); eventfd_wake_ns = round trip / 2.
//
// With `time_writes`, A first spins 5 us so that B is surely asleep in
// read(), then times its own write(): the writer's cost of signalling a
// blocked reader (syscall + wake-up + IPI send), eventfd_signal_ns.
StatusOr<double> EventfdPingPong(int cpu_a, int cpu_b, bool time_writes) {
  Fd ab(eventfd(0, EFD_CLOEXEC)), ba(eventfd(0, EFD_CLOEXEC));
  if (ab.get() < 0 || ba.get() < 0) return Internal("calibrate: eventfd: " + std::string(std::strerror(errno)));
  const int rounds = time_writes ? 1000 : 3000;
  auto b = [&] {
    uint64_t v = 1;
    for (int i = 0; i < rounds; ++i) {
      if (read(ab.get(), &v, sizeof v) != sizeof v) return;
      if (write(ba.get(), &v, sizeof v) != sizeof v) return;
    }
  };
  auto a = [&] {
    uint64_t v = 1;
    int64_t writes = 0;
    int64_t t0 = NowNs();
    for (int i = 0; i < rounds; ++i) {
      if (time_writes) SpinFor(5000);
      int64_t w0 = NowNs();
      if (write(ab.get(), &v, sizeof v) != sizeof v) break;
      writes += NowNs() - w0;
      if (read(ba.get(), &v, sizeof v) != sizeof v) break;
    }
    int64_t total = NowNs() - t0;
    return time_writes ? static_cast<double>(writes) / rounds : static_cast<double>(total) / (2.0 * rounds);
  };
  return RunPair(cpu_a, cpu_b, a, b);
}

long Futex(std::atomic<int>* addr, int op, int val) {
  return syscall(SYS_futex, reinterpret_cast<int*>(addr), op, val, nullptr, nullptr, 0);
}

// Futex ping-pong between cpu_a and cpu_b: each side sets the turn word,
// FUTEX_WAKEs the other and FUTEX_WAITs for its turn. Half a round trip is
// a futex wake reaching a waiter sleeping on another CPU: futex_wake_ns.
StatusOr<double> FutexPingPong(int cpu_a, int cpu_b) {
  std::atomic<int> turn{0};
  constexpr int kRounds = 3000;
  auto b = [&] {
    for (int i = 0; i < kRounds; ++i) {
      while (turn.load() != 1) Futex(&turn, FUTEX_WAIT_PRIVATE, 0);
      turn.store(0);
      Futex(&turn, FUTEX_WAKE_PRIVATE, 1);
    }
  };
  auto a = [&] {
    int64_t t0 = NowNs();
    for (int i = 0; i < kRounds; ++i) {
      turn.store(1);
      Futex(&turn, FUTEX_WAKE_PRIVATE, 1);
      while (turn.load() != 0) Futex(&turn, FUTEX_WAIT_PRIVATE, 1);
    }
    return static_cast<double>(NowNs() - t0) / (2.0 * kRounds);
  };
  return RunPair(cpu_a, cpu_b, a, b);
}

// Pipe ping-pong of two threads pinned to the same CPU: every hand-off
// blocks one thread and switches to the other (a 1-byte write + read and
// a switch). Half a round trip is context_switch_ns, the pipe syscalls
// included (as in lmbench's lat_ctx).
StatusOr<double> ContextSwitchNs(int cpu) {
  int p1[2], p2[2];
  if (pipe2(p1, O_CLOEXEC) != 0) return Internal("calibrate: pipe: " + std::string(std::strerror(errno)));
  Fd r1(p1[0]), w1(p1[1]);
  if (pipe2(p2, O_CLOEXEC) != 0) return Internal("calibrate: pipe: " + std::string(std::strerror(errno)));
  Fd r2(p2[0]), w2(p2[1]);
  constexpr int kRounds = 5000;
  auto b = [&] {
    char c;
    for (int i = 0; i < kRounds; ++i) {
      if (read(r1.get(), &c, 1) != 1 || write(w2.get(), &c, 1) != 1) return;
    }
  };
  auto a = [&] {
    char c = 'k';
    int64_t t0 = NowNs();
    for (int i = 0; i < kRounds; ++i) {
      if (write(w1.get(), &c, 1) != 1 || read(r2.get(), &c, 1) != 1) break;
    }
    return static_cast<double>(NowNs() - t0) / (2.0 * kRounds);
  };
  return RunPair(cpu, cpu, a, b);
}

// A flag in its own cache line bounced between cpu_a and cpu_b: A waits for
// an even value and stores the next odd one, B the reverse. Every hand-off
// makes the waiting core read the line the other core just modified;
// cacheline_transfer_ns = round trip / 2 (the usual core-to-core latency
// test).
StatusOr<double> CachelinePingPong(int cpu_a, int cpu_b) {
  struct alignas(64) Line {
    std::atomic<uint64_t> v{0};
  };
  static_assert(sizeof(Line) == 64);
  auto line = std::make_unique<Line>();
  constexpr uint64_t kRounds = 200000;
  auto b = [&] {
    for (uint64_t i = 0; i < kRounds; ++i) {
      while (line->v.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      line->v.store(2 * i + 2, std::memory_order_release);
    }
  };
  auto a = [&] {
    int64_t t0 = NowNs();
    for (uint64_t i = 0; i < kRounds; ++i) {
      while (line->v.load(std::memory_order_acquire) != 2 * i) {
      }
      line->v.store(2 * i + 1, std::memory_order_release);
    }
    while (line->v.load(std::memory_order_acquire) != 2 * kRounds) {
    }
    return static_cast<double>(NowNs() - t0) / (2.0 * kRounds);
  };
  return RunPair(cpu_a, cpu_b, a, b);
}

// An uncontended locked read-modify-write: `lock xadd` on a line only this
// thread touches, back to back (each depends on the previous: latency).
double AtomicNs() {
  std::atomic<uint64_t> x{0};
  constexpr int kLoops = 2000000;
  int64_t t0 = NowNs();
  for (int i = 0; i < kLoops; ++i) x.fetch_add(1, std::memory_order_seq_cst);
  double ns = static_cast<double>(NowNs() - t0) / kLoops;
  if (x.load() != static_cast<uint64_t>(kLoops)) return -1;
  return ns;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The value of the first "key : value" line of /proc/cpuinfo.
std::string CpuinfoField(const std::string& cpuinfo, const std::string& key) {
  for (std::string_view line : Split(cpuinfo, '\n')) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || Trim(line.substr(0, colon)) != key) continue;
    return std::string(Trim(line.substr(colon + 1)));
  }
  return "";
}

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string UtcNow() {
  time_t t = time(nullptr);
  tm u{};
  gmtime_r(&t, &u);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &u);
  return buf;
}

}  // namespace

StatusOr<VirtioProfile> CalibrateVirtioHost(const CalibrateOptions& o, const VirtioProfile& base,
                                            const Progress& progress) {
  auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  const int online = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (online < 2) return FailedPrecondition("calibrate virtio needs 2 online CPUs (cross-CPU wake-ups)");
  if (o.cpu_a == o.cpu_b || o.cpu_a < 0 || o.cpu_b < 0 || o.cpu_a >= online || o.cpu_b >= online) {
    return InvalidArgument("calibrate: cpu_a and cpu_b must be two different online CPUs (0.." +
                           std::to_string(online - 1) + ")");
  }
  if (o.repeats < 1 || o.repeats > 1000) return InvalidArgument("calibrate: repeats must be 1..1000");
  if (o.cold_mib < 8 || o.cold_mib > 65536) return InvalidArgument("calibrate: cold_mib must be 8..65536");
  if (base.memcpy.empty()) return InvalidArgument("calibrate: the base profile '" + base.name + "' has no memcpy points");

  AffinityGuard restore_affinity;
  KREPLAY_RETURN_IF_ERROR(PinTo(o.cpu_a));
  const std::string reps = "median of " + std::to_string(o.repeats);
  std::map<std::string, std::string> measured;  // field -> method

  // memcpy, 64 B .. 1 MiB in powers of 4.
  std::vector<uint32_t> sizes;
  for (uint32_t b = 64; b <= (1u << 20); b *= 4) sizes.push_back(b);
  say("memcpy hot (64 B .. 1 MiB)");
  Buffer hot_src(1u << 20), hot_dst(1u << 20);
  if (!hot_src.data() || !hot_dst.data()) return Unavailable("calibrate: cannot map 2 MiB");
  const size_t ws_bytes = static_cast<size_t>(o.cold_mib) << 20;
  say("memcpy cold (rotating through " + std::to_string(o.cold_mib) + " MiB)");
  Buffer ws(ws_bytes);
  if (!ws.data()) return Unavailable("calibrate: cannot map " + std::to_string(o.cold_mib) + " MiB");
  std::vector<std::vector<double>> hot(sizes.size()), cold(sizes.size());
  for (int r = 0; r < o.repeats; ++r) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      hot[i].push_back(HotCopyNs(hot_src, hot_dst, sizes[i]));
      cold[i].push_back(ColdCopyNs(ws, ws_bytes / 2, sizes[i], 1000 * static_cast<uint64_t>(r) + i));
    }
  }
  std::vector<MemcpyPoint> points;
  for (size_t i = 0; i < sizes.size(); ++i) {
    MemcpyPoint m{sizes[i], Median(hot[i]), Median(cold[i])};
    // A cold copy that came out cheaper than the hot one is noise (the hot
    // figure is the floor of any copy): keep the profile's law cold >= hot.
    m.cold_ns = std::max(m.cold_ns, m.hot_ns);
    points.push_back(m);
  }
  measured["memcpy"] =
      "measured: memcpy() through a function pointer; hot = the same 2 buffers copied repeatedly (~16 MiB per "
      "figure), cold = shuffled 4 KiB-aligned slots of a " + std::to_string(o.cold_mib) +
      " MiB working set (source and destination halves, each slot used once per pass); " + reps;

  say("syscall, atomic");
  KREPLAY_ASSIGN_OR_RETURN(double sys, MedianOf(o.repeats, [] { return StatusOr<double>(SyscallNs()); }));
  measured["syscall_ns"] = "measured: syscall(SYS_getppid) in a loop of 200 000; " + reps;
  KREPLAY_ASSIGN_OR_RETURN(double atomic, MedianOf(o.repeats, [] { return StatusOr<double>(AtomicNs()); }));
  if (atomic < 0) return Internal("calibrate: the atomic counter lost increments");
  measured["atomic_ns"] = "measured: back-to-back lock xadd on a private cache line, 2 000 000 times; " + reps;

  const std::string cpus = "CPUs " + std::to_string(o.cpu_a) + " and " + std::to_string(o.cpu_b);
  say("eventfd signal and wake-up (" + cpus + ")");
  KREPLAY_ASSIGN_OR_RETURN(double ev_signal, MedianOf(o.repeats, [&] { return EventfdPingPong(o.cpu_a, o.cpu_b, true); }));
  measured["eventfd_signal_ns"] =
      "measured: write() of an eventfd whose reader on the other CPU is blocked in read() (the writer spins 5 us "
      "first so the reader is asleep), timed around the write, 1000 times, " + cpus + "; " + reps;
  KREPLAY_ASSIGN_OR_RETURN(double ev_wake, MedianOf(o.repeats, [&] { return EventfdPingPong(o.cpu_a, o.cpu_b, false); }));
  measured["eventfd_wake_ns"] =
      "measured: eventfd ping-pong between two threads (blocking read/write), round trip / 2, 3000 rounds, " + cpus +
      "; " + reps;
  say("futex wake-up (" + cpus + ")");
  KREPLAY_ASSIGN_OR_RETURN(double futex, MedianOf(o.repeats, [&] { return FutexPingPong(o.cpu_a, o.cpu_b); }));
  measured["futex_wake_ns"] =
      "measured: FUTEX_WAKE/FUTEX_WAIT ping-pong between two threads, round trip / 2, 3000 rounds, " + cpus + "; " + reps;
  say("context switch (both threads on CPU " + std::to_string(o.cpu_a) + ")");
  KREPLAY_ASSIGN_OR_RETURN(double ctx, MedianOf(o.repeats, [&] { return ContextSwitchNs(o.cpu_a); }));
  measured["context_switch_ns"] =
      "measured: pipe ping-pong of two threads pinned to CPU " + std::to_string(o.cpu_a) +
      ", round trip / 2 (the 1-byte pipe read and write included), 5000 rounds; " + reps;
  say("cache-line transfer (" + cpus + ")");
  KREPLAY_ASSIGN_OR_RETURN(double line, MedianOf(o.repeats, [&] { return CachelinePingPong(o.cpu_a, o.cpu_b); }));
  measured["cacheline_transfer_ns"] =
      "measured: a counter in its own cache line bounced between two spinning threads, round trip / 2, 200 000 "
      "rounds, " + cpus + "; " + reps;

  // KVM: never fatal; the base profile's values stay if any step fails.
  double vm_exit = -1, ioeventfd = -1;
  std::string kvm_note;
  if (!o.kvm) {
    kvm_note = "KVM not measured (disabled by the caller)";
  } else {
    say("KVM: CPUID and ioeventfd exits in a minimal guest");
    auto probe = KvmProbe::Create();
    if (!probe.ok()) {
      kvm_note = "KVM not measured: " + probe.status().message();
    } else {
      constexpr uint64_t kIterations = 50000;
      auto cpuid = MedianOf(o.repeats, [&] { return (*probe)->CpuidExitNs(kIterations); });
      auto out = cpuid.ok() ? MedianOf(o.repeats, [&] { return (*probe)->IoeventfdWriteNs(kIterations); })
                            : StatusOr<double>(cpuid.status());
      if (!cpuid.ok() || !out.ok()) {
        kvm_note = "KVM not measured: " + (cpuid.ok() ? out.status() : cpuid.status()).message();
      } else {
        vm_exit = *cpuid;
        ioeventfd = std::max(0.0, *out - *cpuid);
        const std::string guest = "a 1-vCPU real-mode KVM guest on CPU " + std::to_string(o.cpu_a) + ", " +
                                  std::to_string(kIterations) + " iterations inside one KVM_RUN, timed around the ioctl; " +
                                  reps;
        measured["vm_exit_ns"] = "measured: `xor eax,eax; cpuid; dec esi; jnz` per iteration in " + guest +
                                 " (" + Fmt(*cpuid) + " ns)";
        measured["ioeventfd_ns"] =
            "measured: `out dx,al; dec esi; jnz` to a PIO port with a datamatch-less KVM_IOEVENTFD (" + Fmt(*out) +
            " ns per iteration) minus the CPUID exit (" + Fmt(*cpuid) + " ns)" +
            (*out < *cpuid ? "; negative on this host (the port exit is cheaper than a CPUID exit), clamped to 0" : "") +
            ", in " + guest;
      }
    }
  }
  if (!kvm_note.empty()) say(kvm_note + "; vm_exit and ioeventfd from '" + base.name + "'");

  VirtioProfile p = base;
  p.name = o.name;
  p.cpus = online;
  const std::string cpuinfo = ReadFile("/proc/cpuinfo");
  if (auto mhz = ParseDouble(CpuinfoField(cpuinfo, "cpu MHz")); mhz && *mhz > 0 && std::isfinite(*mhz)) {
    p.cpu_ghz = std::round(*mhz) / 1000.0;
    measured["cpu_ghz"] = "measured: 'cpu MHz' of /proc/cpuinfo";
  }
  p.nested = HostIsVirtualMachine();
  measured["nested"] = "measured: the 'hypervisor' CPU flag in /proc/cpuinfo (or /sys/hypervisor/type)";
  measured["cpus"] = "measured: online CPUs";
  p.memcpy = points;
  p.syscall_ns = sys;
  p.atomic_ns = atomic;
  p.eventfd_signal_ns = ev_signal;
  p.eventfd_wake_ns = ev_wake;
  p.futex_wake_ns = futex;
  p.context_switch_ns = ctx;
  p.cacheline_transfer_ns = line;
  if (vm_exit >= 0) {
    p.vm_exit_ns = vm_exit;
    p.ioeventfd_ns = ioeventfd;
  }

  // Every field says where its value comes from.
  p.sources.clear();
  std::vector<std::string> fields = {"cpus", "cpu_ghz", "nested", "memcpy"};
  for (const VirtioCostField& c : VirtioCostFields()) fields.emplace_back(c.name);
  for (const std::string& f : fields) {
    if (auto it = measured.find(f); it != measured.end()) {
      p.sources[f] = it->second;
      continue;
    }
    auto b = base.sources.find(f);
    p.sources[f] = "from base profile '" + base.name + "': " + (b != base.sources.end() ? b->second : "(no source given)");
  }

  utsname u{};
  uname(&u);
  const std::string model = CpuinfoField(cpuinfo, "model name");
  p.description = "measured host: " + std::string(u.nodename) + " (" + (model.empty() ? u.machine : model) + ", " +
                  std::to_string(online) + " CPUs" + (p.nested ? ", itself a VM" : "") + ")";
  p.source = "kreplay calibrate virtio on " + std::string(u.nodename) + ", Linux " + u.release + ", " + cpus + ", " + reps +
             ", cold working set " + std::to_string(o.cold_mib) + " MiB, " + UtcNow() + "; " +
             (kvm_note.empty() ? "KVM exits measured" : kvm_note) + "; unmeasured fields from '" + base.name + "'";
  return p;
}

}  // namespace kreplay::virtio
