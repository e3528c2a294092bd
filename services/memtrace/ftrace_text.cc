#include "services/memtrace/ftrace_text.h"

#include <charconv>

namespace kreplay::memtrace {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view Trim(std::string_view s) {
  s = TrimLeft(s);
  while (!s.empty() && (IsSpace(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsDigit(c)) return false;
  return true;
}

template <class T>
bool ToInt(std::string_view s, T* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// "21947.946847" (us), "99.000000001" (ns) or a raw counter "123456".
bool ParseTimestamp(std::string_view t, int64_t* ns) {
  size_t dot = t.find('.');
  if (dot == std::string_view::npos) return AllDigits(t) && ToInt(t, ns);
  std::string_view sec = t.substr(0, dot), frac = t.substr(dot + 1);
  if (!AllDigits(sec) || !AllDigits(frac) || frac.size() > 9) return false;
  int64_t s = 0, f = 0;
  if (!ToInt(sec, &s) || !ToInt(frac, &f)) return false;
  if (s > INT64_MAX / 1000000000) return false;
  for (size_t k = frac.size(); k < 9; ++k) f *= 10;
  *ns = s * 1000000000 + f;
  return true;
}

}  // namespace

StatusOr<LineKind> ParseFtraceLine(std::string_view line, FtraceLine* out) {
  std::string_view s = Trim(line);
  if (s.empty() || s.front() == '#' || s.substr(0, 5) == "cpus=" || s.substr(0, 4) == "CPU:") return LineKind::kSkip;

  // The CPU field: the first " [digits]" (comm holds no brackets in practice,
  // but a task named "[x]" must not be taken for it: the digits rule).
  size_t open = std::string_view::npos, close = 0;
  for (size_t i = s.find('['); i != std::string_view::npos; i = s.find('[', i + 1)) {
    if (i == 0 || !IsSpace(s[i - 1])) continue;
    size_t j = i + 1;
    while (j < s.size() && IsDigit(s[j])) ++j;
    if (j > i + 1 && j < s.size() && s[j] == ']') {
      open = i;
      close = j;
      break;
    }
  }
  if (open == std::string_view::npos) return InvalidArgument("not an ftrace event line: no [CPU] field");
  if (!ToInt(s.substr(open + 1, close - open - 1), &out->cpu)) return InvalidArgument("bad CPU number");

  std::string_view head = Trim(s.substr(0, open));
  if (!head.empty() && head.back() == ')') {  // the record-tgid column
    size_t lp = head.rfind('(');
    if (lp == std::string_view::npos) return InvalidArgument("unbalanced TGID column");
    head = Trim(head.substr(0, lp));
  }
  size_t dash = head.rfind('-');
  if (dash == std::string_view::npos || !AllDigits(head.substr(dash + 1))) {
    return InvalidArgument("task field '" + std::string(head) + "' is not COMM-PID");
  }
  out->comm = head.substr(0, dash);
  if (!ToInt(head.substr(dash + 1), &out->pid)) return InvalidArgument("bad PID");

  // [flags] timestamp:
  std::string_view rest = TrimLeft(s.substr(close + 1));
  size_t sp = rest.find_first_of(" \t");
  std::string_view tok = rest.substr(0, sp);
  if (tok.empty()) return InvalidArgument("no timestamp");
  if (tok.back() != ':') {  // the irq-info flags column
    if (tok.size() < 4 || tok.size() > 5) return InvalidArgument("unexpected '" + std::string(tok) + "' after the CPU");
    if (sp == std::string_view::npos) return InvalidArgument("no timestamp");
    rest = TrimLeft(rest.substr(sp));
    sp = rest.find_first_of(" \t");
    tok = rest.substr(0, sp);
    if (tok.empty() || tok.back() != ':') return InvalidArgument("no 'TIMESTAMP:' field");
  }
  if (!ParseTimestamp(tok.substr(0, tok.size() - 1), &out->ts_ns)) {
    return InvalidArgument("bad timestamp '" + std::string(tok) + "'");
  }
  if (sp == std::string_view::npos) return InvalidArgument("no event name after the timestamp");
  rest = TrimLeft(rest.substr(sp));
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0) return InvalidArgument("no 'event:' field");
  out->event = rest.substr(0, colon);
  for (char c : out->event) {
    bool ok = IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!ok) return InvalidArgument("bad event name '" + std::string(out->event) + "'");
  }
  out->body = Trim(rest.substr(colon + 1));
  return LineKind::kEvent;
}

}  // namespace kreplay::memtrace
