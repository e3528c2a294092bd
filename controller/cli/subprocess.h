// Child processes owned by RAII handles: started with posix_spawn (gRPC is
// not fork-safe), stopped by PID (SIGTERM, then SIGKILL after a grace
// period) when the handle goes away. Children started with the environment
// variable KREPLAY_PARENT_PID set arm PR_SET_PDEATHSIG themselves (see
// DieWithParent), so they die with their parent even after a SIGKILL.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "services/core/status.h"

namespace kreplay::cli {

class Subprocess {
 public:
  // Starts argv[0] (a path) with `argv`; stdout/stderr inherited unless
  // `log_path` is given (both go there).
  static StatusOr<Subprocess> Spawn(const std::vector<std::string>& argv, const std::string& log_path = "");
  Subprocess() = default;
  Subprocess(Subprocess&& o) noexcept : pid_(o.pid_), name_(std::move(o.name_)) { o.pid_ = -1; }
  Subprocess& operator=(Subprocess&& o) noexcept;
  ~Subprocess() { Stop(std::chrono::seconds(10)); }

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `sig` without waiting (to stop several children in parallel).
  void Signal(int sig);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status (or
  // 128 + signal). Idempotent.
  int Stop(std::chrono::milliseconds grace);
  // Waits for exit without signalling; -1 on timeout.
  int WaitFor(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::string name_;
  int exit_code_ = -1;
};

// Called early in every kreplay subcommand: if KREPLAY_PARENT_PID is set,
// die (SIGTERM) when that parent dies.
void DieWithParent();

// Path of the running executable (/proc/self/exe).
std::string SelfExe();

}  // namespace kreplay::cli
