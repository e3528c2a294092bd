// File-backed store of encoded workload traces, keyed by manifest digest.
//
// The controller keeps every trace a pending run needs readable here until
// the run is recorded, so re-sends never depend on Kafka retention. One file
// per trace holds the chunks back to back; a small index file (written last,
// then renamed into place) holds the manifest and each chunk's extent, so a
// half-written trace is never mistaken for a whole one after a crash.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kreplay/v1/workload.pb.h"
#include "services/core/status.h"
#include "services/family/family.h"

namespace kreplay::server {

// The read side of stored traces, all that trace streams need (an in-memory
// twin for tests is in testing/fakes.h). Thread-safety: concurrent calls allowed.
class TraceReader {
 public:
  virtual ~TraceReader() = default;
  virtual StatusOr<v1::TraceManifest> Manifest(const std::string& digest) const = 0;
  // The chunk with its digest set (stream_id left empty).
  virtual StatusOr<v1::TraceChunk> ReadChunk(const std::string& digest, uint32_t index) const = 0;
  // Size in bytes of one stored chunk (payload), for window accounting.
  virtual StatusOr<uint64_t> ChunkBytes(const std::string& digest, uint32_t index) const = 0;
};

class TraceStore final : public TraceReader {
 public:
  // Creates `dir` if needed and indexes the traces already in it.
  static StatusOr<std::unique_ptr<TraceStore>> Open(const std::string& dir);

  // Encodes a workload with its family's trace codec and stores it unless a
  // trace with the same content is already stored; returns its manifest.
  // REQUIRES: `w` is of `family`'s workload type (the codec checks).
  StatusOr<v1::TraceManifest> Put(const family::FamilyInfo& family, const model::AnyValue& w, size_t chunk_bytes,
                                  const std::string& source);

  StatusOr<v1::TraceManifest> Manifest(const std::string& digest) const override;
  StatusOr<v1::TraceChunk> ReadChunk(const std::string& digest, uint32_t index) const override;
  StatusOr<uint64_t> ChunkBytes(const std::string& digest, uint32_t index) const override;

 private:
  struct Entry {
    v1::TraceManifest manifest;
    std::vector<uint64_t> offsets;  // chunk i spans [offsets[i], offsets[i+1])
    std::string path;
  };
  explicit TraceStore(std::string dir) : dir_(std::move(dir)) {}
  // Writes the chunks `encode` produces (it returns the manifest) and
  // indexes them; `tag` makes the temporary file name unique.
  using ChunkSink = std::function<void(v1::TraceChunk&&)>;
  StatusOr<v1::TraceManifest> Encode(const std::function<v1::TraceManifest(const ChunkSink&)>& encode, uintptr_t tag);
  Status LoadIndex(const std::string& index_path);

  std::string dir_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> traces_;  // digest -> entry
};

}  // namespace kreplay::server
