#include "services/textio/source.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <vector>

namespace kreplay::textio {
namespace {

constexpr size_t kChunk = 64 * 1024;

class FdSource final : public ByteSource {
 public:
  FdSource(int fd, bool owned, std::string name) : fd_(fd), owned_(owned), name_(std::move(name)) {}
  ~FdSource() override {
    if (owned_) ::close(fd_);
  }
  StatusOr<size_t> Read(char* buf, size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd_, buf, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno == EINTR) continue;
      return Status(Unavailable(name_ + ": read: " + std::strerror(errno)));
    }
  }

 private:
  int fd_;
  bool owned_;
  std::string name_;
};

class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// Replays a few already-read bytes before the rest of the source.
class PrefixSource final : public ByteSource {
 public:
  PrefixSource(std::string prefix, std::unique_ptr<ByteSource> rest)
      : prefix_(std::move(prefix)), rest_(std::move(rest)) {}
  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ < prefix_.size()) {
      size_t k = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    return rest_->Read(buf, n);
  }

 private:
  std::string prefix_;
  size_t pos_ = 0;
  std::unique_ptr<ByteSource> rest_;
};

// Replays a peeked head, then the error that stopped it or the rest.
class PeekedSource final : public ByteSource {
 public:
  PeekedSource(std::string head, Status error, std::unique_ptr<ByteSource> rest)
      : head_(std::move(head)), error_(std::move(error)), rest_(std::move(rest)) {}
  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ < head_.size()) {
      size_t k = std::min(n, head_.size() - pos_);
      std::memcpy(buf, head_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    if (!error_.ok()) return error_;
    return rest_->Read(buf, n);
  }

 private:
  std::string head_;
  size_t pos_ = 0;
  Status error_;
  std::unique_ptr<ByteSource> rest_;
};

// gzip, including concatenated members (as `cat a.gz b.gz` and pigz make).
class GzipSource final : public ByteSource {
 public:
  GzipSource(std::unique_ptr<ByteSource> in, std::string name)
      : in_(std::move(in)), name_(std::move(name)), inbuf_(kChunk) {
    std::memset(&z_, 0, sizeof z_);
    ok_ = inflateInit2(&z_, 15 + 16) == Z_OK;  // 15 + 16: gzip wrapper only
  }
  ~GzipSource() override {
    if (ok_) inflateEnd(&z_);
  }
  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (!ok_) return Status(Internal(name_ + ": gzip: inflateInit failed"));
    if (n == 0 || done_) return size_t{0};
    z_.next_out = reinterpret_cast<Bytef*>(buf);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    while (z_.avail_out == static_cast<uInt>(std::min<size_t>(n, 1u << 30))) {
      if (z_.avail_in == 0) {
        KREPLAY_ASSIGN_OR_RETURN(size_t got, in_->Read(inbuf_.data(), inbuf_.size()));
        if (got == 0) {
          if (member_started_) return Status(DataLoss(name_ + ": gzip: truncated stream"));
          done_ = true;
          break;
        }
        z_.next_in = reinterpret_cast<Bytef*>(inbuf_.data());
        z_.avail_in = static_cast<uInt>(got);
      }
      member_started_ = true;
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_started_ = false;
        inflateReset(&z_);
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return Status(DataLoss(name_ + ": gzip: " + (z_.msg ? z_.msg : "corrupt data")));
      }
    }
    return static_cast<size_t>(std::min<size_t>(n, 1u << 30) - z_.avail_out);
  }

 private:
  std::unique_ptr<ByteSource> in_;
  std::string name_;
  std::vector<char> inbuf_;
  z_stream z_;
  bool ok_ = false;
  bool done_ = false;
  bool member_started_ = false;
};

class ZstdSource final : public ByteSource {
 public:
  ZstdSource(std::unique_ptr<ByteSource> src, std::string name)
      : src_(std::move(src)), name_(std::move(name)), inbuf_(ZSTD_DStreamInSize()), ds_(ZSTD_createDStream()) {
    if (ds_) ZSTD_initDStream(ds_);
  }
  ~ZstdSource() override { ZSTD_freeDStream(ds_); }
  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (!ds_) return Status(Internal(name_ + ": zstd: out of memory"));
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos == 0 && n > 0 && !done_) {
      if (in_.pos == in_.size) {
        KREPLAY_ASSIGN_OR_RETURN(size_t got, src_->Read(inbuf_.data(), inbuf_.size()));
        if (got == 0) {
          // last_ != 0: the decoder still expected input (a cut-off frame).
          if (last_ != 0) return Status(DataLoss(name_ + ": zstd: truncated stream"));
          done_ = true;
          break;
        }
        in_ = ZSTD_inBuffer{inbuf_.data(), got, 0};
      }
      size_t rc = ZSTD_decompressStream(ds_, &out, &in_);
      if (ZSTD_isError(rc)) return Status(DataLoss(name_ + ": zstd: " + ZSTD_getErrorName(rc)));
      last_ = rc;
    }
    return out.pos;
  }

 private:
  std::unique_ptr<ByteSource> src_;
  std::string name_;
  std::vector<char> inbuf_;
  ZSTD_DStream* ds_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  size_t last_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<ByteSource> MemorySource(std::string data) {
  return std::make_unique<StringSource>(std::move(data));
}

StatusOr<std::unique_ptr<ByteSource>> Decompress(std::unique_ptr<ByteSource> raw, const std::string& name) {
  std::string magic(4, '\0');
  size_t have = 0;
  while (have < magic.size()) {
    KREPLAY_ASSIGN_OR_RETURN(size_t got, raw->Read(magic.data() + have, magic.size() - have));
    if (got == 0) break;
    have += got;
  }
  magic.resize(have);
  auto u = [&](size_t i) { return static_cast<unsigned char>(magic[i]); };
  bool gzip = have >= 2 && u(0) == 0x1f && u(1) == 0x8b;
  bool zstd = have >= 4 && u(0) == 0x28 && u(1) == 0xb5 && u(2) == 0x2f && u(3) == 0xfd;
  std::unique_ptr<ByteSource> src = std::make_unique<PrefixSource>(std::move(magic), std::move(raw));
  if (gzip) return std::unique_ptr<ByteSource>(std::make_unique<GzipSource>(std::move(src), name));
  if (zstd) return std::unique_ptr<ByteSource>(std::make_unique<ZstdSource>(std::move(src), name));
  return src;
}

Peeked Peek(std::unique_ptr<ByteSource> src, size_t max) {
  Peeked p;
  p.head.resize(max);
  size_t have = 0;
  while (have < max) {
    auto got = src->Read(p.head.data() + have, max - have);
    if (!got.ok()) {
      p.error = got.status();
      break;
    }
    if (*got == 0) {
      p.at_end = true;
      break;
    }
    have += *got;
  }
  p.head.resize(have);
  p.source = std::make_unique<PeekedSource>(p.head, p.error, std::move(src));
  return p;
}

StatusOr<std::unique_ptr<ByteSource>> OpenSource(const std::string& path) {
  std::unique_ptr<ByteSource> raw;
  if (path == "-") {
    raw = std::make_unique<FdSource>(0, false, "<stdin>");
  } else {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      std::string msg = path + ": " + std::strerror(e);
      return e == ENOENT ? NotFound(msg) : InvalidArgument(msg);
    }
    raw = std::make_unique<FdSource>(fd, true, path);
  }
  return Decompress(std::move(raw), path == "-" ? "<stdin>" : path);
}

LineReader::LineReader(std::unique_ptr<ByteSource> src, std::string name)
    : src_(std::move(src)), name_(std::move(name)) {}

StatusOr<bool> LineReader::Next(std::string_view* line) {
  for (;;) {
    size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos || (eof_ && pos_ < buf_.size())) {
      size_t end = nl == std::string::npos ? buf_.size() : nl;
      std::string_view l(buf_.data() + pos_, end - pos_);
      pos_ = nl == std::string::npos ? buf_.size() : nl + 1;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      ++line_;
      if (l.size() > kMaxLine) {
        return Status(InvalidArgument(name_ + ":" + std::to_string(line_) + ": line longer than " +
                                      std::to_string(kMaxLine) + " bytes (binary input?)"));
      }
      *line = l;
      return true;
    }
    if (eof_) return false;
    if (buf_.size() - pos_ > kMaxLine) {
      return Status(InvalidArgument(name_ + ":" + std::to_string(line_ + 1) + ": line longer than " +
                                    std::to_string(kMaxLine) + " bytes (binary input?)"));
    }
    // Compact, then append one chunk.
    buf_.erase(0, pos_);
    pos_ = 0;
    size_t old = buf_.size();
    buf_.resize(old + kChunk);
    auto got = src_->Read(buf_.data() + old, kChunk);
    if (!got.ok()) {
      buf_.resize(old);
      return got.status();
    }
    buf_.resize(old + *got);
    if (*got == 0) eof_ = true;
  }
}

}  // namespace kreplay::textio
