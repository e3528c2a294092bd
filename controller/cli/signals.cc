#include "controller/cli/signals.h"

#include <pthread.h>

#include <chrono>
#include <utility>

namespace kreplay::cli {

SignalWatcher::SignalWatcher() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  thread_ = std::thread([this] {
    int sig = 0;
    while (sigwait(&set_, &sig) == 0) {
      if (done_.load()) return;
      signal_.store(sig);
      // The callback runs under the lock, so once OnSignal(nullptr) returns
      // no callback is still touching what it captured (a gRPC context on
      // the caller's stack: cancelling a destroyed one aborts the process).
      std::lock_guard<std::mutex> lock(mu_);
      if (on_signal_) on_signal_();
    }
  });
}

SignalWatcher::~SignalWatcher() {
  done_.store(true);
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void SignalWatcher::OnSignal(std::function<void()> cb) {
  std::lock_guard<std::mutex> lock(mu_);
  on_signal_ = std::move(cb);
}

void SignalWatcher::WaitForSignal() {
  while (!interrupted()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace kreplay::cli
