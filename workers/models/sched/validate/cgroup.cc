#include "workers/models/sched/validate/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kreplay::sched::validate {
namespace fs = std::filesystem;
namespace {

bool Exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

std::string ReadSmall(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One write(2) of `text`, as cgroup interface files expect (a TID per write).
// O_CREAT only matters on a test root: cgroupfs files always exist.
Status WriteFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable(path + ": cannot open for writing: " + std::strerror(errno));
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    return Unavailable(path + ": writing '" + text + "' failed: " + std::strerror(n < 0 ? err : EIO));
  return OkStatus();
}

bool OnCgroupFs(const std::string& dir) {
  struct statfs s {};
  if (::statfs(dir.c_str(), &s) != 0) return false;
  return s.f_type == CGROUP_SUPER_MAGIC || s.f_type == CGROUP2_SUPER_MAGIC;
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

}  // namespace

StatusOr<CpuController> FindCpuController(const std::string& root) {
  for (const char* name : {"cpu", "cpu,cpuacct", "cpuacct,cpu"}) {
    const std::string dir = root + "/" + name;
    if (Exists(dir + "/cpu.shares") && Exists(dir + "/tasks")) return CpuController{CgroupVersion::kV1, dir};
  }
  for (const std::string& dir : {root, root + "/unified"}) {
    const std::string controllers = dir + "/cgroup.controllers";
    if (!Exists(controllers)) continue;
    auto words = Words(ReadSmall(controllers));
    if (std::find(words.begin(), words.end(), "cpu") != words.end()) return CpuController{CgroupVersion::kV2, dir};
  }
  return FailedPrecondition("no usable CPU controller under " + root + ": no v1 hierarchy " + root +
                            "/cpu[,cpuacct] with cpu.shares, and no v2 cgroup.controllers (at " + root + " or " +
                            root + "/unified) listing cpu");
}

uint64_t WeightValue(CgroupVersion v, uint64_t shares) {
  if (v == CgroupVersion::kV1) return std::max<uint64_t>(2, shares);  // MIN_SHARES 2
  return std::clamp<uint64_t>(shares * 100 / 1024, 1, 10000);
}
const char* WeightFile(CgroupVersion v) { return v == CgroupVersion::kV1 ? "cpu.shares" : "cpu.weight"; }
const char* ThreadsFile(CgroupVersion v) { return v == CgroupVersion::kV1 ? "tasks" : "cgroup.threads"; }

StatusOr<std::unique_ptr<CgroupTree>> CgroupTree::Create(const CpuController& c, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    return InvalidArgument("cgroup name '" + name + "' must be one path component");
  const std::string top = c.mount + "/" + name;
  if (::mkdir(top.c_str(), 0755) != 0) {
    if (errno == EEXIST) return Status(StatusCode::kAlreadyExists, top + " already exists (another validate run?)");
    return Unavailable("cannot create cgroup " + top + ": " + std::strerror(errno));
  }
  std::unique_ptr<CgroupTree> t(new CgroupTree(c, top));
  if (c.version == CgroupVersion::kV2) {
    // The children take the cpu controller; the root must offer it already.
    KREPLAY_RETURN_IF_ERROR(WriteFile(top + "/cgroup.subtree_control", "+cpu"));
  }
  return t;
}

Status CgroupTree::AddGroup(const std::string& group, uint64_t shares) {
  if (group.empty() || group.find('/') != std::string::npos) return InvalidArgument("bad group name '" + group + "'");
  const std::string dir = GroupPath(group);
  if (::mkdir(dir.c_str(), 0755) != 0) return Unavailable("cannot create cgroup " + dir + ": " + std::strerror(errno));
  groups_.push_back(group);
  if (c_.version == CgroupVersion::kV2) KREPLAY_RETURN_IF_ERROR(WriteFile(dir + "/cgroup.type", "threaded"));
  return WriteFile(dir + "/" + WeightFile(c_.version), std::to_string(WeightValue(c_.version, shares)));
}

Status CgroupTree::AdoptProcess(pid_t pid) {
  if (c_.version == CgroupVersion::kV1) return OkStatus();
  return WriteFile(top_ + "/cgroup.procs", std::to_string(pid));
}

Status CgroupTree::MoveThread(const std::string& group, pid_t tid) {
  KREPLAY_CHECK(std::find(groups_.begin(), groups_.end(), group) != groups_.end(), "unknown group " + group);
  return WriteFile(GroupPath(group) + "/" + ThreadsFile(c_.version), std::to_string(tid));
}

void CgroupTree::EvacuateAndRemove(const std::string& dir) {
  // v1: threads still inside go back to the root one by one.
  if (c_.version == CgroupVersion::kV1)
    for (const auto& id : Words(ReadSmall(dir + "/tasks"))) (void)WriteFile(c_.mount + "/tasks", id);
  if (::rmdir(dir.c_str()) == 0) return;
  if (!OnCgroupFs(dir)) {  // a test root: the "interface files" are ordinary files we may remove
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

CgroupTree::~CgroupTree() {
  // v2: a process moves whole, threaded children's threads with it.
  if (c_.version == CgroupVersion::kV2)
    for (const auto& id : Words(ReadSmall(top_ + "/cgroup.procs"))) (void)WriteFile(c_.mount + "/cgroup.procs", id);
  for (auto it = groups_.rbegin(); it != groups_.rend(); ++it) EvacuateAndRemove(GroupPath(*it));
  EvacuateAndRemove(top_);
}

}  // namespace kreplay::sched::validate
