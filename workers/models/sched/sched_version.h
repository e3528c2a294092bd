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
  // Mainline 6.x (EEVDF, EAS, capacity-invariant PELT): declared so that
  // policies for it can say so; no core runs it yet.
  kMainline,
};

// What differs between kernel bases. Only the base and its name today: the
// one core there is mirrors 3.10 throughout. Traits that a second core shares
// with this one (tick, DVFS, energy) but configures differently go here.
struct VersionTraits {
  KernelBase base;
  const char* name;  // for messages: "lsk-3.10", "mainline"
};

inline constexpr VersionTraits kLsk310Traits = {KernelBase::kLsk310, "lsk-3.10"};
inline constexpr VersionTraits kMainlineTraits = {KernelBase::kMainline, "mainline"};

inline const char* KernelBaseName(KernelBase b) {
  return b == KernelBase::kLsk310 ? kLsk310Traits.name : kMainlineTraits.name;
}

}  // namespace kreplay::sched
