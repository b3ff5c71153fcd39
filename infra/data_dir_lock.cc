#include "infra/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

namespace keel {

namespace {

// Creates `dir` and the missing folders above it, each one's entry made durable in its parent:
// on a file system that does not commit metadata in order, a power cut could otherwise lose a
// new data directory with the acknowledged events inside it. The entry of `dir` itself is
// synced at every start, so that a crash between creating it and syncing it is mended too.
Status CreateDurably(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(dir, ec);
  if (ec) return Fail(Error::Unavailable("Cannot resolve " + dir.string() + ": " + ec.message()));
  std::vector<std::filesystem::path> missing{absolute};
  for (auto p = absolute.parent_path(); !p.empty() && !std::filesystem::exists(p, ec);
       p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail(Error::Unavailable("Cannot create " + dir.string() + ": " + ec.message()));
  for (const auto& created : missing) {
    const auto parent = created.parent_path().string();
    int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!synced) return Fail(Error::Unavailable("Cannot make " + created.string() + " durable"));
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& data_dir) {
  if (auto st = CreateDurably(data_dir); !st) return Fail(st.error());
  const std::string path = data_dir + "/keel.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(Error::Unavailable("Cannot open " + path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Fail(Error::Unavailable("The data directory " + data_dir +
                                   " is in use by another keel process"));
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

DataDirLock::~DataDirLock() { ::close(fd_); }

}  // namespace keel
