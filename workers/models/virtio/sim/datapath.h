// The virtio datapath simulator: one or more virtqueues (ring/) between a
// driver and a backend, each participant a discrete-event actor on a
// modelled CPU, every cost taken from a host profile (profile/).
//
// Participants (docs/models/virtio.md has the picture):
//  - jobs: fio-like submitters (block) or packet producers (net TX), one
//    thread each on a driver CPU; they run the driver's submit path
//    (virtio_queue_rq / start_xmit: the stack, DMA mapping, virtqueue_add,
//    virtqueue_kick_prepare and the notify);
//  - the backend: a vhost worker, a poll-mode thread, a VDUSE daemon, a ublk
//    server thread or a hardware device's engine, looping like vhost's
//    handle_tx/handle_rx (disable notify, drain, enable notify, re-check);
//  - the completion handler: vring_interrupt and the driver's done callback
//    (virtblk_done, NAPI poll) on the driver side;
//  - the device behind the backend: a null device (fixed latency), an
//    NVMe-like SSD (the block family's model) or a NIC at a line rate.
// A CPU runs what is placed on it first come, first served, without
// preemption; threads that share a CPU wait for each other (the contention
// the issue asks for; a CFS timeslice is not modelled).
//
// Time inside the simulator is in picoseconds (profile costs are fractions
// of a nanosecond apart at these rates); results are in ns and us.
//
// Deterministic: a pure function of its inputs and seed. Not thread-safe;
// one run per thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "services/core/status.h"
#include "services/model/result.h"
#include "workers/models/virtio/profile/virtio_profile.h"
#include "workers/models/virtio/workload/virtio_workload.h"

namespace kreplay::virtio {

enum class Backend : uint8_t {
  kVhostNet,    // drivers/vhost/net.c: a kernel worker per queue pair, copies to/from user
  kVhostUser,   // DPDK/SPDK vhost library: a poll-mode thread, bursts, copies into mbufs (net)
  kVhostVdpa,   // drivers/vhost/vdpa.c over a hardware vDPA device: doorbell, device DMA, no copy
  kVirtioVdpa,  // drivers/virtio/virtio_vdpa.c over a hardware device: the host kernel's own driver
  kVduse,       // drivers/vdpa/vdpa_user/vduse_dev.c: a userspace daemon is the device
  kUblk,        // drivers/block/ublk_drv.c: io_uring commands to a userspace server (no virtqueue)
};
const char* BackendName(Backend b);

// Which vDPA bus driver sits above a VDUSE device.
enum class Bus : uint8_t {
  kVirtioVdpa,  // the host kernel's virtio driver: DMA through VDUSE's bounce buffer
  kVhostVdpa,   // a VM's driver through vhost-vdpa: guest memory shared, no bounce
};

// How VDUSE_VQ_INJECT_IRQ reaches the driver.
enum class IrqPath : uint8_t {
  kWorkqueue,  // vduse_vq_irq_inject() queued on a workqueue (every kernel; virtio-vdpa always)
  kDirect,     // vduse_vq_signal_irqfd(): the ioctl signals the irqfd itself (vhost-vdpa, newer kernels)
};

enum class DeviceKind : uint8_t { kNull, kNvme };

struct DatapathConfig {
  Backend backend = Backend::kVduse;
  Bus bus = Bus::kVirtioVdpa;
  // The ring (ring/): layout, size, features.
  bool packed = false;
  uint32_t queue_size = 256;
  bool event_idx = true;
  bool indirect = true;
  // Queues and CPUs. Job j submits on driver CPU j % driver_cpus into queue
  // j % queues; queue q's backend thread runs on backend CPU q %
  // backend_cpus, which are CPUs of their own unless `colocate` puts them on
  // the driver's.
  uint32_t queues = 1;
  uint32_t driver_cpus = 1;
  uint32_t backend_cpus = 1;
  bool colocate = false;
  // The backend thread busy-polls instead of sleeping (vhost-user always).
  bool poll = false;
  int64_t busyloop_timeout_ps = 0;  // vhost-net: spin this long before re-enabling notifications
  uint32_t batch = 64;              // chains one backend step takes (VHOST_NET_BATCH, a DPDK burst)
  bool posted_interrupts = false;   // the interrupt reaches the vCPU without an exit
  bool doorbell_mapped = true;      // vhost-vdpa: the notify area is mapped into the guest (no exit)
  // VDUSE.
  IrqPath irq_path = IrqPath::kWorkqueue;
  bool reg_umem = false;                 // VDUSE_IOTLB_REG_UMEM: the daemon's pages are the bounce pages
  uint64_t bounce_bytes = 64ull << 20;   // the IOVA domain's bounce size (vduse bounce_size)
  bool completion_on_submitter = false;  // IRQ affinity: completions run on the submitting CPU
  // ublk.
  bool zero_copy = false;
  // The device behind the backend.
  DeviceKind device = DeviceKind::kNull;
  int64_t device_latency_ps = 0;  // null device: fixed service time
  double line_rate_gbps = 100;    // NIC (net)
  double device_mops = 0;         // hardware vDPA: requests (Mpps / M IOPS) the device serves per second; 0 = no limit
  // Limits on what one run may cost.
  int64_t duration_limit_ps = 0;  // 0 = none; the run stops there and counts what finished
};

// Runs `w` through the datapath `c` on `profile`. InvalidArgument for a
// configuration the backend cannot do (ublk with a net workload, a ring
// size that is not a power of two, ...), naming the parameter.
StatusOr<model::Result> RunDatapath(const DatapathConfig& c, const VirtioProfile& profile, const VirtioWorkload& w,
                                    uint64_t seed, const std::atomic<bool>* cancel);

}  // namespace kreplay::virtio
