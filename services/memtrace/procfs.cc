#include "services/memtrace/procfs.h"

#include <charconv>

namespace kreplay::memtrace {
namespace {

std::vector<std::string_view> Tokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

template <class T>
bool ToInt(std::string_view s, T* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string_view StripPrefix(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p ? s.substr(p.size()) : std::string_view();
}

// Splits "text" into lines, with 1-based numbers for errors.
class Lines {
 public:
  explicit Lines(std::string_view t) : t_(t) {}
  bool Next(std::string_view* line) {
    if (pos_ >= t_.size()) return false;
    size_t nl = t_.find('\n', pos_);
    if (nl == std::string_view::npos) nl = t_.size();
    *line = t_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    ++n_;
    return true;
  }
  int number() const { return n_; }

 private:
  std::string_view t_;
  size_t pos_ = 0;
  int n_ = 0;
};

// "Node    0, zone   Normal, type    Unmovable" -> node, zone, type.
bool NodeZone(std::string_view head, int* node, std::string* zone, std::string* type) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (true) {
    size_t c = head.find(',', i);
    parts.push_back(head.substr(i, c == std::string_view::npos ? std::string_view::npos : c - i));
    if (c == std::string_view::npos) break;
    i = c + 1;
  }
  if (parts.size() < 2) return false;
  auto n = Tokens(parts[0]);
  auto z = Tokens(parts[1]);
  if (n.size() != 2 || n[0] != "Node" || !ToInt(n[1], node) || z.size() != 2 || z[0] != "zone") return false;
  *zone = std::string(z[1]);
  if (type) {
    if (parts.size() != 3) return false;
    auto t = Tokens(parts[2]);
    if (t.size() != 2 || t[0] != "type") return false;
    *type = std::string(t[1]);
  }
  return true;
}

}  // namespace

StatusOr<PageTypeInfo> ParsePageTypeInfo(std::string_view text, const std::string& name) {
  PageTypeInfo p;
  Lines lines(text);
  std::string_view line;
  enum { kHead, kFree, kBlocks, kMixed } section = kHead;
  auto err = [&](const std::string& m) { return InvalidArgument(name + ":" + std::to_string(lines.number()) + ": " + m); };
  bool have_order = false, have_pages = false;
  while (lines.Next(&line)) {
    auto tok = Tokens(line);
    if (tok.empty()) continue;
    if (auto v = StripPrefix(line, "Page block order:"); !v.empty()) {
      auto t = Tokens(v);
      if (t.size() != 1 || !ToInt(t[0], &p.pageblock_order)) return err("bad 'Page block order'");
      have_order = true;
    } else if (auto v2 = StripPrefix(line, "Pages per block:"); !v2.empty()) {
      auto t = Tokens(v2);
      if (t.size() != 1 || !ToInt(t[0], &p.pages_per_block)) return err("bad 'Pages per block'");
      have_pages = true;
    } else if (line.substr(0, 42) == "Free pages count per migrate type at order") {
      int expect = 0;
      for (size_t k = 8; k < tok.size(); ++k) {  // after "Free pages count per migrate type at order"
        int o = -1;
        if (!ToInt(tok[k], &o) || o != expect) return err("orders in the header must run 0, 1, 2, ...");
        ++expect;
      }
      if (expect == 0) return err("no orders in the free-pages header");
      p.orders = expect;
      section = kFree;
    } else if (line.substr(0, 21) == "Number of blocks type") {
      for (size_t k = 4; k < tok.size(); ++k) p.block_types.emplace_back(tok[k]);
      if (p.block_types.empty()) return err("no migratetypes in the block-count header");
      section = kBlocks;
    } else if (line.substr(0, 22) == "Number of mixed blocks") {
      section = kMixed;  // page_owner's table: not needed
    } else if (tok[0] == "Node") {
      if (section == kFree) {
        size_t type_at = line.find("type");
        if (type_at == std::string_view::npos) return err("free-pages row without 'type'");
        auto after = Tokens(line.substr(type_at));
        PageTypeInfo::FreeRow r;
        // after[0] "type", after[1] the type, then one count per order.
        if (after.size() < 2) return err("free-pages row without a type name");
        // The head runs to the end of the type name (tokens view `line`).
        std::string_view head = line.substr(0, after[1].data() + after[1].size() - line.data());
        if (!NodeZone(head, &r.node, &r.zone, &r.type)) return err("bad 'Node N, zone Z, type T' row head");
        if (after.size() != static_cast<size_t>(p.orders) + 2) {
          return err("expected " + std::to_string(p.orders) + " counts, found " + std::to_string(after.size() - 2));
        }
        for (size_t k = 2; k < after.size(); ++k) {
          std::string_view c = after[k];
          if (!c.empty() && c[0] == '>') {
            r.capped = true;
            c.remove_prefix(1);
          }
          uint64_t v = 0;
          if (!ToInt(c, &v)) return err("bad count '" + std::string(after[k]) + "'");
          r.free.push_back(v);
        }
        p.free.push_back(std::move(r));
      } else if (section == kBlocks) {
        PageTypeInfo::BlockRow r;
        size_t n = p.block_types.size();
        if (tok.size() < n + 4) return err("block-count row too short");
        // "Node 0, zone Normal" then one count per type.
        size_t counts_at = tok.size() - n;
        std::string_view head = line.substr(0, tok[counts_at - 1].data() + tok[counts_at - 1].size() - line.data());
        if (!NodeZone(head, &r.node, &r.zone, nullptr)) return err("bad 'Node N, zone Z' row head");
        for (size_t k = counts_at; k < tok.size(); ++k) {
          uint64_t v = 0;
          if (!ToInt(tok[k], &v)) return err("bad block count '" + std::string(tok[k]) + "'");
          r.blocks.push_back(v);
        }
        p.blocks.push_back(std::move(r));
      } else if (section != kMixed) {
        return err("a 'Node' row before any table header");
      }
    } else {
      return err("unrecognised line");
    }
  }
  if (!have_order || !have_pages) return InvalidArgument(name + ": not /proc/pagetypeinfo (no 'Page block order' / 'Pages per block')");
  if (p.pages_per_block != (uint64_t{1} << p.pageblock_order)) {
    return InvalidArgument(name + ": 'Pages per block' " + std::to_string(p.pages_per_block) + " is not 2^" +
                           std::to_string(p.pageblock_order));
  }
  if (p.free.empty()) return InvalidArgument(name + ": no free-pages table");
  return p;
}

StatusOr<ZoneInfo> ParseZoneInfo(std::string_view text, const std::string& name) {
  ZoneInfo z;
  Lines lines(text);
  std::string_view line;
  auto err = [&](const std::string& m) { return InvalidArgument(name + ":" + std::to_string(lines.number()) + ": " + m); };
  ZoneInfo::Zone* cur = nullptr;
  enum { kZone, kNodeStats, kPagesets } section = kZone;
  while (lines.Next(&line)) {
    auto tok = Tokens(line);
    if (tok.empty()) continue;
    if (tok[0] == "Node" && line.find("zone") != std::string_view::npos && tok.size() <= 4) {
      ZoneInfo::Zone zn;
      if (!NodeZone(line, &zn.node, &zn.name, nullptr)) return err("bad 'Node N, zone Z' line");
      z.zones.push_back(std::move(zn));
      cur = &z.zones.back();
      section = kZone;
      continue;
    }
    if (!cur) return err("a statistic before the first 'Node N, zone Z' line");
    if (tok.size() == 2 && tok[0] == "per-node" && tok[1] == "stats") {
      section = kNodeStats;
      continue;
    }
    if (tok.size() == 1 && tok[0] == "pagesets") {
      section = kPagesets;
      continue;
    }
    if (tok[0] == "protection:") {
      std::string_view rest = line.substr(line.find("protection:") + 11);
      std::string cleaned;
      for (char c : rest) cleaned += (c == '(' || c == ')' || c == ',') ? ' ' : c;
      for (auto t : Tokens(cleaned)) {
        int64_t v = 0;
        if (!ToInt(t, &v)) return err("bad protection value '" + std::string(t) + "'");
        cur->protection.push_back(v);
      }
      section = kZone;
      continue;
    }
    if (section == kPagesets) {
      static constexpr std::string_view kPcp[] = {"cpu:", "count:", "high:", "batch:", "high_min:", "high_max:"};
      bool pcp = false;
      for (auto k : kPcp) pcp = pcp || tok[0] == k;
      if (pcp || (tok.size() >= 3 && tok[0] == "vm" && tok[1] == "stats")) continue;
      section = kZone;  // node_unreclaimable:, start_pfn: ... follow the pagesets
    }
    // "key value", "key: value" or "pages free N".
    int64_t v = 0;
    if (tok.size() < 2 || !ToInt(tok.back(), &v)) return err("unrecognised line");
    std::string key;
    for (size_t k = 0; k + 1 < tok.size(); ++k) key += (k ? " " : "") + std::string(tok[k]);
    if (!key.empty() && key.back() == ':') key.pop_back();
    if (key == "pages free") section = kZone;
    if (section == kNodeStats) {
      z.node_stats[cur->node][key] = v;
    } else {
      cur->values[key] = v;
    }
  }
  if (z.zones.empty()) return InvalidArgument(name + ": not /proc/zoneinfo (no 'Node N, zone Z' line)");
  return z;
}

}  // namespace kreplay::memtrace
