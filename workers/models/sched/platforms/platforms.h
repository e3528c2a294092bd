// SoC platform files: the shipped ones (embedded in the binary at build time,
// so `kreplay platforms` works anywhere) and user-supplied YAML files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "services/core/status.h"
#include "services/workload/platform.h"

namespace kreplay::platforms {

// Parses a platform YAML document. Errors name `source_name`, the line and
// the field ("juno.yaml:14: clusters[1].opps[2].khz: expected an integer").
StatusOr<workload::Platform> ParsePlatformYaml(std::string_view yaml_text, const std::string& source_name);

// Names of the shipped platforms, sorted ("hikey960", "juno-r0", "tc2").
std::vector<std::string> BuiltinPlatformNames();
// The YAML text of a shipped platform; NotFound lists the known names.
StatusOr<std::string> BuiltinPlatformYaml(const std::string& name);
// Parsed shipped platform.
StatusOr<workload::Platform> LoadBuiltinPlatform(const std::string& name);

}  // namespace kreplay::platforms
