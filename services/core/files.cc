#include "services/core/files.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kreplay {

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    std::string msg = path + ": cannot open file (" + std::strerror(err) + ")";
    return err == ENOENT ? NotFound(msg) : InvalidArgument(msg);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Internal(path + ": read error");
  return ss.str();
}

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Unavailable(tmp + ": cannot open for writing");
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) return Unavailable(tmp + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Unavailable(path + ": rename failed: " + ec.message());
  return OkStatus();
}

}  // namespace kreplay
