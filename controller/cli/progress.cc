#include "controller/cli/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <utility>

namespace kreplay::cli {
namespace {

// "12.3 M", "45 k" or "7": simulated events per second.
std::string FormatRate(double r) {
  char b[32];
  if (r >= 1e6) std::snprintf(b, sizeof b, "%.1f M", r / 1e6);
  else if (r >= 1e3) std::snprintf(b, sizeof b, "%.0f k", r / 1e3);
  else std::snprintf(b, sizeof b, "%.0f", r);
  return b;
}

std::string FormatSeconds(double s) {
  char b[32];
  if (s < 60) std::snprintf(b, sizeof b, "%.1fs", s);
  else std::snprintf(b, sizeof b, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(std::fmod(s, 60)));
  return b;
}

}  // namespace

ProgressPrinter::ProgressPrinter(std::string mode) : mode_(std::move(mode)) {
  if (mode_ == "auto") mode_ = ::isatty(2) ? "bar" : "plain";
}

void ProgressPrinter::Update(const v1::StudyProgress& p) {
  if (mode_ == "none") return;
  uint64_t finished = p.runs_done() + p.runs_failed();
  double rate = p.elapsed_seconds() > 0 ? static_cast<double>(finished - p.runs_reused()) / p.elapsed_seconds() : 0;
  double eta = rate > 0 ? static_cast<double>(p.runs_total() - finished) / rate : -1;
  bool terminal = p.state() != v1::STUDY_RUNNING && p.state() != v1::STUDY_PENDING;
  auto now = Clock::now();
  // Throttled (a line per finished run would flood CI logs), but the first
  // and the terminal update always print.
  auto gap = mode_ == "bar" ? std::chrono::milliseconds(200) : std::chrono::milliseconds(2000);
  if (!terminal && last_finished_ != UINT64_MAX && now - last_print_ < gap) return;
  last_finished_ = finished;
  last_print_ = now;
  if (mode_ == "json") {
    std::fprintf(stderr, "{\"study\":\"%s\",\"state\":\"%s\",\"runs_total\":%llu,\"runs_done\":%llu,\"runs_failed\":%llu,"
                "\"runs_reused\":%llu,\"workers_alive\":%u,\"sim_events_per_second\":%.0f,\"republished\":%llu,"
                "\"trace_resends\":%llu,\"elapsed_seconds\":%.3f,\"eta_seconds\":%.1f}\n",
                p.study_id().c_str(), v1::StudyState_Name(p.state()).c_str(),
                static_cast<unsigned long long>(p.runs_total()), static_cast<unsigned long long>(p.runs_done()),
                static_cast<unsigned long long>(p.runs_failed()), static_cast<unsigned long long>(p.runs_reused()),
                p.workers_alive(), p.sim_events_per_second(), static_cast<unsigned long long>(p.republished()),
                static_cast<unsigned long long>(p.trace_resends()), p.elapsed_seconds(), eta);
    std::fflush(stderr);
    return;
  }
  char line[512];
  std::snprintf(line, sizeof line, "%llu/%llu runs (%llu reused, %llu failed), %u workers, %s events/s, "
                "re-published %llu, trace re-sends %llu, %s",
                static_cast<unsigned long long>(finished), static_cast<unsigned long long>(p.runs_total()),
                static_cast<unsigned long long>(p.runs_reused()), static_cast<unsigned long long>(p.runs_failed()),
                p.workers_alive(), FormatRate(p.sim_events_per_second()).c_str(),
                static_cast<unsigned long long>(p.republished()), static_cast<unsigned long long>(p.trace_resends()),
                terminal ? ("done in " + FormatSeconds(p.elapsed_seconds())).c_str()
                         : ("ETA " + (eta >= 0 ? FormatSeconds(eta) : std::string("?"))).c_str());
  if (mode_ == "bar") {
    int width = 24;
    int fill = p.runs_total() ? static_cast<int>(width * finished / p.runs_total()) : width;
    // Appended piecewise: GCC 12 warns falsely on "[" + std::string (-Wrestrict, PR105651).
    std::string bar = "[";
    bar += std::string(static_cast<size_t>(fill), '#');
    bar += std::string(static_cast<size_t>(width - fill), '.');
    bar += "] ";
    std::fprintf(stderr, "\r\033[K%s%s", bar.c_str(), line);
    if (terminal) std::fprintf(stderr, "\n");
  } else {
    std::fprintf(stderr, "progress: %s\n", line);
  }
}

}  // namespace kreplay::cli
