// Byte and line sources for trace importers (block traces, memory traces): a file, stdin ("-") or an
// in-memory string, transparently decompressed when it starts with a gzip
// (1f 8b) or zstd (28 b5 2f fd) magic number. The extension is never looked
// at. Memory is constant: fixed-size buffers whatever the input length.
// Not thread-safe; one reader per thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "services/core/status.h"

namespace kreplay::textio {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` bytes into `buf`; 0 means end of input.
  virtual StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

// Opens `path` ("-" = standard input, not closed on destruction) and wraps it
// in a decompressor if its first bytes are a gzip or zstd magic number.
StatusOr<std::unique_ptr<ByteSource>> OpenSource(const std::string& path);
// The same detection over bytes held in memory (tests, stdin-free tools).
std::unique_ptr<ByteSource> MemorySource(std::string data);
// Peeks at `raw`'s first bytes and returns a decompressing source if they are
// a known magic number, else `raw` itself (with the peeked bytes kept).
// `name` labels decompression errors.
StatusOr<std::unique_ptr<ByteSource>> Decompress(std::unique_ptr<ByteSource> raw, const std::string& name);

// The first bytes of a source, and the same source again from its start:
// what lets a reader be chosen by looking at a file, stdin or pipe included.
struct Peeked {
  std::string head;      // up to `max` bytes; fewer only at the end of input or before an error
  bool at_end = false;   // head is the whole input
  Status error;          // the read error that cut head short, if any
  // head again, then `error` if any, then the rest of the input.
  std::unique_ptr<ByteSource> source;
};
Peeked Peek(std::unique_ptr<ByteSource> src, size_t max);

// Splits a source into lines ('\n', a trailing '\r' dropped). A line longer
// than kMaxLine is an error (a binary file must not make us buffer forever).
class LineReader {
 public:
  static constexpr size_t kMaxLine = 1 << 20;
  // `name` labels errors: "name:LINE: line longer than ...".
  LineReader(std::unique_ptr<ByteSource> src, std::string name);
  // Sets *line to the next line (valid until the next call); false at end.
  StatusOr<bool> Next(std::string_view* line);
  // 1-based number of the line last returned.
  uint64_t line_number() const { return line_; }

 private:
  std::unique_ptr<ByteSource> src_;
  std::string name_;
  std::string buf_;
  size_t pos_ = 0;   // start of unconsumed data in buf_
  bool eof_ = false;
  uint64_t line_ = 0;
};

}  // namespace kreplay::textio
