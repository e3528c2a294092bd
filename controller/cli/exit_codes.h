// The process exit codes every kreplay subcommand returns, one mapping from a
// failed Status to a code, and the "kreplay: <message>" failure printer the
// commands share. Exit codes: 0 ok, 1 regression (gate), 2 bad input,
// 3 infrastructure failure, 130 interrupted.
#pragma once

#include <string>

#include "services/core/status.h"

namespace kreplay::cli {

constexpr int kExitOk = 0;
constexpr int kExitRegression = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitInfra = 3;
constexpr int kExitInterrupted = 130;

// The exit code for a failed Status (2 bad input, 3 infrastructure, 130
// cancelled): one mapping for every subcommand.
int ExitCodeFor(const Status& s);
// Prints "kreplay: <message>" to stderr and returns ExitCodeFor(s).
int ReportFailure(const Status& s);
// Prints "kreplay: <msg>" to stderr (a failure or notice with no Status).
void PrintError(const std::string& msg);

}  // namespace kreplay::cli
