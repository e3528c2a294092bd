// Every model family compiled into kreplay, registered in one place.
#pragma once

#include "services/model/registry.h"

namespace kreplay::models {

// Registers all built-in models. Adding a family is one line in builtin.cc.
void RegisterBuiltinModels(model::Registry& registry);

}  // namespace kreplay::models
