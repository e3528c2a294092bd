// What each step of a backend's datapath costs, in picoseconds, from the host
// profile and the configuration: the cost vector of one backend. The
// simulator (datapath.cc) walks the steps; this file only says what they
// cost and where they run, so a path can be read in one place and
// docs/models/virtio.md can list it entry by entry.
#pragma once

#include <cstdint>

#include "workers/models/virtio/profile/virtio_profile.h"
#include "workers/models/virtio/sim/datapath.h"

namespace kreplay::virtio {

using Ps = int64_t;  // picoseconds
inline constexpr Ps kPsPerNs = 1000;
Ps ToPs(double ns);

// Where the driver runs.
enum class DriverSide : uint8_t { kGuest, kHost };

struct PathCosts {
  DriverSide driver = DriverSide::kGuest;
  bool hardware = false;   // the backend is a device engine (no host CPU)
  bool bounce = false;     // DMA through VDUSE's bounce buffer (the virtio-vdpa bus; REG_UMEM keeps the copies)
  bool iova = false;       // DMA mapping allocates IOVA (VDUSE on virtio-vdpa)
  bool vm = false;         // the driver runs in a VM (exits, injected interrupts)
  bool copy_in_backend = false;  // the backend copies the payload (vhost-net, vhost-user net)

  // Driver submit: the stack per request (blk_submit / net_tx_stack).
  Ps submit = 0;
  // One DMA mapping (alloc_iova_fast + free); VDUSE on virtio-vdpa only.
  Ps iova_map = 0;
  // Notifying the backend, on the driver's CPU (the exit, the doorbell, the
  // eventfd write), and the latency until the backend thread runs when it
  // sleeps (0 for a device engine).
  Ps kick_cpu = 0;
  Ps kick_wake = 0;
  // The backend: once per step (a poll-loop iteration); raising the
  // interrupt (its CPU), and the latency until the driver's handler runs.
  // Its per-request work is the ring lines, copies, tun and mbufs below.
  Ps be_step = 0;
  Ps irq_cpu = 0;
  Ps irq_latency = 0;
  // The driver's completion handler: entry (an EOI, a host interrupt) and
  // per request (the stack: blk_complete / net_rx_stack).
  Ps irq_entry = 0;
  Ps complete = 0;
  // A modified cache line read by another core (ring slots, indices), and
  // what one line of the ring costs the backend: the same for a CPU, a DMA
  // read round trip for a device.
  Ps cacheline = 0;
  Ps ring_line = 0;
  // A DMA read of the payload (hardware, driver-to-device data).
  Ps payload_read = 0;
  // A page of VDUSE's bounce buffer allocated on first use (alloc_page()).
  Ps page_alloc = 0;
  // Waking a backend thread for a device completion (io_uring/aio wake).
  Ps completion_wake = 0;
  // ublk: the task work to the server, one io_uring_enter per batch.
  Ps task_work = 0;
  Ps uring_enter = 0;
  // net: per packet in the host's tun/tap, per mbuf.
  Ps tap = 0;
  Ps mbuf = 0;
};

// The costs of `c` on `p`. InvalidArgument names a parameter the backend
// cannot take.
StatusOr<PathCosts> MakePathCosts(const DatapathConfig& c, const VirtioProfile& p, bool net);

}  // namespace kreplay::virtio
