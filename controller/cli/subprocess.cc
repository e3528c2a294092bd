#include "controller/cli/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

extern char** environ;

namespace kreplay::cli {

StatusOr<Subprocess> Subprocess::Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  if (argv.empty()) return InvalidArgument("spawn: empty command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!log_path.empty()) {
    posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  // The child learns its parent through the environment and arms
  // PR_SET_PDEATHSIG itself (posix_spawn has no hook for it).
  std::string parent = "KREPLAY_PARENT_PID=" + std::to_string(::getpid());
  std::vector<char*> env;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("KREPLAY_PARENT_PID=", 0) != 0) env.push_back(*e);
  env.push_back(parent.data());
  env.push_back(nullptr);
  // Children must not inherit our blocked signal mask (the CLI blocks
  // SIGINT/SIGTERM to handle them on one thread).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Unavailable("cannot start " + argv[0] + ": " + std::strerror(rc));
  Subprocess p;
  p.pid_ = pid;
  p.name_ = argv.size() > 1 ? argv[1] : argv[0];
  return p;
}

Subprocess& Subprocess::operator=(Subprocess&& o) noexcept {
  if (this != &o) {
    Stop(std::chrono::seconds(10));
    pid_ = o.pid_;
    name_ = std::move(o.name_);
    exit_code_ = o.exit_code_;
    o.pid_ = -1;
  }
  return *this;
}

bool Subprocess::running() { return pid_ > 0 && WaitFor(std::chrono::milliseconds(0)) == -1; }

int Subprocess::WaitFor(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      return exit_code_;
    }
    if (r < 0) {
      pid_ = -1;
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Subprocess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int Subprocess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return exit_code_;
  ::kill(pid_, SIGTERM);
  int code = WaitFor(grace);
  if (code != -1) return code;
  ::kill(pid_, SIGKILL);
  return WaitFor(std::chrono::seconds(5));
}

void DieWithParent() {
  const char* p = std::getenv("KREPLAY_PARENT_PID");
  if (!p) return;
  pid_t parent = static_cast<pid_t>(std::atoi(p));
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  // The parent may have died before prctl: then we were re-parented.
  if (::getppid() != parent) std::_Exit(3);
}

std::string SelfExe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "kreplay";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace kreplay::cli
