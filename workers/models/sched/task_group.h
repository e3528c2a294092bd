// Internal to the scheduler models: the arithmetic of group scheduling in
// mainline kernel/sched/fair.c (CONFIG_FAIR_GROUP_SCHED, v5.x..6.18), kept
// apart from the runqueues that will hold group entities.
//
// A task group has one sched_entity and one cfs_rq per CPU; the entity's
// weight on CPU i is the group's shares split by where its load is:
//   calc_group_shares(): load = max(grq->load.weight, grq->avg.load_avg);
//   tg_weight = tg->load_avg - grq->tg_load_avg_contrib + load;
//   shares = clamp(tg->shares * load / tg_weight, MIN_SHARES, tg->shares).
// tg->load_avg is the sum of the per-CPU contributions, each refreshed by
// update_tg_load_avg() only when it moved by more than 1/64 of itself.
// Value types and pure functions; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/workload/sched_workload.h"

namespace kreplay::sched {

// calc_group_shares(). All quantities in scale_load_down() units (nice 0 = 1024).
uint64_t CalcGroupShares(uint64_t tg_shares, uint64_t grq_load_weight, uint64_t grq_load_avg, uint64_t tg_load_avg,
                         uint64_t grq_contrib);

// The per-task_group sum of contributions.
struct TgLoad {
  int64_t load_avg = 0;  // tg->load_avg
};
// update_tg_load_avg() for one group cfs_rq whose PELT load_avg is now
// `grq_load_avg`; `contrib` is its cfs_rq->tg_load_avg_contrib. True if it
// was propagated.
bool UpdateTgLoadAvg(TgLoad* tg, uint64_t* contrib, uint64_t grq_load_avg);

// The group hierarchy of a workload: index 0 is the root group; every
// other group's parent comes before it (the workload lists parents first).
struct GroupNode {
  std::string path;
  int parent = -1;  // -1 for the root
  int depth = 0;    // root 0
  uint64_t shares = 1024;
};
class GroupTree {
 public:
  // InvalidArgument naming the workload field when a group's parent is
  // missing or a task names an unknown group.
  static StatusOr<GroupTree> Build(const workload::SchedWorkload& w);
  int size() const { return static_cast<int>(nodes_.size()); }
  const GroupNode& node(int i) const { return nodes_[i]; }
  // The group of task i of the workload (0 = root).
  int group_of_task(int task) const { return task_group_[task]; }

 private:
  std::vector<GroupNode> nodes_;
  std::vector<int> task_group_;
};

}  // namespace kreplay::sched
