// A recorded block trace (services/workload/block_workload.h: blkparse,
// MSR, fio iolog, ...) replayed as virtio-blk jobs.
//
// - Jobs: one per volume that has reads or writes, in volume order (a
//   trace of one volume gives one job); every job submits on the same
//   device, whose size (device_bytes) is the largest request end rounded up
//   to 1 MiB.
// - keep_timing: each request is issued open loop at its recorded time
//   less the first kept request's (so the replay starts at 0); otherwise
//   closed loop (at = -1), each job keeping `iodepth` in flight. Either way
//   a job's iodepth is `iodepth` (the simulator's bound on what one job has
//   in flight).
// - Skipped: discards and flushes (BlockIo carries reads and writes only;
//   virtio-blk's VIRTIO_BLK_T_DISCARD / T_FLUSH are not modelled yet) and
//   zero-length reads or writes; task ids and sync flags are dropped.
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>

#include "services/workload/block_workload.h"
#include "workers/models/virtio/workload/virtio_workload.h"

namespace kreplay::virtio {

// REQUIRES: 1 <= iodepth <= 4096. The caller checks the result against
// kMaxWorkloadItems (VirtioWorkloadIos()) as it does for any import.
VirtioWorkload BlockJobsFromTrace(const workload::BlockWorkload& w, uint32_t iodepth, bool keep_timing);

}  // namespace kreplay::virtio
