#include "workers/models/virtio/workload/virtio_workload.h"

#include "services/core/digest.h"

namespace kreplay::virtio {
namespace {

// Fixed-width little-endian fields, fed to SHA-256 in 64 KiB batches (one
// Update() per field would dominate the cost of 50 M records).
class DigestWriter {
 public:
  void Put(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) buf_.push_back(static_cast<char>(v >> (8 * i)));
    if (buf_.size() >= (64u << 10)) Flush();
  }
  std::string Finish() {
    Flush();
    return sha_.HexDigest();
  }
  void Tag(std::string_view tag) { sha_.UpdateField(tag); }

 private:
  void Flush() {
    sha_.Update(buf_);
    buf_.clear();
  }
  Sha256 sha_;
  std::string buf_;
};

}  // namespace

const char* WorkloadKindName(WorkloadKind k) {
  switch (k) {
    case WorkloadKind::kBlock:
      return "block";
    case WorkloadKind::kNet:
      return "net";
  }
  return "?";
}

uint64_t VirtioWorkloadIos(const VirtioWorkload& w) {
  uint64_t n = 0;
  for (const BlockJob& j : w.jobs) n += j.ios.size();
  return n;
}

uint64_t VirtioWorkloadBytes(const VirtioWorkload& w) {
  uint64_t n = sizeof(VirtioWorkload) + w.jobs.capacity() * sizeof(BlockJob) +
               w.packets.capacity() * sizeof(PacketIo);
  for (const BlockJob& j : w.jobs) n += j.ios.capacity() * sizeof(BlockIo);
  return n;
}

std::string VirtioWorkloadDigest(const VirtioWorkload& w) {
  DigestWriter d;
  d.Tag("kreplay.virtio_workload.v1");
  d.Put(static_cast<uint8_t>(w.kind), 1);
  d.Put(w.device_bytes, 8);
  d.Put(w.jobs.size(), 8);
  for (const BlockJob& j : w.jobs) {
    d.Put(j.iodepth, 4);
    d.Put(j.ios.size(), 8);
    for (const BlockIo& io : j.ios) {
      d.Put(static_cast<uint64_t>(io.at), 8);
      d.Put(io.offset, 8);
      d.Put(io.bytes, 4);
      d.Put(io.write ? 1 : 0, 1);
    }
  }
  d.Put(w.packets.size(), 8);
  for (const PacketIo& p : w.packets) {
    d.Put(static_cast<uint64_t>(p.at), 8);
    d.Put(p.bytes, 4);
    d.Put(p.flow, 2);
    d.Put(p.to_guest ? 1 : 0, 1);
  }
  return d.Finish();
}

}  // namespace kreplay::virtio
