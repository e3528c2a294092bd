// The controller's source of time: leases, claim deadlines, worker liveness,
// trace stream idleness and study elapsed times all read it, so unit tests
// drive them with a manual clock (testing/fakes.h) instead of sleeping.
//
// Thread-safety: implementations must allow concurrent Now() calls.
#pragma once

#include <chrono>

namespace kreplay::server {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Monotonic: never goes backwards.
  virtual TimePoint Now() const = 0;
};

// std::chrono::steady_clock. Stateless.
class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

// `seconds` as a clock duration (ms precision, as the controller always used).
inline std::chrono::milliseconds SecondsToMillis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

}  // namespace kreplay::server
