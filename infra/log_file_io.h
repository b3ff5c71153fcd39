// LogFileIo: the file-system calls the embedded log and the snapshot store make that can fail
// (write, pread, fdatasync, fsync of a directory, ftruncate), behind one seam so that tests can
// inject short writes, ENOSPC and EIO exactly where the kernel would report them. The default
// forwards to the system calls. Each method has the system call's contract: -1 with errno set
// on failure. Implementations must be thread-safe (the writer thread and readers call at once).
#pragma once

#include <sys/types.h>

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "domain/error.h"

namespace keel {

class LogFileIo {
 public:
  virtual ~LogFileIo() = default;
  virtual ssize_t Write(int fd, const void* data, size_t len);
  virtual ssize_t Pread(int fd, void* data, size_t len, off_t pos);
  virtual int Fdatasync(int fd);
  virtual int FsyncDirectory(int fd);
  virtual int Ftruncate(int fd, off_t len);
};

// The system calls themselves; shared, stateless.
std::shared_ptr<LogFileIo> SystemLogFileIo();

// Writes all of `data` through `io`, resuming short writes; false with errno set on the first
// failure.
bool WriteAll(LogFileIo& io, int fd, const char* data, size_t len);

// kUnavailable: `what` failed with `err` (errno at the call by default; pass it explicitly
// when building `what` may change it).
Error IoFailure(const std::string& what, int err = errno);

// CRC-32 (zlib's) of any length.
uint32_t Crc32(std::string_view bytes);

// Closes a file descriptor when it leaves scope (after an error naming errno is built); release
// hands it over.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace keel
