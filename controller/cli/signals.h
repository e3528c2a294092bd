// SIGINT/SIGTERM for the commands that run until interrupted (run, broker,
// controller, worker, submit): the signals are blocked process-wide and
// handled on one dedicated thread, so a callback may take locks and cancel
// RPCs, which a signal handler may not.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

namespace kreplay::cli {

// Blocks SIGINT/SIGTERM process-wide (call before starting threads) and runs
// `on_signal` on a dedicated thread when one arrives.
class SignalWatcher {
 public:
  SignalWatcher();
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Sets the callback run on each signal; nullptr clears it. Once
  // OnSignal(nullptr) returns, no callback is running any more.
  void OnSignal(std::function<void()> cb);
  int signal() const { return signal_.load(); }
  bool interrupted() const { return signal_.load() != 0; }
  // Sleeps until a signal arrives.
  void WaitForSignal();

 private:
  sigset_t set_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::atomic<int> signal_{0};
  std::mutex mu_;
  std::function<void()> on_signal_;
};

}  // namespace kreplay::cli
