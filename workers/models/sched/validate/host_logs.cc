#include "workers/models/sched/validate/host_logs.h"

#include <charconv>


namespace kreplay::sched::validate {
namespace {

// Whitespace-separated fields of one line.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ToInt(std::string_view s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}
bool ToUint(std::string_view s, uint64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

constexpr const char* kColumns[] = {"#idx", "perf", "run", "period", "start", "end",
                                    "rel_st", "slack", "c_duration", "c_period", "wu_lat"};
constexpr size_t kColumnCount = sizeof(kColumns) / sizeof(kColumns[0]);

}  // namespace

StatusOr<std::vector<RtAppLogLine>> ParseRtAppLog(std::string_view text, const std::string& source) {
  std::vector<RtAppLogLine> out;
  size_t pos = 0;
  int line_no = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    auto f = Fields(line);
    if (f.empty()) continue;
    const std::string where = source + ":" + std::to_string(line_no) + ": ";
    if (f[0].starts_with("#")) {
      if (f[0] == "#idx") {  // the column header: check it is rt-app 1.0's layout
        if (f.size() != kColumnCount) return InvalidArgument(where + "unexpected column header (not rt-app 1.0's)");
        for (size_t i = 0; i < kColumnCount; ++i)
          if (f[i] != kColumns[i])
            return InvalidArgument(where + "column " + std::to_string(i + 1) + " is '" + std::string(f[i]) +
                                   "', rt-app 1.0 writes '" + kColumns[i] + "'");
      }
      continue;
    }
    if (f.size() != kColumnCount)
      return InvalidArgument(where + "expected " + std::to_string(kColumnCount) + " columns, got " +
                             std::to_string(f.size()));
    int64_t v[kColumnCount];
    for (size_t i = 0; i < kColumnCount; ++i)
      if (!ToInt(f[i], &v[i]))
        return InvalidArgument(where + "column " + std::to_string(i + 1) + ": expected an integer, got '" +
                               std::string(f[i]) + "'");
    RtAppLogLine l;
    l.idx = v[0];
    l.perf = v[1];
    l.run_us = v[2];
    l.period_us = v[3];
    l.start_us = v[4];
    l.end_us = v[5];
    l.rel_st_us = v[6];
    l.slack_us = v[7];
    l.c_duration_us = v[8];
    l.c_period_us = v[9];
    l.wu_lat_us = v[10];
    out.push_back(l);
  }
  return out;
}

StatusOr<Schedstat> ParseSchedstat(std::string_view text, const std::string& source) {
  auto f = Fields(text.substr(0, text.find('\n')));
  if (f.size() != 3) return InvalidArgument(source + ": expected 3 fields (run_ns wait_ns timeslices), got " +
                                            std::to_string(f.size()));
  Schedstat s;
  if (!ToUint(f[0], &s.run_ns) || !ToUint(f[1], &s.wait_ns) || !ToUint(f[2], &s.timeslices))
    return InvalidArgument(source + ": expected non-negative integers, got '" + std::string(text.substr(0, text.find('\n'))) + "'");
  return s;
}

Schedstat Delta(const Schedstat& a, const Schedstat& b) {
  return {b.run_ns - a.run_ns, b.wait_ns - a.wait_ns, b.timeslices - a.timeslices};
}

StatusOr<CpuTimes> ParseProcStatCpu(std::string_view proc_stat, int cpu) {
  const std::string want = "cpu" + std::to_string(cpu);
  size_t pos = 0;
  while (pos < proc_stat.size()) {
    size_t nl = proc_stat.find('\n', pos);
    std::string_view line = proc_stat.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? proc_stat.size() : nl + 1;
    auto f = Fields(line);
    if (f.empty() || f[0] != want) continue;
    if (f.size() < 5) return InvalidArgument("/proc/stat: " + want + ": too few fields");
    CpuTimes t;
    for (size_t i = 1; i < f.size() && i <= 8; ++i) {  // user nice system idle iowait irq softirq steal
      uint64_t v = 0;
      if (!ToUint(f[i], &v)) return InvalidArgument("/proc/stat: " + want + ": field " + std::to_string(i) + " is not a number");
      t.total += v;
      if (i != 4 && i != 5) t.busy += v;
    }
    return t;
  }
  return NotFound("/proc/stat: no line for " + want);
}

}  // namespace kreplay::sched::validate
