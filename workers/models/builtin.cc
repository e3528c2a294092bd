#include "workers/models/builtin.h"

#include "workers/models/blockcache/bcache/bcache_model.h"
#include "workers/models/blockcache/fixed/fixed_models.h"
#include "workers/models/sched/sched_models.h"

namespace kreplay::models {

void RegisterBuiltinModels(model::Registry& registry) {
  for (Status st : {sched::RegisterSchedModels(registry), blockcache::RegisterFixedModels(registry),
                    blockcache::bcache::RegisterBcacheModels(registry)})
    KREPLAY_CHECK(st.ok(), st.ToString());
}

}  // namespace kreplay::models
