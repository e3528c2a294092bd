// The content key of one model run: equal keys mean equal inputs, so a result
// recorded under a key is valid for every study that contains that run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kreplay::spec {

// Hex SHA-256 over a domain tag and the length-prefixed fields (so that
// ("ab","c") and ("a","bc") differ) followed by the seed as 8 bytes.
// `params_canonical` is model::ParamSet::Canonical() of the resolved params.
std::string ComputeRunKey(std::string_view model, std::string_view model_version,
                          std::string_view params_canonical, std::string_view platform_digest,
                          std::string_view workload_digest, uint64_t seed);

}  // namespace kreplay::spec
