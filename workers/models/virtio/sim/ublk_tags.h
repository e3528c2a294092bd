// A ublk queue's tags as drivers/block/ublk_drv.c tracks them (struct
// ublk_io's flags): the server first issues UBLK_IO_FETCH_REQ for every tag
// (UBLK_IO_FLAG_ACTIVE: the command is held by the driver); ublk_queue_rq()
// puts a request on its blk-mq tag and completes that tag's command (the
// CQE: ACTIVE cleared, UBLK_IO_FLAG_OWNED_BY_SRV set); the server's
// UBLK_IO_COMMIT_AND_FETCH_REQ ends the request and re-arms the tag (OWNED
// cleared, ACTIVE set). A commit for a tag the server does not own is
// refused (-EINVAL in ublk_ch_uring_cmd()).
//
// Not thread-safe; one per simulated queue.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "services/core/status.h"

namespace kreplay::virtio {

class UblkQueue {
 public:
  static constexpr uint8_t kActive = 1;      // UBLK_IO_FLAG_ACTIVE
  static constexpr uint8_t kOwnedBySrv = 2;  // UBLK_IO_FLAG_OWNED_BY_SRV
  static constexpr uint32_t kMaxDepth = 4096;  // UBLK_MAX_QUEUE_DEPTH

  // REQUIRES: 1 <= depth <= kMaxDepth. Every tag starts fetched (ACTIVE).
  explicit UblkQueue(uint32_t depth) : flags_(depth, kActive), token_(depth, 0) {
    free_.reserve(depth);
    for (uint32_t t = depth; t-- > 0;) free_.push_back(static_cast<uint16_t>(t));
  }

  // ublk_queue_rq(): the request `token` on a free tag, delivered to the
  // server; nullopt when every tag is busy (blk-mq makes the submitter wait).
  std::optional<uint16_t> Deliver(uint32_t token) {
    if (free_.empty()) return std::nullopt;
    const uint16_t tag = free_.back();
    free_.pop_back();
    flags_[tag] = kOwnedBySrv;
    token_[tag] = token;
    delivered_.push_back(tag);
    return tag;
  }
  // The tags delivered since the last call (the CQEs the server reaps).
  std::vector<uint16_t> TakeDelivered() {
    std::vector<uint16_t> out;
    out.swap(delivered_);
    return out;
  }
  // The same into *out (its old contents dropped), keeping both vectors'
  // storage: what a server thread's loop calls every pass.
  void TakeDelivered(std::vector<uint16_t>* out) {
    out->clear();
    out->swap(delivered_);
  }
  size_t delivered() const { return delivered_.size(); }
  // UBLK_IO_COMMIT_AND_FETCH_REQ for `tag`: ends its request and re-arms it.
  Status Commit(uint16_t tag) {
    if (tag >= flags_.size() || !(flags_[tag] & kOwnedBySrv))
      return InvalidArgument("ublk: commit of tag " + std::to_string(tag) + " the server does not own");
    flags_[tag] = kActive;
    free_.push_back(tag);
    return OkStatus();
  }
  uint8_t flags(uint16_t tag) const { return flags_[tag]; }
  uint32_t token(uint16_t tag) const { return token_[tag]; }
  uint32_t depth() const { return static_cast<uint32_t>(flags_.size()); }
  uint32_t free_tags() const { return static_cast<uint32_t>(free_.size()); }

 private:
  std::vector<uint8_t> flags_;
  std::vector<uint32_t> token_;
  std::vector<uint16_t> free_;
  std::vector<uint16_t> delivered_;
};

}  // namespace kreplay::virtio
