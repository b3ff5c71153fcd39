// LogFileIo: the file-system calls the embedded log makes that can fail once the log is open
// (write, pread, fdatasync, fsync of a directory, ftruncate), behind one seam so that tests can
// inject short writes, ENOSPC and EIO exactly where the kernel would report them. The default
// forwards to the system calls. Each method has the system call's contract: -1 with errno set
// on failure. Implementations must be thread-safe (the writer thread and readers call at once).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>

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

}  // namespace keel
