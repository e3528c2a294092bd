// Columnar, delta-encoded record batches: the one chunk format every model
// family maps its records onto. Each column stores zigzag deltas from the
// previous value in the same chunk, so a chunk decodes on its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kreplay/v1/workload.pb.h"
#include "services/core/status.h"

namespace kreplay::codec {

// Builds one chunk's columns. Not thread-safe.
class ColumnWriter {
 public:
  explicit ColumnWriter(std::vector<std::string> names);
  // REQUIRES: values.size() == number of columns.
  void Append(const int64_t* values);
  size_t rows() const { return rows_; }
  // Upper bound of the encoded payload size so far (varint bytes + framing).
  size_t EstimatedBytes() const { return bytes_; }
  // Serialises the batch and resets the writer for the next chunk.
  std::string TakePayload();

 private:
  v1::RecordColumns cols_;
  std::vector<int64_t> last_;
  size_t rows_ = 0;
  size_t bytes_ = 0;
};

// Encoded sizes, as ColumnWriter stores values: a varint's bytes, and
// protobuf's sint64 zigzag mapping of a delta.
size_t VarintSize(uint64_t v);
inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }

// Decodes a payload and checks it has exactly `names` (in order), all of
// equal length. Returns the absolute values column by column.
StatusOr<std::vector<std::vector<int64_t>>> DecodeColumns(const std::string& payload,
                                                          const std::vector<std::string>& names);

}  // namespace kreplay::codec
