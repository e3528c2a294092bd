#include "workers/models/virtio/calibrate/kvm_probe.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace kreplay::virtio {
namespace {

// Guest physical layout: one slot at 0; code at 0x1000 and 0x2000.
constexpr uint64_t kMemBytes = 0x10000;
constexpr uint64_t kCpuidEntry = 0x1000;
constexpr uint64_t kOutEntry = 0x2000;
constexpr uint16_t kDoorbellPort = 0x80;  // the POST diagnostic port: nothing else claims it here

// 16-bit real-mode code; the loop count comes in ESI (KVM_SET_REGS).
//   0: 66 31 c0   xor eax, eax
//   3: 0f a2      cpuid          ; always exits; KVM answers in the kernel
//   5: 66 4e      dec esi
//   7: 75 f7      jnz 0
//   9: f4         hlt            ; no irqchip: KVM_EXIT_HLT to user space
constexpr unsigned char kCpuidLoop[] = {0x66, 0x31, 0xc0, 0x0f, 0xa2, 0x66, 0x4e, 0x75, 0xf7, 0xf4};
//   0: ee         out dx, al     ; DX = kDoorbellPort: matched by the ioeventfd in the kernel
//   1: 66 4e      dec esi
//   3: 75 fb      jnz 0
//   5: f4         hlt
constexpr unsigned char kOutLoop[] = {0xee, 0x66, 0x4e, 0x75, 0xfb, 0xf4};

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) close(fd_);
  }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) close(fd_);
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

class Mapping {
 public:
  Mapping() = default;
  Mapping(void* p, size_t bytes) : p_(p == MAP_FAILED ? nullptr : p), bytes_(bytes) {}
  ~Mapping() {
    if (p_) munmap(p_, bytes_);
  }
  Mapping(Mapping&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; }
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      if (p_) munmap(p_, bytes_);
      p_ = o.p_;
      bytes_ = o.bytes_;
      o.p_ = nullptr;
    }
    return *this;
  }
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace

// Declared in the order they must be released in reverse: the vCPU's run
// area and fd before the VM, the VM before /dev/kvm.
struct KvmProbe::Fds {
  UniqueFd kvm, vm, doorbell;
  Mapping guest_mem;
  UniqueFd vcpu;
  Mapping run;
};

KvmProbe::KvmProbe(std::unique_ptr<Fds> fds) : fds_(std::move(fds)) {}
KvmProbe::~KvmProbe() = default;

StatusOr<std::unique_ptr<KvmProbe>> KvmProbe::Create() {
  auto f = std::make_unique<Fds>();
  f->kvm = UniqueFd(open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!f->kvm.ok()) return FailedPrecondition(Errno("cannot open /dev/kvm"));
  int api = ioctl(f->kvm.get(), KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) return Unavailable("KVM API version " + std::to_string(api) + ", want 12");
  if (ioctl(f->kvm.get(), KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
    return Unavailable("KVM lacks KVM_CAP_IOEVENTFD");
  f->vm = UniqueFd(ioctl(f->kvm.get(), KVM_CREATE_VM, 0));
  if (!f->vm.ok()) return Unavailable(Errno("KVM_CREATE_VM"));
  // Intel VMX needs a TSS area for real mode; harmless elsewhere (ignore a refusal).
  (void)ioctl(f->vm.get(), KVM_SET_TSS_ADDR, 0xfffbd000UL);

  f->guest_mem =
      Mapping(mmap(nullptr, kMemBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0), kMemBytes);
  if (!f->guest_mem.get()) return Unavailable(Errno("mmap guest memory"));
  auto* mem = static_cast<unsigned char*>(f->guest_mem.get());
  std::memcpy(mem + kCpuidEntry, kCpuidLoop, sizeof kCpuidLoop);
  std::memcpy(mem + kOutEntry, kOutLoop, sizeof kOutLoop);
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = kMemBytes;
  region.userspace_addr = reinterpret_cast<uint64_t>(mem);
  if (ioctl(f->vm.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
    return Unavailable(Errno("KVM_SET_USER_MEMORY_REGION"));

  f->doorbell = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!f->doorbell.ok()) return Unavailable(Errno("eventfd"));
  kvm_ioeventfd io{};
  io.addr = kDoorbellPort;
  io.len = 1;
  io.fd = f->doorbell.get();
  io.flags = KVM_IOEVENTFD_FLAG_PIO;
  if (ioctl(f->vm.get(), KVM_IOEVENTFD, &io) < 0) return Unavailable(Errno("KVM_IOEVENTFD"));

  f->vcpu = UniqueFd(ioctl(f->vm.get(), KVM_CREATE_VCPU, 0));
  if (!f->vcpu.ok()) return Unavailable(Errno("KVM_CREATE_VCPU"));
  int run_bytes = ioctl(f->kvm.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_bytes <= 0) return Unavailable(Errno("KVM_GET_VCPU_MMAP_SIZE"));
  f->run = Mapping(mmap(nullptr, static_cast<size_t>(run_bytes), PROT_READ | PROT_WRITE, MAP_SHARED, f->vcpu.get(), 0),
                   static_cast<size_t>(run_bytes));
  if (!f->run.get()) return Unavailable(Errno("mmap kvm_run"));
  return std::unique_ptr<KvmProbe>(new KvmProbe(std::move(f)));
}

StatusOr<double> KvmProbe::RunLoop(uint64_t entry, uint64_t iterations) {
  if (iterations == 0 || iterations > 0xffffffffULL) return InvalidArgument("kvm probe: iterations must be 1..2^32-1");
  const int vcpu = fds_->vcpu.get();
  kvm_sregs sregs{};
  if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) return Unavailable(Errno("KVM_GET_SREGS"));
  sregs.cs.base = 0;  // real mode, CS:IP = 0:entry
  sregs.cs.selector = 0;
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) return Unavailable(Errno("KVM_SET_SREGS"));
  kvm_regs regs{};
  regs.rip = entry;
  regs.rsi = iterations;
  regs.rdx = kDoorbellPort;
  regs.rflags = 0x2;  // the always-one bit; interrupts off
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) return Unavailable(Errno("KVM_SET_REGS"));
  int64_t t0 = NowNs();
  int rc = ioctl(vcpu, KVM_RUN, 0);
  int64_t t1 = NowNs();
  if (rc < 0) return Unavailable(Errno("KVM_RUN"));
  const auto* run = static_cast<const kvm_run*>(fds_->run.get());
  if (run->exit_reason != KVM_EXIT_HLT) {
    return Unavailable(
        "guest stopped with exit reason " + std::to_string(run->exit_reason) + " instead of HLT" +
        (run->exit_reason == KVM_EXIT_IO ? " (the port write reached user space: ioeventfd not matched)" : ""));
  }
  if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0) return Unavailable(Errno("KVM_GET_REGS"));
  if (static_cast<uint32_t>(regs.rsi) != 0) return Unavailable("guest halted before finishing its loop");
  uint64_t drained;
  (void)!read(fds_->doorbell.get(), &drained, sizeof drained);  // EAGAIN after the CPUID loop
  return static_cast<double>(t1 - t0) / static_cast<double>(iterations);
}

StatusOr<double> KvmProbe::CpuidExitNs(uint64_t iterations) { return RunLoop(kCpuidEntry, iterations); }
StatusOr<double> KvmProbe::IoeventfdWriteNs(uint64_t iterations) { return RunLoop(kOutEntry, iterations); }

bool HostIsVirtualMachine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string w;
    while (words >> w) {
      if (w == "hypervisor") return true;
    }
    break;  // the first CPU's flags are enough
  }
  std::ifstream type("/sys/hypervisor/type");
  std::string t;
  return static_cast<bool>(type >> t) && !t.empty();
}

}  // namespace kreplay::virtio
