// CPU-controller cgroups for the `cgroup-shares` scenario: finding a usable
// controller under a cgroup root, and a temporary tree of weighted groups
// that removes itself (RAII). The root is a parameter, so tests run the path
// logic on a temporary directory laid out like /sys/fs/cgroup.
//
// v1 (a hierarchy with the cpu controller, e.g. /sys/fs/cgroup/cpu or
// cpu,cpuacct): weights are cpu.shares (default 1024); threads move by
// writing their TID to a group's `tasks`.
// v2 (the unified hierarchy with "cpu" in cgroup.controllers): weights are
// cpu.weight (default 100; shares are converted as the kernel documents,
// weight = shares * 100 / 1024, clamped to 1..10000). Threads of one process
// can sit in different groups only in a threaded subtree: the tree's top is
// a domain group that receives the process (cgroup.procs) and enables +cpu
// for its children, which are made "threaded" and take TIDs in
// cgroup.threads. v2 is implemented but could not be exercised on the
// development host (its cpu controller is bound to v1).
//
// Not thread-safe; one tree per scenario run.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "services/core/status.h"

namespace kreplay::sched::validate {

enum class CgroupVersion { kV1, kV2 };

struct CpuController {
  CgroupVersion version = CgroupVersion::kV1;
  std::string mount;  // the hierarchy's root directory, where the tree is created
};

// The first usable CPU controller under `root`: a v1 hierarchy (root/cpu,
// root/cpu,cpuacct or root/cpuacct,cpu holding cpu.shares), else v2 at root
// or root/unified whose cgroup.controllers lists "cpu". FailedPrecondition
// naming what was looked at when there is none.
StatusOr<CpuController> FindCpuController(const std::string& root);

// The value to write for a group of weight `shares` (v1 units).
uint64_t WeightValue(CgroupVersion v, uint64_t shares);
const char* WeightFile(CgroupVersion v);   // "cpu.shares" | "cpu.weight"
const char* ThreadsFile(CgroupVersion v);  // "tasks" | "cgroup.threads"

// A temporary group `name` under the controller's root with weighted child
// groups. The destructor moves every thread still inside back to the root
// (a killed rt-app leaves none) and removes the directories, children first.
class CgroupTree {
 public:
  // Creates <mount>/<name>. AlreadyExists if it is there (another run's).
  static StatusOr<std::unique_ptr<CgroupTree>> Create(const CpuController& c, const std::string& name);
  ~CgroupTree();
  CgroupTree(const CgroupTree&) = delete;
  CgroupTree& operator=(const CgroupTree&) = delete;

  // Creates child `group` with weight `shares` (v1 units).
  Status AddGroup(const std::string& group, uint64_t shares);
  // v2: moves process `pid` into the tree's top (a threaded subtree's
  // domain). v1: nothing to do.
  Status AdoptProcess(pid_t pid);
  // Moves thread `tid` into `group`. REQUIRES: AddGroup(group) succeeded.
  Status MoveThread(const std::string& group, pid_t tid);

  std::string top() const { return top_; }
  std::string GroupPath(const std::string& group) const { return top_ + "/" + group; }

 private:
  CgroupTree(CpuController c, std::string top) : c_(std::move(c)), top_(std::move(top)) {}
  void EvacuateAndRemove(const std::string& dir);

  CpuController c_;
  std::string top_;
  std::vector<std::string> groups_;  // in creation order
};

}  // namespace kreplay::sched::validate
