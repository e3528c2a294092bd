#include "workers/models/blockcache/bcache/bcache_stack.h"

#include <string>
#include <utility>

namespace kreplay::blockcache::bcache {

StatusOr<std::unique_ptr<BcacheStack>> BcacheStack::Create(std::vector<StackLevel> levels,
                                                           std::vector<std::unique_ptr<Device>> backing) {
  if (levels.empty()) return InvalidArgument("bcache stack: no level");
  std::unique_ptr<BcacheStack> stack(new BcacheStack());
  stack->levels_.resize(levels.size());
  // Built bottom up: each level is created over the one below it.
  for (size_t i = levels.size(); i-- > 0;) {
    const std::string where = "levels[" + std::to_string(i) + "]";
    StatusOr<std::unique_ptr<BcacheSim>> sim =
        i + 1 == levels.size()
            ? BcacheSim::Create(levels[i].config, std::move(levels[i].cache), std::move(backing))
            : BcacheSim::CreateOver(levels[i].config, std::move(levels[i].cache), stack->levels_[i + 1].get());
    if (!sim.ok()) return sim.status().WithContext(where);
    stack->levels_[i] = std::move(sim).value();
  }
  return stack;
}

// Upper levels hold a reference to the bottom level's engine: destroy them first.
BcacheStack::~BcacheStack() {
  for (auto& level : levels_) level.reset();
}

StatusOr<StackStats> BcacheStack::Run(const workload::BlockWorkload& w, const std::atomic<bool>* cancel) {
  KREPLAY_ASSIGN_OR_RETURN(BcacheStats top, levels_.front()->Run(w, cancel));
  (void)top;  // Stats() collects every level, the top included
  return Stats();
}

StackStats BcacheStack::Stats() const {
  StackStats s;
  for (const auto& level : levels_) s.levels.push_back(level->Stats());
  s.end_ns = s.levels.front().end_ns;
  s.sim_events = s.levels.front().sim_events;
  // Levels below the top never finish on their own: their run ends with the top's.
  for (BcacheStats& l : s.levels) l.end_ns = s.end_ns;
  return s;
}

}  // namespace kreplay::blockcache::bcache
