#include "workers/models/builtin.h"

#include "workers/models/sched/sched_models.h"

namespace kreplay::models {

void RegisterBuiltinModels(model::Registry& registry) {
  Status st = sched::RegisterSchedModels(registry);
  KREPLAY_CHECK(st.ok(), st.ToString());
}

}  // namespace kreplay::models
