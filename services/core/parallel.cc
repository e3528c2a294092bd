#include "services/core/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace kreplay {

void ParallelFor(size_t n, int threads, const std::function<void(size_t)>& fn) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  size_t t = std::min(n, static_cast<size_t>(threads));
  std::atomic<size_t> next{0};
  auto loop = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  std::vector<std::jthread> pool;
  for (size_t k = 1; k < t; ++k) pool.emplace_back(loop);
  loop();
}

}  // namespace kreplay
