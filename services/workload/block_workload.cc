#include "services/workload/block_workload.h"

namespace kreplay::workload {

const char* BlockOpName(BlockOp op) {
  switch (op) {
    case BlockOp::kRead: return "read";
    case BlockOp::kWrite: return "write";
    case BlockOp::kDiscard: return "discard";
    case BlockOp::kFlush: return "flush";
  }
  return "unknown";
}

}  // namespace kreplay::workload
