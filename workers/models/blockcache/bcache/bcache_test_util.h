// Helpers shared by the bcache tests (not linked into the model): a fake
// device with constant service times that records every IO, and terse
// builders for requests and traces.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "services/workload/block_workload.h"
#include "workers/models/blockcache/devices/device.h"

namespace kreplay::blockcache::bcache::testutil {

inline constexpr int64_t kUs = 1000, kMs = 1000 * kUs, kSec = 1000 * kMs;
inline constexpr uint64_t kKiB = 1024, kMiB = 1024 * kKiB;

// Constant service time, no queueing; remembers every IO.
class FakeDevice final : public Device {
 public:
  struct Io {
    int64_t now;
    bool write;
    uint64_t offset;
    uint32_t bytes;
  };
  FakeDevice(uint64_t capacity, int64_t read_ns, int64_t write_ns)
      : capacity_(capacity), read_ns_(read_ns), write_ns_(write_ns) {}
  FakeDevice(uint64_t capacity, int64_t service_ns) : FakeDevice(capacity, service_ns, service_ns) {}
  int64_t Submit(int64_t now_ns, bool write, uint64_t offset, uint32_t bytes) override {
    EXPECT_GE(now_ns, last_now_) << "submits must not go back in time";
    EXPECT_LE(offset + bytes, capacity_);
    last_now_ = now_ns;
    ios.push_back(Io{now_ns, write, offset, bytes});
    if (write) written_ += bytes;
    return now_ns + (write ? write_ns_ : read_ns_);
  }
  std::string_view profile() const override { return "fake"; }
  uint64_t capacity_bytes() const override { return capacity_; }
  uint64_t bytes_written() const override { return written_; }
  size_t Count(bool write) const {
    size_t n = 0;
    for (const Io& io : ios) n += io.write == write;
    return n;
  }
  std::vector<Io> ios;

 private:
  uint64_t capacity_;
  int64_t read_ns_, write_ns_;
  int64_t last_now_ = 0;
  uint64_t written_ = 0;
};

inline workload::BlockRequest Req(int64_t t, workload::BlockOp op, uint64_t offset, uint32_t bytes,
                                  uint32_t volume = 0, uint32_t task = 0) {
  workload::BlockRequest r;
  r.time_ns = t;
  r.op = op;
  r.offset = offset;
  r.bytes = bytes;
  r.volume = volume;
  r.task = task;
  return r;
}

inline workload::BlockWorkload Trace(std::vector<workload::BlockRequest> reqs, uint32_t volumes = 1,
                                     bool task_ids = false) {
  workload::BlockWorkload w;
  for (uint32_t v = 0; v < volumes; ++v) w.volumes.push_back("vol" + std::to_string(v));
  w.has_task_ids = task_ids;
  w.requests = std::move(reqs);
  return w;
}

}  // namespace kreplay::blockcache::bcache::testutil
