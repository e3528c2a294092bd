// Internal to the scheduler models: the kernel base a scheduler core and its
// policies belong to (like bcache's VersionTraits). A core mirrors one base;
// every policy declares the base it was written against, and a run refuses a
// policy of another base (RunSched() returns InvalidArgument), so LSK 3.10
// mechanisms and mainline ones never mix silently.
#pragma once

namespace kreplay::sched {

enum class KernelBase {
  // Linaro LSK 3.10: CFS, cpu_power from cpu_efficiency, no task fit; the
  // base of sched.cfs and sched.hmp (and of IKS).
  kLsk310,
  // Mainline 6.x (EEVDF, capacity-invariant PELT, schedutil; EAS later):
  // the base of sched.eevdf.
  kMainline,
};

// Per-task load signals a core keeps.
enum class LoadTracking {
  kNone,
  // LSK 3.10 per-entity runnable average (load_avg.h): starts high at fork,
  // updated on every state change, frequency-scaled when frequency_invariant
  // (by 1024 under the single-frequency performance/powersave governors).
  // Kept only when a placement policy asks for it.
  kLsk310RunnableAvg,
  // Mainline PELT (pelt.h): util_avg/load_avg/runnable_avg per task and per
  // CPU, frequency- and capacity-invariant through clock_pelt, and util_est.
  // Always kept on the mainline base (schedutil and placement read it).
  kMainlinePelt,
};

// What a CPU's capacity is on a base (the core's per-CPU `power`, which load
// balancing divides group loads by).
enum class CapacityKind {
  // LSK 3.10 arch/arm/kernel/topology.c: cpu_power from cpu_efficiency and
  // the top frequency, around 1024 on average (ArmCpuPower()).
  kArmCpuPower,
  // Mainline arch_scale_cpu_capacity(): the cluster's capacity at its top
  // OPP, the biggest CPU at 1024 (topology_normalize_cpu_scale() of
  // capacity-dmips-mhz x max frequency).
  kTopOppCapacity,
};

// What differs between kernel bases, as data the one core reads. The
// runqueue itself (CfsRq or EevdfRq) is the core's template parameter: what
// a fair task's vruntime means across CPUs (3.10 renormalizes by
// min_vruntime, 6.6+ re-places by lag) and delayed dequeue (6.12+) are
// runqueue rules, kept beside the runqueue (sched_sim.cc's FairOps).
struct VersionTraits {
  KernelBase base;
  const char* name;          // for messages: "lsk-3.10", "mainline"
  CapacityKind capacity;     // the core's per-CPU capacity
  LoadTracking base_load;    // tracking the base always keeps (kNone: only on a policy's request)
  int default_hz;            // the models' default CONFIG_HZ
};

// 3.10: arm64 fixed HZ at 100, the vexpress defconfig keeps the Kconfig 100.
inline constexpr VersionTraits kLsk310Traits = {KernelBase::kLsk310, "lsk-3.10", CapacityKind::kArmCpuPower,
                                                LoadTracking::kNone, 100};
// Mainline: arm64 defconfig CONFIG_HZ_250 (kernel/Kconfig.hz default 250).
inline constexpr VersionTraits kMainlineTraits = {KernelBase::kMainline, "mainline", CapacityKind::kTopOppCapacity,
                                                  LoadTracking::kMainlinePelt, 250};

inline const char* KernelBaseName(KernelBase b) {
  return b == KernelBase::kLsk310 ? kLsk310Traits.name : kMainlineTraits.name;
}

}  // namespace kreplay::sched
