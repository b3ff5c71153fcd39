// DataDirLock: one process per data directory. Holds an exclusive flock on `data_dir/keel.lock`
// for its lifetime; a second `keel serve` or `keel replay` on the same directory is refused at
// once instead of writing beside the first. The kernel drops the lock when the process dies.
// A data directory it creates is made durable in its parent (fsync), with every folder above it
// that it creates.
#pragma once

#include <memory>
#include <string>

#include "domain/error.h"

namespace keel {

class DataDirLock final {
 public:
  // Creates the directory if needed. kUnavailable when another process holds the lock.
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& data_dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace keel
