#include "workers/models/virtio/sim/datapath.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "services/sim/engine.h"
#include "services/sim/histogram.h"
#include "workers/models/blockcache/devices/device.h"
#include "workers/models/virtio/ring/packed_ring.h"
#include "workers/models/virtio/ring/split_ring.h"
#include "workers/models/virtio/sim/path.h"
#include "workers/models/virtio/sim/ublk_tags.h"

namespace kreplay::virtio {

const char* BackendName(Backend b) {
  switch (b) {
    case Backend::kVhostNet: return "vhost-net";
    case Backend::kVhostUser: return "vhost-user";
    case Backend::kVhostVdpa: return "vhost-vdpa";
    case Backend::kVirtioVdpa: return "virtio-vdpa";
    case Backend::kVduse: return "vduse";
    case Backend::kUblk: return "ublk";
  }
  return "?";
}

namespace {

constexpr uint32_t kPage = 4096;
constexpr uint32_t kNetHdr = 12;          // struct virtio_net_hdr_v1 (mergeable buffers)
constexpr uint32_t kBlkHdr = 16;          // struct virtio_blk_outhdr
constexpr uint32_t kRxBuf = 1526;         // a mergeable RX buffer for a 1500-byte MTU (hdr + 1514)
constexpr uint32_t kEthWireOverhead = 24; // preamble 8, FCS 4, inter-frame gap 12
// Packets a backend's receive side holds before it drops: tun's queue
// (TUN_READQ_SIZE) in front of vhost-net, a NIC's RX ring of 1024 otherwise.
constexpr uint32_t kTunQueue = 500;
constexpr uint32_t kNicRing = 1024;
constexpr uint32_t kCancelPoll = 4096;    // events between looks at the cancel flag

// Event kinds, in a tag's top byte; the queue in the next 16 bits, an index
// in the low 32.
enum Ev : uint64_t {
  kArrival = 1,  // a block job's open-loop request arrives
  kIssue,        // a block job may submit (start, completions)
  kAdded,        // a block request's submit path ended: into the ring and kicked (idx: token)
  kTxMake,       // the guest's transmit loop makes its next packet
  kTxAdded,      // ... which has been through the stack: into the ring
  kBeStep, kBeDone, kBeTimeout, kDevDone, kIrq, kIrqDone, kRxFeed,
  kDevDoneRun,   // several device completions at one time (idx: the run, see QueueDevDone)
};
inline uint64_t Tag(Ev e, uint32_t q, uint32_t idx) { return (uint64_t{e} << 56) | (uint64_t{q} << 32) | idx; }

enum Side : uint8_t { kGuestCpu, kHostCpu, kDeviceEngine };

// A first-in first-out queue in one power-of-two ring buffer that only
// grows: std::deque allocates and frees a block every few hundred elements
// as a queue drifts through memory, and these queues turn over every
// request.
template <class T>
class Fifo {
 public:
  bool empty() const { return head_ == tail_; }
  size_t size() const { return tail_ - head_; }
  T& front() { return buf_[head_ & mask_]; }
  void pop_front() { ++head_; }
  void push_back(const T& v) {
    if (size() == buf_.size()) Grow();
    buf_[tail_++ & mask_] = v;
  }

 private:
  void Grow() {
    std::vector<T> bigger(std::max<size_t>(16, 2 * buf_.size()));
    for (size_t i = 0; i < size(); ++i) bigger[i] = buf_[(head_ + i) & mask_];
    tail_ = size();
    head_ = 0;
    buf_.swap(bigger);
    mask_ = buf_.size() - 1;
  }
  std::vector<T> buf_;
  size_t mask_ = 0, head_ = 0, tail_ = 0;  // head_ and tail_ count from the start; index & mask_
};

// A modelled CPU: runs what is placed on it in arrival order, one at a time.
struct Cpu {
  Ps free_at = 0;
  Ps busy = 0;
  Side side = kHostCpu;
  // Runs `cost` from `now` (or when the CPU frees); returns the end.
  Ps Run(Ps now, Ps cost) {
    const Ps start = std::max(now, free_at);
    free_at = start + cost;
    busy += cost;
    return free_at;
  }
};

struct Req {
  Ps issued = 0;
  uint64_t offset = 0;
  uint32_t bytes = 0;
  bool write = false;  // block: a write; net: TX
  uint16_t head = 0;   // the chain's id, as the device popped it
  Ps fetch = 0;        // hardware: the DMA reads before the device has it
  uint32_t job = 0;
  uint32_t q = 0;
  uint32_t bounce_pages = 0;
};

// A request's token travels in its buffers' addresses: the device finds
// the request from the descriptors it reads, as a real one does.
inline uint64_t AddrOf(uint32_t token, uint32_t seg) { return (uint64_t{token} + 1) << 24 | uint64_t{seg} << 16; }
inline uint32_t TokenOf(uint64_t addr) { return static_cast<uint32_t>((addr >> 24) - 1); }

struct Job {
  uint32_t cpu = 0, q = 0, iodepth = 1;
  const std::vector<BlockIo>* ios = nullptr;
  size_t next = 0;
  uint32_t inflight = 0;
  bool arrival_pending = false;
  bool submitting = false;  // a request is in the submit path
  uint64_t issue_mark = 0;  // == Datapath::issue_gen_: already in Datapath::issue_
  Fifo<uint32_t> waiting;  // open loop: arrived, not yet submitted (depth full)
};

enum class BeState : uint8_t { kSleep, kScheduled, kRun, kPoll, kSpin };

template <class Ring>
struct Vq {
  explicit Vq(Ring r) : ring(std::move(r)) {}
  Ring ring;
  bool rx = false;  // net: the guest's receive queue
  uint32_t drv_cpu = 0, be_cpu = 0, irq_cpu = 0;
  BeState be = BeState::kSleep;
  Ps spin_start = 0;
  uint32_t spin_gen = 0;
  std::vector<uint32_t> inbox;     // device completions the backend has not handed back (tokens)
  std::vector<uint32_t> popped;    // requests of the current step, for the device (tokens)
  std::vector<uint16_t> used_id;   // used elements pushed at the step's end
  std::vector<uint32_t> used_len;
  std::vector<uint32_t> finished; // ublk: requests committed in this step
  bool irq_running = false, irq_again = false;
  Fifo<uint32_t> backlog;          // waiting for ring, bounce or tag space
  std::vector<uint32_t> handler;   // the running handler's completions (tokens)
  // net
  Fifo<uint32_t> rx_waiting;                      // packets at the backend, no guest buffer yet
  Fifo<std::pair<uint32_t, uint32_t>> rx_given;  // (packet, buffers) written into guest buffers, in order
  bool tx_stopped = false;  // netif_stop_subqueue: the TX ring was full
  Ps lock_free_at = 0;      // the virtqueue's spinlock (virtio-blk's vq->lock) is held until then
  bool tx_busy = false;     // the transmit loop has a packet in the stack
  bool feed_pending = false;
  // Ring occupancy over time (descriptors the driver has outstanding).
  Ps occ_since = 0;
  double occ_integral = 0;
  uint32_t occ = 0;
};

template <class Ring>
class Datapath final : public sim::EventHandler {
 public:
  Datapath(const DatapathConfig& c, const VirtioProfile& p, const PathCosts& x, const VirtioWorkload& w)
      : c_(c), p_(p), x_(x), w_(w), net_(w.kind == WorkloadKind::kNet),
        polling_(c.poll || c.backend == Backend::kVhostUser),
        engine_(x.hardware && c.device_mops > 0 ? ToPs(1000.0 / c.device_mops) : 0) {}

  StatusOr<model::Result> Run(const std::atomic<bool>* cancel);
  void OnEvent(uint64_t tag) override;

 private:
  Status Init();
  Ps Now() const { return sim_.Now(); }
  void At(Ps t, Ev e, uint32_t q, uint32_t idx = 0) { sim_.At(t, this, Tag(e, q, idx)); }

  // A copy on the CPU that pays it: its cost, counted. The cost is a pure
  // function of the size (the profile's interpolation, rounded to ps), so
  // it is kept per size (CostMemo).
  Ps Copy(uint64_t bytes) {
    ++copies_;
    copied_bytes_ += bytes;
    CostMemo& m = copy_memo_[MemoSlot(bytes)];
    if (m.bytes != bytes) m = CostMemo{bytes, ToPs(p_.MemcpyNs(bytes, false))};
    return m.ps;
  }
  // Modified ring lines the device pulls from the driver's core for one
  // chain: its descriptors (4 per line), an indirect table's, and on a split
  // ring the avail slot; a packed ring keeps the avail and used marks in
  // the descriptor itself (virtio 1.1, 2.7).
  Ps ChainLines(const Chain& ch) const {
    const uint32_t table = ch.descriptors < ch.segments ? (ch.segments + 3) / 4 : 0;
    return x_.ring_line * ((ch.descriptors + 3) / 4 + table + (c_.packed ? 0 : 1));
  }
  // The avail index a split ring's device fetches once per pass, and the
  // used index its driver does.
  Ps AvailIndexLine() const { return c_.packed ? 0 : x_.ring_line; }
  Ps UsedIndexLine() const { return c_.packed ? 0 : x_.cacheline; }

  void Occupancy(Vq<Ring>& v, int delta) {
    const Ps now = Now();
    v.occ_integral += static_cast<double>(v.occ) * static_cast<double>(now - v.occ_since);
    v.occ_since = now;
    v.occ = static_cast<uint32_t>(static_cast<int64_t>(v.occ) + delta);
  }
  uint32_t NewReq(const Req& r) {
    if (!free_.empty()) {
      const uint32_t i = free_.back();
      free_.pop_back();
      reqs_[i] = r;
      return i;
    }
    reqs_.push_back(r);
    return static_cast<uint32_t>(reqs_.size() - 1);
  }
  void Finish(uint32_t t, Ps at);

  // driver
  void Arrival(uint32_t j);
  void IssueBlock(uint32_t j);
  // The driver's mapping of a request (under the queue's lock): IOVA ranges
  // and the bounce copies at map time; the stack before it is x_.submit.
  Ps MapCost(const Req& r);
  bool BouncePages(Req& r);
  bool TryAdd(Vq<Ring>& v, uint32_t t);
  void Added(uint32_t t);
  void Kick(uint32_t q, Ps from);
  void TxMake(uint32_t q);
  void TxAdded(uint32_t q, uint32_t t);
  void RefillRx(uint32_t q);
  void Irq(uint32_t q, bool entry);
  void IrqDone(uint32_t q) {
    Deferring(q, [&] { IrqDoneBody(q); });
  }
  void IrqDoneBody(uint32_t q);
  // backend
  void Wake(uint32_t q, Ps at, Ps latency);
  void BeStep(uint32_t q);
  void BeDone(uint32_t q) {
    Deferring(q, [&] { BeDoneBody(q); });
  }
  void BeDoneBody(uint32_t q);
  void DevDone(uint32_t q, uint32_t t);
  void GoIdle(uint32_t q);
  // A receive can go now: its packet has arrived and the guest has posted
  // enough buffers for it (a frame larger than one buffer takes several).
  bool RxReady(Vq<Ring>& v) const {
    if (!v.rx || v.rx_waiting.empty()) return false;
    const Req& r = reqs_[v.rx_waiting.front()];
    return r.issued <= Now() && v.ring.AvailCount() >= (r.bytes + kNetHdr + kRxBuf - 1) / kRxBuf;
  }
  void WakeForDevice(uint32_t q);
  // Device completions scheduled one after the other, nothing scheduled
  // between them, fire one after the other at equal times: no other event
  // can come between (ties go by scheduling order). A run of them with one
  // time is one kDevDoneRun event, which does what they did: each one's
  // completion into the inbox, and the wake-up (the first one's; the
  // others found the backend scheduled). Call QueueDevDone for each in
  // order, then FlushDevDone, with no At() between.
  //
  // `goes_on`: the caller (BeDone, UblkDone) has other work, so it will
  // schedule kBeStep now whatever the device does, next after these
  // events. A completion due now then goes straight into the inbox: its
  // event would have fired just before that kBeStep (nothing is scheduled
  // between them), until then only the backend's own step reads the
  // inbox, and its wake-up would have found the backend scheduled.
  void QueueDevDone(uint32_t q, Ps at, uint32_t t, bool goes_on) {
    if (goes_on && at == Now()) {
      vqs_[q].inbox.push_back(t);
      return;
    }
    if (defer_ && at == Now()) {
      dev_deferred_.push_back(t);
      return;
    }
    if (!dev_run_.empty() && at != dev_run_at_) FlushDevDone(q);
    dev_run_at_ = at;
    dev_run_.push_back(t);
  }
  void FlushDevDone(uint32_t q) {
    if (dev_run_.size() == 1) {
      At(dev_run_at_, kDevDone, q, dev_run_[0]);
    } else if (dev_run_.size() > 1) {
      uint32_t id;
      if (free_dev_runs_.empty()) {
        id = static_cast<uint32_t>(dev_runs_.size());
        dev_runs_.emplace_back();
      } else {
        id = free_dev_runs_.back();
        free_dev_runs_.pop_back();
      }
      dev_runs_[id].assign(dev_run_.begin(), dev_run_.end());
      At(dev_run_at_, kDevDoneRun, q, id);
    }
    dev_run_.clear();
  }
  // The same for a handler's completions, each of which lets its job
  // submit (kIssue): back-to-back kIssue events of one job are one, since
  // IssueBlock() leaves nothing for an immediate second call to do (it
  // submits at most one request and then waits for kAdded). WantIssue for
  // each completion, then IssueWanted, with no At() between.
  void WantIssue(uint32_t j) {
    if (jobs_[j].issue_mark == issue_gen_) return;
    jobs_[j].issue_mark = issue_gen_;
    issue_.push_back(j);
  }
  void IssueWanted(Ps now) {
    if (defer_) {
      issue_deferred_.swap(issue_);
    } else {
      for (uint32_t j : issue_) At(now, kIssue, jobs_[j].q, j);
    }
    issue_.clear();
    ++issue_gen_;
  }
  // Events due now that would fire first: when a handler began with no
  // other event pending (`alone`), what it schedules for now with nothing
  // due now scheduled before it fires right after the handler returns, in
  // the order scheduled, before anything the handler scheduled later. So
  // IrqDone, BeDone and UblkDone, when alone, do at their end what those
  // events (kIssue, kDevDone) would have done: the same calls in the same
  // order, and every At() after the handler's own, as then.
  template <class Body>
  void Deferring(uint32_t q, Body body) {
    defer_ = sim_.pending() == 0;
    body();
    defer_ = false;
    for (uint32_t j : issue_deferred_) IssueBlock(j);
    issue_deferred_.clear();
    if (!dev_deferred_.empty()) {
      for (uint32_t t : dev_deferred_) vqs_[q].inbox.push_back(t);
      dev_deferred_.clear();
      WakeForDevice(q);
    }
  }
  void RxFeed(uint32_t q);
  Ps Wire(Ps& free_at, uint32_t bytes, Ps at);
  Ps DeviceComplete(const Req& r, Ps at);
  // ublk
  void UblkSubmit(uint32_t t);
  void UblkStep(uint32_t q);
  void UblkDone(uint32_t q) {
    Deferring(q, [&] { UblkDoneBody(q); });
  }
  void UblkDoneBody(uint32_t q);

  const DatapathConfig& c_;
  const VirtioProfile& p_;
  const PathCosts& x_;
  const VirtioWorkload& w_;
  const bool net_;
  const bool polling_;
  const uint32_t rx_queue_ = c_.backend == Backend::kVhostNet ? kTunQueue : kNicRing;
  const Ps engine_;  // a device engine's time per request at its rate limit (device_mops)
  // Costs that are pure functions of a size, by size (direct-mapped).
  struct CostMemo {
    uint64_t bytes = UINT64_MAX;
    Ps ps = 0;
  };
  static constexpr size_t kMemo = 16;
  // Fibonacci hashing: the usual sizes (1, 16, 4096, ...) share their low
  // bits, so `bytes % kMemo` would put them all in one slot.
  static size_t MemoSlot(uint64_t bytes) { return static_cast<size_t>((bytes * 0x9E3779B97F4A7C15ull) >> 60); }
  std::array<CostMemo, kMemo> copy_memo_{}, wire_memo_{};
  sim::Simulator sim_;
  std::vector<Cpu> cpus_;
  std::vector<Vq<Ring>> vqs_;  // block: one per queue; net: pair i's TX at 2i, RX at 2i+1
  std::vector<Job> jobs_;
  std::vector<Req> reqs_;
  std::vector<uint32_t> free_;
  std::vector<Segment> segs_;
  std::unique_ptr<blockcache::Device> ssd_;
  std::vector<UblkQueue> ublk_;
  std::vector<uint16_t> delivered_;  // UblkStep's tags (storage kept between steps)
  std::vector<uint32_t> dev_run_;    // QueueDevDone's current run, due at dev_run_at_
  Ps dev_run_at_ = 0;
  std::vector<std::vector<uint32_t>> dev_runs_;  // pending kDevDoneRun events' runs, by idx
  std::vector<uint32_t> free_dev_runs_;
  std::vector<uint32_t> issue_;  // jobs WantIssue collected, in order
  bool defer_ = false;           // in Deferring(): events due now are done at its end
  std::vector<uint32_t> issue_deferred_, dev_deferred_;
  uint64_t issue_gen_ = 1;
  Ps tx_wire_ = 0, rx_wire_ = 0;
  std::vector<std::vector<uint32_t>> tx_src_, rx_src_;  // packet indices per queue pair
  std::vector<size_t> tx_next_, rx_next_;
  sim::Histogram latency_;
  uint64_t done_ = 0, done_bytes_ = 0, kicks_ = 0, irqs_ = 0, exits_ = 0, copies_ = 0, copied_bytes_ = 0;
  uint64_t drops_ = 0, ring_full_ = 0, bounce_full_ = 0, descriptors_ = 0;
  uint64_t bounce_in_use_ = 0, bounce_peak_ = 0, bounce_capacity_ = 0;
  uint64_t new_bounce_pages_ = 0;  // allocated by the last mapping, charged to its CPU
  Ps first_ = -1, last_ = 0;
  const std::atomic<bool>* cancel_ = nullptr;
  uint32_t since_poll_ = 0;
  bool cancelled_ = false;
};

// ---------------------------------------------------------------- set-up

template <class Ring>
Status Datapath<Ring>::Init() {
  const uint32_t queues = c_.queues;
  const uint32_t be_cpus = c_.colocate ? 0 : c_.backend_cpus;
  const uint32_t nvq = net_ ? 2 * queues : queues;
  cpus_.resize(c_.driver_cpus + be_cpus + (x_.hardware ? nvq : 0));
  for (uint32_t i = 0; i < c_.driver_cpus; ++i) cpus_[i].side = x_.driver == DriverSide::kGuest ? kGuestCpu : kHostCpu;
  RingFeatures f;
  f.event_idx = c_.event_idx;
  f.indirect = c_.indirect;
  vqs_.reserve(nvq);
  for (uint32_t i = 0; i < nvq; ++i) {
    vqs_.emplace_back(Ring(c_.queue_size, f));
    Vq<Ring>& v = vqs_.back();
    const uint32_t q = net_ ? i / 2 : i;
    v.rx = net_ && i % 2 == 1;
    v.drv_cpu = q % c_.driver_cpus;
    if (x_.hardware) {
      v.be_cpu = c_.driver_cpus + be_cpus + i;
      cpus_[v.be_cpu].side = kDeviceEngine;
    } else {
      v.be_cpu = c_.colocate ? q % c_.driver_cpus : c_.driver_cpus + q % c_.backend_cpus;
    }
    // The completion handler runs where the queue's interrupt is affine: the
    // driver's CPU; VDUSE on virtio-vdpa runs it in a kworker on the CPU that
    // queued the work (the daemon's) unless IRQ affinity says otherwise;
    // ublk ends requests in the server's own io_uring_enter().
    v.irq_cpu = v.drv_cpu;
    if ((c_.backend == Backend::kVduse && c_.bus == Bus::kVirtioVdpa && !c_.completion_on_submitter) ||
        c_.backend == Backend::kUblk)
      v.irq_cpu = v.be_cpu;
    if (polling_) {
      v.ring.DisableNotify();  // a poller never wants kicks (VRING_USED_F_NO_NOTIFY)
      v.be = BeState::kPoll;
    }
  }
  if (c_.device == DeviceKind::kNvme) {
    if (net_) return InvalidArgument("params.device: nvme is a block device; a net workload needs device: null");
    auto d = blockcache::MakeDevice("ssd-nvme", std::max<uint64_t>(w_.device_bytes, uint64_t{1} << 30));
    if (!d.ok()) return d.status();
    ssd_ = std::move(*d);
  }
  bounce_capacity_ = c_.bounce_bytes / kPage;
  if (c_.backend == Backend::kUblk) {
    if (c_.queue_size > UblkQueue::kMaxDepth)
      return InvalidArgument("params.queue_size: ublk queues hold at most 4096 tags (UBLK_MAX_QUEUE_DEPTH)");
    ublk_.assign(queues, UblkQueue(c_.queue_size));
  }
  if (!net_) {
    jobs_.resize(w_.jobs.size());
    for (uint32_t j = 0; j < jobs_.size(); ++j) {
      Job& job = jobs_[j];
      job.cpu = j % c_.driver_cpus;
      job.q = j % queues;
      job.iodepth = std::max<uint32_t>(1, w_.jobs[j].iodepth);
      job.ios = &w_.jobs[j].ios;
      At(0, kIssue, job.q, j);
    }
  } else {
    tx_src_.resize(queues);
    rx_src_.resize(queues);
    tx_next_.assign(queues, 0);
    rx_next_.assign(queues, 0);
    for (uint32_t i = 0; i < w_.packets.size(); ++i) {
      const PacketIo& pk = w_.packets[i];
      (pk.to_guest ? rx_src_ : tx_src_)[pk.flow % queues].push_back(i);
    }
    for (uint32_t q = 0; q < queues; ++q) {
      if (!rx_src_[q].empty()) {
        RefillRx(q);
        vqs_[2 * q + 1].feed_pending = true;
        At(0, kRxFeed, q);
      }
      if (!tx_src_[q].empty()) At(0, kTxMake, q);
    }
  }
  return OkStatus();
}

template <class Ring>
void Datapath<Ring>::OnEvent(uint64_t tag) {
  // Polled by events, not by simulated time: an idle stretch of hours
  // between two packets costs nothing.
  if (++since_poll_ == kCancelPoll) {
    since_poll_ = 0;
    if (cancel_ && cancel_->load(std::memory_order_relaxed)) {
      cancelled_ = true;
      sim_.Stop();
      return;
    }
  }
  const auto e = static_cast<Ev>(tag >> 56);
  const auto q = static_cast<uint32_t>((tag >> 32) & 0xffffff);
  const auto idx = static_cast<uint32_t>(tag);
  const bool ublk = c_.backend == Backend::kUblk;
  switch (e) {
    case kArrival: Arrival(idx); break;
    case kIssue: IssueBlock(idx); break;
    case kAdded: {
      const uint32_t j = reqs_[idx].job;
      jobs_[j].submitting = false;
      ublk ? UblkSubmit(idx) : Added(idx);
      IssueBlock(j);
      break;
    }
    case kTxMake: TxMake(q); break;
    case kTxAdded: TxAdded(q, idx); break;
    case kBeStep: ublk ? UblkStep(q) : BeStep(q); break;
    case kBeDone: ublk ? UblkDone(q) : BeDone(q); break;
    case kBeTimeout: {
      Vq<Ring>& v = vqs_[q];
      if (v.be != BeState::kSpin || idx != v.spin_gen) break;
      // vhost_net_busy_poll() gave up: the spin cost its CPU; enable
      // notifications and re-check (vhost_enable_notify).
      cpus_[v.be_cpu].busy += Now() - v.spin_start;
      GoIdle(q);
      break;
    }
    case kDevDone: DevDone(q, idx); break;
    case kDevDoneRun: {
      std::vector<uint32_t>& run = dev_runs_[idx];
      for (uint32_t t : run) vqs_[q].inbox.push_back(t);
      run.clear();
      free_dev_runs_.push_back(idx);
      WakeForDevice(q);
      break;
    }
    case kIrq: Irq(q, true); break;
    case kIrqDone: IrqDone(q); break;
    case kRxFeed: RxFeed(q); break;
  }
}

template <class Ring>
void Datapath<Ring>::Finish(uint32_t t, Ps at) {
  const Req& r = reqs_[t];
  latency_.Record((at - r.issued) / kPsPerNs);
  ++done_;
  done_bytes_ += r.bytes;
  last_ = std::max(last_, at);
  if (c_.duration_limit_ps > 0 && at >= c_.duration_limit_ps) sim_.Stop();
}

// ---------------------------------------------------------------- driver: block

// Open-loop requests arrive at their times and wait in the job for a free
// slot of its depth (fio's rate_iops: the latency counts the wait).
template <class Ring>
void Datapath<Ring>::Arrival(uint32_t j) {
  Job& job = jobs_[j];
  job.arrival_pending = false;
  IssueBlock(j);
}

template <class Ring>
void Datapath<Ring>::IssueBlock(uint32_t j) {
  Job& job = jobs_[j];
  const Ps now = Now();
  const auto& ios = *job.ios;
  while (job.next < ios.size() && ios[job.next].at >= 0 && ios[job.next].at * kPsPerNs <= now) {
    const BlockIo& io = ios[job.next++];
    job.waiting.push_back(NewReq(Req{.issued = io.at * kPsPerNs, .offset = io.offset, .bytes = io.bytes, .write = io.write, .job = j, .q = job.q}));
  }
  if (job.next < ios.size() && ios[job.next].at >= 0 && !job.arrival_pending) {
    job.arrival_pending = true;
    At(ios[job.next].at * kPsPerNs, kArrival, job.q, j);
  }
  // Submit while the depth allows, one request at a time (fio's default
  // iodepth_batch_submit=1): queue_rq sees bd->last on every one and kicks
  // if the device asks for it; the next starts when this one is in.
  if (job.submitting || job.inflight >= job.iodepth) return;
  {
    uint32_t t;
    if (!job.waiting.empty()) {
      t = job.waiting.front();
      job.waiting.pop_front();
    } else if (job.next < ios.size() && ios[job.next].at < 0) {
      const BlockIo& io = ios[job.next++];
      t = NewReq(Req{.issued = now, .offset = io.offset, .bytes = io.bytes, .write = io.write, .job = j, .q = job.q});
    } else {
      return;
    }
    if (first_ < 0) first_ = now;
    ++job.inflight;
    job.submitting = true;
    Cpu& cpu = cpus_[job.cpu];
    Ps end = cpu.Run(now, x_.submit);
    if (const Ps locked = MapCost(reqs_[t]); locked > 0) {
      // virtio_queue_rq() maps the buffers (VDUSE: and copies into the
      // bounce pages) under the virtqueue's spinlock: a CPU that finds it
      // held spins, and the spin is its CPU time too.
      Vq<Ring>& v = vqs_[job.q];
      const Ps start = std::max(end, v.lock_free_at);
      end = cpu.Run(end, start - end + locked);
      v.lock_free_at = end;
    }
    At(end, kAdded, job.q, t);
  }
}

template <class Ring>
Ps Datapath<Ring>::MapCost(const Req& r) {
  Ps cost = 0;
  if (c_.backend == Backend::kUblk) return cost;
  // VDUSE on virtio-vdpa: the DMA API maps each buffer (an IOVA range each:
  // the block header, the data, the status; a net buffer) and copies the
  // driver-to-device part into the bounce pages at map time, under the
  // virtqueue lock in virtio_queue_rq() (vduse_domain_map_page()).
  if (x_.iova) cost += (net_ ? 1 : 3) * x_.iova_map;
  if (x_.bounce) cost += net_ ? Copy(r.bytes + kNetHdr) : Copy(kBlkHdr) + (r.write ? Copy(r.bytes) : 0);
  return cost;
}

// The bounce pages a block request's three mappings take (whole pages of
// the bounce IOVA range each); false when the range is full, and the
// mapping fails (the request is requeued, BLK_STS_RESOURCE).
template <class Ring>
bool Datapath<Ring>::BouncePages(Req& r) {
  if (!x_.bounce || net_ || r.bounce_pages) return true;
  const uint32_t pages = 2 + (r.bytes + kPage - 1) / kPage;
  if (bounce_in_use_ + pages > bounce_capacity_) return false;
  r.bounce_pages = pages;
  bounce_in_use_ += pages;
  if (bounce_in_use_ > bounce_peak_) {
    // Pages beyond any mapped before are allocated now (and kept): the
    // IOVA allocator reuses freed ranges first.
    new_bounce_pages_ += bounce_in_use_ - bounce_peak_;
    bounce_peak_ = bounce_in_use_;
  }
  return true;
}

// virtqueue_add_sgs(): out buffers first, then in buffers.
template <class Ring>
bool Datapath<Ring>::TryAdd(Vq<Ring>& v, uint32_t t) {
  Req& r = reqs_[t];
  std::array<Segment, 3> segs;
  size_t n = 0;
  if (net_) {
    segs[n++] = Segment{AddrOf(t, 0), r.bytes + kNetHdr, false};  // the header pushed in front (can_push)
  } else {
    segs[n++] = Segment{AddrOf(t, 0), kBlkHdr, false};
    segs[n++] = Segment{AddrOf(t, 1), r.bytes, !r.write};
    segs[n++] = Segment{AddrOf(t, 2), 1, true};
  }
  if (!BouncePages(r)) {
    ++bounce_full_;
    return false;
  }
  if (new_bounce_pages_ > 0) {
    cpus_[v.drv_cpu].Run(Now(), static_cast<Ps>(new_bounce_pages_) * x_.page_alloc);
    new_bounce_pages_ = 0;
  }
  auto added = v.ring.AddBuf(std::span<const Segment>(segs.data(), n), t, true);
  if (!added.has_value()) {
    ++ring_full_;
    return false;
  }
  Occupancy(v, static_cast<int>(*added));
  return true;
}

template <class Ring>
void Datapath<Ring>::Added(uint32_t t) {
  const uint32_t q = reqs_[t].q;
  Vq<Ring>& v = vqs_[q];
  if (!v.backlog.empty() || !TryAdd(v, t)) v.backlog.push_back(t);
  Kick(q, Now());
}

// virtqueue_kick_prepare() then the notify: the exit, the doorbell or the
// eventfd write on the driver's CPU, then the backend's wake-up. A poller
// asked for no kicks; it sees the new index on its next pass.
template <class Ring>
void Datapath<Ring>::Kick(uint32_t q, Ps from) {
  Vq<Ring>& v = vqs_[q];
  if (v.ring.KickPrepare()) {
    ++kicks_;
    if (x_.vm && !(x_.hardware && c_.doorbell_mapped)) ++exits_;
    const Ps end = cpus_[v.drv_cpu].Run(from, x_.kick_cpu);
    Wake(q, end, x_.kick_wake);
  } else if (v.be == BeState::kPoll || v.be == BeState::kSpin) {
    Wake(q, from, 0);
  }
}

// ---------------------------------------------------------------- driver: net

// The guest's transmit loop (start_xmit per packet): the next packet that
// has arrived (all of them at saturation) goes through the stack; a full
// ring stops the queue (netif_stop_subqueue) until completions free it.
template <class Ring>
void Datapath<Ring>::TxMake(uint32_t q) {
  Vq<Ring>& v = vqs_[2 * q];
  if (v.tx_stopped || v.tx_busy) return;
  auto& src = tx_src_[q];
  size_t& next = tx_next_[q];
  if (next >= src.size()) return;
  const PacketIo& pk = w_.packets[src[next]];
  const Ps now = Now();
  if (pk.at >= 0 && pk.at * kPsPerNs > now) {
    At(pk.at * kPsPerNs, kTxMake, q);
    return;
  }
  if (v.ring.num_free() == 0) {
    v.tx_stopped = true;
    return;
  }
  ++next;
  const uint32_t t = NewReq(Req{.issued = pk.at < 0 ? now : pk.at * kPsPerNs, .bytes = pk.bytes, .write = true, .q = 2 * q});
  if (first_ < 0) first_ = now;
  v.tx_busy = true;
  At(cpus_[v.drv_cpu].Run(now, x_.submit + MapCost(reqs_[t])), kTxAdded, q, t);
}

template <class Ring>
void Datapath<Ring>::TxAdded(uint32_t q, uint32_t t) {
  Vq<Ring>& v = vqs_[2 * q];
  v.tx_busy = false;
  if (!TryAdd(v, t)) {
    v.backlog.push_back(t);
    v.tx_stopped = true;
    return;
  }
  Kick(2 * q, Now());
  TxMake(q);
}

// The guest posts empty receive buffers (add_recvbuf_mergeable) until the
// ring is full, and kicks if the backend waits for them.
template <class Ring>
void Datapath<Ring>::RefillRx(uint32_t q) {
  Vq<Ring>& v = vqs_[2 * q + 1];
  bool added = false;
  while (v.ring.num_free() > 0) {
    const Segment s{AddrOf(0, 0), kRxBuf, true};
    if (!v.ring.AddBuf(std::span<const Segment>(&s, 1), 0, false).has_value()) break;
    Occupancy(v, 1);
    added = true;
  }
  if (added) Kick(2 * q + 1, Now());
}

// ---------------------------------------------------------------- driver: completions

// vring_interrupt() -> the driver's callback: virtblk_done() (disable_cb,
// get_buf until none, enable_cb, again if it says so), the NAPI poll for
// receive, free_old_xmit for transmit.
template <class Ring>
void Datapath<Ring>::Irq(uint32_t q, bool entry) {
  Vq<Ring>& v = vqs_[q];
  if (v.irq_running) {
    v.irq_again = true;
    return;
  }
  v.irq_running = true;
  v.ring.DisableCb();
  Ps cost = (entry ? x_.irq_entry : 0) + UsedIndexLine();
  v.handler.clear();
  while (auto u = v.ring.GetUsed()) {
    Occupancy(v, -1);
    cost += x_.cacheline;  // the used slot (split) or descriptor (packed)
    if (v.rx) {
      // Buffers come back in the order the backend filled them; a packet is
      // received with its last buffer (num_buffers).
      auto& [pkt, left] = v.rx_given.front();
      if (--left == 0) {
        const Req& r = reqs_[pkt];
        cost += x_.complete + (x_.bounce ? Copy(r.bytes + kNetHdr) : 0);
        v.handler.push_back(pkt);
        v.rx_given.pop_front();
      }
    } else if (!net_) {
      const Req& r = reqs_[u->token];
      // Unmap: the device-to-driver part comes back out of the bounce pages
      // (the status byte, a read's data).
      if (x_.bounce) cost += Copy(1) + (r.write ? 0 : Copy(r.bytes));
      cost += x_.complete;
      v.handler.push_back(u->token);
    } else {
      v.handler.push_back(u->token);  // a transmitted buffer, freed
    }
  }
  At(cpus_[v.irq_cpu].Run(Now(), cost), kIrqDone, q);
}

template <class Ring>
void Datapath<Ring>::IrqDoneBody(uint32_t q) {
  Vq<Ring>& v = vqs_[q];
  const Ps now = Now();
  const bool any = !v.handler.empty();
  for (uint32_t t : v.handler) {
    Req& r = reqs_[t];
    if (v.rx || !net_) Finish(t, now);
    if (!net_) {
      bounce_in_use_ -= r.bounce_pages;
      Job& job = jobs_[r.job];
      --job.inflight;
      WantIssue(r.job);
    }
    free_.push_back(t);
  }
  v.handler.clear();
  IssueWanted(now);
  // What waited for space goes in (blk_mq_run_hw_queues after a completion;
  // netif_wake_subqueue).
  bool added = false;
  while (!v.backlog.empty() && TryAdd(v, v.backlog.front())) {
    v.backlog.pop_front();
    added = true;
  }
  if (added) Kick(q, now);
  if (net_ && !v.rx && v.tx_stopped && v.backlog.empty() && v.ring.num_free() > 0) {
    v.tx_stopped = false;
    TxMake(q / 2);
  }
  if (v.rx && any) RefillRx(q / 2);
  v.irq_running = false;
  // Transmit completions are wanted late (virtqueue_enable_cb_delayed: at
  // 3/4 of the outstanding buffers), the others at once.
  const bool again = (net_ && !v.rx) ? !v.ring.EnableCbDelayed() : !v.ring.EnableCb();
  if (again || v.irq_again) {
    v.irq_again = false;
    Irq(q, false);
  }
}

// ---------------------------------------------------------------- backend

template <class Ring>
void Datapath<Ring>::Wake(uint32_t q, Ps at, Ps latency) {
  Vq<Ring>& v = vqs_[q];
  switch (v.be) {
    case BeState::kSleep:
      v.be = BeState::kScheduled;
      At(at + latency, kBeStep, q);
      break;
    case BeState::kSpin:
      // vhost-net's busy poll sees the work without a wake-up.
      cpus_[v.be_cpu].busy += std::max<Ps>(0, at - v.spin_start);
      v.be = BeState::kScheduled;
      At(at, kBeStep, q);
      break;
    case BeState::kPoll: {
      // A poll-mode thread notices new work at its next loop iteration.
      v.be = BeState::kScheduled;
      const Ps period = std::max<Ps>(x_.be_step, 1);
      const Ps t = std::max(at, cpus_[v.be_cpu].free_at);
      At(t + (period - t % period) % period, kBeStep, q);
      break;
    }
    case BeState::kScheduled:
    case BeState::kRun: break;
  }
}

// One pass of the backend's loop (handle_tx / handle_rx, a burst): hand
// back what the device finished, take up to `batch` new chains
// (vhost_get_vq_desc, rte_vhost_dequeue_burst), do each one's work, and
// finish at the pass's end.
template <class Ring>
void Datapath<Ring>::BeStep(uint32_t q) {
  Vq<Ring>& v = vqs_[q];
  const Ps now = Now();
  v.be = BeState::kRun;
  if (!polling_) v.ring.DisableNotify();
  Ps cost = x_.be_step;
  for (uint32_t t : v.inbox) {
    const Req& r = reqs_[t];
    v.used_id.push_back(r.head);
    v.used_len.push_back(r.write ? 1 : r.bytes + 1);  // the status byte, and a read's data
  }
  v.inbox.clear();
  // A device engine serves requests at its rate while its DMA reads are in
  // flight together: the reads are latency, not occupancy. A CPU does
  // its reads one after the other.
  Ps fetch = 0;  // hardware: the index read all of this pass's requests wait for
  if (!v.rx) {
    if (v.ring.AvailCount() > 0) (x_.hardware ? fetch : cost) += AvailIndexLine();
    for (uint32_t i = 0; i < c_.batch; ++i) {
      auto chain = v.ring.Pop(&segs_);
      if (!chain.has_value() || !chain->has_value()) break;
      const Chain& ch = **chain;
      descriptors_ += ch.segments;  // in the ring or an indirect table, each one read
      const uint32_t t = TokenOf(segs_[0].addr);
      Req& r = reqs_[t];
      r.head = ch.id;
      // A device fetches the chain, then what it sends or writes.
      const Ps reads = ChainLines(ch) + (r.write ? x_.payload_read : 0);
      if (x_.hardware) {
        r.fetch = fetch + reads;
      } else {
        cost += reads;
      }
      cost += engine_;
      if (net_) {
        // Transmit: copied out of the guest (vhost-net: into an skb for tun;
        // vhost-user: into an mbuf), so the buffer is used at once.
        if (x_.copy_in_backend) cost += Copy(r.bytes + kNetHdr) + x_.tap + x_.mbuf;
        v.used_id.push_back(ch.id);
        v.used_len.push_back(0);
      }
      v.popped.push_back(t);
    }
  } else {
    // Receive: packets waiting at the backend go into guest buffers;
    // mergeable buffers let a large frame take several.
    if (!v.rx_waiting.empty() && v.ring.AvailCount() > 0 && !x_.hardware) cost += AvailIndexLine();
    for (uint32_t n = 0; n < c_.batch && !v.rx_waiting.empty(); ++n) {
      const uint32_t t = v.rx_waiting.front();
      const Req& r = reqs_[t];
      if (r.issued > now) break;  // not yet arrived (saturation senders are ahead)
      const uint32_t total = r.bytes + kNetHdr;
      const uint32_t need = (total + kRxBuf - 1) / kRxBuf;
      if (v.ring.AvailCount() < need) break;
      for (uint32_t b = 0; b < need; ++b) {
        auto chain = v.ring.Pop(&segs_);
        if (!chain.has_value() || !chain->has_value()) break;
        descriptors_ += (*chain)->segments;
        if (!x_.hardware) cost += ChainLines(**chain);  // a device prefetches receive buffers
        v.used_id.push_back((*chain)->id);
        v.used_len.push_back(std::min(kRxBuf, total - b * kRxBuf));
      }
      if (x_.copy_in_backend) cost += Copy(total) + x_.tap + x_.mbuf;
      cost += engine_;
      v.rx_given.push_back({t, need});
      v.rx_waiting.pop_front();
    }
  }
  At(cpus_[v.be_cpu].Run(now, cost), kBeDone, q);
}

template <class Ring>
void Datapath<Ring>::BeDoneBody(uint32_t q) {
  Vq<Ring>& v = vqs_[q];
  const Ps now = Now();
  // Hand back (vhost_add_used_n: one used index write for the batch) and
  // signal if the driver asked for it (vhost_notify).
  if (!v.used_id.empty()) {
    for (size_t i = 0; i < v.used_id.size(); ++i) v.ring.PushUsed(v.used_id[i], v.used_len[i]);
    v.used_id.clear();
    v.used_len.clear();
    if (v.ring.PublishUsed()) {
      ++irqs_;
      // The guest's EOI exits unless the APIC is virtualised (posted interrupts).
      if (x_.vm && !c_.posted_interrupts) ++exits_;
      const Ps irq = cpus_[v.be_cpu].Run(now, x_.irq_cpu) + x_.irq_latency;
      At(irq, kIrq, q);
      if (irq == now) defer_ = false;  // it would fire before the device completions below
    }
  }
  // BeDone's first test below, for a block queue (from here to it nothing
  // schedules an event or changes the inbox or the ring).
  const bool goes_on = !net_ && (!v.inbox.empty() || v.ring.AvailCount() > 0);
  for (uint32_t t : v.popped) {
    if (net_) {
      Finish(t, Wire(tx_wire_, reqs_[t].bytes, now + reqs_[t].fetch));  // on the wire after the frames before it
    } else {
      QueueDevDone(q, DeviceComplete(reqs_[t], now + reqs_[t].fetch), t, goes_on);
    }
  }
  FlushDevDone(q);
  v.popped.clear();
  if (v.rx && !v.feed_pending) RxFeed(q / 2);
  // The next packet is still on the wire: its arrival wakes the thread
  // (tun's wake-up) or meets the poller.
  if (v.rx && !v.feed_pending && !v.rx_waiting.empty() && reqs_[v.rx_waiting.front()].issued > now) {
    v.feed_pending = true;
    At(reqs_[v.rx_waiting.front()].issued, kRxFeed, q / 2);
  }
  // The loop: more work, else re-enable notifications and re-check
  // (vhost_enable_notify), else spin (busy poll) or sleep.
  if (!v.inbox.empty() || (!v.rx && v.ring.AvailCount() > 0) || RxReady(v)) {
    v.be = BeState::kScheduled;
    At(now, kBeStep, q);
    return;
  }
  if (polling_) {
    v.be = BeState::kPoll;
    return;
  }
  if (c_.busyloop_timeout_ps > 0) {
    v.be = BeState::kSpin;
    v.spin_start = now;
    At(now + c_.busyloop_timeout_ps, kBeTimeout, q, ++v.spin_gen);
    return;
  }
  GoIdle(q);
}

// Nothing the backend can do now: it re-enables notifications and looks
// again (vhost_enable_notify), then sleeps. Transmit and block queues wait
// for a kick; receive waits for packets (tun's wake-up), and asks the guest
// for a kick only when it is out of buffers for one that has arrived
// (handle_rx). The re-check reads the ring, not enable_notify's answer, so
// a wake-up always finds work.
template <class Ring>
void Datapath<Ring>::GoIdle(uint32_t q) {
  Vq<Ring>& v = vqs_[q];
  const Ps now = Now();
  bool again = false;
  if (!v.rx) {
    v.ring.EnableNotify();
    again = v.ring.AvailCount() > 0;
  } else if (!v.rx_waiting.empty() && reqs_[v.rx_waiting.front()].issued <= now) {
    const bool posted = v.ring.EnableNotify();
    again = RxReady(v);
    if (posted && !again) {
      // Buffers are there but too few for this frame: handle_rx discards
      // the partial set (vhost_discard_vq_desc) and loops, reading them
      // again, until the guest posts more; the loop costs its CPU.
      const Req& r = reqs_[v.rx_waiting.front()];
      const Ps reread = std::max<Ps>(kPsPerNs, x_.ring_line * ((r.bytes + kNetHdr + kRxBuf - 1) / kRxBuf));
      v.ring.DisableNotify();
      v.be = BeState::kScheduled;
      At(cpus_[v.be_cpu].Run(now, reread), kBeStep, q);
      return;
    }
  }
  if (again) {
    v.ring.DisableNotify();
    v.be = BeState::kScheduled;
    At(now, kBeStep, q);
    return;
  }
  v.be = BeState::kSleep;
}

// The device behind a software backend, or the hardware's media.
template <class Ring>
Ps Datapath<Ring>::DeviceComplete(const Req& r, Ps at) {
  if (ssd_) return ssd_->Submit(at / kPsPerNs, r.write, r.offset % ssd_->capacity_bytes(), r.bytes) * kPsPerNs;
  return at + c_.device_latency_ps;
}

template <class Ring>
void Datapath<Ring>::DevDone(uint32_t q, uint32_t t) {
  vqs_[q].inbox.push_back(t);
  WakeForDevice(q);
}

template <class Ring>
void Datapath<Ring>::WakeForDevice(uint32_t q) {
  // A software backend waiting for its device is woken by the completion
  // (an io_uring or aio event); a device engine or an inline null device
  // goes on at once.
  Wake(q, Now(), x_.hardware || (c_.device_latency_ps == 0 && !ssd_) ? 0 : x_.completion_wake);
}

// A link at the line rate: the frame ends after the ones before it.
template <class Ring>
Ps Datapath<Ring>::Wire(Ps& free_at, uint32_t bytes, Ps at) {
  CostMemo& m = wire_memo_[MemoSlot(bytes)];
  if (m.bytes != bytes) m = CostMemo{bytes, ToPs(8.0 * (bytes + kEthWireOverhead) / c_.line_rate_gbps)};
  free_at = std::max(free_at, at) + m.ps;
  return free_at;
}

// Packets for the guest reach the backend (tun's queue, the NIC's ring) at
// their times, or at saturation as fast as the line allows while the
// backend's queue has room; a full queue drops.
template <class Ring>
void Datapath<Ring>::RxFeed(uint32_t q) {
  Vq<Ring>& v = vqs_[2 * q + 1];
  v.feed_pending = false;
  const auto& src = rx_src_[q];
  size_t& next = rx_next_[q];
  const Ps now = Now();
  while (next < src.size()) {
    const PacketIo& pk = w_.packets[src[next]];
    Ps arrive;
    if (pk.at >= 0) {
      arrive = pk.at * kPsPerNs;
      if (arrive > now) break;
    } else {
      if (v.rx_waiting.size() >= rx_queue_) break;
      arrive = Wire(rx_wire_, pk.bytes, std::max(now, rx_wire_)) ;
    }
    ++next;
    if (first_ < 0) first_ = arrive;
    if (v.rx_waiting.size() >= rx_queue_) {
      ++drops_;
      continue;
    }
    v.rx_waiting.push_back(NewReq(Req{.issued = arrive, .bytes = pk.bytes, .q = 2 * q + 1}));
  }
  if (next < src.size() && w_.packets[src[next]].at >= 0) {
    v.feed_pending = true;
    At(w_.packets[src[next]].at * kPsPerNs, kRxFeed, q);
  }
  if (!v.rx_waiting.empty()) {
    const Ps first = std::max(now, reqs_[v.rx_waiting.front()].issued);
    // tun_net_xmit -> the socket's wake-up -> vhost_poll_wakeup (a kernel
    // thread's wake-up), or the poller's next pass.
    Wake(2 * q + 1, first, x_.kick_wake);
  }
}

// ---------------------------------------------------------------- ublk

// ublk_queue_rq(): the request takes its tag and goes to the server thread
// as task work (io_uring_cmd_complete_in_task); no tag: it waits.
template <class Ring>
void Datapath<Ring>::UblkSubmit(uint32_t t) {
  const uint32_t q = reqs_[t].q;
  Vq<Ring>& v = vqs_[q];
  if (!v.backlog.empty() || !ublk_[q].Deliver(t)) {
    v.backlog.push_back(t);
    return;
  }
  Wake(q, Now(), x_.task_work);
}

// The server thread's pass: the task work copies each new write's data into
// the server's buffer (ublk_map_io) and posts the FETCH CQEs; the server
// serves them; COMMIT_AND_FETCH_REQ for the finished ones (one
// io_uring_enter for the batch) copies each read's data back
// (ublk_unmap_io) and ends the request (blk_mq_end_request).
template <class Ring>
void Datapath<Ring>::UblkStep(uint32_t q) {
  Vq<Ring>& v = vqs_[q];
  UblkQueue& uq = ublk_[q];
  v.be = BeState::kRun;
  Ps cost = 0;
  uq.TakeDelivered(&delivered_);
  for (uint16_t tag : delivered_) {
    const uint32_t t = uq.token(tag);
    Req& r = reqs_[t];
    r.head = tag;
    if (r.write && !c_.zero_copy) cost += Copy(r.bytes);
    ++descriptors_;
    v.popped.push_back(t);
  }
  v.finished.swap(v.inbox);
  v.inbox.clear();
  if (!v.finished.empty()) {
    cost += x_.uring_enter;
    for (uint32_t t : v.finished) {
      const Req& r = reqs_[t];
      if (!r.write && !c_.zero_copy) cost += Copy(r.bytes);
      cost += x_.complete;
    }
  }
  At(cpus_[v.be_cpu].Run(Now(), cost), kBeDone, q);
}

template <class Ring>
void Datapath<Ring>::UblkDoneBody(uint32_t q) {
  Vq<Ring>& v = vqs_[q];
  UblkQueue& uq = ublk_[q];
  const Ps now = Now();
  for (uint32_t t : v.finished) {
    Req& r = reqs_[t];
    (void)uq.Commit(r.head);  // the server owns every tag it commits here
    Finish(t, now);
    Job& job = jobs_[r.job];
    --job.inflight;
    free_.push_back(t);
    WantIssue(r.job);
  }
  v.finished.clear();
  IssueWanted(now);
  while (!v.backlog.empty() && uq.Deliver(v.backlog.front())) v.backlog.pop_front();
  const bool goes_on = !v.inbox.empty() || uq.delivered() > 0;  // the test below
  for (uint32_t t : v.popped) QueueDevDone(q, DeviceComplete(reqs_[t], now), t, goes_on);
  FlushDevDone(q);
  v.popped.clear();
  if (!v.inbox.empty() || uq.delivered() > 0) {
    v.be = BeState::kScheduled;
    At(now, kBeStep, q);
    return;
  }
  v.be = BeState::kSleep;
}

// ---------------------------------------------------------------- run

template <class Ring>
StatusOr<model::Result> Datapath<Ring>::Run(const std::atomic<bool>* cancel) {
  KREPLAY_RETURN_IF_ERROR(Init());
  cancel_ = cancel;
  sim_.Run();  // until the workload is done, the duration limit or a cancel stops it
  if (cancelled_) return Cancelled("virtio: run cancelled");
  const Ps end = Now();
  const Ps span = first_ >= 0 ? last_ - first_ : 0;
  // A poll-mode thread spins for the whole run: all of its CPU is the
  // backend's.
  if (polling_)
    for (const Vq<Ring>& v : vqs_) cpus_[v.be_cpu].busy = std::max(cpus_[v.be_cpu].busy, span);
  Ps guest = 0, host = 0;
  for (const Cpu& cpu : cpus_) {
    if (cpu.side == kGuestCpu) guest += cpu.busy;
    if (cpu.side == kHostCpu) host += cpu.busy;  // a device engine's time is nobody's CPU
  }
  model::Result res;
  const double secs = static_cast<double>(span) / 1e12;
  const double n = static_cast<double>(std::max<uint64_t>(done_, 1));
  const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  res.Set("requests", static_cast<double>(done_), "count");
  res.Set("duration_ms", static_cast<double>(span) / 1e9, "ms");
  res.Set(net_ ? "mpps" : "kiops", net_ ? rate / 1e6 : rate / 1e3, net_ ? "Mpps" : "kIOPS");
  res.Set("gbps", secs > 0 ? static_cast<double>(done_bytes_) * 8 / secs / 1e9 : 0, "Gbit/s");
  res.Set("latency_p50_us", static_cast<double>(latency_.Percentile(0.50)) / 1e3, "us");
  res.Set("latency_p99_us", static_cast<double>(latency_.Percentile(0.99)) / 1e3, "us");
  res.Set("latency_p999_us", static_cast<double>(latency_.Percentile(0.999)) / 1e3, "us");
  res.Set("latency_mean_us", latency_.Mean() / 1e3, "us");
  res.Set("host_cpu_ns_per_req", static_cast<double>(host) / kPsPerNs / n, "ns");
  res.Set("guest_cpu_ns_per_req", static_cast<double>(guest) / kPsPerNs / n, "ns");
  const double kib = std::max(1.0, static_cast<double>(done_bytes_) / 1024);
  res.Set("host_cpu_ns_per_kib", static_cast<double>(host) / kPsPerNs / kib, "ns");
  res.Set("guest_cpu_ns_per_kib", static_cast<double>(guest) / kPsPerNs / kib, "ns");
  res.Set("kicks_per_req", static_cast<double>(kicks_) / n, "ratio");
  res.Set("interrupts_per_req", static_cast<double>(irqs_) / n, "ratio");
  res.Set("vm_exits_per_req", static_cast<double>(exits_) / n, "ratio");
  res.Set("copies_per_req", static_cast<double>(copies_) / n, "ratio");
  res.Set("copied_bytes_per_req", static_cast<double>(copied_bytes_) / n, "bytes");
  double occ = 0;
  for (Vq<Ring>& v : vqs_) {
    Occupancy(v, 0);
    if (end > 0) occ += v.occ_integral / static_cast<double>(end) / c_.queue_size;
  }
  res.Set("ring_occupancy", vqs_.empty() ? 0 : occ / static_cast<double>(vqs_.size()), "ratio");
  res.Set("drops", static_cast<double>(drops_), "count");
  res.Set("ring_full_waits", static_cast<double>(ring_full_), "count");
  res.Set("bounce_full_waits", static_cast<double>(bounce_full_), "count");
  res.Set("bounce_peak_mib", static_cast<double>(bounce_peak_) * kPage / (1 << 20), "MiB");
  res.Set("descriptors", static_cast<double>(descriptors_), "count");
  // One point per run for the report's curves across workloads: throughput
  // and median latency against the queue depth or the frame size, grouped
  // by direction (family.cc's curve_series).
  {
    uint64_t reads = 0, writes = 0, depth = 0, bytes = 0, rx = 0;
    for (const BlockJob& j : w_.jobs) {
      depth += j.iodepth;
      for (const BlockIo& io : j.ios) (io.write ? writes : reads) += 1;
    }
    for (const PacketIo& pk : w_.packets) {
      bytes += pk.bytes;
      rx += pk.to_guest;
    }
    auto point = [&res](const std::string& name, const std::string& unit, int64_t x, double y) {
      model::TimeSeries ts;
      ts.unit = unit;
      ts.t = {x};
      ts.value = {y};
      res.series[name] = std::move(ts);
    };
    const double p50 = res.scalars["latency_p50_us"].value;
    if (net_) {
      const std::string g = rx == 0 ? "tx" : rx == w_.packets.size() ? "rx" : "tx+rx";
      const auto x = static_cast<int64_t>(w_.packets.empty() ? 0 : bytes / w_.packets.size());
      point("mpps_by_size/" + g, "Mpps", x, res.scalars["mpps"].value);
      point("latency_by_size/" + g, "us", x, p50);
    } else {
      const std::string g = writes == 0 ? "read" : reads == 0 ? "write" : "mixed";
      point("kiops_by_depth/" + g, "kIOPS", static_cast<int64_t>(depth), res.scalars["kiops"].value);
      point("latency_by_depth/" + g, "us", static_cast<int64_t>(depth), p50);
    }
  }
  res.histograms["latency_ns"] = latency_;
  res.sim_events = sim_.events_processed();
  res.sim_time_ns = end / kPsPerNs;
  return res;
}

}  // namespace

StatusOr<model::Result> RunDatapath(const DatapathConfig& c, const VirtioProfile& profile, const VirtioWorkload& w,
                                    uint64_t seed, const std::atomic<bool>* cancel) {
  (void)seed;  // the workload carries the randomness; the datapath is deterministic
  KREPLAY_RETURN_IF_ERROR(CheckQueueSize(c.queue_size, "params.queue_size"));
  if (c.queues == 0 || c.queues > 256) return InvalidArgument("params.queues: 1 to 256");
  if (c.driver_cpus == 0 || c.backend_cpus == 0) return InvalidArgument("params.driver_cpus, backend_cpus: at least 1");
  if (c.colocate && (c.poll || c.backend == Backend::kVhostUser))
    return InvalidArgument("params.colocate: a polling backend never yields its CPU; give it a CPU of its own");
  if (c.line_rate_gbps <= 0) return InvalidArgument("params.line_rate_gbps: must be positive");
  // A request must fit the ring, or it would wait for ever.
  if (w.kind == WorkloadKind::kBlock && c.backend != Backend::kUblk && !c.indirect && c.queue_size < 3)
    return InvalidArgument("params.queue_size: a virtio-blk request takes 3 descriptors (header, data, status) "
                           "without indirect descriptors; the ring has " + std::to_string(c.queue_size));
  uint32_t frame = 0;
  for (const PacketIo& pk : w.packets)
    if (pk.to_guest) frame = std::max(frame, pk.bytes);
  if (const uint32_t need = (frame + kNetHdr + kRxBuf - 1) / kRxBuf; frame > 0 && need > c.queue_size)
    return InvalidArgument("params.queue_size: a received frame of " + std::to_string(frame) + " bytes takes " +
                           std::to_string(need) + " receive buffers of " + std::to_string(kRxBuf) +
                           " bytes; the ring has " + std::to_string(c.queue_size));
  const bool net = w.kind == WorkloadKind::kNet;
  KREPLAY_ASSIGN_OR_RETURN(PathCosts x, MakePathCosts(c, profile, net));
  if (c.packed) {
    Datapath<PackedRing> d(c, profile, x, w);
    return d.Run(cancel);
  }
  Datapath<SplitRing> d(c, profile, x, w);
  return d.Run(cancel);
}

}  // namespace kreplay::virtio
