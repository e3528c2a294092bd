// A spec entry that names a system (`platforms:` of the scheduler and memory
// families): either a shipped name or a YAML file, with one wording for the
// problems either can have. An entry is a file when it has a '/' or a .yaml
// or .yml suffix; a file path is relative to the spec (ResolveSpecPath()).
//
// Thread-safety: reentrant (reads the file the entry names).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "services/core/status.h"
#include "services/family/family.h"
#include "services/family/workload_kind.h"

namespace kreplay::family {

// What an entry resolved to.
template <typename T>
struct NamedOrFile {
  T value;
  std::string text;    // the entry as written
  std::string source;  // the resolved file path, or "builtin:<text>"
  bool from_file = false;
};

namespace detail {
// The entry's text and whether it names a file (then reads it into *yaml and
// sets *source); reports a non-scalar entry ("expected a <noun> name or file
// path") or an unreadable file and returns nullopt.
std::optional<std::string> ReadNamedOrFile(const SpecEntry& entry, const std::string& field,
                                           const std::string& base_dir, SpecErrors& errors, const std::string& noun,
                                           bool* is_file, std::string* source, std::string* yaml);
// "unknown <noun> 'x'" with did-you-mean and the shipped names.
void ReportUnknownName(const SpecEntry& entry, const std::string& field, SpecErrors& errors, const std::string& noun,
                       const std::string& text, const std::vector<std::string>& known);
}  // namespace detail

// Resolves `entry` (`noun` is "platform", "memory profile", ...): a file is
// read and parsed by `parse(yaml, path)` (its errors reported as nested
// messages); a name is loaded by `load(name)`, and if that fails reported as
// unknown with `names()` as the shipped list. Both return StatusOr<T>.
// Returns nullopt after reporting the problem to `errors`.
template <typename T, typename Parse, typename Load, typename Names>
std::optional<NamedOrFile<T>> ResolveNamedOrFile(const SpecEntry& entry, const std::string& field,
                                                 const std::string& base_dir, SpecErrors& errors,
                                                 const std::string& noun, Parse&& parse, Load&& load, Names&& names) {
  bool is_file = false;
  std::string source, yaml;
  std::optional<std::string> text =
      detail::ReadNamedOrFile(entry, field, base_dir, errors, noun, &is_file, &source, &yaml);
  if (!text) return std::nullopt;
  if (is_file) {
    StatusOr<T> v = parse(yaml, source);
    if (!v.ok()) {
      errors.Nested(entry.value, field, v.status().message(), false);
      return std::nullopt;
    }
    return NamedOrFile<T>{std::move(v).value(), std::move(*text), std::move(source), true};
  }
  StatusOr<T> v = load(*text);
  if (!v.ok()) {
    detail::ReportUnknownName(entry, field, errors, noun, *text, names());
    return std::nullopt;
  }
  source = "builtin:" + *text;
  return NamedOrFile<T>{std::move(v).value(), std::move(*text), std::move(source), false};
}

// A resolved entry as the study's system: a shipped one is named by the
// entry, a file by the name it gives (`own_name`) or else by its stem;
// `canonical`, `config` and `cpus` as SystemEntry says.
template <typename T>
SystemEntry ToSystemEntry(NamedOrFile<T>&& p, const std::string& own_name, std::string canonical, std::string config,
                          int cpus) {
  SystemEntry se;
  se.source = std::move(p.source);
  if (!p.from_file)
    se.name = p.text;
  else
    se.name = !own_name.empty() ? own_name : std::filesystem::path(p.text).stem().string();
  se.canonical = std::move(canonical);
  se.config = std::move(config);
  se.cpus = cpus;
  se.system = model::AnyValue::Make(std::move(p.value), sizeof(T));
  return se;
}

}  // namespace kreplay::family
