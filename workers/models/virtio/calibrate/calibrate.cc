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

// The median of `chunks` chunk averages of `per_chunk` calls of `op`: the
// host is shared (and a VM's vCPU may itself be descheduled), so a chunk
// during which another task had the CPU is an outlier, not a bias.
template <class Op>
double MedianChunkNs(int chunks, int per_chunk, Op&& op) {
  std::vector<double> v;
  for (int c = 0; c < chunks; ++c) {
    int64_t t0 = NowNs();
    for (int i = 0; i < per_chunk; ++i) op();
    v.push_back(static_cast<double>(NowNs() - t0) / per_chunk);
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
// copied per figure, the median of 16 chunks.
double HotCopyNs(const Buffer& src, const Buffer& dst, size_t bytes) {
  const int per_chunk = static_cast<int>(std::clamp<size_t>((size_t{1} << 20) / bytes, 4, size_t{1} << 16));
  g_copy(dst.data(), src.data(), bytes);
  return MedianChunkNs(16, per_chunk, [&] { g_copy(dst.data(), src.data(), bytes); });
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
  KREPLAY_CHECK(n >= 1, "ColdCopyNs: the working set's half holds no slot of " + std::to_string(bytes) + " B");
  std::vector<uint32_t> s(n), d(n);
  std::iota(s.begin(), s.end(), 0);
  std::iota(d.begin(), d.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(s.begin(), s.end(), rng);
  std::shuffle(d.begin(), d.end(), rng);
  char* src = ws.data();
  char* dst = ws.data() + half_bytes;
  // The pass in 8 chunks, the median chunk (as MedianChunkNs()).
  const size_t per_chunk = std::max<size_t>(1, n / 8);
  std::vector<double> chunks;
  for (size_t c0 = 0; c0 + per_chunk <= n; c0 += per_chunk) {
    int64_t t0 = NowNs();
    for (size_t i = c0; i < c0 + per_chunk; ++i) g_copy(dst + d[i] * slot, src + s[i] * slot, bytes);
    chunks.push_back(static_cast<double>(NowNs() - t0) / static_cast<double>(per_chunk));
  }
  return Median(chunks);
}

// A trivial syscall round trip: getppid() through syscall() (no vDSO
// shortcut, nothing cached by glibc); 200 chunks of 1000.
double SyscallNs() {
  return MedianChunkNs(200, 1000, [] { syscall(SYS_getppid); });
}

// An uncontended locked read-modify-write: `lock xadd` on a counter only
// this thread touches, back to back (each depends on the previous: the
// latency); 200 chunks of 10 000.
double AtomicNs() {
  std::atomic<uint64_t> x{0};
  return MedianChunkNs(200, 10000, [&] { x.fetch_add(1, std::memory_order_seq_cst); });
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

struct WakeCosts {
  double wake_ns = 0;    // the waker's call -> the sleeper runs on its CPU
  double signal_ns = 0;  // the waker's call itself
};

// One-way wake-ups of a thread blocked on another CPU. B (on cpu_b) says it
// is about to block (an atomic round number), then blocks in `wait`. A (on
// cpu_a) waits for that, spins 20 us more so that B is surely asleep in the
// kernel and its CPU idle, reads the clock and calls `wake`; B reads the
// clock as soon as `wait` returns (CLOCK_MONOTONIC is one clock on every
// CPU). Per wake-up: wake latency = B's time - A's, signal cost = the
// duration of A's `wake` call; medians over 200 wake-ups.
//
// Why not half a ping-pong round trip: when both threads stay awake a
// ping-pong never sleeps (the wait returns at once because the other side
// already answered) and the "wake-up" collapses to a syscall; on a shared
// or virtual host the runs flip between that mode and the sleeping one.
template <class Wait, class Wake>
StatusOr<WakeCosts> WakeLatency(int cpu_a, int cpu_b, Wait&& wait, Wake&& wake) {
  constexpr int kWakes = 200;
  std::atomic<int> armed{0};
  std::atomic<int64_t> woke_at{0};
  std::vector<double> latency, signal;
  auto b = [&] {
    for (int i = 1; i <= kWakes; ++i) {
      armed.store(i);
      if (!wait()) return;
      woke_at.store(NowNs());
    }
  };
  auto a = [&] {
    for (int i = 1; i <= kWakes; ++i) {
      while (armed.load() != i) {
      }
      SpinFor(20000);
      woke_at.store(0);
      int64_t t0 = NowNs();
      if (!wake()) break;
      int64_t t1 = NowNs();
      int64_t t2;
      while ((t2 = woke_at.load()) == 0) {
      }
      latency.push_back(static_cast<double>(t2 - t0));
      signal.push_back(static_cast<double>(t1 - t0));
    }
    return 0.0;
  };
  KREPLAY_RETURN_IF_ERROR(RunPair(cpu_a, cpu_b, a, b).status());
  if (latency.size() != kWakes) return Internal("calibrate: a wake-up failed: " + std::string(std::strerror(errno)));
  return WakeCosts{Median(latency), Median(signal)};
}

// eventfd: B blocks in read() of an eventfd, A write()s it
// (eventfd_signal() -> try_to_wake_up() -> IPI to B's idle CPU).
StatusOr<WakeCosts> EventfdWake(int cpu_a, int cpu_b) {
  Fd efd(eventfd(0, EFD_CLOEXEC));
  if (efd.get() < 0) return Internal("calibrate: eventfd: " + std::string(std::strerror(errno)));
  return WakeLatency(
      cpu_a, cpu_b,
      [&] {
        uint64_t v;
        return read(efd.get(), &v, sizeof v) == sizeof v;
      },
      [&] {
        uint64_t v = 1;
        return write(efd.get(), &v, sizeof v) == sizeof v;
      });
}

long Futex(std::atomic<int>* addr, int op, int val) {
  return syscall(SYS_futex, reinterpret_cast<int*>(addr), op, val, nullptr, nullptr, 0);
}

// futex: B FUTEX_WAITs while the word is 0, A sets it and FUTEX_WAKEs.
StatusOr<WakeCosts> FutexWake(int cpu_a, int cpu_b) {
  std::atomic<int> word{0};
  return WakeLatency(
      cpu_a, cpu_b,
      [&] {
        while (word.load() == 0) Futex(&word, FUTEX_WAIT_PRIVATE, 0);
        word.store(0);
        return true;
      },
      [&] {
        word.store(1);
        return Futex(&word, FUTEX_WAKE_PRIVATE, 1) >= 0;
      });
}

// Pipe ping-pong of two threads pinned to the same CPU: every hand-off
// blocks one thread and switches to the other (a 1-byte write + read and a
// switch). Half a round trip is context_switch_ns, the pipe syscalls
// included (as in lmbench's lat_ctx); median of 50 chunks of 100 rounds.
StatusOr<double> ContextSwitchNs(int cpu) {
  int p1[2], p2[2];
  if (pipe2(p1, O_CLOEXEC) != 0) return Internal("calibrate: pipe: " + std::string(std::strerror(errno)));
  Fd r1(p1[0]), w1(p1[1]);
  if (pipe2(p2, O_CLOEXEC) != 0) return Internal("calibrate: pipe: " + std::string(std::strerror(errno)));
  Fd r2(p2[0]), w2(p2[1]);
  constexpr int kChunks = 50, kPerChunk = 100;
  auto b = [&] {
    char c;
    for (int i = 0; i < kChunks * kPerChunk; ++i) {
      if (read(r1.get(), &c, 1) != 1 || write(w2.get(), &c, 1) != 1) return;
    }
  };
  auto a = [&] {
    char c = 'k';
    return MedianChunkNs(kChunks, kPerChunk,
                         [&] {
                           if (write(w1.get(), &c, 1) == 1) (void)!read(r2.get(), &c, 1);
                         }) /
           2.0;
  };
  return RunPair(cpu, cpu, a, b);
}

// A counter in its own cache line bounced between cpu_a and cpu_b: A waits
// for an even value and stores the next odd one, B the reverse. Every
// hand-off makes the waiting core read the line the other core just
// modified; cacheline_transfer_ns = round trip / 2 (the usual core-to-core
// latency test); median of 200 chunks of 1000 rounds.
StatusOr<double> CachelinePingPong(int cpu_a, int cpu_b) {
  struct alignas(64) Line {
    std::atomic<uint64_t> v{0};
  };
  static_assert(sizeof(Line) == 64);
  auto line = std::make_unique<Line>();
  constexpr int kChunks = 200, kPerChunk = 1000;
  constexpr uint64_t kRounds = uint64_t{kChunks} * kPerChunk;
  auto b = [&] {
    for (uint64_t i = 0; i < kRounds; ++i) {
      while (line->v.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      line->v.store(2 * i + 2, std::memory_order_release);
    }
  };
  auto a = [&] {
    uint64_t i = 0;
    return MedianChunkNs(kChunks, kPerChunk,
                         [&] {
                           while (line->v.load(std::memory_order_acquire) != 2 * i) {
                           }
                           line->v.store(2 * i + 1, std::memory_order_release);
                           ++i;
                         }) /
           2.0;
  };
  return RunPair(cpu_a, cpu_b, a, b);
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
      "figure, median of 16 chunks), cold = shuffled 4 KiB-aligned slots of a " +
      std::to_string(o.cold_mib) +
      " MiB working set (source and destination halves, each slot used once per pass, median of 8 chunks of the "
      "pass); " +
      reps;

  say("syscall, atomic");
  KREPLAY_ASSIGN_OR_RETURN(double sys, MedianOf(o.repeats, [] { return StatusOr<double>(SyscallNs()); }));
  measured["syscall_ns"] = "measured: syscall(SYS_getppid), median of 200 chunks of 1000; " + reps;
  KREPLAY_ASSIGN_OR_RETURN(double atomic, MedianOf(o.repeats, [] { return StatusOr<double>(AtomicNs()); }));
  measured["atomic_ns"] =
      "measured: back-to-back lock xadd on a private cache line, median of 200 chunks of 10 000; " + reps;

  const std::string cpus = "CPUs " + std::to_string(o.cpu_a) + " and " + std::to_string(o.cpu_b);
  say("eventfd and futex wake-ups (" + cpus + ")");
  std::vector<double> ev_wakes, ev_signals, futex_wakes;
  for (int r = 0; r < o.repeats; ++r) {
    KREPLAY_ASSIGN_OR_RETURN(WakeCosts ev, EventfdWake(o.cpu_a, o.cpu_b));
    ev_wakes.push_back(ev.wake_ns);
    ev_signals.push_back(ev.signal_ns);
    KREPLAY_ASSIGN_OR_RETURN(WakeCosts fx, FutexWake(o.cpu_a, o.cpu_b));
    futex_wakes.push_back(fx.wake_ns);
  }
  const double ev_wake = Median(ev_wakes), ev_signal = Median(ev_signals), futex = Median(futex_wakes);
  const std::string one_way = "the sleeper on CPU " + std::to_string(o.cpu_b) +
                              " announces it is about to block, the waker on CPU " + std::to_string(o.cpu_a) +
                              " spins 20 us more (the sleeper is asleep, its CPU idle), then ";
  measured["eventfd_signal_ns"] =
      "measured: " + one_way + "write()s the eventfd; the duration of that write(), median of 200 wake-ups; " + reps;
  measured["eventfd_wake_ns"] = "measured: " + one_way +
                                "write()s the eventfd; time from before the write to the sleeper's return from read() "
                                "(CLOCK_MONOTONIC on both CPUs), median of 200 wake-ups; " +
                                reps;
  measured["futex_wake_ns"] = "measured: " + one_way +
                              "sets the word and FUTEX_WAKEs; time from before the wake to the sleeper's return from "
                              "FUTEX_WAIT, median of 200 wake-ups; " +
                              reps;
  say("context switch (both threads on CPU " + std::to_string(o.cpu_a) + ")");
  KREPLAY_ASSIGN_OR_RETURN(double ctx, MedianOf(o.repeats, [&] { return ContextSwitchNs(o.cpu_a); }));
  measured["context_switch_ns"] =
      "measured: pipe ping-pong of two threads pinned to CPU " + std::to_string(o.cpu_a) +
      ", round trip / 2 (the 1-byte pipe read and write included), median of 50 chunks of 100 rounds; " + reps;
  say("cache-line transfer (" + cpus + ")");
  KREPLAY_ASSIGN_OR_RETURN(double line, MedianOf(o.repeats, [&] { return CachelinePingPong(o.cpu_a, o.cpu_b); }));
  measured["cacheline_transfer_ns"] =
      "measured: a counter in its own cache line bounced between two spinning threads, round trip / 2, median of "
      "200 chunks of 1000 rounds, " +
      cpus + "; " + reps;

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
      // Each figure: the median of 10 runs of 5000 iterations (a run during
      // which the vCPU thread lost its CPU is an outlier); the one return to
      // user space per run adds ~1-2 ns per iteration.
      constexpr uint64_t kIterations = 5000;
      constexpr int kRuns = 10;
      auto chunked = [&](bool doorbell) -> StatusOr<double> {
        std::vector<double> v;
        for (int i = 0; i < kRuns; ++i) {
          KREPLAY_ASSIGN_OR_RETURN(
              double ns, doorbell ? (*probe)->IoeventfdWriteNs(kIterations) : (*probe)->CpuidExitNs(kIterations));
          v.push_back(ns);
        }
        return Median(v);
      };
      auto cpuid = MedianOf(o.repeats, [&] { return chunked(false); });
      auto out = cpuid.ok() ? MedianOf(o.repeats, [&] { return chunked(true); }) : StatusOr<double>(cpuid.status());
      if (!cpuid.ok() || !out.ok()) {
        kvm_note = "KVM not measured: " + (cpuid.ok() ? out.status() : cpuid.status()).message();
      } else {
        vm_exit = *cpuid;
        ioeventfd = std::max(0.0, *out - *cpuid);
        const std::string guest = "a 1-vCPU real-mode KVM guest on CPU " + std::to_string(o.cpu_a) + ", " +
                                  "median of " + std::to_string(kRuns) + " KVM_RUNs of " + std::to_string(kIterations) +
                                  " iterations, each timed around the ioctl; " + reps;
        measured["vm_exit_ns"] =
            "measured: `xor eax,eax; cpuid; dec esi; jnz` per iteration in " + guest + " (" + Fmt(*cpuid) + " ns)";
        measured["ioeventfd_ns"] =
            "measured: `out dx,al; dec esi; jnz` to a PIO port with a datamatch-less KVM_IOEVENTFD (" + Fmt(*out) +
            " ns per iteration) minus the CPUID exit (" + Fmt(*cpuid) + " ns)" +
            (*out < *cpuid ? "; negative on this host (the port exit is cheaper than a CPUID exit), clamped to 0"
                           : "") +
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
  for (const std::string& f : VirtioSourceFields()) {
    if (auto it = measured.find(f); it != measured.end()) {
      p.sources[f] = it->second;
      continue;
    }
    auto b = base.sources.find(f);
    p.sources[f] =
        "from base profile '" + base.name + "': " + (b != base.sources.end() ? b->second : "(no source given)");
  }

  utsname u{};
  uname(&u);
  const std::string model = CpuinfoField(cpuinfo, "model name");
  p.description = "measured host: " + std::string(u.nodename) + " (" + (model.empty() ? u.machine : model) + ", " +
                  std::to_string(online) + " CPUs" + (p.nested ? ", itself a VM" : "") + ")";
  p.source = "kreplay calibrate virtio on " + std::string(u.nodename) + ", Linux " + u.release + ", " + cpus + ", " +
             reps + ", cold working set " + std::to_string(o.cold_mib) + " MiB, " + UtcNow() + "; " +
             (kvm_note.empty() ? "KVM exits measured" : kvm_note) + "; unmeasured fields from '" + base.name + "'";
  return p;
}

}  // namespace kreplay::virtio
