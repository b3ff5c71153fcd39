#include "infra/embedded_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "domain/partitioner.h"
#include "infra/log.h"
#include "infra/log_segment.h"

namespace keel {
namespace {

// Takes the directory's lock (dir/LOCK), or says who holds it.
// `read_only`: for a reader (keel log verify), which also runs on a read-only mount, where no
// process can be writing: an existing LOCK file is locked through a read-only descriptor, and
// none at all means no lock to take (-1).
Result<int> LockDirectory(const std::string& dir, bool read_only = false) {
  const std::string lock_path = dir + "/LOCK";
  int fd = read_only ? ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC)
                     : ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && read_only && (errno == ENOENT || errno == EROFS)) return -1;
  if (fd < 0) return Fail(IoFailure("open " + lock_path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Fail(Error::Unavailable("The log directory " + dir + " is in use by another process"));
  }
  return fd;
}

// The segment numbers in `dir`, in order; kDataLoss when one is missing, unless `missing` is
// given: then the missing numbers go there and the present segments are returned.
Result<std::vector<uint32_t>> ListSegments(const std::string& dir,
                                           std::vector<uint32_t>* missing = nullptr) {
  std::vector<uint32_t> segments;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    unsigned n;
    char tail;
    if (std::sscanf(entry.path().filename().c_str(), "segment-%08u.lo%c", &n, &tail) == 2 &&
        entry.path().filename().string().size() == 20 && tail == 'g') {
      segments.push_back(n);
    }
  }
  if (ec) return Fail(Error::Unavailable("Cannot list " + dir + ": " + ec.message()));
  std::sort(segments.begin(), segments.end());
  uint32_t expected = 0;
  for (uint32_t n : segments) {
    for (; expected < n; ++expected) {
      if (!missing) {
        return Fail(
            Error::DataLoss("Log segment " + std::to_string(expected) + " is missing in " + dir));
      }
      missing->push_back(expected);
    }
    expected = n + 1;
  }
  return segments;
}

std::string SegmentName(uint32_t segment) {
  char name[32];
  std::snprintf(name, sizeof name, "segment-%08u.log", segment);
  return name;
}

// One bad frame in words, for errors and reports.
std::string Describe(const std::string& path, uint64_t byte, uint64_t frame,
                     const std::string& why) {
  return "log segment " + path + ", byte " + std::to_string(byte) + ", frame " +
         std::to_string(frame) + ": " + why;
}

}  // namespace

class EmbeddedLogReader final : public LogReader {
 public:
  EmbeddedLogReader(EmbeddedLog& log, std::string topic,
                    std::vector<std::pair<int32_t, int64_t>> positions)
      : log_(log), topic_(std::move(topic)), positions_(std::move(positions)) {}

  Result<std::vector<LogRecord>> Poll(size_t max_records,
                                      std::chrono::milliseconds wait) override {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      uint64_t seq;
      {
        std::lock_guard lock(log_.data_mu_);
        seq = log_.data_seq_;
      }
      auto out = log_.ReadPartitions(topic_, positions_, max_records);
      if (!out) return Fail(out.error());
      if (!out->empty()) return out;
      std::unique_lock lock(log_.data_mu_);
      if (!log_.data_cv_.wait_until(lock, deadline, [&] { return log_.data_seq_ != seq; })) {
        return out;
      }
    }
  }

  Status Seek(int32_t partition, int64_t offset) override {
    for (auto& [p, next] : positions_) {
      if (p == partition) {
        next = std::max<int64_t>(offset, 0);
        return {};
      }
    }
    return Fail(
        Error::InvalidArgument("The reader does not read partition " + std::to_string(partition)));
  }

  int64_t Position(int32_t partition) override {
    for (const auto& [p, next] : positions_) {
      if (p == partition) return next;
    }
    return 0;
  }

 private:
  EmbeddedLog& log_;
  const std::string topic_;
  std::vector<std::pair<int32_t, int64_t>> positions_;
};

EmbeddedLog::EmbeddedLog(Options options) : options_(std::move(options)), io_(*options_.io) {}

Result<std::unique_ptr<EmbeddedLog>> EmbeddedLog::Open(Options options) {
  if (options.partitions < 1 || options.partitions > 1024) {
    return Fail(Error::InvalidArgument("partitions must be between 1 and 1024"));
  }
  if (!options.io) options.io = SystemLogFileIo();
  std::error_code ec;
  const bool created = !std::filesystem::exists(options.dir, ec);
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Fail(Error::Unavailable("Cannot create log directory " + options.dir + ": " + ec.message()));
  std::unique_ptr<EmbeddedLog> log(new EmbeddedLog(std::move(options)));
  auto lock = LockDirectory(log->options_.dir);
  if (!lock) return Fail(lock.error());
  log->lock_fd_ = *lock;
  if (created && log->options_.fsync) {
    // A new log's directory entry is durable before anything in it is acknowledged.
    const std::string parent = std::filesystem::absolute(log->options_.dir).parent_path().string();
    ScopedFd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || log->io_.FsyncDirectory(dir.get()) != 0) {
      return Fail(IoFailure("fsync " + parent));
    }
  }
  if (auto st = log->Recover(); !st) return Fail(st.error());
  if (auto st = log->MarkFormat(); !st) return Fail(st.error());
  log->writer_ = std::thread([raw = log.get()] {
    SetThreadName("keel-log-writer");
    raw->WriterLoop();
  });
  return log;
}

EmbeddedLog::~EmbeddedLog() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (write_fd_ >= 0 && !is_broken_ && unsealed_ && !Seal()) {
    Log(LogLevel::kWarn, "Could not seal the event log at close",
        {{"error", std::strerror(errno)}, {"dir", options_.dir}});
  }
  if (write_fd_ >= 0) ::close(write_fd_);
  for (int fd : read_fds_) ::close(fd);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string EmbeddedLog::SegmentPath(uint32_t segment) const {
  return options_.dir + "/" + SegmentName(segment);
}

Status EmbeddedLog::Recover() {
  auto segments = ListSegments(options_.dir);
  if (!segments) return Fail(segments.error());
  // A marker left by a run whose log stopped and could not cut what it had written: bytes of
  // the last segment past the durable end were never acknowledged.
  std::optional<uint64_t> durable_end;
  std::string marker;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir)) {
    unsigned segment;
    unsigned long long end;
    if (std::sscanf(entry.path().filename().c_str(), "durable-end-%08u-%llu", &segment, &end) ==
            2 &&
        !segments->empty() && segment == segments->back()) {
      durable_end = end;
      marker = entry.path().string();
    }
  }
  for (size_t i = 0; i < segments->size(); ++i) {
    const bool last = i + 1 == segments->size();
    if (auto st = ScanSegment((*segments)[i], last, last ? durable_end : std::nullopt); !st) {
      return st;
    }
  }
  if (!marker.empty()) {
    std::error_code ec;
    std::filesystem::remove(marker, ec);
    if (auto st = SyncDirectory(); !st) return st;
  }
  for (auto& [topic, partitions] : index_) {
    auto& next = next_offset_[topic];
    for (auto& p : partitions) next.push_back(static_cast<int64_t>(p.size()));
  }
  return OpenSegmentForWrite(segments->empty() ? 0 : segments->back());
}

namespace {
constexpr const char* kRecoveryHint =
    ". Nothing was changed. `keel log verify` lists every bad frame; `keel log salvage --to DIR` "
    "copies every readable frame to a new log";
}  // namespace

Status EmbeddedLog::ScanSegment(uint32_t segment, bool last, std::optional<uint64_t> durable_end) {
  const std::string path = SegmentPath(segment);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(IoFailure("open " + path));
  read_fds_.push_back(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return Fail(IoFailure("stat " + path));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  SegmentScanner scanner(io_, fd, size, path);
  uint64_t pos = 0, frame = 0;
  while (pos < size) {
    if (durable_end && pos >= *durable_end) return CutTornTail(path, scanner, pos, size);
    auto at = scanner.FrameAt(pos);
    if (!at) {
      return Fail(Error::DataLoss("Cannot open the event log: " +
                                  Describe(path, pos, frame, at.error().message) + kRecoveryHint));
    }
    if (at->frame) {
      const ScannedFrame& f = *at->frame;
      if (!f.seal) {
        if (f.partition >= static_cast<uint32_t>(options_.partitions)) {
          return Fail(Error::DataLoss("Log " + options_.dir +
                                      " was written with more partitions (" +
                                      std::to_string(f.partition + 1) + "+) than configured (" +
                                      std::to_string(options_.partitions) + ")"));
        }
        auto& partitions = index_[f.topic];
        partitions.resize(static_cast<size_t>(options_.partitions));
        auto& records = partitions[f.partition];
        if (f.base != records.size()) {
          return Fail(
              Error::DataLoss("Cannot open the event log: " +
                              Describe(path, pos, frame,
                                       "offset " + std::to_string(f.base) + " of " + f.topic + "/" +
                                           std::to_string(f.partition) + " where " +
                                           std::to_string(records.size()) + " comes next") +
                              kRecoveryHint));
        }
        for (const auto& r : f.records) {
          records.push_back({r.pos, segment, r.value_len, r.key_len});
        }
      }
      pos = f.end;
      ++frame;
      continue;
    }
    const std::string bad = Describe(path, pos, frame, at->problem);
    if (!last) return Fail(Error::DataLoss("Cannot open the event log: " + bad + kRecoveryHint));
    // In the last segment, a crash mid-write leaves a torn tail that was never acknowledged;
    // anything a later frame vouches for was.
    auto vouching = scanner.VouchingFrameAfter(pos);
    if (!vouching) {
      return Fail(Error::DataLoss("Cannot open the event log: " + bad + "; " +
                                  vouching.error().message + kRecoveryHint));
    }
    if (*vouching) {
      return Fail(Error::DataLoss("Cannot open the event log: " + bad + "; the frame at byte " +
                                  std::to_string((*vouching)->pos) +
                                  " was written after it was acknowledged" + kRecoveryHint));
    }
    return CutTornTail(path, scanner, pos, size);
  }
  return {};
}

Status EmbeddedLog::CutTornTail(const std::string& path, SegmentScanner& scanner, uint64_t pos,
                                uint64_t size) {
  // The bytes are kept first, their file and its directory entry durable, and only then cut.
  std::string kept;
  int out = -1;
  for (int n = 0; out < 0 && n < 1000; ++n) {
    kept = path.substr(0, path.size() - 4);
    kept.append("-torn-at-").append(std::to_string(pos));
    if (n) kept.append(".").append(std::to_string(n));
    kept.append(".bin");
    out = ::open(kept.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0 && errno != EEXIST) break;
  }
  if (out < 0) return Fail(IoFailure("open " + kept));
  ScopedFd kept_fd(out);
  bool saved = true;
  constexpr uint64_t kChunk = 4u << 20;
  for (uint64_t at = pos; saved && at < size; at += kChunk) {
    auto bytes = scanner.Read(at, static_cast<size_t>(std::min(kChunk, size - at)));
    if (!bytes) return Fail(bytes.error());
    saved = WriteAll(io_, out, bytes->data(), bytes->size());
  }
  if (!saved || io_.Fdatasync(out) != 0) {
    return Fail(IoFailure("Cannot keep the torn tail in " + kept));
  }
  if (auto st = SyncDirectory(); !st) return st;
  ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return Fail(IoFailure("open " + path));
  if (io_.Ftruncate(fd.get(), static_cast<off_t>(pos)) != 0 || io_.Fdatasync(fd.get()) != 0) {
    return Fail(IoFailure("Cannot cut the torn tail of " + path));
  }
  Log(LogLevel::kWarn, "Cut the torn tail of the event log (never acknowledged)",
      {{"segment", path},
       {"byte", std::to_string(pos)},
       {"bytes", std::to_string(size - pos)},
       {"kept_in", kept}});
  return {};
}

Status EmbeddedLog::MarkFormat() {
  // Builds before frame version 2 read a KEL2 frame as a torn tail and would cut it. They take
  // this file for a second segment 0 and refuse to open instead.
  const std::string path = options_.dir + "/segment-00000000.format-2";
  if (std::filesystem::exists(path)) return {};
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(IoFailure("create " + path));
  ::close(fd);
  return SyncDirectory();
}

bool EmbeddedLog::Seal() {
  std::string seal;
  EncodeFrame(seal, write_pos_, "", 0, 0, "", {}, nullptr);
  if (!WriteAll(io_, write_fd_, seal.data(), seal.size()) ||
      (options_.fsync && io_.Fdatasync(write_fd_) != 0)) {
    return false;
  }
  write_pos_ += seal.size();
  unsealed_ = false;
  return true;
}

Status EmbeddedLog::SyncDirectory() {
  if (!options_.fsync) return {};
  ScopedFd dir(::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return Fail(IoFailure("open " + options_.dir));
  if (io_.FsyncDirectory(dir.get()) != 0) return Fail(IoFailure("fsync " + options_.dir));
  return {};
}

Status EmbeddedLog::OpenSegmentForWrite(uint32_t segment) {
  // The writer's file and position change together, or not at all: a failure leaves none, so
  // that nothing is written (or cut) at a position of another file.
  if (write_fd_ >= 0) ::close(write_fd_);  // every group written to it was synced
  write_fd_ = -1;
  const std::string path = SegmentPath(segment);
  ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Fail(IoFailure("open " + path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Fail(IoFailure("stat " + path));
  if (segment >= read_fds_.size()) {
    // A new file: its directory entry is made durable before anything in it is acknowledged.
    if (auto synced = SyncDirectory(); !synced) return synced;
    const int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (rfd < 0) return Fail(IoFailure("open " + path));
    std::unique_lock lock(index_mu_);
    read_fds_.push_back(rfd);
  }
  write_fd_ = fd.release();
  write_pos_ = static_cast<uint64_t>(st.st_size);
  write_segment_ = segment;
  return {};
}

void EmbeddedLog::AppendAsync(const std::string& topic, const std::string& key,
                              std::vector<std::string> values, AppendCallback done) {
  if (values.empty()) {
    done(Fail(Error::InvalidArgument("An append needs at least one record")));
    return;
  }
  if (topic.empty() || topic.size() > 255) {
    done(Fail(Error::InvalidArgument("Topic names are 1 to 255 bytes")));
    return;
  }
  // Recovery refuses frames over the limit, so a larger one must never be acknowledged.
  if (FrameBytes(topic.size(), key.size(), values) - kFrameHeader > kMaxFrameBody) {
    done(Fail(Error::PayloadTooLarge("An append is limited to " + std::to_string(kMaxFrameBody) +
                                     " bytes")));
    return;
  }
  Pending pending{topic, key, PartitionForKey(key, options_.partitions), std::move(values),
                  std::move(done)};
  std::optional<Error> refused;
  {
    std::lock_guard lock(queue_mu_);
    if (is_broken_) {
      refused = broken_;
    } else if (stopping_) {
      refused = Error::Unavailable("The log is shutting down");
    } else {
      queue_.push_back(std::move(pending));
    }
  }
  if (refused) {
    pending.done(Fail(std::move(*refused)));
    return;
  }
  queue_cv_.notify_one();
}

Status EmbeddedLog::Health() {
  if (!is_broken_) return {};
  std::lock_guard lock(queue_mu_);
  return Fail(broken_);
}

void EmbeddedLog::WriterLoop() {
  std::vector<Pending> group;
  while (true) {
    std::optional<Error> broken;
    bool idle = false;
    {
      std::unique_lock lock(queue_mu_);
      auto ready = [&] { return stopping_ || !queue_.empty(); };
      if (unsealed_ && !is_broken_) {
        idle = !queue_cv_.wait_for(lock, options_.seal_after, ready);
      } else {
        queue_cv_.wait(lock, ready);
      }
      if (!idle) {
        if (queue_.empty()) return;  // stopping, and drained
        group.swap(queue_);
        if (is_broken_) broken = broken_;
      }
    }
    if (idle) {
      // The last group is vouched for by the next frame; when none follows soon, by a seal, so
      // that damage to it is never taken for a torn tail after a crash.
      if (!Seal()) Break(group, StoppedAfter("a failed seal"));
      continue;
    }
    if (broken) {
      for (auto& p : group) p.done(Fail(*broken));
    } else {
      WriteGroup(group);
    }
    group.clear();
  }
}

Error EmbeddedLog::StoppedAfter(const std::string& what) const {
  return Error::Unavailable("The event log stopped writing after " + what + " (" +
                            std::strerror(errno) +
                            "); nothing more is acknowledged until Keel is restarted");
}

void EmbeddedLog::Break(std::vector<Pending>& group, Error error) {
  // Whatever was written since the last sync was never acknowledged: it is cut while the disk
  // allows, and where it does not, a marker says where the durable bytes end, so that it is not
  // read back as acknowledged at the next open. Where neither holds, the caller is told.
  if (write_fd_ >= 0 && !(io_.Ftruncate(write_fd_, static_cast<off_t>(write_pos_)) == 0 &&
                          io_.Fdatasync(write_fd_) == 0)) {
    const std::string marker = options_.dir + "/durable-end-" +
                               SegmentName(write_segment_).substr(8, 8) + "-" +
                               std::to_string(write_pos_);
    int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    const bool marked = fd >= 0 && io_.Fdatasync(fd) == 0 && SyncDirectory();
    if (fd >= 0) ::close(fd);
    if (!marked) {
      error.message +=
          ". The disk refused to cut the unacknowledged bytes: these appends may still be found "
          "after a restart";
    }
  }
  std::vector<Pending> queued;
  {
    std::lock_guard lock(queue_mu_);
    is_broken_ = true;
    broken_ = error;
    queued.swap(queue_);
  }
  Log(LogLevel::kError, "The event log stopped writing: nothing more is acknowledged until restart",
      {{"error", error.message}, {"dir", options_.dir}});
  for (auto& p : group) p.done(Fail(error));
  for (auto& p : queued) p.done(Fail(error));
}

void EmbeddedLog::WriteGroup(std::vector<Pending>& group) {
  if (write_pos_ >= options_.segment_bytes) {
    if (auto st = OpenSegmentForWrite(write_segment_ + 1); !st) {
      return Break(group,
                   Error::Unavailable("The event log stopped writing: " + st.error().message));
    }
  }
  // Where each append's records went: its first offset, and its records' locations in
  // `locs` from `first_loc` on (one list for the group, not one per append).
  struct Placed {
    int64_t base;
    size_t first_loc;
  };
  std::vector<Placed> placed(group.size());
  std::vector<RecordLoc> locs;
  size_t bytes = 0, records = 0;
  for (const auto& p : group) {
    bytes += FrameBytes(p.topic.size(), p.key.size(), p.values);
    records += p.values.size();
  }
  std::string buffer;
  buffer.reserve(bytes);  // one allocation, no copies as it grows
  locs.reserve(records);
  std::vector<uint64_t> record_pos;
  const std::string* topic = nullptr;  // the previous append's, and its offsets
  std::vector<int64_t>* next = nullptr;
  for (size_t g = 0; g < group.size(); ++g) {
    auto& p = group[g];
    if (!topic || *topic != p.topic) {
      topic = &p.topic;
      next = &next_offset_[p.topic];
      next->resize(static_cast<size_t>(options_.partitions), 0);
    }
    placed[g] = {(*next)[static_cast<size_t>(p.partition)], locs.size()};
    (*next)[static_cast<size_t>(p.partition)] += static_cast<int64_t>(p.values.size());

    const uint64_t frame_start = write_pos_ + buffer.size();
    record_pos.clear();
    EncodeFrame(buffer, write_pos_, p.topic, static_cast<uint32_t>(p.partition),
                static_cast<uint64_t>(placed[g].base), p.key, p.values, &record_pos);
    for (size_t i = 0; i < record_pos.size(); ++i) {
      locs.push_back({frame_start + record_pos[i], write_segment_,
                      static_cast<uint32_t>(p.values[i].size()),
                      static_cast<uint32_t>(p.key.size())});
    }
  }
  if (!WriteAll(io_, write_fd_, buffer.data(), buffer.size())) {
    return Break(group, StoppedAfter("a failed write"));
  }
  if (options_.fsync) {
    if (io_.Fdatasync(write_fd_) != 0) return Break(group, StoppedAfter("a failed fdatasync"));
    fsync_count_.fetch_add(1, std::memory_order_relaxed);
  }
  write_pos_ += buffer.size();
  unsealed_ = true;
  {
    std::unique_lock lock(index_mu_);
    const std::string* indexed_topic = nullptr;
    std::vector<PartitionIndex>* partitions = nullptr;
    for (size_t g = 0; g < group.size(); ++g) {
      if (!indexed_topic || *indexed_topic != group[g].topic) {
        indexed_topic = &group[g].topic;
        partitions = &index_[group[g].topic];
        partitions->resize(static_cast<size_t>(options_.partitions));
      }
      auto& records = (*partitions)[static_cast<size_t>(group[g].partition)];
      const auto first = locs.begin() + static_cast<std::ptrdiff_t>(placed[g].first_loc);
      records.insert(records.end(), first,
                     first + static_cast<std::ptrdiff_t>(group[g].values.size()));
    }
  }
  {
    std::lock_guard lock(data_mu_);
    ++data_seq_;
  }
  data_cv_.notify_all();
  for (size_t g = 0; g < group.size(); ++g) {
    auto& p = group[g];
    p.done(AppendResult{p.topic, p.partition, placed[g].base,
                        placed[g].base + static_cast<int64_t>(p.values.size()) - 1});
  }
}

Result<int64_t> EmbeddedLog::EndOffset(const std::string& topic, int32_t partition) {
  if (partition < 0 || partition >= options_.partitions) {
    return Fail(Error::InvalidArgument("No partition " + std::to_string(partition)));
  }
  std::shared_lock lock(index_mu_);
  auto it = index_.find(topic);
  if (it == index_.end()) return 0;
  return static_cast<int64_t>(it->second[static_cast<size_t>(partition)].size());
}

Result<std::unique_ptr<LogReader>> EmbeddedLog::OpenReader(
    const std::string& topic, const std::vector<std::pair<int32_t, int64_t>>& starts) {
  for (auto& [partition, offset] : starts) {
    if (partition < 0 || partition >= options_.partitions || offset < 0) {
      return Fail(Error::InvalidArgument("Bad start position " + std::to_string(partition) +
                                         ":" + std::to_string(offset)));
    }
  }
  return std::unique_ptr<LogReader>(std::make_unique<EmbeddedLogReader>(*this, topic, starts));
}

Result<std::vector<LogRecord>> EmbeddedLog::ReadPartitions(
    const std::string& topic, std::vector<std::pair<int32_t, int64_t>>& positions, size_t max) {
  struct Wanted {
    RecordLoc loc;
    int32_t partition;
    int64_t offset;
  };
  std::vector<Wanted> wanted;
  std::vector<int64_t> reached;  // each partition's position once `wanted` is read
  std::vector<int> fds;
  {
    std::shared_lock lock(index_mu_);
    auto it = index_.find(topic);
    if (it == index_.end()) return std::vector<LogRecord>{};
    // Merge the partitions' next records by place in the log (each partition's records are
    // in log order already): records of all partitions are interleaved in the segments, and
    // reading one partition at a time read the spans between its records once per partition.
    std::vector<std::pair<const PartitionIndex*, size_t>> cursors;  // index, next position
    for (auto& [partition, next] : positions) {
      const auto& records = it->second[static_cast<size_t>(partition)];
      cursors.emplace_back(&records, static_cast<size_t>(std::max<int64_t>(next, 0)));
    }
    auto earlier = [](const RecordLoc& a, const RecordLoc& b) {
      return a.segment < b.segment || (a.segment == b.segment && a.pos < b.pos);
    };
    wanted.reserve(std::min<size_t>(max, 1u << 16));
    while (wanted.size() < max) {
      const RecordLoc* first = nullptr;
      size_t best = 0;
      for (size_t c = 0; c < cursors.size(); ++c) {
        const auto& [records, next] = cursors[c];
        if (next < records->size() && (!first || earlier((*records)[next], *first))) {
          first = &(*records)[next];
          best = c;
        }
      }
      if (!first) break;
      auto& next = cursors[best].second;
      wanted.push_back({*first, positions[best].first, static_cast<int64_t>(next)});
      ++next;
    }
    for (const auto& [records, next] : cursors) reached.push_back(static_cast<int64_t>(next));
    fds = read_fds_;
  }
  std::vector<LogRecord> out;
  out.reserve(wanted.size());
  // Coalesce nearby records into reads of up to 1 MiB.
  constexpr uint64_t kSpan = 1u << 20;
  std::string buf;
  size_t i = 0;
  auto record_end = [](const RecordLoc& l) { return l.pos + 8 + l.key_len + l.value_len; };
  while (i < wanted.size()) {
    const RecordLoc& first = wanted[i].loc;
    const uint64_t begin = first.pos;
    uint64_t end = record_end(first);
    size_t j = i;
    while (j + 1 < wanted.size() && wanted[j + 1].loc.segment == first.segment &&
           wanted[j + 1].loc.pos > begin && record_end(wanted[j + 1].loc) - begin <= kSpan) {
      ++j;
      end = std::max(end, record_end(wanted[j].loc));
    }
    buf.resize(end - begin);
    if (!PreadAll(io_, fds[first.segment], buf.data(), buf.size(), begin)) {
      return Fail(IoFailure("Log read failed"));
    }
    for (size_t k = i; k <= j; ++k) {
      const RecordLoc& l = wanted[k].loc;
      const char* rec = buf.data() + (l.pos - begin);
      LogRecord r;
      r.partition = wanted[k].partition;
      r.offset = wanted[k].offset;
      r.key.assign(rec + 4, l.key_len);
      r.value.assign(rec + 8 + l.key_len, l.value_len);
      out.push_back(std::move(r));
    }
    i = j + 1;
  }
  // Only now: a failed read leaves the positions where they were, to be read again.
  for (size_t c = 0; c < positions.size(); ++c) {
    positions[c].second = std::max(positions[c].second, reached[c]);
  }
  return out;
}

namespace {

// Visits every frame of every segment in `dir` that checks out, in order; a bad frame goes
// into the report, and the walk resumes at the next frame that checks out.
Status WalkLog(const std::string& dir, LogFileIo& io, EmbeddedLog::VerifyReport& report,
               const std::function<Status(SegmentScanner&, const ScannedFrame&)>& visit) {
  if (!std::filesystem::is_directory(dir)) {
    return Fail(Error::NotFound("No log directory at " + dir));
  }
  std::vector<uint32_t> missing;
  auto segments = ListSegments(dir, &missing);
  if (!segments) return Fail(segments.error());
  // A missing segment is damage to report (and to salvage around), not a reason to stop.
  for (uint32_t n : missing) {
    report.problems.push_back({dir + "/" + SegmentName(n), 0, 0,
                               "the segment is missing: every frame it held is lost", false});
  }
  for (size_t i = 0; i < segments->size(); ++i) {
    const bool last = i + 1 == segments->size();
    const std::string path = dir + "/" + SegmentName((*segments)[i]);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail(IoFailure("open " + path));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return Fail(IoFailure("stat " + path));
    }
    SegmentScanner scanner(io, fd, static_cast<uint64_t>(st.st_size), path);
    ++report.segments;
    uint64_t pos = 0, frame = 0;
    Status walked;
    while (pos < scanner.size()) {
      auto at = scanner.FrameAt(pos);
      std::optional<ScannedFrame> good;
      std::string why;
      if (!at) {
        why = at.error().message;
      } else if (at->frame) {
        good = std::move(at->frame);
      } else {
        why = at->problem;
      }
      if (good) {
        ++report.frames;
        report.records += good->records.size();
        if (walked = visit(scanner, *good); !walked) break;
        pos = good->end;
        ++frame;
        continue;
      }
      EmbeddedLog::Problem problem{path, pos, frame, why, false};
      auto next = scanner.NextFrameAfter(pos);
      if (!next) {
        // The rest cannot be read: say so and go on with the next segment.
        problem.why += "; " + next.error().message;
        report.problems.push_back(std::move(problem));
        break;
      }
      if (last) {
        auto vouching = scanner.VouchingFrameAfter(pos);
        problem.torn_tail = vouching && !*vouching;
      }
      const bool torn = problem.torn_tail;
      report.problems.push_back(std::move(problem));
      // Nothing after a torn tail was acknowledged: it is not walked (nor salvaged).
      if (!*next || torn) break;
      pos = (*next)->pos;
      ++frame;
    }
    ::close(fd);
    if (!walked) return walked;
  }
  return {};
}

}  // namespace

Result<EmbeddedLog::VerifyReport> EmbeddedLog::Verify(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) {
    return Fail(Error::NotFound("No log directory at " + dir));
  }
  auto lock = LockDirectory(dir, /*read_only=*/true);
  if (!lock) return Fail(lock.error());
  VerifyReport report;
  auto st = WalkLog(dir, *SystemLogFileIo(), report,
                    [](SegmentScanner&, const ScannedFrame&) -> Status { return {}; });
  if (*lock >= 0) ::close(*lock);
  if (!st) return Fail(st.error());
  return report;
}

Result<EmbeddedLog::VerifyReport> EmbeddedLog::Salvage(const std::string& dir,
                                                       const std::string& to, int32_t partitions) {
  if (!std::filesystem::is_directory(dir)) {
    return Fail(Error::NotFound("No log directory at " + dir));
  }
  std::error_code ec;
  if (std::filesystem::exists(to, ec) && !std::filesystem::is_empty(to, ec)) {
    return Fail(Error::InvalidArgument("The salvage target " + to + " is not empty"));
  }
  auto lock = LockDirectory(dir);
  if (!lock) return Fail(lock.error());
  auto out = Open({.dir = to, .partitions = partitions});
  if (!out) {
    ::close(*lock);
    return Fail(out.error());
  }
  // Appends go out asynchronously so that group commit syncs many frames at once; at most
  // 64 MiB are held in flight.
  constexpr uint64_t kMaxInFlight = 64u << 20;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t in_flight = 0;        // guarded by mu
  std::optional<Error> failure;  // guarded by mu
  std::map<std::pair<std::string, uint32_t>, int64_t> next_offset;  // by topic and partition
  VerifyReport report;
  auto st = WalkLog(
      dir, *SystemLogFileIo(), report,
      [&](SegmentScanner& scanner, const ScannedFrame& f) -> Status {
        if (f.seal) return {};
        auto body = scanner.Body(f);
        if (!body) return Fail(body.error());
        auto skip = [&](std::string why) {
          report.problems.push_back({scanner.path(), f.pos, 0, std::move(why), false});
          return Status{};
        };
        std::string key;
        std::vector<std::string> values;
        for (const auto& r : f.records) {
          const char* rec = body->data() + (r.pos - f.pos - kFrameHeader);
          if (key.empty()) key.assign(rec + 4, r.key_len);
          values.emplace_back(rec + 8 + r.key_len, r.value_len);
        }
        if (PartitionForKey(key, partitions) != static_cast<int32_t>(f.partition)) {
          return Fail(Error::InvalidArgument(
              "The log was written with another partition count than " +
              std::to_string(partitions) + " (the key of the frame at byte " +
              std::to_string(f.pos) + " of " + scanner.path() + " is in partition " +
              std::to_string(f.partition) + "): pass the count it was written with"));
        }
        int64_t& expected = next_offset[{f.topic, f.partition}];
        if (static_cast<int64_t>(f.base) < expected) {
          return skip("a second copy of offsets from " + std::to_string(f.base) + " of " + f.topic +
                      "/" + std::to_string(f.partition) + "; skipped");
        }
        if (static_cast<int64_t>(f.base) > expected) {
          report.problems.push_back(
              {scanner.path(), f.pos, 0,
               "offsets " + std::to_string(expected) + " to " + std::to_string(f.base - 1) +
                   " of " + f.topic + "/" + std::to_string(f.partition) +
                   " are missing before this frame, which is copied with new offsets",
               false});
        }
        expected = static_cast<int64_t>(f.base + f.records.size());
        const uint64_t size = f.end - f.pos;
        {
          std::unique_lock held(mu);
          cv.wait(held, [&] { return in_flight < kMaxInFlight || failure; });
          if (failure) return Fail(*failure);
          in_flight += size;
        }
        (*out)->AppendAsync(f.topic, key, std::move(values), [&, size](Result<AppendResult> r) {
          std::lock_guard held(mu);
          in_flight -= size;
          if (!r && !failure) failure = r.error();
          cv.notify_all();
        });
        return {};
      });
  {
    std::unique_lock held(mu);
    cv.wait(held, [&] { return in_flight == 0; });
  }
  out->reset();  // closes and seals the new log
  ::close(*lock);
  if (!st) return Fail(st.error());
  if (failure) return Fail(*failure);
  return report;
}

}  // namespace keel
