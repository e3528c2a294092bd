// Internal: the shipped platform YAML texts, compiled in by a build step
// (kreplay_embed_texts()). Read through platforms.h, not directly.
#pragma once

#include "services/core/embedded_text.h"

namespace kreplay::platforms::internal {

extern const EmbeddedText kEmbeddedTexts[];
extern const int kEmbeddedTextCount;

}  // namespace kreplay::platforms::internal
