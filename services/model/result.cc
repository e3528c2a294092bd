#include "services/model/result.h"

namespace kreplay::model {

const char* BetterName(Better b) {
  switch (b) {
    case Better::kLower: return "lower";
    case Better::kHigher: return "higher";
    case Better::kNone: return "none";
  }
  return "none";
}

}  // namespace kreplay::model
