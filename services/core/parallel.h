// ParallelFor: run fn(i) for i in [0, n) on up to `threads` threads (the
// calling thread included), each index exactly once, in no fixed order.
// Callers keep results in per-index slots, so the outcome never depends on
// which thread ran what. Returns when every call has returned.
#pragma once

#include <cstddef>
#include <functional>

namespace kreplay {

// threads <= 0 means one per hardware thread.
void ParallelFor(size_t n, int threads, const std::function<void(size_t)>& fn);

}  // namespace kreplay
