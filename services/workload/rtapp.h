// rt-app JSON (the grammar of Debian's rt-app 1.0) into a SchedWorkload.
//
// json-c, which rt-app uses, accepts C/C++ comments and trailing commas, so
// this parser does too. Events are matched by key prefix as rt-app does
// ("run0", "sleep1"; "runtime" is tested before "run"). Events kreplay does
// not model are rejected with "unsupported event X at tasks.T.phases.P".
//
// Mapping (rt-app 1.0 -> SchedWorkload):
//  - global.duration s (-1 or 0: none) -> duration_ns; calibration is only
//    type-checked (a real CPU name or ns-per-loop has no model meaning).
//  - task instance N > 1 -> N tasks "name-0".."name-(N-1)"; delay us;
//    cpus [..] -> cpu_mask; policy SCHED_OTHER/BATCH/IDLE/FIFO/RR -> policy;
//    priority -> nice (-20..19, default 0) for the fair policies and
//    rt_priority (1..99, default 10) for FIFO/RR, as rt-app applies it.
//    SCHED_DEADLINE: dl-runtime (default 0), dl-period (default the
//    runtime), dl-deadline (default the period), in us as rt-app takes them,
//    -> dl_runtime_ns/dl_period_ns/dl_deadline_ns, checked as the kernel's
//    __checkparam_dl() (an error names the key); "priority" and "cpus" are
//    refused for it (sched_setattr() refuses a deadline task whose affinity
//    is not every CPU, EPERM), as are dl-* keys on other policies. Admission
//    control needs the platform and is the model's. Per-phase cpus or
//    taskgroup are rejected.
//  - taskgroup "/a/b" (the key later rt-app versions use; "/" = root) ->
//    group; global.kreplay_taskgroups {"/a": {"cpu.shares": N} or
//    {"cpu.weight": N}} -> groups (v1 shares clamped to 2..262144, v2 weight
//    1..10000 converted to shares); every named group's ancestors are added
//    with the default 1024. Whether a model runs them is the model's call.
//  - "phases": task loop (default -1) -> loops; each phase's events are
//    repeated `loop` times (default 1; -1 only in the first phase, which then
//    becomes the whole, endless program). Without "phases" the task is its
//    own single phase and its loop (default 1) -> loops.
//  - run/runtime/sleep us -> kRun/kRuntime/kSleep; timer {ref, period, mode}
//    -> kTimer(period). Both timer modes map to the model's absolute timer
//    (they differ only after an overrun); refs are per task (a timer shared
//    by different tasks is not modelled).
//  - wait {ref, mutex} / signal "ref" -> kWait/kSignal with resource ids
//    numbered by name in order of first appearance in the file.
//  - Unknown keys are errors (rt-app ignores them), except the kreplay_* keys
//    WriteRtApp adds: global.kreplay_duration_ns, kreplay_calibration_cpu,
//    kreplay_calibration_khz, kreplay_taskgroups and tasks.T.kreplay_kind.
// Errors are InvalidArgument "<source>: <field.path>: <what>"; bad JSON gives
// "<source>: invalid JSON: parse error at line L, column C: ...".
// Both functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "services/core/status.h"
#include "services/workload/sched_workload.h"

namespace kreplay::workload {

// `source_name` is used in error messages ("file.json: tasks.t1.run: ...").
StatusOr<SchedWorkload> ParseRtApp(std::string_view json_text, const std::string& source_name);

// Writes `w` as rt-app JSON (durations rounded to microseconds), so the same
// workload can be run by rt-app on a real board: one "p0" phase per task with
// events keyed "<op><index>", timers as {"ref": "unique", "mode": "absolute"},
// resource a as "r<a>". ParseRtApp(WriteRtApp(w)) == w when durations are
// whole microseconds and resource ids are numbered in order of first
// appearance (as ParseRtApp numbers them), and deadline tasks give their
// period (a period of 0, "= the deadline", is written as the deadline).
// REQUIRES: every task has phases.
// Caveat: rt-app expects a wait to be bracketed by lock/unlock of its mutex,
// which kreplay cannot express; such files run on rt-app only as a sketch.
std::string WriteRtApp(const SchedWorkload& w);

}  // namespace kreplay::workload
