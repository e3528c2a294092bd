// The memory family's registration: its models (models/mem_models.h), its
// workload kinds (`memory:` generated, `memtrace:` a recorded trace), its
// systems (memory profiles under `platforms:`), the trace codec, the
// `memprofiles` listing and `kreplay calibrate memory`.
#pragma once

#include "services/core/status.h"
#include "services/family/family.h"

namespace kreplay::memory {

family::FamilyInfo MemoryFamilyInfo();
Status RegisterMemoryFamily(family::Catalog& catalog);

}  // namespace kreplay::memory
