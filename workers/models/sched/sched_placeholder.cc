#include "workers/models/sched/sched_models.h"
namespace kreplay::sched {
Status RegisterSchedModels(model::Registry&) { return OkStatus(); }
}  // namespace kreplay::sched
