#include "workers/models/memory/calibrate/calibrate.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
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
#include <numeric>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "services/core/strings.h"

namespace kreplay::memory {
namespace {

constexpr size_t kPage = 4096;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void Clobber(void* p) { asm volatile("" : : "r"(p) : "memory"); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Status PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) return FailedPrecondition("cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(rc));
  return OkStatus();
}

// An anonymous mapping of `bytes`, without transparent huge pages (so
// faults and unmaps are per 4 KiB page, as for the pages CMA migrates).
class Region {
 public:
  explicit Region(size_t bytes) : bytes_(bytes) {
    p_ = static_cast<char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p_ == MAP_FAILED) {
      p_ = nullptr;
      return;
    }
    madvise(p_, bytes, MADV_NOHUGEPAGE);
  }
  ~Region() {
    if (p_) munmap(p_, bytes_);
  }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  char* data() const { return p_; }
  size_t size() const { return bytes_; }
  // Unmaps now (timed by the caller).
  void Release() {
    if (p_) munmap(p_, bytes_);
    p_ = nullptr;
  }

 private:
  char* p_ = nullptr;
  size_t bytes_;
};

long Futex(std::atomic<int>* addr, int op, int val) {
  return syscall(SYS_futex, reinterpret_cast<int*>(addr), op, val, nullptr, nullptr, 0);
}

// copy_highpage()/clear_page() of a cached 4 KiB page: memcpy/memset in a
// loop over two page buffers that stay in L1/L2.
double HotPageNs(bool copy) {
  alignas(4096) char src[kPage], dst[kPage];
  std::memset(src, 1, kPage);
  constexpr int kLoops = 200000;
  int64_t t0 = NowNs();
  for (int i = 0; i < kLoops; ++i) {
    if (copy) {
      std::memcpy(dst, src, kPage);
    } else {
      std::memset(dst, i, kPage);
    }
    Clobber(dst);
  }
  return static_cast<double>(NowNs() - t0) / kLoops;
}

// A page copied from DRAM to DRAM: pages of two large buffers in a shuffled
// order (migration copies scattered pages, defeating cross-page prefetch).
StatusOr<double> ColdCopyNs(uint64_t mib) {
  size_t bytes = mib << 20;
  Region src(bytes), dst(bytes);
  if (!src.data() || !dst.data()) return Unavailable("calibrate: cannot map 2 x " + std::to_string(mib) + " MiB");
  std::memset(src.data(), 1, bytes);
  std::memset(dst.data(), 2, bytes);
  size_t n = bytes / kPage;
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(42);
  std::shuffle(order.begin(), order.end(), rng);
  int64_t t0 = NowNs();
  for (uint32_t i : order) std::memcpy(dst.data() + i * kPage, src.data() + i * kPage, kPage);
  Clobber(dst.data());
  return static_cast<double>(NowNs() - t0) / static_cast<double>(n);
}

// An anonymous write fault (allocation, zeroing, PTE), then munmap() of the
// populated pages (PTE zap, rmap, free, one batched TLB flush), per page.
StatusOr<std::pair<double, double>> FaultAndUnmapNs() {
  constexpr size_t kPages = 16384;  // 64 MiB
  Region r(kPages * kPage);
  if (!r.data()) return Unavailable("calibrate: cannot map 64 MiB");
  int64_t t0 = NowNs();
  for (size_t i = 0; i < kPages; ++i) r.data()[i * kPage] = 1;
  int64_t t1 = NowNs();
  r.Release();
  int64_t t2 = NowNs();
  return std::make_pair(static_cast<double>(t1 - t0) / kPages, static_cast<double>(t2 - t1) / kPages);
}

// In-kernel population of anonymous pages (MADV_POPULATE_WRITE, 5.14+):
// allocation, zeroing, charging and the PTE per page, without a fault's
// exception entry and exit. -1 if the kernel does not have it.
StatusOr<double> PopulateNs() {
  constexpr size_t kPages = 16384;
  Region r(kPages * kPage);
  if (!r.data()) return Unavailable("calibrate: cannot map 64 MiB");
  constexpr int kMadvPopulateWrite = 23;
  int64_t t0 = NowNs();
  if (madvise(r.data(), r.size(), kMadvPopulateWrite) != 0) return -1.0;
  return static_cast<double>(NowNs() - t0) / kPages;
}

// The scratch file: written, fsync'ed (clean), and read back into the page
// cache. Removed on destruction.
class ScratchFile {
 public:
  ~ScratchFile() {
    if (fd_ >= 0) close(fd_);
    if (!path_.empty()) unlink(path_.c_str());
  }
  Status Create(const std::string& dir, uint64_t mib) {
    path_ = dir + "/.kreplay-calibrate-" + std::to_string(getpid());
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd_ < 0) return FailedPrecondition("calibrate: cannot create " + path_ + ": " + std::strerror(errno));
    bytes_ = mib << 20;
    std::vector<char> buf(1 << 20, 'k');
    for (uint64_t off = 0; off < bytes_; off += buf.size()) {
      if (pwrite(fd_, buf.data(), buf.size(), static_cast<off_t>(off)) != static_cast<ssize_t>(buf.size())) {
        return Internal("calibrate: write " + path_ + ": " + std::strerror(errno));
      }
    }
    if (fsync(fd_) != 0) return Internal("calibrate: fsync " + path_ + ": " + std::strerror(errno));
    return OkStatus();
  }
  Status ReadAll() const {
    std::vector<char> buf(1 << 20);
    for (uint64_t off = 0; off < bytes_; off += buf.size()) {
      if (pread(fd_, buf.data(), buf.size(), static_cast<off_t>(off)) < 0) {
        return Internal("calibrate: read " + path_ + ": " + std::strerror(errno));
      }
    }
    return OkStatus();
  }
  // Fraction of the file's pages in the page cache (mincore()).
  double Resident() const {
    void* m = mmap(nullptr, bytes_, PROT_READ, MAP_SHARED, fd_, 0);
    if (m == MAP_FAILED) return 1.0;
    std::vector<unsigned char> vec(bytes_ / kPage);
    double frac = 1.0;
    if (mincore(m, bytes_, vec.data()) == 0) {
      size_t in = 0;
      for (unsigned char c : vec) in += c & 1;
      frac = static_cast<double>(in) / static_cast<double>(vec.size());
    }
    munmap(m, bytes_);
    return frac;
  }
  int fd() const { return fd_; }
  uint64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t bytes_ = 0;
};

// Minor faults over the cached file, per page (fault-around installs up to
// fault_around_bytes / 4 KiB PTEs per fault, so this is close to the cost of
// installing a PTE for a present page).
StatusOr<double> MinorFaultNs(const ScratchFile& f) {
  char* m = static_cast<char*>(mmap(nullptr, f.bytes(), PROT_READ, MAP_SHARED, f.fd(), 0));
  if (m == MAP_FAILED) return Internal("calibrate: mmap scratch: " + std::string(std::strerror(errno)));
  size_t n = f.bytes() / kPage;
  volatile char sink = 0;
  int64_t t0 = NowNs();
  for (size_t i = 0; i < n; ++i) sink = sink + m[i * kPage];
  int64_t t1 = NowNs();
  munmap(m, f.bytes());
  return static_cast<double>(t1 - t0) / static_cast<double>(n);
}

// Dropping clean page-cache pages: POSIX_FADV_DONTNEED over the cached file
// (invalidate_mapping_pages()), per page; nullopt-like -1 if the filesystem
// keeps them (tmpfs).
StatusOr<double> DropCleanNs(const ScratchFile& f) {
  KREPLAY_RETURN_IF_ERROR(f.ReadAll());
  if (f.Resident() < 0.9) return -1.0;
  int64_t t0 = NowNs();
  posix_fadvise(f.fd(), 0, 0, POSIX_FADV_DONTNEED);
  int64_t t1 = NowNs();
  if (f.Resident() > 0.1) return -1.0;
  return static_cast<double>(t1 - t0) / static_cast<double>(f.bytes() / kPage);
}

// mprotect() of one present page back and forth: PTE change + TLB flush of
// the page. With `remote_cpu` >= 0 a second thread of this process spins on
// that CPU, so the mm is active there and each flush must reach it too.
StatusOr<double> MprotectNs(int remote_cpu) {
  Region r(kPage);
  if (!r.data()) return Unavailable("calibrate: mmap");
  r.data()[0] = 1;
  std::atomic<bool> stop{false}, ready{false};
  Status pin_status = OkStatus();
  std::thread spinner;
  if (remote_cpu >= 0) {
    spinner = std::thread([&] {
      pin_status = PinTo(remote_cpu);
      ready = true;
      volatile char sink = 0;
      while (!stop.load(std::memory_order_relaxed)) sink = sink + r.data()[0];
    });
    while (!ready) std::this_thread::yield();
  }
  constexpr int kLoops = 20000;
  int64_t t0 = NowNs();
  for (int i = 0; i < kLoops; ++i) {
    mprotect(r.data(), kPage, (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ);
  }
  int64_t t1 = NowNs();
  stop = true;
  if (spinner.joinable()) spinner.join();
  KREPLAY_RETURN_IF_ERROR(pin_status);
  return static_cast<double>(t1 - t0) / kLoops;
}

double SyscallNs() {
  constexpr int kLoops = 200000;
  int64_t t0 = NowNs();
  for (int i = 0; i < kLoops; ++i) syscall(SYS_getppid);
  return static_cast<double>(NowNs() - t0) / kLoops;
}

// Half a futex ping-pong between threads on two CPUs: a wake-up reaching a
// sleeping thread on another CPU (IPI, idle exit, switch). An upper bound on
// running a short function on another CPU and waiting for it.
StatusOr<double> CrossCpuWakeNs(int cpu_a, int cpu_b) {
  std::atomic<int> turn{0};
  constexpr int kRounds = 2000;
  Status pin_b = OkStatus();
  std::thread b([&] {
    pin_b = PinTo(cpu_b);
    for (int i = 0; i < kRounds; ++i) {
      while (turn.load() != 1) Futex(&turn, FUTEX_WAIT_PRIVATE, 0);
      turn.store(0);
      Futex(&turn, FUTEX_WAKE_PRIVATE, 1);
    }
  });
  KREPLAY_RETURN_IF_ERROR(PinTo(cpu_a));
  int64_t t0 = NowNs();
  for (int i = 0; i < kRounds; ++i) {
    turn.store(1);
    Futex(&turn, FUTEX_WAKE_PRIVATE, 1);
    while (turn.load() != 0) Futex(&turn, FUTEX_WAIT_PRIVATE, 1);
  }
  int64_t t1 = NowNs();
  b.join();
  KREPLAY_RETURN_IF_ERROR(pin_b);
  return static_cast<double>(t1 - t0) / (2.0 * kRounds);
}

// Sequential dirty data to the scratch file's device: MB/s through fsync,
// and one 4 KiB write + fdatasync (per-IO latency).
StatusOr<std::pair<double, double>> WritebackCosts(const ScratchFile& f, int repeats) {
  std::vector<char> buf(1 << 20, 'w');
  int64_t t0 = NowNs();
  for (uint64_t off = 0; off < f.bytes(); off += buf.size()) {
    if (pwrite(f.fd(), buf.data(), buf.size(), static_cast<off_t>(off)) != static_cast<ssize_t>(buf.size())) {
      return Internal("calibrate: write: " + std::string(std::strerror(errno)));
    }
  }
  if (fsync(f.fd()) != 0) return Internal("calibrate: fsync: " + std::string(std::strerror(errno)));
  double mbps = static_cast<double>(f.bytes()) / 1e6 / (static_cast<double>(NowNs() - t0) / 1e9);
  std::vector<double> lat;
  for (int i = 0; i < std::max(repeats, 5); ++i) {
    int64_t a = NowNs();
    if (pwrite(f.fd(), buf.data(), kPage, static_cast<off_t>(i) * kPage) != static_cast<ssize_t>(kPage) ||
        fdatasync(f.fd()) != 0) {
      return Internal("calibrate: fdatasync: " + std::string(std::strerror(errno)));
    }
    lat.push_back(static_cast<double>(NowNs() - a));
  }
  return std::make_pair(mbps, Median(lat));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
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

int64_t Ns(double v) { return std::max<int64_t>(1, std::llround(v)); }

}  // namespace

StatusOr<MemProfile> CalibrateHost(const CalibrateOptions& o, const std::function<void(const std::string&)>& progress) {
  auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  int online = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (online < 2) return FailedPrecondition("calibrate memory needs 2 online CPUs (remote TLB flushes, wake-ups)");
  if (o.cpu_a == o.cpu_b || o.cpu_a < 0 || o.cpu_b < 0 || o.cpu_a >= online || o.cpu_b >= online) {
    return InvalidArgument("calibrate: --cpus must name two different online CPUs (0.." + std::to_string(online - 1) + ")");
  }
  if (o.repeats < 1 || o.repeats > 1000) return InvalidArgument("calibrate: repeats must be 1..1000");
  MemProfile p;
  p.name = o.name;
  utsname u{};
  uname(&u);
  std::string machine = u.machine;
  p.arch = machine == "x86_64" ? "x86_64" : machine == "aarch64" ? "arm64" : machine.rfind("arm", 0) == 0 ? "arm" : "";
  if (p.arch.empty()) return FailedPrecondition("calibrate: unsupported machine '" + machine + "'");
  // arm64 and ARMv7 MP invalidate TLB entries by broadcast; x86 by IPI.
  p.tlb = p.arch == "x86_64" ? TlbFlush::kIpi : TlbFlush::kBroadcast;
  p.cpus = online;
  p.pages = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) / kPage;
  p.pages -= p.pages % 256;  // whole MiB
  p.pageblock_order = p.arch == "arm" ? 10 : 9;
  p.max_order = 10;
  std::string pti = ReadFile("/proc/pagetypeinfo");
  if (size_t at = pti.find("Page block order:"); at != std::string::npos) {
    if (auto v = ParseInt(Trim(pti.substr(at + 17, pti.find('\n', at) - at - 17)))) p.pageblock_order = static_cast<int>(*v);
  }
  if (auto v = ParseInt(Trim(ReadFile("/proc/sys/vm/min_free_kbytes")))) p.min_free_kbytes = static_cast<uint64_t>(*v);
  if (auto v = ParseInt(Trim(ReadFile("/proc/sys/vm/watermark_scale_factor")))) {
    p.watermark_scale_factor = static_cast<uint32_t>(*v);
  }

  KREPLAY_RETURN_IF_ERROR(PinTo(o.cpu_a));
  say("copying and clearing cached pages");
  KREPLAY_ASSIGN_OR_RETURN(double hot, MedianOf(o.repeats, [] { return StatusOr<double>(HotPageNs(true)); }));
  KREPLAY_ASSIGN_OR_RETURN(double clear, MedianOf(o.repeats, [] { return StatusOr<double>(HotPageNs(false)); }));
  say("copying pages DRAM to DRAM (" + std::to_string(2 * o.cold_mib) + " MiB)");
  KREPLAY_ASSIGN_OR_RETURN(double cold, MedianOf(o.repeats, [&] { return ColdCopyNs(o.cold_mib); }));
  say("anonymous faults and unmaps");
  std::vector<double> faults, unmaps;
  for (int i = 0; i < o.repeats; ++i) {
    KREPLAY_ASSIGN_OR_RETURN(auto fu, FaultAndUnmapNs());
    faults.push_back(fu.first);
    unmaps.push_back(fu.second);
  }
  KREPLAY_ASSIGN_OR_RETURN(double populate, MedianOf(o.repeats, [] { return PopulateNs(); }));
  say("TLB flushes, local and with a second CPU in the mm");
  double sys = SyscallNs();
  KREPLAY_ASSIGN_OR_RETURN(double mp_local, MedianOf(o.repeats, [] { return MprotectNs(-1); }));
  KREPLAY_ASSIGN_OR_RETURN(double mp_remote, MedianOf(o.repeats, [&] { return MprotectNs(o.cpu_b); }));
  say("cross-CPU wake-ups");
  KREPLAY_ASSIGN_OR_RETURN(double wake, MedianOf(o.repeats, [&] { return CrossCpuWakeNs(o.cpu_a, o.cpu_b); }));

  say("page cache: minor faults and drops (" + std::to_string(o.file_mib) + " MiB scratch file in " + o.scratch_dir + ")");
  ScratchFile f;
  KREPLAY_RETURN_IF_ERROR(f.Create(o.scratch_dir, o.file_mib));
  KREPLAY_RETURN_IF_ERROR(f.ReadAll());
  KREPLAY_ASSIGN_OR_RETURN(double minor, MedianOf(o.repeats, [&] { return MinorFaultNs(f); }));
  KREPLAY_ASSIGN_OR_RETURN(double drop, DropCleanNs(f));
  std::string notes;
  if (drop < 0) {
    notes += " drop_clean_page not measurable here (" + o.scratch_dir + " keeps its page cache: tmpfs?): set to alloc_page;";
  }

  p.costs.copy_page_hot = Ns(hot);
  p.costs.copy_page_cold = Ns(cold);
  p.costs.page_fault = Ns(Median(faults));
  p.costs.unmap_pte = Ns(Median(unmaps));
  p.costs.map_pte = Ns(minor);
  p.costs.tlb_flush_local = Ns(mp_local - sys);
  p.costs.tlb_remote = Ns(mp_remote - mp_local);
  p.costs.ipi = Ns(wake);
  // Derived: populating a page is allocation + clearing + mapping (without
  // MADV_POPULATE_WRITE, a fault's exception cost stays in as well).
  bool have_populate = populate > 0;
  p.costs.alloc_page = Ns((have_populate ? populate : Median(faults)) - minor - clear);
  p.costs.drop_clean_page = drop < 0 ? p.costs.alloc_page : Ns(drop);
  // A page copy reads and writes 4 KiB.
  p.mem_bandwidth_mbps = std::round(2.0 * kPage / cold * 1000.0);
  // Derived: set_migratetype_isolate() walks the pageblock's struct pages
  // twice (has_unmovable_pages(), move_freepages_block()): 64 B each at the
  // copy bandwidth.
  double bytes_per_ns = p.mem_bandwidth_mbps / 1000.0;
  p.costs.isolate_pageblock = Ns(2.0 * static_cast<double>(p.pageblock_pages()) * 64.0 / bytes_per_ns);

  p.writeback = {100.0, 1'000'000};
  if (o.measure_writeback) {
    say("writeback bandwidth and latency");
    KREPLAY_ASSIGN_OR_RETURN(auto wb, WritebackCosts(f, o.repeats));
    p.writeback.bandwidth_mbps = std::round(wb.first);
    p.writeback.latency_ns = std::max<int64_t>(1000, std::llround(wb.second) / 1000 * 1000);
  } else {
    notes += " writeback not measured (defaults);";
  }
  const std::string meminfo = ReadFile("/proc/meminfo");
  if (auto at = meminfo.find("CmaTotal:"); at != std::string::npos) {
    // CmaTotal in kB; one area of that size (its device-tree names are not visible here).
    std::string line = meminfo.substr(at + 9);
    if (auto kb = ParseInt(Trim(line.substr(0, line.find("kB")))); kb && *kb > 0) {
      uint64_t pages = static_cast<uint64_t>(*kb) / 4;
      pages -= pages % p.pageblock_pages();
      if (pages > 0) p.cma_areas.push_back({"reserved", pages, 0});
    }
  }
  p.description = "measured host: " + std::string(u.nodename) + " (" + machine + ", " + std::to_string(p.cpus) + " CPUs, " +
                  std::to_string(p.pages / 256) + " MiB)";
  p.source = "kreplay calibrate memory on " + std::string(u.nodename) + ", Linux " + u.release + ", CPUs " +
             std::to_string(o.cpu_a) + " and " + std::to_string(o.cpu_b) + ", medians of " + std::to_string(o.repeats) +
             "; derived: alloc_page = " + (have_populate ? "MADV_POPULATE_WRITE" : "page_fault") +
             " per page - map_pte - clear_page (" + std::to_string(Ns(clear)) +
             " ns); tlb_flush_local = mprotect() of a page - a syscall (an upper bound: VMA work included); isolate_pageblock = two passes over the pageblock's struct pages at the copy bandwidth; ipi = half "
             "a futex ping-pong between the two CPUs (an upper bound);" +
             notes;
  return p;
}

}  // namespace kreplay::memory
