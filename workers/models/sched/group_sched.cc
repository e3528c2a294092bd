#include "workers/models/sched/group_sched.h"

#include <algorithm>
#include <utility>

#include "services/core/status.h"

namespace kreplay::sched {

GroupSched::GroupSched(GroupTree tree, std::vector<EevdfRq*> roots, const EevdfTraits& traits)
    : tree_(std::move(tree)), roots_(std::move(roots)) {
  KREPLAY_CHECK(tree_.size() > 1 && !roots_.empty(), "GroupSched without groups or CPUs");
  const int n = ncpus();
  tg_.resize(tree_.size());
  nr_tasks_.assign(n, 0);
  hook_ctx_.reserve(n);  // the hooks keep pointers into it
  for (int cpu = 0; cpu < n; ++cpu) hook_ctx_.push_back(HookCtx{this, cpu});
  for (int g = 1; g < tree_.size(); ++g) {
    for (int cpu = 0; cpu < n; ++cpu) {
      auto lvl = std::make_unique<Level>(traits);
      // init_tg_cfs_entry(): a group entity starts at NICE_0_LOAD.
      lvl->se.id = kGroupEntityBit | static_cast<uint32_t>(levels_.size());
      lvl->se.weight = kNiceZeroWeight;
      lvl->se.my_q = &lvl->q;
      lvl->q.set_blocked_hook(&GroupSched::OnBlocked, &hook_ctx_[cpu]);
      levels_.push_back(std::move(lvl));
    }
  }
  for (int cpu = 0; cpu < n; ++cpu) roots_[cpu]->set_blocked_hook(&GroupSched::OnBlocked, &hook_ctx_[cpu]);
  path_.reserve(tree_.size());
}

void GroupSched::OnBlocked(void* ctx, EevdfEntity* se) {
  // __block_task() of a delayed task; a delayed group entity leaving is
  // accounted by whoever walks the hierarchy (Pick()).
  if (se->my_q) return;
  auto* h = static_cast<HookCtx*>(ctx);
  --h->self->nr_tasks_[h->cpu];
}

void GroupSched::UpdateCurr(EevdfEntity* se, int cpu, sim::Duration delta_exec) {
  int g = tree_.group_of_task(se->id);
  Rq(g, cpu).UpdateCurr(delta_exec);
  for (; g != 0; g = Parent(g)) Rq(Parent(g), cpu).UpdateCurr(delta_exec);
}

void GroupSched::UpdateTgLoad(int g, int cpu) {
  Level& l = L(g, cpu);
  UpdateTgLoadAvg(&tg_[g], &l.contrib, l.q.load());
}

void GroupSched::UpdateCfsGroup(int g, int cpu) {
  Level& l = L(g, cpu);
  if (l.q.load() == 0) return;  // 6.12+: an empty group keeps its weight
  uint64_t shares = CalcGroupShares(tree_.node(g).shares, l.q.load(), /*grq_load_avg=*/0,
                                    static_cast<uint64_t>(std::max<int64_t>(0, tg_[g].load_avg)), l.contrib);
  uint32_t w = static_cast<uint32_t>(shares);
  if (w == l.se.weight) {
    l.reweight = false;
    return;
  }
  if (Rq(Parent(g), cpu).curr() == &l.se) {
    l.reweight = true;  // applied when it stops running
    return;
  }
  Reweight(g, cpu, w);
}

void GroupSched::Reweight(int g, int cpu, uint32_t weight) {
  Level& l = L(g, cpu);
  EevdfEntity* se = &l.se;
  l.reweight = false;
  const int64_t old_w = se->weight;
  const int64_t new_w = weight;
  if (!se->on_rq) {
    // dequeued: only the saved lag is rescaled (vlag = V - v_i, lag_i = w_i * vlag)
    se->vlag = se->vlag * old_w / new_w;
    se->weight = weight;
    return;
  }
  if (se->delayed) return;  // an empty group runqueue is not reweighted
  EevdfRq& parent = Rq(Parent(g), cpu);
  // reweight_entity(): lag saved, deadline made relative, both scaled by
  // old/new, the entity placed again at its new weight.
  int64_t rel_deadline = se->deadline - se->vruntime;
  parent.Dequeue(se);
  se->vlag = se->vlag * old_w / new_w;
  se->deadline = rel_deadline * old_w / new_w;
  se->rel_deadline = true;
  se->weight = weight;
  parent.PlaceEntity(se, /*initial=*/false);
  parent.Enqueue(se);
}

void GroupSched::Enqueue(EevdfEntity* se, int cpu, bool initial) {
  int g = tree_.group_of_task(se->id);
  EevdfRq& q = Rq(g, cpu);
  q.PlaceEntity(se, initial);
  q.Enqueue(se);
  ++nr_tasks_[cpu];
  // First loop of enqueue_task_fair(): group entities not yet queued.
  for (; g != 0; g = Parent(g)) {
    Level& l = L(g, cpu);
    UpdateTgLoad(g, cpu);
    if (l.se.on_rq) {
      if (l.se.delayed) Rq(Parent(g), cpu).Requeue(&l.se);
      break;
    }
    UpdateCfsGroup(g, cpu);  // not queued: sets the weight before placement
    EevdfRq& parent = Rq(Parent(g), cpu);
    parent.PlaceEntity(&l.se, /*initial=*/false);
    parent.Enqueue(&l.se);
  }
  // Second loop: the rest of the way up, update_cfs_group() only.
  for (; g != 0; g = Parent(g)) {
    UpdateTgLoad(g, cpu);
    UpdateCfsGroup(g, cpu);
  }
}

void GroupSched::Requeue(EevdfEntity* se, int cpu) { TaskRq(se, cpu).Requeue(se); }

void GroupSched::WalkUpAfterDequeue(int g, int cpu, bool removing, bool running) {
  for (; g != 0; g = Parent(g)) {
    Level& l = L(g, cpu);
    EevdfRq& parent = Rq(Parent(g), cpu);
    UpdateTgLoad(g, cpu);
    if (removing && l.q.load() == 0) {
      l.reweight = false;
      if (running) {
        // DEQUEUE_SLEEP above the task's level: may stay queued, delayed.
        removing = parent.DequeueCurr(/*sleep=*/true);
      } else {
        parent.Dequeue(&l.se);
        l.se.rel_deadline = false;  // a sleep, not a migration: a fresh deadline at the next placement
        l.se.deadline = 0;
      }
      continue;
    }
    removing = false;
    if (running) parent.PutPrev();
    UpdateCfsGroup(g, cpu);
  }
}

void GroupSched::Dequeue(EevdfEntity* se, int cpu) {
  int g = tree_.group_of_task(se->id);
  bool was_delayed = se->delayed;
  Rq(g, cpu).Dequeue(se);
  if (!was_delayed) --nr_tasks_[cpu];
  WalkUpAfterDequeue(g, cpu, /*removing=*/true, /*running=*/false);
}

bool GroupSched::DequeueCurr(EevdfEntity* se, int cpu, bool sleep) {
  int g = tree_.group_of_task(se->id);
  bool left = Rq(g, cpu).DequeueCurr(sleep);
  if (left) --nr_tasks_[cpu];
  WalkUpAfterDequeue(g, cpu, /*removing=*/left, /*running=*/true);
  return left;
}

void GroupSched::PutPrev(EevdfEntity* se, int cpu) {
  int g = tree_.group_of_task(se->id);
  Rq(g, cpu).PutPrev();
  for (; g != 0; g = Parent(g)) {
    Rq(Parent(g), cpu).PutPrev();
    if (L(g, cpu).reweight) UpdateCfsGroup(g, cpu);
  }
}

EevdfEntity* GroupSched::Pick(int cpu) {
  for (;;) {
    path_.clear();
    EevdfRq* q = roots_[cpu];
    EevdfEntity* se = nullptr;
    for (;;) {
      se = q->PickNext();
      if (!se || !se->my_q) break;
      path_.push_back(GroupOfEntity(se));
      q = se->my_q;
    }
    if (se) return se;
    if (path_.empty()) return nullptr;
    // A group runqueue held only delayed tasks, now dequeued: its entity
    // (curr of its parent since this pick) leaves, and so on up while
    // runqueues empty; what stays is put back. Then pick again.
    WalkUpAfterDequeue(path_.back(), cpu, /*removing=*/true, /*running=*/true);
  }
}

bool GroupSched::TickPreempt(EevdfEntity* curr, int cpu) {
  int g = tree_.group_of_task(curr->id);
  bool resched = Rq(g, cpu).TickPreempt();
  for (; g != 0; g = Parent(g)) {
    UpdateTgLoad(g, cpu);
    UpdateCfsGroup(g, cpu);
    resched = resched || Rq(Parent(g), cpu).TickPreempt();
  }
  return resched;
}

bool GroupSched::WakeupPreempt(EevdfEntity* curr, EevdfEntity* wakee, int cpu) {
  // find_matching_se(): both sides up to the same depth, then up together
  // until they share a runqueue.
  int gc = tree_.group_of_task(curr->id);
  int gw = tree_.group_of_task(wakee->id);
  EevdfEntity* sc = curr;
  EevdfEntity* sw = wakee;
  while (tree_.node(gw).depth > tree_.node(gc).depth) {
    sw = &L(gw, cpu).se;
    gw = Parent(gw);
  }
  while (tree_.node(gc).depth > tree_.node(gw).depth) {
    sc = &L(gc, cpu).se;
    gc = Parent(gc);
  }
  while (gw != gc) {
    sw = &L(gw, cpu).se;
    gw = Parent(gw);
    sc = &L(gc, cpu).se;
    gc = Parent(gc);
  }
  if (sw == sc) return false;
  return Rq(gw, cpu).WakeupPreempt(sw);
}

uint64_t GroupSched::HWeight(const EevdfEntity* se, int cpu) const {
  uint64_t w = se->weight;
  for (int g = tree_.group_of_task(se->id); g != 0; g = Parent(g)) {
    const Level& l = L(g, cpu);
    w = w * l.se.weight / std::max<uint64_t>(1, l.q.load());
  }
  return std::max<uint64_t>(1, w);
}

}  // namespace kreplay::sched
