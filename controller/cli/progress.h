// Study progress on stderr, for `run` and `submit --wait`: a bar redrawn in
// place on a terminal, else plain lines, JSON lines for machines, or nothing
// (--progress auto|plain|json|none). Throttled so CI logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "kreplay/v1/study.pb.h"

namespace kreplay::cli {

// Not thread-safe: callers that update from several threads hold a lock.
class ProgressPrinter {
 public:
  // `mode`: auto (a bar when stderr is a terminal, else plain), plain, json
  // or none.
  explicit ProgressPrinter(std::string mode);
  // Prints `p` unless the last print is too recent; the first and the
  // terminal update always print.
  void Update(const v1::StudyProgress& p);

 private:
  using Clock = std::chrono::steady_clock;
  std::string mode_;
  uint64_t last_finished_ = UINT64_MAX;
  Clock::time_point last_print_{};
};

}  // namespace kreplay::cli
