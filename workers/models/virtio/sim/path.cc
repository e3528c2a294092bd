#include "workers/models/virtio/sim/path.h"

#include <cmath>

namespace kreplay::virtio {

Ps ToPs(double ns) { return static_cast<Ps>(std::llround(ns * kPsPerNs)); }

StatusOr<PathCosts> MakePathCosts(const DatapathConfig& c, const VirtioProfile& p, bool net) {
  PathCosts x;
  x.cacheline = ToPs(p.cacheline_transfer_ns);
  x.completion_wake = ToPs(p.eventfd_wake_ns);
  const Ps irq_guest = ToPs(c.posted_interrupts ? p.posted_irq_ns : p.irq_inject_ns);
  switch (c.backend) {
    case Backend::kVhostNet:
      // ioeventfd exit -> vhost_poll_wakeup -> the worker; vhost_signal ->
      // irqfd -> kvm_set_irq; the worker copies (copy_from_iter /
      // copy_to_iter) and passes the packet through tun.
      if (!net) return InvalidArgument("backend vhost-net serves net workloads only (virtio_net:, pcap:)");
      x.vm = true;
      x.copy_in_backend = true;
      x.kick_cpu = ToPs(p.vm_exit_ns + p.ioeventfd_ns);
      x.kick_wake = ToPs(p.eventfd_wake_ns);
      x.irq_cpu = ToPs(p.eventfd_signal_ns);
      x.irq_latency = irq_guest;
      x.tap = ToPs(p.tap_ns);
      break;
    case Backend::kVhostUser:
      // A poll-mode thread: rte_vhost_dequeue/enqueue_burst per iteration,
      // guest kicks off (VRING_USED_F_NO_NOTIFY); the call eventfd is
      // written from user space (a write() syscall) -> irqfd.
      x.vm = true;
      x.copy_in_backend = net;
      x.be_step = ToPs(p.dpdk_burst_ns);
      x.mbuf = net ? ToPs(p.mbuf_ns) : 0;
      x.kick_cpu = ToPs(p.vm_exit_ns + p.ioeventfd_ns);  // only if the guest ever sees notifications enabled
      x.irq_cpu = ToPs(p.syscall_ns + p.eventfd_signal_ns);
      x.irq_latency = irq_guest;
      break;
    case Backend::kVhostVdpa:
      // A hardware device behind vhost-vdpa: the guest writes the doorbell
      // (mapped into the guest, or trapped: an exit and vhost_vdpa's kick
      // handler), the device DMAs, MSI-X goes to the guest through the
      // irq bypass (posted) or the host handler and the irqfd.
      x.vm = true;
      x.hardware = true;
      x.kick_cpu = c.doorbell_mapped ? ToPs(p.doorbell_mmio_ns)
                                     : ToPs(p.vm_exit_ns + p.ioeventfd_ns + p.doorbell_mmio_ns);
      x.irq_latency = c.posted_interrupts ? ToPs(p.posted_irq_ns) : ToPs(p.host_irq_ns + p.eventfd_signal_ns) + irq_guest;
      break;
    case Backend::kVirtioVdpa:
      // A hardware device driven by the host kernel's virtio driver.
      x.driver = DriverSide::kHost;
      x.hardware = true;
      x.kick_cpu = ToPs(p.doorbell_mmio_ns);
      x.irq_entry = ToPs(p.host_irq_ns);
      break;
    case Backend::kVduse:
      // vduse_vdpa_kick_vq -> eventfd_signal(kickfd) -> the daemon;
      // VDUSE_VQ_INJECT_IRQ (an ioctl) -> a workqueue hop
      // (vduse_vq_irq_inject) or the irqfd directly.
      x.kick_wake = ToPs(p.eventfd_wake_ns);
      x.irq_cpu = ToPs(p.syscall_ns);
      if (c.bus == Bus::kVirtioVdpa) {
        if (c.irq_path == IrqPath::kDirect)
          return InvalidArgument("params.irq_path: direct injection needs an irqfd, which only the vhost-vdpa bus has");
        x.driver = DriverSide::kHost;
        x.iova = true;
        x.bounce = true;
        x.kick_cpu = ToPs(p.eventfd_signal_ns);
        x.irq_latency = ToPs(p.workqueue_hop_ns);  // the kworker calls vring_interrupt itself
      } else {
        x.vm = true;
        x.kick_cpu = ToPs(p.vm_exit_ns + p.ioeventfd_ns + p.eventfd_signal_ns);
        if (c.irq_path == IrqPath::kWorkqueue) {
          x.irq_latency = ToPs(p.workqueue_hop_ns + p.eventfd_signal_ns) + irq_guest;
        } else {
          x.irq_cpu += ToPs(p.eventfd_signal_ns);
          x.irq_latency = irq_guest;
        }
      }
      break;
    case Backend::kUblk:
      if (net) return InvalidArgument("backend ublk serves block workloads only (virtio_block:, virtio_blocktrace:)");
      x.driver = DriverSide::kHost;
      x.task_work = ToPs(p.task_work_ns);
      x.uring_enter = ToPs(p.io_uring_enter_ns);
      break;
  }
  if (x.vm) x.irq_entry += ToPs(p.eoi_exit_ns);
  x.ring_line = x.hardware ? ToPs(p.pcie_read_ns) : x.cacheline;
  x.payload_read = x.hardware ? ToPs(p.pcie_read_ns) : 0;
  // VDUSE allocates bounce pages lazily and keeps them; REG_UMEM hands it
  // the daemon's pages instead (the copies stay: vduse_domain_bounce()).
  x.page_alloc = x.bounce && !c.reg_umem ? ToPs(p.page_alloc_ns) : 0;
  x.submit = ToPs(net ? p.net_tx_stack_ns : p.blk_submit_ns);
  x.complete = ToPs(net ? p.net_rx_stack_ns : p.blk_complete_ns);
  x.iova_map = x.iova ? ToPs(p.iova_alloc_ns) : 0;
  return x;
}

}  // namespace kreplay::virtio
