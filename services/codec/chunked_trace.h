// The machinery every chunked trace codec shares (block_trace.h, the memory
// family's mem_trace.h): a manifest plus self-contained chunks of
// RecordColumns (columns.h), hashed into the manifest digest as
//   SHA-256( field(family) field(header) field(payload 0) ... field(payload n-1) )
// (UpdateField: length-prefixed). A codec supplies its family, its header
// bytes, its column names, how a record becomes a row and how a payload
// becomes records; this file supplies the chunking, the CRCs, the digest and
// the assembler's checks, so every codec checks chunks the same way and with
// the same messages (prefixed by the codec's own "<kind> trace <digest>").
//
// Thread-safety: the functions are reentrant; a ChunkBuilder or a
// ChunkedTraceAssembler is not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kreplay/v1/workload.pb.h"
#include "services/codec/columns.h"
#include "services/codec/sched_trace.h"  // ChunkSink
#include "services/core/crc32c.h"
#include "services/core/digest.h"
#include "services/core/status.h"

namespace kreplay::codec {

// The whole trace in memory: chunks in index order, each carrying the digest.
struct EncodedTrace {
  v1::TraceManifest manifest;
  std::vector<v1::TraceChunk> chunks;
};

// `to - from` with two's complement wrap-around (the delta a column stores).
inline int64_t WrappingDelta(int64_t to, int64_t from) {
  return static_cast<int64_t>(static_cast<uint64_t>(to) - static_cast<uint64_t>(from));
}

// Little-endian integers in header bytes: appends the low `width` bytes of v.
inline void PutLE(std::string& out, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
// Reads `width` bytes at `pos`. REQUIRES: pos + width <= bytes.size(), width <= 8.
inline uint64_t GetLE(std::string_view bytes, size_t pos, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= uint64_t{static_cast<uint8_t>(bytes[pos + i])} << (8 * i);
  return v;
}

// One chunk under construction. Tracks the exact serialized size of the
// RecordColumns payload (ColumnWriter's estimate ignores the length varints)
// so that the encoder can keep every chunk within its bound.
class ChunkBuilder {
 public:
  static constexpr int kMaxColumns = 8;
  // `names` must outlive the builder; `kind` ("block") names the codec in the
  // size-accounting check. REQUIRES: names.size() <= kMaxColumns.
  ChunkBuilder(const std::vector<std::string>& names, std::string kind);

  // Payload size if `row` (one value per column) were appended.
  size_t SizeWith(const int64_t* row) const;
  void Append(const int64_t* row);
  size_t rows() const { return writer_.rows(); }
  size_t size() const { return Size(packed_); }
  // The payload so far; resets the builder for the next chunk.
  std::string Take();

 private:
  size_t Size(const size_t* packed) const;

  const std::vector<std::string>& names_;
  std::string kind_;
  int columns_;
  ColumnWriter writer_;
  int64_t last_[kMaxColumns] = {};
  size_t packed_[kMaxColumns] = {};
};

// Encodes `count` records, record i written into a row by `row(i, int64_t*)`
// (a buffer of ChunkBuilder::kMaxColumns values), into chunks whose payload
// is at most max_chunk_bytes (at least one record each), handing each to
// `sink` in index order with its digest left empty; returns the manifest,
// digest included.
template <typename RowFn>
v1::TraceManifest EncodeChunkedTrace(const std::string& family, std::string header, const std::string& source,
                                     ChunkBuilder& builder, size_t count, RowFn&& row, size_t max_chunk_bytes,
                                     const ChunkSink& sink) {
  v1::TraceManifest m;
  m.set_family(family);
  m.set_source(source);
  m.set_header(std::move(header));
  Sha256 sha;
  sha.UpdateField(m.family());
  sha.UpdateField(m.header());

  uint32_t index = 0;
  uint64_t first = 0, bytes = 0;
  auto flush = [&] {
    if (builder.rows() == 0) return;
    v1::TraceChunk c;
    c.set_index(index++);
    c.set_first_record(first);
    c.set_record_count(static_cast<uint32_t>(builder.rows()));
    first += builder.rows();
    std::string payload = builder.Take();
    c.set_crc32c(Crc32c(payload));
    sha.UpdateField(payload);
    bytes += payload.size();
    c.set_payload(std::move(payload));
    sink(std::move(c));
  };
  for (size_t i = 0; i < count; ++i) {
    int64_t values[ChunkBuilder::kMaxColumns] = {};
    row(i, values);
    // record_count is a uint32 on the wire.
    if (builder.rows() > 0 &&
        (builder.SizeWith(values) > max_chunk_bytes || builder.rows() == std::numeric_limits<uint32_t>::max()))
      flush();
    builder.Append(values);
  }
  flush();
  m.set_chunk_count(index);
  m.set_record_count(count);
  m.set_payload_bytes(bytes);
  m.set_digest(sha.HexDigest());
  return m;
}

// Collects the chunks of one trace, which may arrive in any order, into
// `*out` in record order; a second copy of an accepted chunk index is
// ignored. Each chunk is checked when it arrives (trace digest, index range,
// CRC32C, record range, the codec's decode, record count) and again when it
// joins the in-order prefix (first record); Finish() checks the totals and
// the manifest digest. A rejected chunk is not kept, so a good re-send of it
// can still be added. Errors name "<kind> trace <digest>" (and the chunk).
//
// Use: construct, Start() with the codec's family and header checks, then
// Add() the chunks and Finish().
template <typename Record>
class ChunkedTraceAssembler {
 public:
  // `kind` is "block", "memory", ...; `out` must outlive the assembler.
  ChunkedTraceAssembler(std::string kind, v1::TraceManifest manifest, std::vector<Record>* out)
      : kind_(std::move(kind)), manifest_(std::move(manifest)), out_(out) {}
  ChunkedTraceAssembler(const ChunkedTraceAssembler&) = delete;
  ChunkedTraceAssembler& operator=(const ChunkedTraceAssembler&) = delete;

  const v1::TraceManifest& manifest() const { return manifest_; }
  // "<kind> trace <full digest>", the prefix of manifest-wide messages.
  std::string Trace() const { return kind_ + " trace " + manifest_.digest(); }
  // Checks the manifest once: its family (`family_ok`, else InvalidArgument
  // "... is not <family>"), its header (`decode_header(header)`, a Status)
  // and its counts; then starts the digest and reserves at most
  // `reserve_cap` records up front (the count is read from the wire). A
  // problem is kept, and Add() and Finish() return it. REQUIRES: called once,
  // before Add().
  template <typename DecodeHeaderFn>
  void Start(bool family_ok, const std::string& family, DecodeHeaderFn&& decode_header, uint64_t reserve_cap) {
    if (!family_ok) {
      init_ = InvalidArgument(Trace() + ": manifest family '" + manifest_.family() + "' is not " + family);
      return;
    }
    Status h = decode_header(manifest_.header());
    if (!h.ok()) {
      init_ = h.WithContext(Trace() + ": manifest");
      return;
    }
    // Every chunk holds at least one record; the encoder emits no empty chunks.
    if ((manifest_.chunk_count() == 0) != (manifest_.record_count() == 0) ||
        manifest_.chunk_count() > manifest_.record_count()) {
      init_ = DataLoss(Trace() + ": manifest has " + std::to_string(manifest_.chunk_count()) + " chunks for " +
                       std::to_string(manifest_.record_count()) + " records");
      return;
    }
    sha_.UpdateField(manifest_.family());
    sha_.UpdateField(manifest_.header());
    out_->reserve(std::min<uint64_t>(manifest_.record_count(), reserve_cap));
  }

  // `decode(payload, first_record)` gives the chunk's records
  // (StatusOr<std::vector<Record>>; first_record only numbers errors).
  template <typename DecodeFn>
  Status Add(const v1::TraceChunk& c, DecodeFn&& decode) {
    if (!init_.ok()) return init_;
    const uint32_t i = c.index();
    const std::string where = Where(i);
    if (c.digest() != manifest_.digest()) return DataLoss(where + ": chunk belongs to trace '" + c.digest() + "'");
    if (i >= manifest_.chunk_count())
      return DataLoss(where + ": index out of range (trace has " + std::to_string(manifest_.chunk_count()) +
                      " chunks)");
    if (i < next_ || pending_.count(i) != 0) {
      ++duplicates_;
      return OkStatus();
    }
    if (Crc32c(c.payload()) != c.crc32c())
      return DataLoss(where + ": CRC32C mismatch over " + std::to_string(c.payload().size()) + " payload bytes");
    if (c.record_count() == 0) return DataLoss(where + ": chunk has no records");
    if (c.first_record() > manifest_.record_count() ||
        c.record_count() > manifest_.record_count() - c.first_record())
      return DataLoss(where + ": records [" + std::to_string(c.first_record()) + ", " +
                      std::to_string(c.first_record() + c.record_count()) + ") exceed the trace's " +
                      std::to_string(manifest_.record_count()));
    StatusOr<std::vector<Record>> records = decode(c.payload(), c.first_record());
    if (!records.ok()) return records.status().WithContext(where);
    if (records->size() != c.record_count())
      return DataLoss(where + ": payload holds " + std::to_string(records->size()) + " records, chunk says " +
                      std::to_string(c.record_count()));
    pending_.emplace(i, Pending{c.first_record(), c.payload(), std::move(records).value()});
    ++accepted_count_;
    return Splice();
  }

  uint32_t accepted() const { return accepted_count_; }  // distinct chunks held
  uint32_t duplicates() const { return duplicates_; }
  uint32_t next_chunk() const { return next_; }  // first index not yet in the in-order prefix
  bool complete() const { return init_.ok() && next_ == manifest_.chunk_count(); }

  // Verifies record and byte totals and the digest. REQUIRES: called at most once.
  Status Finish() {
    if (!init_.ok()) return init_;
    const std::string trace = Trace();
    if (!complete())
      return DataLoss(trace + ": chunk " + std::to_string(next_) + " missing (" + std::to_string(accepted_count_) +
                      " of " + std::to_string(manifest_.chunk_count()) + " chunks held)");
    if (records_ != manifest_.record_count())
      return DataLoss(trace + ": " + std::to_string(records_) + " records, manifest says " +
                      std::to_string(manifest_.record_count()));
    if (payload_bytes_ != manifest_.payload_bytes())
      return DataLoss(trace + ": " + std::to_string(payload_bytes_) + " payload bytes, manifest says " +
                      std::to_string(manifest_.payload_bytes()));
    std::string got = sha_.HexDigest();
    if (got != manifest_.digest()) return DataLoss(trace + ": digest mismatch (chunks hash to " + got + ")");
    return OkStatus();
  }

 private:
  struct Pending {
    uint64_t first_record = 0;
    std::string payload;
    std::vector<Record> records;
  };

  std::string Where(uint32_t index) const {
    return kind_ + " trace " + manifest_.digest().substr(0, 12) + " chunk " + std::to_string(index);
  }

  // Moves the in-order prefix of pending_ into *out_.
  Status Splice() {
    for (auto it = pending_.begin(); it != pending_.end() && it->first == next_; it = pending_.erase(it)) {
      Pending& p = it->second;
      if (p.first_record != records_) {
        Status st = DataLoss(Where(it->first) + ": first_record " + std::to_string(p.first_record) + ", expected " +
                             std::to_string(records_) + " after chunk " + std::to_string(next_ - 1));
        // Forget it so that a corrected copy can still be added.
        pending_.erase(it);
        --accepted_count_;
        return st;
      }
      sha_.UpdateField(p.payload);
      payload_bytes_ += p.payload.size();
      records_ += p.records.size();
      out_->insert(out_->end(), p.records.begin(), p.records.end());
      ++next_;
    }
    return OkStatus();
  }

  std::string kind_;
  v1::TraceManifest manifest_;
  std::vector<Record>* out_;
  Status init_;  // manifest problems, reported by Add() and Finish()
  Sha256 sha_;
  std::map<uint32_t, Pending> pending_;  // accepted, not yet in order
  uint32_t accepted_count_ = 0;
  uint32_t duplicates_ = 0;
  uint32_t next_ = 0;           // first index not yet spliced
  uint64_t records_ = 0;        // records spliced
  uint64_t payload_bytes_ = 0;  // payload bytes spliced
};

}  // namespace kreplay::codec
