// Trace streams: publishing a stored trace's chunks to the trace topic for
// one reader, behind a per-partition window.
//
// A worker opens a stream for (digest, from_chunk); the stream goes to the
// trace partition with the fewest open streams. The pump publishes one chunk
// at a time, round robin over open streams, and only while the partition
// holds at most `window_bytes` beyond its oldest unacknowledged chunk (one
// chunk is always allowed on an idle partition, even a larger one). Acks
// advance a stream; a stream whose reader is quiet for `idle_timeout` is
// dropped (the reader re-opens from its gap). With `reuse_published`, a trace
// published whole once is pointed at again instead of re-published.
//
// Thread-safety: all public methods may be called concurrently, except
// PumpOnce (one caller at a time: the trace pump). Open blocks until the
// pump has published the stream's first chunk.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller/server/clock.h"
#include "controller/server/publisher.h"
#include "controller/server/trace_store.h"
#include "kreplay/v1/controller.pb.h"
#include "services/core/status.h"
#include "services/metrics/metrics.h"

namespace kreplay::server {

struct TraceStreamsOptions {
  uint64_t window_bytes = 3u << 20;     // ControllerOptions::trace_window_bytes
  bool reuse_published = false;         // ControllerOptions::reuse_published_traces
  uint64_t epoch = 0;                   // part of every stream id
  std::string topic;                    // the trace topic
  int partitions = 1;                   // its partition count
  std::chrono::milliseconds idle_timeout{30000};  // a quiet reader's stream is dropped
  std::chrono::milliseconds open_timeout{60000};  // Open's bound on waiting for the first chunk
};

class TraceStreams {
 public:
  // Record batch framing and headers, counted with every chunk.
  static constexpr uint64_t kMessageOverhead = 256;

  // Nothing is owned; all must outlive this. `probe` may be null.
  TraceStreams(TraceStreamsOptions options, const TraceReader* traces, Publisher* publisher, const Clock* clock,
               metrics::ControllerProbe* probe);
  TraceStreams(const TraceStreams&) = delete;
  TraceStreams& operator=(const TraceStreams&) = delete;

  // Begin, then Await with options.open_timeout.
  StatusOr<v1::OpenTraceResponse> Open(const v1::OpenTraceRequest& req);

  // Open in two halves, so tests can run the pump in between.
  struct Ticket {
    v1::OpenTraceRequest req;
    v1::TraceManifest manifest;
    std::optional<v1::OpenTraceResponse> answer;  // set: nothing to wait for
    std::string stream_id;                        // else the stream to wait on
    bool joined = false;                          // someone else's publication
  };
  // Checks the request (NotFound: unknown trace; InvalidArgument: from_chunk
  // out of range) and answers from a finished publication or registers (or
  // joins) a stream. Does not block.
  StatusOr<Ticket> Begin(const v1::OpenTraceRequest& req);
  // Waits up to `timeout` for the ticket's stream to publish its first chunk.
  // Unavailable on timeout or shutdown; a publishing error is returned as is.
  StatusOr<v1::OpenTraceResponse> Await(const Ticket& ticket, std::chrono::milliseconds timeout);

  // The reader has everything before `next_chunk` (or is done).
  void Ack(const v1::AckTraceRequest& req);

  enum class PumpResult { kPublished, kIdle, kStopped };
  // Drops idle streams, then publishes one chunk that fits its window
  // (kPublished, also when publishing failed: the stream carries the error),
  // or waits up to `idle_wait` for a change (kIdle). REQUIRES: one caller at
  // a time.
  PumpResult PumpOnce(std::chrono::milliseconds idle_wait);

  // Wakes every waiter; PumpOnce returns kStopped from now on.
  void Stop();

  uint64_t resends() const;       // Opens with from_chunk > 0
  size_t stream_count() const;    // open streams
  // Bytes partition `p` holds beyond its oldest unacknowledged chunk: what
  // the window bounds. REQUIRES: 0 <= p < options.partitions.
  uint64_t UnackedBytes(int32_t p) const;

 private:
  using TimePoint = Clock::TimePoint;
  struct Stream {
    std::string id, digest, worker;
    int32_t partition = 0;
    uint32_t from = 0, next_publish = 0, acked = 0, count = 0;
    std::map<uint32_t, uint64_t> start_pos;  // chunk -> partition byte position
    int64_t first_offset = -1;
    Status error;
    TimePoint last_activity{};
  };
  struct PartitionState {
    uint64_t head = 0;  // bytes published so far (with per-message overhead)
    std::set<std::string> streams;
  };
  struct Publication {  // a whole trace published from chunk 0
    std::string stream_id;
    int32_t partition = 0;
    int64_t first_offset = -1;
  };

  v1::OpenTraceResponse Answer(const v1::TraceManifest& m, const std::string& stream_id, int32_t partition,
                               int64_t offset) const;
  std::string AddStreamLocked(const v1::OpenTraceRequest& req, uint32_t count);
  uint64_t LowLocked(const PartitionState& p) const;
  void EraseLocked(std::map<std::string, Stream>::iterator it);

  const TraceStreamsOptions opt_;
  const TraceReader* const traces_;
  Publisher* const publisher_;
  const Clock* const clock_;
  metrics::ControllerProbe* const probe_;
  bool warmed_ = false;  // trace topic metadata fetched; PumpOnce only
  size_t rr_ = 0;        // round-robin start; PumpOnce only

  mutable std::mutex mu_;
  std::condition_variable cv_;  // notified on every change
  bool stopping_ = false;
  std::map<std::string, Stream> streams_;
  std::vector<PartitionState> partitions_;
  std::map<std::string, Publication> published_;  // digest -> publication (reuse_published only)
  uint64_t stream_seq_ = 0;
  uint64_t resends_ = 0;
};

}  // namespace kreplay::server
