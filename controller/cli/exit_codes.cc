#include "controller/cli/exit_codes.h"

#include <cstdio>

namespace kreplay::cli {

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAlreadyExists:
    case StatusCode::kOutOfRange:
      return kExitBadInput;
    case StatusCode::kCancelled: return kExitInterrupted;
    default: return kExitInfra;
  }
}

int ReportFailure(const Status& s) {
  PrintError(s.code() == StatusCode::kInvalidArgument ? s.message() : s.ToString());
  return ExitCodeFor(s);
}

void PrintError(const std::string& msg) { std::fprintf(stderr, "kreplay: %s\n", msg.c_str()); }

}  // namespace kreplay::cli
