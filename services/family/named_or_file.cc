#include "services/family/named_or_file.h"

#include "services/core/files.h"
#include "services/core/strings.h"

namespace kreplay::family::detail {

std::optional<std::string> ReadNamedOrFile(const SpecEntry& entry, const std::string& field,
                                           const std::string& base_dir, SpecErrors& errors, const std::string& noun,
                                           bool* is_file, std::string* source, std::string* yaml) {
  if (!entry.value.IsScalar()) {
    errors.Error(entry.value, field, "expected a " + noun + " name or file path");
    return std::nullopt;
  }
  std::string text = entry.value.Scalar();
  *is_file = text.find('/') != std::string::npos || text.ends_with(".yaml") || text.ends_with(".yml");
  if (*is_file) {
    *source = ResolveSpecPath(base_dir, text);
    StatusOr<std::string> read = ReadFile(*source);
    if (!read.ok()) {
      errors.Error(entry.value, field, read.status().message());
      return std::nullopt;
    }
    *yaml = std::move(read).value();
  }
  return text;
}

void ReportUnknownName(const SpecEntry& entry, const std::string& field, SpecErrors& errors, const std::string& noun,
                       const std::string& text, const std::vector<std::string>& known) {
  errors.Error(entry.value, field,
               "unknown " + noun + " '" + text + "'" + DidYouMean(text, known) + " (shipped: " + Join(known, ", ") +
                   "; a file path needs a '/' or a .yaml suffix)");
}

}  // namespace kreplay::family::detail
