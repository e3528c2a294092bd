#include "controller/spec/spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "services/blocktrace/synth.h"  // ParseByteSize
#include "services/core/digest.h"
#include "services/core/files.h"
#include "services/core/strings.h"
#include "services/workload/synth.h"  // ParseDuration

namespace kreplay::spec {

namespace {

// ---- small helpers ----------------------------------------------------------

bool IsName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}


std::string ResolvePath(const std::string& base_dir, const std::string& p) { return family::ResolveSpecPath(base_dir, p); }

// Plain scalars are typed by their text; quoted ones ("700") stay strings.
model::ParamValue ScalarToParam(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;
  if (auto i = ParseInt(s)) return *i;
  if (auto d = ParseDouble(s); d && !std::isnan(*d)) return *d;
  if (s == "true") return true;
  if (s == "false") return false;
  return s;
}

// Models declare per-instance metrics with placeholders, e.g.
// "cluster.<name>.utilization": a "<...>" segment matches any one non-empty
// dot-separated segment.
bool MetricNameMatches(const std::string& declared, const std::string& name) {
  if (declared == name) return true;
  if (declared.find('<') == std::string::npos) return false;
  auto d = Split(declared, '.');
  auto n = Split(name, '.');
  if (d.size() != n.size()) return false;
  for (size_t i = 0; i < d.size(); ++i) {
    bool placeholder = d[i].size() > 2 && d[i].front() == '<' && d[i].back() == '>';
    if (placeholder ? n[i].empty() : d[i] != n[i]) return false;
  }
  return true;
}


// Strings accepted for int parameters with a unit: durations for time units
// ("4ms"; "ns", "us", "ms", "s") and byte sizes for "bytes" ("512MiB").
// Converts *v in place; returns an error message ("" on success or when
// nothing applies: not an int parameter, no such unit, not a string).
std::string ConvertUnitString(const model::ParamSpec& ps, model::ParamValue* v) {
  auto* s = std::get_if<std::string>(v);
  if (!s || ps.type != model::ParamType::kInt) return "";
  int64_t per_unit = 0;
  if (ps.unit == "ns") per_unit = 1;
  else if (ps.unit == "us") per_unit = 1'000;
  else if (ps.unit == "ms") per_unit = 1'000'000;
  else if (ps.unit == "s") per_unit = 1'000'000'000;
  if (per_unit > 0) {
    // A bare number is ns to ParseDuration: for a coarser unit that would
    // silently scale a quoted "2000"; leave it to ResolveParams' type error.
    std::string_view t = Trim(*s);
    if (per_unit > 1 && !t.empty() && t.find_first_not_of("0123456789.") == std::string_view::npos) return "";
    auto d = workload::ParseDuration(*s);
    if (!d.ok()) {
      // Unit "ns" kept its older behaviour: a bad string is reported by
      // ResolveParams as a type error.
      if (per_unit == 1) return "";
      return "expected int (" + ps.unit + ") or a duration such as 4ms, got '" + *s + "'";
    }
    if (*d % per_unit != 0) return "'" + *s + "' is not a whole number of " + ps.unit;
    *v = *d / per_unit;
    return "";
  }
  if (ps.unit == "bytes") {
    auto b = blocktrace::ParseByteSize(*s);
    if (!b.ok()) return "expected int (bytes) or a size such as 512MiB, got '" + *s + "': " + b.status().message();
    if (*b > static_cast<uint64_t>(INT64_MAX)) return "'" + *s + "' is larger than 2^63 - 1 bytes";
    *v = static_cast<int64_t>(*b);
  }
  return "";
}

// The implicit platform of a blockcache study (see kNoPlatform in spec.h).
PlatformEntry NoPlatformEntry() {
  PlatformEntry pe;
  pe.implicit = true;
  pe.name = kNoPlatform;
  pe.source = "none";
  pe.canonical = "";
  pe.digest = Sha256Hex(pe.canonical);
  return pe;
}

// ---- the parser -------------------------------------------------------------

struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class Parser final : public family::SpecErrors {
 public:
  Parser(std::string path, std::string base_dir, const family::Catalog& catalog)
      : path_(std::move(path)), base_dir_(std::move(base_dir)), catalog_(catalog), registry_(catalog.models()) {}

  StatusOr<StudySpec> Parse(std::string_view yaml);

 private:
  static int Line(const YAML::Node& n) { return n.Mark().line + 1; }
  void Error(int line, const std::string& field, const std::string& msg) {
    std::string e = path_ + ":" + std::to_string(line) + ": " + field + ": " + msg;
    if (std::find(errors_.begin(), errors_.end(), e) == errors_.end()) errors_.push_back(e);
  }
  void Error(const YAML::Node& at, const std::string& field, const std::string& msg) override {
    Error(Line(at), field, msg);
  }
  void Nested(const YAML::Node& at, const std::string& field, const std::string& msg, bool same_document) override {
    NestedErrors(at, field, msg, same_document);
  }
  // A nested parser's (possibly multi-line) message, one error per line.
  // Messages of parsers reading this same document start with "LINE: " and
  // name their own field (workload::ParseSynthSpec); they only need the file
  // name. Others (a platform or rt-app file) get this document's location.
  void NestedErrors(const YAML::Node& at, const std::string& field, const std::string& msg, bool same_document) {
    for (auto line : Split(msg, '\n')) {
      if (Trim(line).empty()) continue;
      size_t digits = 0;
      while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') ++digits;
      if (same_document && digits > 0 && line.substr(digits, 2) == ": ") {
        std::string e = path_ + ":" + std::string(line);
        if (std::find(errors_.begin(), errors_.end(), e) == errors_.end()) errors_.push_back(e);
      } else {
        Error(at, field, std::string(line));
      }
    }
  }

  // The entries of a map, checking for unknown and duplicate keys. Returns
  // false (with an error) if `node` is not a map.
  bool Fields(const YAML::Node& node, const std::string& field, const std::vector<std::string>& allowed,
              std::map<std::string, Entry>* out);
  std::optional<std::string> Str(const Entry& e, const std::string& field);
  std::optional<uint64_t> Uint(const YAML::Node& n, const std::string& field);

  // Adds a did-you-mean, or the model that does have the parameter, to
  // ResolveParams' "unknown parameter (known: ...)".
  std::string UnknownParamHint(const model::ModelInfo* info, const std::string& field, const std::string& msg) {
    std::string name = field.substr(field.rfind('.') + 1);
    std::vector<std::string> names;
    for (const auto& ps : info->params) names.push_back(ps.name);
    std::string hint = DidYouMean(name, names);
    if (hint.empty()) {
      for (const auto* other : registry_.List()) {
        for (const auto& ps : other->params)
          if (ps.name == name && hint.empty() && other != info) hint = " (a parameter of model " + other->name + ")";
      }
    }
    return "unknown parameter" + hint + msg.substr(std::string("unknown parameter").size());
  }

  void DetermineFamily(const std::map<std::string, Entry>& top);
  // "the study's models are of family 'sched' (variant 'a', model test.cfs)"
  std::string FamilyOrigin() const {
    return "the study's models are of family '" + family_ + "' (" + family_variant_ + ")";
  }
  void ParseSeeds(const std::map<std::string, Entry>& top, StudySpec* spec);
  void ParsePlatforms(const Entry& e, StudySpec* spec);
  void ParseWorkloads(const Entry& e, StudySpec* spec);
  bool ParseTransport(std::map<std::string, Entry>& fields, const std::string& f, WorkloadEntry* we);
  // A family a study can be of: one with workload kinds.
  bool IsSupportedFamily(const std::string& family) const {
    const family::FamilyInfo* f = catalog_.Find(family);
    return f && !f->kinds.empty();
  }
  std::string SupportedFamilies() const {
    std::vector<std::string> names;
    for (const auto* f : catalog_.List())
      if (!f->kinds.empty()) names.push_back(f->name);
    return Join(names, ", ");
  }
  // The study family's table entry (null while the family is unknown).
  const family::FamilyInfo* Family() const { return family_.empty() ? nullptr : catalog_.Find(family_); }
  void ParseVariants(const std::map<std::string, Entry>& top, StudySpec* spec);
  void ParseReference(const std::map<std::string, Entry>& top, StudySpec* spec);
  void ParseMetrics(const std::map<std::string, Entry>& top, StudySpec* spec);
  void ParseGate(const Entry& e, StudySpec* spec);

  std::string path_;
  std::string base_dir_;
  const family::Catalog& catalog_;
  const model::Registry& registry_;
  std::vector<std::string> errors_;
  // Models of the base variants that resolved (for metric checks).
  std::vector<const model::ModelInfo*> models_;
  int top_line_ = 1;
  bool variants_incomplete_ = false;  // some variant failed to parse
  // The study's family: that of the first variant whose model is known and of
  // a supported family ("" if none is); family_variant_ names that variant.
  std::string family_;
  std::string family_variant_;
};

bool Parser::Fields(const YAML::Node& node, const std::string& field, const std::vector<std::string>& allowed,
                    std::map<std::string, Entry>* out) {
  if (!node.IsMap()) {
    Error(node, field.empty() ? "(document)" : field, "expected a mapping");
    return false;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    YAML::Node k = it->first;
    std::string key = k.IsScalar() ? k.Scalar() : "?";
    std::string f = field.empty() ? key : field + "." + key;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      Error(k, f, "unknown field" + DidYouMean(key, allowed) + " (allowed: " + Join(allowed, ", ") + ")");
      continue;
    }
    if (out->count(key)) {
      Error(k, f, "duplicate field (first at line " + std::to_string(Line((*out)[key].key_node)) + ")");
      continue;
    }
    (*out)[key] = Entry{key, k, it->second};
  }
  return true;
}

std::optional<std::string> Parser::Str(const Entry& e, const std::string& field) {
  if (!e.value.IsScalar()) {
    Error(e.value.IsNull() ? e.key_node : e.value, field, "expected a string");
    return std::nullopt;
  }
  return e.value.Scalar();
}

std::optional<uint64_t> Parser::Uint(const YAML::Node& n, const std::string& field) {
  if (n.IsScalar()) {
    if (auto v = ParseUint(n.Scalar())) return v;
  }
  Error(n, field, "expected a non-negative integer" + (n.IsScalar() ? ", got '" + n.Scalar() + "'" : ""));
  return std::nullopt;
}

void Parser::DetermineFamily(const std::map<std::string, Entry>& top) {
  auto it = top.find("variants");
  if (it == top.end() || !it->second.value.IsSequence()) return;
  const YAML::Node& n = it->second.value;
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node v = n[i];
    if (!v.IsMap()) continue;
    const YAML::Node m = v["model"];
    if (!m || !m.IsScalar()) continue;
    const model::ModelInfo* info = registry_.Find(m.Scalar());
    if (!info || !IsSupportedFamily(info->family)) continue;
    const YAML::Node name = v["name"];
    family_ = info->family;
    family_variant_ = (name && name.IsScalar() ? "variant '" + name.Scalar() + "'"
                                               : "variants[" + std::to_string(i) + "]") +
                      ", model " + info->name;
    return;
  }
}

void Parser::ParseSeeds(const std::map<std::string, Entry>& top, StudySpec* spec) {
  auto it = top.find("seeds");
  if (it == top.end()) return;
  const YAML::Node& n = it->second.value;
  auto base_it = top.find("base_seed");
  if (n.IsSequence()) {
    if (base_it != top.end())
      Error(base_it->second.key_node, "base_seed", "only allowed when seeds is a count, not a list");
    if (n.size() == 0) Error(n, "seeds", "the list is empty");
    std::set<uint64_t> seen;
    for (size_t i = 0; i < n.size(); ++i) {
      std::string f = "seeds[" + std::to_string(i) + "]";
      auto v = Uint(n[i], f);
      if (!v) continue;
      if (!seen.insert(*v).second) {
        Error(n[i], f, "duplicate seed " + std::to_string(*v));
        continue;
      }
      spec->seeds.push_back(*v);
    }
    return;
  }
  auto count = Uint(n, "seeds");
  uint64_t base = 1;
  if (base_it != top.end()) {
    auto b = Uint(base_it->second.value, "base_seed");
    if (!b) return;
    base = *b;
  }
  if (!count) return;
  constexpr uint64_t kMaxSeeds = 100000;
  if (*count == 0 || *count > kMaxSeeds) {
    Error(n, "seeds", "count must be in [1, " + std::to_string(kMaxSeeds) + "]");
    return;
  }
  if (base > UINT64_MAX - (*count - 1)) {
    Error(n, "seeds", "base_seed + seeds overflows 64 bits");
    return;
  }
  for (uint64_t i = 0; i < *count; ++i) spec->seeds.push_back(base + i);
}

// `platforms:`: each entry resolved by the study family (its system catalog).
void Parser::ParsePlatforms(const Entry& e, StudySpec* spec) {
  const YAML::Node& n = e.value;
  if (!n.IsSequence() || n.size() == 0) {
    Error(n.IsNull() ? e.key_node : n, "platforms", "expected a non-empty list of platform names or files");
    return;
  }
  // While the family is unknown (its error is reported at the variants), the
  // one family with systems, if there is one, still checks the entries.
  const family::FamilyInfo* fam = Family();
  if (!fam) {
    for (const auto* f : catalog_.List()) {
      if (!f->has_systems) continue;
      if (fam) return;  // several: nothing to check against
      fam = f;
    }
  }
  if (!fam || !fam->resolve_system) return;
  std::map<std::string, int> names;  // name -> line of first use
  for (size_t i = 0; i < n.size(); ++i) {
    std::string f = "platforms[" + std::to_string(i) + "]";
    auto se = fam->resolve_system({n[i], n[i]}, f, base_dir_, *this);
    if (!se) continue;
    if (auto [it, fresh] = names.emplace(se->name, Line(n[i])); !fresh) {
      Error(n[i], f, "platform '" + se->name + "' listed twice (first at line " + std::to_string(it->second) + ")");
      continue;
    }
    PlatformEntry pe;
    pe.name = std::move(se->name);
    pe.source = std::move(se->source);
    pe.system = std::move(se->system);
    pe.canonical = std::move(se->canonical);
    pe.digest = Sha256Hex(pe.canonical);
    pe.config = std::move(se->config);
    pe.cpus = se->cpus;
    spec->platforms.push_back(std::move(pe));
  }
}

// "'a' or 'b'", "'a', 'b' or 'c'"
std::string Choices(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i)
    out += (i == 0 ? "" : i + 1 == keys.size() ? " or " : ", ") + ("'" + keys[i] + "'");
  return out;
}

void Parser::ParseWorkloads(const Entry& e, StudySpec* spec) {
  const YAML::Node& n = e.value;
  if (!n.IsSequence() || n.size() == 0) {
    Error(n.IsNull() ? e.key_node : n, "workloads", "expected a non-empty list of workloads");
    return;
  }
  // Every family's kinds are recognised (a wrong one gets a precise error);
  // the study family's are the ones allowed. Kinds are listed family by
  // family, the study's first.
  std::vector<const family::FamilyInfo*> families;
  if (const family::FamilyInfo* own = Family()) families.push_back(own);
  for (const auto* f : catalog_.List())
    if (f->name != family_ && !f->kinds.empty()) families.push_back(f);
  std::vector<std::string> allowed = {"name"}, all_kinds, own_kinds;
  for (const auto* f : families) {
    for (const auto& k : f->kinds) {
      all_kinds.push_back(k.key);
      if (f->name == family_) own_kinds.push_back(k.key);
      allowed.push_back(k.key);
    }
  }
  allowed.push_back("transport");
  for (const auto* f : families)
    for (const auto& k : f->kinds)
      for (const auto& o : k.options)
        if (std::find(allowed.begin(), allowed.end(), o) == allowed.end()) allowed.push_back(o);
  std::set<std::string> names;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string f = "workloads[" + std::to_string(i) + "]";
    std::map<std::string, Entry> fields;
    if (!Fields(n[i], f, allowed, &fields)) continue;
    WorkloadEntry we;
    bool ok = true;
    if (auto it = fields.find("name"); it == fields.end()) {
      Error(n[i], f + ".name", "required field missing");
      ok = false;
    } else if (auto s = Str(it->second, f + ".name")) {
      we.name = *s;
      if (!IsName(we.name)) {
        Error(it->second.value, f + ".name", "'" + we.name + "' must match [a-z0-9._-]+");
        ok = false;
      } else if (!names.insert(we.name).second) {
        Error(it->second.value, f + ".name", "duplicate workload name '" + we.name + "'");
        ok = false;
      }
    } else {
      ok = false;
    }
    std::vector<std::string> kinds;
    for (const auto& k : all_kinds)
      if (fields.count(k)) kinds.push_back(k);
    if (kinds.size() != 1) {
      Error(n[i], f, "exactly one of " + Choices(family_.empty() ? all_kinds : own_kinds) + " is required" +
                         (kinds.size() > 1 ? " (got " + Join(kinds, ", ") + ")" : ""));
      continue;
    }
    we.kind = kinds.front();
    const Entry& ke = fields[we.kind];
    auto [kind_family, kind] = catalog_.FindKind(we.kind);
    if (!family_.empty() && kind_family->name != family_) {
      Error(ke.key_node, f + "." + we.kind,
            kind_family->workload_noun + " needs a " + kind_family->name + " study, but " + FamilyOrigin() +
                " (allowed here: " + Join(own_kinds, ", ") + "; one family per study)");
      continue;
    }
    bool stray = false;
    for (const auto& [key, entry] : fields) {
      if (key == "name" || key == "transport" || key == we.kind) continue;
      if (std::find(kind->options.begin(), kind->options.end(), key) != kind->options.end()) continue;
      // Another kind's option: name the kinds that take it.
      std::vector<std::string> takers;
      for (const auto* fam : families)
        for (const auto& k : fam->kinds)
          if (std::find(k.options.begin(), k.options.end(), key) != k.options.end()) takers.push_back(k.key);
      Error(entry.key_node, f + "." + key, "only for a " + Join(takers, " or ") + " workload");
      stray = true;
    }
    if (stray) continue;
    we.kind_info = kind;
    we.transport = kind->generated ? WorkloadEntry::Transport::kGenerate : WorkloadEntry::Transport::kTrace;
    family::KindInput input;
    input.entry = {ke.key_node, ke.value};
    for (const auto& o : kind->options)
      if (auto it = fields.find(o); it != fields.end()) input.options[o] = {it->second.key_node, it->second.value};
    input.field = f;
    input.base_dir = base_dir_;
    input.errors = this;
    // Transport first when the kind parses files, as errors are collected in order.
    bool transport_ok = ParseTransport(fields, f, &we);
    auto parsed = kind->parse(input);
    if (!parsed || !transport_ok) continue;
    we.parsed = std::move(*parsed);
    // Against every platform (parsed before the workloads), so a misfit is
    // an error here rather than a failed run.
    bool fits = true;
    if (kind->check_system) {
      for (const PlatformEntry& p : spec->platforms) {
        const std::optional<family::Misfit> why = kind->check_system(we.parsed, p.system);
        if (!why) continue;
        // The line of the deepest key of the path that the entry has.
        YAML::Node at = ke.value;
        for (std::string_view part : Split(why->path, '.')) {
          const std::string k(part);
          if (k.empty() || !at.IsMap() || !at[k]) break;
          at = at[k];
        }
        Error(at, f + "." + we.kind + (why->path.empty() ? "" : "." + why->path),
              why->message + " (platform " + p.name + ")");
        fits = false;
      }
    }
    if (ok && fits) spec->workloads.push_back(std::move(we));
  }
}

// `transport:`: generated kinds may travel as their generator text (the
// default) or as a trace; the others always travel as a trace.
bool Parser::ParseTransport(std::map<std::string, Entry>& fields, const std::string& f, WorkloadEntry* we) {
  auto t = fields.find("transport");
  if (t == fields.end()) return true;
  auto v = Str(t->second, f + ".transport");
  if (!v) return false;
  if (!we->kind_info->generated) {
    if (*v == "trace") return true;
    Error(t->second.value, f + ".transport", we->kind_info->noun + " travels as a trace (allowed: trace)");
    return false;
  }
  if (*v == "trace") {
    we->transport = WorkloadEntry::Transport::kTrace;
  } else if (*v != "generate") {
    Error(t->second.value, f + ".transport", "unknown transport '" + *v + "' (allowed: generate, trace)");
    return false;
  }
  return true;
}

struct GridAxis {
  std::string key;
  std::string field;  // "grid.key" or "variants[i].grid.key", for errors
  int line = 0;
  std::vector<model::ParamValue> values;
  std::vector<std::string> texts;  // as written, for variant names
};

struct BaseVariant {
  std::string name;
  const model::ModelInfo* info = nullptr;
  std::map<std::string, model::ParamValue> given;
  std::map<std::string, int> param_line;
  int line = 0;
  size_t index = 0;
  const YAML::Node* grid_node = nullptr;  // the variant's own `grid:`, parsed once the study grid is known
  YAML::Node grid_key;
  std::vector<GridAxis> own_grid;         // expands this variant only, inside the study grid
};

void Parser::ParseVariants(const std::map<std::string, Entry>& top, StudySpec* spec) {
  auto vit = top.find("variants");
  if (vit == top.end()) return;
  const YAML::Node& n = vit->second.value;
  if (!n.IsSequence() || n.size() == 0) {
    Error(n.IsNull() ? vit->second.key_node : n, "variants", "expected a non-empty list of variants");
    return;
  }
  std::vector<BaseVariant> bases;
  std::deque<YAML::Node> variant_grids;  // stable addresses for BaseVariant::grid_node
  std::set<std::string> names;
  bool all_ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string f = "variants[" + std::to_string(i) + "]";
    std::map<std::string, Entry> fields;
    if (!Fields(n[i], f, {"name", "model", "params", "grid"}, &fields)) {
      all_ok = false;
      continue;
    }
    BaseVariant b;
    b.line = Line(n[i]);
    b.index = i;
    bool ok = true;
    if (auto it = fields.find("name"); it == fields.end()) {
      Error(n[i], f + ".name", "required field missing");
      ok = false;
    } else if (auto s = Str(it->second, f + ".name")) {
      b.name = *s;
      if (!IsName(b.name)) {
        Error(it->second.value, f + ".name", "'" + b.name + "' must match [a-z0-9._-]+");
        ok = false;
      } else if (!names.insert(b.name).second) {
        Error(it->second.value, f + ".name", "duplicate variant name '" + b.name + "'");
        ok = false;
      }
    } else {
      ok = false;
    }
    if (auto it = fields.find("model"); it == fields.end()) {
      Error(n[i], f + ".model", "required field missing");
      ok = false;
    } else if (auto s = Str(it->second, f + ".model")) {
      b.info = registry_.Find(*s);
      if (!b.info && registry_.Reserved(*s)) {
        Error(it->second.value, f + ".model", "model '" + *s + "' is reserved and not built yet (" + *registry_.Reserved(*s) + ")");
        ok = false;
      } else if (!b.info) {
        auto known = registry_.Names();
        Error(it->second.value, f + ".model",
              "unknown model '" + *s + "'" + DidYouMean(*s, known) + " (known: " + Join(known, ", ") + ")");
        ok = false;
      } else if (!IsSupportedFamily(b.info->family)) {
        Error(it->second.value, f + ".model",
              "model '" + *s + "' is of family '" + b.info->family +
                  "', which study specs do not support (supported: " + SupportedFamilies() + ")");
        b.info = nullptr;
        ok = false;
      } else if (b.info->family != family_) {
        // Workloads (and platforms) are of one family, so the models must be.
        Error(it->second.value, f + ".model",
              "model '" + *s + "' is of family '" + b.info->family + "', but " + FamilyOrigin() +
                  ": all variants of a study share one family (put them in separate studies)");
        b.info = nullptr;
        ok = false;
      }
    } else {
      ok = false;
    }
    if (auto it = fields.find("params"); it != fields.end() && !it->second.value.IsNull()) {
      const YAML::Node& p = it->second.value;
      if (!p.IsMap()) {
        Error(p, f + ".params", "expected a mapping of parameter: value");
        ok = false;
      } else {
        for (auto pit = p.begin(); pit != p.end(); ++pit) {
          std::string key = pit->first.Scalar();
          std::string pf = f + ".params." + key;
          if (!pit->second.IsScalar()) {
            Error(pit->second, pf, "expected a scalar value");
            ok = false;
            continue;
          }
          if (b.given.count(key)) {
            Error(pit->first, pf, "duplicate parameter");
            ok = false;
            continue;
          }
          b.given[key] = ScalarToParam(pit->second);
          b.param_line[key] = Line(pit->first);
        }
      }
    }
    if (auto it = fields.find("grid"); it != fields.end() && !it->second.value.IsNull()) {
      variant_grids.push_back(it->second.value);
      b.grid_key = it->second.key_node;
      b.grid_node = &variant_grids.back();
    }
    if (ok) {
      models_.push_back(b.info);
      bases.push_back(std::move(b));
    } else {
      all_ok = false;
    }
  }

  // Grid axes, in document order: `field` is "grid" for the study grid (every
  // variant in `targets`) or "variants[i].grid" for one variant's own.
  auto parse_axes = [&](const YAML::Node& g, const std::string& field, const std::vector<BaseVariant*>& targets,
                        const std::vector<GridAxis>& outer) {
    std::vector<GridAxis> axes;
    if (!g.IsMap()) Error(g, field, "expected a mapping of parameter: [values]");
    std::set<std::string> keys;
    for (auto it = g.begin(); g.IsMap() && it != g.end(); ++it) {
      GridAxis axis;
      axis.key = it->first.Scalar();
      axis.line = Line(it->first);
      axis.field = field + "." + axis.key;
      const std::string& f = axis.field;
      if (!keys.insert(axis.key).second) {
        Error(it->first, f, "duplicate grid parameter");
        continue;
      }
      bool ok = true;
      for (const auto& o : outer) {
        if (o.key == axis.key) {
          Error(it->first, f, "also swept by " + o.field + " (line " + std::to_string(o.line) + "): sweep it in one place");
          ok = false;
        }
      }
      YAML::Node vals = it->second;
      if (!vals.IsSequence() || vals.size() == 0) {
        Error(vals.IsNull() ? it->first : vals, f, "expected a non-empty list of values");
        continue;
      }
      std::set<std::string> seen;
      for (size_t i = 0; i < vals.size(); ++i) {
        std::string vf = f + "[" + std::to_string(i) + "]";
        if (!vals[i].IsScalar()) {
          Error(vals[i], vf, "expected a scalar value");
          ok = false;
          continue;
        }
        if (!seen.insert(vals[i].Scalar()).second) {
          Error(vals[i], vf, "duplicate value '" + vals[i].Scalar() + "'");
          ok = false;
          continue;
        }
        axis.values.push_back(ScalarToParam(vals[i]));
        axis.texts.push_back(vals[i].Scalar());
      }
      if (!ok) continue;
      for (const BaseVariant* b : targets) {
        bool known = false;
        for (const auto& ps : b->info->params) known |= ps.name == axis.key;
        if (!known) {
          std::vector<std::string> pnames;
          for (const auto& ps : b->info->params) pnames.push_back(ps.name);
          Error(it->first, f,
                "not a parameter of model " + b->info->name + " (variant '" + b->name + "')" +
                    DidYouMean(axis.key, pnames) +
                    (field == "grid" ? " (a parameter of some variants only: give those a `grid:` of their own)" : ""));
          ok = false;
        }
        if (auto pl = b->param_line.find(axis.key); pl != b->param_line.end()) {
          Error(pl->second, "variants[" + std::to_string(b->index) + "].params." + axis.key,
                "also set by " + f + " (line " + std::to_string(axis.line) + "): set it in one place");
          ok = false;
        }
      }
      if (ok) axes.push_back(std::move(axis));
    }
    return axes;
  };
  std::vector<GridAxis> grid;
  if (auto git = top.find("grid"); git != top.end() && !git->second.value.IsNull()) {
    std::vector<BaseVariant*> all;
    for (auto& b : bases) all.push_back(&b);
    grid = parse_axes(git->second.value, "grid", all, {});
  }
  for (auto& b : bases)
    if (b.grid_node) b.own_grid = parse_axes(*b.grid_node, "variants[" + std::to_string(b.index) + "].grid", {&b}, grid);
  // Carry on with the variants that parsed, so that their parameter errors
  // are reported too; the spec as a whole is already invalid.
  variants_incomplete_ = !all_ok;

  // Cartesian product, first axis outermost: the study grid, then the
  // variant's own axes.
  size_t shared_points = 1;
  for (const auto& a : grid) shared_points *= a.values.size();
  size_t total = 0;
  for (const auto& b : bases) {
    size_t own = 1;
    for (const auto& a : b.own_grid) own *= a.values.size();
    total += shared_points * own;
  }
  constexpr size_t kMaxVariants = 10000;
  if (total > kMaxVariants) {
    Error(grid.empty() ? vit->second.key_node : top.at("grid").key_node, grid.empty() ? "variants" : "grid",
          "expands to more than " + std::to_string(kMaxVariants) + " variants");
    return;
  }
  // Two variants with the same model and parameters would produce the same
  // run keys: one result would stand for both, which is never what was meant.
  std::map<std::string, std::string> seen_runs;  // model + params -> variant name
  for (const auto& b : bases) {
    std::string prefix = "variants[" + std::to_string(b.index) + "].params";
    std::vector<GridAxis> axes = grid;
    axes.insert(axes.end(), b.own_grid.begin(), b.own_grid.end());
    size_t points = 1;
    for (const auto& a : axes) points *= a.values.size();
    for (size_t p = 0; p < points; ++p) {
      auto given = b.given;
      size_t rem = p;
      std::vector<size_t> idx(axes.size());
      for (size_t a = axes.size(); a-- > 0;) {
        idx[a] = rem % axes[a].values.size();
        rem /= axes[a].values.size();
      }
      for (size_t a = 0; a < axes.size(); ++a) given[axes[a].key] = axes[a].values[idx[a]];
      // An int parameter with a time unit also takes a duration ("4ms"), one
      // in bytes a byte size ("512MiB"). Problems are "prefix.name: msg"
      // lines like ResolveParams' own.
      std::vector<std::string> problems;
      for (const auto& ps : b.info->params) {
        auto g = given.find(ps.name);
        if (g == given.end()) continue;
        if (std::string why = ConvertUnitString(ps, &g->second); !why.empty()) {
          problems.push_back(prefix + "." + ps.name + ": " + why);
          given.erase(g);  // reported here; not again as a type error
        }
      }
      auto resolved = model::ResolveParams(b.info->params, given, prefix);
      if (!resolved.ok()) {
        for (auto line : Split(resolved.status().message(), '\n')) problems.emplace_back(line);
      }
      if (!problems.empty()) {
        // Map each "prefix.name: msg" line to the line that set the value.
        for (const std::string& l : problems) {
          int at = b.line;
          std::string field = prefix, msg = l;
          if (l.rfind(prefix + ".", 0) == 0) {
            size_t colon = l.find(": ", prefix.size());
            std::string name = l.substr(prefix.size() + 1, colon == std::string::npos ? std::string::npos
                                                                                       : colon - prefix.size() - 1);
            field = prefix + "." + name;
            msg = colon == std::string::npos ? "" : l.substr(colon + 2);
            if (auto pl = b.param_line.find(name); pl != b.param_line.end()) at = pl->second;
            for (const auto& a : axes) {
              if (a.key == name) {
                at = a.line;
                field = a.field;
                msg += " (model " + b.info->name + ")";
              }
            }
          }
          if (msg.rfind("unknown parameter", 0) == 0) msg = UnknownParamHint(b.info, field, msg);
          Error(at, field, msg);
        }
        continue;
      }
      Variant v;
      v.base_name = b.name;
      v.model = b.info->name;
      v.model_version = b.info->version;
      v.params = std::move(resolved).value();
      for (size_t a = 0; a < axes.size(); ++a)
        v.grid.push_back(GridCoord{axes[a].key, axes[a].texts[idx[a]], v.params.values().at(axes[a].key)});
      v.shared_coords = grid.size();
      v.name = VariantName(v.base_name, v.grid);
      auto [dup, fresh] = seen_runs.emplace(v.model + "\n" + v.params.Canonical(), v.name);
      if (!fresh) {
        Error(b.line, "variants[" + std::to_string(b.index) + "]",
              "'" + v.name + "' has the same model and parameters as '" + dup->second + "'");
        continue;
      }
      spec->variants.push_back(std::move(v));
    }
  }
}

void Parser::ParseReference(const std::map<std::string, Entry>& top, StudySpec* spec) {
  if (spec->variants.empty()) return;
  std::string ref = spec->variants.front().base_name;
  int line = top_line_;
  if (auto it = top.find("reference"); it != top.end()) {
    auto s = Str(it->second, "reference");
    if (!s) return;
    ref = *s;
    line = Line(it->second.value);
  }
  spec->reference = ref;
  bool is_base = false;
  for (const auto& v : spec->variants) is_base |= v.base_name == ref;
  if (is_base) {
    for (const auto& v : spec->variants) {
      if (v.base_name == ref && v.own_grid()) {
        Error(line, "reference",
              std::string(top.count("reference") ? "" : "the default reference is the first variant: ") + "variant '" +
                  ref + "' sweeps a grid of its own, so it names several variants: name one of them in `reference:`, "
                  "e.g. '" + v.name + "'");
        return;
      }
    }
    for (auto& v : spec->variants) {
      if (v.base_name == ref) continue;
      v.compare_to = VariantName(ref, v.shared_grid());
    }
    return;
  }
  if (spec->FindVariant(ref) >= 0) {
    for (auto& v : spec->variants)
      if (v.name != ref) v.compare_to = ref;
    return;
  }
  if (variants_incomplete_) return;  // the reference may be a variant that failed
  std::vector<std::string> names;
  for (const auto& v : spec->variants) {
    if (std::find(names.begin(), names.end(), v.base_name) == names.end()) names.push_back(v.base_name);
  }
  for (const auto& v : spec->variants)
    if (v.name != v.base_name) names.push_back(v.name);
  Error(line, "reference", "unknown variant '" + ref + "'" + DidYouMean(ref, names) + " (variants: " +
                               Join(names, ", ") + ")");
}

void Parser::ParseMetrics(const std::map<std::string, Entry>& top, StudySpec* spec) {
  if (models_.empty()) return;
  auto declared = [](const model::ModelInfo* m, const std::string& name) {
    for (const auto& ms : m->metrics)
      if (MetricNameMatches(ms.name, name)) return true;
    return false;
  };
  auto it = top.find("metrics");
  if (it == top.end()) {
    for (const auto& ms : models_.front()->metrics) {
      if (ms.name.find('<') != std::string::npos) continue;  // a pattern, not a metric
      bool everywhere = true;
      for (const auto* m : models_) everywhere &= declared(m, ms.name);
      if (everywhere) spec->metrics.push_back(ms.name);
    }
    return;
  }
  const YAML::Node& n = it->second.value;
  if (!n.IsSequence() || n.size() == 0) {
    Error(n.IsNull() ? it->second.key_node : n, "metrics", "expected a non-empty list of metric names");
    return;
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string f = "metrics[" + std::to_string(i) + "]";
    if (!n[i].IsScalar()) {
      Error(n[i], f, "expected a metric name");
      continue;
    }
    std::string name = n[i].Scalar();
    if (!seen.insert(name).second) {
      Error(n[i], f, "duplicate metric '" + name + "'");
      continue;
    }
    std::vector<std::string> lacking, having;  // model names, first-use order
    for (const auto* m : models_) {
      auto& list = declared(m, name) ? having : lacking;
      if (std::find(list.begin(), list.end(), m->name) == list.end()) list.push_back(m->name);
    }
    if (lacking.empty()) {
      spec->metrics.push_back(name);
      continue;
    }
    // One error per metric: the known names of the first lacking model.
    std::vector<std::string> known;
    for (const auto& ms : registry_.Find(lacking.front())->metrics) known.push_back(ms.name);
    std::string msg = "'" + name + "' is not a metric of model" + (lacking.size() > 1 ? "s " : " ") +
                      Join(lacking, ", ") + DidYouMean(name, known);
    msg += having.empty() ? " (declared: " + Join(known, ", ") + ")"
                          : " (only of " + Join(having, ", ") + "; every variant's model must declare it)";
    Error(n[i], f, msg);
  }
}

void Parser::ParseGate(const Entry& e, StudySpec* spec) {
  std::map<std::string, Entry> g;
  if (!Fields(e.value, "gate", {"baseline", "alpha", "fail_if"}, &g)) return;
  spec->gate.present = true;
  if (auto it = g.find("baseline"); it != g.end()) {
    if (auto s = Str(it->second, "gate.baseline")) {
      spec->gate.baseline = ResolvePath(base_dir_, *s);
    }
  }
  if (auto it = g.find("alpha"); it != g.end()) {
    const YAML::Node& n = it->second.value;
    auto a = n.IsScalar() ? ParseDouble(n.Scalar()) : std::nullopt;
    if (!a || !(*a > 0 && *a < 1))
      Error(n, "gate.alpha", "expected a level in (0, 1), e.g. 0.05");
    else
      spec->gate.alpha = *a;
  }
  if (spec->seeds.size() == 1)
    Error(e.key_node, "gate",
          "the gate pairs runs by seed and needs at least 2 seeds (seeds: 1); a replay that ignores the seed then "
          "gives equal differences and an exact verdict");
  auto it = g.find("fail_if");
  if (it == g.end()) {
    Error(e.key_node, "gate.fail_if", "required field missing (a list of rules like \"energy:+3%\")");
    return;
  }
  const YAML::Node& n = it->second.value;
  if (!n.IsSequence() || n.size() == 0) {
    Error(n.IsNull() ? it->second.key_node : n, "gate.fail_if", "expected a non-empty list of rules like \"energy:+3%\"");
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    std::string f = "gate.fail_if[" + std::to_string(i) + "]";
    if (!n[i].IsScalar()) {
      Error(n[i], f, "expected a rule like \"energy:+3%\"");
      continue;
    }
    std::string text = n[i].Scalar();
    std::string metric(Trim(text.substr(0, text.rfind(':'))));
    // The metric's declared direction. Some model of the study must report
    // it (groups whose model does not are skipped, with a note, at gate time).
    model::Better better = model::Better::kNone;
    std::vector<std::string> lacking, distinct, known;
    for (const auto* m : models_) {
      if (std::find(distinct.begin(), distinct.end(), m->name) != distinct.end()) continue;
      distinct.push_back(m->name);
      bool has = false;
      for (const auto& ms : m->metrics)
        if (ms.name == metric) {
          has = true;
          if (better == model::Better::kNone) better = ms.better;
        }
      if (!has) lacking.push_back(m->name);
    }
    if (!distinct.empty() && lacking.size() == distinct.size()) {
      for (const auto& ms : models_.front()->metrics) known.push_back(ms.name);
      Error(n[i], f, "'" + metric + "' is not a metric of model " + Join(lacking, ", ") + DidYouMean(metric, known));
      continue;
    }
    auto rule = ParseGateRule(text, better, "");
    if (!rule.ok()) {
      std::string msg = rule.status().message();
      if (msg.rfind(": ", 0) == 0) msg.erase(0, 2);
      Error(n[i], f, msg);
      continue;
    }
    spec->gate.fail_if.push_back(*rule);
  }
}

StatusOr<StudySpec> Parser::Parse(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path_ + ":" + std::to_string(e.mark.line + 1) + ": (document): YAML syntax error: " +
                           e.msg);
  }
  StudySpec spec;
  spec.path = path_;
  spec.yaml = std::string(yaml);
  std::map<std::string, Entry> top;
  try {
    if (!root.IsDefined() || root.IsNull()) return InvalidArgument(path_ + ":1: (document): the spec is empty");
    top_line_ = Line(root);
    const std::vector<std::string> allowed = {"study",     "description", "seeds", "base_seed", "platforms",
                                              "workloads", "variants",    "grid",  "reference", "metrics",
                                              "gate"};
    if (!Fields(root, "", allowed, &top)) return InvalidArgument(Join(errors_, "\n"));
    DetermineFamily(top);
    spec.family = family_;
    // Platforms belong to families with systems. Without a known model the
    // workloads' kinds tell whether they are wanted.
    const family::FamilyInfo* fam = Family();
    bool no_systems = fam && !fam->has_systems;
    if (!fam) {
      if (auto it = top.find("workloads"); it != top.end() && it->second.value.IsSequence()) {
        for (const auto& w : it->second.value) {
          if (!w.IsMap()) continue;
          for (auto kv = w.begin(); kv != w.end(); ++kv) {
            if (!kv->first.IsScalar()) continue;
            auto [kind_family, kind] = catalog_.FindKind(kv->first.Scalar());
            no_systems |= kind_family && !kind_family->has_systems;
          }
        }
      }
    }
    for (const char* req : {"study", "seeds", "platforms", "workloads", "variants"}) {
      if (req == std::string("platforms") && no_systems) continue;
      if (!top.count(req)) Error(top_line_, req, "required field missing");
    }
    if (auto it = top.find("study"); it != top.end()) {
      if (auto s = Str(it->second, "study")) {
        spec.name = *s;
        if (!IsName(spec.name)) Error(it->second.value, "study", "'" + spec.name + "' must match [a-z0-9._-]+");
      }
    }
    if (auto it = top.find("description"); it != top.end() && !it->second.value.IsNull()) {
      if (auto s = Str(it->second, "description")) spec.description = *s;
    }
    ParseSeeds(top, &spec);
    if (auto it = top.find("platforms"); it != top.end()) {
      if (fam && !fam->has_systems) {
        Error(it->second.key_node, "platforms",
              "a " + family_ + " study takes no platforms: " + FamilyOrigin() + ", " + fam->no_systems_hint);
      } else {
        ParsePlatforms(it->second, &spec);
      }
    }
    if (fam && !fam->has_systems) spec.platforms.push_back(NoPlatformEntry());
    if (auto it = top.find("workloads"); it != top.end()) ParseWorkloads(it->second, &spec);
    ParseVariants(top, &spec);
    ParseReference(top, &spec);
    ParseMetrics(top, &spec);
    if (auto it = top.find("gate"); it != top.end()) ParseGate(it->second, &spec);
  } catch (const YAML::Exception& e) {
    // Defensive: the accessors above check node kinds first, so this means a
    // malformed document shape we did not anticipate.
    Error(e.mark.line + 1, "(document)", e.what());
  }
  if (!errors_.empty()) return InvalidArgument(Join(errors_, "\n"));
  return spec;
}


}  // namespace

std::string GridPointText(std::span<const GridCoord> coords) {
  std::string out;
  for (const GridCoord& c : coords) out += (out.empty() ? "" : ",") + c.key + "=" + c.text;
  return out;
}

std::string VariantName(const std::string& base, std::span<const GridCoord> coords) {
  return coords.empty() ? base : base + "[" + GridPointText(coords) + "]";
}

int StudySpec::FindVariant(const std::string& variant_name) const {
  for (size_t i = 0; i < variants.size(); ++i)
    if (variants[i].name == variant_name) return static_cast<int>(i);
  return -1;
}

StatusOr<StudySpec> ParseStudySpec(std::string_view yaml, const std::string& path_for_errors,
                                   const std::string& base_dir, const family::Catalog& catalog) {
  Parser p(path_for_errors, base_dir, catalog);
  return p.Parse(yaml);
}

StatusOr<StudySpec> LoadStudySpec(const std::string& path, const family::Catalog& catalog) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  return ParseStudySpec(*text, path, base_dir, catalog);
}

std::vector<RunSpec> ExpandRuns(const StudySpec& spec) {
  std::vector<RunSpec> runs;
  runs.reserve(spec.variants.size() * spec.platforms.size() * spec.workloads.size() * spec.seeds.size());
  for (size_t v = 0; v < spec.variants.size(); ++v) {
    const Variant& var = spec.variants[v];
    for (size_t p = 0; p < spec.platforms.size(); ++p) {
      for (size_t w = 0; w < spec.workloads.size(); ++w) {
        for (uint64_t seed : spec.seeds) {
          runs.push_back(RunSpec{v, var.model, var.model_version, var.params, p, w, seed});
        }
      }
    }
  }
  return runs;
}

StatusOr<model::AnyValue> BuildWorkload(const StudySpec& spec, size_t workload_index, uint64_t seed) {
  if (workload_index >= spec.workloads.size())
    return InvalidArgument("workload index " + std::to_string(workload_index) + " out of range (" +
                           std::to_string(spec.workloads.size()) + " workloads)");
  const WorkloadEntry& w = spec.workloads[workload_index];
  auto built = w.kind_info->build(w.parsed, seed);
  if (!built.ok()) return built.status().WithContext("workload '" + w.name + "'");
  return built;
}



}  // namespace kreplay::spec
