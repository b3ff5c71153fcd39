// FaultyIo: the embedded log's file calls with faults injected on demand, for the suites that
// prove what the log and the server do when the disk fails. Thread-safe.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "infra/log_file_io.h"

namespace keel {

// Fails the calls it is told to fail, as the kernel would; forwards the rest.
class FaultyIo final : public LogFileIo {
 public:
  std::atomic<int> write_errno{0};  // every write fails with it
  std::atomic<int> tear_errno{0};   // the next write writes half, then writes fail with it
  std::atomic<int> sync_errno{0};   // every fdatasync fails with it
  std::atomic<int> pread_errno{0};  // every pread fails with it
  std::atomic<bool> short_writes{false};
  std::atomic<bool> injected{false};  // a fault was reported to the log
  std::atomic<int64_t> preads{0};
  std::atomic<int> truncate_errno{0};  // every ftruncate fails with it
  std::atomic<int> dir_sync_errno{0};  // every fsync of a directory fails with it

  ssize_t Write(int fd, const void* data, size_t len) override {
    if (int e = tear_errno.exchange(0); e != 0 && len > 1) {
      write_errno = e;
      return LogFileIo::Write(fd, data, len / 2);
    }
    if (int e = write_errno.load(); e != 0) return Inject(e);
    if (short_writes && len > 1) return LogFileIo::Write(fd, data, len / 2);
    return LogFileIo::Write(fd, data, len);
  }
  ssize_t Pread(int fd, void* data, size_t len, off_t pos) override {
    ++preads;
    if (int e = pread_errno.load(); e != 0) return Inject(e);
    return LogFileIo::Pread(fd, data, len, pos);
  }
  int Ftruncate(int fd, off_t len) override {
    if (int e = truncate_errno.load(); e != 0) return static_cast<int>(Inject(e));
    return LogFileIo::Ftruncate(fd, len);
  }
  int FsyncDirectory(int fd) override {
    if (int e = dir_sync_errno.load(); e != 0) return static_cast<int>(Inject(e));
    return LogFileIo::FsyncDirectory(fd);
  }
  int Fdatasync(int fd) override {
    if (int e = sync_errno.load(); e != 0) return static_cast<int>(Inject(e));
    return LogFileIo::Fdatasync(fd);
  }

 private:
  ssize_t Inject(int e) {
    injected = true;
    errno = e;
    return -1;
  }
};

}  // namespace keel
