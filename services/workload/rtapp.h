// rt-app JSON (the grammar of Debian's rt-app 1.0) into a SchedWorkload.
//
// json-c, which rt-app uses, accepts C/C++ comments and trailing commas, so
// this parser does too. Events are matched by key prefix as rt-app does
// ("run0", "sleep1"; "runtime" is tested before "run"). Events kreplay does
// not model are rejected with "unsupported event X at tasks.T.phases.P".
#pragma once

#include <string>
#include <string_view>

#include "services/core/status.h"
#include "services/workload/sched_workload.h"

namespace kreplay::workload {

// `source_name` is used in error messages ("file.json: tasks.t1.run: ...").
StatusOr<SchedWorkload> ParseRtApp(std::string_view json_text, const std::string& source_name);

// Writes `w` as rt-app JSON (durations rounded to microseconds), so the same
// workload can be run by rt-app on a real board.
std::string WriteRtApp(const SchedWorkload& w);

}  // namespace kreplay::workload
