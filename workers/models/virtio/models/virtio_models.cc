#include "workers/models/virtio/models/virtio_models.h"

#include <cstdio>

#include "workers/models/virtio/profile/virtio_profile.h"
#include "workers/models/virtio/workload/virtio_workload.h"

namespace kreplay::virtio {
namespace {

using model::Better;
using model::MetricSpec;

std::vector<MetricSpec> Metrics() {
  return {
      {"requests", "count", Better::kNone, "Requests (block IOs or packets) completed."},
      {"duration_ms", "ms", Better::kNone, "Simulated time from the first request to the last completion."},
      {"kiops", "kIOPS", Better::kHigher, "Block: completed IOs per second, thousands."},
      {"mpps", "Mpps", Better::kHigher, "Net: packets per second, millions (TX: on the wire; RX: up the guest's stack)."},
      {"gbps", "Gbit/s", Better::kHigher, "Payload bits per second (block data, Ethernet frames)."},
      {"latency_p50_us", "us", Better::kLower, "Median request latency: submit (or arrival) to completion."},
      {"latency_p99_us", "us", Better::kLower, "99th percentile of the same."},
      {"latency_p999_us", "us", Better::kLower, "99.9th percentile of the same."},
      {"latency_mean_us", "us", Better::kLower, "Mean of the same."},
      {"host_cpu_ns_per_req", "ns", Better::kLower, "Host CPU time per request (backend threads, host drivers; a poller's whole CPU)."},
      {"guest_cpu_ns_per_req", "ns", Better::kLower, "Guest vCPU time per request (the VM's driver and stack)."},
      {"host_cpu_ns_per_kib", "ns", Better::kLower, "Host CPU time per KiB of payload."},
      {"guest_cpu_ns_per_kib", "ns", Better::kLower, "Guest CPU time per KiB of payload."},
      {"kicks_per_req", "ratio", Better::kLower, "Driver notifications sent (after event-index suppression) per request."},
      {"interrupts_per_req", "ratio", Better::kLower, "Used-buffer notifications (interrupts) per request."},
      {"vm_exits_per_req", "ratio", Better::kLower, "VM exits (kicks through ioeventfd, interrupt EOIs) per request."},
      {"copies_per_req", "ratio", Better::kLower, "memcpy calls on the datapath per request (bounce, copy to/from user, mbufs)."},
      {"copied_bytes_per_req", "bytes", Better::kLower, "Bytes those copies moved per request."},
      {"ring_occupancy", "ratio", Better::kNone, "Mean share of ring descriptors the driver has outstanding."},
      {"drops", "count", Better::kLower, "Packets dropped for want of room at the backend (tun queue, NIC ring)."},
      {"ring_full_waits", "count", Better::kLower, "Times a request found the ring full and waited (back-pressure)."},
      {"bounce_full_waits", "count", Better::kLower, "VDUSE: times a mapping found the bounce range full and waited."},
      {"bounce_peak_mib", "MiB", Better::kNone, "VDUSE: most bounce pages mapped at once (allocated lazily, kept)."},
      {"descriptors", "count", Better::kNone,
       "Descriptors the backend read, in the ring or indirect tables (a virtio-blk request has 3; ublk: one "
       "ublksrv_io_desc per request)."},
  };
}

// "6.12" -> 612; an unparsable version is an error naming the field.
StatusOr<int> Release(const std::string& v) {
  unsigned major = 0, minor = 0;
  char tail = 0;
  if (std::sscanf(v.c_str(), "%u.%u%c", &major, &minor, &tail) != 2 || major < 3 || major > 9 || minor > 99)
    return InvalidArgument("params.kernel_version: '" + v + "' is not a release like 6.12");
  return static_cast<int>(major * 100 + minor);
}

std::vector<model::ParamSpec> CommonParams(Backend b) {
  model::ParamSpec ring_size = model::IntParam("queue_size", "", b == Backend::kUblk ? 128 : 256, 1, 32768,
                                               b == Backend::kUblk ? "Tags per ublk queue (its queue depth; at most 4096)"
                                                                   : "Virtqueue size: a power of two up to 32768");
  ring_size.power_of_two = true;
  std::vector<model::ParamSpec> p = {
      model::StringParam("kernel_version", "6.12",
                         "Kernel release whose datapath applies: VDUSE 5.15+ (net 6.9+, direct irqfd injection "
                         "and IRQ affinity 6.4+, REG_UMEM 6.0+), ublk 6.0+ (zero copy 6.15+), packed rings 5.0+"),
      ring_size,
      model::IntParam("queues", "", 1, 1, 256, "Virtqueues (block) or queue pairs (net); job j uses queue j % queues"),
      model::IntParam("driver_cpus", "", 1, 1, 256, "CPUs the driver side runs on (vCPUs in a VM); job j on CPU j % driver_cpus"),
      model::IntParam("backend_cpus", "", 1, 1, 256, "CPUs of the backend's threads; queue q's thread on q % backend_cpus"),
      model::BoolParam("colocate", false, "Backend threads share the driver's CPUs instead of CPUs of their own"),
      model::EnumParam("device", "null", {"null", "nvme"}, "Block device behind the backend: null or the block family's NVMe SSD"),
      model::IntParam("device_latency", "ns", 0, 0, 1'000'000'000, "Null device: its fixed service time"),
      model::DoubleParam("line_rate_gbps", "Gbit/s", 100, 0.001, 1600, "Net: the NIC's line rate"),
      model::IntParam("duration_limit", "ns", 0, 0, 3'600'000'000'000,
                      "Stop the run at this simulated time (0: when the workload ends)"),
  };
  if (b != Backend::kUblk) {
    p.push_back(model::EnumParam("ring", "split", {"split", "packed"}, "Ring layout (virtio 1.1: split or packed)"));
    p.push_back(model::BoolParam("event_idx", true, "VIRTIO_F_EVENT_IDX: notifications suppressed by event index, else by flags"));
    p.push_back(model::BoolParam("indirect", true, "VIRTIO_F_INDIRECT_DESC: multi-buffer requests take one ring slot"));
  }
  if (b != Backend::kVirtioVdpa && b != Backend::kUblk)
    p.push_back(model::BoolParam("posted_interrupts", false, "Interrupts reach a running vCPU without an exit (APICv, posted)"));
  return p;
}

std::vector<model::ParamSpec> BackendParams(Backend b) {
  switch (b) {
    case Backend::kVhostNet:
      return {model::IntParam("busyloop_timeout", "ns", 0, 0, 1'000'000'000,
                              "VHOST_SET_VRING_BUSYLOOP_TIMEOUT: spin this long before sleeping (0: off)"),
              model::IntParam("batch", "", 64, 1, 1024,
                              "Chains taken before the used ring is updated and the guest signalled "
                              "(vhost_net_signal_used() every VHOST_NET_BATCH)")};
    case Backend::kVhostUser:
      return {model::IntParam("batch", "", 32, 1, 1024, "Burst size of the poll-mode loop (DPDK's usual 32)")};
    case Backend::kVhostVdpa:
      return {model::BoolParam("doorbell_mapped", true, "The notify area is mapped into the guest (5.8+): kicks do not exit"),
              model::DoubleParam("device_mops", "M/s", 0, 0, 1000, "The device's request rate limit, millions per second (0: none)")};
    case Backend::kVirtioVdpa:
      return {model::DoubleParam("device_mops", "M/s", 0, 0, 1000, "The device's request rate limit, millions per second (0: none)")};
    case Backend::kVduse:
      return {model::EnumParam("bus", "virtio-vdpa", {"virtio-vdpa", "vhost-vdpa"},
                               "vDPA bus above the device: the host's virtio driver (bounce buffer) or a VM via vhost-vdpa"),
              model::EnumParam("irq_path", "auto", {"auto", "workqueue", "direct"},
                               "VDUSE_VQ_INJECT_IRQ: through a workqueue, or signalling the irqfd directly "
                               "(vhost-vdpa, 6.4+); auto picks what the release does"),
              model::BoolParam("reg_umem", false, "VDUSE_IOTLB_REG_UMEM: the daemon's pages are the bounce pages (6.0+)"),
              model::IntParam("bounce_size", "bytes", 64ll << 20, 1ll << 20, 1ll << 30, "The bounce buffer (1 MiB to 1 GiB)"),
              model::BoolParam("irq_affinity", false, "Completions run on the submitting CPU (irq_cb_affinity, 6.4+)"),
              model::BoolParam("poll", false, "The daemon busy-polls its queues (as DPDK's VDUSE backend can)")};
    case Backend::kUblk:
      return {model::BoolParam("zero_copy", false, "UBLK_F_SUPPORT_ZERO_COPY (6.15+): no copy to the server's buffer")};
  }
  return {};
}

}  // namespace

StatusOr<DatapathConfig> ConfigFromParams(Backend b, const model::ParamSet& p, bool net) {
  DatapathConfig c;
  c.backend = b;
  KREPLAY_ASSIGN_OR_RETURN(const int rel, Release(p.Str("kernel_version")));
  auto need = [&](int since, const std::string& what) -> Status {
    if (rel >= since) return OkStatus();
    char v[16];
    std::snprintf(v, sizeof v, "%d.%d", since / 100, since % 100);
    return InvalidArgument(what + " needs kernel " + v + " or later (kernel_version is " + p.Str("kernel_version") + ")");
  };
  c.queue_size = static_cast<uint32_t>(p.Int("queue_size"));
  c.queues = static_cast<uint32_t>(p.Int("queues"));
  c.driver_cpus = static_cast<uint32_t>(p.Int("driver_cpus"));
  c.backend_cpus = static_cast<uint32_t>(p.Int("backend_cpus"));
  c.colocate = p.Bool("colocate");
  c.device = p.Str("device") == "nvme" ? DeviceKind::kNvme : DeviceKind::kNull;
  c.device_latency_ps = p.Int("device_latency") * 1000;
  c.line_rate_gbps = p.Double("line_rate_gbps");
  c.duration_limit_ps = p.Int("duration_limit") * 1000;
  if (b != Backend::kUblk) {
    c.packed = p.Str("ring") == "packed";
    if (c.packed) KREPLAY_RETURN_IF_ERROR(need(500, "params.ring: packed"));
    c.event_idx = p.Bool("event_idx");
    c.indirect = p.Bool("indirect");
  }
  if (b != Backend::kVirtioVdpa && b != Backend::kUblk) c.posted_interrupts = p.Bool("posted_interrupts");
  switch (b) {
    case Backend::kVhostNet:
      c.busyloop_timeout_ps = p.Int("busyloop_timeout") * 1000;
      c.batch = static_cast<uint32_t>(p.Int("batch"));
      if (c.busyloop_timeout_ps > 0) KREPLAY_RETURN_IF_ERROR(need(406, "params.busyloop_timeout"));
      break;
    case Backend::kVhostUser:
      c.batch = static_cast<uint32_t>(p.Int("batch"));
      c.poll = true;
      break;
    case Backend::kVhostVdpa:
      c.doorbell_mapped = p.Bool("doorbell_mapped");
      c.device_mops = p.Double("device_mops");
      if (c.doorbell_mapped) KREPLAY_RETURN_IF_ERROR(need(508, "params.doorbell_mapped"));
      if (c.posted_interrupts) KREPLAY_RETURN_IF_ERROR(need(509, "params.posted_interrupts (the vhost-vdpa irq bypass)"));
      break;
    case Backend::kVirtioVdpa:
      c.device_mops = p.Double("device_mops");
      break;
    case Backend::kVduse: {
      KREPLAY_RETURN_IF_ERROR(need(515, "VDUSE"));
      if (net) KREPLAY_RETURN_IF_ERROR(need(609, "A VDUSE net device"));
      c.bus = p.Str("bus") == "vhost-vdpa" ? Bus::kVhostVdpa : Bus::kVirtioVdpa;
      const std::string& irq = p.Str("irq_path");
      if (irq == "direct") {
        KREPLAY_RETURN_IF_ERROR(need(604, "params.irq_path: direct"));
        if (c.bus != Bus::kVhostVdpa)
          return InvalidArgument("params.irq_path: direct signals the irqfd that only the vhost-vdpa bus gives "
                                 "(virtio-vdpa always injects through the workqueue)");
        c.irq_path = IrqPath::kDirect;
      } else if (irq == "auto") {
        c.irq_path = c.bus == Bus::kVhostVdpa && rel >= 604 ? IrqPath::kDirect : IrqPath::kWorkqueue;
      } else {
        c.irq_path = IrqPath::kWorkqueue;
      }
      c.reg_umem = p.Bool("reg_umem");
      if (c.reg_umem) KREPLAY_RETURN_IF_ERROR(need(600, "params.reg_umem"));
      c.bounce_bytes = static_cast<uint64_t>(p.Int("bounce_size"));
      c.completion_on_submitter = p.Bool("irq_affinity");
      if (c.completion_on_submitter) KREPLAY_RETURN_IF_ERROR(need(604, "params.irq_affinity"));
      c.poll = p.Bool("poll");
      // What belongs to one bus only is refused on the other, not ignored.
      if (c.bus == Bus::kVhostVdpa && c.reg_umem)
        return InvalidArgument("params.reg_umem: registers the bounce buffer's pages, which only the virtio-vdpa bus uses");
      if (c.bus == Bus::kVhostVdpa && p.Int("bounce_size") != (64ll << 20))
        return InvalidArgument("params.bounce_size: only the virtio-vdpa bus has a bounce buffer");
      if (c.bus == Bus::kVirtioVdpa && c.posted_interrupts)
        return InvalidArgument("params.posted_interrupts: on the virtio-vdpa bus the driver is the host's, not a VM's");
      break;
    }
    case Backend::kUblk:
      KREPLAY_RETURN_IF_ERROR(need(600, "ublk"));
      c.zero_copy = p.Bool("zero_copy");
      if (c.zero_copy) KREPLAY_RETURN_IF_ERROR(need(615, "params.zero_copy"));
      if (c.queue_size > 4096) return InvalidArgument("params.queue_size: ublk queues hold at most 4096 tags");
      break;
  }
  return c;
}

namespace {

model::RunFn MakeRun(Backend b) {
  return [b](const model::RunInput& in) -> StatusOr<model::Result> {
    if (!in.params) return InvalidArgument("virtio: params missing");
    const auto* profile = in.SystemAs<VirtioProfile>();
    const auto* w = in.WorkloadAs<VirtioWorkload>();
    if (!profile) return InvalidArgument("virtio: a host profile (platforms:) is missing");
    if (!w) return InvalidArgument("virtio: a virtio workload is missing");
    KREPLAY_ASSIGN_OR_RETURN(DatapathConfig c, ConfigFromParams(b, *in.params, w->kind == WorkloadKind::kNet));
    return RunDatapath(c, *profile, *w, in.seed, in.cancel);
  };
}

struct Entry {
  const char* name;
  Backend backend;
  const char* description;
  const char* mirrors;
  // Requests simulated per CPU second, the slowest of the model's
  // virtio_bench configurations (server-x86, 2-core dev VM, 2026-12-07);
  // 0: not benchmarked (the family's default stands in).
  double requests_per_core_s;
};

constexpr Entry kModels[] = {
    {"virtio.vhost-net", Backend::kVhostNet,
     "vhost-net: a VM's virtio-net served by a host kernel worker (ioeventfd kicks, irqfd interrupts, copies, tun)",
     "drivers/vhost/net.c, drivers/vhost/vhost.c, drivers/net/virtio_net.c, virt/kvm/eventfd.c", 7.2e6},
    {"virtio.vhost-user", Backend::kVhostUser,
     "vhost-user: a poll-mode userspace backend (DPDK/SPDK) with bursts and mbuf copies",
     "DPDK lib/vhost (virtio_net.c: rte_vhost_dequeue_burst, rte_vhost_enqueue_burst), drivers/net/virtio_net.c", 6.2e6},
    {"virtio.vhost-vdpa", Backend::kVhostVdpa,
     "vhost-vdpa over a hardware vDPA device: guest doorbell, device DMA, no copy",
     "drivers/vhost/vdpa.c, drivers/virtio/virtio_ring.c, drivers/block/virtio_blk.c, drivers/net/virtio_net.c", 3.5e6},
    {"virtio.virtio-vdpa", Backend::kVirtioVdpa,
     "virtio-vdpa over a hardware vDPA device: the host kernel's own virtio driver (containers, bare metal)",
     "drivers/virtio/virtio_vdpa.c, drivers/virtio/virtio_ring.c, drivers/block/virtio_blk.c", 0},
    {"virtio.vduse", Backend::kVduse,
     "VDUSE: a userspace daemon as the vDPA device, over virtio-vdpa (bounce buffer) or vhost-vdpa (shared memory)",
     "drivers/vdpa/vdpa_user/vduse_dev.c, drivers/vdpa/vdpa_user/iova_domain.c, Documentation/userspace-api/vduse.rst", 3.6e6},
    {"virtio.ublk", Backend::kUblk,
     "ublk: block IO served by a userspace server through io_uring commands (the block comparator)",
     "drivers/block/ublk_drv.c, Documentation/block/ublk.rst", 5.9e6},
};

}  // namespace

Status RegisterVirtioModels(model::Registry& registry) {
  for (const Entry& e : kModels) {
    model::ModelInfo m;
    m.name = e.name;
    m.family = "virtio";
    m.version = "1.0.0";
    m.description = e.description;
    m.mirrors = e.mirrors;
    m.params = CommonParams(e.backend);
    for (auto& p : BackendParams(e.backend)) m.params.push_back(std::move(p));
    m.metrics = Metrics();
    m.run = MakeRun(e.backend);
    m.work_unit = "requests";
    m.work_per_core_s = e.requests_per_core_s;
    KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(m)));
  }
  return OkStatus();
}

}  // namespace kreplay::virtio
