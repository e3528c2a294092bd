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

// Canonical text of a platform, the input of its digest. One line per item
// ("platform", "cluster", "opp", "idle"), fields in a fixed order, strings
// length-prefixed ("7:juno-r0"), doubles in shortest round-trip form. Holds
// every field a model can read (the name included, so that two platforms
// never share results by accident) and leaves out description and source,
// which are documentation.
std::string CanonicalPlatformText(const workload::Platform& platform);

}  // namespace kreplay::platforms
