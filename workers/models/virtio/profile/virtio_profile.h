// Virtio host cost profiles: what one step of a virtio datapath costs on a
// machine (a VM exit, an eventfd wake-up, a memcpy of N bytes, ...), as
// shipped YAML files (compiled in) or user files, for the virtio models to
// charge simulated time with.
//
// Every cost is in ns, a finite double >= 0. Each value says where it comes
// from in `sources` (field name -> "measured: <method>" for what `kreplay
// calibrate virtio` measured on the host named in `source`, "documented:
// <citation>" or "estimate: <reasoning>" for the rest). The models read the
// fields; they never read `sources`, `source` or `description`.
//
// Thread-safety: plain values; the functions below are pure and may be
// called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "services/core/status.h"

namespace kreplay::virtio {

// The cost of one memcpy() of `bytes` with source and destination in the
// caches (hot) or in DRAM (cold).
struct MemcpyPoint {
  uint32_t bytes = 0;
  double hot_ns = 0;
  double cold_ns = 0;
};

struct VirtioProfile {
  std::string name, description, source;  // source: how the profile was made (command, host, kernel, date)
  int cpus = 2;
  double cpu_ghz = 0;   // 0: unknown
  bool nested = false;  // the KVM figures were measured inside a VM

  // Transport (KVM).
  double vm_exit_ns = 0;        // VM exit + re-entry handled in the host kernel (a CPUID exit round trip)
  double ioeventfd_ns = 0;      // extra over vm_exit_ns for a doorbell write matched by an ioeventfd
                                // (kvm_io_bus_write() + eventfd_signal())
  double irq_inject_ns = 0;     // irqfd signalled -> guest interrupt handler entered (kvm_set_irq(), IPI, exit/entry)
  double posted_irq_ns = 0;     // the same with posted interrupts (no exit on the receiving vCPU)
  double eoi_exit_ns = 0;       // guest EOI (an exit without APICv; small with it)
  double host_irq_ns = 0;       // MSI-X from a device into a host kernel handler
  double doorbell_mmio_ns = 0;  // an uncached MMIO write to a device doorbell mapped into the guest (no exit)
  double pcie_read_ns = 0;      // a device's DMA read of host memory, request to completion (ring fetches by hardware)

  // Host and guest OS primitives.
  double syscall_ns = 0;             // a trivial syscall round trip
  double eventfd_signal_ns = 0;      // writing an eventfd whose reader is blocked (the writer's cost)
  double eventfd_wake_ns = 0;        // eventfd write -> the blocked reader on another CPU runs
  double futex_wake_ns = 0;          // futex wake -> the waiter on another CPU runs
  double context_switch_ns = 0;      // a switch between two threads on one CPU
  double workqueue_hop_ns = 0;       // queue_work() -> the kworker runs the item
  double task_work_ns = 0;           // task_work_add() + notify -> runs in the target task
                                     // (io_uring_cmd_complete_in_task())
  double io_uring_enter_ns = 0;      // io_uring_enter() submitting/reaping a small batch, without the work itself
  double cacheline_transfer_ns = 0;  // a modified cache line read by another core
  double atomic_ns = 0;              // an uncontended locked read-modify-write
  double iova_alloc_ns = 0;          // alloc_iova_fast() + free_iova_fast() of one range
  double page_pin_ns = 0;            // pin_user_pages() per 4 KiB page
  double page_alloc_ns = 0;          // alloc_page(GFP_ATOMIC): one page from the buddy allocator (VDUSE's lazy bounce pages)

  // Stack costs per request that no microbenchmark here reaches.
  double blk_submit_ns = 0;    // io_uring/libaio -> bio -> blk-mq request -> queue_rq()
  double blk_complete_ns = 0;  // blk_mq_complete_request() -> end_io -> CQE / wake-up
  double net_tx_stack_ns = 0;  // guest UDP/IP stack per packet down to ndo_start_xmit()
  double net_rx_stack_ns = 0;  // NAPI receive per packet up to the socket
  double tap_ns = 0;           // tun/tap per packet in the host (tun_get_user()/tun_put_user() without the copy)
  double dpdk_burst_ns = 0;    // one poll-mode loop iteration (an rte_vhost_dequeue_burst() call, empty or not)
  double mbuf_ns = 0;          // mbuf alloc + free per packet

  // Sorted by bytes (strictly increasing), from <= 64 B to >= 1 MiB; cold_ns >= hot_ns.
  std::vector<MemcpyPoint> memcpy;
  // Field name (as above, e.g. "vm_exit_ns", "memcpy", "cpu_ghz") -> where its value comes from.
  std::map<std::string, std::string> sources;

  // The cost of copying `bytes`: piecewise linear between the points; below
  // the first point proportional to it (first.X_ns * bytes / first.bytes,
  // never below first.hot_ns * bytes / first.bytes); above the last point
  // extended at the last segment's slope. 0 for 0 bytes.
  // REQUIRES: memcpy has at least two points (ParseVirtioProfileYaml() ensures it).
  double MemcpyNs(uint64_t bytes, bool cold) const;
};

// Parses a profile. Every field is required except `description` and
// `sources`; unknown keys are rejected. Errors name `source_name`, the line
// and the field ("vm-2core.yaml:14: costs.vm_exit: must be a finite
// non-negative number").
StatusOr<VirtioProfile> ParseVirtioProfileYaml(std::string_view yaml, const std::string& source_name);
// The profile as YAML that ParseVirtioProfileYaml() reads back to the same
// values, bit for bit (`kreplay calibrate virtio` writes it).
std::string VirtioProfileYaml(const VirtioProfile& p);
// Canonical text (the input of the system digest): every field a model
// reads, in a fixed order, numbers as %.17g; description, source and
// sources left out.
std::string CanonicalVirtioProfileText(const VirtioProfile& p);

// The shipped profiles: "server-x86", "vm-2core".
std::vector<std::string> BuiltinVirtioProfileNames();
// NotFound (listing the names) for an unknown name.
StatusOr<VirtioProfile> LoadBuiltinVirtioProfile(const std::string& name);
StatusOr<std::string> BuiltinVirtioProfileYaml(const std::string& name);

// The cost fields as (YAML key under `costs:`, field name, member), in the
// order of the struct; shared by the parser, the writer and the calibrator.
struct VirtioCostField {
  const char* key;   // "vm_exit"
  const char* name;  // "vm_exit_ns"
  double VirtioProfile::*field;
};
const std::vector<VirtioCostField>& VirtioCostFields();
// Every key `sources` may describe: cpus, cpu_ghz, nested, memcpy and the
// cost fields' names.
std::vector<std::string> VirtioSourceFields();

}  // namespace kreplay::virtio
