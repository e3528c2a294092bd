#include "services/codec/columns.h"

namespace kreplay::codec {
size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

ColumnWriter::ColumnWriter(std::vector<std::string> names) : last_(names.size(), 0) {
  for (auto& n : names) {
    cols_.add_columns()->set_name(std::move(n));
    bytes_ += 8 + cols_.columns().rbegin()->name().size();
  }
}

void ColumnWriter::Append(const int64_t* values) {
  for (int c = 0; c < cols_.columns_size(); ++c) {
    int64_t d = static_cast<int64_t>(static_cast<uint64_t>(values[c]) - static_cast<uint64_t>(last_[c]));
    cols_.mutable_columns(c)->add_deltas(d);
    bytes_ += VarintSize(ZigZag(d));
    last_[c] = values[c];
  }
  ++rows_;
}

std::string ColumnWriter::TakePayload() {
  std::string out;
  cols_.SerializeToString(&out);
  for (int c = 0; c < cols_.columns_size(); ++c) {
    cols_.mutable_columns(c)->clear_deltas();
    last_[static_cast<size_t>(c)] = 0;
    bytes_ = 0;
  }
  for (const auto& col : cols_.columns()) bytes_ += 8 + col.name().size();
  rows_ = 0;
  return out;
}

StatusOr<std::vector<std::vector<int64_t>>> DecodeColumns(const std::string& payload,
                                                          const std::vector<std::string>& names) {
  v1::RecordColumns cols;
  if (!cols.ParseFromString(payload)) return DataLoss("chunk payload is not a RecordColumns message");
  if (static_cast<size_t>(cols.columns_size()) != names.size())
    return DataLoss("chunk has " + std::to_string(cols.columns_size()) + " columns, expected " +
                    std::to_string(names.size()));
  std::vector<std::vector<int64_t>> out(names.size());
  int rows = cols.columns_size() ? cols.columns(0).deltas_size() : 0;
  for (size_t c = 0; c < names.size(); ++c) {
    const auto& col = cols.columns(static_cast<int>(c));
    if (col.name() != names[c]) return DataLoss("chunk column " + std::to_string(c) + " is '" + col.name() + "', expected '" + names[c] + "'");
    if (col.deltas_size() != rows) return DataLoss("chunk columns have different lengths");
    out[c].resize(static_cast<size_t>(rows));
    uint64_t acc = 0;
    for (int r = 0; r < rows; ++r) {
      acc += static_cast<uint64_t>(col.deltas(r));
      out[c][static_cast<size_t>(r)] = static_cast<int64_t>(acc);
    }
  }
  return out;
}

}  // namespace kreplay::codec
