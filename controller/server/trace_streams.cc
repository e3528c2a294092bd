#include "controller/server/trace_streams.h"

#include <algorithm>

namespace kreplay::server {

TraceStreams::TraceStreams(TraceStreamsOptions options, const TraceReader* traces, Publisher* publisher,
                           const Clock* clock, metrics::ControllerProbe* probe)
    : opt_(std::move(options)),
      traces_(traces),
      publisher_(publisher),
      clock_(clock),
      probe_(probe),
      partitions_(static_cast<size_t>(std::max(1, opt_.partitions))) {}

v1::OpenTraceResponse TraceStreams::Answer(const v1::TraceManifest& m, const std::string& stream_id,
                                           int32_t partition, int64_t offset) const {
  v1::OpenTraceResponse resp;
  *resp.mutable_manifest() = m;
  resp.set_stream_id(stream_id);
  resp.set_topic(opt_.topic);
  resp.set_partition(partition);
  resp.set_start_offset(offset);
  return resp;
}

std::string TraceStreams::AddStreamLocked(const v1::OpenTraceRequest& req, uint32_t count) {
  Stream s;
  s.id = std::to_string(opt_.epoch);  // "t<epoch>-<n>", built so GCC 12 sees no -Wrestrict false positive
  s.id.insert(0, 1, 't');
  s.id += "-" + std::to_string(++stream_seq_);
  s.digest = req.digest();
  s.worker = req.worker_id();
  s.from = s.next_publish = s.acked = req.from_chunk();
  s.count = count;
  s.last_activity = clock_->Now();
  size_t best = 0;
  for (size_t p = 1; p < partitions_.size(); ++p)
    if (partitions_[p].streams.size() < partitions_[best].streams.size()) best = p;
  s.partition = static_cast<int32_t>(best);
  std::string id = s.id;
  partitions_[best].streams.insert(id);
  streams_.emplace(id, std::move(s));
  cv_.notify_all();
  return id;
}

void TraceStreams::EraseLocked(std::map<std::string, Stream>::iterator it) {
  partitions_[static_cast<size_t>(it->second.partition)].streams.erase(it->first);
  streams_.erase(it);
}

StatusOr<v1::OpenTraceResponse> TraceStreams::Open(const v1::OpenTraceRequest& req) {
  auto ticket = Begin(req);
  if (!ticket.ok()) return ticket.status();
  return Await(*ticket, opt_.open_timeout);
}

StatusOr<TraceStreams::Ticket> TraceStreams::Begin(const v1::OpenTraceRequest& req) {
  auto m = traces_->Manifest(req.digest());
  if (!m.ok()) return m.status();
  if (req.from_chunk() >= m->chunk_count())
    return InvalidArgument("trace " + req.digest() + " has " + std::to_string(m->chunk_count()) + " chunks");
  Ticket t;
  t.req = req;
  t.manifest = *m;
  std::lock_guard<std::mutex> lock(mu_);
  if (req.from_chunk() > 0) {
    ++resends_;
    if (probe_) probe_->TraceResend();
  }
  if (opt_.reuse_published && req.from_chunk() == 0) {
    if (auto p = published_.find(req.digest()); p != published_.end()) {
      t.answer = Answer(t.manifest, p->second.stream_id, p->second.partition, p->second.first_offset);
      return t;
    }
    // A publication of the whole trace is under way: read that one too.
    // (Acks of either reader advance its window; that is safe only with the
    // long retention --reuse-traces is meant for.)
    for (const auto& [id, st] : streams_)
      if (st.digest == req.digest() && st.from == 0 && st.error.ok()) t.stream_id = id;
    if (!t.stream_id.empty()) {
      t.joined = true;
      return t;
    }
  }
  t.stream_id = AddStreamLocked(req, m->chunk_count());
  return t;
}

StatusOr<v1::OpenTraceResponse> TraceStreams::Await(const Ticket& t, std::chrono::milliseconds timeout) {
  if (t.answer) return *t.answer;
  std::unique_lock<std::mutex> lock(mu_);
  auto first_chunk_out = [&](const std::string& id) {
    return [this, &id] {
      auto it = streams_.find(id);
      return stopping_ || it == streams_.end() || it->second.first_offset >= 0 || !it->second.error.ok();
    };
  };
  std::string id = t.stream_id;
  if (t.joined) {
    bool ready = cv_.wait_for(lock, timeout, first_chunk_out(id));
    auto it = streams_.find(id);
    if (ready && it != streams_.end() && it->second.first_offset >= 0)
      return Answer(t.manifest, id, it->second.partition, it->second.first_offset);
    if (auto p = published_.find(t.req.digest()); p != published_.end())  // finished meanwhile
      return Answer(t.manifest, p->second.stream_id, p->second.partition, p->second.first_offset);
    id = AddStreamLocked(t.req, t.manifest.chunk_count());
  }
  // Wait until the pump has published the first chunk: its offset is where
  // the worker starts reading.
  bool ok = cv_.wait_for(lock, timeout, first_chunk_out(id));
  auto it = streams_.find(id);
  if (!ok || it == streams_.end() || stopping_)
    return Unavailable("trace " + t.req.digest() + ": could not publish within " +
                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s");
  if (!it->second.error.ok()) {
    Status e = it->second.error;
    EraseLocked(it);
    return e;
  }
  return Answer(t.manifest, id, it->second.partition, it->second.first_offset);
}

void TraceStreams::Ack(const v1::AckTraceRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(req.stream_id());
  if (it == streams_.end()) return;
  Stream& s = it->second;
  s.acked = std::max(s.acked, std::min(req.next_chunk(), s.count));
  s.last_activity = clock_->Now();
  if (req.done() || s.acked >= s.count) EraseLocked(it);
  cv_.notify_all();
}

uint64_t TraceStreams::LowLocked(const PartitionState& p) const {
  uint64_t low = p.head;
  for (const auto& id : p.streams) {
    const Stream& o = streams_.at(id);
    if (o.acked < o.next_publish) low = std::min(low, o.start_pos.at(o.acked));
  }
  return low;
}

TraceStreams::PumpResult TraceStreams::PumpOnce(std::chrono::milliseconds idle_wait) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return PumpResult::kStopped;
  // Drop streams whose reader went quiet (it will re-open from its gap).
  const auto now = clock_->Now();
  for (auto it = streams_.begin(); it != streams_.end();) {
    auto next = std::next(it);
    if (now - it->second.last_activity > opt_.idle_timeout) EraseLocked(it);
    it = next;
  }
  // Find one chunk that fits its partition's window; start the round robin
  // one further each time, so one big trace does not starve others.
  std::string pick;
  uint64_t pick_bytes = 0;
  std::vector<std::string> ids;
  for (const auto& [id, _] : streams_) ids.push_back(id);
  for (size_t k = 0; k < ids.size() && pick.empty(); ++k) {
    Stream& s = streams_.at(ids[(rr_ + k) % ids.size()]);
    if (s.next_publish >= s.count || !s.error.ok()) continue;
    auto bytes = traces_->ChunkBytes(s.digest, s.next_publish);
    if (!bytes.ok()) {
      s.error = bytes.status();
      cv_.notify_all();
      continue;
    }
    const PartitionState& p = partitions_[static_cast<size_t>(s.partition)];
    uint64_t low = LowLocked(p);
    uint64_t size = *bytes + kMessageOverhead;
    // Always allow one chunk on an idle partition, even above the window.
    if (low == p.head || p.head + size - low <= opt_.window_bytes) {
      pick = s.id;
      pick_bytes = size;
    }
  }
  if (pick.empty()) {
    cv_.wait_for(lock, idle_wait);
    return stopping_ ? PumpResult::kStopped : PumpResult::kIdle;
  }
  ++rr_;
  Stream& s = streams_.at(pick);
  uint32_t index = s.next_publish++;
  size_t part = static_cast<size_t>(s.partition);
  s.start_pos[index] = partitions_[part].head;
  partitions_[part].head += pick_bytes;
  std::string digest = s.digest, sid = s.id;
  lock.unlock();
  if (!warmed_) warmed_ = publisher_->WarmUp(opt_.topic).ok();
  Status err;
  auto chunk = traces_->ReadChunk(digest, index);
  int64_t offset = -1;
  if (!chunk.ok()) {
    err = chunk.status();
  } else {
    chunk->set_stream_id(sid);
    std::string bytes;
    chunk->SerializeToString(&bytes);
    auto rep = publisher_->ProduceSync(opt_.topic, static_cast<int32_t>(part), digest, bytes,
                                       {{"kreplay-stream", sid}});
    if (rep.ok()) {
      offset = rep->offset;
      if (probe_) probe_->TraceChunkPublished(bytes.size());
    } else {
      err = rep.status();
    }
  }
  lock.lock();
  auto it = streams_.find(sid);
  if (it == streams_.end()) return PumpResult::kPublished;
  if (!err.ok()) {
    it->second.error = err;
  } else {
    if (index == it->second.from) it->second.first_offset = offset;
    // A whole trace published from chunk 0 can be read again by others.
    if (opt_.reuse_published && it->second.from == 0 && index + 1 == it->second.count)
      published_[it->second.digest] = {sid, it->second.partition, it->second.first_offset};
  }
  cv_.notify_all();
  return PumpResult::kPublished;
}

void TraceStreams::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

uint64_t TraceStreams::resends() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resends_;
}

size_t TraceStreams::stream_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

uint64_t TraceStreams::UnackedBytes(int32_t p) const {
  std::lock_guard<std::mutex> lock(mu_);
  const PartitionState& ps = partitions_.at(static_cast<size_t>(p));
  return ps.head - LowLocked(ps);
}

}  // namespace kreplay::server
