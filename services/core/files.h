// Whole-file reads and atomic writes, with errors that name the path.
#pragma once

#include <string>
#include <string_view>

#include "services/core/status.h"

namespace kreplay {

// The file's bytes. "PATH: cannot open file (reason)" when it cannot be
// opened: NotFound if it does not exist, else InvalidArgument (a path given by
// the user is input); Internal on a read error.
StatusOr<std::string> ReadFile(const std::string& path);

// Writes PATH.tmp, then renames it over PATH, so readers never see a
// half-written file. Unavailable naming the path on failure.
Status WriteFileAtomic(const std::string& path, std::string_view data);

}  // namespace kreplay
