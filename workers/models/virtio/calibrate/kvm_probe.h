// A minimal KVM guest that times the two exits a virtio kick is made of on
// this host: a CPUID exit (handled in the host kernel by
// kvm_emulate_cpuid(), arch/x86/kvm/cpuid.c) and a port write that an
// ioeventfd matches (kvm_io_bus_write() -> ioeventfd_write() ->
// eventfd_signal(), virt/kvm/eventfd.c), the way a virtio-pci guest rings a
// vhost doorbell.
//
// The guest is one vCPU in real mode with one 64 KiB memory slot and a few
// bytes of hand-assembled code (kvm_probe.cc shows them); no in-kernel
// irqchip, so HLT returns to user space and ends a run. Each run executes
// the instruction N times inside one KVM_RUN: the time of the ioctl over N
// is the cost of one exit + re-entry (the one user-space round trip is
// amortised over N). Every fd and mapping is owned by the probe.
//
// Not thread-safe; cheap to create (a VM per probe). Needs read/write
// access to /dev/kvm; every failure is a Status saying which step failed.
#pragma once

#include <cstdint>
#include <memory>

#include "services/core/status.h"

namespace kreplay::virtio {

class KvmProbe {
 public:
  // Opens /dev/kvm and builds the guest. FailedPrecondition if /dev/kvm is
  // missing or not accessible, Unavailable if KVM refuses a step.
  static StatusOr<std::unique_ptr<KvmProbe>> Create();
  ~KvmProbe();
  KvmProbe(const KvmProbe&) = delete;
  KvmProbe& operator=(const KvmProbe&) = delete;

  // ns per iteration of `xor eax,eax; cpuid; dec esi; jnz` (CPUID leaf 0).
  StatusOr<double> CpuidExitNs(uint64_t iterations);
  // ns per iteration of `out dx,al; dec esi; jnz` to a port registered with
  // a datamatch-less KVM_IOEVENTFD (1-byte PIO). The eventfd is drained
  // after each run. REQUIRES: nothing reads the eventfd meanwhile.
  StatusOr<double> IoeventfdWriteNs(uint64_t iterations);

 private:
  struct Fds;
  explicit KvmProbe(std::unique_ptr<Fds> fds);
  StatusOr<double> RunLoop(uint64_t entry, uint64_t iterations);
  std::unique_ptr<Fds> fds_;
};

// True when this kernel itself runs under a hypervisor: the "hypervisor"
// CPUID flag in /proc/cpuinfo (x86), or /sys/hypervisor/type naming one.
bool HostIsVirtualMachine();

}  // namespace kreplay::virtio
