// A text file compiled into the binary (kreplay_embed_texts() in the top
// CMakeLists.txt): shipped platforms and profiles that must work anywhere.
#pragma once

namespace kreplay {

struct EmbeddedText {
  const char* name;  // file stem, e.g. "juno-r0"
  const char* text;
};

}  // namespace kreplay
