// Internal: the shipped platform YAML texts, compiled in by a build step
// (embed_platforms.cmake). Read through platforms.h, not directly.
#pragma once

namespace kreplay::platforms::internal {

struct EmbeddedPlatform {
  const char* name;  // file stem, e.g. "juno-r0"
  const char* yaml;
};
extern const EmbeddedPlatform kEmbeddedPlatforms[];
extern const int kEmbeddedPlatformCount;

}  // namespace kreplay::platforms::internal
