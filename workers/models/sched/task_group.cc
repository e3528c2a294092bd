#include "workers/models/sched/task_group.h"

#include <algorithm>
#include <map>

namespace kreplay::sched {

uint64_t CalcGroupShares(uint64_t tg_shares, uint64_t grq_load_weight, uint64_t grq_load_avg, uint64_t tg_load_avg,
                         uint64_t grq_contrib) {
  const uint64_t load = std::max(grq_load_weight, grq_load_avg);
  // tg_weight >= load: this CPU's stale contribution is replaced by its load.
  int64_t tg_weight = static_cast<int64_t>(tg_load_avg) - static_cast<int64_t>(grq_contrib) + static_cast<int64_t>(load);
  uint64_t shares = tg_shares * load;
  if (tg_weight > 0) shares /= static_cast<uint64_t>(tg_weight);
  return std::clamp<uint64_t>(shares, workload::kMinGroupShares, tg_shares);
}

bool UpdateTgLoadAvg(TgLoad* tg, uint64_t* contrib, uint64_t grq_load_avg) {
  int64_t delta = static_cast<int64_t>(grq_load_avg) - static_cast<int64_t>(*contrib);
  if ((delta < 0 ? -delta : delta) <= static_cast<int64_t>(*contrib / 64)) return false;
  tg->load_avg += delta;
  *contrib = grq_load_avg;
  return true;
}

StatusOr<GroupTree> GroupTree::Build(const workload::SchedWorkload& w) {
  GroupTree t;
  t.nodes_.push_back(GroupNode{"", -1, 0, 1024});
  std::map<std::string, int> index;
  index[""] = 0;
  for (size_t i = 0; i < w.groups.size(); ++i) {
    const auto& g = w.groups[i];
    const std::string field = "workload.groups[" + std::to_string(i) + "] (" + g.path + ")";
    if (g.path.size() < 2 || g.path[0] != '/' || index.count(g.path)) {
      return InvalidArgument(field + ": path must be unique and start with '/'");
    }
    std::string parent = g.path.substr(0, g.path.rfind('/'));
    auto it = index.find(parent);
    if (it == index.end()) return InvalidArgument(field + ": parent group '" + parent + "' is not listed before it");
    if (g.shares < workload::kMinGroupShares || g.shares > workload::kMaxGroupShares) {
      return InvalidArgument(field + ".shares: must be in 2..262144");
    }
    int id = static_cast<int>(t.nodes_.size());
    t.nodes_.push_back(GroupNode{g.path, it->second, t.nodes_[it->second].depth + 1, g.shares});
    index[g.path] = id;
  }
  for (size_t i = 0; i < w.tasks.size(); ++i) {
    auto it = index.find(w.tasks[i].group);
    if (it == index.end()) {
      return InvalidArgument("workload.tasks[" + std::to_string(i) + "] (" + w.tasks[i].name + ").group: '" +
                             w.tasks[i].group + "' is not in workload.groups");
    }
    t.task_group_.push_back(it->second);
  }
  return t;
}

}  // namespace kreplay::sched
