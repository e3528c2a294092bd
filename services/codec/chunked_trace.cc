#include "services/codec/chunked_trace.h"

#include <iterator>

namespace kreplay::codec {

ChunkBuilder::ChunkBuilder(const std::vector<std::string>& names, std::string kind)
    : names_(names), kind_(std::move(kind)), columns_(static_cast<int>(names.size())), writer_(names) {
  KREPLAY_CHECK(columns_ <= kMaxColumns, kind_ + " chunks have " + std::to_string(columns_) + " columns, at most " +
                                             std::to_string(kMaxColumns) + " supported");
}

size_t ChunkBuilder::SizeWith(const int64_t* row) const {
  size_t packed[kMaxColumns] = {};
  for (int c = 0; c < columns_; ++c) packed[c] = packed_[c] + VarintSize(ZigZag(WrappingDelta(row[c], last_[c])));
  return Size(packed);
}

void ChunkBuilder::Append(const int64_t* row) {
  for (int c = 0; c < columns_; ++c) {
    packed_[c] += VarintSize(ZigZag(WrappingDelta(row[c], last_[c])));
    last_[c] = row[c];
  }
  writer_.Append(row);
}

std::string ChunkBuilder::Take() {
  const size_t predicted = size();
  std::string payload = writer_.TakePayload();
  KREPLAY_CHECK(payload.size() == predicted, kind_ + " chunk size accounting is off: " +
                                                 std::to_string(payload.size()) + " bytes, predicted " +
                                                 std::to_string(predicted));
  std::fill(std::begin(last_), std::end(last_), 0);
  std::fill(std::begin(packed_), std::end(packed_), 0);
  return payload;
}

// RecordColumns { repeated Column columns = 1 } with Column { name = 1;
// packed sint64 deltas = 2 }: each column is tag + length + body.
size_t ChunkBuilder::Size(const size_t* packed) const {
  size_t total = 0;
  for (int c = 0; c < columns_; ++c) {
    const std::string& name = names_[static_cast<size_t>(c)];
    size_t body = 1 + VarintSize(name.size()) + name.size();
    if (packed[c] > 0) body += 1 + VarintSize(packed[c]) + packed[c];
    total += 1 + VarintSize(body) + body;
  }
  return total;
}

}  // namespace kreplay::codec
