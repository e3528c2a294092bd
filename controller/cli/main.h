// The kreplay command line, behind a registration hook so that a test build
// can add a family (tests/toy) to the same binary; production's main()
// (kreplay_main.cc) registers the shipped families.
#pragma once

#include <functional>

#include "services/family/family.h"

namespace kreplay::cli {

// Parses argv and runs one subcommand; returns the process exit code.
// `register_families` fills the process's one Catalog before parsing: the
// families contribute subcommands and help texts.
int Main(int argc, char** argv, const std::function<void(family::Catalog&)>& register_families);

}  // namespace kreplay::cli
