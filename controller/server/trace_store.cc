#include "controller/server/trace_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "services/core/digest.h"

namespace kreplay::server {
namespace fs = std::filesystem;

namespace {
// Index file: serialized TraceManifest length-prefixed, then chunk offsets.
Status WriteIndex(const std::string& path, const v1::TraceManifest& m, const std::vector<uint64_t>& offsets) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Unavailable("cannot write " + tmp);
    std::string mb;
    m.SerializeToString(&mb);
    uint64_t n = mb.size(), k = offsets.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(mb.data(), static_cast<std::streamsize>(mb.size()));
    out.write(reinterpret_cast<const char*>(&k), 8);
    out.write(reinterpret_cast<const char*>(offsets.data()), static_cast<std::streamsize>(8 * k));
    out.flush();
    if (!out) return Unavailable("short write to " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Unavailable("rename " + tmp + ": " + ec.message());
  return OkStatus();
}
}  // namespace

StatusOr<std::unique_ptr<TraceStore>> TraceStore::Open(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create trace directory " + dir + ": " + ec.message());
  std::unique_ptr<TraceStore> s(new TraceStore(dir));
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".idx") {
      Status st = s->LoadIndex(e.path().string());
      if (!st.ok()) return st;
    }
  }
  return s;
}

Status TraceStore::LoadIndex(const std::string& index_path) {
  std::ifstream in(index_path, std::ios::binary);
  uint64_t n = 0, k = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  if (!in || n > (64u << 20)) return DataLoss(index_path + ": corrupt trace index");
  std::string mb(n, '\0');
  in.read(mb.data(), static_cast<std::streamsize>(n));
  in.read(reinterpret_cast<char*>(&k), 8);
  if (!in || k > (1u << 28)) return DataLoss(index_path + ": corrupt trace index");
  Entry e;
  e.offsets.resize(k);
  in.read(reinterpret_cast<char*>(e.offsets.data()), static_cast<std::streamsize>(8 * k));
  if (!in || !e.manifest.ParseFromString(mb)) return DataLoss(index_path + ": corrupt trace index");
  e.path = dir_ + "/" + e.manifest.digest() + ".chunks";
  std::lock_guard<std::mutex> lock(mu_);
  traces_[e.manifest.digest()] = std::move(e);
  return OkStatus();
}

StatusOr<v1::TraceManifest> TraceStore::Put(const family::FamilyInfo& family, const model::AnyValue& w,
                                            size_t chunk_bytes, const std::string& source) {
  if (!family.encode_trace) return InvalidArgument("family " + family.name + " has no trace codec");
  return Encode([&](const ChunkSink& sink) { return family.encode_trace(w, chunk_bytes, sink, source); },
                reinterpret_cast<uintptr_t>(&w));
}

StatusOr<v1::TraceManifest> TraceStore::Encode(const std::function<v1::TraceManifest(const ChunkSink&)>& encode,
                                               uintptr_t tag) {
  // Encode into a temporary file first: the digest is known only at the end.
  std::string tmp = dir_ + "/.incoming-" + std::to_string(::getpid()) + "-" + std::to_string(tag);
  std::vector<uint64_t> offsets{0};
  Status write_status;
  v1::TraceManifest m;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Unavailable("cannot write " + tmp);
    m = encode([&](v1::TraceChunk&& c) {
      std::string b;
      c.SerializeToString(&b);
      out.write(b.data(), static_cast<std::streamsize>(b.size()));
      offsets.push_back(offsets.back() + b.size());
    });
    out.flush();
    if (!out) write_status = Unavailable("short write to " + tmp);
  }
  if (!write_status.ok()) return write_status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (traces_.count(m.digest())) {
      fs::remove(tmp);
      return traces_[m.digest()].manifest;
    }
  }
  std::string path = dir_ + "/" + m.digest() + ".chunks";
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Unavailable("rename " + tmp + ": " + ec.message());
  KREPLAY_RETURN_IF_ERROR(WriteIndex(dir_ + "/" + m.digest() + ".idx", m, offsets));
  std::lock_guard<std::mutex> lock(mu_);
  traces_[m.digest()] = Entry{m, std::move(offsets), path};
  return m;
}

StatusOr<v1::TraceManifest> TraceStore::Manifest(const std::string& digest) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = traces_.find(digest);
  if (it == traces_.end()) return NotFound("trace " + digest + " is not stored at the controller");
  return it->second.manifest;
}

StatusOr<uint64_t> TraceStore::ChunkBytes(const std::string& digest, uint32_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = traces_.find(digest);
  if (it == traces_.end() || index + 1 >= it->second.offsets.size())
    return NotFound("trace " + digest + " chunk " + std::to_string(index) + " is not stored");
  return it->second.offsets[index + 1] - it->second.offsets[index];
}

StatusOr<v1::TraceChunk> TraceStore::ReadChunk(const std::string& digest, uint32_t index) const {
  std::string path;
  uint64_t begin = 0, end = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = traces_.find(digest);
    if (it == traces_.end() || index + 1 >= it->second.offsets.size())
      return NotFound("trace " + digest + " chunk " + std::to_string(index) + " is not stored");
    path = it->second.path;
    begin = it->second.offsets[index];
    end = it->second.offsets[index + 1];
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return DataLoss("cannot open " + path + ": the controller's copy of the trace is gone");
  std::string buf(end - begin, '\0');
  ssize_t got = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(begin));
  ::close(fd);
  if (got != static_cast<ssize_t>(buf.size())) return DataLoss("short read from " + path);
  v1::TraceChunk c;
  if (!c.ParseFromString(buf)) return DataLoss(path + ": chunk " + std::to_string(index) + " is corrupt");
  c.set_digest(digest);
  return c;
}

}  // namespace kreplay::server
