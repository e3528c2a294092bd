// Every model family this build ships, registered into one Catalog (built
// once per process: main.cc, tests).
#pragma once

#include "services/family/family.h"

namespace kreplay::models {

// Registers each shipped family (one line each in builtin.cc); traps on a
// registration error, which is a programming error.
void RegisterBuiltinFamilies(family::Catalog& catalog);

}  // namespace kreplay::models
