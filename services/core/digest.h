// Content digests (SHA-256) used for result keys, workload and platform
// identity. Incremental: feed bytes with Update(), read the hex digest once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kreplay {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Length-prefixed field, so that ("ab","c") and ("a","bc") differ.
  void UpdateField(std::string_view bytes);
  void UpdateU64(uint64_t v);
  // Lowercase hex of the 32-byte digest. REQUIRES: called once.
  std::string HexDigest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Sha256Hex(std::string_view bytes);

}  // namespace kreplay
