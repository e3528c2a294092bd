// A consumer-group member: partitions are spread over the members by the
// group coordinator, and progress is tracked as committed offsets.
//
// Offsets are committed only for what the owner stored (enable.auto.offset.store
// =false): StoreOffset marks a record done, the periodic auto-commit (and
// CommitSync, and every revocation) commits the stored offsets. A member that
// takes over a partition resumes at its committed offset, or per
// offset_reset when none is committed.
//
// Mock-cluster timings (PLATFORM.md): a join takes ~3 s; a clean leave is seen
// by the others within 2-5 s; session timeouts below 3000 ms never form a
// group and report nothing, so Create rejects them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "services/bus/kafka.h"
#include "services/core/status.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace kreplay::bus {

struct RebalanceEvent {
  enum class Kind { kAssigned, kRevoked };
  Kind kind = Kind::kAssigned;
  // The partitions added to (kAssigned) or taken from (kRevoked) this member;
  // with the eager protocol that is the whole previous/new assignment.
  std::vector<TopicPartition> partitions;
  // kRevoked only: the session had expired, another member may already own
  // them, and storing or committing offsets for them is pointless.
  bool lost = false;
};

// Runs on the thread inside Poll or Close (including the Close done by the
// destructor: whatever the listener touches must outlive the consumer). kAssigned is delivered after the
// partitions are assigned (and paused, if PauseAll is in effect); kRevoked
// before they are released, so the listener may still StoreOffset for them;
// stored offsets are committed right after it returns.
using RebalanceListener = std::function<void(const RebalanceEvent&)>;

// What happens when a partition has no committed offset, or the committed or
// current position is no longer on the broker (retention dropped it). With
// kEarliest/kLatest librdkafka jumps silently (it only logs); on the mock
// cluster that is exactly how a consumer paused for long loses data.
enum class OffsetReset {
  kEarliest,  // auto.offset.reset=earliest: never-committed and lost both restart at the oldest
  kLatest,    // auto.offset.reset=latest
  kError,     // auto.offset.reset=error: lost -> DataLoss, never committed -> FailedPrecondition
  // Never-committed partitions start at the oldest retained record; a position
  // retention has passed is DataLoss. What a reader that must see every
  // record wants.
  kEarliestThenError,
};

struct GroupConsumerOptions {
  std::string group_id;  // required
  // session.timeout.ms; [3000, 300000]. Failover after a crash takes about
  // this long plus ~3-5 s of rebalance on the mock cluster.
  int session_timeout_ms = 6000;
  // Where to start when a partition has no usable committed offset.
  OffsetReset offset_reset = OffsetReset::kEarliest;
  std::chrono::milliseconds auto_commit_interval{1000};
  bool cooperative = false;  // cooperative-sticky instead of eager range
  RebalanceListener on_rebalance;  // optional
};

// Thread-safety: Poll and Close from one thread (the consumer's). PauseAll,
// ResumeAll, StoreOffset, CommitSync and Assignment may be called from any
// thread, including from the rebalance listener.
class GroupConsumer {
 public:
  // Validates options (and session.timeout.ms if set through
  // config.properties) before creating the client.
  static StatusOr<std::unique_ptr<GroupConsumer>> Create(const KafkaConfig& config,
                                                         GroupConsumerOptions options);
  ~GroupConsumer();  // Close()s if not closed
  GroupConsumer(const GroupConsumer&) = delete;
  GroupConsumer& operator=(const GroupConsumer&) = delete;

  // Joins the group for these topics (replaces an earlier subscription).
  Status Subscribe(const std::vector<std::string>& topics);

  // Next record, nullopt on timeout. Rebalances are handled inside. Errors as
  // PartitionReader::Poll; DataLoss only with kError or kEarliestThenError
  // (the partition then stops until reassigned: Close and rejoin, or commit a
  // new offset from another member).
  StatusOr<std::optional<Message>> Poll(std::chrono::milliseconds timeout);

  // Stops/starts fetching every assigned partition. While paused, partitions
  // assigned later by a rebalance are paused as soon as they are assigned
  // (done in the rebalance callback), so nothing arrives until ResumeAll.
  // Records already fetched but not yet returned are discarded by the pause
  // and fetched again after ResumeAll from the next offset Poll would return.
  Status PauseAll();
  Status ResumeAll();
  bool paused() const;

  // Marks records below `next_offset` done (next_offset = last handled + 1).
  // FailedPrecondition if this member does not own the partition now.
  Status StoreOffset(const std::string& topic, int32_t partition, int64_t next_offset);
  // Commits the stored offsets and waits for the broker (OK if none stored).
  Status CommitSync();

  // Records not yet consumed on the current assignment: sum over assigned
  // partitions of (high watermark - next position), from librdkafka's cached
  // watermarks (no broker round trip; updated with each fetch). Partitions
  // without a position yet count from their low watermark.
  StatusOr<int64_t> Lag() const;

  // Current assignment, sorted.
  StatusOr<std::vector<TopicPartition>> Assignment() const;

  // Commits stored offsets and leaves the group cleanly (fast handover).
  // Poll must not be called afterwards. Idempotent.
  Status Close();

 private:
  GroupConsumer(rd_kafka_t* rk, GroupConsumerOptions options);
  friend struct GroupConsumerCallbacks;
  void OnRebalance(int err, void* partitions);

  rd_kafka_t* rk_;  // owned
  GroupConsumerOptions options_;
  std::string who_;  // "group consumer 'g'"
  mutable std::mutex mu_;
  bool paused_ = false;  // guarded by mu_; also held while (re)assigning
  bool closed_ = false;  // consumer thread only
};

}  // namespace kreplay::bus
