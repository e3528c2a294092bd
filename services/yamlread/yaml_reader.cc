#include "services/yamlread/yaml_reader.h"

#include <cmath>

#include "services/core/strings.h"
#include "services/core/units.h"

namespace kreplay::yamlread {

StatusOr<YAML::Node> YamlReader::Load(std::string_view text) const {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source_ + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Status YamlReader::Error(const YAML::Node& node, const std::string& field, const std::string& what) const {
  // yaml-cpp marks are 0-based; editors count from 1. A missing node has no mark.
  int line = node.IsDefined() && node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
  // Without a source (a part of a study spec) the line leads, as the spec
  // parser's nested messages expect: "LINE: field: what".
  std::string where = line > 0 ? (source_.empty() ? "" : source_ + ":") + std::to_string(line) : source_;
  return InvalidArgument((where.empty() ? "" : where + ": ") + field + ": " + what);
}

StatusOr<YAML::Node> YamlReader::Child(const YAML::Node& parent, const std::string& key,
                                       const std::string& field) const {
  YAML::Node n = parent[key];
  if (!n.IsDefined() || n.IsNull()) return Error(parent, field, "missing");
  return n;
}

StatusOr<std::string> YamlReader::String(const YAML::Node& parent, const std::string& key, const std::string& field,
                                         bool allow_empty) const {
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node n, Child(parent, key, field));
  if (!n.IsScalar()) return Error(n, field, "expected a string");
  std::string s = n.Scalar();
  if (!allow_empty && s.empty()) return Error(n, field, "must not be empty");
  return s;
}

StatusOr<int64_t> YamlReader::Int(const YAML::Node& parent, const std::string& key, const std::string& field,
                                  int64_t min, int64_t max) const {
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node n, Child(parent, key, field));
  if (!n.IsScalar()) return Error(n, field, "expected an integer");
  std::optional<int64_t> v = ParseInt(Trim(n.Scalar()));
  if (!v) return Error(n, field, "expected an integer, got '" + n.Scalar() + "'");
  if (*v < min || *v > max) {
    return Error(n, field, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]: " +
                               std::to_string(*v));
  }
  return *v;
}

StatusOr<double> YamlReader::Number(const YAML::Node& parent, const std::string& key, const std::string& field,
                                    double min, double max) const {
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node n, Child(parent, key, field));
  if (!n.IsScalar()) return Error(n, field, "expected a number");
  std::optional<double> v = ParseDouble(Trim(n.Scalar()));
  if (!v) return Error(n, field, "expected a number, got '" + n.Scalar() + "'");
  if (!std::isfinite(*v) || *v < min || *v > max) {
    if (min == 0 && max == 1e12) return Error(n, field, "must be a finite non-negative number");
    return Error(n, field, "must be a finite number in [" + FormatDouble(min) + ", " + FormatDouble(max) + "]");
  }
  return *v;
}

StatusOr<bool> YamlReader::Bool(const YAML::Node& parent, const std::string& key, const std::string& field) const {
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node n, Child(parent, key, field));
  if (n.IsScalar() && n.Scalar() == "true") return true;
  if (n.IsScalar() && n.Scalar() == "false") return false;
  return Error(n, field, "expected true or false");
}

StatusOr<int64_t> YamlReader::Duration(const YAML::Node& parent, const std::string& key, const std::string& field,
                                       int64_t min, int64_t max) const {
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node n, Child(parent, key, field));
  if (!n.IsScalar()) return Error(n, field, "expected a duration such as 100ms");
  auto d = ParseDuration(n.Scalar());
  if (!d.ok()) return Error(n, field, d.status().message());
  if (*d < min || *d > max) return Error(n, field, "must be in " + std::to_string(min) + ".." + std::to_string(max) + " ns (got '" + n.Scalar() + "')");
  return *d;
}

StatusOr<uint64_t> YamlReader::Bytes(const YAML::Node& parent, const std::string& key, const std::string& field,
                                     uint64_t min, uint64_t max) const {
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node n, Child(parent, key, field));
  if (!n.IsScalar()) return Error(n, field, "expected a size such as 64MiB");
  auto b = ParseByteSize(n.Scalar());
  if (!b.ok()) return Error(n, field, b.status().message());
  if (*b < min || *b > max) return Error(n, field, "must be in " + std::to_string(min) + ".." + std::to_string(max) + " bytes (got '" + n.Scalar() + "')");
  return *b;
}

StatusOr<YAML::Node> YamlReader::List(const YAML::Node& parent, const std::string& key,
                                      const std::string& field) const {
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node n, Child(parent, key, field));
  if (!n.IsSequence()) return Error(n, field, "expected a list");
  if (n.size() == 0) return Error(n, field, "must not be empty");
  return n;
}

Status YamlReader::RequireMap(const YAML::Node& node, const std::string& field) const {
  if (!node.IsMap()) return Error(node, field, "expected a mapping");
  return OkStatus();
}

}  // namespace kreplay::yamlread

namespace kreplay::yamlread {

Status YamlReader::CheckKeys(const YAML::Node& node, const std::string& field,
                             const std::set<std::string>& allowed) const {
  KREPLAY_RETURN_IF_ERROR(RequireMap(node, field));
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (!allowed.count(key))
      return Error(it->first, field + "." + key,
                   "unknown key (allowed: " + Join(std::vector<std::string>(allowed.begin(), allowed.end()), ", ") + ")");
  }
  return OkStatus();
}

}  // namespace kreplay::yamlread
