#include "workers/models/builtin.h"

#include "workers/models/blockcache/family.h"
#include "workers/models/memory/family.h"
#include "workers/models/sched/family.h"
#include "workers/models/virtio/family.h"

namespace kreplay::models {

void RegisterBuiltinFamilies(family::Catalog& catalog) {
  for (Status st : {sched::RegisterSchedFamily(catalog), blockcache::RegisterBlockCacheFamily(catalog),
                    memory::RegisterMemoryFamily(catalog), virtio::RegisterVirtioFamily(catalog)})
    KREPLAY_CHECK(st.ok(), st.ToString());
}

}  // namespace kreplay::models
