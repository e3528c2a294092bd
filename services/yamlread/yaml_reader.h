// Reading a small YAML configuration file (a platform, a memory profile)
// with errors that say where: "file:LINE: field.path: what". Each accessor
// takes the parent node, the key and the dotted field path for messages;
// a missing key points at the parent's line. With an empty source (a part
// of a study spec) messages read "LINE: field.path: what". Not thread-safe (keeps the
// source name); cheap to create per document.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "services/core/status.h"

namespace kreplay::yamlread {

class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  // Parses `text`; a syntax error becomes "source:LINE: message".
  StatusOr<YAML::Node> Load(std::string_view text) const;

  Status Error(const YAML::Node& node, const std::string& field, const std::string& what) const;
  // `parent[key]`, which must exist and not be null.
  StatusOr<YAML::Node> Child(const YAML::Node& parent, const std::string& key, const std::string& field) const;
  StatusOr<std::string> String(const YAML::Node& parent, const std::string& key, const std::string& field,
                               bool allow_empty = false) const;
  // An integer within [min, max].
  StatusOr<int64_t> Int(const YAML::Node& parent, const std::string& key, const std::string& field, int64_t min,
                        int64_t max) const;
  // A finite number within [min, max].
  StatusOr<double> Number(const YAML::Node& parent, const std::string& key, const std::string& field,
                          double min = 0, double max = 1e12) const;
  // A duration ("100ms", units.h) within [min, max] ns.
  StatusOr<int64_t> Duration(const YAML::Node& parent, const std::string& key, const std::string& field,
                             int64_t min, int64_t max) const;
  // A byte size ("64MiB", units.h) within [min, max].
  StatusOr<uint64_t> Bytes(const YAML::Node& parent, const std::string& key, const std::string& field, uint64_t min,
                           uint64_t max) const;
  StatusOr<bool> Bool(const YAML::Node& parent, const std::string& key, const std::string& field) const;
  // A non-empty sequence.
  StatusOr<YAML::Node> List(const YAML::Node& parent, const std::string& key, const std::string& field) const;
  // A mapping (the node itself).
  Status RequireMap(const YAML::Node& node, const std::string& field) const;
  // A mapping whose keys are all in `allowed` (the error lists them).
  Status CheckKeys(const YAML::Node& node, const std::string& field, const std::set<std::string>& allowed) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

}  // namespace kreplay::yamlread
