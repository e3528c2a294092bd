#include "controller/spec/run_key.h"

#include "services/core/digest.h"

namespace kreplay::spec {

std::string ComputeRunKey(std::string_view model, std::string_view model_version,
                          std::string_view params_canonical, std::string_view platform_digest,
                          std::string_view workload_digest, uint64_t seed) {
  Sha256 h;
  // The tag versions the key layout itself: changing the fields below must
  // change the tag, or old ledger entries would be reused wrongly.
  h.UpdateField("kreplay.run_key.v1");
  h.UpdateField(model);
  h.UpdateField(model_version);
  h.UpdateField(params_canonical);
  h.UpdateField(platform_digest);
  h.UpdateField(workload_digest);
  h.UpdateU64(seed);
  return h.HexDigest();
}

}  // namespace kreplay::spec
