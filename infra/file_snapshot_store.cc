#include "infra/file_snapshot_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace keel {

namespace {

constexpr char kMagic[8] = {'K', 'E', 'E', 'L', 'S', 'N', 'P', '1'};
constexpr size_t kHeader = 20;  // magic, payload length (8 bytes), CRC-32 (4 bytes)

// `err` is errno, taken before the message is built.
Error Failure(const std::string& what, int err) { return IoFailure("Snapshot: cannot " + what, err); }

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

FileSnapshotStore::FileSnapshotStore(std::string dir, std::shared_ptr<LogFileIo> io)
    : dir_(std::move(dir)), io_(io ? std::move(io) : SystemLogFileIo()) {}

std::string FileSnapshotStore::PathOf(std::string_view name) const {
  std::string path = dir_;
  path += '/';
  path += name;
  path += ".snapshot";
  return path;
}

Result<std::optional<std::string>> FileSnapshotStore::Load(std::string_view name) {
  if (!ValidName(name)) return Fail(Error::InvalidArgument("Bad snapshot name"));
  const std::string path = PathOf(name);
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    {
      const int err = errno;
      return Fail(Failure("open " + path, err));
    }
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    return Fail(Failure("stat " + path, err));
  }
  const auto size = static_cast<size_t>(st.st_size);
  if (size < kHeader) return Fail(Error::DataLoss("Snapshot " + path + " is truncated"));
  auto read_at = [&](char* into, size_t len, size_t pos) -> Status {
    for (size_t done = 0; done < len;) {
      const ssize_t n =
          io_->Pread(fd.get(), into + done, len - done, static_cast<off_t>(pos + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        {
          const int err = errno;
          return Fail(Failure("read " + path, err));
        }
      }
      if (n == 0) return Fail(Error::DataLoss("Snapshot " + path + " is truncated"));
      done += static_cast<size_t>(n);
    }
    return {};
  };
  char header[kHeader];
  if (auto st = read_at(header, kHeader, 0); !st) return Fail(st.error());
  uint64_t length = 0;
  uint32_t crc = 0;
  std::memcpy(&length, header + 8, 8);
  std::memcpy(&crc, header + 16, 4);
  if (std::memcmp(header, kMagic, 8) != 0) {
    return Fail(Error::DataLoss("Snapshot " + path + " is not a Keel snapshot"));
  }
  if (length != size - kHeader) {
    return Fail(Error::DataLoss("Snapshot " + path + " is " + std::to_string(size - kHeader) +
                                " bytes long, its header says " + std::to_string(length)));
  }
  // Read straight into what is returned: a snapshot is large, and every copy is felt at start.
  std::string payload;
  payload.resize_and_overwrite(length, [](char*, size_t n) { return n; });
  if (auto st = read_at(payload.data(), length, kHeader); !st) return Fail(st.error());
  if (Crc32(payload) != crc) {
    return Fail(Error::DataLoss("Snapshot " + path + " fails its checksum"));
  }
  return std::optional<std::string>(std::move(payload));
}

Status FileSnapshotStore::Save(std::string_view name, std::string_view bytes) {
  if (!ValidName(name)) return Fail(Error::InvalidArgument("Bad snapshot name"));
  std::lock_guard lock(save_mu_);
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) {
    std::filesystem::create_directories(dir_, ec);
    if (ec)
      return Fail(Error::Unavailable("Snapshot: cannot create " + dir_ + ": " + ec.message()));
    const std::string parent = std::filesystem::path(dir_).parent_path().string();
    ScopedFd parent_fd(::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (parent_fd.get() < 0 || io_->FsyncDirectory(parent_fd.get()) != 0) {
      {
        const int err = errno;
        return Fail(Failure("sync " + parent, err));
      }
    }
  }
  const std::string path = PathOf(name);
  const std::string tmp = path + ".tmp";
  char header[kHeader];
  std::memcpy(header, kMagic, 8);
  const uint64_t length = bytes.size();
  const uint32_t crc = Crc32(bytes);
  std::memcpy(header + 8, &length, 8);
  std::memcpy(header + 16, &crc, 4);

  // Whatever fails, the temporary file goes and the old snapshot stays as it was.
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return Fail(Failure(what, err));
  };
  ScopedFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    const int err = errno;
    return fail("create " + tmp, err);
  }
  if (!WriteAll(*io_, fd.get(), header, kHeader) ||
      !WriteAll(*io_, fd.get(), bytes.data(), bytes.size())) {
    const int err = errno;
    return fail("write " + tmp, err);
  }
  if (io_->Fdatasync(fd.get()) != 0) {
    const int err = errno;
    return fail("sync " + tmp, err);
  }
  if (::close(fd.release()) != 0) {
    const int err = errno;
    return fail("close " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    return fail("rename " + tmp, err);
  }
  ScopedFd dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // The new snapshot is in place but its name may not survive a power cut: the old one (or
  // none) may come back, which is as valid. Reported, so the caller knows it is not durable.
  if (dir.get() < 0 || io_->FsyncDirectory(dir.get()) != 0) {
    const int err = errno;
    return Fail(Failure("sync " + dir_, err));
  }
  return {};
}

}  // namespace keel
