// `kreplay calibrate virtio`: measures, on the host it runs on, the
// primitives of a virtio datapath that user space can reach (memcpy hot and
// cold, syscalls, eventfd and futex wake-ups, context switches, cache-line
// transfers, atomics, and with /dev/kvm a CPUID exit and an ioeventfd
// doorbell exit) and returns a VirtioProfile (virtio_profile.h) of the host.
// Everything else comes from a base profile with documented values, and the
// result's `sources` says for every field which one it is.
//
// Each figure is a median over `repeats` runs; what each one measures is
// said in calibrate.cc beside the measurement. The KVM part never fails the
// calibration: without /dev/kvm, or if the guest cannot run, the base
// profile's values stay and a progress line says why.
//
// Needs 2 online CPUs. Not thread-safe: run one at a time; it pins its
// threads to `cpu_a`/`cpu_b` (sched_setaffinity) and restores the caller's
// affinity when done. Takes ~2-4 s with the defaults.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "services/core/status.h"
#include "workers/models/virtio/profile/virtio_profile.h"

namespace kreplay::virtio {

struct CalibrateOptions {
  std::string name = "host";  // the profile's name
  int repeats = 5;            // medians over this many runs (1..1000)
  int cpu_a = 0, cpu_b = 1;   // two different online CPUs
  bool kvm = true;            // measure KVM exits if /dev/kvm opens
  uint64_t cold_mib = 256;    // working set the cold copies rotate through (well above the last-level cache; 8..65536)
};

// Measures the host. `base` supplies every value not measured (and its
// source); `progress` (may be null) gets one line per step.
StatusOr<VirtioProfile> CalibrateVirtioHost(const CalibrateOptions& o, const VirtioProfile& base,
                                            const std::function<void(const std::string&)>& progress);

// For the CLI's help footer.
inline constexpr char kCalibrateVirtioHelp[] =
    "Measured on this host (medians of --repeats, threads pinned to two CPUs): memcpy of 64 B..1 MiB\n"
    "(powers of 4) with source and destination in cache (hot) and rotating through a large working set\n"
    "(cold); a getppid() syscall; eventfd and futex wake-ups of a thread asleep on the other CPU (one-way,\n"
    "timestamped on both sides) and the eventfd write's own cost (signal); a pipe ping-pong of two threads\n"
    "on one CPU (context switch = round trip / 2); a flag bounced between the CPUs (cache-line transfer =\n"
    "round trip / 2) and an uncontended locked add; with /dev/kvm, a tiny real-mode guest timing a CPUID\n"
    "exit (vm_exit) and an OUT to an ioeventfd port (ioeventfd = the difference). `nested` says whether\n"
    "this host is itself a VM. Taken from the base profile, with its documented sources: interrupt\n"
    "injection, posted interrupts, EOI, host and MMIO doorbell costs, workqueue and task_work hops,\n"
    "io_uring_enter, IOVA allocation, page pinning and allocation, a device's DMA read, and the block,\n"
    "network, tap and DPDK stack costs (--base names the profile they come from).\n"
    "The profile's `sources` map says, field by field, which values were measured and how.";

}  // namespace kreplay::virtio
